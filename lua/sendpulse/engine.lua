--- The driver: runs one call's state machine to its end.
--
-- The C core decides (token reuse and refresh, retries, pacing, error
-- translation); this loop only carries out what it asks for, with the
-- client's transport, token store and pacer. It is the one orchestration
-- loop for every transport: libcurl calls come back here only for store
-- and pacer actions, nginx cosocket calls for every send and sleep too.
-- @module sendpulse.engine
local pcall = pcall

local _M = {}

local function store_call(client, method, ...)
  local store = client._store
  local fn = store[method]
  if not fn then
    return nil
  end
  local ok, a, b = pcall(fn, store, ...)
  if ok then
    return a, b
  end
  -- A failing store must not fail the API call: the token is still held
  -- by the client itself. Report it if the user asked to hear about it.
  local report = client._on_store_error
  if report then
    pcall(report, method, a)
  end
  return nil
end

--- Runs `call` to completion.
-- @param client the Lua client (its `_transport`, `_store`, `_pacer`)
-- @param call a call from the core
-- @return the decoded result, or nil and the error object
function _M.run(client, call)
  local transport = client._transport
  local action, a, b, c = call:next()
  while true do
    if action == "done" then
      return a
    elseif action == "fail" then
      return nil, a
    end
    local x, y
    if action == "send" then
      transport.send(call, client)
    elseif action == "sleep" or action == "wait" then
      transport.sleep(a)
    elseif action == "pace" then
      local delay = client._pacer:reserve(a, client._pace_cap,
                                          client._pace_window)
      if delay and delay > 0 then
        transport.sleep(delay)
      end
    elseif action == "get" then
      x, y = store_call(client, "get", a)
    elseif action == "lock" then
      x = store_call(client, "lock", a) and true or false
    elseif action == "set" then
      store_call(client, "set", a, b, c)
    elseif action == "delete" then
      store_call(client, "delete", a)
    elseif action == "unlock" then
      store_call(client, "unlock", a)
    else
      error("sendpulse: unknown action from the core: " .. tostring(action))
    end
    action, a, b, c = call:next(x, y)
  end
end

return _M
