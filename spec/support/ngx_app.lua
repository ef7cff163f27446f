-- Runs examples/openresty/nginx.conf (the README's configuration) as a
-- real nginx with several workers, pointed at the sandbox, plus the test
-- locations of spec/support/ngx_locations.conf, the way the README says:
-- on the tree of `make install-jit` (here in build/ngx-tree), started with
-- `nginx -p DIR -c CONF`. Only what a test must change is replaced (the
-- README's OpenResty section lists it): the tree's path, the number of
-- workers, the port, the CA bundle (the sandbox's) and the placeholder
-- for other locations (the test locations).
local sandbox = require "support.sandbox"
local own_port = require "support.own_port"

local M = {}

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Replaces `from` by `to` in text, exactly once, or fails: the README's
-- configuration and this harness must not drift apart.
local function replace_once(text, from, to)
  local i, j = text:find(from, 1, true)
  assert(i, "examples/openresty/nginx.conf no longer contains: " .. from)
  assert(not text:find(from, j + 1, true), "found twice: " .. from)
  return text:sub(1, i - 1) .. to .. text:sub(j + 1)
end

local function free_port()
  for port = 29000 + math.random(0, 400), 29999 do
    local _, busy = sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. port .. "'")
    if not busy then
      return port
    end
  end
  error("no free port")
end

-- make install-jit into build/ngx-tree, once per run
local tree
local function install_tree(root)
  if not tree then
    local t = root .. "/build/ngx-tree"
    sh("rm -rf '" .. t .. "'")
    local out, ok = sh("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT make -s --no-print-directory "
                       .. "install-jit PREFIX='" .. t .. "'")
    assert(ok, "make install-jit failed: " .. out)
    tree = t
  end
  return tree
end

-- Starts the example nginx on a free port; true once it answers with its
-- own workers only (otherwise it is stopped again, and false).
local function launch(root, dir, prefix, workers)
  sh("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "/conf'")
  local port = free_port()
  local conf = read("examples/openresty/nginx.conf")
  local n
  conf, n = conf:gsub("/opt/lua%-sendpulse/", prefix .. "/")
  assert(n >= 3, "examples/openresty/nginx.conf: /opt/lua-sendpulse/ is no longer the tree")
  conf = replace_once(conf, "worker_processes auto;", ("worker_processes %d;"):format(workers))
  conf = replace_once(conf, "lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;",
                      "lua_ssl_trusted_certificate " .. sandbox.ca .. ";")
  conf = replace_once(conf, "listen 127.0.0.1:8080 reuseport;",
                      ("listen 127.0.0.1:%d reuseport;"):format(port))
  conf = replace_once(conf, "# (your other locations)",
                      "include " .. root .. "/spec/support/ngx_locations.conf;")
  write(dir .. "/conf/nginx.conf", conf)

  -- (no LUA_PATH/LUA_CPATH: paths exported for Lua 5.4 would mislead LuaJIT)
  local out, ok = sh(("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT "
    .. "SENDPULSE_CLIENT_ID=%s SENDPULSE_CLIENT_SECRET=%s "
    .. "SENDPULSE_BASE_URL=%s nginx -p %s -c %s/conf/nginx.conf")
    :format(sandbox.client_id, sandbox.client_secret, sandbox.url, dir, dir))
  assert(ok, "nginx did not start: " .. out)
  M.dir, M.port = dir, port
  M.base = ("http://127.0.0.1:%d"):format(port)
  for _ = 1, 100 do
    local _, up = sh("curl -fsS --noproxy '*' -o /dev/null " .. M.base .. "/t/ping")
    if up then
      if own_port.check(dir .. "/nginx.pid", function()
        return sh("curl -sS --noproxy '*' -D - -o /dev/null " .. M.base .. "/t/ping")
          :match("[Xx]%-[Ww]orker:%s*(%d+)")
      end) then
        return true
      end
      M.stop()
      return false
    end
    sh("sleep 0.05")
  end
  error("nginx did not answer: " .. read(dir .. "/error.log"))
end

function M.start(workers)
  local root = sh("pwd"):gsub("%s+$", "")
  local dir = root .. "/build/ngx-app"
  -- an nginx a crashed run left behind would keep its workers forever
  sh("test -s '" .. dir .. "/nginx.pid' && kill -QUIT \"$(cat '" .. dir
     .. "/nginx.pid')\" && sleep 0.3")
  -- the previous run's log survives, for a failure found later: the last
  -- 20 are kept in build/ngx-app-logs (see M.error_lines)
  sh("mkdir -p '" .. root .. "/build/ngx-app-logs' && test -s '" .. dir .. "/error.log' && "
     .. "mv '" .. dir .. "/error.log' '" .. root .. "/build/ngx-app-logs/'$(date +%s%N)'.log'; "
     .. "ls -t '" .. root .. "/build/ngx-app-logs'/*.log | tail -n +21 | xargs -r rm -f")
  local prefix = install_tree(root)
  for _ = 1, 5 do
    if launch(root, dir, prefix, workers) then
      return M
    end
  end
  error("nginx did not get a port of its own in 5 tries")
end

function M.stop()
  if not M.dir then
    return
  end
  local pid = read(M.dir .. "/nginx.pid"):match("%d+")
  sh("kill -QUIT " .. pid)
  for _ = 1, 100 do
    local _, alive = sh("kill -0 " .. pid)
    if not alive then
      break
    end
    sh("sleep 0.05")
  end
  M.dir = nil
end

-- GET path; returns status, body, headers (lower-case names).
function M.get(path)
  local out = sh("curl -sS --noproxy '*' -D - '" .. M.base .. path .. "'")
  local head, body = out:match("^(.-)\r\n\r\n(.*)$")
  local status = tonumber(head:match("^HTTP/%S+ (%d+)"))
  local headers = {}
  for name, value in head:gmatch("\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return status, body, headers
end

-- n GETs of path at once (curl --parallel); returns a list of
-- { status, worker, seconds }.
function M.parallel(path, n)
  local urls = {}
  for i = 1, n do
    urls[i] = "'" .. M.base .. path .. (path:find("?", 1, true) and "&" or "?")
              .. "i=" .. i .. "'"
  end
  local out = sh("curl -sS --noproxy '*' -Z --parallel-max " .. n
    .. " -o /dev/null -w '%{http_code} %header{x-worker} %{time_total}\\n' "
    .. table.concat(urls, " "))
  local results = {}
  for status, worker, secs in out:gmatch("(%d+) (%d*) ([%d.]+)\n") do
    results[#results + 1] = { status = tonumber(status), worker = worker,
                              seconds = tonumber(secs) }
  end
  return results
end

-- Starts a GET in the background; returns a function that waits for it
-- and returns its status and seconds.
function M.background(path)
  local file = os.tmpname()
  sh("(curl -sS --noproxy '*' -o /dev/null -w '%{http_code} %{time_total}' '"
     .. M.base .. path .. "' > " .. file .. ") &")
  return function()
    for _ = 1, 200 do
      local s = read(file)
      local status, secs = s:match("^(%d+) ([%d.]+)$")
      if status then
        os.remove(file)
        return tonumber(status), tonumber(secs)
      end
      sh("sleep 0.05")
    end
    error("the background request did not finish")
  end
end

-- One GET with curl's own timing: status, seconds, headers.
function M.timed(path)
  local out = sh("curl -sS --noproxy '*' -o /dev/null -D - -w '\\n%{time_total}' '"
                 .. M.base .. path .. "'")
  local secs = tonumber(out:match("([%d.]+)%s*$"))
  local headers = {}
  for name, value in out:gmatch("\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return tonumber(out:match("^HTTP/%S+ (%d+)")), secs, headers
end

function M.error_log()
  return read(M.dir .. "/error.log")
end

-- The log lines that tell what went wrong ([error], [crit], [alert] and
-- Lua tracebacks), for a failing assertion's message.
function M.error_lines()
  local out = {}
  for line in (M.dir and read(M.dir .. "/error.log") or ""):gmatch("[^\n]+") do
    if line:find("%[error%]") or line:find("%[crit%]") or line:find("%[alert%]")
       or line:find("stack traceback") or line:find("^%s+") then
      out[#out + 1] = line
    end
  end
  return "\n--- nginx error.log ---\n" .. table.concat(out, "\n", math.max(1, #out - 30))
end

return M
