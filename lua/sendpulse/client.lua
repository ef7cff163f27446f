--- The client object: options, transports and the generic verbs.
-- Named API methods come from the area modules (`sendpulse.account`, ...)
-- and are mixed into the same class.
-- @classmod sendpulse.Client
local core = require "sendpulse.core"
local engine = require "sendpulse.engine"

local error = error
local pairs = pairs
local pcall = pcall
local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local type = type

local run = engine.run
local ipairs = ipairs

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
}

local curl_transport = {
  name = "curl",
  -- Calls on this transport run their sends and sleeps inside the core;
  -- these two serve only calls that hand them back (batches).
  sleep = core.sleep,
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

local function running_in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.socket) == "table"
         and type(ngx.socket.tcp) == "function"
end

local function pick_transport(choice)
  if choice == nil or choice == "auto" then
    choice = running_in_nginx() and "ngx" or "curl"
  end
  if choice == "curl" then
    return curl_transport, true
  elseif choice == "ngx" then
    return require("sendpulse.transport.ngx"), false
  elseif type(choice) == "table" then
    check_plugin("transport", choice, { "send", "sleep" })
    return choice, false
  end
  error("sendpulse.new: option 'transport' must be \"auto\", \"curl\", "
        .. "\"ngx\" or a table (got " .. tostring(choice) .. ")", 3)
end

--- Creates a client (no network I/O: the first call authenticates).
-- See the README for the options.
-- @tparam table opts
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
  local on_store_error = opts.on_store_error
  if on_store_error ~= nil and not is_callable(on_store_error) then
    error("sendpulse.new: option 'on_store_error' must be a function", 2)
  end
  local transport, inline = pick_transport(opts.transport)

  local ok, cc = pcall(core.new, core_opts,
                       { store = store ~= nil, pacer = pacer ~= nil })
  if not ok then
    error(cc, 2)    -- report at the caller's line, not ours
  end
  if transport.check then
    transport.check(cc)   -- e.g. refuse options nginx cannot honour
  end
  local settings = cc:settings()
  return setmetatable({
    _core = cc,
    _store = store,
    _pacer = settings.pace_cap and pacer or nil,
    _pace_cap = settings.pace_cap,
    _pace_window = settings.pace_window,
    _transport = transport,
    _inline = inline,
    _on_store_error = on_store_error,
  }, Client)
end

--- Sends any request and returns the decoded JSON response.
-- @tparam string method "GET", "POST", "PUT", "PATCH" or "DELETE"
-- @tparam string path an absolute path such as "/addressbooks"; build
--   paths with values in them through `sendpulse.path`
-- @tparam[opt] table query query parameters (percent-encoded, sorted)
-- @tparam[opt] table body sent as JSON
-- @return the result, mirroring the JSON
-- @treturn[2] nil
-- @treturn[2] table the error object
-- @raise on bad arguments (nothing is sent)
function Client:request(method, path, query, body)
  local cc = self._core
  if type(path) ~= "string" then
    error("sendpulse: bad argument 'path' (a string expected, got "
          .. type(path) .. ")", 3)
  end
  return run(self, cc:call(method, path, query, body, self._inline))
end

--- GET `path` with optional query parameters.
-- @usage local books = assert(client:get("/addressbooks", { limit = 10 }))
function Client:get(path, query)
  return self:request("GET", path, query, nil)
end

--- POST a JSON body.
function Client:post(path, body)
  return self:request("POST", path, nil, body)
end

--- PUT a JSON body.
function Client:put(path, body)
  return self:request("PUT", path, nil, body)
end

--- PATCH with a JSON body.
function Client:patch(path, body)
  return self:request("PATCH", path, nil, body)
end

--- DELETE, with a JSON body when the endpoint wants one.
function Client:delete(path, body)
  return self:request("DELETE", path, nil, body)
end

local METHODS = { GET = true, POST = true, PUT = true, PATCH = true,
                  DELETE = true }

--- Sends many requests at once and returns their outcomes in order.
-- Over libcurl the requests share the client's connections through its
-- multi handle (HTTP/2 multiplexing when the server offers it, parallel
-- keep-alive connections otherwise); inside nginx they run in light
-- threads. Pacing, the token (one fetch for the whole batch) and retries
-- work as for single calls. Every request is checked and encoded before
-- the first is sent.
-- @tparam table calls a list of `{method, path, query = ..., body = ...}`
-- @tparam[opt] table opts `concurrency` (requests in flight, default 8),
--   `on_progress(done, total)`
-- @treturn table a list: `{result}` or `{nil, err}` per call
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
  local cc, inline = self._core, self._inline
  local prepared = {}
  for i, c in ipairs(calls) do
    if type(c) ~= "table" or not METHODS[c[1]] or type(c[2]) ~= "string" then
      error("sendpulse: bad argument 'calls[" .. i .. "]' to batch ({method, "
            .. "path, query = ..., body = ...} expected)", 2)
    end
    local ok, call = pcall(cc.call, cc, c[1], c[2], c.query, c.body, false)
    if not ok then
      error("sendpulse: calls[" .. i .. "]: " .. tostring(call), 2)
    end
    prepared[i] = call
  end
  if inline then
    return engine.run_batch(self, prepared, concurrency, on_progress)
  elseif self._transport.name == "ngx" then
    return engine.run_threads(self, prepared, concurrency, on_progress)
  end
  local results = {}
  for i, call in ipairs(prepared) do
    local res, err = run(self, call)
    results[i] = res ~= nil and { res } or { nil, err }
    if on_progress then
      on_progress(i, #prepared)
    end
  end
  return results
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
