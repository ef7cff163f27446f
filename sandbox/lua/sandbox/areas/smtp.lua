-- SMTP (transactional email): sending, the sent-mail history, bounces,
-- the SMTP unsubscribe list, IPs, senders and sender domains.
--
-- POST /smtp/emails takes `email` as a JSON object (the modern form) or a
-- string holding one (older wrappers); anything else, or a `to` / `cc` /
-- `bcc` that is not an array, or html / attachments_binary that is not
-- base64, gets 422 `{"error_code":999,"message":"Badly formed incoming
-- data"}` as the real API answers.
-- Every recipient (to, cc and bcc) gets its own history record with its
-- own string id; the answer's `id` is the first one's. Delivery is
-- instant: a recipient whose domain ends in ".invalid" (reserved, RFC
-- 2606) hard-bounces (550 5.1.1) and shows up in /smtp/bounces/day; every
-- other one is delivered (250). Dates are UTC.
-- Domains: POST adds one unverified; GET /smtp/domains/{email} verifies it
-- at once (no mail to click through); GET /smtp/domains lists the
-- verified ones as "@domain". /smtp/senders lists the active senders of
-- /senders.
-- Each accepted send is also kept whole (decoded HTML, text, attachments)
-- for the sandbox's web page: the newest MAX_MESSAGES, at most
-- MAX_MESSAGE_BYTES of them in all (the oldest are dropped first).

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local math_floor = math.floor
local str_lower = string.lower
local str_match = string.match
local str_sub = string.sub
local str_format = string.format
local table_concat = table.concat
local table_remove = table.remove
local table_sort = table.sort

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local senders = require "sandbox.areas.senders"
local templates = require "sandbox.areas.templates"

local _M = {}

_M.MAX_LIMIT = 100
_M.IPS = { "198.51.100.25", "198.51.100.26" }
_M.SENDER_IP = "203.0.113.10"
_M.MAX_MESSAGES = 500
_M.MAX_MESSAGE_BYTES = 64 * 1024 * 1024

local records      -- sent-mail history, oldest first
local by_id
local sequence
local unsubscribed -- list of {email, comment, date}, in order added
local domains      -- list of {domain, verified}
local messages     -- whole messages as sent, oldest first (see keep_message)
local message_by_id
local message_bytes

function _M.reset()
    records = {}
    by_id = {}
    sequence = 0
    unsubscribed = {}
    domains = {}
    messages = {}
    message_by_id = {}
    message_bytes = 0
end

_M.reset()

local valid_email = util.valid_email

local function today()
    return str_sub(ngx.utctime(), 1, 10)
end

local function is_date(s)
    return type(s) == "string" and str_match(s, "^%d%d%d%d%-%d%d%-%d%d$") ~= nil
end

local BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"

local function base36(n, width)
    local out = {}
    n = math_floor(n)
    repeat
        local d = n % 36
        out[#out + 1] = str_sub(BASE36, d + 1, d + 1)
        n = math_floor(n / 36)
    until n == 0
    while #out < width do
        out[#out + 1] = "0"
    end
    local s = {}
    for i = #out, 1, -1 do
        s[#s + 1] = out[i]
    end
    return table_concat(s)
end

-- A message id in the real API's style ("pzkic9-0afezp-fc"): a string.
local function new_id(now)
    sequence = sequence + 1
    return base36(now, 6) .. "-" .. base36(sequence * 7919, 6) .. "-sb"
end

local function domain_of(email)
    return str_lower(str_match(email, "@([^@]+)$") or "")
end

-- A recipient list field: nil when absent, false when malformed.
local function recipients(value, required)
    if value == nil then
        return not required and {} or false
    end
    if type(value) ~= "table" or not util.is_array(value) then
        return false
    end
    return value
end

-- A filename -> content map; base64 values when binary. nil when malformed.
local function attachment_map(v, binary)
    if type(v) ~= "table" or not util.is_object(v) then
        return nil
    end
    local size = 0
    for name, content in pairs(v) do
        if type(name) ~= "string" or type(content) ~= "string" then
            return nil
        end
        if binary then
            local raw = ngx.decode_base64(content)
            if raw == nil then
                return nil
            end
            size = size + #raw
        else
            size = size + #content
        end
    end
    return size
end

local function record_view(r)
    return {
        id = r.id,
        sender = r.sender,
        total_size = r.total_size,
        sender_ip = _M.SENDER_IP,
        smtp_answer_code = r.code,
        smtp_answer_code_explain = r.code == 250 and "Delivered" or "Not delivered",
        smtp_answer_subcode = r.subcode,
        smtp_answer_data = r.data,
        used_ip = _M.IPS[1],
        recipient = r.recipient,
        subject = r.subject,
        send_date = r.send_date,
        tracking = { click = 0, open = 0, link = util.array(), client_info = util.array() },
    }
end

-- The attachments of a checked message as a list sorted by name: the
-- text ones (`attachments`) first, then the binary ones, decoded.
local function attachment_list(email)
    local out = {}
    for _, key in ipairs({ "attachments", "attachments_binary" }) do
        local part = {}
        for name, content in pairs(email[key] or {}) do
            part[#part + 1] = {
                name = name,
                content = key == "attachments_binary" and ngx.decode_base64(content) or content,
            }
        end
        table_sort(part, function(a, b) return a.name < b.name end)
        for _, a in ipairs(part) do
            out[#out + 1] = a
        end
    end
    return out
end

-- Keeps an accepted message for the web page, within MAX_MESSAGES and
-- MAX_MESSAGE_BYTES.
local function keep_message(m)
    messages[#messages + 1] = m
    message_by_id[m.id] = m
    message_bytes = message_bytes + m.size
    while #messages > _M.MAX_MESSAGES
          or (message_bytes > _M.MAX_MESSAGE_BYTES and #messages > 1) do
        local old = table_remove(messages, 1)
        message_by_id[old.id] = nil
        message_bytes = message_bytes - old.size
    end
end

--- For the web page: the messages kept, oldest first. Each one: `id`
-- (the answer's id), `time`, `from`, `to`, `cc`, `bcc` (as sent),
-- `subject`, `html` (decoded) or nil, `text` or nil, `template_id` or nil,
-- `attachments` ({name, content} with binary ones decoded), `records`
-- (the history records of its recipients: recipient, code, data).
function _M.messages()
    return messages
end

--- For the web page: the kept message with this id, or nil.
function _M.message(id)
    return message_by_id[id]
end

-- POST /smtp/emails
local function send(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local email = params.email
    if type(email) == "string" then -- the older wrappers' JSON string
        email = util.decode(email)
    end
    if type(email) ~= "table" or not util.is_object(email) then
        return util.badly_formed()
    end

    local to = recipients(email.to, true)
    local cc = recipients(email.cc, false)
    local bcc = recipients(email.bcc, false)
    if email.to == nil then
        return seed_errors.answer(400, 11)
    end
    if not to or not cc or not bcc then
        return util.badly_formed()
    end
    if #to == 0 then
        return seed_errors.answer(400, 11)
    end
    local all = {}
    for _, list in ipairs({ to, cc, bcc }) do
        for _, r in ipairs(list) do
            if type(r) ~= "table" or not util.is_object(r) then
                return util.badly_formed()
            end
            if not valid_email(r.email) then
                return seed_errors.answer(400, 906)
            end
            all[#all + 1] = r.email
        end
    end

    local from = email.from
    if type(from) ~= "table" or from.email == nil or from.email == "" then
        return seed_errors.answer(400, 10)
    end
    if not valid_email(from.email) then
        return seed_errors.answer(400, 906)
    end
    if not util.non_blank(email.subject) then
        return seed_errors.answer(400, 720)
    end

    local size = #email.subject
    local html
    if email.html ~= nil then
        html = type(email.html) == "string" and ngx.decode_base64(email.html)
        if not html then
            return util.badly_formed()
        end
        size = size + #html
    end
    if email.text ~= nil then
        if type(email.text) ~= "string" then
            return util.badly_formed()
        end
        size = size + #email.text
    end
    if email.template ~= nil then
        local t = email.template
        if type(t) ~= "table" or t.id == nil then
            return util.badly_formed()
        end
        if t.variables ~= nil and type(t.variables) ~= "table" then
            return util.badly_formed()
        end
        local template = templates.find(t.id)
        if not template then
            return util.not_found("Template")
        end
        size = size + #template.html
        html = template.html
    end
    if (email.html == nil or email.html == "") and (email.text == nil or email.text == "")
       and email.template == nil then
        return seed_errors.answer(400, 13)
    end
    for key, binary in pairs({ attachments = false, attachments_binary = true }) do
        if email[key] ~= nil then
            local n = attachment_map(email[key], binary)
            if not n then
                return util.badly_formed()
            end
            size = size + n
        end
    end

    local now = req.time
    local date = util.format_epoch(now)
    local first
    local sent = {}
    for _, address in ipairs(all) do
        local r = {
            id = new_id(now),
            sender = from.email,
            recipient = address,
            subject = email.subject,
            send_date = date,
            total_size = size,
        }
        if str_match(domain_of(address), "%.invalid$") or domain_of(address) == "invalid" then
            r.code, r.subcode = 550, "5.1.1"
            r.data = str_format("%s   H=mx.%s: SMTP error from remote mail server after "
                .. "RCPT TO:<%s>: 550 5.1.1 No such user", address, domain_of(address), address)
        else
            r.code, r.subcode = 250, "0"
            r.data = str_format("%s   H=mx.%s C=\"250 2.0.0 OK\"", address, domain_of(address))
        end
        records[#records + 1] = r
        by_id[r.id] = r
        first = first or r
        sent[#sent + 1] = r
    end
    keep_message({
        id = first.id,
        time = now,
        from = from,
        to = to,
        cc = cc,
        bcc = bcc,
        subject = email.subject,
        html = html,
        text = email.text,
        template_id = email.template and email.template.id,
        attachments = attachment_list(email),
        records = sent,
        size = size,
    })
    return 200, { result = true, id = first.id }
end

-- GET /smtp/emails
local function list(req)
    local args = req.args()
    local limit, offset, status, body = util.pagination(args, _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    for _, key in ipairs({ "from", "to" }) do
        if args[key] ~= nil and not is_date(args[key]) then
            return seed_errors.answer(400, 799)
        end
    end
    if args.country ~= nil and args.country ~= "on" and args.country ~= "off" then
        return util.invalid("country")
    end
    local sender = type(args.sender) == "string" and str_lower(args.sender) or nil
    local recipient = type(args.recipient) == "string" and str_lower(args.recipient) or nil
    local matching = {}
    for _, r in ipairs(records) do
        local day = str_sub(r.send_date, 1, 10)
        if (not args.from or day >= args.from) and (not args.to or day <= args.to)
           and (not sender or str_lower(r.sender) == sender)
           and (not recipient or str_lower(r.recipient) == recipient) then
            matching[#matching + 1] = r
        end
    end
    return 200, util.slice(matching, offset, limit, record_view)
end

-- GET /smtp/emails/total
local function total()
    return 200, { total = #records }
end

-- GET /smtp/emails/{id}
local function get(_, params)
    local r = by_id[params.id]
    if not r then
        return seed_errors.answer(404, 14)
    end
    return 200, record_view(r)
end

local function bounces_of(day)
    local out = {}
    for _, r in ipairs(records) do
        if r.code ~= 250 and str_sub(r.send_date, 1, 10) == day then
            out[#out + 1] = r
        end
    end
    return out
end

-- GET /smtp/bounces/day: `total` counts the day's bounces, `found` the
-- ones in this answer, `request_limit` the page size applied.
local function bounces(req)
    local args = req.args()
    local limit, offset, status, body = util.pagination(args, _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    local day = args.date
    if day ~= nil and not is_date(day) then
        return seed_errors.answer(400, 799)
    end
    local all = bounces_of(day or today())
    local emails = util.slice(all, offset, limit, function(r)
        return {
            email_to = r.recipient,
            sender = r.sender,
            send_date = r.send_date,
            subject = r.subject,
            smtp_answer_code = r.code,
            smtp_answer_subcode = r.subcode,
            smtp_answer_data = r.data,
        }
    end)
    return 200, { total = #all, emails = emails, request_limit = limit, found = #emails }
end

-- GET /smtp/bounces/day/total: today's bounces
local function bounces_total()
    return 200, { total = #bounces_of(today()) }
end

local function find_unsubscribed(email)
    local key = str_lower(email)
    for i, u in ipairs(unsubscribed) do
        if str_lower(u.email) == key then
            return i
        end
    end
    return nil
end

-- GET /smtp/unsubscribe
local function list_unsubscribed(req)
    local args = req.args()
    local limit, offset, status, body = util.pagination(args, _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    if args.date ~= nil and not is_date(args.date) then
        return seed_errors.answer(400, 799)
    end
    local matching = {}
    for _, u in ipairs(unsubscribed) do
        if not args.date or str_sub(u.date, 1, 10) == args.date then
            matching[#matching + 1] = u
        end
    end
    return 200, util.slice(matching, offset, limit, function(u)
        return {
            email = u.email,
            unsubscribe_by_link = 0,
            unsubscribe_by_user = 1,
            spam_complaint = 0,
            date = u.date,
        }
    end)
end

-- POST /smtp/unsubscribe: all or nothing
local function unsubscribe(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local items = util.json_list(params.emails)
    if not items then
        return seed_errors.answer(400, 8)
    end
    local adds = {}
    for i, item in ipairs(items) do
        local email, comment
        if type(item) == "table" then
            email, comment = item.email, item.comment
        else
            email = item
        end
        if not valid_email(email) then
            return seed_errors.answer(400, 906)
        end
        adds[i] = { email = email, comment = type(comment) == "string" and comment or "" }
    end
    local date = util.format_epoch(req.time)
    for _, a in ipairs(adds) do
        local i = find_unsubscribed(a.email)
        if i then
            unsubscribed[i].comment = a.comment
        else
            unsubscribed[#unsubscribed + 1] = { email = a.email, comment = a.comment, date = date }
        end
    end
    return 200, { result = true }
end

-- DELETE /smtp/unsubscribe (a DELETE with a body)
local function remove_unsubscribed(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local items = util.json_list(params.emails)
    if not items then
        return seed_errors.answer(400, 8)
    end
    for _, item in ipairs(items) do
        if not valid_email(item) then
            return seed_errors.answer(400, 906)
        end
    end
    for _, item in ipairs(items) do
        local i = find_unsubscribed(item)
        if i then
            table_remove(unsubscribed, i)
        end
    end
    return 200, { result = true }
end

-- GET /smtp/ips
local function ips()
    return 200, util.array({ _M.IPS[1], _M.IPS[2] })
end

-- GET /smtp/senders
local function smtp_senders()
    return 200, senders.active_emails()
end

local function find_domain(name)
    for i, d in ipairs(domains) do
        if d.domain == name then
            return i
        end
    end
    return nil
end

-- GET /smtp/domains: the verified ones
local function list_domains()
    local out = util.array()
    for _, d in ipairs(domains) do
        if d.verified then
            out[#out + 1] = "@" .. d.domain
        end
    end
    return 200, out
end

-- POST /smtp/domains: an address at the domain to add
local function add_domain(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local email = params.email
    if email == nil or email == "" then
        return seed_errors.answer(400, 8)
    end
    if not valid_email(email) then
        return seed_errors.answer(400, 906)
    end
    if senders.is_free_mail(email) then
        return seed_errors.answer(400, 20)
    end
    local name = domain_of(email)
    if find_domain(name) then
        return seed_errors.answer(400, 19)
    end
    domains[#domains + 1] = { domain = name, email = email, verified = false }
    return 200, { result = true }
end

-- GET /smtp/domains/{email}: verification (immediate in the sandbox)
local function verify_domain(_, params)
    if not valid_email(params.email) then
        return seed_errors.answer(400, 906)
    end
    local i = find_domain(domain_of(params.email))
    if not i then
        return seed_errors.answer(404, 17)
    end
    domains[i].verified = true
    return 200, { result = true }
end

_M.routes = {
    { "POST",   "/smtp/emails", send },
    { "GET",    "/smtp/emails", list },
    { "GET",    "/smtp/emails/total", total },
    { "GET",    "/smtp/emails/{id}", get },
    { "GET",    "/smtp/bounces/day", bounces },
    { "GET",    "/smtp/bounces/day/total", bounces_total },
    { "GET",    "/smtp/unsubscribe", list_unsubscribed },
    { "POST",   "/smtp/unsubscribe", unsubscribe },
    { "DELETE", "/smtp/unsubscribe", remove_unsubscribed },
    { "GET",    "/smtp/ips", ips },
    { "GET",    "/smtp/senders", smtp_senders },
    { "GET",    "/smtp/domains", list_domains },
    { "POST",   "/smtp/domains", add_domain },
    { "GET",    "/smtp/domains/{email}", verify_domain },
}

return _M
