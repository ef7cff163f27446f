--- A token store in this process's memory: clients of one process that
-- use the same store share one token.
-- @module sendpulse.stores.memory
local setmetatable = setmetatable

local _M = {}

local Memory = {}
Memory.__index = Memory

function Memory:get(key)
  local e = self.entries[key]
  if e then
    return e.token, e.expires_at
  end
end

function Memory:set(key, token, expires_at)
  self.entries[key] = { token = token, expires_at = expires_at }
end

--- Deletes the token of `key`; with `token`, only if it is still that one.
function Memory:delete(key, token)
  local e = self.entries[key]
  if e and (token == nil or e.token == token) then
    self.entries[key] = nil
  end
end

--- A new, empty store.
function _M.new()
  return setmetatable({ entries = {} }, Memory)
end

return _M
