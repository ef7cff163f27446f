-- The hosts of spec/fleet_spec.lua: child lua5.4 processes running
-- spec/support/fleet_child.lua against the sandbox, started together, and
-- what they printed, parsed.
local core = require "sendpulse.core"
local support = require "support.redis"

local M = {}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return ""
  end
  local s = f:read("*a")
  f:close()
  return s
end

-- (children run on Lua 5.4 and the 5.4 build whatever runs the spec)
local function command(args)
  local list = {}
  for k, v in pairs(args) do
    list[#list + 1] = quote(k .. "=" .. tostring(v))
  end
  table.sort(list)
  return "env -u LUA_INIT LUA_PATH='./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;' "
         .. "LUA_CPATH='./build/?.so;;' lua5.4 spec/support/fleet_child.lua "
         .. table.concat(list, " ")
end

--- What a child printed: { pid, wall, ok = { monotimes }, fails = { {kind,
-- retry_after, quota, at, message} }, store_errors = { {op, message} },
-- done = { ok, failed } or nil, exit = code or nil, text }.
function M.parse(text)
  local r = { ok = {}, fails = {}, store_errors = {}, text = text }
  for line in text:gmatch("[^\n]+") do
    local w, rest = line:match("^(%S+) ?(.*)$")
    if w == "pid" then
      r.pid = tonumber(rest)
    elseif w == "wall" then
      r.wall = tonumber(rest)
    elseif w == "ready" then
      r.ready = true
    elseif w == "ok" then
      r.ok[#r.ok + 1] = tonumber(rest)
    elseif w == "fail" then
      local kind, ra, quota, at, msg = rest:match("^(%S+) (%S+) (%S+) (%S+) ?(.*)$")
      r.fails[#r.fails + 1] = { kind = kind, retry_after = tonumber(ra), quota = quota,
                                at = tonumber(at), message = msg }
    elseif w == "store_error" then
      local op, msg = rest:match("^(%S+) ?(.*)$")
      r.store_errors[#r.store_errors + 1] = { op = op, message = msg }
    elseif w == "done" then
      local a, b = rest:match("^(%d+) (%d+)$")
      r.done = { ok = tonumber(a), failed = tonumber(b) }
    elseif w == "exit" then
      r.exit = tonumber(rest)
    end
  end
  return r
end

--- Starts children at once, each { args = { name = value }, prefix =
-- "faketime ..." }. Returns a fleet: fleet.wait(timeout) -> the parsed
-- outputs (failing when one does not finish in time), fleet.peek(i),
-- fleet.wait_ready(timeout) -> the pids.
function M.start(children)
  local files, cmds = {}, {}
  for i, child in ipairs(children) do
    local out = os.tmpname()
    files[i] = out
    -- (the subshell lets go of our pipe: it runs on after sh returns)
    cmds[i] = ("(%s %s > %s 2>&1; echo \"exit $?\" >> %s) > /dev/null 2>&1 &"):format(
      child.prefix or "", command(child.args), out, out)
  end
  support.sh(table.concat(cmds, "\n"))
  local fleet = { files = files }
  function fleet.peek(i)
    return M.parse(read(files[i]))
  end
  function fleet.wait_ready(timeout)
    local deadline = core.monotime() + (timeout or 20)
    local pids = {}
    for i in ipairs(files) do
      while true do
        local r = fleet.peek(i)
        if r.ready or r.exit then
          pids[i] = r.pid
          break
        end
        assert(core.monotime() < deadline, "a child did not get ready: " .. r.text)
        core.sleep(0.02)
      end
    end
    return pids
  end
  function fleet.wait(timeout)
    local deadline = core.monotime() + (timeout or 60)
    local outputs = {}
    for i, file in ipairs(files) do
      while true do
        local text = read(file)
        if text:find("exit %d+\n$") then
          outputs[i] = M.parse(text)
          os.remove(file)
          break
        end
        assert(core.monotime() < deadline, "a child did not finish: " .. text)
        core.sleep(0.05)
      end
    end
    return outputs
  end
  return fleet
end

--- The args every child of a spec shares, with `extra` over them.
function M.args(base, extra)
  local t = {}
  for k, v in pairs(base) do
    t[k] = v
  end
  for k, v in pairs(extra or {}) do
    t[k] = v
  end
  return t
end

--- Every child ended well (exit 0 and "done"); returns the total of calls
-- that succeeded and the list of failures.
function M.totals(outputs)
  local ok, fails = 0, {}
  for _, r in ipairs(outputs) do
    assert(r.exit == 0 and r.done, "a child failed:\n" .. r.text)
    ok = ok + #r.ok
    for _, f in ipairs(r.fails) do
      fails[#fails + 1] = f
    end
  end
  return ok, fails
end

--- From the sandbox's request log (entries with index > since): the API
-- requests' arrival times, sorted, and the most of them in any window of
-- `span` seconds (the sandbox's own count, over all requests, is
-- stats.peak_per_second).
function M.arrivals(entries, path)
  local times = {}
  for _, e in ipairs(entries) do
    if not path or e.path == path then
      times[#times + 1] = e.time
    end
  end
  table.sort(times)
  return times
end

--- The rate the arrivals kept: (n - 1) / (last - first).
function M.rate(times)
  if #times < 2 then
    return 0
  end
  return (#times - 1) / (times[#times] - times[1])
end

return M
