-- Viber campaigns (the campaign API under /viber, not the Viber chatbots).
--
-- Sender names cannot be registered through the API: every reset seeds
-- three (2222 and 4495 verified, 4501 still in moderation). Campaigns get
-- increasing ids from FIRST_TASK_ID and are listed by id. A campaign sent
-- "now" (or with a past date) counts as sent and delivered to every
-- recipient; one with a future send_date is scheduled and can still be
-- updated. Recipients come from `recipients` or from the phones the SMS
-- area keeps for the mailing list given as `address_book`.

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local str_sub = string.sub

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local addressbooks = require "sandbox.areas.addressbooks"
local sms = require "sandbox.areas.sms"

local _M = {}

_M.FIRST_TASK_ID = 9380001
_M.MAX_LIMIT = 100
_M.MAX_RECIPIENTS = 1000
_M.PRICE = 0.74
_M.CURRENCY = "USD"

local SENDERS = {
    { id = 2222, status = "verified", name = "Foxkids", service_type = "Toy shop",
      web_site = "www.foxkids.com", description = "Toys for the whole family",
      countries = { "UA" }, traffic_type = "Promotional messages",
      admin_comment = util.null, owner = "you" },
    { id = 4495, status = "verified", name = "ShireNews", service_type = "News",
      web_site = "https://shire.example", description = "News from the Shire",
      countries = { "NZ", "UA" }, traffic_type = "Transactional messages",
      admin_comment = "Approved", owner = "you" },
    { id = 4501, status = "moderation", name = "Mordor", service_type = "Tours",
      web_site = "https://mordor.example", description = "One does not simply walk in",
      countries = { "NZ" }, traffic_type = "Promotional messages",
      admin_comment = util.null, owner = "you" },
}

local tasks_by_id
local task_ids
local next_task_id

function _M.reset()
    tasks_by_id, task_ids = {}, {}
    next_task_id = _M.FIRST_TASK_ID
end

_M.reset()

-- A recipient: a phone number as SMS takes it, except that a leading "+",
-- which SMS drops, is refused.
local function digits(v)
    if type(v) == "string" and str_sub(v, 1, 1) == "+" then
        return nil
    end
    return sms.phone_digits(v)
end

local function find_sender(id)
    id = util.parse_id(id)
    for _, s in ipairs(SENDERS) do
        if s.id == id then
            return s
        end
    end
    return nil
end

local function optional_string(v)
    return v == nil or type(v) == "string"
end

-- additional = {button = {text, link}, image = {link},
--               resend_sms = {status, sms_text, sms_sender_name}}
local function valid_additional(a)
    if not util.is_object(a) then
        return false
    end
    for k, v in pairs(a) do
        if k == "button" then
            if type(v) ~= "table" or not optional_string(v.text)
               or not optional_string(v.link) then
                return false
            end
        elseif k == "image" then
            if type(v) ~= "table" or type(v.link) ~= "string" then
                return false
            end
        elseif k == "resend_sms" then
            if type(v) ~= "table" or type(v.status) ~= "boolean"
               or not optional_string(v.sms_text)
               or not optional_string(v.sms_sender_name) then
                return false
            end
        else
            return false
        end
    end
    return true
end

-- Applies the fields of a create or update request to `task`; returns
-- true, or nil plus the error answer. `creating` makes the fields required.
local function apply(task, p, creating)
    if creating or p.task_name ~= nil then
        if not util.non_blank(p.task_name) then
            return nil, seed_errors.answer(400, 8)
        end
        task.name = p.task_name
    end
    if creating or p.message_type ~= nil then
        local t = util.parse_id(p.message_type)
        if t ~= 2 and t ~= 3 then
            return nil, util.invalid("message_type")
        end
        task.message_type = t
    end
    if creating or p.sender_id ~= nil then
        local s = find_sender(p.sender_id)
        if not s or s.status ~= "verified" then
            return nil, seed_errors.answer(400, 1003)
        end
        task.sender = s
    end
    if creating or p.message_live_time ~= nil then
        local t = util.parse_id(p.message_live_time)
        if not t or t < 60 or t > 86400 then
            return nil, util.invalid("message_live_time")
        end
        task.message_live_time = t
    end
    if creating or p.send_date ~= nil then
        local now = ngx.utctime()
        if p.send_date == nil or p.send_date == "now" then
            task.send_date = now
        elseif not util.is_datetime(p.send_date) or p.send_date < now then
            return nil, seed_errors.answer(400, 799)
        else
            task.send_date = p.send_date
        end
        task.status = task.send_date > now and "scheduled" or "send"
    end
    if p.message ~= nil then
        if type(p.message) ~= "string" or #p.message > 1000 then
            return nil, util.invalid("message")
        end
        task.message = p.message
    end
    if p.additional ~= nil then
        if not valid_additional(p.additional) then
            return nil, util.invalid("additional")
        end
        task.additional = p.additional
    end
    if p.stretch_time ~= nil then
        if not util.parse_id(p.stretch_time) then
            return nil, util.invalid("stretch_time")
        end
        task.stretch_time = util.parse_id(p.stretch_time)
    end
    local additional = task.additional or {}
    if not util.non_blank(task.message) and not additional.image then
        return nil, seed_errors.answer(400, 8)
    end
    if p.address_book ~= nil and p.address_book ~= util.null
       and p.recipients ~= nil and p.recipients ~= util.null then
        return nil, util.invalid("recipients: give address_book or recipients, not both")
    end
    if p.address_book ~= nil and p.address_book ~= util.null then
        local book = addressbooks.find(util.parse_id(p.address_book) or -1)
        if not book then
            return nil, seed_errors.answer(404, 213)
        end
        local phones = sms.phones(book.id)
        if #phones == 0 then
            return nil, seed_errors.answer(400, 211)
        end
        task.address_book = book.id
        task.recipients = phones
    elseif p.recipients ~= nil and p.recipients ~= util.null then
        if not util.is_array(p.recipients) or #p.recipients > _M.MAX_RECIPIENTS then
            return nil, util.invalid("recipients")
        end
        local phones = {}
        for i, v in ipairs(p.recipients) do
            phones[i] = digits(v)
            if not phones[i] then
                return nil, util.invalid("recipients")
            end
        end
        task.address_book = nil
        task.recipients = phones
    end
    if not task.recipients or #task.recipients == 0 then
        return nil, seed_errors.answer(400, 11)
    end
    return true
end

local function or_null(v)
    if v == nil then
        return util.null
    end
    return v
end

-- The data answered by create and update.
local function task_data(task)
    local a = task.additional or {}
    local button, image, resend = a.button or {}, a.image or {}, a.resend_sms or {}
    return {
        task_id = task.id,
        task_name = task.name,
        message = or_null(task.message),
        message_type = task.message_type,
        message_live_time = tostring(task.message_live_time), -- a string in the API
        send_date = task.send_date,
        sender_id = task.sender.id,
        address_book_id = or_null(task.address_book),
        button_text = or_null(button.text),
        button_link = or_null(button.link),
        image_link = or_null(image.link),
        resend_sms = resend.status and 1 or 0,
        sms_text = or_null(resend.sms_text),
        sms_sender_name = or_null(resend.sms_sender_name),
    }
end

-- POST /viber
local function create_task(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    local task = { created = ngx.utctime() }
    local ok, s2, b2 = apply(task, p, true)
    if not ok then
        return s2, b2
    end
    task.id = next_task_id
    next_task_id = next_task_id + 1
    tasks_by_id[task.id] = task
    task_ids[#task_ids + 1] = task.id
    return 200, { result = true, data = task_data(task) }
end

-- POST /viber/update: main_task_id plus the fields to change; only a
-- campaign that has not been sent yet
local function update_task(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    if p.main_task_id == nil then
        return seed_errors.answer(400, 8)
    end
    local task = tasks_by_id[util.parse_id(p.main_task_id) or -1]
    if not task then
        return seed_errors.answer(404, 802)
    end
    if task.status ~= "scheduled" then
        return seed_errors.answer(400, 602)
    end
    -- validate on a copy: a refused update changes nothing
    local copy = {}
    for k, v in pairs(task) do
        copy[k] = v
    end
    local ok, s2, b2 = apply(copy, p, false)
    if not ok then
        return s2, b2
    end
    for k, v in pairs(copy) do
        task[k] = v
    end
    return 200, { result = true, data = task_data(task) }
end

local function summary(task)
    local a = task.additional or {}
    return {
        id = task.id,
        name = task.name,
        message = or_null(task.message),
        button_text = or_null(a.button and a.button.text),
        button_link = or_null(a.button and a.button.link),
        image_link = or_null(a.image and a.image.link),
        address_book = or_null(task.address_book),
        sender_name = task.sender.name,
        sender_id = task.sender.id,
        message_live_time = task.message_live_time,
        send_date = task.send_date,
        status = task.status,
        created = task.created,
    }
end

-- GET /viber/task?limit=&offset=
local function list_tasks(req)
    local limit, offset, status, body = util.pagination(req.args(), _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    return 200, util.slice(task_ids, offset, limit, function(id)
        return summary(tasks_by_id[id])
    end)
end

local function find_task(params)
    return tasks_by_id[util.parse_id(params.id) or -1]
end

-- GET /viber/task/{id}: the campaign with its statistics
local function get_task(_, params)
    local task = find_task(params)
    if not task then
        return seed_errors.answer(404, 802)
    end
    local view = summary(task)
    local sent = task.status == "send" and #task.recipients or 0
    view.statistic = { sent = sent, delivered = sent, read = 0, redirected = 0,
                       undelivered = 0, errors = 0 }
    return 200, view
end

-- GET /viber/task/{id}/recipients
local function task_recipients(_, params)
    local task = find_task(params)
    if not task then
        return seed_errors.answer(404, 802)
    end
    local sent = task.status == "send"
    local out = util.array()
    for i, phone in ipairs(task.recipients) do
        out[i] = {
            phone = tonumber(phone),
            address_book_id = task.address_book or 0,
            status = sent and "send" or "scheduled",
            send_date = task.send_date,
            price = sent and _M.PRICE or 0,
            currency = _M.CURRENCY,
            last_update = task.created,
        }
    end
    return 200, { task_id = task.id, recipients = out }
end

--- For the web page: the campaigns by id. Fields: id, name, message,
-- message_type, sender ({id, name, ...}), send_date, created, status
-- ("scheduled" or "send"), address_book (or nil), recipients (digit
-- strings), additional (button, image, resend_sms) or nil.
function _M.tasks()
    local out = {}
    for i, id in ipairs(task_ids) do
        out[i] = tasks_by_id[id]
    end
    return out
end

local function sender_view(s)
    local countries = util.array()
    for i, c in ipairs(s.countries) do
        countries[i] = c
    end
    return {
        id = s.id, status = s.status, name = s.name, service_type = s.service_type,
        web_site = s.web_site, description = s.description, countries = countries,
        traffic_type = s.traffic_type, admin_comment = s.admin_comment, owner = s.owner,
    }
end

-- GET /viber/senders
local function list_senders()
    local out = util.array()
    for i, s in ipairs(SENDERS) do
        out[i] = sender_view(s)
    end
    return 200, out
end

-- GET /viber/senders/{id}
local function get_sender(_, params)
    local s = find_sender(params.id)
    if not s then
        return seed_errors.answer(404, 1003)
    end
    return 200, sender_view(s)
end

_M.routes = {
    { "POST", "/viber", create_task },
    { "POST", "/viber/update", update_task },
    { "GET",  "/viber/task", list_tasks },
    { "GET",  "/viber/task/{id}", get_task },
    { "GET",  "/viber/task/{id}/recipients", task_recipients },
    { "GET",  "/viber/senders", list_senders },
    { "GET",  "/viber/senders/{id}", get_sender },
}

return _M
