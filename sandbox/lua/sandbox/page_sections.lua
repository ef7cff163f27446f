-- The sections of the sandbox's web page (GET /__sandbox/), one row each:
--
--   id       the anchor (/__sandbox/#id) and the <section> id
--   title    the heading
--   source   what feeds it, shown under the heading (the API routes)
--   items    function() -> list of items, OLDEST first (the page shows
--            them newest first, at most page.MAX_ROWS of them)
--   columns  list of { "Title", function(item) -> cell }; a cell is a
--            string or number (escaped), nil (empty), page_html.link(),
--            or page_html.styled(class, cell)
--   empty    what to say when there is no item yet
--
-- To show another area (chatbot messages, for example), give its module a
-- function returning its items and add a row here.

local type = type
local ipairs = ipairs
local tostring = tostring
local table_concat = table.concat

local ngx = ngx

local html = require "sandbox.page_html"
local mail = require "sandbox.page_mail"
local requests = require "sandbox.page_requests"
local stats = require "sandbox.stats"
local auth = require "sandbox.auth"
local smtp = require "sandbox.areas.smtp"
local campaigns = require "sandbox.areas.campaigns"
local sms = require "sandbox.areas.sms"
local viber = require "sandbox.areas.viber"

local link, styled = html.link, html.styled

-- At most `max` entries of a list, then "and N more".
local function some(list, max, show)
    local out = {}
    for i, v in ipairs(list) do
        if i > max then
            out[#out + 1] = "and " .. (#list - max) .. " more"
            break
        end
        out[#out + 1] = show and show(v) or tostring(v)
    end
    return table_concat(out, ", ")
end

local function phone(digits)
    return "+" .. digits
end

local function address(p)
    if type(p) == "table" then
        return tostring(p.email)
    end
    return tostring(p)
end

local function delivery(m)
    local delivered, bounced = 0, 0
    for _, r in ipairs(m.records) do
        if r.code == 250 then
            delivered = delivered + 1
        else
            bounced = bounced + 1
        end
    end
    if bounced == 0 then
        return styled("ok", delivered .. " delivered")
    end
    return styled("bad", delivered .. " delivered, " .. bounced .. " bounced")
end

local function attachment_names(m)
    local names = {}
    for i, a in ipairs(m.attachments) do
        names[i] = a.name
    end
    return #names > 0 and some(names, 3) or nil
end

local function campaign_status_class(word)
    return word == "cancelled" and "muted" or (word == "scheduled" and "warn" or "ok")
end

return {
    {
        id = "emails",
        title = "SMTP emails",
        source = "POST /smtp/emails",
        items = smtp.messages,
        columns = {
            { "Sent", function(m) return html.time_cell(m.time) end },
            { "From", function(m) return address(m.from) end },
            { "To", function(m) return some(m.to, 3, address) end },
            { "Subject", function(m)
                return link(mail.url("smtp", m.id), m.subject)
            end },
            { "Attachments", attachment_names },
            { "Delivery", delivery },
        },
        empty = "No email sent yet: client:smtp_send{...} sends one.",
    },
    {
        id = "campaigns",
        title = "Email campaigns",
        source = "POST /campaigns",
        items = campaigns.all,
        columns = {
            { "Id", function(c) return link(mail.url("campaign", c.id), tostring(c.id)) end },
            { "Send date", function(c) return html.time_cell(c.send_date) end },
            { "Name", function(c) return c.name end },
            { "From", function(c) return c.sender_email end },
            { "Subject", function(c) return c.subject end },
            { "To", mail.campaign_audience },
            { "Recipients", function(c)
                return styled("num", c.recipients and #c.recipients or c.all_email_qty)
            end },
            { "Status", function(c)
                local word = mail.campaign_status(c)
                return styled(campaign_status_class(word), word)
            end },
        },
        empty = "No email campaign yet.",
    },
    {
        id = "sms",
        title = "SMS",
        source = "POST /sms/send (single sends), POST /sms/campaigns (to a mailing list)",
        items = sms.campaigns,
        columns = {
            { "Id", function(c) return styled("mono", c.id) end },
            { "Created", function(c) return html.time_cell(c.date_created) end },
            { "Send date", function(c) return html.time_cell(c.send_date) end },
            { "Sent with", function(c)
                if c.address_book_id == 0 then
                    return "POST /sms/send"
                end
                return "POST /sms/campaigns (list " .. c.address_book_id .. ")"
            end },
            { "Sender", function(c) return c.sender end },
            { "To", function(c) return some(c.phones, 3, phone) end },
            { "Text", function(c) return c.body end },
            { "Status", function(c)
                return styled(campaign_status_class(c.status), c.status)
            end },
        },
        empty = "No SMS sent yet.",
    },
    {
        id = "viber",
        title = "Viber campaigns",
        source = "POST /viber",
        items = viber.tasks,
        columns = {
            { "Id", function(t) return styled("mono", t.id) end },
            { "Created", function(t) return html.time_cell(t.created) end },
            { "Send date", function(t) return html.time_cell(t.send_date) end },
            { "Name", function(t) return t.name end },
            { "Sender", function(t) return t.sender and t.sender.name end },
            { "To", function(t)
                local to = some(t.recipients, 3, phone)
                return t.address_book and (to .. " (list " .. t.address_book .. ")") or to
            end },
            { "Message", function(t) return t.message end },
            { "Status", function(t)
                return styled(t.status == "scheduled" and "warn" or "ok", t.status)
            end },
        },
        empty = "No Viber campaign yet.",
    },
    {
        id = "tokens",
        title = "Tokens issued",
        source = "POST /oauth/access_token (the tokens themselves are never shown)",
        items = auth.grants,
        columns = {
            { "Issued", function(g) return html.time_cell(g.time) end },
            { "Client id", function(g) return styled("mono", g.client_id) end },
            { "Expires", function(g) return html.time_cell(g.expires) end },
            { "State", function(g)
                if g.revoked then
                    return styled("muted", "revoked")
                elseif g.expires <= ngx.now() then
                    return styled("muted", "expired")
                end
                return styled("ok", "valid")
            end },
        },
        empty = "No token issued yet.",
    },
    {
        id = "requests",
        title = "Requests",
        source = "every API request (not the admin API), the last "
                 .. stats.LOG_SIZE .. "; client secrets hidden, Authorization values never kept",
        items = function() return stats.log(0) end,
        columns = {
            { "#", function(e) return link(requests.url(e.index), tostring(e.index)) end },
            { "Received", function(e) return html.time_cell(e.time) end },
            { "Method", function(e) return styled("mono", e.method) end },
            { "Path", function(e) return styled("mono", e.path) end },
            { "Query", function(e) return styled("mono", requests.redact_query(e)) end },
            { "Status", function(e)
                return styled(requests.status_class(e.status), e.status or "...")
            end },
            { "Body", function(e)
                return e.body_size and link(requests.url(e.index), html.size(e.body_size))
            end },
            { "Fault", function(e) return e.fault end },
        },
        empty = "No API request yet.",
    },
}
