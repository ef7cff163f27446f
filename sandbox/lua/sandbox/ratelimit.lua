-- Requests-per-second limit, as the real API's "More than 10 requests per
-- second" (error_code 2020202020). A sliding 1.0 s window over the requests
-- that were admitted: rejected requests do not extend the ban.

local util = require "sandbox.util"
local config = require "sandbox.config"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

local admitted -- deque of the admission times within the last second

function _M.reset()
    admitted = util.deque()
end

_M.reset()

--- Returns true when the request may proceed, false when it must get 429.
function _M.admit(now)
    local limit = config.rate_limit
    if not limit or limit <= 0 then
        return true
    end
    admitted:drop_until(now - 1.0)
    if admitted:size() >= limit then
        return false
    end
    admitted:push(now)
    return true
end

--- The 429 answer: status, body, headers.
function _M.too_many_requests()
    local status, body = seed_errors.answer(429, 2020202020)
    return status, body, { ["Retry-After"] = "1" }
end

return _M
