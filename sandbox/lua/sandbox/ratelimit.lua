-- Rate limit and quotas.
--
-- The per-second limit is the real API's "More than 10 requests per
-- second" (error_code 2020202020): a sliding 1.0 s window over the
-- requests that were admitted, so rejected requests do not extend the ban.
--
-- The quotas are the plans' (the seed: Free 1,000 per minute and 500,000
-- per day, Standard 2,000 and 1 million, Enterprise 3,000 and 3 million),
-- off unless armed through config: `per_minute` is a sliding 60 s window
-- over admitted requests, `per_day` counts the admitted requests of the
-- UTC calendar day (both count from the start, armed or not, and the
-- token endpoint too, like the per-second limit). Beyond a quota the
-- answer is a 429 whose body and
-- Retry-After say which quota and when it renews. A spent quota answers
-- before the per-second limit is looked at.

local ngx = ngx
local math_ceil = math.ceil
local math_floor = math.floor
local math_max = math.max
local str_format = string.format
local tostring = tostring

local util = require "sandbox.util"
local config = require "sandbox.config"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

local DAY = 86400

local admitted        -- deque of the admission times within the last second
local minute          -- deque of the admission times within the last minute
local day_number      -- the UTC day `today` counts
local today           -- requests admitted during that day
local rejected        -- answers given: per_second, per_minute, per_day

function _M.reset()
    admitted = util.deque()
    minute = util.deque()
    day_number = nil
    today = 0
    rejected = { per_second = 0, per_minute = 0, per_day = 0 }
end

_M.reset()

local function armed(limit)
    return limit and limit > 0
end

--- Returns true when the request may proceed; otherwise false, the limit
-- it broke ("per_second", "per_minute" or "per_day") and the seconds
-- until a request would be admitted again.
function _M.admit(now)
    local per_minute, per_day, limit = config.per_minute, config.per_day, config.rate_limit
    local dn = math_floor(now / DAY)
    if dn ~= day_number then
        day_number, today = dn, 0
    end
    if armed(per_day) and today >= per_day then
        rejected.per_day = rejected.per_day + 1
        return false, "per_day", (dn + 1) * DAY - now
    end
    minute:drop_until(now - 60.0)
    if armed(per_minute) then
        if minute:size() >= per_minute then
            rejected.per_minute = rejected.per_minute + 1
            return false, "per_minute", minute:peek() + 60.0 - now
        end
    end
    if armed(limit) then
        admitted:drop_until(now - 1.0)
        if admitted:size() >= limit then
            rejected.per_second = rejected.per_second + 1
            return false, "per_second", 1
        end
        admitted:push(now)
    end
    minute:push(now)
    today = today + 1
    return true
end

--- The 429 answer for the limit admit() named: status, body, headers.
function _M.too_many_requests(which, retry_after)
    if which == "per_minute" or which == "per_day" then
        local quota = which == "per_minute" and config.per_minute or config.per_day
        local status, body = util.api_error(429, 429, str_format(
            "The %s quota of %d requests is spent", which == "per_minute"
            and "per-minute" or "per-day", quota))
        body.quota = which
        body.limit = quota
        body.retry_after = math_max(1, math_ceil(retry_after))
        return status, body, { ["Retry-After"] = tostring(body.retry_after),
                               ["X-Sandbox-Quota"] = which }
    end
    local status, body = seed_errors.answer(429, 2020202020)
    return status, body, { ["Retry-After"] = "1" }
end

--- What the limits answered and how much of the quotas is used.
function _M.snapshot()
    ngx.update_time()
    local now = ngx.now()
    minute:drop_until(now - 60.0)
    local dn = math_floor(now / DAY)
    return {
        rejected_per_second = rejected.per_second,
        rejected_per_minute = rejected.per_minute,
        rejected_per_day = rejected.per_day,
        last_minute = minute:size(),
        today = dn == day_number and today or 0,
        day_renews_in = (dn + 1) * DAY - now,
    }
end

return _M
