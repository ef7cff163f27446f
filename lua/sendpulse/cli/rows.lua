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
-- **An API operation** (`sendpulse.cli.operations` makes these rows from
-- the operation tables): `op` is the operation as
-- `sendpulse.services.operations` describes it, `call(client, args)`
-- calls its method (`client.crm:create_deal(args)`) and `each(client,
-- args, opts)` its iterator, if it has one (then the command takes --all
-- and --max). Parameters are NAME=VALUE or NAME:=JSON words
-- (`sendpulse.cli.params`); --json gives them as one object (or the body,
-- when that is not an object of fields). The method checks and encodes
-- them: an argument it refuses is a usage error.
--
--    { "create-deal", op = op, summary = op.summary, example = "...",
--      call = function(client, a) return client.crm:create_deal(a) end }
--
-- **Anything else**: `run = function(client, values, ctx)`.
-- @module sendpulse.cli.rows
-- @local
local core = require "sendpulse.core"
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"
local params = require "sendpulse.cli.params"

local assert = assert
local concat = table.concat
local error = error
local getmetatable = getmetatable
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local select = select
local type = type
local unpack = table.unpack or unpack   -- luacheck: ignore (Lua 5.1)

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
  return { n = select("#", ...), ... }, select("#", ...)
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

-- Calls fn(...): an argument the library refuses is a usage error that
-- points to the command's help.
local function library_call(c, fn, ...)
  local res = pack(pcall(fn, ...))
  if res[1] then
    return unpack(res, 2, res.n)
  end
  local msg = errors.library_error(res[2])
  if msg then
    usage("%s (sendpulse %s --help lists the parameters)", msg, c.path)
  end
  error(res[2], 0)
end

-- The args of the operation: the parameters given, over the fields of
-- --json (or, for an operation whose body is not an object of fields,
-- --json is the body).
local function operation_args(c, values)
  local a = params.read(c, values.params)
  local j = values.json
  if j == nil then
    return a
  end
  if c.op.body == "whole" then
    if a.body == nil then
      a.body = j
    end
    return a
  end
  if j[1] ~= nil or getmetatable(j) == core.array_mt then
    usage("--json: a JSON object expected, not an array")
  end
  for k, v in pairs(j) do
    if a[k] == nil then
      a[k] = v
    end
  end
  return a
end

-- --all: the page size and start given as parameters become the
-- iterator's options.
local function walk_options(op, a, values)
  local pg = op.row.pg or {}
  local o = { max = values.max }
  if pg.limit and a[pg.limit] ~= nil then
    o.limit, a[pg.limit] = a[pg.limit], nil
  end
  if pg.offset and a[pg.offset] ~= nil then
    o.offset, a[pg.offset] = a[pg.offset], nil
  end
  return o
end

local function operation_runner(row)
  return function(client, values, ctx)
    local c = ctx.command
    if values.max and not values.all then
      usage("--max goes with --all")
    end
    local a = operation_args(c, values)
    if values.all then
      local iter = library_call(c, row.each, client, a, walk_options(c.op, a, values))
      if values.dry_run then
        -- nothing comes back: the first page's request is what there is to show
        for item in iter do
          if item == false then
            break
          end
        end
        return ctx:requests()
      end
      return ctx:stream(iter)
    end
    local res, err = library_call(c, row.call, client, a)
    if type(res) == "string" and c.op.row.raw then
      ctx.stdout:write(res)      -- a file: its bytes as they came
      return ctx.PRINTED
    end
    return res, err
  end
end

local function operation_usage(c)
  local parts = {}
  for _, p in ipairs(c.params) do
    if p.required then
      parts[#parts + 1] = params.word(p)
    end
  end
  parts[#parts + 1] = "[NAME=VALUE | NAME:=JSON ...]"
  for _, o in ipairs(c.options) do
    parts[#parts + 1] = "[--" .. o.name .. (o.metavar and (" " .. o.metavar) or "") .. "]"
  end
  return concat(parts, " ")
end

local function compile_operation(row, c)
  local op = row.op
  assert(type(row.call) == "function", c.name .. ": an operation row needs its call")
  c.op = op
  c.params = row.params or params.compile(op.params)
  c.args = { param("NAME=VALUE...", "string", "the operation's parameters (below)",
                   { optional = true, key = "params" }) }
  local extra = {}
  if op.body then
    extra[#extra + 1] = opt("json", "BODY", "json", op.body == "whole"
                            and "the request body: @FILE, - for standard input, or the JSON text"
                            or "the parameters as one JSON object: @FILE, - for standard "
                            .. "input, or the JSON text; NAME=VALUE words override its fields")
  end
  if row.each then
    extra[#extra + 1] = opt("all", nil, nil, "fetch every page, not only one, printing the "
                            .. "items as they arrive")
    extra[#extra + 1] = opt("max", "N", "count", "with --all: stop after N items")
  end
  c.options = concat_lists(extra, c.options)
  c.usage = c.usage or operation_usage(c)
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
  elseif row.op then
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
