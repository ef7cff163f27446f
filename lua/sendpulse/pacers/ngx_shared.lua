--- A pacer whose state lives in an nginx `lua_shared_dict`, so that all
-- workers together stay under the account's rate. The arithmetic is the
-- core's (`pacer_reserve`, the same sliding window as the in-process
-- pacer), on a ring kept in the dict as bytes.
-- @module sendpulse.pacers.ngx_shared
local core = require "sendpulse.core"
local lock = require "sendpulse.shdict_lock"

local error = error
local rawget = rawget
local setmetatable = setmetatable
local type = type

local monotime = core.monotime
local pacer_reserve = core.pacer_reserve

local _M = {}

local NgxShared = {}
NgxShared.__index = NgxShared

--- Takes the next send slot for `key` and returns 0 (send now).
-- A slot is taken only when it is free now: waiting happens here, with
-- ngx.sleep, never between taking a slot and sending (a worker that wakes
-- late would otherwise send late into a window that others filled).
-- The read-compute-write holds no yield; the dict's lock makes it
-- exclusive across workers. A lock not taken within 2 s (a holder died:
-- it expires after 1 s) returns `nil, message`: the client then paces on
-- its own.
function NgxShared:reserve(key, cap, window)
  local ngx, dict, name = self.ngx, self.dict, key .. ":pace-lock"
  local state_key = key .. ":pace"
  while true do
    local ok, err = lock.lock(ngx, dict, name, 1, 2)
    if not ok then
      return nil, err or "the shared pacer's lock was not released"
    end
    local state, wait = pacer_reserve(dict:get(state_key), cap, window,
                                      monotime(), true)
    if wait <= 0 then
      dict:set(state_key, state, window + 1)
    end
    lock.unlock(dict, name)
    if wait <= 0 then
      return 0
    end
    ngx.sleep(wait)
  end
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
