-- One host of a fleet for spec/fleet_spec.lua: a process of its own with a
-- SendPulse client on the sandbox, sharing a token store and a pacer with
-- the others (started by support.fleet). Its arguments are name=value:
--
--   base, ca         the sandbox's URL and CA file
--   id, secret       the OAuth credentials (the sandbox's by default)
--   store            "redis", "file" or "none"; pacer "redis" or "none"
--   redis            the Redis URL (store and pacer); prefix their key prefix
--   redis_timeout    seconds per Redis command (default 1)
--   lock_ttl         the Redis store's lock_ttl
--   dir              the file store's directory
--   n                calls to make; or duration, seconds of calls
--   start            core.monotime() at which to begin (all children share
--                    the monotonic clock, not the wall clock: one may run
--                    under faketime)
--   ua               the client's user_agent (the sandbox logs it: which
--                    host sent what)
--   rate_limit, fleet_size, quota_per_minute, quota_per_day, call_timeout,
--   max_retries      the client's options
--
-- It prints, a line each: "pid N", "wall <its wall clock>", "ready" (set
-- up, waiting for start), then per call "ok <monotime>" or
-- "fail <kind> <retry_after> <quota> <monotime> <message>", every
-- on_store_error as "store_error <operation> <message>", and at the end
-- "done <ok> <failed>".
local core = require "sendpulse.core"
local sendpulse = require "sendpulse"

io.stdout:setvbuf("line")

local o = {}
for i = 1, #arg do
  local k, v = arg[i]:match("^([%w_]+)=(.*)$")
  assert(k, "bad argument: " .. arg[i])
  o[k] = v
end

local function num(name)
  return o[name] and assert(tonumber(o[name]), name)
end

print("pid " .. core.getpid())
print(("wall %.3f"):format(core.walltime()))

local store, pacer
if o.store == "redis" then
  store = sendpulse.stores.redis{ url = o.redis, prefix = o.prefix, timeout = num("redis_timeout"),
                                  lock_ttl = num("lock_ttl") }
elseif o.store == "file" then
  store = sendpulse.stores.file(o.dir)
end
if o.pacer == "redis" then
  pacer = sendpulse.pacers.redis{ url = o.redis, prefix = o.prefix,
                                  timeout = num("redis_timeout") }
end

local client = sendpulse.new{
  client_id = o.id or "sandbox-client-id",
  client_secret = o.secret or "sandbox-client-secret",
  base_url = o.base, ca_file = o.ca, user_agent = o.ua,
  token_store = store, pacer = pacer,
  rate_limit = num("rate_limit"), fleet_size = num("fleet_size"),
  quota_per_minute = num("quota_per_minute"), quota_per_day = num("quota_per_day"),
  call_timeout = num("call_timeout"), max_retries = num("max_retries"),
  retry_delay = 0.05,
  on_store_error = function(operation, message)
    print(("store_error %s %s"):format(operation, (message:gsub("\n", " "))))
  end,
}

print("ready")
local start = num("start") or core.monotime()
while core.monotime() < start do
  core.sleep(0.001)
end

local n, duration = num("n"), num("duration")
local ok, failed, i = 0, 0, 0
while true do
  i = i + 1
  if n and i > n then
    break
  end
  if duration and core.monotime() >= start + duration then
    break
  end
  local res, err = client:get("/user/info")
  if res then
    ok = ok + 1
    print(("ok %.6f"):format(core.monotime()))
  else
    failed = failed + 1
    print(("fail %s %s %s %.6f %s"):format(err.kind, tostring(err.retry_after),
          tostring(err.quota), core.monotime(), (tostring(err.message):gsub("\n", " "))))
  end
end
print(("done %d %d"):format(ok, failed))
