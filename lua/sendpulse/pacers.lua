--- Pacers shared between processes.
--
-- Each client paces itself by default. When several processes send for
-- one account (nginx workers, a fleet of hosts), SendPulse's limit (10
-- requests per second) is theirs together: a shared pacer keeps the
-- budget in one place. A pacer is any object with
-- `reserve(key, cap, window, limits)`, called with `:` before every
-- request (token fetches and retries included), returning:
--
-- * a number: the seconds to wait before sending (the slot is reserved),
--   optionally with a handle for `sent`;
-- * a number and `false`: no slot was taken yet; the client waits that
--   long and asks again (a pacer that takes slots only when they are
--   near);
-- * `false, retry_after, name`: a hard limit (the plan's day) is spent;
--   the call fails with `kind = "rate_limit"`, sending nothing;
-- * `nil, message`: the pacer cannot decide now (its backend failed); the
--   client paces on its own for this request and reports the failure
--   through `on_store_error`.
--
-- The client's core decides about the wait: one that would outlast the
-- call's `call_timeout` fails the call at once (`kind = "rate_limit"`,
-- `retry_after`). A pacer with `sent(key, handle, left_at)` is told when
-- the request of a slot left (`left_at`, monotonic seconds, or nil: now),
-- so that it can count from then.
--
-- Anything else (a raise, a string, a negative number) is a bug in the
-- pacer: the call fails with `kind = "callback"`, having sent nothing. A
-- pacer must not yield (inside nginx it may).
--
-- Each kind of pacer is a module of its own, loaded when first used.
-- @module sendpulse.pacers
local _M = {}

--- A `lua_shared_dict`: one rate budget for every nginx worker (see
-- `sendpulse.pacers.ngx_shared`).
-- @tparam string dict_name
-- @treturn table the pacer
function _M.ngx_shared(dict_name)
  return require("sendpulse.pacers.ngx_shared").new(dict_name)
end

--- Redis: one rate budget for a fleet of hosts, timed by the Redis
-- server's clock (see `sendpulse.pacers.redis`).
-- @tparam table opts as `sendpulse.stores.redis`
-- @treturn table the pacer
function _M.redis(opts)
  return require("sendpulse.pacers.redis").new(opts)
end

return _M
