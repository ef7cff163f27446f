--- The libcurl transport: the default outside nginx.
--
-- A single call runs inside the C core in one go (sends and sleeps
-- included); it comes back to Lua only for a token store or a shared
-- pacer, or, when the client has an `on_request` hook, after each send.
-- A batch owns a libcurl multi handle of its own (HTTP/2 multiplexing when
-- the server offers it, parallel keep-alive connections otherwise) and
-- its calls form a domain: they wait for each other's token fetch, and no
-- other batch's transfers ever finish into this one, so batches nest (a
-- batch inside another's on_progress) and interleave (two coroutines).
-- See `sendpulse.transport` for the interface.
-- @module sendpulse.transport.curl
local core = require "sendpulse.core"
local engine = require "sendpulse.engine"

local huge = math.huge
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local setmetatable = setmetatable
local tostring = tostring

local monotime = core.monotime
local sleep = core.sleep

local _M = { name = "curl", yields = false, sleep = sleep, now = monotime }

local run_step = core.call_methods.run
local next_step = core.call_methods.next

local function perform(call)
  call:perform()
end

--- Runs one call to its end.
function _M.call(client, call)
  if client._on_request then
    return engine.run(client, call, next_step, perform, sleep)
  end
  return engine.run(client, call, run_step, perform, sleep)
end

local function callback_error(message)
  return setmetatable({ kind = "callback", message = message, sent = "no" },
                      core.error_mt)
end

--[[
  Many calls at once over a multi handle of their own. next_call() gives
  the next call to start (nil: none for now, and the stream ends once
  those in flight finish); on_done(i, action, value) hears of each end,
  in the order they end. A stream's state `st` holds its entries by call
  key: { call, index, key, wake = time or nil, sending = bool }. A call
  advances until it sends (its transfer joins the multi handle), sleeps
  (it wakes at `wake`) or ends; then the loop polls libcurl until a
  transfer ends or the next sleeper wakes. An on_done that raises ends the
  stream early: every call still running is let go of and reported to
  on_done as failed with that error, which the stream returns.
]]

local function finish(st, entry, action, value)
  st.active[entry.key] = nil
  st.nactive = st.nactive - 1
  if not st.aborted then
    local ok, err = pcall(st.on_done, entry.index, action, value)
    if not ok then
      st.aborted = callback_error("a progress callback failed: " .. tostring(err))
    end
  end
end

-- Steps the entry with (x, y, z) until it waits on something.
local function advance(st, entry, x, y, z)
  local client, call = st.client, entry.call
  local action, a, b, c = call:next(x, y, z)
  while true do
    if action == "done" or action == "fail" then
      return finish(st, entry, action, a)
    elseif action == "send" then
      if st.cc:is_closed() or not st.batch:start(call) then
        -- closed, or could not start: the call itself reports it
        action, a, b, c = call:next()
      else
        entry.sending = true
        st.nsending = st.nsending + 1
        return
      end
    elseif action == "sleep" or action == "wait" then
      entry.wake = monotime() + a
      return
    elseif action == "pace" then
      local how, d, e = engine.pace(client, a, b, c, call)
      if how == "abort" then
        action, a, b, c = call:abort("callback", d)
      else
        action, a, b, c = call:next(how, d, e)
      end
    else
      action, a, b, c = call:next(engine.store_action(client, action, a, b, c))
    end
  end
end

local function start_more(st)
  while st.nactive < st.concurrency and not st.exhausted and not st.aborted do
    local call = st.next_call()
    if call == nil then
      st.exhausted = true
      return
    end
    st.started = st.started + 1
    call:join(st.domain)
    local entry = { call = call, index = st.started, key = call:key() }
    st.active[entry.key] = entry
    st.nactive = st.nactive + 1
    advance(st, entry)
  end
end

-- Wakes the sleepers that are due; returns when the next one is.
local function wake_due(st)
  local now, next_wake = monotime(), huge
  for _, entry in pairs(st.active) do
    if entry.wake and not st.aborted then
      if entry.wake <= now then
        entry.wake = nil
        advance(st, entry)
      end
      -- (one just woken may sleep again: its new wake counts too, or the
      -- poll would wait for a transfer instead)
      if entry.wake and entry.wake < next_wake then
        next_wake = entry.wake
      end
    end
  end
  return next_wake
end

-- One turn of the loop: transfers that finished, or the wait for one.
local function turn(st, next_wake)
  if st.cc:is_closed() then
    -- closed from a callback: every call learns it at its next step
    for _, entry in pairs(st.active) do
      entry.wake = nil
      if entry.sending then
        entry.sending = false
        st.nsending = st.nsending - 1
      end
      advance(st, entry)
    end
  elseif st.nsending > 0 then
    local timeout = next_wake == huge and 1 or next_wake - monotime()
    for _, key in ipairs(st.batch:poll(timeout > 0 and timeout or 0)) do
      local entry = st.active[key]
      entry.sending = false
      st.nsending = st.nsending - 1
      engine.attempt_over(st.client, entry.call)
      if not st.aborted then
        advance(st, entry)
      end
    end
  elseif next_wake < huge then
    local wait = next_wake - monotime()
    if wait > 0 then
      sleep(wait)
    end
  end
end

-- Lets go of every call still running (an abort may ask for an unlock).
local function abandon(st)
  for _, entry in pairs(st.active) do
    local action, a, b, c = entry.call:abort("callback", st.aborted.message)
    while action ~= "done" and action ~= "fail" do
      action, a, b, c = entry.call:next(engine.store_action(st.client, action, a, b, c))
    end
    pcall(st.on_done, entry.index, "fail", a)
  end
end

function _M.stream(client, next_call, concurrency, on_done)
  local cc = client._core
  local st = {
    client = client, cc = cc, next_call = next_call, on_done = on_done,
    concurrency = concurrency, batch = cc:batch_open(), domain = cc:new_domain(),
    active = {}, nactive = 0, nsending = 0, started = 0,
  }
  local ok, err = pcall(function()
    start_more(st)
    while st.nactive > 0 and not st.aborted do
      local next_wake = wake_due(st)
      if st.aborted then
        break
      end
      turn(st, next_wake)
      start_more(st)
    end
  end)
  if not ok then
    st.aborted = st.aborted or callback_error("the batch failed: " .. tostring(err))
  end
  if st.aborted then
    abandon(st)
  end
  st.batch:close()
  return st.aborted
end

return _M
