-- A process of its own for spec/redis_spec.lua (started by support.redis):
-- another host of the fleet, using the same Redis as the spec.
--
--   reserve URL PREFIX KEY N START LIMITS
--       waits until core.monotime() >= START, makes N reservations with
--       the Redis pacer, prints "wall <its wall clock>", then one line
--       "d <delay> <due>" (due: when the send is due by the monotonic
--       clock) or "refused <retry_after> <name>" per reservation.
--       LIMITS: "w:10:1.02,w:1000:3600,d:5:hard" (window count:seconds,
--       day count, ":hard")
--   hold-lock URL PREFIX KEY LOCK_TTL
--       prints "pid N", takes the store's lock, prints "locked" and sleeps
--       until killed
--   lock-set-hold URL PREFIX KEY TOKEN AFTER HOLD
--       prints "pid N", takes the lock, prints "locked", sets TOKEN after
--       AFTER seconds (prints "set"), holds the lock HOLD seconds more,
--       unlocks and prints "unlocked"
local core = require "sendpulse.core"
local stores_redis = require "sendpulse.stores.redis"
local pacers_redis = require "sendpulse.pacers.redis"

io.stdout:setvbuf("line")

local mode, url, prefix, key = arg[1], arg[2], arg[3], arg[4]

local function limits_of(spec)
  local limits = {}
  for item in spec:gmatch("[^,]+") do
    local kind, count, rest = item:match("^(%a):(%d+):?(.*)$")
    local l = { count = tonumber(count) }
    if kind == "d" then
      l.per = "day"
      l.hard = rest == "hard"
    else
      local window, hard = rest:match("^([%d.]+):?(%a*)$")
      l.window = tonumber(window)
      l.hard = hard == "hard"
    end
    limits[#limits + 1] = l
  end
  return limits
end

if mode == "reserve" then
  local n, start, limits = tonumber(arg[5]), tonumber(arg[6]), limits_of(arg[7])
  local pacer = pacers_redis.new{ url = url, prefix = prefix, timeout = 5,
                                  reserve_ahead = 3600 }
  assert(pacer:reserve("sendpulse:warm-up", 1000, 1))   -- connected
  while core.monotime() < start do
    core.sleep(0.001)
  end
  local lines = { ("wall %.3f"):format(core.walltime()) }
  for _ = 1, n do
    local delay, retry_after, name = pacer:reserve(key, nil, nil, limits)
    if delay == false then
      lines[#lines + 1] = ("refused %.6f %s"):format(retry_after, name)
    else
      assert(delay, retry_after)
      -- when the send is due, by the monotonic clock all processes share
      lines[#lines + 1] = ("d %.6f %.6f"):format(delay, core.monotime() + delay)
    end
  end
  print(table.concat(lines, "\n"))
elseif mode == "hold-lock" then
  local store = stores_redis.new{ url = url, prefix = prefix,
                                  lock_ttl = tonumber(arg[5]) }
  print("pid " .. core.getpid())
  assert(store:lock(key) == true)
  print("locked")
  core.sleep(3600)
elseif mode == "lock-set-hold" then
  local store = stores_redis.new{ url = url, prefix = prefix }
  print("pid " .. core.getpid())
  assert(store:lock(key) == true)
  print("locked")
  core.sleep(tonumber(arg[6]))
  store:set(key, arg[5], core.walltime() + 60)
  print("set")
  core.sleep(tonumber(arg[7]))
  store:unlock(key)
  print("unlocked")
else
  error("unknown mode " .. tostring(mode))
end
