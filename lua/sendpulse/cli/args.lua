--- Arguments and options of the command-line tool: their declarations,
-- the types that convert command-line strings, and the parser.
--
--    local o = args.opt("limit", "N", "positive", "items per request")
--    local p = args.param("ID", "id", "the mailing list's id")
--    local values = args.parse({ path = "x", args = { p }, options = { o } },
--                              { "42", "--limit=5" }, {})
--    --> { id = 42, limit = 5 }
--
-- Every mistake is a usage error (`sendpulse.cli.errors`) naming the
-- argument or option.
-- @module sendpulse.cli.args
-- @local
local sendpulse = require "sendpulse"
local errors = require "sendpulse.cli.errors"
local util = require "sendpulse.cli.util"

local concat = table.concat
local error = error
local insert = table.insert
local ipairs = ipairs
local math_huge = math.huge
local next = next
local pairs = pairs
local tonumber = tonumber
local tostring = tostring
local type = type

local json_decode = sendpulse.json.decode
local read_file = util.read_file
local to_integer = util.to_integer
local usage = errors.usage

local _M = {}

---------------------------------------------------------------------------
-- Email addresses, checked more strictly than the library does (which
-- only wants text on both sides of one "@"): an address the service would
-- refuse is reported here, with why.

--- Why `s` is not an email address, or nil when it is one.
function _M.email_problem(s)
  if s == "" then
    return "empty"
  end
  if #s > 254 then
    return "longer than 254 characters"
  end
  if s:find("[%s%c]") then
    return "contains a space or a control character"
  end
  local _, ats = s:gsub("@", "")
  if ats == 0 then
    return "no @"
  elseif ats > 1 then
    return "more than one @"
  end
  local user, domain = s:match("^(.*)@(.*)$")
  if user == "" then
    return "nothing before the @"
  elseif domain == "" then
    return "nothing after the @"
  elseif #user > 64 then
    return "more than 64 characters before the @"
  elseif user:find("^%.") or user:find("%.$") or user:find("%.%.") then
    return "misplaced dot before the @"
  elseif user:find("[\"(),:;<>%[%]\\]") then
    return "invalid character before the @"
  elseif not domain:find(".", 1, true) then
    return "no dot in the domain"
  end
  for label in (domain .. "."):gmatch("([^.]*)%.") do
    if label == "" then
      return "empty part in the domain"
    elseif label:find("[^%w%-\128-\255]") then
      return "invalid character in the domain"
    elseif label:find("^%-") or label:find("%-$") then
      return "a part of the domain starts or ends with '-'"
    end
  end
  local tld = domain:match("([^.]*)$")
  if #tld < 2 or tld:find("^%d+$") then
    return "invalid top-level domain"
  end
  return nil
end

--- A JSON body: @FILE, - (standard input) or the JSON text itself; an
-- object or an array.
function _M.json_body(s, name)
  local text, where = s, name
  if s == "-" then
    text, where = read_file("-", name), "standard input"
  elseif s:sub(1, 1) == "@" then
    text, where = read_file(s:sub(2), name), s:sub(2)
  end
  local value, err = json_decode(text)
  if value == nil then
    usage("%s: invalid JSON: %s", where, tostring(err))
  end
  if type(value) ~= "table" then
    usage("%s: a JSON object or array expected", where)
  end
  return value
end

---------------------------------------------------------------------------
-- Types: each converts a command-line string, or raises a usage error
-- naming the argument. `spec` is the declaration (for choices).

local TYPES = {}
_M.TYPES = TYPES

function TYPES.string(s)
  return s
end

-- TEXT or @FILE (@- for standard input; @@ for a text starting with @).
function TYPES.text(s, name)
  if s:sub(1, 2) == "@@" then
    return s:sub(2)
  elseif s:sub(1, 1) == "@" then
    return read_file(s:sub(2), name)
  end
  return s
end

-- A file sent as such: { name = its base name, data = its bytes }.
function TYPES.file(s, name)
  return { name = util.basename(s), data = read_file(s, name) }
end

function TYPES.id(s, name)
  local n = to_integer(s)
  if not n or n < 1 then
    usage("%s: a positive integer expected, got '%s'", name, s)
  end
  return n
end

function TYPES.count(s, name)
  local n = to_integer(s)
  if not n or n < 0 then
    usage("%s: a non-negative integer expected, got '%s'", name, s)
  end
  return n
end

function TYPES.positive(s, name)
  local n = to_integer(s)
  if not n or n < 1 then
    usage("%s: an integer of at least 1 expected, got '%s'", name, s)
  end
  return n
end

function TYPES.integer(s, name)
  local n = to_integer(s)
  if not n then
    usage("%s: an integer expected, got '%s'", name, s)
  end
  return n
end

function TYPES.number(s, name)
  local n = tonumber(s)
  if not n or n ~= n or n == math_huge or n == -math_huge or not s:find("^%s*[-+%d.]") then
    usage("%s: a number expected, got '%s'", name, s)
  end
  return to_integer(s) or n
end

function TYPES.seconds(s, name)
  local n = tonumber(s)
  if not n or n <= 0 or n ~= n or n == math_huge then
    usage("%s: a number of seconds expected, got '%s'", name, s)
  end
  return n
end

function TYPES.email(s, name)
  local problem = _M.email_problem(s)
  if problem then
    usage("%s: not an email address: '%s' (%s)", name, s, problem)
  end
  return s
end

-- An id that is an integer, or a string (a template's hash id).
function TYPES.id_or_name(s)
  return to_integer(s) or s
end

-- NAME=VALUE (a string) or NAME:=JSON (any JSON value).
function TYPES.pair(s, name)
  local k, v = s:match("^([^=:]+):=(.*)$")
  if k then
    local value, err = json_decode(v)
    if value == nil then
      usage("%s: invalid JSON in '%s': %s", name, s, tostring(err))
    end
    return { k, value }
  end
  k, v = s:match("^([^=]+)=(.*)$")
  if not k then
    usage("%s: NAME=VALUE expected, got '%s'", name, s)
  end
  return { k, v }
end

-- "Name <address>" or "address".
function TYPES.address(s, name)
  local who, email = s:match("^%s*(.-)%s*<%s*([^<>]-)%s*>%s*$")
  if not email then
    email = util.trim(s)
  end
  who = who and who:gsub('^"(.*)"$', "%1")
  TYPES.email(email, name)
  return { name = (who ~= "" and who) or nil, email = email }
end

local SWITCH = { on = true, ["true"] = true, ["1"] = true, yes = true,
                 off = false, ["false"] = false, ["0"] = false, no = false }

-- on/off, true/false, 1/0, yes/no
function TYPES.switch(s, name)
  local v = SWITCH[s:lower()]
  if v == nil then
    usage("%s: on or off expected, got '%s'", name, s)
  end
  return v
end

function TYPES.boolean(s, name)
  local v = SWITCH[s:lower()]
  if v == nil then
    usage("%s: true or false expected, got '%s'", name, s)
  end
  return v
end

local function json_of(kind, lua_check)
  return function(s, name)
    local value = json_decode(s)
    if value == nil or not lua_check(value) then
      usage("%s: a JSON %s expected, got '%s'", name, kind, s)
    end
    return value
  end
end

local function is_list(v)
  return type(v) == "table" and (v[1] ~= nil or next(v) == nil)
end

TYPES.array = json_of("array", is_list)
TYPES.object = json_of("object", function(v)
  return type(v) == "table" and (v[1] == nil or next(v) == nil)
end)

-- A JSON body: @FILE, - or the JSON text (an object or an array).
function TYPES.json(s, name)
  return _M.json_body(s, name)
end

function TYPES.choice(s, name, spec)
  for _, c in ipairs(spec.choices) do
    if s == c then
      return s
    end
  end
  usage("%s: one of %s expected, got '%s'", name, concat(spec.choices, ", "), s)
end

--- Converts `s` as declared by `spec` (an option or an argument).
function _M.convert(spec, s, name)
  local f = TYPES[spec.type]
  if not f then
    error("sendpulse.cli: unknown type '" .. tostring(spec.type) .. "'")
  end
  local v = f(s, name, spec)
  if spec.choices and spec.type ~= "choice" then
    TYPES.choice(s, name, spec)
  end
  return v
end

---------------------------------------------------------------------------
-- Declarations.

local function merge(into, extra)
  for k, v in pairs(extra or {}) do
    into[k] = v
  end
  return into
end

--- An option: `--name METAVAR` (a flag when `metavar` is nil). `extra`:
-- `short` (one letter: -x), `multi` (may be repeated: a list), `map` (a
-- repeated NAME=VALUE option collected into a table), `required`,
-- `default`, `choices`, `key` (where parse puts it; default the name with
-- "_" for "-").
function _M.opt(name, metavar, typ, help, extra)
  local o = { name = name, metavar = metavar, type = typ or "string", help = help,
              key = (name:gsub("%-", "_")) }
  return merge(o, extra)
end

--- A positional argument. `NAME...` takes one or more (a list); `extra`:
-- `optional`, `map` (NAME=VALUE pairs collected into a table), `key`
-- (default: the name in lower case, plus "s" for a list), `choices`.
function _M.param(name, typ, help, extra)
  local a = { name = name, type = typ or "string", help = help }
  a.many = name:find("%.%.%.$") ~= nil
  local bare = name:gsub("%.%.%.$", "")
  a.key = bare:lower():gsub("[^%w]+", "_")
  if a.many then
    a.key = a.key .. "s"
  end
  return merge(a, extra)
end

--- The usage line of a command: "sendpulse PATH ARGS [--OPTION METAVAR]...".
function _M.usage_line(c)
  if c.usage then
    return "sendpulse " .. c.path .. " " .. c.usage
  end
  local parts = { "sendpulse", c.path }
  for _, a in ipairs(c.args) do
    local s = a.many and (a.name:gsub("%.%.%.$", "") .. " ...") or a.name
    parts[#parts + 1] = a.optional and ("[" .. s .. "]") or s
  end
  for _, o in ipairs(c.options) do
    local s = "--" .. o.name .. (o.metavar and (" " .. o.metavar) or "")
    if o.multi or o.map then
      s = s .. " ..."
    end
    parts[#parts + 1] = o.required and s or ("[" .. s .. "]")
  end
  return concat(parts, " ")
end

---------------------------------------------------------------------------
-- Parsing.

--- The option `name` (without dashes) of command `c`, or of `globals`.
function _M.find_option(c, globals, name)
  for _, list in ipairs{ c.options, globals } do
    for _, o in ipairs(list) do
      if o.name == name then
        return o
      end
    end
  end
end

local function find_short(c, globals, letter)
  for _, list in ipairs{ c.options, globals } do
    for _, o in ipairs(list) do
      if o.short == letter then
        return o
      end
    end
  end
end

--- Every option name of `c` and `globals`, with its dashes.
function _M.option_names(c, globals)
  local names = {}
  for _, list in ipairs{ c.options, globals } do
    for _, o in ipairs(list) do
      names[#names + 1] = "--" .. o.name
    end
  end
  return names
end

--- Whether `token` looks like an option rather than an argument ("-"
-- alone is standard input).
function _M.is_option(token)
  return token:sub(1, 1) == "-" and token ~= "-"
end

local function store(values, spec, v)
  if spec.map then
    values[spec.key] = values[spec.key] or {}
    values[spec.key][v[1]] = v[2]      -- a later NAME wins
  elseif spec.multi then
    values[spec.key] = values[spec.key] or {}
    insert(values[spec.key], v)
  else
    values[spec.key] = v               -- the last one given wins
  end
end

-- Reads the option at tokens[i]; returns the index of the next token.
local function read_option(c, globals, tokens, i, values)
  local s = tokens[i]
  local name, value = s:match("^%-%-([^=]+)=(.*)$")
  name = name or s:match("^%-%-(.+)$")
  local o
  if name then
    o = _M.find_option(c, globals, name)
  elseif #s == 2 then
    o = find_short(c, globals, s:sub(2))
  end
  if not o then
    usage("unknown option '%s' for 'sendpulse %s'%s", s, c.path,
          util.suggest((s:gsub("=.*", "")), _M.option_names(c, globals)))
  end
  local label = "--" .. o.name
  if not o.metavar then
    if value ~= nil then
      usage("%s takes no value", label)
    end
    values[o.key] = true
    return i + 1
  end
  if value == nil then
    i = i + 1
    value = tokens[i]
    if value == nil then
      usage("%s needs a value (%s)", label, o.metavar)
    end
  end
  store(values, o, _M.convert(o, value, label))
  return i + 1
end

-- Assigns the positional words to the declared arguments.
local function assign(c, positional, values)
  local p = 1
  for _, a in ipairs(c.args) do
    if a.many then
      local label = a.name:gsub("%.%.%.$", "")
      local any = false
      if not a.map then
        values[a.key] = {}
      end
      while p <= #positional do
        store(values, a.map and a or { key = a.key, multi = true },
              _M.convert(a, positional[p], label))
        any = true
        p = p + 1
      end
      if a.map and not any then
        values[a.key] = {}
      end
      if not any and not a.optional then
        usage("missing %s (usage: %s)", a.name, _M.usage_line(c))
      end
    elseif positional[p] ~= nil then
      values[a.key] = _M.convert(a, positional[p], a.name)
      p = p + 1
    elseif not a.optional then
      usage("missing %s (usage: %s)", a.name, _M.usage_line(c))
    end
  end
  if positional[p] ~= nil then
    usage("unexpected argument '%s' (usage: %s)", positional[p], _M.usage_line(c))
  end
end

--- Parses `tokens` for command `c` (`path`, `args`, `options`), whose
-- options may be mixed with the arguments; `globals` are options every
-- command takes. After "--" every token is an argument. Returns the
-- values by key: arguments (lists for NAME...), options (lists for
-- repeated ones, `true` for flags, defaults filled in).
function _M.parse(c, tokens, globals)
  globals = globals or {}
  local values, positional = {}, {}
  local i, only_positional = 1, false
  while i <= #tokens do
    local s = tokens[i]
    if only_positional or not _M.is_option(s) then
      positional[#positional + 1] = s
      i = i + 1
    elseif s == "--" then
      only_positional = true
      i = i + 1
    else
      i = read_option(c, globals, tokens, i, values)
    end
  end
  assign(c, positional, values)
  for _, o in ipairs(c.options) do
    if o.required and values[o.key] == nil then
      usage("missing --%s (usage: %s)", o.name, _M.usage_line(c))
    end
    if values[o.key] == nil and o.default ~= nil then
      values[o.key] = o.default
    end
  end
  for _, o in ipairs(globals) do
    if values[o.key] == nil and o.default ~= nil then
      values[o.key] = o.default
    end
  end
  return values
end

return _M
