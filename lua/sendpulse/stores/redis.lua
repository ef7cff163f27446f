--- A token store in Redis: one OAuth token for a fleet of hosts.
--
-- The token is kept under `<prefix>{<key>}:token` with a TTL of its
-- remaining life, so Redis drops it when it expires; a reader derives the
-- expiry from that TTL, not from the writer's clock. A missing token is
-- fetched by one host: the lock `<prefix>{<key>}:lock` is taken with
-- `SET NX PX` and a random value; the others poll it and come back as soon
-- as it is theirs or a new token is there. The lock expires after
-- `lock_ttl` seconds, so a holder that dies delays nobody for longer. The
-- token and the lock are released by compare-and-delete scripts: a host
-- whose view is stale never deletes a fresh token or another host's lock.
--
-- The methods raise when Redis fails; the client then keeps its own token
-- and reports the failure through `on_store_error`. See docs/redis.md.
-- @module sendpulse.stores.redis
local core = require "sendpulse.core"
local redis = require "sendpulse.redis"

local error = error
local ipairs = ipairs
local math_ceil = math.ceil
local math_floor = math.floor
local setmetatable = setmetatable
local tonumber = tonumber
local tostring = tostring
local type = type

local walltime = core.walltime
local random_hex = core.random_hex

local WHO = "sendpulse.stores.redis"

local _M = {}

_M.DEFAULT_LOCK_TTL = 10       -- seconds a lock lives unless released
_M.LOCK_TIMEOUT_MARGIN = 5     -- a waiter waits lock_ttl + 5 s at most,
                               -- so a dead holder's lock expires first

local POLL_FIRST = 0.005       -- waiters poll the lock at 5 ms, doubling
local POLL_MAX = 0.05          -- up to 50 ms

-- KEYS[1] the token -> false, or { token, milliseconds it still lives }
local GET = redis.script [[
local token = redis.call('GET', KEYS[1])
if not token then
  return false
end
return { token, redis.call('PTTL', KEYS[1]) }
]]

-- KEYS[1] a key, ARGV[1] a value: deletes the key only if it still holds
-- that value. Returns 1 when deleted, 0 otherwise.
local COMPARE_DELETE = redis.script [[
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
]]

-- KEYS[1] the lock, KEYS[2] the token; ARGV[1] this holder's random value,
-- ARGV[2] the lock's life in milliseconds, ARGV[3] the token the caller
-- found unusable ("" for none). Returns 1: the lock is ours (also when it
-- already was: a command resent after a lost reply); 2: another token has
-- arrived meanwhile; 0: someone else holds the lock.
local LOCK = redis.script [[
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return 1
end
local token = redis.call('GET', KEYS[2])
if token and token ~= ARGV[3] then
  return 2
end
return 0
]]

_M.scripts = { get = GET, compare_delete = COMPARE_DELETE, lock = LOCK }

local Store = {}
Store.__index = Store

local function check(name, v, want)
  if type(v) ~= want then
    error(WHO .. ": bad argument '" .. name .. "' (a " .. want
          .. " expected, got " .. type(v) .. ")", 3)
  end
end

local function fail(err)
  error(WHO .. ": " .. err, 0)
end

function Store:__tostring()
  return "sendpulse.stores.redis (" .. tostring(self.redis) .. ")"
end

--- The token stored for `key` and its expiry (epoch seconds by this
-- host's clock), or nil.
function Store:get(key)
  check("key", key, "string")
  local res, err = self.redis:eval(GET, 1, self.redis:key(key, "token"))
  if res == nil then
    fail(err)
  end
  local token, ttl
  if type(res) == "table" then
    token, ttl = res[1], tonumber(res[2])
  end
  -- what the caller saw: a token it refuses is not news to it in lock()
  self.seen[key] = type(token) == "string" and token or ""
  if type(token) ~= "string" or not ttl or ttl <= 0 then
    return nil       -- missing, or written without a TTL by someone else
  end
  return token, walltime() + ttl / 1000
end

--- Stores the token until `expires_at` (epoch seconds).
function Store:set(key, token, expires_at)
  check("key", key, "string")
  check("token", token, "string")
  check("expires_at", expires_at, "number")
  local ttl = math_floor((expires_at - walltime()) * 1000)
  if ttl <= 0 then
    return
  end
  local res, err = self.redis:call("SET", self.redis:key(key, "token"), token,
                                   "PX", ttl)
  if res == nil then
    fail(err)
  end
  self.seen[key] = token
end

--- Deletes the token if it is still `token` (any token when nil).
function Store:delete(key, token)
  check("key", key, "string")
  if token ~= nil then
    check("token", token, "string")
  end
  local k = self.redis:key(key, "token")
  local res, err
  if token == nil then
    res, err = self.redis:call("DEL", k)
  else
    res, err = self.redis:eval(COMPARE_DELETE, 1, k, token)
  end
  if res == nil then
    fail(err)
  end
end

--- Takes the fetch lock for `key`, waiting for it up to `lock_timeout`.
-- @return true when it is ours, or when a new token arrived while waiting
--   (the caller reads it again); false when the wait timed out (the
--   caller then fetches anyway)
function Store:lock(key)
  check("key", key, "string")
  local r = self.redis
  local lock_key, token_key = r:key(key, "lock"), r:key(key, "token")
  local value = random_hex(16)
  local seen = self.seen[key] or ""
  local deadline = core.monotime() + self.lock_timeout
  local step = POLL_FIRST
  while true do
    local res, err = r:eval(LOCK, 2, lock_key, token_key, value,
                            self.lock_ttl_ms, seen)
    if res == nil then
      fail(err)
    end
    if res == 1 then
      self.held[key] = value
      return true
    elseif res == 2 then
      -- not ours: the caller's unlock must not release a lock of this
      -- store that another caller holds
      self.borrowed[key] = (self.borrowed[key] or 0) + 1
      return true
    end
    local left = deadline - core.monotime()
    if left <= 0 then
      return false
    end
    redis.sleep(step < left and step or left)
    step = step * 2 < POLL_MAX and step * 2 or POLL_MAX
  end
end

--- Releases the lock for `key` if this store holds it.
function Store:unlock(key)
  check("key", key, "string")
  local borrowed = self.borrowed[key]
  if borrowed then
    self.borrowed[key] = borrowed > 1 and borrowed - 1 or nil
    return
  end
  local value = self.held[key]
  if not value then
    return
  end
  self.held[key] = nil
  local res, err = self.redis:eval(COMPARE_DELETE, 1,
                                   self.redis:key(key, "lock"), value)
  if res == nil then
    fail(err)     -- the lock expires by itself after lock_ttl
  end
end

--- Closes the connection (it reopens when used again).
function Store:close()
  self.redis:close()
end

--- A token store in Redis.
-- @tparam table opts `url` (`redis://[[user]:password@]host[:port][/db]`,
--   `rediss://` for TLS) or `host`, and `port`, `username`, `password`,
--   `db`, `tls`, `ca_file`, `server_name`, `timeout` (seconds per command,
--   default 1), `prefix` (before the keys, default ""), `lock_ttl`
--   (default 10 s), `lock_timeout` (default lock_ttl + 5 s), `pool_size` and
--   `keepalive` (nginx's connection pool)
-- @treturn table the store, for `sendpulse.new{ store = ... }`
-- @raise naming the option when one is wrong
function _M.new(opts)
  local settings = redis.options(WHO, opts, { lock_ttl = true,
                                              lock_timeout = true })
  for _, name in ipairs{ "lock_ttl", "lock_timeout" } do
    local v = opts[name]
    if v ~= nil and (type(v) ~= "number" or not (v >= 0.01 and v <= 86400)) then
      error(WHO .. ": bad argument '" .. name .. "' (a number of seconds from "
            .. "0.01 to 86400 expected, got " .. (type(v) == "number"
            and tostring(v) or type(v)) .. ")", 2)
    end
  end
  local lock_ttl = opts.lock_ttl or _M.DEFAULT_LOCK_TTL
  return setmetatable({
    redis = redis.new(settings),
    lock_ttl_ms = math_ceil(lock_ttl * 1000),
    lock_timeout = opts.lock_timeout or lock_ttl + _M.LOCK_TIMEOUT_MARGIN,
    held = {},        -- key -> the random value of a lock we hold
    borrowed = {},    -- key -> lock() calls that returned for a new token
    seen = {},        -- key -> the token get() last returned ("" none)
  }, Store)
end

return _M
