--- The services as namespaces of the client (`client.crm`,
-- `client.telegram`, ...) and the flat methods built from the same rows.
--
-- Nothing is loaded before it is used: `client.crm` requires
-- `sendpulse.api.crm` the first time any client touches it, and a method
-- is built from its row the first time it is called for. Service objects
-- are kept in the client, one per service.
--
--    local deal = assert(client.crm:create_deal{ pipelineId = 1, stepId = 2,
--                                                name = "Ring" })
--    for contact in client.telegram:each_contact_by_tag{ bot_id = BOT, tag = "vip" } do
--      print(contact.id)
--    end
-- @module sendpulse.services
-- @local
local index = require "sendpulse.api.index"
local service = require "sendpulse.service"
local util = require "sendpulse.util"

local error = error
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local rawget = rawget
local rawset = rawset
local require = require
local setmetatable = setmetatable
local table_sort = table.sort
local tostring = tostring
local type = type

local _M = {}

local namespaces = index.namespaces

--- The operation table of a service (`sendpulse.api.<name>`), loaded on
-- first use.
-- @tparam string name "crm", "telegram", "email", ...
-- @treturn table `{ service = name, ops = { method = row, ... } }`
function _M.table(name)
  return require("sendpulse.api." .. name)
end

-- service -> { method name -> fn(client, args) }, built on demand
local built = {}

local function operation(name, method_name, label)
  local cache = built[name]
  if not cache then
    cache = {}
    built[name] = cache
  end
  local fn = cache[method_name]
  if fn == nil then
    local ops = _M.table(name).ops
    local row = ops[method_name]
    if row then
      fn = service.method(label or (name .. ":" .. method_name), row)
    else
      -- an iterator of a paged operation?
      for op_name, r in pairs(ops) do
        if r.pg and r.pg.each == method_name then
          local m = operation(name, op_name)
          fn = service.iterator(label or (name .. ":" .. method_name), m, r)
          break
        end
      end
    end
    cache[method_name] = fn or false
  end
  return fn or nil
end

-- the class of each service's objects, made on first use
local classes = {}

local function class_of(name)
  local cls = classes[name]
  if cls then
    return cls
  end
  local methods = setmetatable({}, { __index = function(t, k)
    if type(k) ~= "string" then
      return nil
    end
    local fn = operation(name, k)
    if not fn then
      return nil
    end
    local label = name .. ":" .. k
    local m = function(self, ...)
      if type(self) ~= "table" or rawget(self, "_client") == nil then
        error("sendpulse: call " .. label .. " with a colon (client." .. name
              .. ":" .. k .. "{...})", 2)
      end
      return fn(self._client, ...)
    end
    rawset(t, k, m)
    return m
  end })
  cls = {
    __index = methods,
    __tostring = function(self)
      return "sendpulse service " .. name .. " of " .. tostring(self._client)
    end,
  }
  classes[name] = cls
  return cls
end

--- The service object `client[name]`, made (and kept in the client) on
-- first access; nil when `name` is no service. This is the client's
-- `__index` fallback.
-- @param client a client
-- @tparam string name
-- @return the service object or nil
function _M.lookup(client, name)
  if type(name) ~= "string" or not namespaces[name] then
    return nil
  end
  local svc = setmetatable({ _client = client, _service = name }, class_of(name))
  rawset(client, name, svc)
  return svc
end

--- Calls the flat client method `name` (one of `sendpulse.newer`'s), built
-- from its row on first use.
-- @param client
-- @tparam string name the flat method's name
-- @param ... `args` (and `opts` for an iterator)
function _M.flat(client, name, ...)
  local entry = index.flat[name]
  if not entry then
    error("sendpulse: no flat method " .. tostring(name))
  end
  local cache = built["flat:" .. name]
  if not cache then
    local svc, op = entry[1], entry[2]
    local row = _M.table(svc).ops[op]
    local m
    if entry.each then
      -- the iterator's pages go through the flat method of the same row
      local base
      for flat_name, e in pairs(index.flat) do
        if e[1] == svc and e[2] == op and not e.each then
          base = flat_name
        end
      end
      m = service.iterator(name, service.method(base or op, row), row)
    else
      m = service.method(name, row)
    end
    cache = m
    built["flat:" .. name] = cache
  end
  return cache(client, ...)
end

--- The client namespaces, sorted: "chatbots", "courses", "crm", ...
-- @treturn table
function _M.names()
  local list = {}
  for name in pairs(namespaces) do
    list[#list + 1] = name
  end
  table_sort(list)
  return list
end

--- A service's operations with their parameters, sorted by method name,
-- for tools that generate commands or help from the rows (the CLI):
--
--    { name = "create_deal", verb = "POST", path = "/crm/v1/deals",
--      operation_id = "createDeal", summary = "...", deprecated = false,
--      multipart = false, body = "fields" | "whole" | nil,
--      each = "each_deal" | nil,
--      params = { { name = "pipelineId", where = "body", required = true,
--                   schema = {...}, type = "integer" }, ... } }
--
-- `params` lists path parameters first, then query, then body fields;
-- required ones first within each. `type` is sendpulse.schema.describe's
-- text. The row itself is `row`.
-- @tparam string name a service ("crm", "email", ...)
-- @treturn table
function _M.operations(name)
  local schema = require "sendpulse.schema"
  local ok, help = pcall(require, "sendpulse.api.help")
  help = ok and help[name] or {}
  local ops = _M.table(name).ops
  local list = {}
  for op_name, row in pairs(ops) do
    local where = {}
    for _, p in ipairs(row.pp or {}) do
      where[p] = "path"
    end
    for _, q in ipairs(row.q or {}) do
      where[q] = "query"
    end
    local req = {}
    for _, r in ipairs(row.a.r or {}) do
      req[r] = true
    end
    -- fields a body must have when one is sent (its own required list)
    if row.b and not row.bw then
      for _, r in ipairs(row.b.r or {}) do
        req[r] = true
      end
    end
    local params = {}
    for pname, s in pairs(row.a.p) do
      params[#params + 1] = { name = pname, where = where[pname] or "body",
                              required = req[pname] == true,
                              schema = s, type = schema.describe(s) }
    end
    local rank = { path = 1, query = 2, body = 3 }
    table_sort(params, function(x, y)
      if x.where ~= y.where then
        return rank[x.where] < rank[y.where]
      end
      if x.required ~= y.required then
        return x.required
      end
      return x.name < y.name
    end)
    list[#list + 1] = {
      name = op_name, verb = row[1], path = row[2], operation_id = row[3] or nil,
      summary = help[op_name], deprecated = row.d == true, multipart = row.mp == true,
      body = row.b and (row.bw and "whole" or "fields") or nil,
      each = row.pg and row.pg.each or nil, params = params, row = row,
    }
  end
  table_sort(list, function(x, y) return x.name < y.name end)
  return list
end

--- Raises the error a generated method raises for a bad argument (for
-- code layered on the rows).
_M.fail = util.fail

return _M
