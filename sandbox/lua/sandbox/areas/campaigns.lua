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
local tonumber = tonumber
local os_date = os.date
local math_floor = math.floor
local str_lower = string.lower
local str_upper = string.upper
local str_match = string.match
local str_gmatch = string.gmatch
local table_concat = table.concat
local table_sort = table.sort

local util = require "sandbox.util"
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

-- Errors, with the seed document's texts.
local function no_data()
    return util.api_error(400, 8, "No data")
end

local function list_empty()
    return util.api_error(400, 211, "Mailing list empty")
end

local function already_sent()
    return util.api_error(400, 602,
        "Can’t find the campaign. Probably, it has already been sent.")
end

local function sender_missing()
    return util.api_error(400, 701, "Sender email address or name not specified.")
end

local function list_not_found()
    return util.api_error(400, 703, "Can’t find the mailing list")
end

local function subject_missing()
    return util.api_error(400, 720, "Empty subject field")
end

local function message_empty()
    return util.api_error(400, 721, "Email message empty")
end

local function list_missing()
    return util.api_error(400, 722, "Mailing list ID not specified")
end

local function hourly_limit()
    return util.api_error(400, 791, "API-campaigns limit exceeded (4 per hour)")
end

local function bad_date()
    return util.api_error(400, 799,
        "Incorrect date format. Use YYYY-MM-DD hh:ii:ss that equals or greater "
        .. "than the current date")
end

local function not_found()
    return util.api_error(404, 802, "Campaign not found")
end

local function free_mail()
    return util.api_error(400, 97,
        "Invalid email address type. Using free email services is not allowed.")
end

local function syntax_error()
    return util.api_error(400, 906, "Email address syntax error")
end

local function badly_formed()
    return util.api_error(422, 999, "Badly formed incoming data")
end

-- Days since 1970-01-01 of a civil date (proleptic Gregorian).
local function days_from_civil(y, m, d)
    if m <= 2 then
        y = y - 1
    end
    local era = math_floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = math_floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + math_floor(yoe / 4) - math_floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

--- "YYYY-MM-DD HH:MM:SS" (UTC) -> seconds since the epoch, or nil.
function _M.parse_datetime(s)
    if type(s) ~= "string" then
        return nil
    end
    local y, mo, d, h, mi, sec =
        str_match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d) (%d%d):(%d%d):(%d%d)$")
    if not y then
        return nil
    end
    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)
    if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then
        return nil
    end
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
end

local function format_time(t)
    return os_date("!%Y-%m-%d %H:%M:%S", math_floor(t))
end

local function parse_id(v)
    if type(v) == "number" and v == math_floor(v) and v > 0 then
        return v
    end
    if type(v) == "string" and str_match(v, "^%d+$") then
        return tonumber(v)
    end
    return nil
end

local function non_empty_string(v)
    return type(v) == "string" and util.trim(v) ~= ""
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
        if p.sender_name ~= nil and not non_empty_string(p.sender_name)
           or p.sender_email ~= nil and not non_empty_string(p.sender_email) then
            return nil, sender_missing()
        end
    elseif not non_empty_string(p.sender_name) or not non_empty_string(p.sender_email) then
        return nil, sender_missing()
    end
    if p.sender_email ~= nil then
        if not senders.valid_email(p.sender_email) then
            return nil, syntax_error()
        end
        if senders.is_free_mail(p.sender_email) then
            return nil, free_mail()
        end
        f.sender_email = p.sender_email
    end
    if p.sender_name ~= nil then
        f.sender_name = util.trim(p.sender_name)
    end
    if not partial or p.subject ~= nil then
        if not non_empty_string(p.subject) then
            return nil, subject_missing()
        end
        f.subject = p.subject
    end

    if p.body ~= nil and p.template_id ~= nil then
        return nil, badly_formed()
    end
    if p.body ~= nil then
        local html = decode64(p.body)
        if not html then
            return nil, badly_formed()
        end
        f.html = html
    elseif p.template_id ~= nil then
        local t = templates.find(p.template_id)
        if not t then
            return nil, util.api_error(404, 404, "Template not found")
        end
        f.html, f.template_id = t.html, p.template_id
    elseif not partial then
        return nil, message_empty()
    end
    if p.body_amp ~= nil then
        local amp = decode64(p.body_amp)
        if not amp then
            return nil, badly_formed()
        end
        f.amp = amp
    end

    if p.list_id ~= nil then
        local book = addressbooks.find(parse_id(p.list_id) or -1)
        if not book then
            return nil, list_not_found()
        end
        if #book.contacts == 0 then
            return nil, list_empty()
        end
        f.list_id, f.all_email_qty = book.id, #active_recipients(book)
    elseif p.segment_id ~= nil then
        local segment = parse_id(p.segment_id)
        if not segment then
            return nil, badly_formed()
        end
        f.segment_id, f.all_email_qty = segment, 0
    elseif not partial then
        return nil, list_missing()
    end

    if p.send_date ~= nil and p.send_date ~= "" then
        local t = _M.parse_datetime(p.send_date)
        if not t or t < now - PAST_TOLERANCE then
            return nil, bad_date()
        end
        f.send_epoch, f.send_date = t, p.send_date
    end
    if p.attachments ~= nil then
        f.attachments = attachment_map(p.attachments, false)
        if not f.attachments then
            return nil, badly_formed()
        end
    end
    if p.attachments_binary ~= nil then
        f.attachments_binary = attachment_map(p.attachments_binary, true)
        if not f.attachments_binary then
            return nil, badly_formed()
        end
    end
    if p.name ~= nil then
        if type(p.name) ~= "string" then
            return nil, badly_formed()
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
        return hourly_limit()
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
        c.send_date = format_time(now)
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
    local args = req.args()
    local limit = util.parse_count(args.limit, _M.MAX_LIMIT)
    if not limit then
        return util.api_error(400, 400, "Invalid limit")
    end
    local offset = util.parse_count(args.offset, 0)
    if not offset then
        return util.api_error(400, 400, "Invalid offset")
    end
    if limit > _M.MAX_LIMIT then
        limit = _M.MAX_LIMIT
    end
    local out = util.array()
    for i = offset + 1, offset + limit do
        local c = campaigns[i]
        if not c then
            break
        end
        out[#out + 1] = summary_view(refresh(c, req.time))
    end
    return 200, out
end

-- GET /campaigns/{id}
local function get(req, params)
    local c = find(params.id, req.time)
    if not c then
        return not_found()
    end
    return 200, full_view(c)
end

-- PATCH /campaigns/{id}: only while scheduled
local function edit(req, params)
    local c = find(params.id, req.time)
    if not c then
        return not_found()
    end
    if c.status ~= _M.SCHEDULED then
        return already_sent()
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
        return no_data()
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
        return not_found()
    end
    if c.status ~= _M.SCHEDULED then
        return already_sent()
    end
    c.status = _M.CANCELLED
    return 200, { result = true }
end

-- GET /campaigns/{id}/countries
local function countries(req, params)
    local c = find(params.id, req.time)
    if not c then
        return not_found()
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
        return not_found()
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
