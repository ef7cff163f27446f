-- Contacts across all mailing lists (/emails/...), read from the
-- addressbooks area's state: an address "exists" while at least one book
-- holds it. Addresses in the path are percent-decoded by the router and
-- matched without regard to case.
--
-- Campaign figures (how many campaigns went to an address, a campaign's
-- status for an address) come from the campaigns area's state (see
-- campaigns_area); without that area every count is 0 and every campaign
-- unknown (802).

local type = type
local ipairs = ipairs
local pcall = pcall
local require = require
local str_lower = string.lower

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"
local addressbooks = require "sandbox.areas.addressbooks"
local blacklist = require "sandbox.areas.blacklist"

local _M = {}

-- The books holding an address, with its contact in each: {book, contact}
-- pairs, by book id.
local function holdings(email)
    local key = str_lower(email)
    local out = {}
    for _, book in ipairs(addressbooks.books()) do
        local contact = book.by_email[key]
        if contact then
            out[#out + 1] = { book = book, contact = contact }
        end
    end
    return out
end

-- The campaigns area (another module, loaded after this one), when it is
-- there: find(id) gives a campaign (`status`, `list_id`, `send_date`, and
-- once sent `recipients`), for_book(book_id) the campaigns of a book.
local function campaigns_area()
    local ok, area = pcall(require, "sandbox.areas.campaigns")
    if ok and type(area) == "table" and type(area.find) == "function"
       and type(area.for_book) == "function" then
        return area
    end
    return nil
end

local function received(campaign, email)
    local key = str_lower(email)
    for _, r in ipairs(campaign.recipients or {}) do
        if str_lower(r) == key then
            return true
        end
    end
    return false
end

-- Campaigns sent to an address, over the campaigns of every book. Opens
-- and clicks are not modelled: always 0.
local function statistics(email)
    local sent = 0
    local area = campaigns_area()
    if area then
        local seen = {}
        for _, book in ipairs(addressbooks.books()) do
            for _, task in ipairs(area.for_book(book.id)) do
                local c = area.find(task.task_id)
                if c and not seen[c] and received(c, email) then
                    seen[c] = true
                    sent = sent + 1
                end
            end
        end
    end
    return { sent = sent, open = 0, link = 0 }
end

-- The address list of a POST body's `emails` (strings or {email}
-- objects, or a string holding that JSON array); nil when missing.
local function requested_emails(req)
    local params, status, body = util.request_params(req)
    if not params then
        return nil, status, body
    end
    local items = util.json_list(params.emails)
    if not items then
        return nil, seed_errors.answer(400, 8)
    end
    local list = addressbooks.addresses(items)
    if #list == 0 then
        return nil, seed_errors.answer(400, 8)
    end
    return list
end

local function info_list(email)
    local out = util.array()
    for _, h in ipairs(holdings(email)) do
        out[#out + 1] = {
            book_id = h.book.id,
            email = h.contact.email,
            status = h.contact.status,
            status_explain = h.contact.status_explain,
            variables = addressbooks.contact_variables(h.contact),
        }
    end
    return out
end

-- GET /emails/{email}
local function email_info(_, params)
    local out = info_list(params.email)
    if #out == 0 then
        return seed_errors.answer(404, 17)
    end
    return 200, out
end

-- POST /emails: address -> its entries ([] when no book holds it)
local function emails_info(req)
    local list, status, body = requested_emails(req)
    if not list then
        return status, body
    end
    local out = {}
    for _, email in ipairs(list) do
        out[email] = info_list(email)
    end
    return 200, out
end

-- GET /emails/{email}/details
local function email_details(_, params)
    local out = util.array()
    for _, h in ipairs(holdings(params.email)) do
        out[#out + 1] = {
            list_name = h.book.name,
            list_id = h.book.id,
            add_date = h.contact.add_date,
            source = h.contact.source,
        }
    end
    if #out == 0 then
        return seed_errors.answer(404, 17)
    end
    return 200, out
end

-- DELETE /emails/{email}: out of every book
local function delete_email(_, params)
    local found = holdings(params.email)
    if #found == 0 then
        return seed_errors.answer(404, 17)
    end
    for _, h in ipairs(found) do
        addressbooks.remove_contact(h.book, params.email)
    end
    return 200, { result = true }
end

-- GET /emails/{email}/campaigns
local function email_campaigns(_, params)
    local books = util.array()
    for _, h in ipairs(holdings(params.email)) do
        books[#books + 1] = { id = h.book.id, address_book_name = h.book.name }
    end
    return 200, {
        statistic = statistics(params.email),
        addressbooks = books,
        blacklist = blacklist.contains(params.email),
    }
end

-- POST /emails/campaigns: address -> figures, with the real API's
-- misspelt "adressbooks" key
local function emails_campaigns(req)
    local list, status, body = requested_emails(req)
    if not list then
        return status, body
    end
    local out = {}
    for _, email in ipairs(list) do
        local books = util.array()
        for _, h in ipairs(holdings(email)) do
            books[#books + 1] = { id = h.book.id, name = h.book.name }
        end
        local s = statistics(email)
        out[email] = {
            sent = s.sent, open = s.open, link = s.link,
            adressbooks = books,
            blacklist = blacklist.contains(email),
        }
    end
    return 200, out
end

-- GET /campaigns/{id}/email/{email}: a sent campaign that went to the
-- address answers "Sent"/"Delivered"; one still scheduled, for an address
-- of its list, "In queue"; otherwise the address is not found (17).
local function campaign_email(_, params)
    local area = campaigns_area()
    local c = area and area.find(params.id)
    if not c then
        return seed_errors.answer(404, 802)
    end
    if received(c, params.email) then
        return 200, {
            send_date = c.send_date,
            global_status = 1, global_status_explain = "Sent",
            detail_status = 1, detail_status_explain = "Delivered",
        }
    end
    local book = c.recipients == nil and c.list_id and addressbooks.find(c.list_id)
    if book and book.by_email[str_lower(params.email)] then
        return 200, {
            send_date = c.send_date or util.null,
            global_status = 0, global_status_explain = "In queue",
            detail_status = 0, detail_status_explain = "In queue",
        }
    end
    return seed_errors.answer(404, 17)
end

_M.routes = {
    { "POST",   "/emails", emails_info },
    { "POST",   "/emails/campaigns", emails_campaigns },
    { "GET",    "/emails/{email}", email_info },
    { "DELETE", "/emails/{email}", delete_email },
    { "GET",    "/emails/{email}/details", email_details },
    { "GET",    "/emails/{email}/campaigns", email_campaigns },
    { "GET",    "/campaigns/{id}/email/{email}", campaign_email },
}

return _M
