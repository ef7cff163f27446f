--- One validator for the operation tables: checks a Lua value against a
-- compact JSON Schema (the form `tools/gen-api` writes into
-- `sendpulse.api.<service>`), and says where and why it does not match.
--
-- Free of the client: plain Lua that runs on Lua 5.1, 5.4 and LuaJIT 2.1,
-- so that the sandbox validates what it receives with the same code the
-- client uses before it sends.
--
--    local schema = require "sendpulse.schema"
--    schema.null = cjson.null          -- the JSON null of your decoder
--    local ok, where, why = schema.check(row.b, body, "body")
--    -- ok == false: where = "body.steps[2].name", why = "a string expected, got number"
--
-- The compact form (every key optional; a schema without `t` takes any
-- type):
--
--    t    JSON type name, or a list of them: "string", "integer", "number",
--         "boolean", "object", "array", "null"
--    f    format: "date-time", "date", "time", "email", "uuid", "uri",
--         "hostname", "Y-m-d H:i" are checked, others are not
--    e    list of allowed values; en = true when JSON null is one of them
--    k    the one allowed value (const)
--    p    object: name -> schema of its properties
--    r    object: list of required property names
--    ap   object: false (no other property) or the schema of the others
--    i    array: the schema of its items
--    one, any, all   lists of schemas (oneOf, anyOf, allOf)
--    min, max, xmin, xmax   bounds (x: exclusive) of numbers
--    minl, maxl   length of strings (in UTF-8 characters)
--    mini, maxi, uniq   size of arrays, unique items
--    nul  true: a table with no key is a JSON array here (see below)
--
-- Lua values: strings, numbers, booleans, `schema.null`, tables. An
-- integer is a number with an integral value (on Lua 5.3+ a float with
-- one counts too, as long as it is exact: below 2^53). A table is an array
-- when its keys are 1..n (or it carries the array metatable set with
-- `schema.array_mt`), an object when its keys are strings; an empty table
-- is either.
-- @module sendpulse.schema
local floor = math.floor
local getmetatable = getmetatable
local ipairs = ipairs
local next = next
local pairs = pairs
local rawlen = rawlen or function(t) return #t end  -- luacheck: ignore (5.1)
local string_format = string.format
local table_concat = table.concat
local tostring = tostring
local type = type

local math_type = math.type        -- nil on 5.1/LuaJIT

local _M = {}

--- The value that stands for JSON null (`sendpulse.null`, `cjson.null`,
-- `ngx.null`: all the same light userdata). Set by whoever loads this.
_M.null = nil

--- The metatable that marks a Lua table as a JSON array (optional).
_M.array_mt = nil

--- A function(v) -> true when v is a file to upload (a multipart field of
-- format "binary"); set by the client to recognise `sendpulse.file{}`.
_M.is_file = function(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and mt.__name == "sendpulse.file" or false
end

local MAX_EXACT = 9007199254740992      -- 2^53

local function is_integer(v)
  if type(v) ~= "number" then
    return false
  end
  if math_type and math_type(v) == "integer" then
    return true
  end
  return v == floor(v) and v >= -MAX_EXACT and v <= MAX_EXACT
end

-- "array", "object", "empty" (either) or nil for a table that is neither
local function table_shape(v)
  local mt = getmetatable(v)
  if mt ~= nil and mt == _M.array_mt then
    return "array"
  end
  local k = next(v)
  if k == nil then
    return "empty"
  end
  if type(k) == "string" then
    for key in pairs(v) do
      if type(key) ~= "string" then
        return nil
      end
    end
    return "object"
  end
  local n = rawlen(v)
  local count = 0
  for key in pairs(v) do
    if type(key) ~= "number" or key < 1 or key > n or key ~= floor(key) then
      return nil
    end
    count = count + 1
  end
  return count == n and "array" or nil
end

--- The JSON type of a Lua value: "string", "integer", "number",
-- "boolean", "null", "object", "array", "empty" (a table with no key), or
-- nil when it has none (a function, a table mixing keys...).
function _M.json_type(v)
  local tv = type(v)
  if tv == "string" then
    return "string"
  elseif tv == "number" then
    if v ~= v or v == 1 / 0 or v == -1 / 0 then
      return nil
    end
    return is_integer(v) and "integer" or "number"
  elseif tv == "boolean" then
    return "boolean"
  elseif tv == "table" then
    return table_shape(v)
  elseif v ~= nil and v == _M.null then
    return "null"
  end
  return nil
end
local json_type = _M.json_type

local function type_ok(want, got)
  if want == got then
    return true
  end
  if want == "number" then
    return got == "integer"
  end
  if got == "empty" then
    return want == "object" or want == "array"
  end
  return false
end

local function type_name(t)
  if type(t) == "table" then
    local parts = {}
    for i, x in ipairs(t) do
      parts[i] = x
    end
    return table_concat(parts, " or ")
  end
  return t
end

local function article(t)
  if t == "integer" or t == "object" or t == "array" then
    return "an " .. t
  elseif t == "null" then
    return "null"
  end
  return "a " .. t
end

local function got(v)
  local jt = json_type(v)
  if jt == "empty" then
    return "got an empty table"
  elseif jt == "null" then
    return "got null"
  elseif jt == "number" and type(v) == "number" and v == floor(v) then
    return "got a number too large to be exact"
  elseif jt then
    return "got " .. (jt == "integer" and "an integer" or article(jt))
  end
  return "got " .. (type(v) == "table" and "a table that is neither a list nor a map" or type(v))
end

local function show(v)
  if type(v) == "string" then
    return string_format("%q", v)
  elseif v ~= nil and v == _M.null then
    return "null"
  end
  return tostring(v)
end

local function utf8_len(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

-- Checks of formats that Prism (ajv-formats) checks too, plus the PHP
-- date form some CRM fields name as their format.
local function two(s, a, b)
  local n = tonumber(s)
  return n and n >= a and n <= b
end

local FORMATS = {
  ["date"] = function(s)
    local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    return y and two(m, 1, 12) and two(d, 1, 31)
  end,
  ["time"] = function(s)
    local h, mi, sec, rest = s:match("^(%d%d):(%d%d):(%d%d)(.*)$")
    if not (h and two(h, 0, 23) and two(mi, 0, 59) and two(sec, 0, 60)) then
      return false
    end
    rest = rest:gsub("^%.%d+", "")
    return rest == "" or rest:find("^[Zz]$") ~= nil or rest:find("^[+-]%d%d:?%d%d$") ~= nil
  end,
  ["date-time"] = function(s)
    local y, m, d, h, mi, sec, rest =
      s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
    if not (y and two(m, 1, 12) and two(d, 1, 31) and two(h, 0, 23)
            and two(mi, 0, 59) and two(sec, 0, 60)) then
      return false
    end
    rest = rest:gsub("^%.%d+", "")
    return rest:find("^[Zz]$") ~= nil or rest:find("^[+-]%d%d:%d%d$") ~= nil
  end,
  ["email"] = function(s)
    return #s <= 254 and s:find("^[^@%s%c]+@[^@%s%c]+%.[^@%s%c]+$") ~= nil
  end,
  ["uuid"] = function(s)
    return s:find("^" .. ("%x"):rep(8) .. "%-" .. ("%x"):rep(4) .. "%-" .. ("%x"):rep(4)
                  .. "%-" .. ("%x"):rep(4) .. "%-" .. ("%x"):rep(12) .. "$") ~= nil
  end,
  ["uri"] = function(s)
    return s:find("^%a[%w+.-]*:[^%s]+$") ~= nil
  end,
  ["hostname"] = function(s)
    -- labels of letters, digits and inner hyphens, 1-63 each, joined by
    -- dots (Lua patterns cannot quantify groups: one label at a time)
    if #s == 0 or #s > 253 then
      return false
    end
    for label in (s .. "."):gmatch("([^.]*)%.") do
      if #label == 0 or #label > 63 or label:find("[^%w%-]") or label:find("^%-")
         or label:find("%-$") then
        return false
      end
    end
    return true
  end,
  ["Y-m-d H:i"] = function(s)
    local y, m, d, h, mi = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d) (%d%d):(%d%d)$")
    return y and two(m, 1, 12) and two(d, 1, 31) and two(h, 0, 23) and two(mi, 0, 59)
  end,
}
FORMATS.UUID = FORMATS.uuid

local FORMAT_HINT = {
  ["date"] = '"YYYY-MM-DD"', ["time"] = '"HH:MM:SS"',
  ["date-time"] = '"YYYY-MM-DDTHH:MM:SSZ" (RFC 3339)',
  ["email"] = "an email address", ["uuid"] = "a UUID", ["uri"] = "a URI",
  ["hostname"] = "a host name", ["Y-m-d H:i"] = '"YYYY-MM-DD HH:MM"',
}
FORMAT_HINT.UUID = FORMAT_HINT.uuid

local check     -- forward

-- "one of "a" or "b" expected"; an empty enum allows no value at all
local function expected_enum(s)
  if #s.e == 0 and not s.en then
    return "no value allowed (the schema's enum is empty)"
  end
  return "one of " .. _M.enum_text(s) .. " expected"
end

local function check_type(s, jt)
  local t = s.t
  if t == nil then
    return true
  end
  if type(t) == "table" then
    for _, x in ipairs(t) do
      if type_ok(x, jt) then
        return true
      end
    end
    return false
  end
  return type_ok(t, jt)
end

-- the alternatives of one/any that v can match by type alone
local function candidates(list, jt)
  local out = {}
  for _, alt in ipairs(list) do
    if check_type(alt, jt) then
      out[#out + 1] = alt
    end
  end
  return out
end

-- enum and const
local function check_value(s, v, where)
  local e = s.e
  if e then
    local found = false
    for i = 1, #e do
      if e[i] == v then
        found = true
        break
      end
    end
    if not found then
      return false, where, expected_enum(s) .. ", got " .. show(v)
    end
  end
  if s.k ~= nil and s.k ~= v then
    return false, where, show(s.k) .. " expected, got " .. show(v)
  end
  return true
end

local function check_string(s, v, where)
  local f = s.f and FORMATS[s.f]
  if f and not f(v) then
    return false, where, FORMAT_HINT[s.f] .. " expected, got " .. show(v)
  end
  if s.minl or s.maxl then
    local n = utf8_len(v)
    if s.minl and n < s.minl then
      return false, where, (s.minl == 1 and "must not be empty"
                            or "at least " .. s.minl .. " characters expected")
    end
    if s.maxl and n > s.maxl then
      return false, where, "at most " .. s.maxl .. " characters expected, got " .. n
    end
  end
  return true
end

local function check_number(s, v, where)
  if s.min and v < s.min then
    return false, where, "must be at least " .. show(s.min) .. ", got " .. show(v)
  end
  if s.max and v > s.max then
    return false, where, "must be at most " .. show(s.max) .. ", got " .. show(v)
  end
  if s.xmin and v <= s.xmin then
    return false, where, "must be more than " .. show(s.xmin) .. ", got " .. show(v)
  end
  if s.xmax and v >= s.xmax then
    return false, where, "must be less than " .. show(s.xmax) .. ", got " .. show(v)
  end
  return true
end

-- required fields, then each field against its property (or
-- additionalProperties)
local function check_object(s, v, where)
  local p = s.p
  local r = s.r
  if r then
    for i = 1, #r do
      if v[r[i]] == nil then
        return false, where .. "." .. r[i], "required"
      end
    end
  end
  for k, x in pairs(v) do
    local sub = (p and p[k]) or s.ap
    if sub == false then
      return false, where .. "." .. tostring(k), "unknown field"
    elseif sub then
      local ok, w, why = check(sub, x, where .. "." .. k)
      if not ok then
        return false, w, why
      end
    end
  end
  return true
end

local function check_array(s, v, where)
  local n = rawlen(v)
  if s.mini and n < s.mini then
    return false, where, (s.mini == 1 and "must not be empty"
                          or "at least " .. s.mini .. " items expected")
  end
  if s.maxi and n > s.maxi then
    return false, where, "at most " .. s.maxi .. " items expected, got " .. n
  end
  local items = s.i
  if items then
    for i = 1, n do
      local ok, w, why = check(items, v[i], where .. "[" .. i .. "]")
      if not ok then
        return false, w, why
      end
    end
  end
  if s.uniq then
    local seen = {}
    for i = 1, n do
      local x = v[i]
      if type(x) ~= "table" then
        if seen[x] then
          return false, where .. "[" .. i .. "]", "a duplicate of item " .. seen[x]
        end
        seen[x] = i
      end
    end
  end
  return true
end

-- allOf, then oneOf (exactly one) or anyOf (at least one); when nothing
-- matches and only one form fits by type, that form's complaint
local function check_alternatives(s, v, where, jt)
  if s.all then
    for _, alt in ipairs(s.all) do
      local ok, w, why = check(alt, v, where)
      if not ok then
        return false, w, why
      end
    end
  end
  local alts = s.one or s.any
  if not alts then
    return true
  end
  local matched = 0
  for _, alt in ipairs(alts) do
    if check(alt, v, where) then
      matched = matched + 1
    end
  end
  if matched == 0 then
    local cands = candidates(alts, jt)
    if #cands == 1 then
      local _, w, why = check(cands[1], v, where)
      return false, w, why
    end
    return false, where, "matches none of the " .. #alts .. " allowed forms ("
           .. _M.describe(s) .. ")"
  end
  if s.one and matched > 1 then
    return false, where, "matches " .. matched .. " of the forms where exactly one must match"
  end
  return true
end

function check(s, v, where)
  local jt = json_type(v)
  if jt == nil and not (_M.is_file(v) and s.f == "binary") then
    return false, where, "a JSON value expected, " .. got(v)
  end
  if s.f == "binary" and _M.is_file(v) then
    return true
  end
  if not check_type(s, jt) then
    return false, where, article(type_name(s.t)) .. " expected, " .. got(v)
  end
  if jt == "null" then
    if s.e and not s.en then
      return false, where, expected_enum(s) .. ", got null"
    end
    return true
  end
  local ok, w, why = check_value(s, v, where)
  if ok then
    if jt == "string" then
      ok, w, why = check_string(s, v, where)
    elseif jt == "integer" or jt == "number" then
      ok, w, why = check_number(s, v, where)
    elseif jt == "object" or (jt == "empty" and (s.p or s.r)) then
      ok, w, why = check_object(s, v, where)
    end
  end
  if ok and (jt == "array" or (jt == "empty" and (s.i or s.mini))) then
    ok, w, why = check_array(s, v, where)
  end
  if not ok then
    return false, w, why
  end
  return check_alternatives(s, v, where, jt)
end

--- Checks v against schema s. Returns true, or false with where it fails
-- (`name` followed by `.field` and `[index]` steps) and why.
-- @tparam table s a compact schema
-- @param v the value
-- @tparam[opt] string name what v is called in the message ("value")
-- @treturn boolean
-- @treturn string where
-- @treturn string why
function _M.check(s, v, name)
  return check(s, v, name or "value")
end

--- The allowed values of an enum, as text: `"a", "b" or 3`; `nothing`
-- for an empty enum (no value is allowed).
function _M.enum_text(s)
  local parts = {}
  for i, x in ipairs(s.e or {}) do
    parts[i] = show(x)
  end
  if s.en then
    parts[#parts + 1] = "null"
  end
  if #parts == 0 then
    return "nothing"
  elseif #parts == 1 then
    return parts[1]
  end
  return table_concat(parts, ", ", 1, #parts - 1) .. " or " .. parts[#parts]
end

--- A short description of a schema for documentation and help texts:
-- `integer`, `string (date-time)`, `list of integer`, `"a" or "b"`,
-- `object {name, settings}`, `string or integer`.
-- @tparam table s
-- @treturn string
local describe

function _M.describe(s)
  return describe(s, 0)
end

function describe(s, depth)
  if s.e then
    if #s.e == 0 and not s.en then
      return "no value (an empty enum)"
    end
    return "one of " .. _M.enum_text(s)
  end
  if s.k ~= nil then
    return show(s.k)
  end
  local t = s.t
  local parts = {}
  if t == "array" or (type(t) == "table" and t[1] == "array" and not t[2]) then
    if s.i and depth < 2 then
      return "list of " .. describe(s.i, depth + 1)
    end
    return "list"
  end
  if t == "object" or (t == nil and s.p) then
    if s.p and depth < 1 then
      local names = {}
      for k in pairs(s.p) do
        names[#names + 1] = k
      end
      table.sort(names)
      if #names > 6 then
        names = { names[1], names[2], names[3], names[4], names[5], "..." }
      end
      return "object {" .. table_concat(names, ", ") .. "}"
    end
    return "object"
  end
  if t ~= nil then
    parts[1] = type_name(t)
    if s.f and s.f ~= "binary" then
      parts[1] = parts[1] .. " (" .. s.f .. ")"
    elseif s.f == "binary" then
      parts[1] = "file or string"
    end
  end
  local alts = s.one or s.any
  if alts and depth < 2 then
    local d = {}
    for i, a in ipairs(alts) do
      d[i] = describe(a, depth + 1)
    end
    parts[#parts + 1] = table_concat(d, " | ")
  end
  if #parts == 0 then
    return "any"
  end
  return table_concat(parts, ", ")
end

--- Reads a path or query value given as text (what a server receives)
-- as the type its schema names: "42" -> 42 for an integer, "true" ->
-- true for a boolean. Returns the value, or nil and why.
-- @tparam table s
-- @tparam string text
function _M.from_string(s, text)
  local t = s.t
  local types = type(t) == "table" and t or { t }
  for _, x in ipairs(types) do
    if x == "integer" and text:find("^%-?%d+$") then
      return tonumber(text)
    elseif x == "number" and tonumber(text) and text:find("^[-+%d.eE]+$") then
      return tonumber(text)
    elseif x == "boolean" and (text == "true" or text == "false") then
      return text == "true"
    elseif x == "string" or x == nil then
      return text
    end
  end
  return nil, article(type_name(t)) .. " expected, got " .. show(text)
end

return _M
