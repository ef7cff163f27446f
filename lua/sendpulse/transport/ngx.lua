--- The nginx transport: HTTP/1.1 over cosockets, for OpenResty.
--
-- libcurl would block the worker's event loop; cosockets yield to it. This
-- module only moves bytes: the request comes ready-made from the core
-- (`call:wire()`), the outcome goes back with `call:set_response` or
-- `call:set_failure` (libcurl's error numbering, so errors read the same
-- whatever did the I/O), and the core decides about tokens, retries and
-- pacing. Connections are kept alive in nginx's per-worker pool.
--
-- TLS is verified against `lua_ssl_trusted_certificate` in nginx.conf,
-- with SNI; nginx needs a `resolver` for host names.
-- @module sendpulse.transport.ngx
local core = require "sendpulse.core"

local ngx = ngx
local error = error
local tonumber = tonumber
local parse_head = core.parse_head
local ngx_sleep = ngx.sleep
local ngx_now = ngx.now
local ngx_update_time = ngx.update_time
local socket_tcp = ngx.socket.tcp
local str_find = string.find
local str_lower = string.lower
local str_match = string.match
local table_concat = table.concat

local _M = { name = "ngx" }

-- libcurl's numbers for the same failures
local E_COULDNT_CONNECT = 7
local E_PARTIAL_FILE = 18
local E_TIMEOUT = 28
local E_SSL_CONNECT = 35
local E_GOT_NOTHING = 52
local E_SEND = 55
local E_RECV = 56
local E_PEER_VERIFICATION = 60
local E_FILESIZE = 63

local KEEPALIVE_IDLE_MS = 60000
local POOL_SIZE = 32

--- Refuses options that nginx's cosockets cannot honour.
function _M.check(cc)
  local s = cc:settings()
  if s.ca_file then
    error("sendpulse.new: option 'ca_file' is not supported by the ngx "
          .. "transport: set lua_ssl_trusted_certificate in nginx.conf", 4)
  end
  if s.proxy then
    error("sendpulse.new: option 'proxy' is not supported by the ngx "
          .. "transport", 4)
  end
end

function _M.sleep(seconds)
  if seconds and seconds > 0 then
    ngx_sleep(seconds)
  end
end

local function now()
  ngx_update_time()
  return ngx_now()
end

-- Per-client connection facts, computed once.
local function endpoint(client)
  local ep = client._ngx_endpoint
  if not ep then
    local cc = client._core
    local tls, host, port = cc:endpoint()
    local s = cc:settings()
    ep = {
      tls = tls, host = host, port = port,
      ssl_verify = s.ssl_verify,
      timeout = s.timeout,
      connect_timeout = s.connect_timeout,
      max_body = s.max_body_size,
      pool = ("sendpulse:%s:%d:%s"):format(host, port,
             tls and (s.ssl_verify and "tls" or "tls-noverify") or "plain"),
      -- SNI and certificate names want a host name, not an IP address
      server_name = not str_find(host, "^[%d.]+$") and not str_find(host, ":")
                    and host or nil,
    }
    client._ngx_endpoint = ep
  end
  return ep
end

local function tls_failure(err)
  if err == "timeout" then
    return E_TIMEOUT
  end
  if str_find(err, "certificate", 1, true) or str_find(err, "verify", 1, true) then
    return E_PEER_VERIFICATION
  end
  return E_SSL_CONNECT
end

local function set_deadline(sock, deadline)
  local left = deadline - now()
  if left <= 0 then
    return false
  end
  sock:settimeout(left * 1000)
  return true
end

-- Reads a chunked body; nil, code, message on failure.
local function read_chunked(sock, deadline, max_body)
  local parts, size = {}, 0
  while true do
    if not set_deadline(sock, deadline) then
      return nil, E_TIMEOUT, "timed out reading the body"
    end
    local line, err = sock:receive("*l")
    if not line then
      return nil, err == "timeout" and E_TIMEOUT or E_PARTIAL_FILE,
             "the body ended early: " .. err
    end
    local n = tonumber(str_match(line, "^%s*(%x+)"), 16)
    if not n then
      return nil, E_RECV, "malformed chunk size"
    end
    if n == 0 then
      -- trailers, up to the empty line
      repeat
        line, err = sock:receive("*l")
        if not line then
          return nil, E_PARTIAL_FILE, "the body ended early: " .. err
        end
      until line == ""
      return table_concat(parts)
    end
    size = size + n
    if size > max_body then
      return nil, E_FILESIZE, "the response body exceeds max_body_size ("
             .. max_body .. " bytes)"
    end
    local data
    data, err = sock:receive(n)
    if not data then
      return nil, err == "timeout" and E_TIMEOUT or E_PARTIAL_FILE,
             "the body ended early: " .. err
    end
    parts[#parts + 1] = data
    sock:receive(2)     -- the CRLF after the chunk
  end
end

-- One exchange on one connection. Returns true when the call got its
-- outcome; false, "stale" when a reused connection turned out dead before
-- any response byte (the caller may resend on a fresh one).
local function exchange(call, ep, may_resend)
  local deadline = now() + ep.timeout
  local sock = socket_tcp()
  sock:settimeouts(ep.connect_timeout * 1000, ep.timeout * 1000,
                   ep.timeout * 1000)
  local ok, err = sock:connect(ep.host, ep.port, { pool = ep.pool })
  if not ok then
    call:set_failure(err == "timeout" and E_TIMEOUT or E_COULDNT_CONNECT,
                     "cannot connect to " .. ep.host .. ":" .. ep.port .. ": "
                     .. err, false)
    return true
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  if ep.tls and not reused then
    ok, err = sock:sslhandshake(ep.session, ep.server_name, ep.ssl_verify)
    if not ok then
      sock:close()
      call:set_failure(tls_failure(err), "TLS handshake failed: " .. err, false)
      return true
    end
    ep.session = ok     -- resume TLS sessions on the next connection
  end

  local bytes
  bytes, err = sock:send(call:wire())
  if not bytes then
    sock:close()
    if reused and may_resend then
      return false, "stale"
    end
    call:set_failure(err == "timeout" and E_TIMEOUT or E_SEND,
                     "sending failed: " .. err, true)
    return true
  end

  if not set_deadline(sock, deadline) then
    sock:close()
    call:set_failure(E_TIMEOUT, "timed out waiting for the response", true)
    return true
  end
  local head
  head, err = sock:receiveuntil("\r\n\r\n")()
  if not head then
    sock:close()
    if err == "timeout" then
      call:set_failure(E_TIMEOUT, "timed out waiting for the response", true)
      return true
    end
    if reused and may_resend then
      return false, "stale"
    end
    call:set_failure(E_GOT_NOTHING, "the server closed the connection "
                     .. "without answering", true)
    return true
  end
  local status, headers = parse_head(head .. "\r\n")
  if not status then
    sock:close()
    call:set_failure(E_RECV, "malformed response head", true)
    return true
  end

  local body
  local keepalive = not str_find(str_lower(headers.connection or ""), "close",
                                 1, true)
  local te = headers["transfer-encoding"]
  local code, msg
  if te and str_find(str_lower(te), "chunked", 1, true) then
    body, code, msg = read_chunked(sock, deadline, ep.max_body)
  elseif headers["content-length"] then
    local n = tonumber(headers["content-length"])
    if not n or n < 0 then
      body, code, msg = nil, E_RECV, "malformed Content-Length"
    elseif n > ep.max_body then
      body, code, msg = nil, E_FILESIZE, "the response body exceeds "
                        .. "max_body_size (" .. ep.max_body .. " bytes)"
    elseif n == 0 then
      body = ""
    elseif not set_deadline(sock, deadline) then
      body, code, msg = nil, E_TIMEOUT, "timed out reading the body"
    else
      body, err = sock:receive(n)
      if not body then
        code = err == "timeout" and E_TIMEOUT or E_PARTIAL_FILE
        msg = "the body ended early: " .. err
      end
    end
  elseif status == 204 or status == 304 or status < 200 then
    body = ""
  else
    -- no length: the body runs to the end of the connection
    keepalive = false
    if set_deadline(sock, deadline) then
      body, err = sock:receive("*a")
      if not body then
        code, msg = err == "timeout" and E_TIMEOUT or E_RECV, err
      elseif #body > ep.max_body then
        body, code, msg = nil, E_FILESIZE, "the response body exceeds "
                          .. "max_body_size (" .. ep.max_body .. " bytes)"
      end
    else
      code, msg = E_TIMEOUT, "timed out reading the body"
    end
  end

  if not body then
    sock:close()
    call:set_failure(code, msg, true, status)
    return true
  end
  if keepalive then
    sock:setkeepalive(KEEPALIVE_IDLE_MS, POOL_SIZE)
  else
    sock:close()
  end
  call:set_response(status, body, headers["retry-after"])
  return true
end

--- Performs the call's current request.
function _M.send(call, client)
  local ep = endpoint(client)
  -- Like libcurl: a pooled connection the server closed while it sat idle
  -- fails before any response byte. Resending on a fresh connection is
  -- right for requests without side effects, never for POST and PATCH.
  local done = exchange(call, ep, call:resendable())
  if not done then
    exchange(call, ep, false)
  end
end

return _M
