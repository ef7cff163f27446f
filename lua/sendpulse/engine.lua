--- The engine: what every transport does with a call's actions besides
-- sending and sleeping.
--
-- The C core decides (token reuse and refresh, retries, pacing, error
-- translation); a transport carries out "send" and "sleep" its own way
-- and hands everything else here: the token store's actions, the shared
-- pacer's, the on_request hook. This is also where user code is kept from
-- breaking the client: a store, pacer or hook that raises, returns
-- something unexpected or tries to yield (where the transport cannot
-- yield) never leaves a call holding the token fetch, a store lock or a
-- pacer slot. A store is a cache the client can do without: its failures
-- are reported through `on_store_error` (once per outage) and the call
-- goes on. A pacer guards the account's rate: one that fails by returning
-- `nil, message` is stood in for by local pacing; one that raises or
-- answers nonsense fails the call, which then sends nothing.
-- @module sendpulse.engine
-- @local
local monotime = require("sendpulse.core").monotime

local coroutine_create = coroutine.create
local coroutine_resume = coroutine.resume
local coroutine_status = coroutine.status
local pcall = pcall
local select = select
local setmetatable = setmetatable
local tostring = tostring
local type = type

local _M = {}

local function pack(...)
  return { n = select("#", ...), ... }
end

local unpack = table.unpack or unpack     -- luacheck: ignore (5.1)

-- Runs fn(...) so that it cannot suspend the caller: a yield inside it
-- (a cooperative scheduler's I/O) would leave this call parked in the
-- middle of a step while another call of the client waits for it. Returns
-- true, results... or false, message.
local function call_without_yield(fn, ...)
  local co = coroutine_create(fn)
  local r = pack(coroutine_resume(co, ...))
  if coroutine_status(co) ~= "dead" then
    return false, "it yielded (stores, pacers and callbacks must not "
                  .. "yield outside nginx: nothing can yield across the "
                  .. "client's C core)"
  end
  return unpack(r, 1, r.n)
end
_M.call_without_yield = call_without_yield

-- User code, guarded: with pcall where the transport may yield (nginx:
-- cosockets and ngx.sleep inside a store are fine), without yields
-- elsewhere.
local function guarded(client, fn, ...)
  if client._transport.yields then
    return pcall(fn, ...)
  end
  return call_without_yield(fn, ...)
end
_M.guarded = guarded

-- A failing store or shared pacer is reported once, until it works again.
local function report(client, operation, message)
  if client._backend_failing then
    return
  end
  client._backend_failing = true
  local hook = client._on_store_error
  if hook then
    pcall(hook, operation, tostring(message))
  end
end

local function recovered(client)
  client._backend_failing = nil
end

local function store_call(client, method, ...)
  local store = client._store
  local fn = store[method]
  if not fn then
    return true
  end
  local r = pack(guarded(client, fn, store, ...))
  if r[1] then
    recovered(client)
    return unpack(r, 1, r.n)
  end
  -- The token is still held by the client itself: carry on without the
  -- store for this call.
  report(client, method, r[2])
  return false
end

--- Carries out a token store action; returns what call:next() wants to
-- hear back.
function _M.store_action(client, action, key, token, expires_at)
  if action == "get" then
    local ok, tok, exp = store_call(client, "get", key)
    if ok and type(tok) == "string" and type(exp) == "number" then
      return tok, exp
    end
    if ok and tok ~= nil then
      report(client, "get", "the store's get returned a "
             .. type(tok) .. " and a " .. type(exp)
             .. " (a token string and an expiry number expected)")
    end
    return nil
  elseif action == "lock" then
    local ok, locked = store_call(client, "lock", key)
    return ok and locked == true
  elseif action == "set" then
    store_call(client, "set", key, token, expires_at)
  elseif action == "delete" then
    store_call(client, "delete", key, token)
  elseif action == "unlock" then
    store_call(client, "unlock", key)
  else
    error("sendpulse: unknown action from the core: " .. tostring(action))
  end
end

-- A shared pacer's slot is counted from the moment its request leaves
-- when the pacer can be told (it has `sent`): `sent(key, handle,
-- left_at)`, left_at the monotonic time the request left, or nil for
-- now. A transport that stamps sends (cosockets) tells it as the request
-- leaves, after connecting; for the others (libcurl) it is told once the
-- attempt is over, with the time libcurl's pre-request callback noted.
-- Until then the slot's handle waits here, by call: { key, handle, when
-- it was reserved }. A slot whose request never left (the connect failed)
-- is stamped when the attempt ends.
local pending = setmetatable({}, { __mode = "k" })

local function stamp(client, call, left_at)
  local p = pending[call]
  if p then
    pending[call] = nil
    local pacer = client._pacer
    local r = pack(guarded(client, pacer.sent, pacer, p[1], p[2], left_at))
    local why
    if not r[1] then
      why = "the pacer's sent failed: " .. tostring(r[2])
    elseif r[2] == nil and r[3] ~= nil then
      why = "the pacer's sent: " .. tostring(r[3])
    end
    -- (its own outage flag: reserve working would end the pacer's)
    if why and not client._pace_sent_failing then
      client._pace_sent_failing = true
      local hook = client._on_store_error
      if hook then
        pcall(hook, "pace", why)
      end
    elseif not why then
      client._pace_sent_failing = nil
    end
  end
end

--- The call's request is leaving now (the transport has connected): the
-- local pacer and a shared pacer's slot count from this moment.
function _M.leaving(client, call)
  call:leaving()
  if pending[call] then
    stamp(client, call)
  end
end

-- When the request of a pending slot left, if it has since the slot was
-- reserved.
local function left_since(call)
  local p, left = pending[call], call:left_at()
  if p and left and left >= p[3] then
    return left
  end
end

--- The call's attempt is over (answered or failed): a pending slot is
-- stamped with when its request left (or now, when it never did or the
-- transport could not tell).
function _M.attempt_over(client, call)
  if pending[call] then
    stamp(client, call, left_since(call))
  end
end

--- Asks the shared pacer for a slot. Returns how the call goes on:
-- "paced", delay | "again", delay | "local" | "quota", retry_after, name |
-- "abort", message. The driver steps the call with all of it:
-- `call:next("paced", delay)` makes the call wait the delay (a "sleep")
-- and send, `call:next("again", delay)` wait and ask the pacer again;
-- either fails at once when the wait would overrun call_timeout.
-- A pacer's reserve answers a delay (seconds to wait, the slot taken),
-- optionally with a handle its `sent(key, handle, left_at)` is given when
-- the request leaves; `delay, false` (no slot taken yet: ask again after
-- delay); `nil, message` (unavailable: pace locally); or
-- `false, retry_after, quota_name` (a quota spent).
function _M.pace(client, key, cap, span, call)
  local pacer = client._pacer
  local r = pack(guarded(client, pacer.reserve, pacer, key, cap, span,
                         client._pace_limits))
  if not r[1] then
    return "abort", "the pacer failed: " .. tostring(r[2])
  end
  local delay, a, b = r[2], r[3], r[4]
  if type(delay) == "number" and delay >= 0 and delay < 1e9 and a == false then
    recovered(client)
    return "again", delay
  elseif type(delay) == "number" and delay >= 0 and delay < 1e9 then
    recovered(client)
    if a ~= nil and call and type(pacer.sent) == "function" then
      pending[call] = { key, a, monotime() }
    end
    return "paced", delay
  elseif delay == nil then
    report(client, "pace", a or "the pacer is unavailable")
    return "local"
  elseif delay == false and type(a) == "number" then
    recovered(client)
    return "quota", a, b
  end
  return "abort", "the pacer's reserve returned " .. tostring(delay)
         .. " (a number of seconds, nil and a message, or false and a "
         .. "retry_after expected)"
end

--- Tells the on_request hook how the attempt that just ended went.
function _M.report_request(client, call)
  local hook = client._on_request
  local req = call:request()
  local status, code, kind, seconds = call:outcome()
  pcall(hook, {
    method = req.method, path = req.path, token = req.token or nil,
    attempt = req.attempt, status = status, code = code, kind = kind,
    seconds = seconds,
  })
end

-- One action other than done/fail; returns the next (action, a, b, c).
local function act(client, call, step, send, sleep, action, a, b, c)
  if action == "send" then
    local ok, err = pcall(send, call, client)
    if pending[call] then
      stamp(client, call, left_since(call))
    end
    if not ok then
      return call:abort("transport", "the transport failed: " .. tostring(err))
    end
    if client._on_request then
      _M.report_request(client, call)
    end
    return step(call)
  elseif action == "sleep" or action == "wait" then
    sleep(a)
    return step(call)
  elseif action == "pace" then
    local how, d, e = _M.pace(client, a, b, c, call)
    if how == "abort" then
      return call:abort("callback", d)
    end
    local r = pack(step(call, how, d, e))
    -- (call.run has waited and sent in C: its request left meanwhile)
    local left = left_since(call)
    if left then
      stamp(client, call, left)
    elseif r[1] == "done" or r[1] == "fail" then
      pending[call] = nil       -- it never left (it had no time to wait)
    end
    return unpack(r, 1, r.n)
  end
  return step(call, _M.store_action(client, action, a, b, c))
end
_M.act = act

--[[
  Runs one call to its end with `step` (call.next for transports that do
  everything in Lua, call.run for the libcurl fast path, which sends and
  sleeps inside C), `send(call, client)` and `sleep(seconds)`.
]]
function _M.run(client, call, step, send, sleep)
  local action, a, b, c = step(call)
  while action ~= "done" and action ~= "fail" do
    action, a, b, c = act(client, call, step, send, sleep, action, a, b, c)
  end
  if action == "done" then
    return a
  end
  return nil, a
end

return _M
