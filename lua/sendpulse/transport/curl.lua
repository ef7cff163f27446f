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
  in the order they end. Each entry is { call, index, key, wake = time or
  nil, sending = bool }. A call advances until it sends (its transfer
  joins the multi handle), sleeps (it wakes at `wake`) or ends; then the
  loop polls libcurl until a transfer ends or the next sleeper wakes.
  Returns the error that ended the stream early (on_done raised), after
  letting go of every call still running: those are passed to on_done
  as failed with it.
]]
function _M.stream(client, next_call, concurrency, on_done)
  local cc = client._core
  local active = {}
  local nactive, nsending, started = 0, 0, 0
  local exhausted = false
  local aborted          -- the error that ended the stream early
  local batch = cc:batch_open()
  local domain = cc:new_domain()

  local function finish(entry, action, value)
    active[entry.key] = nil
    nactive = nactive - 1
    if not aborted then
      local ok, err = pcall(on_done, entry.index, action, value)
      if not ok then
        aborted = callback_error("a progress callback failed: " .. tostring(err))
      end
    end
  end

  -- Steps the entry with (x, y, z) until it waits on something.
  local function advance(entry, x, y, z)
    local call = entry.call
    local action, a, b, c = call:next(x, y, z)
    while true do
      if action == "done" or action == "fail" then
        return finish(entry, action, a)
      elseif action == "send" then
        if cc:is_closed() then
          action, a, b, c = call:next()     -- the core reports it
        elseif batch:start(call) then
          entry.sending = true
          nsending = nsending + 1
          return
        else
          -- could not start: the failure is in the call, let it decide
          action, a, b, c = call:next()
        end
      elseif action == "sleep" or action == "wait" then
        entry.wake = monotime() + a
        return
      elseif action == "pace" then
        local how, d, e = engine.pace(client, a, b, c)
        if how == "abort" then
          action, a, b, c = call:abort("callback", d)
        elseif how == "paced" then
          if d > 0 then
            entry.wake = monotime() + d
            entry.resume = "paced"
            return
          end
          action, a, b, c = call:next("paced")
        else
          action, a, b, c = call:next(how, d, e)
        end
      else
        action, a, b, c = call:next(engine.store_action(client, action, a, b, c))
      end
    end
  end

  local function start_more()
    while nactive < concurrency and not exhausted and not aborted do
      local call = next_call()
      if call == nil then
        exhausted = true
        return
      end
      started = started + 1
      call:join(domain)
      local entry = { call = call, index = started, key = call:key() }
      active[entry.key] = entry
      nactive = nactive + 1
      advance(entry)
    end
  end

  local ok, err = pcall(function()
    start_more()
    while nactive > 0 and not aborted do
      local now, next_wake = monotime(), huge
      for _, entry in pairs(active) do
        if entry.wake and not aborted then
          if entry.wake <= now then
            local resume = entry.resume
            entry.wake, entry.resume = nil, nil
            advance(entry, resume)
          end
          -- (one just woken may sleep again: its new wake counts too, or
          -- the poll below would wait for a transfer instead)
          if entry.wake and entry.wake < next_wake then
            next_wake = entry.wake
          end
        end
      end
      if aborted then
        break
      end
      if cc:is_closed() then
        -- closed from a callback: every call learns it at its next step
        for _, entry in pairs(active) do
          entry.wake = nil
          if entry.sending then
            entry.sending = false
            nsending = nsending - 1
          end
          advance(entry)
        end
      elseif nsending > 0 then
        local timeout = next_wake == huge and 1 or next_wake - monotime()
        for _, key in ipairs(batch:poll(timeout > 0 and timeout or 0)) do
          local entry = active[key]
          entry.sending = false
          nsending = nsending - 1
          if not aborted then
            advance(entry)
          end
        end
      elseif next_wake < huge then
        local wait = next_wake - monotime()
        if wait > 0 then
          sleep(wait)
        end
      end
      start_more()
    end
  end)
  if not ok then
    aborted = aborted or callback_error("the batch failed: " .. tostring(err))
  end
  if aborted then
    -- let go of every call still running (an abort may ask for an unlock)
    for _, entry in pairs(active) do
      local action, a, b, c = entry.call:abort("callback", aborted.message)
      while action ~= "done" and action ~= "fail" do
        action, a, b, c = entry.call:next(engine.store_action(client, action, a, b, c))
      end
      pcall(on_done, entry.index, "fail", a)
    end
  end
  batch:close()
  return aborted
end

return _M
