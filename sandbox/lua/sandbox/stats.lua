-- What the sandbox observed: request counters, the request log (last
-- LOG_SIZE API requests) and the peak arrival rate. Admin requests are not
-- recorded here.

local type = type
local pairs = pairs
local util = require "sandbox.util"
local ratelimit = require "sandbox.ratelimit"

local math_max = math.max

local _M = {}

_M.LOG_SIZE = 500
_M.MAX_LOGGED_BODY = 1024 * 1024 -- bytes of each request body kept in the log
_M.TOKEN_PATH = "/oauth/access_token"

local counters      -- { total, token_requests, rejected_429, faults_applied }
local per_route     -- "METHOD /path" -> count
local log_entries   -- index -> entry, only the last LOG_SIZE indexes kept
local last_index    -- index of the newest log entry (0 when none)
local arrivals      -- deque of arrival times within the last second
local peak_per_second

function _M.reset()
    counters = { total = 0, token_requests = 0, rejected_429 = 0, faults_applied = 0 }
    per_route = {}
    log_entries = {}
    last_index = 0
    arrivals = util.deque()
    peak_per_second = 0
end

_M.reset()

local function authorization_scheme(value)
    if type(value) == "string" and value:match("^%s*[Bb][Ee][Aa][Rr][Ee][Rr]%s") then
        return "Bearer"
    end
    return nil
end

--- Records an API request on arrival and returns its log entry (the caller
-- fills in entry.status once the answer is known).
function _M.record_arrival(req)
    local now = req.time

    counters.total = counters.total + 1
    if req.path == _M.TOKEN_PATH then
        -- every request to the token path, whatever the outcome
        counters.token_requests = counters.token_requests + 1
    end
    local key = req.method .. " " .. req.path
    per_route[key] = (per_route[key] or 0) + 1

    -- peak rate: the arrivals in the 1.0 s window ending now; the busiest
    -- window always ends on an arrival, so checking at each arrival finds it.
    arrivals:drop_until(now - 1.0)
    arrivals:push(now)
    peak_per_second = math_max(peak_per_second, arrivals:size())

    last_index = last_index + 1
    local entry = {
        index = last_index,
        method = req.method,
        path = req.path,
        query = req.query,
        content_type = req.content_type,
        body = req.body,
        body_size = req.body and #req.body or nil,
        -- the scheme only: the token or key itself is never stored
        authorization_scheme = authorization_scheme(req.authorization),
        user_agent = req.user_agent,
        time = now,
    }
    if req.body and #req.body > _M.MAX_LOGGED_BODY then
        -- 500 entries of huge bodies would eat the worker's memory
        entry.body = req.body:sub(1, _M.MAX_LOGGED_BODY)
        entry.body_truncated = true
    end
    log_entries[last_index] = entry
    log_entries[last_index - _M.LOG_SIZE] = nil
    return entry
end

function _M.count_rejected_429()
    counters.rejected_429 = counters.rejected_429 + 1
end

function _M.count_fault()
    counters.faults_applied = counters.faults_applied + 1
end

function _M.snapshot()
    local requests = {}
    for k, v in pairs(per_route) do
        requests[k] = v
    end
    return {
        total = counters.total,
        token_requests = counters.token_requests,
        rejected_429 = counters.rejected_429,
        faults_applied = counters.faults_applied,
        peak_per_second = peak_per_second,
        limits = ratelimit.snapshot(),
        requests = requests, -- an empty table encodes as {}
    }
end

--- Log entries with index > since, oldest first.
function _M.log(since)
    local out = util.array()
    local first = math_max((since or 0) + 1, last_index - _M.LOG_SIZE + 1, 1)
    for i = first, last_index do
        out[#out + 1] = log_entries[i]
    end
    return out, last_index
end

return _M
