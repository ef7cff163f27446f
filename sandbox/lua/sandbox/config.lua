-- Run-time configuration of the sandbox (changed through
-- POST /__sandbox/config, restored by POST /__sandbox/reset).

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local table_sort = table.sort
local math_floor = math.floor

local util = require "sandbox.util"

local _M = {}

_M.DEFAULT_CLIENT_ID = "sandbox-client-id"
_M.DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
_M.DEFAULT_API_KEY = "sandbox-api-key"
_M.DEFAULT_TOKEN_LIFETIME = 3600
_M.DEFAULT_RATE_LIMIT = 10

-- The live values. Modules read these fields on every request, so a change
-- applies immediately.
_M.token_lifetime = _M.DEFAULT_TOKEN_LIFETIME -- seconds
_M.rate_limit = _M.DEFAULT_RATE_LIMIT         -- requests per second, 0 = off
_M.per_minute = 0                             -- quota per sliding minute, 0 = off
_M.per_day = 0                                -- quota per UTC day, 0 = off
_M.accounts = {}                              -- client_id -> client_secret
_M.api_keys = {}                              -- api key -> true

function _M.reset()
    _M.token_lifetime = _M.DEFAULT_TOKEN_LIFETIME
    _M.rate_limit = _M.DEFAULT_RATE_LIMIT
    _M.per_minute = 0
    _M.per_day = 0
    _M.accounts = { [_M.DEFAULT_CLIENT_ID] = _M.DEFAULT_CLIENT_SECRET }
    _M.api_keys = { [_M.DEFAULT_API_KEY] = true }
end

_M.reset()

--- The configuration as shown to admin callers: no secrets, only the
-- account ids and the number of API keys.
function _M.describe()
    local ids = util.array()
    for id in pairs(_M.accounts) do
        ids[#ids + 1] = id
    end
    table_sort(ids)
    local n_keys = 0
    for _ in pairs(_M.api_keys) do
        n_keys = n_keys + 1
    end
    return {
        token_lifetime = _M.token_lifetime,
        rate_limit = _M.rate_limit,
        per_minute = _M.per_minute,
        per_day = _M.per_day,
        accounts = ids,
        api_keys = n_keys,
    }
end

local function is_string_map(v)
    if not util.is_object(v) then
        return false
    end
    for k, s in pairs(v) do
        if type(k) ~= "string" or type(s) ~= "string" then
            return false
        end
    end
    return true
end

--- Validates then applies a config change; nothing is applied when any
-- field is invalid. Returns true, or nil and an error message.
function _M.update(changes)
    local lifetime, rate = changes.token_lifetime, changes.rate_limit
    local accounts, keys = changes.accounts, changes.api_keys

    if lifetime ~= nil and (type(lifetime) ~= "number" or lifetime < 0) then
        return nil, "token_lifetime must be a number of seconds >= 0"
    end
    if rate ~= nil and (type(rate) ~= "number" or rate < 0) then
        return nil, "rate_limit must be a number >= 0 (0 turns it off)"
    end
    for _, name in ipairs({ "per_minute", "per_day" }) do
        local v = changes[name]
        if v ~= nil and (type(v) ~= "number" or v < 0 or v ~= math_floor(v)) then
            return nil, name .. " must be an integer >= 0 (0 turns the quota off)"
        end
    end
    if accounts ~= nil and not is_string_map(accounts) then
        return nil, "accounts must be an object mapping client_id to client_secret"
    end
    if keys ~= nil then
        if not util.is_array(keys) then
            return nil, "api_keys must be an array of strings"
        end
        for _, k in ipairs(keys) do
            if type(k) ~= "string" or k == "" then
                return nil, "api_keys must be an array of non-empty strings, got "
                            .. tostring(k)
            end
        end
    end

    if lifetime ~= nil then
        _M.token_lifetime = lifetime
    end
    if rate ~= nil then
        _M.rate_limit = rate
    end
    if changes.per_minute ~= nil then
        _M.per_minute = changes.per_minute
    end
    if changes.per_day ~= nil then
        _M.per_day = changes.per_day
    end
    if accounts ~= nil then
        for id, secret in pairs(accounts) do
            _M.accounts[id] = secret
        end
    end
    if keys ~= nil then
        for _, k in ipairs(keys) do
            _M.api_keys[k] = true
        end
    end
    return true
end

return _M
