--- The driver: runs calls' state machines to their end.
--
-- The C core decides (token reuse and refresh, retries, pacing, error
-- translation); these loops only carry out what it asks for, with the
-- client's transport, token store and pacer. `run` drives one call (libcurl
-- calls come back here only for store and pacer actions; nginx cosocket
-- calls for every send and sleep too). `run_batch` drives many calls at
-- once over libcurl's multi interface; `run_threads` does the same with
-- nginx light threads.
-- @module sendpulse.engine
-- @local
local core = require "sendpulse.core"

local error = error
local huge = math.huge
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local tostring = tostring

local monotime = core.monotime

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

-- The token store's actions; returns what call:next() wants to hear.
local function store_action(client, action, a, b, c)
  if action == "get" then
    return store_call(client, "get", a)
  elseif action == "lock" then
    return store_call(client, "lock", a) and true or false
  elseif action == "set" then
    store_call(client, "set", a, b, c)
  elseif action == "delete" then
    store_call(client, "delete", a)
  elseif action == "unlock" then
    store_call(client, "unlock", a)
  else
    error("sendpulse: unknown action from the core: " .. tostring(action))
  end
end

local function pace(client, key)
  return client._pacer:reserve(key, client._pace_cap, client._pace_window)
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
      local delay = pace(client, a)
      if delay and delay > 0 then
        transport.sleep(delay)
      end
    else
      x, y = store_action(client, action, a, b, c)
    end
    action, a, b, c = call:next(x, y)
  end
end

--[[
  Many calls at once over the core's libcurl multi handle. Each entry is
  { call, index, wake = time or nil, sending = bool }. A call advances
  until it sends (its transfer joins the multi handle), sleeps (it wakes
  at `wake`) or ends; then the loop polls libcurl until a transfer ends
  or the next sleeper wakes.
]]
function _M.run_batch(client, calls, concurrency, on_progress)
  local cc = client._core
  local total = #calls
  local results = {}
  local active = {}
  local nactive, nsending, started, finished = 0, 0, 0, 0

  local function advance(entry, x, y)
    local call = entry.call
    while true do
      local action, a, b, c = call:next(x, y)
      x, y = nil, nil
      if action == "done" or action == "fail" then
        results[entry.index] = action == "done" and { a } or { nil, a }
        active[entry.key] = nil
        nactive = nactive - 1
        finished = finished + 1
        if on_progress then
          on_progress(finished, total)
        end
        return
      elseif action == "send" then
        if cc:start(call) then
          entry.sending = true
          nsending = nsending + 1
          return
        end
        -- could not start: the failure is in the call, let it decide
      elseif action == "sleep" or action == "wait" then
        entry.wake = monotime() + a
        return
      elseif action == "pace" then
        local delay = pace(client, a)
        if delay and delay > 0 then
          entry.wake = monotime() + delay
          return
        end
      else
        x, y = store_action(client, action, a, b, c)
      end
    end
  end

  while finished < total do
    while nactive < concurrency and started < total do
      started = started + 1
      local call = calls[started]
      local entry = { call = call, index = started, key = call:key() }
      active[entry.key] = entry
      nactive = nactive + 1
      advance(entry)
    end
    local now, next_wake = monotime(), huge
    for _, entry in pairs(active) do
      if entry.wake then
        if entry.wake <= now then
          entry.wake = nil
          advance(entry)
        elseif entry.wake < next_wake then
          next_wake = entry.wake
        end
      end
    end
    if nsending > 0 then
      local timeout = next_wake == huge and 1 or next_wake - monotime()
      for _, key in ipairs(cc:poll(timeout > 0 and timeout or 0)) do
        local entry = active[key]
        entry.sending = false
        nsending = nsending - 1
        advance(entry)
      end
    elseif next_wake < huge then
      local wait = next_wake - monotime()
      if wait > 0 then
        core.sleep(wait)
      end
    end
  end
  return results
end

--- Many calls at once with nginx light threads, each running `run`.
function _M.run_threads(client, calls, concurrency, on_progress)
  local ngx = ngx     -- luacheck: ignore (only reached inside nginx)
  local total, results, next_index, finished = #calls, {}, 0, 0
  local function worker()
    while next_index < total do
      next_index = next_index + 1
      local i = next_index
      local res, err = _M.run(client, calls[i])
      results[i] = res ~= nil and { res } or { nil, err }
      finished = finished + 1
      if on_progress then
        on_progress(finished, total)
      end
    end
  end
  local threads = {}
  for t = 1, concurrency < total and concurrency or total do
    threads[t] = ngx.thread.spawn(worker)
  end
  for t = 1, #threads do
    ngx.thread.wait(threads[t])
  end
  return results
end

return _M
