-- The email blacklist.
--
-- POST and DELETE /blacklist carry `emails` as base64 of a comma-separated
-- list of addresses, as the real API wants; the sandbox decodes it, splits
-- it on commas and trims each address. Something that is not base64 is
-- badly formed data (999); an address without exactly one "@" rejects the
-- whole request (906) and nothing is added. Entries keep their insertion
-- order; addresses are matched without regard to case and keep their first
-- spelling. GET /blacklist lists the addresses as strings.
--
-- For other areas: contains(email) tells whether an address is
-- blacklisted (SMTP, campaigns and the emails area use it).

local ngx = ngx
local type = type
local ipairs = ipairs
local str_gmatch = string.gmatch
local str_lower = string.lower

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local addressbooks = require "sandbox.areas.addressbooks"

local _M = {}

local entries  -- list of {email, comment, add_date}, in insertion order
local by_email -- lower-cased email -> entry

function _M.reset()
    entries = {}
    by_email = {}
end

_M.reset()

--- For other areas: whether the address is blacklisted.
function _M.contains(email)
    return type(email) == "string" and by_email[str_lower(email)] ~= nil
end

--- For other areas: the entry of a blacklisted address
-- (`{email, comment, add_date}`), or nil.
function _M.find(email)
    return type(email) == "string" and by_email[str_lower(email)] or nil
end

-- The addresses of a request's base64 `emails` field, or nil plus the
-- error answer.
local function decoded_emails(req)
    local params, status, body = util.request_params(req)
    if not params then
        return nil, status, body
    end
    local encoded = params.emails
    if encoded == nil or encoded == "" then
        return nil, seed_errors.answer(400, 8)
    end
    if type(encoded) ~= "string" then
        return nil, util.badly_formed()
    end
    local text = ngx.decode_base64(encoded)
    if not text then
        return nil, util.badly_formed()
    end
    local list = {}
    for item in str_gmatch(text, "[^,]+") do
        local email = util.trim(item)
        if email ~= "" then
            if not addressbooks.valid_email(email) then
                return nil, seed_errors.answer(400, 906)
            end
            list[#list + 1] = email
        end
    end
    if #list == 0 then
        return nil, seed_errors.answer(400, 8)
    end
    return list, params
end

-- POST /blacklist
local function add(req)
    local list, params, body = decoded_emails(req)
    if not list then
        return params, body
    end
    local comment = type(params.comment) == "string" and params.comment or nil
    local now = ngx.utctime()
    for _, email in ipairs(list) do
        local key = str_lower(email)
        local entry = by_email[key]
        if entry then
            entry.comment = comment or entry.comment
        else
            entry = { email = email, comment = comment, add_date = now }
            by_email[key] = entry
            entries[#entries + 1] = entry
        end
    end
    return 200, { result = true }
end

-- GET /blacklist?limit=&offset=
local function list_entries(req)
    local limit, offset, status, body = util.pagination(req.args(), addressbooks.MAX_LIMIT)
    if not limit then
        return status, body
    end
    return 200, util.slice(entries, offset, limit, function(entry)
        return entry.email
    end)
end

-- DELETE /blacklist (a DELETE with a body); addresses not listed are
-- skipped
local function remove(req)
    local list, status, body = decoded_emails(req)
    if not list then
        return status, body
    end
    local removed = false
    for _, email in ipairs(list) do
        local key = str_lower(email)
        if by_email[key] then
            by_email[key].removed = true
            by_email[key] = nil
            removed = true
        end
    end
    if removed then
        local kept = {}
        for _, entry in ipairs(entries) do
            if not entry.removed then
                kept[#kept + 1] = entry
            end
        end
        entries = kept
    end
    return 200, { result = true }
end

_M.routes = {
    { "GET",    "/blacklist", list_entries },
    { "POST",   "/blacklist", add },
    { "DELETE", "/blacklist", remove },
}

return _M
