--- A pacer whose state lives in an nginx `lua_shared_dict`, so that all
-- workers together stay under the account's rate. The arithmetic is the
-- core's (`pacer_take`, `pacer_stamp`: the same sliding-window log as the
-- in-process pacer), on a ring kept in the dict as bytes.
-- @module sendpulse.pacers.ngx_shared
local core = require "sendpulse.core"
local lock = require "sendpulse.shdict_lock"

local error = error
local rawget = rawget
local setmetatable = setmetatable
local type = type

local monotime = core.monotime
local pacer_stamp = core.pacer_stamp
local pacer_take = core.pacer_take

-- A slot taken counts as sent this long after it was taken until the
-- transport says when the request really left (after the connect and the
-- TLS handshake, which far from the server take round trips): a worker
-- that died in between frees it then.
local HOLD = 30

local _M = {}

local NgxShared = {}
NgxShared.__index = NgxShared

--- Takes the next send slot for `key` and returns 0 (send now) and the
-- slot's handle for `sent`; when none is free, the seconds until one
-- frees and `false` (ask again then).
-- A slot is taken only when it is free now: the wait comes before taking
-- it, never between taking a slot and sending (a worker that wakes late
-- would otherwise send late into a window that others filled), and the
-- core does the waiting, so that `call_timeout` bounds it.
-- The read-compute-write holds no yield; the dict's lock makes it
-- exclusive across workers. A lock not taken within 2 s (a holder died:
-- it expires after 1 s) returns `nil, message`: the client then paces on
-- its own.
function NgxShared:reserve(key, cap, window)
  local ngx, dict, name = self.ngx, self.dict, key .. ":pace-lock"
  local state_key = key .. ":pace"
  local ok, err = lock.lock(ngx, dict, name, 1, 2)
  if not ok then
    return nil, err or "the shared pacer's lock was not released"
  end
  local now = monotime()
  local state, wait, slot = pacer_take(dict:get(state_key), cap, window, now,
                                       now + HOLD)
  if slot then
    dict:set(state_key, state, window + HOLD + 1)
  end
  lock.unlock(dict, name)
  if slot then
    return 0, { cap = cap, window = window, slot = slot, held = now + HOLD }
  end
  -- no slot free: "ask again in `wait`" (the core sleeps, on the
  -- transport, or fails the call at once when `call_timeout` would pass)
  return wait, false
end

--- The request of the slot `handle` (from `reserve`) is leaving now: the
-- slot counts from this moment. A slot already freed (held too long) is
-- left as it is; a lock not taken leaves the slot held until it frees.
function NgxShared:sent(key, handle)
  local ngx, dict, name = self.ngx, self.dict, key .. ":pace-lock"
  local state_key = key .. ":pace"
  local ok, err = lock.lock(ngx, dict, name, 1, 2)
  if not ok then
    return nil, err or "the shared pacer's lock was not released"
  end
  local state = pacer_stamp(dict:get(state_key), handle.cap, handle.slot,
                            handle.held, monotime())
  if state then
    dict:set(state_key, state, handle.window + HOLD + 1)
  end
  lock.unlock(dict, name)
  return true
end

--- A pacer in the shared dict `dict_name`.
-- @raise outside nginx or when the dict does not exist
function _M.new(dict_name)
  local ngx = rawget(_G, "ngx")
  if type(dict_name) ~= "string" then
    error("sendpulse.pacers.ngx_shared: bad argument 'dict_name' (a string "
          .. "expected, got " .. type(dict_name) .. ")", 3)
  end
  local dict = type(ngx) == "table" and ngx.shared and ngx.shared[dict_name]
  if not dict then
    error("sendpulse.pacers.ngx_shared: no lua_shared_dict named '"
          .. dict_name .. "'", 3)
  end
  return setmetatable({ dict = dict, ngx = ngx }, NgxShared)
end

return _M
