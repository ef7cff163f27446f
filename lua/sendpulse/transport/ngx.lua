--- The nginx transport: HTTP/1.1 over cosockets, for OpenResty.
--
-- libcurl would block the worker's event loop; cosockets yield to it. This
-- module only moves bytes: the request comes ready-made from the core
-- (`call:wire()`), the outcome goes back with `call:set_response` or
-- `call:set_failure` (libcurl's error numbering, from
-- `core.failure_codes`, so errors read the same whatever did the I/O),
-- and the core decides about tokens, retries and pacing. Connections are
-- kept alive in nginx's per-worker pool; TLS sessions are resumed.
--
-- Every cosocket operation is guarded: Debian 12's lua-resty-core 0.1.25
-- raises an assertion inside `sslhandshake` when a certificate does not
-- verify, instead of returning an error; any raise here becomes the same
-- failure libcurl would report, and the call goes on to release what it
-- holds.
--
-- All calls of a worker form one domain: they wait for each other's token
-- fetch (light threads and requests interleave on the nginx scheduler).
-- TLS is verified against `lua_ssl_trusted_certificate` in nginx.conf,
-- with SNI; nginx needs a `resolver` for host names.
-- See `sendpulse.transport` for the interface.
-- @module sendpulse.transport.ngx
local core = require "sendpulse.core"
local engine = require "sendpulse.engine"

local ngx = ngx
local error = error
local pcall = pcall
local setmetatable = setmetatable
local tonumber = tonumber
local tostring = tostring
local parse_head = core.parse_head
local ngx_sleep = ngx.sleep
local ngx_now = ngx.now
local ngx_update_time = ngx.update_time
local socket_tcp = ngx.socket.tcp
local str_find = string.find
local str_lower = string.lower
local str_match = string.match
local table_concat = table.concat

local E = core.failure_codes
local next_step = core.call_methods.next

local DOMAIN = 1            -- see the module's doc
local KEEPALIVE_IDLE_MS = 60000
local POOL_SIZE = 32
local HEAD_MAX = 65536      -- as libcurl's executor (http.c)

-- nginx sleeps in whole milliseconds: below one, ngx.sleep(0) would only
-- yield (and log a warning each time, without OpenResty's delayed-events
-- patch), so the call would come back early and step again at once.
local SLEEP_MIN = 0.001

local function sleep(seconds)
  if seconds and seconds > 0 then
    ngx_sleep(seconds < SLEEP_MIN and SLEEP_MIN or seconds)
  end
end

local function now()
  ngx_update_time()
  return ngx_now()
end

local _M = { name = "ngx", yields = true, stamps_sends = true, sleep = sleep, now = now }

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
      max_body = s.max_body_size,
      pool = ("sendpulse:%s:%d:%s"):format(host, port,
             tls and (s.ssl_verify and "tls" or "tls-noverify") or "plain"),
      -- nginx verifies the certificate against this name (and sends it as
      -- SNI): a host name, or an address, which nginx can only match
      -- against a DNS name written as that address (it does not read IP
      -- address names); never left out, or any certificate of a trusted
      -- CA would pass for any address
      server_name = host,
    }
    client._ngx_endpoint = ep
  end
  return ep
end

-- A cosocket method called so that a raise comes back as nil, message.
local function guard(ok, a, b, c)
  if ok then
    return a, b, c
  end
  return nil, "raised: " .. tostring(a)
end

local function tls_failure(err, verify)
  if err == "timeout" then
    return E.timeout
  end
  if str_find(err, "certificate", 1, true) or str_find(err, "verify", 1, true)
     or (verify and str_find(err, "raised:", 1, true)) then
    -- (the raising sslhandshake of lua-resty-core 0.1.25 does so when
    -- verification failed after a handshake that completed at once)
    return E.peer_verification
  end
  return E.ssl_connect
end

local function set_deadline(sock, deadline)
  local left = deadline - now()
  if left <= 0 then
    return false
  end
  pcall(sock.settimeout, sock, left * 1000)
  return true
end

local function receive(sock, what)
  return guard(pcall(sock.receive, sock, what))
end

-- Reads a chunked body; nil, code, message on failure.
local function read_chunked(sock, deadline, max_body)
  local parts, size = {}, 0
  while true do
    if not set_deadline(sock, deadline) then
      return nil, E.timeout, "timed out reading the body"
    end
    local line, err = receive(sock, "*l")
    if not line then
      return nil, err == "timeout" and E.timeout or E.partial_file,
             "the body ended early: " .. err
    end
    local n = tonumber(str_match(line, "^%s*(%x+)"), 16)
    if not n then
      return nil, E.recv_error, "malformed chunk size"
    end
    if n == 0 then
      -- trailers, up to the empty line
      repeat
        line, err = receive(sock, "*l")
        if not line then
          return nil, E.partial_file, "the body ended early: " .. err
        end
      until line == ""
      return table_concat(parts)
    end
    size = size + n
    if size > max_body then
      return nil, E.filesize_exceeded, "the response body exceeds "
             .. "max_body_size (" .. max_body .. " bytes)"
    end
    local data
    data, err = receive(sock, n)
    if not data then
      return nil, err == "timeout" and E.timeout or E.partial_file,
             "the body ended early: " .. err
    end
    parts[#parts + 1] = data
    receive(sock, 2)    -- the CRLF after the chunk
  end
end

-- The response head, at most HEAD_MAX bytes; nil and "timeout", "too
-- large" or another message otherwise.
local function read_head(sock)
  local ok, reader = pcall(sock.receiveuntil, sock, "\r\n\r\n")
  if not ok or not reader then
    return nil, "cannot read the response"
  end
  -- (with a size, the reader returns pieces, then nil and no error once
  -- it has reached the delimiter)
  local parts, size = {}, 0
  while true do
    local data, err = guard(pcall(reader, 4096))
    if err then
      return nil, err
    end
    if data == nil then
      break
    end
    size = size + #data
    if size > HEAD_MAX then
      return nil, "too large"
    end
    parts[#parts + 1] = data
  end
  if size == 0 then
    return nil, "closed"
  end
  return table_concat(parts)
end

local function close(sock)
  pcall(sock.close, sock)
end

-- A connection to the endpoint (from the pool, or new with its TLS
-- handshake); nil, code, message when there is none.
local function connect(ep, req)
  local sock = socket_tcp()
  pcall(sock.settimeouts, sock, req.connect_timeout * 1000, req.timeout * 1000,
        req.timeout * 1000)
  local ok, err = guard(pcall(sock.connect, sock, ep.host, ep.port,
                              { pool = ep.pool }))
  if not ok then
    close(sock)
    return nil, err == "timeout" and E.timeout or E.couldnt_connect,
           "cannot connect to " .. ep.host .. ":" .. ep.port .. ": " .. tostring(err)
  end
  local reused = (guard(pcall(sock.getreusedtimes, sock)) or 0) > 0
  if ep.tls and not reused then
    local session
    session, err = guard(pcall(sock.sslhandshake, sock, ep.session,
                               ep.server_name, ep.ssl_verify))
    if not session then
      close(sock)
      return nil, tls_failure(tostring(err), ep.ssl_verify),
             "TLS handshake failed: " .. tostring(err)
    end
    if session ~= true then
      ep.session = session  -- resume TLS sessions on the next connection
    end
  end
  return sock, reused
end

local function too_large(ep)
  return E.filesize_exceeded, "the response body exceeds max_body_size ("
         .. ep.max_body .. " bytes)"
end

-- The body after the head: body, keepalive | nil, code, message.
local function read_body(sock, deadline, ep, status, headers)
  local keepalive = not str_find(str_lower(headers.connection or ""), "close",
                                 1, true)
  local te = headers["transfer-encoding"]
  if te and str_find(str_lower(te), "chunked", 1, true) then
    local body, code, msg = read_chunked(sock, deadline, ep.max_body)
    return body or nil, body and keepalive or code, msg
  end
  if headers["content-length"] then
    local n = tonumber(headers["content-length"])
    if not n or n < 0 then
      return nil, E.recv_error, "malformed Content-Length"
    elseif n > ep.max_body then
      return nil, too_large(ep)
    elseif n == 0 then
      return "", keepalive
    elseif not set_deadline(sock, deadline) then
      return nil, E.timeout, "timed out reading the body"
    end
    local body, err = receive(sock, n)
    if not body then
      return nil, err == "timeout" and E.timeout or E.partial_file,
             "the body ended early: " .. tostring(err)
    end
    return body, keepalive
  end
  if status == 204 or status == 304 or status < 200 then
    return "", keepalive
  end
  -- no length: the body runs to the end of the connection
  if not set_deadline(sock, deadline) then
    return nil, E.timeout, "timed out reading the body"
  end
  local body, err = receive(sock, "*a")
  if not body then
    return nil, err == "timeout" and E.timeout or E.recv_error, tostring(err)
  elseif #body > ep.max_body then
    return nil, too_large(ep)
  end
  return body, false
end

-- One exchange on one connection. Returns true when the call got its
-- outcome; false, "stale", written when a reused connection turned out
-- dead before any response byte (the caller may resend on a fresh one),
-- `written` telling whether the request had gone out on it.
local function exchange(client, call, ep, may_resend)
  local req = call:request()
  local deadline = now() + req.timeout
  local sock, reused, msg = connect(ep, req)
  if not sock then
    call:set_failure(reused, msg, false)
    return true
  end

  local wire = call:wire()
  engine.leaving(client, call)    -- (the pacers count from here)
  local bytes, err = guard(pcall(sock.send, sock, wire))
  if not bytes then
    close(sock)
    if reused and may_resend then
      return false, "stale"
    end
    call:set_failure(err == "timeout" and E.timeout or E.send_error,
                     "sending failed: " .. tostring(err), true)
    return true
  end

  local head
  if set_deadline(sock, deadline) then
    head, err = read_head(sock)
  else
    err = "timeout"
  end
  if not head then
    close(sock)
    if err == "timeout" then
      call:set_failure(E.timeout, "timed out waiting for the response", true)
    elseif err == "too large" then
      call:set_failure(E.weird_server_reply, "the response head is too large "
                       .. "(more than 64 KiB)", true)
    elseif reused and may_resend then
      return false, "stale", true
    else
      call:set_failure(E.got_nothing, "the server closed the connection "
                       .. "without answering", true)
    end
    return true
  end
  local status, headers = parse_head(head .. "\r\n\r\n")
  if not status then
    close(sock)
    call:set_failure(E.weird_server_reply, "malformed response head", true)
    return true
  end

  local body, keepalive, why = read_body(sock, deadline, ep, status, headers)
  if not body then
    close(sock)
    call:set_failure(keepalive, why, true, status)
    return true
  end
  if not keepalive or not pcall(sock.setkeepalive, sock, KEEPALIVE_IDLE_MS,
                                POOL_SIZE) then
    close(sock)
  end
  call:set_response(status, body, headers["retry-after"])
  return true
end

--- Performs the call's current request.
local function send(call, client)
  local ep = endpoint(client)
  local req = call:request()
  -- Like libcurl: a pooled connection the server closed while it sat idle
  -- fails before any response byte. Resending on a fresh connection is
  -- right for requests without side effects, never for POST and PATCH.
  local done, _, written = exchange(client, call, ep, not req.send_once)
  if not done then
    if written then
      call:resent()       -- the first copy went out: it counts
    end
    exchange(client, call, ep, false)
  end
end

--- Runs one call to its end.
function _M.call(client, call)
  call:join(DOMAIN)
  return engine.run(client, call, next_step, send, sleep)
end

local function callback_error(message)
  return setmetatable({ kind = "callback", message = message, sent = "no" },
                      core.error_mt)
end

--- Many calls at once with nginx light threads, each running one call at
-- a time: next_call() gives the next (nil: no more), on_done(i, action,
-- value) hears of each end. A raising on_done stops new calls from
-- starting; those in flight finish (and are still reported). Returns that
-- error, if any.
function _M.stream(client, next_call, concurrency, on_done)
  local started, aborted, exhausted = 0, nil, false
  local function worker()
    while not aborted and not exhausted do
      local call = next_call()
      if call == nil then
        exhausted = true
        return
      end
      started = started + 1
      local i = started
      local res, err = _M.call(client, call)
      local ok, perr
      if res ~= nil then
        ok, perr = pcall(on_done, i, "done", res)
      else
        ok, perr = pcall(on_done, i, "fail", err)
      end
      if not ok and not aborted then
        aborted = callback_error("a progress callback failed: " .. tostring(perr))
      end
    end
  end
  local threads = {}
  for _ = 1, concurrency do
    local ok, th = pcall(ngx.thread.spawn, worker)
    if ok then
      threads[#threads + 1] = th
    end
  end
  if #threads == 0 then
    worker()      -- no light threads here (a timer context): one by one
  end
  for t = 1, #threads do
    pcall(ngx.thread.wait, threads[t])
  end
  return aborted
end

return _M
