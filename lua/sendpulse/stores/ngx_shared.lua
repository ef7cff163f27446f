--- A token store in an nginx `lua_shared_dict`: one token for every worker.
-- When the token is missing, the worker that takes the dict's lock fetches
-- it and the others find it there when they get the lock in turn.
-- @module sendpulse.stores.ngx_shared
local lock = require "sendpulse.shdict_lock"

local error = error
local math_max = math.max
local rawget = rawget
local setmetatable = setmetatable
local string_format = string.format
local tonumber = tonumber
local tostring = tostring
local type = type

local _M = {}

local NgxShared = {}
NgxShared.__index = NgxShared

function NgxShared:get(key)
  local v = self.dict:get(key)
  if not v then
    return nil
  end
  local expires_at, token = v:match("^([%d%.]+) (.+)$")
  return token, tonumber(expires_at)
end

function NgxShared:set(key, token, expires_at)
  local ngx = self.ngx
  ngx.update_time()
  local ttl = expires_at - ngx.now()
  if ttl ~= ttl or ttl <= 0 or ttl == math.huge then
    return
  end
  local ok, err = self.dict:set(key, string_format("%.3f %s", expires_at, token),
                                math_max(ttl, 0.001))
  if not ok then
    error("lua_shared_dict: " .. tostring(err), 0)
  end
end

--- Deletes the token of `key`; with `token`, only if it is still that one.
-- (The dict's get and delete do not yield, so no other request of this
-- worker runs in between.)
function NgxShared:delete(key, token)
  if token ~= nil then
    local _, current = self:get(key)
    if current ~= token then
      return
    end
  end
  self.dict:delete(key)
end

function NgxShared:lock(key)
  local ok, err = lock.lock(self.ngx, self.dict, key .. ":lock", self.lock_ttl,
                            self.lock_timeout)
  if ok == nil then
    error(err, 0)
  end
  return ok
end

function NgxShared:unlock(key)
  lock.unlock(self.dict, key .. ":lock")
end

--- A store in the shared dict `dict_name`.
-- @tparam string dict_name the name given to `lua_shared_dict`
-- @tparam[opt] table opts `lock_timeout` (seconds a worker waits for
--   another's fetch, default 30), `lock_ttl` (default 60)
-- @raise outside nginx or when the dict does not exist
function _M.new(dict_name, opts)
  local ngx = rawget(_G, "ngx")
  if type(dict_name) ~= "string" then
    error("sendpulse.stores.ngx_shared: bad argument 'dict_name' (a string "
          .. "expected, got " .. type(dict_name) .. ")", 3)
  end
  local dict = type(ngx) == "table" and ngx.shared and ngx.shared[dict_name]
  if not dict then
    error("sendpulse.stores.ngx_shared: no lua_shared_dict named '"
          .. dict_name .. "' (add `lua_shared_dict " .. dict_name
          .. " 1m;` to nginx.conf)", 3)
  end
  opts = opts or {}
  return setmetatable({
    ngx = ngx,
    dict = dict,
    lock_timeout = opts.lock_timeout or 30,
    lock_ttl = opts.lock_ttl or 60,
  }, NgxShared)
end

return _M
