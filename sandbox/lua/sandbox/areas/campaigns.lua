-- Email campaigns sent to a mailing list (or a segment of one).
--
-- Ids are integers from FIRST_ID, listed in creation order. Statuses:
--   13 scheduled  (a send_date in the future; editable and cancellable)
--    3 sent       (no send_date, or once the send_date has passed: the
--                  campaign goes out when it is next looked at)
--    4 cancelled  (DELETE while scheduled; it stays listed)
-- A sent campaign "delivers" to every contact of its list at that moment,
-- except the unsubscribed and the blacklisted (when those areas exist).
-- Its statistics are derived from that: countries count the recipients by
-- the country of their address's top-level domain (two letters, "uk" as
-- GB; anything else counts as US), referrals list the links of the body
-- with no clicks yet. Before sending, both answer `[]`, the way the real
-- API (PHP underneath) sends an empty map.
-- Segments are not modelled: a campaign to a segment_id has no recipients.
-- At most CAMPAIGNS_PER_HOUR campaigns can be created within an hour; the
-- next one gets 791. Reset clears that window.

local ngx = ngx
local type = type
local next = next
local pairs = pairs
local pcall = pcall
local require = require
local ipairs = ipairs
local str_lower = string.lower
local str_upper = string.upper
local str_match = string.match
local str_gmatch = string.gmatch
local table_concat = table.concat
local table_sort = table.sort

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local addressbooks = require "sandbox.areas.addressbooks"
local senders = require "sandbox.areas.senders"
local templates = require "sandbox.areas.templates"

local _M = {}

_M.FIRST_ID = 4100001
_M.MAX_LIMIT = 100
_M.CAMPAIGNS_PER_HOUR = 4
_M.CURRENCY = "USD"

_M.SENT = 3
_M.CANCELLED = 4
_M.SCHEDULED = 13

-- A send_date up to this many seconds in the past still counts as "now"
-- (clocks and the time the request took).
local PAST_TOLERANCE = 120

local campaigns -- list in creation order
local by_id
local next_id
local created_at -- creation times within the last hour, for the 791 limit

function _M.reset()
    campaigns = {}
    by_id = {}
    next_id = _M.FIRST_ID
    created_at = {}
end

_M.reset()

--- "YYYY-MM-DD HH:MM:SS" (UTC) -> seconds since the epoch, or nil. A bare
-- date, which util.epoch takes, is not a send_date.
function _M.parse_datetime(s)
    if type(s) ~= "string" or #s ~= 19 then
        return nil
    end
    return util.epoch(s)
end

-- An id as util.parse_id reads it, except that a JSON number must be
-- positive (a string of digits may still be "0").
local function parse_id(v)
    if type(v) == "number" and v <= 0 then
        return nil
    end
    return util.parse_id(v)
end

-- the country of an address, from its top-level domain
local function country_of(email)
    local tld = str_match(email, "%.(%a%a)$")
    if not tld then
        return "US"
    end
    tld = str_upper(tld)
    return tld == "UK" and "GB" or tld
end

-- The blacklist area (another module), when it is there.
local function blacklisted(email)
    local ok, blacklist = pcall(require, "sandbox.areas.blacklist")
    return ok and type(blacklist) == "table" and type(blacklist.contains) == "function"
           and blacklist.contains(email) or false
end

-- The addresses a campaign to this book goes to: its contacts, less the
-- unsubscribed and the blacklisted ones.
local function active_recipients(book)
    local unsubscribed = addressbooks.UNSUBSCRIBED
    local out = {}
    for _, contact in ipairs(book.contacts) do
        local active = unsubscribed == nil or contact.status ~= unsubscribed
        if active and not blacklisted(contact.email) then
            out[#out + 1] = contact.email
        end
    end
    return out
end

-- Sends a scheduled campaign whose time has come.
local function send(c, now)
    c.status = _M.SENT
    c.sent_at = now
    local book = c.list_id and addressbooks.find(c.list_id)
    c.recipients = book and active_recipients(book) or {}
    c.all_email_qty = #c.recipients
end

local function refresh(c, now)
    if c.status == _M.SCHEDULED and c.send_epoch <= now then
        send(c, now)
    end
    return c
end

local function find(id_text, now)
    local id = parse_id(id_text)
    local c = id and by_id[id]
    return c and refresh(c, now or ngx.now()) or nil
end

--- For other areas: the campaign with this id (a number or a decimal
-- string), or nil. Fields: id, name, status, list_id, segment_id,
-- sender_name, sender_email, subject, html, send_date, and once sent
-- `recipients` (a list of addresses).
function _M.find(id)
    return find(id)
end

--- For the web page: every campaign, in creation order (the ones whose
-- time has come marked sent first). Fields as for find(), plus
-- `attachments` and `attachments_binary` (name -> content, base64 for
-- the binary ones) when given.
function _M.all()
    local now = ngx.now()
    for _, c in ipairs(campaigns) do
        refresh(c, now)
    end
    return campaigns
end

--- For the address books area (GET /addressbooks/{id}/campaigns): the
-- campaigns sent or scheduled to a list, as `{task_id, task_name,
-- task_status}` objects in creation order.
function _M.for_book(book_id)
    local now = ngx.now()
    local out = util.array()
    for _, c in ipairs(campaigns) do
        if c.list_id == book_id then
            refresh(c, now)
            out[#out + 1] = { task_id = c.id, task_name = c.name, task_status = c.status }
        end
    end
    return out
end

local function attachment_names(c)
    local names = {}
    for name in pairs(c.attachments or {}) do
        names[#names + 1] = name
    end
    for name in pairs(c.attachments_binary or {}) do
        names[#names + 1] = name
    end
    table_sort(names)
    return table_concat(names, ",")
end

local function message_view(c, with_body)
    local m = {
        sender_name = c.sender_name,
        sender_email = c.sender_email,
        subject = c.subject,
        attachments = attachment_names(c), -- a string, "" when none
        list_id = c.list_id or util.null,
    }
    if c.segment_id then
        m.segment_id = c.segment_id
    end
    if with_body then
        m.body = c.html
    end
    return m
end

local function summary_view(c)
    return {
        id = c.id,
        name = c.name,
        message = message_view(c, false),
        status = c.status,
        all_email_qty = c.all_email_qty,
        tariff_email_qty = c.all_email_qty,
        paid_email_qty = 0,
        overdraft_price = 0,
        overdraft_currency = _M.CURRENCY,
        send_date = c.send_date,
    }
end

local function full_view(c)
    local v = summary_view(c)
    v.message = message_view(c, true)
    local n = c.status == _M.SENT and #c.recipients or 0
    v.statistics = {
        sent = n, delivered = n, opening = 0, link_redirected = 0,
        unsubscribe = 0, error = 0,
    }
    return v
end

-- A base64 field: the decoded text, or nil when it is not base64.
local function decode64(v)
    if type(v) ~= "string" or v == "" then
        return nil
    end
    return ngx.decode_base64(v)
end

-- A filename -> content map (attachments); base64 values when `binary`.
local function attachment_map(v, binary)
    if type(v) ~= "table" or not util.is_object(v) then
        return nil
    end
    local out = {}
    for name, content in pairs(v) do
        if type(name) ~= "string" or name == "" or type(content) ~= "string" then
            return nil
        end
        if binary and ngx.decode_base64(content) == nil then
            return nil
        end
        out[name] = content
    end
    return out
end

--[[
  Checks the fields of a create (partial = false) or edit (partial = true)
  request. Returns the checked fields, or nil plus the answer.
]]
local function check_fields(p, partial, now)
    local f = {}
    if partial then
        if p.sender_name ~= nil and not util.non_blank(p.sender_name)
           or p.sender_email ~= nil and not util.non_blank(p.sender_email) then
            return nil, seed_errors.answer(400, 701)
        end
    elseif not util.non_blank(p.sender_name) or not util.non_blank(p.sender_email) then
        return nil, seed_errors.answer(400, 701)
    end
    if p.sender_email ~= nil then
        if not util.valid_email(p.sender_email) then
            return nil, seed_errors.answer(400, 906)
        end
        if senders.is_free_mail(p.sender_email) then
            return nil, seed_errors.answer(400, 97)
        end
        f.sender_email = p.sender_email
    end
    if p.sender_name ~= nil then
        f.sender_name = util.trim(p.sender_name)
    end
    if not partial or p.subject ~= nil then
        if not util.non_blank(p.subject) then
            return nil, seed_errors.answer(400, 720)
        end
        f.subject = p.subject
    end

    if p.body ~= nil and p.template_id ~= nil then
        return nil, util.badly_formed()
    end
    if p.body ~= nil then
        local html = decode64(p.body)
        if not html then
            return nil, util.badly_formed()
        end
        f.html = html
    elseif p.template_id ~= nil then
        local t = templates.find(p.template_id)
        if not t then
            return nil, util.not_found("Template")
        end
        f.html, f.template_id = t.html, p.template_id
    elseif not partial then
        return nil, seed_errors.answer(400, 721)
    end
    if p.body_amp ~= nil then
        local amp = decode64(p.body_amp)
        if not amp then
            return nil, util.badly_formed()
        end
        f.amp = amp
    end

    if p.list_id ~= nil then
        local book = addressbooks.find(parse_id(p.list_id) or -1)
        if not book then
            return nil, seed_errors.answer(400, 703)
        end
        if #book.contacts == 0 then
            return nil, seed_errors.answer(400, 211)
        end
        f.list_id, f.all_email_qty = book.id, #active_recipients(book)
    elseif p.segment_id ~= nil then
        local segment = parse_id(p.segment_id)
        if not segment then
            return nil, util.badly_formed()
        end
        f.segment_id, f.all_email_qty = segment, 0
    elseif not partial then
        return nil, seed_errors.answer(400, 722)
    end

    if p.send_date ~= nil and p.send_date ~= "" then
        local t = _M.parse_datetime(p.send_date)
        if not t or t < now - PAST_TOLERANCE then
            return nil, seed_errors.answer(400, 799)
        end
        f.send_epoch, f.send_date = t, p.send_date
    end
    if p.attachments ~= nil then
        f.attachments = attachment_map(p.attachments, false)
        if not f.attachments then
            return nil, util.badly_formed()
        end
    end
    if p.attachments_binary ~= nil then
        f.attachments_binary = attachment_map(p.attachments_binary, true)
        if not f.attachments_binary then
            return nil, util.badly_formed()
        end
    end
    if p.name ~= nil then
        if type(p.name) ~= "string" then
            return nil, util.badly_formed()
        end
        f.name = p.name
    end
    return f
end

-- POST /campaigns
local function create(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local now = req.time
    local f, s, b = check_fields(params, false, now)
    if not f then
        return s, b
    end
    local recent = {}
    for _, t in ipairs(created_at) do
        if now - t < 3600 then
            recent[#recent + 1] = t
        end
    end
    created_at = recent
    if #created_at >= _M.CAMPAIGNS_PER_HOUR then
        return seed_errors.answer(400, 791)
    end
    created_at[#created_at + 1] = now

    local id = next_id
    next_id = next_id + 1
    local c = f
    c.id = id
    c.name = f.name or f.subject
    c.is_test = params.is_test
    c.type = params.type
    if c.send_epoch and c.send_epoch > now then
        c.status = _M.SCHEDULED
    else
        c.send_epoch = now
        c.send_date = util.format_epoch(now)
        send(c, now)
    end
    campaigns[#campaigns + 1] = c
    by_id[id] = c

    local answer = summary_view(c)
    answer.message = message_view(c, false)
    answer.overdraft_price = "0.00" -- a string in this answer, as the real API sends it
    return 200, answer
end

-- GET /campaigns
local function list(req)
    local limit, offset, status, body = util.pagination(req.args(), _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    return 200, util.slice(campaigns, offset, limit, function(c)
        return summary_view(refresh(c, req.time))
    end)
end

-- GET /campaigns/{id}
local function get(req, params)
    local c = find(params.id, req.time)
    if not c then
        return seed_errors.answer(404, 802)
    end
    return 200, full_view(c)
end

-- PATCH /campaigns/{id}: only while scheduled
local function edit(req, params)
    local c = find(params.id, req.time)
    if not c then
        return seed_errors.answer(404, 802)
    end
    if c.status ~= _M.SCHEDULED then
        return seed_errors.answer(400, 602)
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local f, s, b = check_fields(body_params, true, req.time)
    if not f then
        return s, b
    end
    if next(f) == nil then
        return seed_errors.answer(400, 8)
    end
    if f.list_id then
        c.segment_id = nil
    elseif f.segment_id then
        c.list_id = nil
    end
    if f.html and not f.template_id then
        c.template_id = nil
    end
    for k, v in pairs(f) do
        c[k] = v
    end
    refresh(c, req.time)
    return 200, { result = true, id = c.id }
end

-- DELETE /campaigns/{id}: cancels a scheduled campaign
local function cancel(req, params)
    local c = find(params.id, req.time)
    if not c then
        return seed_errors.answer(404, 802)
    end
    if c.status ~= _M.SCHEDULED then
        return seed_errors.answer(400, 602)
    end
    c.status = _M.CANCELLED
    return 200, { result = true }
end

-- GET /campaigns/{id}/countries
local function countries(req, params)
    local c = find(params.id, req.time)
    if not c then
        return seed_errors.answer(404, 802)
    end
    if c.status ~= _M.SENT or #c.recipients == 0 then
        return 200, util.array() -- an empty map, as the real API sends it
    end
    local counts = {}
    for _, email in ipairs(c.recipients) do
        local code = country_of(str_lower(email))
        counts[code] = (counts[code] or 0) + 1
    end
    return 200, counts
end

-- GET /campaigns/{id}/referrals
local function referrals(req, params)
    local c = find(params.id, req.time)
    if not c then
        return seed_errors.answer(404, 802)
    end
    local out = util.array()
    if c.status ~= _M.SENT then
        return 200, out
    end
    local seen = {}
    for link in str_gmatch(c.html or "", "[hH][rR][eE][fF]%s*=%s*[\"']([^\"']+)[\"']") do
        if not seen[link] then
            seen[link] = true
            out[#out + 1] = { link = link, count = 0 }
        end
    end
    return 200, out
end

_M.routes = {
    { "POST",   "/campaigns", create },
    { "GET",    "/campaigns", list },
    { "GET",    "/campaigns/{id}", get },
    { "PATCH",  "/campaigns/{id}", edit },
    { "DELETE", "/campaigns/{id}", cancel },
    { "GET",    "/campaigns/{id}/countries", countries },
    { "GET",    "/campaigns/{id}/referrals", referrals },
}

return _M
