-- OAuth 2.0 client-credentials token endpoint and Bearer checks.
--
-- Issued tokens are JWT-looking strings well over 1 KB (real ones are), made
-- of base64url segments only. They are valid until their expiry, until
-- POST /__sandbox/revoke, or until a reset. Configured API keys are
-- accepted as Bearer tokens too and never expire.
-- For the web page, each issue is also noted without the token: when, for
-- which client id, until when (the newest MAX_GRANTS).

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local string_char = string.char
local math_random = math.random
local math_floor = math.floor
local table_concat = table.concat
local table_remove = table.remove

local util = require "sandbox.util"
local config = require "sandbox.config"

local _M = {}

_M.MIN_TOKEN_LENGTH = 1200
_M.MAX_GRANTS = 500

local issued         -- token -> expiry time (ngx.now() seconds)
local issued_count   -- number of entries in `issued`
local serial = 0     -- makes every token unique, survives resets
local grants         -- {time, client_id, expires, revoked}, oldest first

local function forget_tokens()
    issued = {}
    issued_count = 0
end

function _M.reset()
    forget_tokens()
    grants = {}
end

_M.reset()

--- Forgets every issued token (API keys stay valid).
function _M.revoke_all()
    local n = issued_count
    forget_tokens()
    for _, g in ipairs(grants) do
        g.revoked = true
    end
    return n
end

--- For the web page: the tokens issued since the last reset, oldest
-- first, as `{time, client_id, expires, revoked}`; never the tokens.
function _M.grants()
    return grants
end

local function base64url(s)
    local b64 = ngx.encode_base64(s, true) -- true: no "=" padding
    return (b64:gsub("[+/]", { ["+"] = "-", ["/"] = "_" }))
end

local function random_bytes(n)
    local bytes = {}
    for i = 1, n do
        bytes[i] = string_char(math_random(0, 255))
    end
    return table_concat(bytes)
end

local function new_token(client_id, now, lifetime)
    serial = serial + 1
    local jti = ngx.md5(serial .. ":" .. now .. ":" .. math_random())
                .. ngx.md5(client_id .. ":" .. serial)
    local header = util.encode({ typ = "JWT", alg = "RS256", jti = jti })
    local payload = util.encode({
        aud = ngx.md5(client_id),
        jti = jti,
        iat = math_floor(now),
        nbf = math_floor(now),
        exp = math_floor(now + lifetime),
        sub = "",
        scopes = util.array(),
        user = { id = 7043663, group_id = util.null, parent_id = util.null,
                 area = "rest" },
    })
    -- an RS256 signature is 256 bytes; use more so that the whole token is
    -- comfortably above MIN_TOKEN_LENGTH, like the real ones
    local signature = random_bytes(640)
    -- "SANDBOXTOKEN" in every token: a test can search any output for
    -- leaked tokens without knowing them
    local token = base64url(header) .. "." .. base64url(payload) .. "."
                  .. "SANDBOXTOKEN" .. base64url(signature)
    while #token < _M.MIN_TOKEN_LENGTH do
        token = token .. base64url(random_bytes(48))
    end
    return token
end

local function prune_expired(now)
    for token, expiry in pairs(issued) do
        if expiry <= now then
            issued[token] = nil
            issued_count = issued_count - 1
        end
    end
end

local function oauth_error(status, code, description)
    return status, { error = code, error_description = description,
                     message = description }
end

--- POST /oauth/access_token (JSON or form-encoded body).
function _M.access_token(req)
    local params = util.decode_body(req.body, req.content_type) or {}
    if params.grant_type ~= "client_credentials" then
        return oauth_error(400, "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.")
    end
    local id, secret = params.client_id, params.client_secret
    if type(id) ~= "string" or type(secret) ~= "string"
       or config.accounts[id] == nil or config.accounts[id] ~= secret
    then
        return oauth_error(401, "invalid_client", "Client authentication failed")
    end

    local now = req.time
    if issued_count > 1000 then
        prune_expired(now)
    end
    local lifetime = config.token_lifetime
    local token = new_token(id, now, lifetime)
    issued[token] = now + lifetime
    issued_count = issued_count + 1
    grants[#grants + 1] = { time = now, client_id = id, expires = now + lifetime }
    if #grants > _M.MAX_GRANTS then
        table_remove(grants, 1)
    end
    return 200, { access_token = token, token_type = "Bearer", expires_in = lifetime }
end

--- True when the request carries `Authorization: Bearer <X>` where X is an
-- unexpired issued token or a configured API key.
function _M.is_authorized(req)
    local value = req.authorization
    if type(value) ~= "string" then
        return false -- absent, or sent more than once
    end
    local credential = value:match("^%s*[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
    if not credential then
        return false
    end
    if config.api_keys[credential] then
        return true
    end
    local expiry = issued[credential]
    return expiry ~= nil and req.time < expiry
end

function _M.unauthorized()
    return oauth_error(401, "invalid_token", "The access token is invalid or has expired")
end

_M.routes = {
    { "POST", "/oauth/access_token", _M.access_token, public = true },
}

return _M
