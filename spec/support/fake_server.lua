-- A scripted server behind a transport of the client's own interface (see
-- sendpulse.transport): no sockets, no sandbox. Each request the client
-- sends is recorded and answered from a script, so the specs of the
-- decision logic (tokens, retries, pacing, error kinds) run in
-- milliseconds with nothing but the C core.
--
--   local fake = require "support.fake_server"
--   local server = fake.new()
--   server:on("GET /user/info", { status = 503 }, { status = 200, body = "{}" })
--   local client = server:client{ max_retries = 2 }
--
-- An answer is { status = n, body = "...", headers = { ["Retry-After"] = "1" } }
-- or { failure = curl_code, sent = bool, message = "..." }. The answers of
-- a route are used in order; the last one repeats. Without a route: the
-- token endpoint issues tokens ("fake-token-N"), anything else is 200 {}.
local sendpulse = require "sendpulse"

local M = {}
M.__index = M

function M.new()
  return setmetatable({ routes = {}, log = {}, tokens = 0, sleeps = {} }, M)
end

--- Scripts the answers for "METHOD /path" (the path without the query).
function M:on(key, ...)
  self.routes[key] = { ... }
  return self
end

local function answer(self, req)
  local key = req.method .. " " .. req.path
  local list = self.routes[key]
  if list then
    local a = list[1]
    if #list > 1 then
      table.remove(list, 1)
    end
    if type(a) == "function" then
      a = a(req, self)
    end
    return a
  end
  if req.token then
    self.tokens = self.tokens + 1
    return { status = 200, body = ('{"access_token":"fake-token-%d","token_type":'
                                   .. '"Bearer","expires_in":3600}'):format(self.tokens) }
  end
  return { status = 200, body = "{}" }
end

--- The transport: sends nothing, answers from the script.
function M:transport()
  local server = self
  return {
    name = "fake",
    -- (server.stamps_sends: it says when each request leaves, as cosockets do)
    stamps_sends = server.stamps_sends,
    send = function(call, client)
      if server.trace then
        server.trace("send")
      end
      if server.stamps_sends then
        require("sendpulse.engine").leaving(client, call)
      end
      local req = call:request()
      local wire = call:wire()
      req.authorization = wire:match("\r\nAuthorization: Bearer ([^\r]+)\r\n")
      req.body = wire:match("\r\n\r\n(.*)$")
      server.log[#server.log + 1] = req
      local a = answer(server, req)
      if a.failure then
        call:set_failure(a.failure, a.message or "scripted failure", a.sent or false,
                         a.status)
      else
        local retry_after = a.headers and a.headers["Retry-After"]
        call:set_response(a.status or 200, a.body or "", retry_after)
      end
    end,
    sleep = function(seconds)
      server.sleeps[#server.sleeps + 1] = seconds
      if seconds > 0 and server.real_sleep then
        require("sendpulse.core").sleep(seconds)
      end
    end,
  }
end

--- A client talking to this server (OAuth unless opts.api_key).
function M:client(opts)
  local o = { client_id = "fake-client-id", client_secret = "fake-client-secret",
              base_url = "http://127.0.0.1:9", rate_limit = false, retry_delay = 0,
              transport = self:transport() }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  if o.api_key then
    o.client_id, o.client_secret = nil, nil
  end
  return sendpulse.new(o)
end

--- The requests seen for "METHOD /path" (or all), oldest first.
function M:requests(key)
  local out = {}
  for _, r in ipairs(self.log) do
    if key == nil or r.method .. " " .. r.path == key then
      out[#out + 1] = r
    end
  end
  return out
end

function M:count(key)
  return #self:requests(key)
end

function M:token_requests()
  return self:count("POST /oauth/access_token")
end

return M
