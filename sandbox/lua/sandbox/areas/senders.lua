-- Email senders: the addresses campaigns may be sent from.
--
-- A sender is added "Waiting for activation"; GET /senders/{email}/code
-- "sends" the activation mail, and POST /senders/{email}/code with the
-- code activates it. The sandbox has no mailbox to read the code from, so
-- the code is always ACTIVATION_CODE ("123456"). A second activation mail
-- within 15 minutes is refused (1004), as the real service does.
-- Addresses at free mail services (gmail.com, yahoo.com, ...) are refused
-- (error 20); see is_free_mail, which other areas use too.

local type = type
local ipairs = ipairs
local str_lower = string.lower
local str_match = string.match
local table_remove = table.remove

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

_M.ACTIVATION_CODE = "123456"
_M.MAX_SENDERS = 10
_M.RESEND_WAIT = 15 * 60

_M.ACTIVE = "Active"
_M.WAITING = "Waiting for activation"

-- Domains of free mail services, whose addresses cannot be senders.
local FREE_MAIL = {}
for _, d in ipairs({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com",
    "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
    "mail.ru", "inbox.ru", "list.ru", "bk.ru", "yandex.ru", "yandex.com",
    "ya.ru", "rambler.ru", "ukr.net", "i.ua", "meta.ua", "gmx.com", "gmx.de",
    "gmx.net", "web.de", "proton.me", "protonmail.com", "zoho.com",
}) do
    FREE_MAIL[d] = true
end

local senders -- list of {name, email, status, code_sent_at}, in insertion order

function _M.reset()
    senders = {}
end

_M.reset()

--- true when the address (or a bare domain) belongs to a free mail service.
function _M.is_free_mail(email)
    if type(email) ~= "string" then
        return false
    end
    local domain = str_match(email, "@([^@]+)$") or email
    return FREE_MAIL[str_lower(domain)] == true
end

local function find_index(email)
    if type(email) ~= "string" then
        return nil
    end
    local key = str_lower(email)
    for i, s in ipairs(senders) do
        if str_lower(s.email) == key then
            return i
        end
    end
    return nil
end

--- For other areas: the sender with this address, or nil.
function _M.find(email)
    local i = find_index(email)
    return i and senders[i] or nil
end

--- For other areas (SMTP): the addresses of the active senders.
function _M.active_emails()
    local out = util.array()
    for _, s in ipairs(senders) do
        if s.status == _M.ACTIVE then
            out[#out + 1] = s.email
        end
    end
    return out
end

local function view(s)
    return { name = s.name, email = s.email, status = s.status }
end

-- GET /senders
local function list_senders()
    local out = util.array()
    for i, s in ipairs(senders) do
        out[i] = view(s)
    end
    return 200, out
end

-- POST /senders
local function add_sender(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local name = type(params.name) == "string" and util.trim(params.name) or ""
    if name == "" then
        return seed_errors.answer(400, 901)
    end
    local email = params.email
    if email == nil or email == "" then
        return seed_errors.answer(400, 903)
    end
    if not util.valid_email(email) then
        return seed_errors.answer(400, 906)
    end
    if _M.is_free_mail(email) then
        return seed_errors.answer(400, 20)
    end
    if find_index(email) then
        return seed_errors.answer(400, 902)
    end
    if #senders >= _M.MAX_SENDERS then
        return seed_errors.answer(400, 905)
    end
    senders[#senders + 1] = { name = name, email = email, status = _M.WAITING }
    return 200, { result = true }
end

-- DELETE /senders, with the address in the body
local function delete_sender(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    if params.email == nil or params.email == "" then
        return seed_errors.answer(400, 903)
    end
    local i = find_index(params.email)
    if not i then
        return seed_errors.answer(404, 1003)
    end
    table_remove(senders, i)
    return 200, { result = true }
end

-- GET /senders/{email}/code: "sends" the activation mail
local function send_code(req, params)
    local s = _M.find(params.email)
    if not s then
        return seed_errors.answer(404, 1003)
    end
    if s.status ~= _M.WAITING then
        return seed_errors.answer(400, 21)
    end
    if s.code_sent_at and req.time - s.code_sent_at < _M.RESEND_WAIT then
        return seed_errors.answer(400, 1004)
    end
    s.code_sent_at = req.time
    return 200, { result = true }
end

-- POST /senders/{email}/code
local function activate(req, params)
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local code = body_params.code
    if type(code) == "number" then
        code = ("%d"):format(code)
    end
    if type(code) ~= "string" or code == "" then
        return seed_errors.answer(400, 1104)
    end
    local s = _M.find(params.email)
    if not s then
        return seed_errors.answer(404, 1003)
    end
    if s.status ~= _M.WAITING or code ~= _M.ACTIVATION_CODE then
        return seed_errors.answer(400, 21)
    end
    s.status = _M.ACTIVE
    s.code_sent_at = nil
    return 200, { result = true }
end

_M.routes = {
    { "GET",    "/senders", list_senders },
    { "POST",   "/senders", add_sender },
    { "DELETE", "/senders", delete_sender },
    { "GET",    "/senders/{email}/code", send_code },
    { "POST",   "/senders/{email}/code", activate },
}

return _M
