-- Email verification ("verifier-service").
--
-- Paths are matched as sent, trailing slashes included, as the service
-- writes them: send-list-to-verify/, get-progress/, check/,
-- send-single-to-verify/ and get-single-result/ end with "/", check-list,
-- delete-single-result, make-report and check-report do not.
--
-- The sandbox verifies at once: a list sent to verification is complete
-- when the answer comes back (get-progress reports processed = total).
-- Each address is judged by fixed rules (see judge):
--   invalid (3)      not exactly one "@", a domain ending in ".invalid",
--                    or a disposable-mail domain (DISPOSABLE)
--   unconfirmed (2)  a local part of 6 or more characters with no vowel
--                    (flagged as gibberish)
--   valid (1)        everything else
-- Addresses at free mail services are flagged `webmail`, which does not
-- change the status. A verified list keeps a snapshot of its addresses;
-- verifying it again replaces the snapshot (`is_updated` = 1).
--
-- delete-single-result is a GET, as the catalog writes it; the address is
-- read from the query string (`?email=`) or, as the Go SDK sends it, from a
-- JSON body.

local ngx = ngx
local type = type
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local str_lower = string.lower
local str_match = string.match
local str_find = string.find

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local addressbooks = require "sandbox.areas.addressbooks"

local _M = {}

_M.MAX_COUNT = 100

_M.UNVERIFIED, _M.VALID, _M.UNCONFIRMED, _M.INVALID = 0, 1, 2, 3

local STATUS_TEXT = {
    [0] = "Unverified", [1] = "Valid address", [2] = "Unconfirmed address",
    [3] = "Invalid address",
}

local DISPOSABLE = {
    ["mailinator.com"] = true, ["guerrillamail.com"] = true,
    ["10minutemail.com"] = true, ["yopmail.com"] = true,
    ["trashmail.com"] = true, ["tempmail.com"] = true,
}

local WEBMAIL = {
    ["gmail.com"] = true, ["yahoo.com"] = true, ["hotmail.com"] = true,
    ["outlook.com"] = true, ["mail.ru"] = true, ["yandex.ru"] = true,
    ["ukr.net"] = true, ["icloud.com"] = true, ["aol.com"] = true,
}

local lists       -- book id -> verification of that list
local list_order  -- book ids, in the order they were first verified
local singles     -- lower-cased email -> {email, checks}
local next_address_id

function _M.reset()
    lists = {}
    list_order = {}
    singles = {}
    next_address_id = 1
end

_M.reset()

-- A list that exists but was never verified has "No data" (8).
local function not_verified()
    return seed_errors.answer(404, 8)
end

--- The checks of one address: {status, valid_format, disposable, webmail,
-- gibberish, status_text} (flags are 0/1, as the service sends them).
function _M.judge(email)
    local checks = { valid_format = 1, disposable = 0, webmail = 0, gibberish = 0 }
    local local_part, domain = str_match(email, "^([^@%s]+)@([^@%s]+)$")
    local status = _M.VALID
    if not local_part then
        checks.valid_format = 0
        status = _M.INVALID
    else
        domain = str_lower(domain)
        if DISPOSABLE[domain] then
            checks.disposable = 1
            status = _M.INVALID
        elseif str_find(domain, "%.invalid$") then
            status = _M.INVALID
        elseif #local_part >= 6 and not str_find(str_lower(local_part), "[aeiouy]") then
            checks.gibberish = 1
            status = _M.UNCONFIRMED
        end
        if WEBMAIL[domain] then
            checks.webmail = 1
        end
    end
    checks.status = status
    checks.status_text = STATUS_TEXT[status]
    return checks
end

-- A positive integer from a query or body field (number or digits).
local function positive_id(value)
    local id = util.parse_id(value)
    if id and id >= 1 then
        return id
    end
    return nil
end

-- The summary of a verified list, as check-list shows it.
local function summary(v)
    local counts = { ["0"] = 0, ["1"] = 0, ["2"] = 0, ["3"] = 0 }
    local garbage = false
    for _, a in ipairs(v.addresses) do
        local key = tostring(a.status)
        counts[key] = counts[key] + 1
        if a.status == _M.INVALID then
            garbage = true
        end
    end
    return {
        id = v.id,
        address_book_name = v.name,
        all_emails_quantity = #v.addresses,
        status = 1,
        check_date = v.check_date,
        data = counts,
        is_updated = v.updated and 1 or 0,
        status_text = "Verified",
        is_garbage_in_book = garbage,
    }
end

-- The detailed result, optionally keeping only some statuses.
local function detailed(v, statuses)
    local out = summary(v)
    local addresses = util.array()
    for _, a in ipairs(v.addresses) do
        if not statuses or statuses[a.status] then
            addresses[#addresses + 1] = {
                id = a.id,
                email_address = a.email,
                check_date = v.check_date,
                status = a.status,
                status_text = STATUS_TEXT[a.status],
            }
        end
    end
    out.email_addresses = addresses
    out.email_addresses_total = #addresses
    return out
end

-- POST /verifier-service/send-list-to-verify {id}
local function verify_list(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    if params.id == nil then
        return seed_errors.answer(400, 722)
    end
    local book = addressbooks.find(positive_id(params.id) or -1)
    if not book then
        return seed_errors.answer(404, 213)
    end
    if #book.contacts == 0 then
        return seed_errors.answer(400, 211)
    end
    local addresses = {}
    for i, contact in ipairs(book.contacts) do
        addresses[i] = { id = next_address_id, email = contact.email,
                         status = _M.judge(contact.email).status }
        next_address_id = next_address_id + 1
    end
    local previous = lists[book.id]
    if not previous then
        list_order[#list_order + 1] = book.id
    end
    lists[book.id] = {
        id = book.id, name = book.name, check_date = ngx.utctime(),
        addresses = addresses, updated = previous ~= nil,
    }
    return 200, { result = true }
end

-- The verification named by ?id=, or nil plus the error answer.
local function verification_of(req)
    local id = positive_id(req.args().id)
    if not id then
        return nil, seed_errors.answer(400, 722)
    end
    local v = lists[id]
    if v then
        return v
    end
    if addressbooks.find(id) then
        return nil, not_verified()
    end
    return nil, seed_errors.answer(404, 213)
end

-- GET /verifier-service/get-progress?id=
local function progress(req)
    local v, status, body = verification_of(req)
    if not v then
        return status, body
    end
    return 200, { result = true,
                  data = { total = #v.addresses, processed = #v.addresses } }
end

-- GET /verifier-service/check?id=
local function check(req)
    local v, status, body = verification_of(req)
    if not v then
        return status, body
    end
    return 200, detailed(v)
end

-- GET /verifier-service/check-list?start=&count=
local function check_list(req)
    local count, start, status, body =
        util.pagination(req.args(), _M.MAX_COUNT, "count", "start")
    if not count then
        return status, body
    end
    local list = util.slice(list_order, start, count, function(id)
        return summary(lists[id])
    end)
    return 200, { total = #list_order, list = list }
end

-- POST /verifier-service/send-single-to-verify {email}
local function verify_single(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local email = params.email
    if type(email) ~= "string" or email == "" then
        return seed_errors.answer(400, 1101)
    end
    singles[str_lower(email)] = { email = email, checks = _M.judge(email) }
    return 200, { result = true }
end

-- GET /verifier-service/get-single-result?email=
local function single_result(req)
    local email = req.args().email
    if type(email) ~= "string" or email == "" then
        return seed_errors.answer(400, 1101)
    end
    local entry = singles[str_lower(email)]
    if not entry then
        return seed_errors.answer(404, 17)
    end
    return 200, { result = true, data = { email = entry.email, checks = entry.checks } }
end

-- GET /verifier-service/delete-single-result?email= (or a JSON body)
local function delete_single(req)
    local email = req.args().email
    if type(email) ~= "string" or email == "" then
        local params = util.decode_body(req.body, req.content_type)
        email = type(params) == "table" and params.email or nil
    end
    if type(email) ~= "string" or email == "" then
        return seed_errors.answer(400, 1101)
    end
    local key = str_lower(email)
    if not singles[key] then
        return seed_errors.answer(404, 17)
    end
    singles[key] = nil
    return 200, { result = true }
end

-- POST /verifier-service/make-report {id, format, status[], lang}
local function make_report(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    if params.id == nil then
        return seed_errors.answer(400, 722)
    end
    local id = positive_id(params.id)
    local v = id and lists[id]
    if not v then
        if id and addressbooks.find(id) then
            return not_verified()
        end
        return seed_errors.answer(404, 213)
    end
    local statuses
    local wanted = params.status
    if type(wanted) == "string" then -- the Go SDK sends "[1,2,3]"
        wanted = util.decode(wanted)
    end
    if type(wanted) == "table" and #wanted > 0 then
        statuses = {}
        for _, s in ipairs(wanted) do
            local n = tonumber(s)
            if not n or not STATUS_TEXT[n] then
                return util.invalid("status")
            end
            statuses[n] = true
        end
    end
    v.report = { format = params.format, lang = params.lang, statuses = statuses }
    return 200, { result = true }
end

-- GET /verifier-service/check-report?id=
local function check_report(req)
    local v, status, body = verification_of(req)
    if not v then
        return status, body
    end
    if not v.report then
        return not_verified()
    end
    return 200, detailed(v, v.report.statuses)
end

_M.routes = {
    { "POST", "/verifier-service/send-list-to-verify", verify_list },
    { "GET",  "/verifier-service/get-progress", progress },
    { "GET",  "/verifier-service/check", check },
    { "GET",  "/verifier-service/check-list", check_list },
    { "POST", "/verifier-service/send-single-to-verify", verify_single },
    { "GET",  "/verifier-service/get-single-result", single_result },
    { "GET",  "/verifier-service/delete-single-result", delete_single },
    { "POST", "/verifier-service/make-report", make_report },
    { "GET",  "/verifier-service/check-report", check_report },
}

return _M
