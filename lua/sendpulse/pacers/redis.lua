--- A pacer in Redis: one rate budget for a fleet of hosts.
--
-- Every reservation runs one script in Redis, timed by Redis's own clock
-- (`TIME`), never by the hosts', which drift. The sliding windows are
-- exact: the script keeps the reserved send times of the account's last
-- sends (a list, `<prefix>{<key>}:pace`) and gives the next send the slot
-- `max(now, the count-th latest + window)` for every window, the same
-- arithmetic as the core's in-process pacer, so a burst of `count` goes at
-- once and `count + 1` never fall in one window. The UTC day is a counter
-- (`<prefix>{<key>}:day`). A `hard` limit that is spent refuses instead of
-- making the caller wait. See docs/redis.md.
-- @module sendpulse.pacers.redis
local core = require "sendpulse.core"
local redis = require "sendpulse.redis"

local error = error
local ipairs = ipairs
local math_ceil = math.ceil
local math_floor = math.floor
local setmetatable = setmetatable
local string_format = string.format
local tostring = tostring
local type = type
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

local monotime = core.monotime

local WHO = "sendpulse.pacers.redis"

local _M = {}

_M.MAX_COUNT = 100000    -- the send log holds at most this many times
_M.DEFAULT_RESERVE_AHEAD = 0.1   -- seconds before its time a slot is taken

--[[
  KEYS[1]  the send log: reserved send times, integer microseconds by
           Redis's clock, oldest first
  KEYS[2]  the day count: a hash, d = the UTC day number, n = the sends
           reserved for that day
  ARGV[1]  the number of limits, then four values for each:
           kind ("w": at most count in any window; "d": per UTC day),
           count, window in microseconds ("0" for "d"), hard ("1" or "0");
           then, optionally, the most microseconds ahead a slot is taken
  Returns  { 0, the microseconds to wait before sending, the slot as
           stored in the log } (the slot is taken); { -1, microseconds
           until the slot } when it is further ahead than allowed
           (nothing is taken: ask again nearer the time); or { i,
           microseconds until it renews } when the hard limit i is spent
           (nothing is taken).
  The log is never trimmed below its length, nor its TTL shortened: hosts
  configured with other limits still find the sends they count.
]]
local RESERVE = redis.script [[
if redis.replicate_commands then
  redis.replicate_commands()
end
local log, day = KEYS[1], KEYS[2]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local nlimits = tonumber(ARGV[1])
local len = redis.call('LLEN', log)
local slot = now
if len > 0 then
  local last = tonumber(redis.call('LINDEX', log, -1))
  if last > slot then
    slot = last
  end
end
local keep, longest = 0, 0
local hard_free = {}
for i = 1, nlimits do
  local b = 2 + (i - 1) * 4
  if ARGV[b] == 'w' then
    local count, window = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
    if count > keep then
      keep = count
    end
    if window > longest then
      longest = window
    end
    if len >= count then
      local free = tonumber(redis.call('LINDEX', log, len - count)) + window
      if ARGV[b + 3] == '1' then
        hard_free[i] = free
      elseif free > slot then
        slot = free
      end
    end
  end
end
for i = 1, nlimits do
  if hard_free[i] and hard_free[i] > slot then
    return { i, hard_free[i] - now }
  end
end
local DAY = 86400000000
local dn = math.floor(slot / DAY)
local stored = redis.call('HMGET', day, 'd', 'n')
local n = 0
if tonumber(stored[1]) == dn then
  n = tonumber(stored[2]) or 0
end
for i = 1, nlimits do
  local b = 2 + (i - 1) * 4
  if ARGV[b] == 'd' and n >= tonumber(ARGV[b + 1]) then
    if ARGV[b + 3] == '1' then
      return { i, (dn + 1) * DAY - now }
    end
    dn = dn + 1
    slot = dn * DAY
    n = 0
  end
end
local ahead = tonumber(ARGV[2 + nlimits * 4])
if ahead and slot - now > ahead then
  return { -1, slot - now }
end
redis.call('HSET', day, 'd', dn, 'n', n + 1)
redis.call('PEXPIREAT', day, (dn + 2) * 86400000)
local slot_s = string.format('%.0f', slot)
if keep > 0 or len > 0 then
  redis.call('RPUSH', log, slot_s)
  local target = keep > len and keep or len
  if len + 1 > target then
    redis.call('LTRIM', log, -target, -1)
  end
  local ttl = math.ceil((slot - now + longest) / 1000) + 1000
  if redis.call('PTTL', log) < ttl then
    redis.call('PEXPIRE', log, ttl)
  end
end
return { 0, slot - now, slot_s }
]]

--[[
  KEYS[1]  the send log
  ARGV[1]  a slot as RESERVE stored it, ARGV[2] microseconds its request
           left late
  The slot's entry (looked for among the latest 256) moves later by that
  much, the log kept sorted: the sends counted after it count from when
  it really left. Returns 1 when moved, 0 when the entry is gone.
]]
local LATE = redis.script [[
local log, slot, late = KEYS[1], ARGV[1], tonumber(ARGV[2])
local len = redis.call('LLEN', log)
local from = len > 256 and len - 256 or 0
local items = redis.call('LRANGE', log, from, -1)
for i = #items, 1, -1 do
  if items[i] == slot then
    local v = tonumber(slot) + late
    local j = i
    while j < #items and tonumber(items[j + 1]) < v do
      redis.call('LSET', log, from + j - 1, items[j + 1])
      j = j + 1
    end
    redis.call('LSET', log, from + j - 1, string.format('%.0f', v))
    local ttl = redis.call('PTTL', log)
    if ttl > 0 then
      redis.call('PEXPIRE', log, ttl + math.ceil(late / 1000))
    end
    return 1
  end
end
return 0
]]

_M.scripts = { reserve = RESERVE, late = LATE }

-- A request that leaves later than its slot by more than this (a new
-- connection's TLS handshake, a busy host) has its slot moved: the
-- windows' slack (20 ms a second) absorbs less.
_M.LATE_MIN = 0.002
-- ... and by at most this much (a request stuck longer is not the fleet's
-- to wait for)
_M.LATE_MAX = 0.5

local Pacer = {}
Pacer.__index = Pacer

function Pacer:__tostring()
  return "sendpulse.pacers.redis (" .. tostring(self.redis) .. ")"
end

-- (a number out of range is shown, any other value only by its type)
local function bad(name, want, v, show)
  error(string_format("%s: bad argument '%s' to reserve (%s expected, got %s)",
        WHO, name, want, show and type(v) == "number" and tostring(v)
        or type(v)), 4)
end

local function limit_name(l)
  if l.name then
    return l.name
  end
  if l.per == "day" then
    return "per_day"
  end
  return string_format("%d per %g s", l.count, l.window)
end

-- The script's arguments for a list of limits, and their names.
local function encode(limits)
  if type(limits) ~= "table" or #limits == 0 then
    bad("limits", "a non-empty list of limits", limits)
  end
  local args, names = { #limits }, {}
  for i, l in ipairs(limits) do
    if type(l) ~= "table" then
      bad("limits[" .. i .. "]", "a table", l)
    end
    local count = l.count
    if type(count) ~= "number" or count ~= math_floor(count) or count < 1
       or count > (l.per == "day" and 2 ^ 50 or _M.MAX_COUNT) then
      bad("limits[" .. i .. "].count", "a positive integer", count, true)
    end
    if l.hard ~= nil and type(l.hard) ~= "boolean" then
      bad("limits[" .. i .. "].hard", "a boolean", l.hard)
    end
    if l.name ~= nil and type(l.name) ~= "string" then
      bad("limits[" .. i .. "].name", "a string", l.name)
    end
    local kind, window
    if l.per ~= nil then
      if l.per ~= "day" then
        bad("limits[" .. i .. "].per", "\"day\"", l.per)
      end
      kind, window = "d", 0
    else
      local w = l.window
      if type(w) ~= "number" or not (w > 0 and w <= 86400 * 7) then
        bad("limits[" .. i .. "].window", "a number of seconds above 0", w,
            true)
      end
      kind, window = "w", math_ceil(w * 1e6)
    end
    local b = #args
    args[b + 1] = kind
    args[b + 2] = string_format("%d", count)
    args[b + 3] = string_format("%d", window)
    args[b + 4] = l.hard and "1" or "0"
    names[i] = limit_name(l)
  end
  return { args = args, names = names }
end

--- Reserves the next send slot for `key`. A slot is taken at most
-- `reserve_ahead` seconds before it is due: further ahead, nothing is
-- taken and the caller is told to ask again when it is near (the hosts
-- then take their slots in the order they will send, each counting from
-- the real send times of those before it, see `sent`).
-- @tparam string key the account (the client's store key)
-- @tparam number cap sends per `window` (used when `limits` is nil)
-- @tparam number window seconds
-- @tparam[opt] table limits `{ { count = 10, window = 1.02 }, { count = 1000,
--   window = 60 }, { count = 500000, per = "day", hard = true, name = ... } }`
-- @return the seconds to wait before sending and the slot's handle for
--   `sent` (the slot is taken); or the seconds to wait and false (no slot
--   taken: ask again then); or false, seconds until it renews and the
--   limit's name when a hard limit is spent; or nil and a message when
--   Redis failed
function Pacer:reserve(key, cap, window, limits)
  if type(key) ~= "string" then
    bad("key", "a string", key)
  end
  if limits == nil then
    if type(cap) ~= "number" then
      bad("cap", "a number", cap)
    end
    if type(window) ~= "number" then
      bad("window", "a number", window)
    end
    limits = { { count = cap, window = window } }
  end
  local enc = encode(limits)
  local r = self.redis
  local args = enc.args
  if self.ahead_us then
    args = { unpack(args) }
    args[#args + 1] = self.ahead_us
  end
  local res, err = r:eval(RESERVE, 2, r:key(key, "pace"), r:key(key, "day"),
                          unpack(args))
  if res == nil then
    return nil, WHO .. ": " .. err
  end
  if type(res) == "table" and res[1] == -1 and type(res[2]) == "number" then
    -- not taken: ask again when the slot is within reach
    local wait = (res[2] - self.ahead_us) / 1e6
    return wait > 0 and wait or 0, false
  end
  if type(res) == "table" and res[1] == 0 and type(res[2]) == "number"
     and type(res[3]) == "string" then
    local delay = res[2] / 1e6
    return delay, { slot = res[3], due = monotime() + delay }
  end
  if type(res) == "table" and type(res[2]) == "number" and enc.names[res[1]] then
    return false, res[2] / 1e6, enc.names[res[1]]
  end
  return nil, WHO .. ": an unexpected reply from the script"
end

--- The request of a slot `reserve` gave (its handle) left at `left_at`
-- (monotonic seconds; nil: now). When that is later than the slot, the
-- send log moves the slot later by as much (at most `LATE_MAX`): hosts
-- reserving after this count from when the request really left (one
-- round trip to Redis, only for a late request).
-- @return true; or nil and a message when Redis failed
function Pacer:sent(key, handle, left_at)
  if type(key) ~= "string" or type(handle) ~= "table"
     or type(handle.slot) ~= "string" or type(handle.due) ~= "number"
     or (left_at ~= nil and type(left_at) ~= "number") then
    error(string_format("%s: bad argument to sent (a key, a handle from "
          .. "reserve and an optional time expected, got %s, %s, %s)", WHO,
          type(key), type(handle), type(left_at)), 2)
  end
  local late = (left_at or monotime()) - handle.due
  if late <= _M.LATE_MIN or late ~= late then
    return true
  end
  if late > _M.LATE_MAX then
    late = _M.LATE_MAX
  end
  local r = self.redis
  local res, err = r:eval(LATE, 1, r:key(key, "pace"), handle.slot,
                          string_format("%d", math_floor(late * 1e6)))
  if res == nil then
    return nil, WHO .. ": " .. err
  end
  return true
end

--- Closes the connection (it reopens when used again).
function Pacer:close()
  self.redis:close()
end

--- A pacer in Redis.
-- @tparam table opts the same as `sendpulse.stores.redis` without the lock
--   options: `url` or `host`, `port`, `username`, `password`, `db`, `tls`,
--   `ca_file`, `server_name`, `timeout`, `prefix`, `pool_size`, `keepalive`
-- @treturn table the pacer, for `sendpulse.new{ pacer = ... }`
-- @raise naming the option when one is wrong
function _M.new(opts)
  local settings = redis.options(WHO, opts, { reserve_ahead = true })
  local ahead = opts.reserve_ahead
  if ahead ~= nil and (type(ahead) ~= "number" or ahead < 0 or ahead ~= ahead) then
    error(WHO .. ": bad argument 'reserve_ahead' (a number of seconds, 0 or "
          .. "more, expected, got " .. (type(ahead) == "number"
          and tostring(ahead) or type(ahead)) .. ")", 2)
  end
  ahead = ahead or _M.DEFAULT_RESERVE_AHEAD
  return setmetatable({
    redis = redis.new(settings),
    ahead_us = ahead < 1e9 and string_format("%d", math_floor(ahead * 1e6)) or nil,
  }, Pacer)
end

return _M
