--- Helpers for the API area modules: argument checks that raise naming the
-- argument (before anything is sent), base64, dates, paths, options, and
-- the shapes several areas share (attachments, template ids, 0/1 flags).
-- @module sendpulse.util
-- @local
local core = require "sendpulse.core"

local error = error
local floor = math.floor
local math_type = math.type     -- (nil before 5.3)
local os_date = os.date
local os_time = os.time
local pairs = pairs
local select = select
local string_format = string.format
local table_concat = table.concat
local tostring = tostring
local tonumber = tonumber
local type = type

local base64 = core.base64_encode

local escape_segment = core.escape_segment

local _M = {}

--- base64 of a string (standard alphabet, padded, no line breaks).
_M.base64 = base64

-- The error points at the caller's line: the first stack frame outside
-- this library's own files, however deep the check was made. The library's
-- files are those in this file's own directory and below it (a user's
-- application in a folder that happens to be called "sendpulse" is not
-- the library).
local getinfo = debug.getinfo
local LIBRARY_DIR = (getinfo(1, "S").source or ""):match("^(@.*[/\\])[^/\\]*$")

local function is_library(src)
  return src == "=[C]" or (LIBRARY_DIR ~= nil
    and src:sub(1, #LIBRARY_DIR) == LIBRARY_DIR)
end

local function caller_level()
  local level = 3           -- 1: caller_level, 2: fail, 3: fail's caller
  while true do
    local info = getinfo(level, "S")
    if not info then
      return 2
    end
    if not is_library(info.source) then
      return level - 1      -- as seen from fail()
    end
    level = level + 1
  end
end

--- Raises message (a string without position) at the caller's line, the
-- first frame outside the library (tail calls and checks made deep inside
-- it included).
function _M.raise(message)
  error(message, caller_level())
end

local function fail(method, name, what)
  error(string_format("sendpulse: bad argument '%s' to %s (%s)", name, method,
                      what), caller_level())
end
_M.fail = fail

local function got(v)
  return "got " .. (type(v) == "string" and "a string" or type(v))
end

--- A non-empty string.
function _M.string(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "string" then
    fail(method, name, "a string expected, " .. got(v))
  end
  if v == "" then
    fail(method, name, "must not be empty")
  end
  return v
end

--- An integer (a float with an integral value counts: LuaJIT has no
-- integer subtype; up to 2^53, beyond which a float is not exact).
function _M.integer(method, name, v, optional, min)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "number" or v ~= v or floor(v) ~= v then
    fail(method, name, "an integer expected, " .. got(v))
  end
  if (math_type == nil or math_type(v) == "float")
     and (v > 9007199254740992 or v < -9007199254740992) then
    fail(method, name, "an integer expected, got a float beyond 2^53, "
         .. "which cannot be exact")
  end
  if min and v < min then
    fail(method, name, "must be at least " .. min)
  end
  return v
end

--- A number.
function _M.number(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "number" or v ~= v then
    fail(method, name, "a number expected, " .. got(v))
  end
  return v
end

--- A boolean.
function _M.boolean(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "boolean" then
    fail(method, name, "a boolean expected, " .. got(v))
  end
  return v
end

--- A table.
function _M.table(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "table" then
    fail(method, name, "a table expected, " .. got(v))
  end
  return v
end

--- A non-empty list (a sequence).
function _M.list(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "table" then
    fail(method, name, "a list expected, " .. got(v))
  end
  if v[1] == nil then
    fail(method, name, "must not be empty")
  end
  return v
end

--- Is v an email address: one "@" with text on both sides, no spaces?
-- (Long lists are checked with this first, so that an item's name for the
-- error message is made only for the item that fails.)
local function is_email(v)
  return type(v) == "string" and #v <= 254 and v:find("^[^@%s%c]+@[^@%s%c]+$") ~= nil
end
_M.is_email = is_email

--- An email address (see is_email).
function _M.email(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  if type(v) ~= "string" then
    fail(method, name, "an email address expected, " .. got(v))
  end
  if not is_email(v) then
    fail(method, name, "not an email address: " .. string_format("%q", v))
  end
  return v
end

-- A phone number as a string (digits, optionally after a "+"), or nil.
local function as_phone(v)
  if type(v) == "number" and floor(v) == v and v > 0 then
    v = string_format("%.0f", v)
  end
  if type(v) == "string" and #v <= 20 and v:find("^%+?%d%d%d%d+$") then
    return v
  end
  return nil
end

--- A phone number: digits, optionally after a "+"; returned as a string.
function _M.phone(method, name, v, optional)
  if v == nil and optional then
    return nil
  end
  local phone = as_phone(v)
  if not phone then
    fail(method, name, "a phone number (digits) expected, "
         .. (type(v) == "string" and string_format("got %q", v) or got(v)))
  end
  return phone
end

--- A phone number's digits (without the "+", the form the SMS and Viber
-- APIs take), or nil when v is not a phone number.
function _M.as_phone_digits(v)
  local phone = as_phone(v)
  return phone and (phone:gsub("^%+", "")) or nil
end

--- A phone number as checked by phone(), returned as its digits only.
function _M.phone_digits(method, name, v)
  return (_M.phone(method, name, v):gsub("^%+", ""))
end

--- A non-empty list of email addresses.
function _M.emails(method, name, list)
  _M.list(method, name, list)
  for i = 1, #list do
    if not is_email(list[i]) then
      _M.email(method, name .. "[" .. i .. "]", list[i])
    end
  end
  return list
end

--- A date: a "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DD" when date_only)
-- string, or an os.time() number, formatted in local time.
function _M.date(method, name, v, optional, date_only)
  if v == nil and optional then
    return nil
  end
  local fmt = date_only and "%Y-%m-%d" or "%Y-%m-%d %H:%M:%S"
  if type(v) == "number" then
    return os_date(fmt, floor(v))
  end
  if type(v) == "string" then
    local y, mo, d, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
    local ok = y and tonumber(mo) >= 1 and tonumber(mo) <= 12
               and tonumber(d) >= 1 and tonumber(d) <= 31
    if ok and date_only then
      ok = rest == ""
    elseif ok then
      local h, mi, s = rest:match("^ (%d%d):(%d%d):(%d%d)$")
      ok = h and tonumber(h) < 24 and tonumber(mi) < 60 and tonumber(s) < 61
    end
    if ok then
      return v
    end
  end
  fail(method, name, (date_only and '"YYYY-MM-DD"' or '"YYYY-MM-DD HH:MM:SS"')
       .. " or an os.time() number expected, "
       .. (type(v) == "string" and string_format("got %q", v) or got(v)))
end

--- A date filter that takes a whole day too: a "YYYY-MM-DD" string is
-- kept as it is, anything else is checked by date() (an os.time() number
-- becomes "YYYY-MM-DD HH:MM:SS").
function _M.date_or_day(method, name, v, optional)
  if type(v) == "string" and #v == 10 then
    return _M.date(method, name, v, optional, true)
  end
  return _M.date(method, name, v, optional)
end

--- A 0/1 flag, given as a boolean or as 0/1; returned as 1 or 0.
function _M.flag(method, name, v, optional)
  if v == nil and optional then
    return nil
  elseif v == true or v == 1 then
    return 1
  elseif v == false or v == 0 then
    return 0
  end
  fail(method, name, "true, false, 1 or 0 expected")
end

--- A template id: the integer real_id (at least 1) or the string hash id.
function _M.template_id(method, name, v)
  if type(v) == "string" then
    return _M.string(method, name, v)
  end
  return _M.integer(method, name, v, false, 1)
end

--- Checks the fields of a table given as an argument: every key must be
-- in `allowed` (a set).
function _M.known_keys(method, name, t, allowed)
  for k in pairs(t) do
    if not allowed[k] then
      fail(method, name, "unknown field '" .. tostring(k) .. "'")
    end
  end
end

--- Attachments: a table of file names to contents, checked; a copy is
-- returned, its contents base64-encoded when `binary` (raw bytes given).
function _M.attachments(method, name, files, binary)
  _M.table(method, name, files)
  local out = {}
  for filename, content in pairs(files) do
    if type(filename) ~= "string" or filename == "" then
      fail(method, name, "a map of file names to contents expected, got the key "
           .. tostring(filename))
    end
    if type(content) ~= "string" then
      fail(method, name .. "[" .. filename .. "]", "a string expected, got "
           .. type(content))
    end
    out[filename] = binary and base64(content) or content
  end
  return out
end

--- [x] -> x: the single object some API versions wrap in a one-element
-- array; anything else is returned as it is.
function _M.unwrap(res)
  if type(res) == "table" and res[1] ~= nil and res[2] == nil then
    return res[1]
  end
  return res
end

--- A date as os.time() seconds: from an os.time() number, or from a
-- "YYYY-MM-DD HH:MM:SS" / "YYYY-MM-DD" string read as local time.
function _M.epoch(method, name, v)
  if type(v) == "number" then
    return floor(v)
  end
  local s = _M.date(method, name, v, false, type(v) == "string" and #v == 10)
  local y, mo, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)")
  local h, mi, sec = s:match(" (%d%d):(%d%d):(%d%d)$")
  return os_time{ year = tonumber(y), month = tonumber(mo), day = tonumber(d),
                  hour = tonumber(h) or 0, min = tonumber(mi) or 0,
                  sec = tonumber(sec) or 0 }
end

--- Checks an options table: nil or a table whose keys are all in
-- `allowed` (a set). Returns the table (an empty one for nil).
function _M.options(method, opts, allowed)
  if opts == nil then
    return {}
  end
  if type(opts) ~= "table" then
    fail(method, "opts", "a table expected, " .. got(opts))
  end
  for k in pairs(opts) do
    if not allowed[k] then
      fail(method, "opts", "unknown option '" .. tostring(k) .. "'")
    end
  end
  return opts
end

--- A set from a list of names: set{"a", "b"} -> {a = true, b = true}.
function _M.set(list)
  local s = {}
  for i = 1, #list do
    s[list[i]] = true
  end
  return s
end

--- A path from segments, each percent-encoded.
function _M.path(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    parts[i] = escape_segment((select(i, ...)))
  end
  return "/" .. table_concat(parts, "/")
end

return _M
