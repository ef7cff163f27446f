-- SMS: phone numbers kept per mailing list, the phone blacklist, SMS
-- campaigns and their cost, and the SMS sender names.
--
-- Mailing lists belong to the addressbooks area; this module keeps only
-- the phone numbers of each list, keyed by list id, and asks the
-- addressbooks area whether a list exists. Phones are stored as digit
-- strings and answered as numbers where the API sends numbers.
--
-- Campaigns: one SMS part costs PRICE per recipient (a part is 160
-- characters, or 153 each when the text needs several). A campaign with a
-- future `date` is scheduled and can be cancelled; one without a date, or
-- with a past one, counts as sent. The response shapes follow the API
-- documentation, including the ones that wrap an object in an array
-- (adding with variables, updating) and campaign info's one-element `data`
-- array.

local ngx = ngx
local type = type
local next = next
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local math_ceil = math.ceil
local str_match = string.match
local str_format = string.format
local table_remove = table.remove
local table_sort = table.sort

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local addressbooks = require "sandbox.areas.addressbooks"

local _M = {}

_M.FIRST_CAMPAIGN_ID = 7520001
_M.PRICE = 0.27
_M.CURRENCY = "USD"

local SENDERS = {
    { id = 18021, sender = "apicheck", country = "Ukraine", country_code = "UA",
      status = 2, status_explain = "Rejected" },
    { id = 4786, sender = "iQA", country = "Ukraine", country_code = "UA",
      status = 1, status_explain = "Active" },
    { id = 4790, sender = "ShireNews", country = "New Zealand", country_code = "NZ",
      status = 1, status_explain = "Active" },
}

local numbers        -- book id -> { list = {phone...}, by_phone = {phone -> entry} }
local blacklist      -- { list = {entry...}, by_phone = {phone -> entry} }
local campaigns_by_id
local campaign_ids
local next_campaign_id

function _M.reset()
    numbers = {}
    blacklist = { list = {}, by_phone = {} }
    campaigns_by_id, campaign_ids = {}, {}
    next_campaign_id = _M.FIRST_CAMPAIGN_ID
end

_M.reset()

--- For other areas (Viber) too: a phone number SMS takes, as its digits
-- (util.phone_digits: a leading "+" dropped), 7 to 15 of them; nil when
-- it is not one.
function _M.phone_digits(v)
    local digits = util.phone_digits(v)
    if not digits or #digits < 7 or #digits > 15 then
        return nil
    end
    return digits
end
local digits = _M.phone_digits

-- Digits as a JSON number (the API answers phones as numbers).
local function phone_number(p)
    return tonumber(p)
end

local function is_day(v)
    return type(v) == "string" and str_match(v, "^%d%d%d%d%-[01]%d%-[0-3]%d$") ~= nil
end

-- The phones of a mailing list (created on first use), or nil when the
-- list does not exist.
local function book_numbers(id)
    local book = addressbooks.find(util.parse_id(id) or -1)
    if not book then
        return nil
    end
    local entry = numbers[book.id]
    if not entry then
        entry = { list = {}, by_phone = {} }
        numbers[book.id] = entry
    end
    return entry, book
end

--- For other areas (Viber): the phones (digit strings) of a mailing list,
-- or nil when the list does not exist.
function _M.phones(book_id)
    local entry = book_numbers(book_id)
    if not entry then
        return nil
    end
    local out = {}
    for i, n in ipairs(entry.list) do
        out[i] = n.phone
    end
    return out
end

-- Variables as name -> {type, value}; nil when one is malformed (a date
-- variable must be a bare "YYYY-MM-DD").
local function variable_map(list)
    if not util.is_array(list) then
        return nil
    end
    local out = {}
    for _, v in ipairs(list) do
        if type(v) ~= "table" or type(v.name) ~= "string" or v.name == "" then
            return nil
        end
        local t = v.type or "string"
        if t == "date" then
            if not is_day(v.value) then
                return nil
            end
        elseif t == "number" then
            if type(v.value) ~= "number" and not tonumber(v.value) then
                return nil
            end
        elseif t ~= "string" then
            return nil
        end
        out[v.name] = { type = t, value = v.value }
    end
    return out
end

local function add_number(entry, phone, vars)
    local n = entry.by_phone[phone]
    if n then
        for k, v in pairs(vars or {}) do
            n.variables[k] = v
        end
        return false
    end
    n = { phone = phone, variables = vars or {}, added = ngx.utctime(), status = 0 }
    entry.by_phone[phone] = n
    entry.list[#entry.list + 1] = n
    return true
end

-- A request on the numbers of a list: its parameters, the list's numbers
-- and the `phones` field as a list; or nil plus the answer (213 for no
-- such list, 8 for no phones).
local function numbers_request(req)
    local p, status, body = util.request_params(req)
    if not p then
        return nil, status, body
    end
    local entry = book_numbers(p.addressBookId)
    if not entry then
        return nil, seed_errors.answer(404, 213)
    end
    local phones = util.json_list(p.phones)
    if not phones then
        return nil, seed_errors.answer(400, 8)
    end
    return p, entry, phones
end

-- POST /sms/numbers
local function add_numbers(req)
    local p, entry, phones = numbers_request(req)
    if not p then
        return entry, phones
    end
    local added, exceptions, exists = 0, 0, 0
    for _, v in ipairs(phones) do
        local phone = digits(v)
        if not phone then
            exceptions = exceptions + 1
        elseif add_number(entry, phone) then
            added = added + 1
        else
            exists = exists + 1
        end
    end
    return 200, { result = true,
                  counters = { added = added, exceptions = exceptions, exists = exists } }
end

-- POST /sms/numbers/variables: phones = { phone: [[{name,type,value}...]] };
-- answered in a one-element array, as documented
local function add_numbers_with_variables(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    local entry = book_numbers(p.addressBookId)
    if not entry then
        return seed_errors.answer(404, 213)
    end
    local phones = p.phones
    if type(phones) == "string" then
        phones = util.decode(phones)
    end
    if not util.is_object(phones) or next(phones) == nil then
        return seed_errors.answer(400, 8)
    end
    -- a stable order: the order of the phones is not kept by JSON objects
    local keys = {}
    for k in pairs(phones) do
        keys[#keys + 1] = k
    end
    table_sort(keys)
    local added, exceptions, exists = 0, 0, 0
    for _, key in ipairs(keys) do
        local phone = digits(key)
        local sets = phones[key]
        local vars = {}
        local ok = phone ~= nil and util.is_array(sets)
        if ok then
            for _, set in ipairs(sets) do
                local m = variable_map(set)
                if not m then
                    ok = false
                    break
                end
                for k, v in pairs(m) do
                    vars[k] = v
                end
            end
        end
        if not ok then
            exceptions = exceptions + 1
        elseif add_number(entry, phone, vars) then
            added = added + 1
        else
            exists = exists + 1
        end
    end
    return 200, util.array({ { result = true, counters = {
        added = added, exceptions = exceptions, exists = exists } } })
end

-- PUT /sms/numbers: sets variables on existing numbers; answered in a
-- one-element array, as documented
local function update_numbers(req)
    local p, entry, phones = numbers_request(req)
    if not p then
        return entry, phones
    end
    if p.variables == nil then
        return seed_errors.answer(400, 8)
    end
    local vars = variable_map(p.variables)
    if not vars then
        return util.invalid("variables")
    end
    local updated = 0
    for _, v in ipairs(phones) do
        local n = entry.by_phone[digits(v) or ""]
        if n then
            for k, var in pairs(vars) do
                n.variables[k] = var
            end
            updated = updated + 1
        end
    end
    return 200, util.array({ { result = true, counters = { updated = updated } } })
end

-- DELETE /sms/numbers (a DELETE with a body)
local function delete_numbers(req)
    local p, entry, phones = numbers_request(req)
    if not p then
        return entry, phones
    end
    local gone = {}
    local deleted = 0
    for _, v in ipairs(phones) do
        local n = entry.by_phone[digits(v) or ""]
        if n then
            gone[n] = true
            entry.by_phone[n.phone] = nil
            deleted = deleted + 1
        end
    end
    local kept = {}
    for _, n in ipairs(entry.list) do
        if not gone[n] then
            kept[#kept + 1] = n
        end
    end
    entry.list = kept
    return 200, { result = true, counters = { deleted = deleted } }
end

-- GET /sms/numbers/info/{book_id}/{phone}
local function number_info(_, params)
    local entry = book_numbers(params.book_id)
    if not entry then
        return seed_errors.answer(404, 213)
    end
    local n = entry.by_phone[digits(params.phone) or ""]
    if not n then
        return util.not_found("Phone number")
    end
    local vars = {}
    for k, v in pairs(n.variables) do
        vars[k] = v.value
    end
    return 200, { result = true,
                  data = { status = n.status, variables = vars, added = n.added } }
end

local function blacklist_view(e)
    return { phone = phone_number(e.phone), description = e.description, add_date = e.add_date }
end

-- GET /sms/black_list
local function get_blacklist()
    local out = util.array()
    for i, e in ipairs(blacklist.list) do
        out[i] = blacklist_view(e)
    end
    return 200, { result = true, data = out }
end

-- GET /sms/black_list/by_numbers?phones=[...] (a JSON array in the query)
local function blacklist_by_numbers(req)
    local phones = util.json_list(req.args().phones)
    if not phones then
        return seed_errors.answer(400, 8)
    end
    local out = util.array()
    for _, v in ipairs(phones) do
        local e = blacklist.by_phone[digits(v) or ""]
        if e then
            out[#out + 1] = blacklist_view(e)
        end
    end
    return 200, { result = true, data = out }
end

-- POST /sms/black_list
local function add_blacklist(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    local phones = util.json_list(p.phones)
    if not phones then
        return seed_errors.answer(400, 8)
    end
    local description = type(p.description) == "string" and p.description or ""
    local added, exists = 0, 0
    for _, v in ipairs(phones) do
        local phone = digits(v)
        if phone and blacklist.by_phone[phone] then
            exists = exists + 1
        elseif phone then
            local e = { phone = phone, description = description, add_date = ngx.utctime() }
            blacklist.by_phone[phone] = e
            blacklist.list[#blacklist.list + 1] = e
            added = added + 1
        end
    end
    return 200, { result = true, counters = { added = added, exists = exists } }
end

-- DELETE /sms/black_list (a DELETE with a body)
local function remove_blacklist(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    local phones = util.json_list(p.phones)
    if not phones then
        return seed_errors.answer(400, 8)
    end
    local removed = 0
    for _, v in ipairs(phones) do
        local phone = digits(v)
        local e = phone and blacklist.by_phone[phone]
        if e then
            blacklist.by_phone[phone] = nil
            for i, item in ipairs(blacklist.list) do
                if item == e then
                    table_remove(blacklist.list, i)
                    break
                end
            end
            removed = removed + 1
        end
    end
    return 200, { result = true, counters = { removed = removed } }
end

local function active_sender(name)
    for _, s in ipairs(SENDERS) do
        if s.sender == name and s.status == 1 then
            return s
        end
    end
    return nil
end

-- route = { country code: "national" | "international" }
local function valid_route(route)
    if route == nil then
        return true
    end
    if type(route) == "string" then
        route = util.decode(route)
    end
    if not util.is_object(route) then
        return false
    end
    for k, v in pairs(route) do
        if type(k) ~= "string" or not str_match(k, "^%u%u$")
           or (v ~= "national" and v ~= "international") then
            return false
        end
    end
    return true
end

local function parts(text)
    local n = #text
    if n <= 160 then
        return 1
    end
    return math_ceil(n / 153)
end

local function flag(v)
    return v == 1 or v == "1" or v == true
end

-- Validates what both ways of sending share; returns a campaign without
-- recipients, or nil plus the error answer.
local function campaign_from(p)
    if type(p.sender) ~= "string" or p.sender == "" or not util.non_blank(p.body) then
        return nil, seed_errors.answer(400, 8)
    end
    if not active_sender(p.sender) then
        return nil, seed_errors.answer(400, 1003)
    end
    if not valid_route(p.route) then
        return nil, util.invalid("route")
    end
    local send_date = ngx.utctime()
    local scheduled = false
    if p.date ~= nil then
        if not util.is_datetime(p.date) then
            return nil, seed_errors.answer(400, 799)
        end
        scheduled = p.date > send_date
        send_date = p.date
    end
    return {
        sender = p.sender,
        body = p.body,
        send_date = send_date,
        date_created = ngx.utctime(),
        status = scheduled and "scheduled" or "sent",
        transliterate = flag(p.transliterate),
        emulate = flag(p.emulate),
        address_book_id = 0,
    }
end

local function store_campaign(c, phones)
    c.id = next_campaign_id
    next_campaign_id = next_campaign_id + 1
    c.phones = phones
    c.price = #phones * parts(c.body) * _M.PRICE
    campaigns_by_id[c.id] = c
    campaign_ids[#campaign_ids + 1] = c.id
    return c
end

-- POST /sms/campaigns: to the phones of a mailing list
local function send_to_book(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    local entry, book = book_numbers(p.addressBookId)
    if not entry then
        return seed_errors.answer(404, 213)
    end
    local c, s2, b2 = campaign_from(p)
    if not c then
        return s2, b2
    end
    local phones = {}
    for _, n in ipairs(entry.list) do
        if not blacklist.by_phone[n.phone] then
            phones[#phones + 1] = n.phone
        end
    end
    if #phones == 0 then
        return seed_errors.answer(400, 211)
    end
    c.address_book_id = book.id
    store_campaign(c, phones)
    return 200, { result = true, campaign_id = c.id }
end

-- POST /sms/send: to a list of phones; blacklisted and malformed numbers
-- are counted as exceptions
local function send_to_phones(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    local list = util.json_list(p.phones)
    if not list then
        return seed_errors.answer(400, 8)
    end
    local c, s2, b2 = campaign_from(p)
    if not c then
        return s2, b2
    end
    local phones, exceptions = {}, 0
    for _, v in ipairs(list) do
        local phone = digits(v)
        if phone and not blacklist.by_phone[phone] then
            phones[#phones + 1] = phone
        else
            exceptions = exceptions + 1
        end
    end
    if #phones == 0 then
        return seed_errors.answer(400, 11)
    end
    store_campaign(c, phones)
    return 200, { result = true, campaign_id = c.id,
                  counters = { sends = #phones, exceptions = exceptions } }
end

--- For the web page: the campaigns, single sends (POST /sms/send, with
-- `address_book_id` 0) included, by id. Fields: id, sender, body,
-- send_date, date_created, status ("scheduled", "sent", "cancelled"),
-- address_book_id, phones (digit strings), price.
function _M.campaigns()
    local out = {}
    for i, id in ipairs(campaign_ids) do
        out[i] = campaigns_by_id[id]
    end
    return out
end

local function money(x)
    return str_format("%.2f", x)
end

-- GET /sms/campaigns/list?dateFrom=&dateTo= (by send date, both required)
local function list_campaigns(req)
    local args = req.args()
    if args.dateFrom == nil or args.dateTo == nil then
        return seed_errors.answer(400, 8)
    end
    if not util.is_datetime(args.dateFrom) or not util.is_datetime(args.dateTo) then
        return seed_errors.answer(400, 799)
    end
    local out = util.array()
    for _, id in ipairs(campaign_ids) do
        local c = campaigns_by_id[id]
        if c.send_date >= args.dateFrom and c.send_date <= args.dateTo then
            out[#out + 1] = {
                id = c.id,
                address_book_id = c.address_book_id,
                company_price = money(c.price), -- a string, as the API sends it
                company_currency = _M.CURRENCY,
                send_date = c.send_date,
                date_created = c.date_created,
                sender_mail_address = "",
                sender_mail_name = c.sender,
                external_stat = util.array(),
            }
        end
    end
    return 200, { result = true, data = out }
end

local function find_campaign(id)
    return campaigns_by_id[util.parse_id(id) or -1]
end

-- GET /sms/campaigns/info/{id}: `data` is a one-element array
local function campaign_info(_, params)
    local c = find_campaign(params.id)
    if not c then
        return seed_errors.answer(404, 802)
    end
    local sent = c.status == "sent"
    local each = parts(c.body) * _M.PRICE
    local phones = util.array()
    for i, phone in ipairs(c.phones) do
        phones[i] = {
            phone = phone_number(phone),
            status = sent and 2 or (c.status == "cancelled" and 4 or 0),
            status_explain = sent and "Delivered"
                             or (c.status == "cancelled" and "Cancelled" or "Scheduled"),
            country_code = "UA",
            money_spent = sent and each or 0,
        }
    end
    return 200, { result = true, data = util.array({ {
        id = c.id,
        address_book_id = c.address_book_id,
        currency = _M.CURRENCY,
        company_price = c.price,
        send_date = c.send_date,
        date_created = c.date_created,
        sender_name = c.sender,
        status = c.status,
        task_phones_info = phones,
    } }) }
end

-- PUT /sms/campaigns/cancel/{id}: only a scheduled campaign
local function cancel_campaign(_, params)
    local c = find_campaign(params.id)
    if not c then
        return seed_errors.answer(404, 802)
    end
    if c.status ~= "scheduled" then
        return seed_errors.answer(400, 602)
    end
    c.status = "cancelled"
    return 200, { result = true }
end

-- GET /sms/campaigns/cost?sender=&body=&addressBookId=|phones=[...]&route={...}
local function campaign_cost(req)
    local args = req.args()
    if type(args.body) ~= "string" or args.body == "" then
        return seed_errors.answer(400, 8)
    end
    if args.sender ~= nil and not active_sender(args.sender) then
        return seed_errors.answer(400, 1003)
    end
    if not valid_route(args.route) then
        return util.invalid("route")
    end
    local count
    if args.addressBookId ~= nil then
        local entry = book_numbers(args.addressBookId)
        if not entry then
            return seed_errors.answer(404, 213)
        end
        count = #entry.list
    else
        local list = util.json_list(args.phones)
        if not list then
            return seed_errors.answer(400, 8)
        end
        count = 0
        for _, v in ipairs(list) do
            if digits(v) then
                count = count + 1
            end
        end
    end
    return 200, { result = true, data = {
        price = count * parts(args.body) * _M.PRICE, currency = _M.CURRENCY } }
end

-- DELETE /sms/campaigns with {"id": ...} in the body
local function delete_campaign(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    if p.id == nil then
        return seed_errors.answer(400, 8)
    end
    local c = find_campaign(p.id)
    if not c then
        return seed_errors.answer(404, 802)
    end
    campaigns_by_id[c.id] = nil
    for i, id in ipairs(campaign_ids) do
        if id == c.id then
            table_remove(campaign_ids, i)
            break
        end
    end
    return 200, { result = true }
end

-- GET /sms/senders
local function list_senders()
    local out = util.array()
    for i, s in ipairs(SENDERS) do
        out[i] = { id = s.id, sender = s.sender, country = s.country,
                   country_code = s.country_code, status = s.status,
                   status_explain = s.status_explain }
    end
    return 200, out
end

_M.routes = {
    { "POST",   "/sms/numbers", add_numbers },
    { "PUT",    "/sms/numbers", update_numbers },
    { "DELETE", "/sms/numbers", delete_numbers },
    { "POST",   "/sms/numbers/variables", add_numbers_with_variables },
    { "GET",    "/sms/numbers/info/{book_id}/{phone}", number_info },
    { "GET",    "/sms/black_list", get_blacklist },
    { "POST",   "/sms/black_list", add_blacklist },
    { "DELETE", "/sms/black_list", remove_blacklist },
    { "GET",    "/sms/black_list/by_numbers", blacklist_by_numbers },
    { "POST",   "/sms/campaigns", send_to_book },
    { "DELETE", "/sms/campaigns", delete_campaign },
    { "POST",   "/sms/send", send_to_phones },
    { "GET",    "/sms/campaigns/list", list_campaigns },
    { "GET",    "/sms/campaigns/info/{id}", campaign_info },
    { "PUT",    "/sms/campaigns/cancel/{id}", cancel_campaign },
    { "GET",    "/sms/campaigns/cost", campaign_cost },
    { "GET",    "/sms/senders", list_senders },
}

return _M
