-- A headless Chromium driven through the DevTools protocol, for the specs
-- that look at the sandbox's web page (#browser).
--
-- Chromium is started with --remote-debugging-port=0 in a fresh profile
-- directory; the port it picked is read from DevToolsActivePort there,
-- and the protocol runs over a WebSocket to 127.0.0.1 (LuaSocket, with a
-- deadline on every read). Pages are attached as "flat" sessions: every
-- command names its session. The browser runs under `timeout`, so it is
-- gone after `lifetime` seconds whatever happens to the spec.
--
--   local browser = cdp.launch{ lifetime = 90, pin = "server.pem" }
--   local page = browser:open("https://...")   -- a page session
--   page:call("DOM.getDocument", { depth = -1 })
--   browser:close()
local socket = require "socket"
local json = require("sendpulse").json
local core = require "sendpulse.core"

local M = {}

-- os.execute's success across versions: true (5.2+) or 0 (5.1)
local function run(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

-- Debian's chromium package; SENDPULSE_CHROMIUM names another build
M.EXECUTABLE = os.getenv("SENDPULSE_CHROMIUM") or "/usr/bin/chromium"

-- Flags for a machine without a network: no background connections, no
-- component updates, no sync, no QUIC; no GPU and no setuid sandbox
-- (specs may run as root, where Chromium refuses its own sandbox).
M.FLAGS = {
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-extensions", "--disable-default-apps", "--mute-audio",
  "--window-size=1280,900",
}

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end
M.read_file = read_file

--- A fresh temporary directory (removed with remove_dir).
function M.temp_dir(tag)
  local p = io.popen("mktemp -d -t " .. shell_quote((tag or "cdp") .. ".XXXXXX"))
  local dir = p:read("*l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

function M.remove_dir(dir)
  if dir and dir:match("^/tmp/") then
    run("rm -rf " .. shell_quote(dir))
  end
end

--- True when Chromium is installed (an executable file).
function M.available()
  return run("test -x " .. shell_quote(M.EXECUTABLE) .. " -a -f " .. shell_quote(M.EXECUTABLE))
end

--- The base64 SHA-256 of a certificate's public key, as Chromium's
-- --ignore-certificate-errors-spki-list wants it: only a certificate
-- with this key is accepted despite its unknown CA.
function M.spki_hash(cert_file)
  local p = io.popen("openssl x509 -in " .. shell_quote(cert_file) .. " -pubkey -noout"
                     .. " | openssl pkey -pubin -outform der"
                     .. " | openssl dgst -sha256 -binary | base64")
  local hash = p:read("*l")
  p:close()
  assert(hash and #hash == 44, "cannot hash the public key of " .. cert_file)
  return hash
end

-- XOR of two bytes without bit operators (the same code on 5.1 to 5.4).
local function bxor(a, b)
  local r, bit = 0, 1
  while a > 0 or b > 0 do
    local x, y = a % 2, b % 2
    if x ~= y then
      r = r + bit
    end
    a, b, bit = (a - x) / 2, (b - y) / 2, bit * 2
  end
  return r
end

local Conn = {}
Conn.__index = Conn

-- Reads exactly n bytes before the deadline.
function Conn:read(n, deadline)
  local parts, got = {}, 0
  while got < n do
    local left = deadline - socket.gettime()
    if left <= 0 then
      error("DevTools: no answer in time", 0)
    end
    self.sock:settimeout(left)
    local data, err, partial = self.sock:receive(n - got)
    data = data or partial
    if data and #data > 0 then
      parts[#parts + 1] = data
      got = got + #data
    end
    if err and err ~= "timeout" then
      error("DevTools connection: " .. err, 0)
    end
  end
  return table.concat(parts)
end

-- Sends one WebSocket frame (client frames are masked, RFC 6455 5.3).
function Conn:frame(opcode, payload)
  local n = #payload
  local head = { string.char(0x80 + opcode) }
  if n < 126 then
    head[2] = string.char(0x80 + n)
  elseif n < 65536 then
    head[2] = string.char(0x80 + 126, math.floor(n / 256), n % 256)
  else
    local b = {}
    for i = 8, 1, -1 do
      b[i] = n % 256
      n = math.floor(n / 256)
    end
    head[2] = string.char(0x80 + 127, (table.unpack or unpack)(b)) -- luacheck: ignore
  end
  local key = { math.random(0, 255), math.random(0, 255), math.random(0, 255),
                math.random(0, 255) }
  head[3] = string.char(key[1], key[2], key[3], key[4])
  local masked = {}
  for i = 1, #payload do
    masked[i] = string.char(bxor(payload:byte(i), key[(i - 1) % 4 + 1]))
  end
  local data = table.concat(head) .. table.concat(masked)
  self.sock:settimeout(10)
  local ok, err = self.sock:send(data)
  if not ok then
    error("DevTools connection: " .. tostring(err), 0)
  end
end

-- The next text message (fragments joined, pings answered).
function Conn:message(deadline)
  local parts = {}
  while true do
    local h = self:read(2, deadline)
    local b1, b2 = h:byte(1, 2)
    local fin, opcode = b1 >= 128, b1 % 16
    local n = b2 % 128
    if n == 126 then
      local e = self:read(2, deadline)
      n = e:byte(1) * 256 + e:byte(2)
    elseif n == 127 then
      local e = self:read(8, deadline)
      n = 0
      for i = 1, 8 do
        n = n * 256 + e:byte(i)
      end
    end
    local payload = n > 0 and self:read(n, deadline) or ""
    if opcode == 8 then
      error("DevTools: the browser closed the connection", 0)
    elseif opcode == 9 then
      self:frame(10, payload)
    elseif opcode == 1 or opcode == 0 then
      parts[#parts + 1] = payload
      if fin then
        return table.concat(parts)
      end
    end
  end
end

local function connect(port, path, deadline)
  local sock = assert(socket.tcp())
  sock:settimeout(math.max(0.1, deadline - socket.gettime()))
  assert(sock:connect("127.0.0.1", port))
  local key = core.base64_encode(string.char(math.random(0, 255), math.random(0, 255),
                                             math.random(0, 255), math.random(0, 255)):rep(4))
  assert(sock:send("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1:" .. port
                   .. "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   .. "Sec-WebSocket-Key: " .. key .. "\r\nSec-WebSocket-Version: 13\r\n\r\n"))
  local status = assert(sock:receive("*l"))
  if not status:match("^HTTP/1%.1 101") then
    error("DevTools: WebSocket handshake refused: " .. status, 0)
  end
  repeat
    local line = assert(sock:receive("*l"))
  until line == ""
  return setmetatable({ sock = sock }, Conn)
end

local Browser = {}
Browser.__index = Browser

local Session = {}
Session.__index = Session

--- Starts Chromium. opts: lifetime (seconds, default 120), pin (a
-- certificate file whose key is accepted, see spki_hash), downloads (a
-- directory for downloads), log (the file for Chromium's own output).
function M.launch(opts)
  opts = opts or {}
  local self = setmetatable({ events = {}, next_id = 0 }, Browser)
  self.profile = M.temp_dir("sandbox-page-profile")
  local flags = {}
  for i, f in ipairs(M.FLAGS) do
    flags[i] = f
  end
  flags[#flags + 1] = "--user-data-dir=" .. self.profile
  flags[#flags + 1] = "--remote-debugging-port=0"
  if opts.pin then
    flags[#flags + 1] = "--ignore-certificate-errors-spki-list=" .. M.spki_hash(opts.pin)
  end
  local quoted = {}
  for i, f in ipairs(flags) do
    quoted[i] = shell_quote(f)
  end
  local log = opts.log or (self.profile .. ".log")
  self.log = log
  local cmd = "timeout -k 5 " .. (opts.lifetime or 120) .. " " .. shell_quote(M.EXECUTABLE)
              .. " " .. table.concat(quoted, " ") .. " about:blank >"
              .. shell_quote(log) .. " 2>&1 </dev/null & echo $!"
  local p = io.popen(cmd)
  self.pid = tonumber(p:read("*l"))
  p:close()
  assert(self.pid, "could not start " .. M.EXECUTABLE)

  -- DevToolsActivePort: the port, then the browser's WebSocket path
  local deadline = socket.gettime() + 30
  local port, path
  repeat
    local text = read_file(self.profile .. "/DevToolsActivePort")
    if text then
      port, path = text:match("^(%d+)\n(%S+)")
    end
    if not port then
      if socket.gettime() > deadline then
        self:close()
        error("Chromium did not open its DevTools port within 30 s; its output: "
              .. (read_file(log) or ""):sub(-2000), 0)
      end
      socket.sleep(0.1)
    end
  until port
  self.conn = connect(tonumber(port), path, deadline)
  if opts.downloads then
    self:call("Browser.setDownloadBehavior", {
      behavior = "allow", downloadPath = opts.downloads, eventsEnabled = true,
    })
  end
  return self
end

--- Sends a command and returns its result; errors carry the browser's
-- message. session: a session id, nil for the browser itself.
function Browser:call(method, params, session, timeout)
  self.next_id = self.next_id + 1
  local id = self.next_id
  self.conn:frame(1, json.encode({ id = id, method = method, params = params or {},
                                   sessionId = session }))
  local deadline = socket.gettime() + (timeout or 20)
  while true do
    local msg = json.decode(self.conn:message(deadline))
    if msg.id == id then
      if msg.error then
        error(method .. ": " .. tostring(msg.error.message), 0)
      end
      return msg.result
    elseif msg.method then
      self.events[#self.events + 1] = msg
    end
  end
end

--- Waits for an event `method` (of `session` when given) for which
-- pred(params) holds (any, without pred); returns its params. Events
-- already received count, and the one returned is consumed.
function Browser:wait(method, pred, session, timeout)
  local deadline = socket.gettime() + (timeout or 20)
  local function matches(e)
    return e.method == method and (session == nil or e.sessionId == session)
           and (pred == nil or pred(e.params))
  end
  for i, e in ipairs(self.events) do
    if matches(e) then
      table.remove(self.events, i)
      return e.params
    end
  end
  while true do
    local ok, text = pcall(self.conn.message, self.conn, deadline)
    if not ok then
      error("waiting for " .. method .. ": " .. tostring(text), 0)
    end
    local e = json.decode(text)
    if e.method then
      if matches(e) then
        return e.params
      end
      self.events[#self.events + 1] = e
    end
  end
end

--- A new page (tab) showing `url` once loaded: a session.
function Browser:open(url)
  local target = self:call("Target.createTarget", { url = "about:blank" }).targetId
  local sid = self:call("Target.attachToTarget", { targetId = target, flatten = true }).sessionId
  local page = setmetatable({ browser = self, id = sid, target = target }, Session)
  page:call("Page.enable")
  page:call("DOM.enable")
  page:call("Runtime.enable")
  -- frames in other processes (sandboxed iframes are) become sessions too
  page:call("Target.setAutoAttach", { autoAttach = true, waitForDebuggerOnStart = false,
                                      flatten = true })
  if url then
    page:go(url)
  end
  return page
end

function Session:call(method, params, timeout)
  return self.browser:call(method, params, self.id, timeout)
end

function Session:wait(method, pred, timeout)
  return self.browser:wait(method, pred, self.id, timeout)
end

--- Navigates and waits for the load event.
function Session:go(url)
  self.browser.events = {}
  local nav = self:call("Page.navigate", { url = url })
  if nav.errorText then
    error("cannot load " .. url .. ": " .. nav.errorText, 0)
  end
  self:wait("Page.loadEventFired", nil, 30)
end

--- The session of a frame of this page living in another process (a
-- sandboxed iframe does), attached since the last navigation; `pred`
-- picks it by its target info ({type, url, ...}).
function Session:frame(pred)
  local e = self:wait("Target.attachedToTarget", function(p)
    return p.targetInfo.type == "iframe" and (pred == nil or pred(p.targetInfo))
  end)
  return setmetatable({ browser = self.browser, id = e.sessionId,
                        target = e.targetInfo.targetId, info = e.targetInfo }, Session)
end

--- Evaluates a JavaScript expression in the page (not in its frames) and
-- returns its value.
function Session:eval(expression)
  local r = self:call("Runtime.evaluate", { expression = expression, returnByValue = true })
  if r.exceptionDetails then
    error("evaluating " .. expression .. ": " .. tostring(r.exceptionDetails.text), 0)
  end
  return r.result.value
end

--- A real mouse click on the middle of the element with this node id.
function Session:click(node)
  self:call("DOM.scrollIntoViewIfNeeded", { nodeId = node })
  local q = self:call("DOM.getContentQuads", { nodeId = node }).quads[1]
  local x = (q[1] + q[3] + q[5] + q[7]) / 4
  local y = (q[2] + q[4] + q[6] + q[8]) / 4
  for _, kind in ipairs({ "mousePressed", "mouseReleased" }) do
    self:call("Input.dispatchMouseEvent", { type = kind, x = x, y = y, button = "left",
                                            clickCount = 1 })
  end
end

--- The PNG screenshot of the page, as bytes.
function Session:screenshot(full)
  local params = { format = "png" }
  if full then
    params.captureBeyondViewport = true
    local m = self:call("Page.getLayoutMetrics")
    local size = m.cssContentSize or m.contentSize
    params.clip = { x = 0, y = 0, width = size.width, height = math.min(size.height, 4000),
                    scale = 1 }
  end
  return core.base64_decode(self:call("Page.captureScreenshot", params).data)
end

--- Ends the browser: Browser.close, then the process if it lingers.
function Browser:close()
  if self.conn then
    pcall(self.call, self, "Browser.close", nil, nil, 5)
    pcall(self.conn.sock.close, self.conn.sock)
    self.conn = nil
  end
  if self.pid then
    for _ = 1, 50 do
      if not run("kill -0 " .. self.pid .. " 2>/dev/null") then
        break
      end
      socket.sleep(0.1)
    end
    run("kill " .. self.pid .. " 2>/dev/null")
    self.pid = nil
  end
  M.remove_dir(self.profile)
  os.remove(self.profile .. ".log")
end

return M
