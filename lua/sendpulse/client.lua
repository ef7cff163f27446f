--- The client object: options, the generic verbs, batches.
-- Named API methods come from the area modules (`sendpulse.account`, ...)
-- and are mixed into the same class; the services (`client.crm`...) hang
-- off it as objects.
-- @classmod sendpulse.Client
local core = require "sendpulse.core"
local transport = require "sendpulse.transport"
local util = require "sendpulse.util"

local error = error
local getmetatable = getmetatable
local floor = math.floor
local ipairs = ipairs
local max = math.max
local min = math.min
local pairs = pairs
local pcall = pcall
local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local type = type

local raise = util.raise

local Client = {}

-- Methods first; any other name may be a service (client.crm, ...), whose
-- object sendpulse.services makes on first access and keeps in the client.
local services
function Client.__index(self, key)
  local v = Client[key]
  if v == nil then
    services = services or require("sendpulse.services")
    v = services.lookup(self, key)
  end
  return v
end

-- Options handled here; every other option goes to the C core, which
-- rejects the ones it does not know.
local LUA_OPTIONS = {
  token_store = true, transport = true, pacer = true, on_store_error = true,
  on_request = true, dry_run = true,
}

local function is_callable(v)
  if type(v) == "function" then
    return true
  end
  local mt = type(v) == "table" and getmetatable(v)
  return mt and type(rawget(mt, "__call")) == "function" or false
end

local function check_plugin(name, value, methods)
  if type(value) ~= "table" and type(value) ~= "userdata" then
    error("sendpulse.new: option '" .. name .. "' must be a table (got "
          .. type(value) .. ")", 4)
  end
  for _, m in pairs(methods) do
    if not is_callable(value[m]) then
      error("sendpulse.new: option '" .. name .. "' needs a method '" .. m
            .. "'", 4)
    end
  end
end

local function check_hook(name, value)
  if value ~= nil and not is_callable(value) then
    error("sendpulse.new: option '" .. name .. "' must be a function (got "
          .. type(value) .. ")", 3)
  end
end

-- The limits a shared pacer is told besides cap and span (see
-- sendpulse.pacers): the per-second rate, the plan's per-minute and
-- per-day quotas.
local function pace_limits(settings)
  local limits = {}
  if settings.shared_cap then
    limits[#limits + 1] = { count = settings.shared_cap,
                            window = settings.shared_span }
  end
  if settings.quota_per_minute then
    limits[#limits + 1] = { count = settings.quota_per_minute, window = 60.02 }
  end
  if settings.quota_per_day then
    limits[#limits + 1] = { count = settings.quota_per_day, per = "day",
                            hard = true }
  end
  return limits
end

-- Chunks a bulk method keeps in flight by default: a second's worth of
-- the rate limit, so that the pacer's whole window can be in flight and
-- the budget stays full up to a round trip of about a second; 4 without
-- a rate limit.
local function bulk_concurrency(rate)
  if not rate or rate <= 0 then
    return 4
  end
  return max(4, min(floor(rate), 32))
end

--- Creates a client (no network I/O: the first call authenticates).
-- The same function as @{sendpulse.new}, whose page lists the options.
-- @tparam table opts the options (see @{sendpulse.new})
-- @treturn Client
-- @raise on missing, contradictory, unknown or mistyped options
function Client.new(opts)
  if type(opts) ~= "table" then
    error("sendpulse.new: options must be a table (got " .. type(opts)
          .. ")", 2)
  end
  local core_opts = {}
  for k, v in pairs(opts) do
    if not LUA_OPTIONS[k] then
      core_opts[k] = v
    end
  end
  local store, pacer = opts.token_store, opts.pacer
  if store ~= nil then
    check_plugin("token_store", store, { "get", "set", "delete" })
  end
  if pacer ~= nil then
    check_plugin("pacer", pacer, { "reserve" })
  end
  check_hook("on_store_error", opts.on_store_error)
  check_hook("on_request", opts.on_request)
  local dry_run = opts.dry_run
  if dry_run ~= nil and dry_run ~= false and dry_run ~= true
     and not is_callable(dry_run) then
    error("sendpulse.new: option 'dry_run' must be true, false or a function "
          .. "(got " .. type(dry_run) .. ")", 2)
  end
  local t = transport.pick(opts.transport)

  local ok, cc = pcall(core.new, core_opts,
                       { store = store ~= nil, pacer = pacer ~= nil })
  if not ok then
    error(cc, 2)    -- report at the caller's line, not ours
  end
  if t.check then
    t.check(cc)     -- e.g. refuse options nginx cannot honour
  end
  local settings = cc:settings()
  return setmetatable({
    _core = cc,
    _store = store,
    _pacer = settings.shared_pacer and pacer or nil,
    _pace_limits = pace_limits(settings),
    _bulk_concurrency = bulk_concurrency(settings.rate_limit),
    _transport = t,
    _on_store_error = opts.on_store_error,
    _on_request = opts.on_request,
    _dry_run = dry_run or nil,
  }, Client)
end

-- dry_run: the request described, nothing sent.
local function dry(self, method, path, query, body)
  local req = { method = method, path = path, query = query, body = body }
  if self._dry_run == true then
    return { dry_run = true, method = method, path = path, query = query,
             body = body }
  end
  return self._dry_run(req)
end

--- Sends any request and returns the decoded JSON response.
-- @tparam string method `"GET"`, `"POST"`, `"PUT"`, `"PATCH"` or `"DELETE"`
-- @tparam string path the endpoint, from the base URL: an absolute path
--   such as `"/addressbooks"`, checked and not rewritten (no `?`, `#`,
--   spaces, `..` or empty segments); put values in with `sendpulse.path`
-- @tparam[opt] table query the query parameters (as for `get`)
-- @tparam[opt] table body the request body: sent as JSON, or as multipart
--   form data with `opts.multipart`
-- @tparam[opt] table opts `multipart = true`: the body's fields are form
--   fields (strings, numbers; a list is one part per item) and
--   `sendpulse.file{...}` values file parts, at most `max_upload_size`
--   bytes; `raw = true`: the answer is a file, returned as its bytes (a
--   string) instead of decoded
-- @return the decoded JSON result (`true` for an answer without content),
--   or the body's bytes with `opts.raw`
-- @treturn[2] nil
-- @treturn[2] table the error object (`kind`, `status`, `code`, `message`,
--   `body`, ...)
-- @raise on bad arguments (nothing is sent)
function Client:request(method, path, query, body, opts)
  if type(path) ~= "string" then
    raise("sendpulse: bad argument 'path' (a string expected, got "
          .. type(path) .. ")")
  end
  local cc = self._core
  local ok, call = pcall(cc.call, cc, method, path, query, body, opts)
  if not ok then
    raise(call)
  end
  if self._dry_run then
    return dry(self, method, path, query, body)
  end
  return self._transport.call(self, call)
end

--- GET `path`, with query parameters.
-- @tparam string path the endpoint, from the base URL: an absolute path
--   such as `"/addressbooks"`, checked and not rewritten (no `?`, `#`,
--   spaces, `..` or empty segments); put values in with `sendpulse.path`
-- @tparam[opt] table query the query parameters: `{ limit = 10 }` is
--   `?limit=10`; keys sorted, values percent-encoded, a list value
--   repeated as `key[]=v1&key[]=v2`
-- @return the decoded JSON result (`true` for an answer without content)
-- @treturn[2] nil
-- @treturn[2] table the error object (`kind`, `status`, `code`, `message`,
--   `body`, ...)
-- @raise on a bad path or query (nothing is sent)
-- @usage local books = assert(client:get("/addressbooks", { limit = 10 }))
function Client:get(path, query)
  return self:request("GET", path, query, nil)
end

--- POST a JSON body to `path`.
-- @tparam string path the endpoint, from the base URL: an absolute path
--   such as `"/addressbooks"`, checked and not rewritten (no `?`, `#`,
--   spaces, `..` or empty segments); put values in with `sendpulse.path`
-- @tparam[opt] table body the request body, sent as JSON (an empty table
--   is `{}`; `sendpulse.array{}` is `[]`)
-- @return the decoded JSON result (`true` for an answer without content)
-- @treturn[2] nil
-- @treturn[2] table the error object (`kind`, `status`, `code`, `message`,
--   `body`, ...)
-- @raise on a bad path or body (nothing is sent)
function Client:post(path, body)
  return self:request("POST", path, nil, body)
end

--- PUT a JSON body to `path`.
-- @tparam string path the endpoint, from the base URL: an absolute path
--   such as `"/addressbooks"`, checked and not rewritten (no `?`, `#`,
--   spaces, `..` or empty segments); put values in with `sendpulse.path`
-- @tparam[opt] table body the request body, sent as JSON (an empty table
--   is `{}`; `sendpulse.array{}` is `[]`)
-- @return the decoded JSON result (`true` for an answer without content)
-- @treturn[2] nil
-- @treturn[2] table the error object (`kind`, `status`, `code`, `message`,
--   `body`, ...)
-- @raise on a bad path or body (nothing is sent)
function Client:put(path, body)
  return self:request("PUT", path, nil, body)
end

--- PATCH `path` with a JSON body.
-- @tparam string path the endpoint, from the base URL: an absolute path
--   such as `"/addressbooks"`, checked and not rewritten (no `?`, `#`,
--   spaces, `..` or empty segments); put values in with `sendpulse.path`
-- @tparam[opt] table body the request body, sent as JSON (an empty table
--   is `{}`; `sendpulse.array{}` is `[]`)
-- @return the decoded JSON result (`true` for an answer without content)
-- @treturn[2] nil
-- @treturn[2] table the error object (`kind`, `status`, `code`, `message`,
--   `body`, ...)
-- @raise on a bad path or body (nothing is sent)
function Client:patch(path, body)
  return self:request("PATCH", path, nil, body)
end

--- DELETE `path`, with a JSON body when the endpoint wants one.
-- @tparam string path the endpoint, from the base URL: an absolute path
--   such as `"/addressbooks"`, checked and not rewritten (no `?`, `#`,
--   spaces, `..` or empty segments); put values in with `sendpulse.path`
-- @tparam[opt] table body the request body some endpoints want (the
--   addresses to remove, ...), sent as JSON; none when nil
-- @return the decoded JSON result (`true` for an answer without content)
-- @treturn[2] nil
-- @treturn[2] table the error object (`kind`, `status`, `code`, `message`,
--   `body`, ...)
-- @raise on a bad path or body (nothing is sent)
function Client:delete(path, body)
  return self:request("DELETE", path, nil, body)
end

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true,
                  DELETE = true }

--- Sends many requests at once and returns their outcomes in order.
-- Over libcurl the batch has its own connections (HTTP/2 multiplexing
-- when the server offers it, parallel keep-alive connections otherwise);
-- inside nginx the requests run in light threads. Pacing, the token (one
-- fetch for the whole batch) and retries work as for single calls. Every
-- request is checked and encoded before the first is sent. A batch may be
-- started from another one's `on_progress`; an `on_progress` that raises
-- ends the batch early: the calls still in flight are let go, and the
-- results of those that finished are returned.
-- @tparam table calls a list of `{method, path, query = ..., body = ...}`
-- @tparam[opt] table opts `concurrency` (requests in flight, default 8),
--   `on_progress(done, total)`
-- @treturn table a list: `{result}` or `{nil, err}` per call
-- @treturn[opt] table the error (`kind = "callback"`) that ended the
--   batch early
-- @raise on a malformed call (nothing is sent then)
-- @usage local out = client:batch{ {"GET", "/user/info"},
--   {"GET", "/addressbooks", query = {limit = 5}} }
function Client:batch(calls, opts)
  if type(calls) ~= "table" then
    error("sendpulse: bad argument 'calls' to batch (a list expected, got "
          .. type(calls) .. ")", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then
    error("sendpulse: bad argument 'opts' to batch (a table expected)", 2)
  end
  for k in pairs(opts) do
    if k ~= "concurrency" and k ~= "on_progress" then
      error("sendpulse: bad argument 'opts' to batch (unknown option '"
            .. tostring(k) .. "')", 2)
    end
  end
  local concurrency = opts.concurrency or 8
  if type(concurrency) ~= "number" or concurrency < 1
     or concurrency ~= concurrency - concurrency % 1 then
    error("sendpulse: bad argument 'opts.concurrency' to batch (a positive "
          .. "integer expected)", 2)
  end
  local on_progress = opts.on_progress
  if on_progress ~= nil and not is_callable(on_progress) then
    error("sendpulse: bad argument 'opts.on_progress' to batch (a function "
          .. "expected)", 2)
  end
  local cc = self._core
  local prepared = {}
  for i, c in ipairs(calls) do
    if type(c) ~= "table" or not METHODS[c[1]] or type(c[2]) ~= "string" then
      error("sendpulse: bad argument 'calls[" .. i .. "]' to batch ({method, "
            .. "path, query = ..., body = ...} expected)", 2)
    end
    local ok, call = pcall(cc.call, cc, c[1], c[2], c.query, c.body)
    if not ok then
      error("sendpulse: calls[" .. i .. "]: " .. tostring(call), 2)
    end
    prepared[i] = call
  end
  if self._dry_run then
    local results = {}
    for i, c in ipairs(calls) do
      results[i] = { dry(self, c[1], c[2], c.query, c.body) }
    end
    return results
  end
  return transport.batch(self._transport, self, prepared, concurrency, on_progress)
end

--- Releases the connections and wipes the credentials. Idempotent; also
-- done by the garbage collector and, on Lua 5.4, by `<close>`.
function Client:close()
  self._core:close()
end

Client.__close = Client.close

function Client:__tostring()
  return tostring(self._core)
end

--- Whether the client holds a token now, and until when (epoch seconds).
-- The token itself is never exposed.
function Client:token_state()
  return self._core:token_state()
end

--- The key naming this account in token stores and pacers.
function Client:store_key()
  return self._core:store_key()
end

-- area that added each named method
local owners = {}

--- Adds named methods from an area module. Loading an area again (a
-- test runner reloading modules) replaces its own methods; a name taken
-- by another area or by the client itself is an error.
-- @local
function Client.mixin(methods, area)
  for name, fn in pairs(methods) do
    local owner = owners[name]
    if owner ~= area and rawget(Client, name) ~= nil then
      error("sendpulse: method '" .. name .. "' defined twice ("
            .. tostring(owner or "client") .. ", " .. tostring(area) .. ")")
    end
    owners[name] = area
    Client[name] = fn
  end
end

return Client
