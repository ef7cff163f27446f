-- Starts and stops tools/latency-proxy for the specs (build/latency-proxy,
-- compiled here when missing or older than its source: the same command as
-- the Makefile's target).
local M = {}

M.binary = "build/latency-proxy"
M.source = "tools/latency-proxy.c"

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function sleep(s)
  sh("sleep " .. s)
end

function M.build()
  local _, fresh = sh("test -x " .. M.binary .. " -a " .. M.binary .. " -nt " .. M.source)
  if fresh then return end
  local out, ok = sh("mkdir -p build && ${CC:-cc} -std=gnu99 -O2 -Wall -Wextra -Werror -o "
                     .. M.binary .. " " .. M.source)
  assert(ok, "cannot build the latency proxy: " .. out)
end

-- Starts a proxy; args is the option string (e.g. "-t 127.0.0.1:1234 -d
-- 100"). Returns an object with port, url(scheme), stop() -> exit status,
-- stderr text; timeline() -> its -T file's text when asked for (opts.timeline).
function M.start(args, opts)
  M.build()
  opts = opts or {}
  local base = os.tmpname()
  local files = { port = base .. ".port", err = base .. ".err", pid = base .. ".pid",
                  rc = base .. ".rc", timeline = opts.timeline and base .. ".tl" or nil }
  os.remove(base)
  local cmd = M.binary .. " " .. args
  if files.timeline then cmd = cmd .. " -T " .. files.timeline end
  -- a subshell waits for the proxy to record its exit status
  sh(("(%s >%s 2>%s & echo $! >%s; wait $!; echo $? >%s) >/dev/null 2>&1 &")
     :format(cmd, files.port, files.err, files.pid, files.rc))
  local p = { files = files }
  for _ = 1, 100 do
    local port = (read(files.port) or ""):match("^(%d+)\n")
    local rc = read(files.rc)
    if port then
      p.port = tonumber(port)
      break
    end
    if rc and rc:match("%d") then
      error("the latency proxy did not start: " .. (read(files.err) or ""))
    end
    sleep(0.05)
  end
  assert(p.port, "the latency proxy printed no port")
  p.pid = tonumber(read(files.pid))

  function p.url(scheme)
    return (scheme or "https") .. "://127.0.0.1:" .. p.port
  end

  -- the -T file's text (kept once the proxy has stopped)
  function p.timeline()
    if p.stopped then return p.timeline_text end
    return files.timeline and read(files.timeline) or ""
  end

  -- TERM; waits for the exit; returns the exit status and stderr.
  function p.stop()
    if p.stopped then return p.status, p.stderr end
    sh("kill -TERM " .. p.pid)
    local rc
    for _ = 1, 100 do
      rc = (read(files.rc) or ""):match("(%d+)")
      if rc then break end
      sleep(0.05)
    end
    if not rc then
      sh("kill -KILL " .. p.pid)
    end
    p.stopped, p.status, p.stderr = true, tonumber(rc), read(files.err) or ""
    p.timeline_text = files.timeline and read(files.timeline) or ""
    for _, f in pairs(files) do os.remove(f) end
    return p.status, p.stderr
  end

  return p
end

-- Runs the proxy with these arguments to its end; returns the exit status
-- and stderr (for option errors).
function M.run(args)
  M.build()
  local out = sh("{ " .. M.binary .. " " .. args .. "; } 2>&1; echo \"rc=$?\"")
  return tonumber(out:match("rc=(%d+)")), out
end

return M
