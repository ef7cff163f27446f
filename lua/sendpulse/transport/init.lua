--- Transports: how a client's calls reach the server.
--
-- A transport is a table chosen once, at `sendpulse.new` (option
-- `transport`: `"auto"`, `"curl"`, `"ngx"`, or a table of your own):
--
-- * `name`: a string
-- * `call(client, call)` -> result | nil, err: drives one call (a call
--   object of the C core, created by the client) to its end
-- * `stream(client, next_call, concurrency, on_done)` -> err|nil: drives
--   many calls, at most `concurrency` in flight: `next_call()` gives the
--   next one to start (nil: no more), `on_done(i, action, value)` hears of
--   each end in the order they end (`action` "done" or "fail", `i` the
--   order it was started in); a raising `on_done` ends the stream early,
--   with that error (kind `"callback"`) returned. Batches
--   (`sendpulse.transport.batch`) and chunked bulk methods run on it.
-- * `sleep(seconds)`, `now()` -> seconds on a monotonic clock
-- * `yields`: true when user callbacks may yield under it (nginx)
-- * `stamps_sends`: true when its sends call `engine.leaving(client, call)`
--   as the request's bytes go out (after connecting): the pacers then
--   count from that moment (libcurl's is stamped inside the core)
-- * optionally `check(core_client)`: raise for options it cannot honour
--
-- Drivers step a call with `call:next(...)` and carry out the actions the
-- core asks for (see `csrc/call.c`): "send" (build the bytes with
-- `call:wire()`, or read `call:request()`, and report with
-- `call:set_response(status, body, retry_after)` or
-- `call:set_failure(code, message, sent, status)`, code in libcurl's
-- numbering, `core.failure_codes`), "sleep"/"wait", and hand the rest to
-- `sendpulse.engine` (token stores, the shared pacer, on_request).
--
-- The two built in are `sendpulse.transport.curl` (libcurl, the default)
-- and `sendpulse.transport.ngx` (nginx cosockets). A table with only
-- `send(call, client)` (and optionally `sleep`, `now`) is completed by
-- `wrap`: the specs' scripted fake server is one.
-- @module sendpulse.transport
local core = require "sendpulse.core"
local engine = require "sendpulse.engine"

local error = error
local ipairs = ipairs
local pcall = pcall
local rawget = rawget
local setmetatable = setmetatable
local tostring = tostring
local type = type

local next_step = core.call_methods.next

local _M = {}

local function running_in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.socket) == "table"
         and type(ngx.socket.tcp) == "function"
end

local function callback_error(message)
  return setmetatable({ kind = "callback", message = message, sent = "no" },
                      core.error_mt)
end

--- A batch, on any transport's stream: every call of the list, results
-- in order; calls never started (the stream ended early) fail with the
-- error that ended it.
function _M.batch(t, client, calls, concurrency, on_progress)
  local total, results, i, finished = #calls, {}, 0, 0
  local aborted = t.stream(client, function()
    i = i + 1
    return calls[i]
  end, concurrency, function(index, action, value)
    results[index] = action == "done" and { value } or { nil, value }
    finished = finished + 1
    if on_progress then
      on_progress(finished, total)
    end
  end)
  for j = 1, total do
    if not results[j] then
      local _, err = calls[j]:abort("callback", aborted and aborted.message
                                    or "the batch ended early")
      results[j] = { nil, err }
    end
  end
  return results, aborted
end

--- Completes a transport that only knows how to send one request: its
-- streams step every call in turn, one action at a time (so that calls
-- wait for each other's token fetch as they would in flight together).
function _M.wrap(t)
  local send = t.send
  local sleep = t.sleep or core.sleep
  local w = { name = t.name or "custom", yields = t.yields or false,
              stamps_sends = t.stamps_sends or false, sleep = sleep,
              now = t.now or core.monotime, check = t.check }
  function w.call(client, call)
    return engine.run(client, call, next_step, send, sleep)
  end
  function w.stream(client, next_call, concurrency, on_done)
    local active, aborted, exhausted, started = {}, nil, false, 0
    local domain = client._core:new_domain()
    local monotime = core.monotime
    repeat
      while #active < concurrency and not exhausted and not aborted do
        local call = next_call()
        if call == nil then
          exhausted = true
        else
          started = started + 1
          call:join(domain)
          active[#active + 1] = { call = call, index = started }
        end
      end
      local earliest
      for k = #active, 1, -1 do
        local e = active[k]
        local action, a, b, c
        if e.wake and e.wake > monotime() then
          earliest = (not earliest or e.wake < earliest) and e.wake or earliest
        else
          if e.wake or not e.pending then
            e.wake = nil
            action, a, b, c = e.call:next()
          else
            action, a, b, c = engine.act(client, e.call, next_step, send, sleep,
                                         e.pending, e.a, e.b, e.c)
          end
          e.pending = nil
          if action == "done" or action == "fail" then
            table.remove(active, k)
            local ok, err = pcall(on_done, e.index, action, a)
            if not ok and not aborted then
              aborted = callback_error("a progress callback failed: "
                                       .. tostring(err))
            end
          elseif action == "sleep" or action == "wait" then
            e.wake = monotime() + a
          else
            e.pending, e.a, e.b, e.c = action, a, b, c
          end
        end
      end
      if aborted then
        for _, e in ipairs(active) do
          local action, a, b, c = e.call:abort("callback", aborted.message)
          while action ~= "done" and action ~= "fail" do
            action, a, b, c = e.call:next(engine.store_action(client, action, a, b, c))
          end
          pcall(on_done, e.index, "fail", a)
        end
        active = {}
      elseif earliest and #active > 0 then
        local d = earliest - monotime()
        if d > 0 then
          sleep(d)
        end
      end
    until #active == 0 and (exhausted or aborted)
    return aborted
  end
  return w
end

--- The transport for the `transport` option of `sendpulse.new`.
-- @raise on a value that names none
function _M.pick(choice)
  if choice == nil or choice == "auto" then
    choice = running_in_nginx() and "ngx" or "curl"
  end
  if choice == "curl" then
    return require "sendpulse.transport.curl"
  elseif choice == "ngx" then
    return require "sendpulse.transport.ngx"
  elseif type(choice) == "table" then
    if type(choice.call) == "function" and type(choice.stream) == "function" then
      return choice
    end
    if type(choice.send) ~= "function" then
      error("sendpulse.new: option 'transport' needs a method 'send' (or "
            .. "'call' and 'stream')", 4)
    end
    return _M.wrap(choice)
  end
  error("sendpulse.new: option 'transport' must be \"auto\", \"curl\", "
        .. "\"ngx\" or a table (got " .. tostring(choice) .. ")", 4)
end

return _M
