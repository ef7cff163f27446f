--- Rows of the command registry, and the commands they make.
--
-- Every row has
--
--    [1] (or name)  the command's word within its group ("list")
--    summary        one sentence; description (paragraphs), example
--                   (one command line or a list), usage (a usage line
--                   other than the one made from args and options)
--    args           positional arguments (`args.param`)
--    options        options (`args.opt`)
--
-- and then one of three kinds.
--
-- **A client method**: `[2]` (or method) names it; `call` says how the
-- values make its arguments (default: the args' keys in order). Each
-- element of `call` is a key ("id": that value), a table of keys (`{
-- comment = "comment" }`: a table with the values given, nested tables
-- alike), or `call` is a function(values) returning the arguments.
--
--    { "remove", "remove_from_blacklist", args = { EMAILS }, ... }
--    { "add", "add_to_blacklist", args = { EMAILS },
--      options = { opt("comment", "TEXT", "string", "...") },
--      call = { "emails", { comment = "comment" } }, ... }
--
-- **A list**: a method row with `each`, the client's iterator. It takes
-- --limit, --offset, and --all (every page, printed item by item as the
-- pages arrive) with --max; the options in `query` (`{ website_id =
-- "website" }`) are added to the method's options table, after the args
-- of `call`. `page_keys`/`each_keys` rename limit/offset for the
-- endpoint (`{ limit = "count", offset = "start" }`).
--
-- **An API operation** (rows generated from SendPulse's OpenAPI
-- descriptions): `verb`, `path` (with `{name}` placeholders) and
-- `params`, a list of `{ name, in = "path"|"query"|"body", type =
-- "string"|"integer"|"number"|"boolean"|"array"|"object", required =
-- true, enum = {...}, help = "..." }`. Parameters are given as NAME=VALUE
-- (strings, and numbers or booleans written as text) or NAME:=JSON; a
-- body may come whole from --json @FILE (given parameters override its
-- fields). The request is `client:request(verb, path, query, body)`, or,
-- with `method` and `call`, that method called with the values of the
-- parameters by name (plus "@body" and "@query").
--
--    { "create-deal", verb = "POST", path = "/crm/v1/deals",
--      summary = "Creates a deal.", example = "sendpulse crm create-deal ...",
--      params = { { "pipelineId", ["in"] = "body", type = "integer",
--                   required = true }, ... } }
--
-- **Anything else**: `run = function(client, values, ctx)`.
-- @module sendpulse.cli.rows
-- @local
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"
local util = require "sendpulse.cli.util"

local assert = assert
local concat = table.concat
local format = string.format
local ipairs = ipairs
local next = next
local pairs = pairs
local select = select
local tostring = tostring
local type = type
local unpack = table.unpack or unpack   -- luacheck: ignore (Lua 5.1)

local json_decode = sendpulse.json.decode
local null = sendpulse.null
local opt, param = args.opt, args.param
local usage = errors.usage

local _M = {}

--- The options of every list command.
_M.PAGES = {
  opt("limit", "N", "positive", "items per request (at most 100)"),
  opt("offset", "N", "count", "items to skip first"),
  opt("all", nil, nil, "fetch every page, not only one, printing the items as they "
      .. "arrive"),
  opt("max", "N", "count", "with --all: stop after N items"),
}

local function concat_lists(a, b)
  local out = {}
  for _, x in ipairs(a or {}) do
    out[#out + 1] = x
  end
  for _, x in ipairs(b or {}) do
    out[#out + 1] = x
  end
  return out
end

---------------------------------------------------------------------------
-- Method rows.

-- The value `source` names in `values`.
local function resolve(source, values)
  if type(source) == "string" then
    return values[source]
  end
  local t = {}
  for field, s in pairs(source) do
    t[field] = resolve(s, values)
  end
  return t
end

local function pack(...)
  return { ... }, select("#", ...)
end

-- The arguments of the method: a list and its length (values may be nil).
local function arguments(call, values)
  if type(call) == "function" then
    return pack(call(values))
  end
  local list = {}
  for i, source in ipairs(call) do
    list[i] = resolve(source, values)
  end
  return list, #call
end

local function default_call(row)
  local call = {}
  for i, a in ipairs(row.args or {}) do
    call[i] = a.key
  end
  return call
end

local function method_runner(method, call)
  return function(client, values)
    local list, n = arguments(call, values)
    return client[method](client, unpack(list, 1, n))
  end
end

-- The options table of a list request from the values.
local function page_options(row, values, all)
  local o = {}
  for field, key in pairs(row.query or {}) do
    o[field] = values[key]
  end
  local keys = (all and row.each_keys or row.page_keys) or {}
  o[keys.limit or "limit"] = values.limit
  o[keys.offset or "offset"] = values.offset
  if all then
    o.max = values.max
  end
  return o
end

local function list_runner(row, call)
  return function(client, values, ctx)
    if values.max and not values.all then
      usage("--max goes with --all")
    end
    local list, n = arguments(call, values)
    list[n + 1] = page_options(row, values, values.all)
    if values.all then
      return ctx:stream(client[row.each](client, unpack(list, 1, n + 1)))
    end
    return client[row.method](client, unpack(list, 1, n + 1))
  end
end

---------------------------------------------------------------------------
-- Operation rows.

local JSON_KINDS = {
  integer = function(v) return type(v) == "number" and v % 1 == 0 end,
  number = function(v) return type(v) == "number" end,
  boolean = function(v) return type(v) == "boolean" end,
  string = function(v) return type(v) == "string" end,
  array = function(v) return type(v) == "table" and (v[1] ~= nil or next(v) == nil) end,
  object = function(v) return type(v) == "table" and v[1] == nil end,
}

local TEXT_TYPES = { integer = "integer", number = "number", boolean = "boolean",
                     string = "string" }

-- The value of parameter p from NAME=VALUE (text) or NAME:=JSON.
local function parameter_value(p, raw, is_json)
  local label = p.name
  local v
  if is_json then
    local value, err = json_decode(raw)
    if value == nil then
      usage("%s: invalid JSON '%s': %s", label, raw, tostring(err))
    end
    if value ~= null and not JSON_KINDS[p.type](value) then
      usage("%s: a JSON %s expected, got '%s'", label, p.type, raw)
    end
    v = value
  elseif TEXT_TYPES[p.type] then
    v = args.convert({ type = TEXT_TYPES[p.type] }, raw, label)
  else
    usage("%s: a JSON %s expected: write %s:=JSON", label, p.type, label)
  end
  if p.enum and v ~= null then
    local ok = false
    for _, e in ipairs(p.enum) do
      ok = ok or tostring(e) == tostring(v)
    end
    if not ok then
      usage("%s: one of %s expected, got '%s'", label, concat(p.enum, ", "), tostring(v))
    end
  end
  return v
end

local function parameter_names(c)
  local names = {}
  for i, p in ipairs(c.params) do
    names[i] = p.name
  end
  return names
end

-- Values of the parameters given, by name.
local function read_parameters(c, words)
  local by_name, given = {}, {}
  for _, p in ipairs(c.params) do
    by_name[p.name] = p
  end
  for _, w in ipairs(words or {}) do
    local name, raw = w:match("^([^=:]+):=(.*)$")
    local is_json = name ~= nil
    if not name then
      name, raw = w:match("^([^=]+)=(.*)$")
    end
    if not name then
      usage("NAME=VALUE or NAME:=JSON expected, got '%s' (usage: %s)", w, args.usage_line(c))
    end
    local p = by_name[name]
    if not p then
      usage("unknown parameter '%s' for 'sendpulse %s'%s", name, c.path,
            util.suggest(name, parameter_names(c)))
    end
    given[name] = parameter_value(p, raw, is_json)
  end
  return given
end

local function integer_text(v)
  if type(v) == "number" and v % 1 == 0 then
    return format("%d", v)
  end
  return tostring(v)
end

-- The request of an operation: path, query, body.
local function build_request(c, given, body)
  local missing = {}
  for _, p in ipairs(c.params) do
    local v = given[p.name]
    if v == nil and p["in"] == "body" and body then
      v = body[p.name]
    end
    if v == nil and p.required then
      missing[#missing + 1] = p.name
    end
  end
  if #missing > 0 then
    usage("missing %s %s (usage: %s)", #missing == 1 and "parameter" or "parameters",
          concat(missing, ", "), args.usage_line(c))
  end
  local query
  for _, p in ipairs(c.params) do
    local v = given[p.name]
    if v ~= nil and p["in"] == "query" then
      query = query or {}
      query[p.name] = v
    elseif v ~= nil and p["in"] ~= "path" then
      body = body or {}
      body[p.name] = v
    end
  end
  local path = c.path_template:gsub("{([^}]+)}", function(name)
    return core.escape_segment(integer_text(given[name]))
  end)
  return path, query, body
end

local function operation_runner(row)
  return function(client, values, ctx)
    local c = ctx.command
    local given = read_parameters(c, values.params)
    local body = values.json
    if body ~= nil and body[1] ~= nil then
      usage("--json: a JSON object expected, not an array")
    end
    local path, query, b = build_request(c, given, body)
    if row.method and row.call then
      local view = { ["@body"] = b, ["@query"] = query }
      for k, v in pairs(given) do
        view[k] = v
      end
      return method_runner(row.method, row.call)(client, view)
    end
    return client:request(row.verb, path, query, b)
  end
end

--- How a parameter is written: NAME=VALUE, or NAME:=JSON for lists and
-- objects.
function _M.parameter_word(p)
  return p.name .. ((p.type == "array" or p.type == "object") and ":=JSON" or "=VALUE")
end

local function operation_usage(c)
  local parts = {}
  for _, p in ipairs(c.params) do
    if p.required and p["in"] ~= "body" then
      parts[#parts + 1] = _M.parameter_word(p)
    end
  end
  for _, p in ipairs(c.params) do
    if p.required and p["in"] == "body" then
      parts[#parts + 1] = _M.parameter_word(p)
    end
  end
  parts[#parts + 1] = "[NAME=VALUE | NAME:=JSON ...]"
  return parts
end

local BODY_VERBS = { POST = true, PUT = true, PATCH = true, DELETE = true }

local function compile_operation(row, c)
  assert(type(row.path) == "string" and row.path:sub(1, 1) == "/",
         c.name .. ": an operation needs a path")
  c.params = {}
  local has_body = BODY_VERBS[row.verb] or false
  for i, p in ipairs(row.params or {}) do
    local name = p[1] or p.name
    assert(JSON_KINDS[p.type or "string"], c.name .. ": parameter " .. tostring(name)
           .. ": unknown type " .. tostring(p.type))
    local where = p["in"] or "body"
    assert(where ~= "path" or row.path:find("{" .. name .. "}", 1, true),
           c.name .. ": path parameter " .. name .. " is not in " .. row.path)
    c.params[i] = { name = name, ["in"] = where, type = p.type or "string",
                    required = p.required or where == "path", enum = p.enum,
                    help = p.help }
    has_body = has_body or where == "body"
  end
  c.path_template = row.path
  c.verb = row.verb
  c.args = { param("NAME=VALUE...", "string", "the operation's parameters (below)",
                   { optional = true, key = "params" }) }
  if has_body then
    c.options = concat_lists({ opt("json", "BODY", "json", "the request body: @FILE, - "
                                   .. "for standard input, or the JSON text; parameters "
                                   .. "given override its fields") }, c.options)
  end
  local words = operation_usage(c)
  for _, o in ipairs(c.options) do
    words[#words + 1] = "[--" .. o.name .. (o.metavar and (" " .. o.metavar) or "") .. "]"
  end
  c.usage = c.usage or concat(words, " ")
  c.run = operation_runner(row)
end

---------------------------------------------------------------------------

--- The command a row makes: its declaration with `run(client, values,
-- ctx)`.
function _M.compile(row, globals)
  local name = row[1] or row.name
  assert(type(name) == "string", "a row without a name")
  assert(row.summary and row.example, name .. ": a row needs a summary and an example")
  local c = {
    name = name, summary = row.summary, description = row.description,
    example = row.example, usage = row.usage, row = row,
    args = row.args or {}, options = row.options or {},
    dry_run = row.dry_run,   -- "self": the command reports its own dry run
  }
  local method = row[2] or row.method
  c.method = method
  if row.run then
    c.run = row.run
  elseif row.verb then
    compile_operation(row, c)
  elseif row.each then
    assert(method, name .. ": a list row needs its method")
    row.method = method
    c.options = concat_lists(_M.PAGES, c.options)
    c.run = list_runner(row, row.call or default_call(row))
  else
    assert(method, name .. ": a row needs a method, a verb or a run function")
    c.run = method_runner(method, row.call or default_call(row))
  end
  local seen = {}
  for _, o in ipairs(globals or {}) do
    seen[o.name] = true
  end
  for _, o in ipairs(c.options) do
    assert(not seen[o.name], name .. ": option --" .. o.name .. " declared twice")
    seen[o.name] = true
  end
  return c
end

return _M
