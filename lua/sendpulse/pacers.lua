--- Pacers shared between processes.
--
-- Each client paces itself by default. Under nginx every worker has its
-- own clients, while SendPulse's limit (10 requests per second) is per
-- account: `ngx_shared` keeps the pacing state in a `lua_shared_dict`, so
-- all workers together stay under it. The arithmetic is the core's
-- (`pacer_reserve`), the same as the in-process pacer.
-- @module sendpulse.pacers
local core = require "sendpulse.core"

local error = error
local rawget = rawget
local setmetatable = setmetatable
local type = type

local monotime = core.monotime
local pacer_reserve = core.pacer_reserve

local _M = {}

local NgxShared = {}
NgxShared.__index = NgxShared

--- Reserves the next send slot for `key`; returns the seconds to wait.
-- The critical section (read, compute, write) holds no yield, and a lock
-- in the dict makes it exclusive across workers.
function NgxShared:reserve(key, cap, window)
  local ngx = self.ngx
  local dict = self.dict
  local lock_key = key .. ":pace-lock"
  local tries = 0
  while not dict:add(lock_key, true, 1) do
    tries = tries + 1
    if tries > 2000 then
      break           -- a holder died: its lock expires within a second
    end
    ngx.sleep(0.001)
  end
  local state_key = key .. ":pace"
  local state, delay = pacer_reserve(dict:get(state_key), cap, window,
                                     monotime())
  dict:set(state_key, state, window + delay + 1)
  dict:delete(lock_key)
  return delay
end

--- A pacer whose state lives in a `lua_shared_dict` (see the module doc).
-- @tparam string dict_name
-- @treturn table the pacer, for `sendpulse.new{ pacer = ... }`
-- @raise outside nginx or when the dict does not exist
function _M.ngx_shared(dict_name)
  local ngx = rawget(_G, "ngx")
  if type(dict_name) ~= "string" then
    error("sendpulse.pacers.ngx_shared: bad argument 'dict_name' (a string "
          .. "expected, got " .. type(dict_name) .. ")", 2)
  end
  local dict = type(ngx) == "table" and ngx.shared and ngx.shared[dict_name]
  if not dict then
    error("sendpulse.pacers.ngx_shared: no lua_shared_dict named '"
          .. dict_name .. "'", 2)
  end
  return setmetatable({ dict = dict, ngx = ngx }, NgxShared)
end

return _M
