-- The Redis servers of the #redis specs (tools/redis-server-test), and
-- child processes that use them at the same time as the spec.
--
-- The shared servers come from the environment that `make test` exports
-- (SENDPULSE_REDIS_URL, SENDPULSE_REDIS_TLS_URL, SENDPULSE_REDIS_CA,
-- SENDPULSE_REDIS_OTHER_CA); without it, they are started here in
-- build/redis-spec and stopped by M.stop_own(). Servers a spec kills get a
-- directory of their own (M.private).
local core = require "sendpulse.core"

local M = {}

-- (the sanitizer run preloads ASan into this process: not into the
-- servers and children, which would report the shell's own leaks)
local function sh(cmd)
  local p = assert(io.popen("env -u LD_PRELOAD sh -c " .. ("'" .. cmd:gsub("'", "'\\''") .. "'")
                            .. " 2>&1"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end
M.sh = sh

local function parse_env(text)
  local env = {}
  for k, v in text:gmatch("(SENDPULSE_REDIS_[%w_]+)=([^\n]*)") do
    env[k] = v
  end
  return env
end

local own_started = false

--- The shared servers: { url, tls_url, ca, other_ca, password }.
function M.servers()
  if M._servers then
    return M._servers
  end
  local env = {
    SENDPULSE_REDIS_URL = os.getenv("SENDPULSE_REDIS_URL"),
    SENDPULSE_REDIS_TLS_URL = os.getenv("SENDPULSE_REDIS_TLS_URL"),
    SENDPULSE_REDIS_CA = os.getenv("SENDPULSE_REDIS_CA"),
    SENDPULSE_REDIS_OTHER_CA = os.getenv("SENDPULSE_REDIS_OTHER_CA"),
  }
  if not env.SENDPULSE_REDIS_URL or not env.SENDPULSE_REDIS_TLS_URL then
    local out, ok = sh("tools/redis-server-test start build/redis-spec")
    assert(ok, "tools/redis-server-test start failed: " .. out)
    env = parse_env(out)
    own_started = true
  end
  local s = {
    url = env.SENDPULSE_REDIS_URL,
    tls_url = env.SENDPULSE_REDIS_TLS_URL,
    ca = env.SENDPULSE_REDIS_CA,
    other_ca = env.SENDPULSE_REDIS_OTHER_CA,
  }
  s.password = s.url:match("^redis://:([^@]+)@")
  s.port = tonumber(s.url:match(":(%d+)$"))
  s.tls_port = tonumber(s.tls_url:match(":(%d+)$"))
  M._servers = s
  return s
end

--- Stops the shared servers if this process started them.
function M.stop_own()
  if own_started then
    sh("tools/redis-server-test stop build/redis-spec")
    own_started = false
    M._servers = nil
  end
end

--- A server of the spec's own (plain, with a password) in build/<name>,
-- which it may kill and revive: { url, port, password, kill(), revive(),
-- stop() }.
-- With tls, a TLS instance too: { tls_url, tls_port, ca, kill_tls() }.
function M.private(name, tls)
  local dir = "build/" .. name
  sh("tools/redis-server-test stop " .. dir)
  local out, ok = sh((tls and "" or "REDIS_TLS=0 ") .. "tools/redis-server-test start " .. dir)
  assert(ok, "tools/redis-server-test start failed: " .. out)
  local env = parse_env(out)
  local s = { url = env.SENDPULSE_REDIS_URL, dir = dir, tls_url = env.SENDPULSE_REDIS_TLS_URL,
              ca = env.SENDPULSE_REDIS_CA }
  s.password = s.url:match("^redis://:([^@]+)@")
  s.port = tonumber(s.url:match(":(%d+)$"))
  s.tls_port = s.tls_url and tonumber(s.tls_url:match(":(%d+)$"))
  function s.kill()
    local o, k = sh("tools/redis-server-test kill " .. dir)
    assert(k, o)
  end
  function s.kill_tls()
    local o, k = sh("tools/redis-server-test kill " .. dir .. " tls")
    assert(k, o)
  end
  function s.revive()
    local o, k = sh("tools/redis-server-test revive " .. dir)
    assert(k, o)
  end
  function s.stop()
    sh("tools/redis-server-test stop " .. dir)
  end
  return s
end

--- A raw connection to the shared plain server (db 0 unless told).
function M.raw(db)
  local s = M.servers()
  return assert(core.redis_connect{ host = "127.0.0.1", port = s.port,
                                    password = s.password, db = db })
end

--- A fresh account key, as the client makes them.
function M.account()
  return "sendpulse:" .. core.sha256_hex(core.random_hex(16))
end

-- The interpreter and module paths of this busted run, for children.
local function lua_command()
  local jit = rawget(_G, "jit")
  local lua = jit and "luajit" or "lua5.4"
  local cpath = jit and "./build-jit/?.so" or "./build/?.so"
  return ("env -u LUA_INIT LUA_PATH='./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;' "
          .. "LUA_CPATH='%s;;' %s spec/support/redis_child.lua"):format(cpath, lua)
end

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Starts children at once: each is { args = {...}, prefix = "faketime ..." }.
-- Returns a function that waits for them all and returns their outputs.
function M.spawn(children)
  local files = {}
  local cmds = {}
  for i, child in ipairs(children) do
    local out = os.tmpname()
    files[i] = out
    local args = {}
    for j, a in ipairs(child.args) do
      args[j] = quote(a)
    end
    cmds[i] = ("(%s %s %s > %s 2>&1; echo \"exit $?\" >> %s) &"):format(
      child.prefix or "", lua_command(), table.concat(args, " "), out, out)
  end
  sh(table.concat(cmds, "\n"))
  return function(timeout)
    local deadline = core.monotime() + (timeout or 60)
    local outputs = {}
    for i, file in ipairs(files) do
      while true do
        local f = io.open(file, "rb")
        local text = f and f:read("*a") or ""
        if f then
          f:close()
        end
        if text:find("exit %d+\n$") then
          outputs[i] = text
          os.remove(file)
          break
        end
        assert(core.monotime() < deadline, "a child did not finish: " .. text)
        core.sleep(0.05)
      end
    end
    return outputs
  end
end

--- Starts one child in the background; returns its pid (read from its
-- first output line, "pid N") and its output file.
function M.start_child(args)
  local out = os.tmpname()
  local qargs = {}
  for j, a in ipairs(args) do
    qargs[j] = quote(a)
  end
  sh(("(%s %s > %s 2>&1 &)"):format(lua_command(), table.concat(qargs, " "), out))
  local deadline = core.monotime() + 20
  while true do
    local f = io.open(out, "rb")
    local text = f and f:read("*a") or ""
    if f then
      f:close()
    end
    local pid = text:match("^pid (%d+)\n")
    if pid then
      return tonumber(pid), out
    end
    assert(core.monotime() < deadline, "the child did not start: " .. text)
    core.sleep(0.02)
  end
end

--- Waits until the file at path contains pattern (or fails after 20 s).
function M.wait_for(path, pattern)
  local deadline = core.monotime() + 20
  while true do
    local f = io.open(path, "rb")
    local text = f and f:read("*a") or ""
    if f then
      f:close()
    end
    if text:find(pattern) then
      return text
    end
    assert(core.monotime() < deadline, "waited in vain for " .. pattern
           .. " in: " .. text)
    core.sleep(0.02)
  end
end

return M
