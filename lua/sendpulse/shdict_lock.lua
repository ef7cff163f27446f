--- A lock in an nginx shared dict, shared by the shared-dict token store
-- and pacer: `add` is atomic across workers; the entry expires by itself,
-- so a worker that dies holding it blocks the others for at most `ttl`.
-- @module sendpulse.shdict_lock
-- @local
local _M = {}

--- Takes the lock `name` in `dict`, waiting up to `timeout` seconds
-- (sleeping 1 ms, then doubling up to 20 ms between tries).
-- @return true when taken, false when the wait ran out, nil and a message
--   when the dict refused (full)
function _M.lock(ngx, dict, name, ttl, timeout)
  ngx.update_time()
  local deadline = ngx.now() + timeout
  local step = 0.001
  while true do
    local ok, err = dict:add(name, true, ttl)
    if ok then
      return true
    end
    if err ~= "exists" then
      return nil, "lua_shared_dict: " .. tostring(err)
    end
    ngx.update_time()
    if ngx.now() >= deadline then
      return false
    end
    ngx.sleep(step)
    if step < 0.02 then
      step = step * 2
    end
  end
end

function _M.unlock(dict, name)
  dict:delete(name)
end

return _M
