-- Test access to the local sandbox: its address, its admin API, and
-- clients configured for it. The sandbox is started by `make test`
-- (tools/run-tests), which exports its URL and CA file.
local sendpulse = require "sendpulse"

local M = {}

M.url = os.getenv("SENDPULSE_SANDBOX_URL")
M.ca = os.getenv("SENDPULSE_SANDBOX_CA")
if not M.url or not M.ca then
  error("SENDPULSE_SANDBOX_URL/SENDPULSE_SANDBOX_CA are not set: run the "
        .. "specs with `make test`, or `eval \"$(sandbox/start)\"` first")
end

M.client_id = "sandbox-client-id"
M.client_secret = "sandbox-client-secret"
M.api_key = "sandbox-api-key"

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

function M.token_requests()
  return M.stats().token_requests
end

-- Marks an option to remove from the defaults: M.client{ca_file = M.NONE}.
M.NONE = setmetatable({}, { __tostring = function() return "NONE" end })

-- An OAuth client for the sandbox; opts override the defaults. Pacing is
-- off unless a spec asks for it (the sandbox's limit is off by default in
-- specs too, see reset calls), and retries wait 10 ms instead of 0.5 s.
function M.client(opts)
  local o = {
    client_id = M.client_id, client_secret = M.client_secret,
    base_url = M.url, ca_file = M.ca, rate_limit = false,
    retry_delay = 0.01,
  }
  for k, v in pairs(opts or {}) do
    if v == M.NONE then
      o[k] = nil
    else
      o[k] = v
    end
  end
  if o.api_key then
    o.client_id, o.client_secret = nil, nil
  end
  return sendpulse.new(o)
end

-- The seed's sample responses as served by the sandbox.
function M.seed(name)
  local f = assert(io.open("sandbox/data/" .. name .. ".json", "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

return M
