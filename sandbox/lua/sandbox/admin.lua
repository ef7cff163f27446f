-- Admin API under /__sandbox: no authentication, not counted, not rate
-- limited, never subject to faults. Tests use it to reset the state, tune
-- the configuration, inspect what the client sent and arm faults.

local tostring = tostring

local util = require "sandbox.util"
local config = require "sandbox.config"
local stats = require "sandbox.stats"
local faults = require "sandbox.faults"
local auth = require "sandbox.auth"

local _M = {}

_M.PREFIX = "/__sandbox"

-- set by app.lua: resets every module's state
_M.reset_all = nil

local function bad_request(message)
    return util.api_error(400, 400, message)
end

-- The JSON object in an admin request body ({} when the body is empty).
local function json_object(req)
    if req.body == nil or req.body == "" then
        return {}
    end
    local value, err = util.decode(req.body)
    if value == nil then
        return nil, "the body is not valid JSON: " .. tostring(err)
    end
    if not util.is_object(value) then
        return nil, "the body must be a JSON object"
    end
    return value
end

local function health()
    return 200, { ok = true }
end

local function reset()
    _M.reset_all()
    return 200, { ok = true }
end

local function get_config()
    return 200, config.describe()
end

local function set_config(req)
    local changes, err = json_object(req)
    if not changes then
        return bad_request(err)
    end
    local ok, update_err = config.update(changes)
    if not ok then
        return bad_request(update_err)
    end
    return 200, config.describe()
end

local function get_stats()
    return 200, stats.snapshot()
end

local function get_log(req)
    local since = util.parse_count(req.args().since, 0)
    if not since then
        return bad_request("since must be a non-negative integer (a log entry index)")
    end
    local entries, last = stats.log(since)
    return 200, { entries = entries, last_index = last }
end

-- what the generated layer serves, per service (sandbox.generic)
local function operations()
    return 200, { services = require("sandbox.generic").summary() }
end

local function revoke()
    return 200, { revoked = auth.revoke_all() }
end

local function arm_fault(req)
    local spec, err = json_object(req)
    if not spec then
        return bad_request(err)
    end
    local count, arm_err = faults.arm(spec)
    if not count then
        return bad_request(arm_err)
    end
    return 200, { armed = count }
end

local function list_faults()
    return 200, { faults = faults.list() }
end

local function clear_faults()
    return 200, { cleared = faults.clear(), armed = 0 }
end

local P = _M.PREFIX
_M.routes = {
    { "GET",    P .. "/health", health },
    { "POST",   P .. "/reset", reset },
    { "GET",    P .. "/config", get_config },
    { "POST",   P .. "/config", set_config },
    { "GET",    P .. "/stats", get_stats },
    { "GET",    P .. "/log", get_log },
    { "GET",    P .. "/operations", operations },
    { "POST",   P .. "/revoke", revoke },
    { "POST",   P .. "/faults", arm_fault },
    { "GET",    P .. "/faults", list_faults },
    { "DELETE", P .. "/faults", clear_faults },
}

return _M
