-- Test access to the local sandbox: its address, its admin API, clients
-- configured for it, and what the specs ask of the requests it logged.
-- The sandbox is started by `make test` (tools/run-tests), which exports
-- its URL and CA file.
local sendpulse = require "sendpulse"
-- luassert is the specs' `assert`; this module, loaded with require, runs
-- outside busted's spec environment and so has to ask for it.
local assert = require "luassert"

local M = {}

M.url = os.getenv("SENDPULSE_SANDBOX_URL")
M.ca = os.getenv("SENDPULSE_SANDBOX_CA")
M.available = M.url ~= nil and M.ca ~= nil

M.client_id = "sandbox-client-id"
M.client_secret = "sandbox-client-secret"
M.api_key = "sandbox-api-key"

-- Without a sandbox the #sandbox specs are skipped (.busted says so); this
-- module still loads, so that busted can read their tags: what they use
-- at load time is there, anything they would call raises.
if not M.available then
  local message = "SENDPULSE_SANDBOX_URL/SENDPULSE_SANDBOX_CA are not set: run the "
                  .. "specs with `make test`, or `eval \"$(sandbox/start)\"` first"
  M.url, M.ca = "https://sandbox-not-started.invalid", "/sandbox-not-started.pem"
  return setmetatable(M, { __index = function()
    return function()
      error(message, 2)
    end
  end })
end

-- The admin API needs no credentials and is neither counted, limited nor
-- subject to faults; an API-key client without pacing or retries is the
-- simplest way to reach it.
local admin = sendpulse.new{
  api_key = M.api_key, base_url = M.url, ca_file = M.ca,
  rate_limit = false, max_retries = 0,
}

function M.admin(method, path, body)
  local res, err = admin:request(method, "/__sandbox" .. path, nil, body)
  if res == nil then
    error("sandbox admin " .. method .. " " .. path .. ": " .. tostring(err), 2)
  end
  return res
end

-- Back to a clean sandbox. Its 10 requests/second limit is off unless a
-- spec turns it on (config{rate_limit = 10}): most specs test other things.
function M.reset(config)
  M.admin("POST", "/reset")
  local c = { rate_limit = 0 }
  for k, v in pairs(config or {}) do
    c[k] = v
  end
  M.admin("POST", "/config", c)
end

function M.config(t) return M.admin("POST", "/config", t) end
function M.fault(t) return M.admin("POST", "/faults", t) end
function M.clear_faults() return M.admin("DELETE", "/faults") end
function M.stats() return M.admin("GET", "/stats") end
function M.revoke() return M.admin("POST", "/revoke") end
function M.log() return M.admin("GET", "/log").entries end

-- Requests the sandbox counted for "METHOD /path".
function M.count(key)
  return M.stats().requests[key] or 0
end

-- The logged requests for "METHOD /path" (the query is not part of the
-- path), oldest first.
function M.requests(key)
  local out = {}
  for _, e in ipairs(M.log()) do
    if e.method .. " " .. e.path == key then
      out[#out + 1] = e
    end
  end
  return out
end

-- The last logged request; with a key, the last one for "METHOD /path",
-- which must exist.
function M.last(key)
  if key == nil then
    local log = M.log()
    return log[#log]
  end
  local all = M.requests(key)
  if #all == 0 then
    error("no request " .. key .. " in the sandbox log", 2)
  end
  return all[#all]
end

-- The JSON body of M.last(key), decoded.
function M.last_body(key)
  return sendpulse.json.decode(M.last(key).body)
end

-- A percent-encoded string (a logged query or path) decoded.
function M.unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Runs fn and checks that no request reached the sandbox meanwhile.
function M.sends_nothing(fn)
  local before = M.stats().total
  fn()
  assert.equal(before, M.stats().total)
end

-- fn must raise an error holding `text` (plain text, not a pattern) before
-- sending anything. Returns the error message.
function M.raises(text, fn)
  local msg
  M.sends_nothing(function()
    local ok, err = pcall(fn)
    assert.is_false(ok, "expected an error containing: " .. text)
    msg = tostring(err)
    assert.is_truthy(msg:find(text, 1, true), "expected '" .. text .. "' in: " .. msg)
  end)
  return msg
end

-- fn must raise "bad argument 'name'" before sending anything; with
-- at_caller, the error must also point at a line of the file that called
-- bad_argument (the spec), not at the library.
function M.bad_argument(name, fn, at_caller)
  local file = debug.getinfo(2, "S").short_src:match("[^/\\]+$")
  local msg = M.raises("bad argument '" .. name .. "'", fn)
  if at_caller then
    assert.truthy(msg:find(file .. ":", 1, true), msg)
  end
end

function M.token_requests()
  return M.stats().token_requests
end

-- Marks an option to remove from the defaults: M.client{ca_file = M.NONE}.
M.NONE = setmetatable({}, { __tostring = function() return "NONE" end })

-- defaults with the fields of overrides set over them (a field set to
-- M.NONE is removed); defaults itself is changed and returned.
function M.merge(defaults, overrides)
  for k, v in pairs(overrides or {}) do
    if v == M.NONE then
      defaults[k] = nil
    else
      defaults[k] = v
    end
  end
  return defaults
end

-- An OAuth client for the sandbox; opts override the defaults. Pacing is
-- off unless a spec asks for it (the sandbox's limit is off by default in
-- specs too, see reset calls), and retries wait 10 ms instead of 0.5 s.
function M.client(opts)
  local o = M.merge({
    client_id = M.client_id, client_secret = M.client_secret,
    base_url = M.url, ca_file = M.ca, rate_limit = false,
    retry_delay = 0.01,
  }, opts)
  if o.api_key then
    o.client_id, o.client_secret = nil, nil
  end
  return sendpulse.new(o)
end

-- A clean sandbox (see reset) and a new client for it: what most specs do
-- before each test.
function M.fresh_client(opts)
  M.reset()
  return M.client(opts)
end

-- The seed's sample responses as served by the sandbox.
function M.seed(name)
  local f = assert(io.open("sandbox/data/" .. name .. ".json", "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

return M
