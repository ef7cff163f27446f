-- Mailing lists ("addressbooks"), their contacts and variables.
--
-- Books get increasing integer ids from FIRST_ID and are listed by id.
-- Contacts keep their insertion order; emails are matched without regard
-- to case and keep the spelling they were first added with. A contact is
-- "New" (status 0) until it is unsubscribed (status UNSUBSCRIBED); new
-- contacts count as active in the book's quantities, unsubscribed ones as
-- inactive. A book remembers the names and types of the variables its
-- contacts were given (type "number" for JSON numbers, "string" otherwise).
-- A contact's phone comes from its `phone` field or its "phone"/"Phone"
-- variable.
--
-- Other areas read this state through the functions marked "For other
-- areas": find(id), books(), remove_contact(book, email),
-- contact_variables(contact).

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local tonumber = tonumber
local math_floor = math.floor
local pcall = pcall
local require = require
local str_lower = string.lower
local str_match = string.match
local table_sort = table.sort
local table_remove = table.remove

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

_M.FIRST_ID = 1000001
_M.MAX_LIMIT = 100

-- Contact statuses.
_M.NEW, _M.NEW_EXPLAIN = 0, "New"
_M.UNSUBSCRIBED, _M.UNSUBSCRIBED_EXPLAIN = 4, "Unsubscribed"

-- What GET /addressbooks/{id}/cost works with: the account of the seed's
-- /user/balance/detail (9.36 USD, 9914 emails left on the tariff) and a
-- price per email sent beyond the tariff.
_M.CURRENCY = "USD"
_M.BALANCE = 9.36
_M.EMAILS_LEFT = 9914
_M.PRICE_PER_EMAIL = 0.0012
_M.MAX_EMAILS_PER_TASK = 10000

local books_by_id -- id -> book (see find)
local book_ids    -- ids of existing books, ascending
local next_id

function _M.reset()
    books_by_id = {}
    book_ids = {}
    next_id = _M.FIRST_ID
end

_M.reset()

local function find_book(id_text)
    if type(id_text) ~= "string" or not str_match(id_text, "^%d+$") then
        return nil
    end
    return books_by_id[tonumber(id_text)]
end

--- For other areas (campaigns, SMS, emails...): the book with this id (a
-- number or a decimal string), or nil. A book is `{id, name, creationdate,
-- contacts = {contact, ...}, by_email = {[lower-cased email] = contact},
-- variables = {{name, type}, ...}, unsubscribed = count}`; a contact is
-- `{email, variables = {name = value}, phone, status, status_explain,
-- add_date, source}`.
function _M.find(id)
    if type(id) == "number" then
        return books_by_id[id]
    end
    return find_book(id)
end

--- For other areas: every book, by id.
function _M.books()
    local out = {}
    for i, id in ipairs(book_ids) do
        out[i] = books_by_id[id]
    end
    return out
end

--- For other areas: removes a contact (matched without regard to case)
-- from a book; true when there was one.
function _M.remove_contact(book, email)
    local key = str_lower(email)
    local contact = book.by_email[key]
    if not contact then
        return false
    end
    book.by_email[key] = nil
    if contact.status == _M.UNSUBSCRIBED then
        book.unsubscribed = book.unsubscribed - 1
    end
    for i, c in ipairs(book.contacts) do
        if c == contact then
            table_remove(book.contacts, i)
            break
        end
    end
    return true
end

local function variable_type(value)
    return type(value) == "number" and "number" or "string"
end

--- For other areas: a contact's variables as the API lists them, sorted
-- by name: `[{name, type, value}]`.
function _M.contact_variables(contact)
    local names = {}
    for name in pairs(contact.variables) do
        names[#names + 1] = name
    end
    table_sort(names)
    local out = util.array()
    for i, name in ipairs(names) do
        local value = contact.variables[name]
        out[i] = { name = name, type = variable_type(value), value = value }
    end
    return out
end

local function name_in_use(name, except_id)
    for id, book in pairs(books_by_id) do
        if book.name == name and id ~= except_id then
            return true
        end
    end
    return false
end

-- the book name from a request field: trimmed string, nil when empty
local function book_name(value)
    if type(value) == "number" then
        value = tostring(value)
    end
    if type(value) ~= "string" then
        return nil
    end
    value = util.trim(value)
    return value ~= "" and value or nil
end

local function book_view(book)
    local n = #book.contacts
    return {
        id = book.id,
        name = book.name,
        all_email_qty = n,
        active_email_qty = n - book.unsubscribed,
        inactive_email_qty = book.unsubscribed,
        creationdate = book.creationdate,
        status = 0,
        status_explain = "Active",
    }
end

-- One contact as GET /addressbooks/{id}/emails lists it.
local function contact_view(contact)
    local vars = {} -- a copy; an empty one encodes as {}
    for k, v in pairs(contact.variables) do
        vars[k] = v
    end
    return {
        email = contact.email,
        status = contact.status,
        status_explain = contact.status_explain,
        variables = vars,
        phone = contact.phone,
    }
end

-- limit/offset query arguments; nil plus an error answer when invalid
local function pagination(req)
    return util.pagination(req.args(), _M.MAX_LIMIT)
end

local function valid_email(s)
    return type(s) == "string" and str_match(s, "^[^@]+@[^@]+$") ~= nil
end
_M.valid_email = valid_email

-- Contact variables as a name -> value map. Accepts the documented object
-- form and also an array of {name, value} objects.
local function variables_map(value)
    local vars = {}
    if type(value) ~= "table" then
        return vars
    end
    if util.is_object(value) then
        for k, v in pairs(value) do
            vars[tostring(k)] = v
        end
    else
        for _, item in ipairs(value) do
            if type(item) == "table" and item.name ~= nil then
                vars[tostring(item.name)] = item.value
            end
        end
    end
    return vars
end

-- Remembers the variables' names and types in the book.
local function note_variables(book, vars)
    for name, value in pairs(vars) do
        if not book.variable_types[name] then
            local t = variable_type(value)
            book.variable_types[name] = t
            book.variables[#book.variables + 1] = { name = name, type = t }
        end
    end
end

-- POST /addressbooks
local function create_book(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local name = book_name(params.bookName)
    if not name then
        return seed_errors.answer(400, 201)
    end
    if name_in_use(name) then
        return seed_errors.answer(400, 203)
    end
    local id = next_id
    next_id = next_id + 1
    books_by_id[id] = {
        id = id,
        name = name,
        creationdate = ngx.utctime(),
        contacts = {},
        by_email = {},
        variables = {},
        variable_types = {},
        unsubscribed = 0,
    }
    book_ids[#book_ids + 1] = id
    return 200, { id = id }
end

-- GET /addressbooks
local function list_books(req)
    local limit, offset, status, body = pagination(req)
    if not limit then
        return status, body
    end
    return 200, util.slice(book_ids, offset, limit, function(id)
        return book_view(books_by_id[id])
    end)
end

-- GET /addressbooks/{id}: a one-element array, as the real API answers
local function get_book(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    return 200, util.array({ book_view(book) })
end

-- PUT /addressbooks/{id}
local function rename_book(req, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local name = book_name(body_params.name)
    if not name then
        return seed_errors.answer(400, 201)
    end
    if name_in_use(name, book.id) then
        return seed_errors.answer(400, 203)
    end
    book.name = name
    return 200, { result = true }
end

-- DELETE /addressbooks/{id}
local function delete_book(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    books_by_id[book.id] = nil
    for i, id in ipairs(book_ids) do
        if id == book.id then
            table_remove(book_ids, i)
            break
        end
    end
    return 200, { result = true }
end

-- The book of the path and the `emails` field of the body, or nil plus
-- the answer (213 for no such book, 8 for no addresses).
local function book_and_emails(req, params)
    local book = find_book(params.id)
    if not book then
        return nil, seed_errors.answer(404, 213)
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return nil, status, body
    end
    local items = util.json_list(body_params.emails)
    if not items then
        return nil, seed_errors.answer(400, 8)
    end
    return book, items
end

-- POST /addressbooks/{id}/emails: all or nothing, a single bad address
-- rejects the whole request
local function add_emails(req, params)
    local book, items, body = book_and_emails(req, params)
    if not book then
        return items, body
    end

    local additions = {}
    for i, item in ipairs(items) do
        local email, vars, phone
        if type(item) == "string" then
            email, vars = item, {}
        elseif type(item) == "table" then
            email, vars = item.email, variables_map(item.variables)
            phone = util.phone_digits(item.phone)
        end
        if not valid_email(email) then
            return seed_errors.answer(400, 906)
        end
        additions[i] = { email = email, variables = vars,
                         phone = phone or util.phone_digits(vars.phone or vars.Phone) }
    end

    local now = ngx.utctime()
    for _, add in ipairs(additions) do
        local key = str_lower(add.email)
        local contact = book.by_email[key]
        if contact then
            for k, v in pairs(add.variables) do
                contact.variables[k] = v
            end
            contact.phone = add.phone or contact.phone
        else
            contact = {
                email = add.email, variables = add.variables, phone = add.phone,
                status = _M.NEW, status_explain = _M.NEW_EXPLAIN,
                add_date = now, source = "api",
            }
            book.by_email[key] = contact
            book.contacts[#book.contacts + 1] = contact
        end
        note_variables(book, add.variables)
    end
    return 200, { result = true }
end

-- GET /addressbooks/{id}/emails
local function list_emails(req, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local limit, offset, status, body = pagination(req)
    if not limit then
        return status, body
    end
    return 200, util.slice(book.contacts, offset, limit, contact_view)
end

-- GET /addressbooks/{id}/emails/total
local function count_emails(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    return 200, { total = #book.contacts }
end

-- GET /addressbooks/{id}/emails/{email}
local function get_email(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local contact = book.by_email[str_lower(params.email)]
    if not contact then
        return seed_errors.answer(404, 17)
    end
    return 200, {
        email = contact.email,
        abook_id = tostring(book.id), -- a string in the real API
        status = contact.status,
        status_explain = contact.status_explain,
        variables = _M.contact_variables(contact),
    }
end

-- The addresses of an `emails` field (strings or {email} objects).
local function addresses(items)
    local out = {}
    for _, item in ipairs(items) do
        local email = type(item) == "table" and item.email or item
        if type(email) == "string" then
            out[#out + 1] = email
        end
    end
    return out
end
_M.addresses = addresses

-- DELETE /addressbooks/{id}/emails (a DELETE with a body)
local function delete_emails(req, params)
    local book, items, body = book_and_emails(req, params)
    if not book then
        return items, body
    end
    local removed = {}
    for _, email in ipairs(addresses(items)) do
        local key = str_lower(email)
        local contact = book.by_email[key]
        if contact then
            removed[contact] = true
            book.by_email[key] = nil
            if contact.status == _M.UNSUBSCRIBED then
                book.unsubscribed = book.unsubscribed - 1
            end
        end
    end
    local kept = {}
    for _, contact in ipairs(book.contacts) do
        if not removed[contact] then
            kept[#kept + 1] = contact
        end
    end
    book.contacts = kept
    return 200, { result = true }
end

-- POST /addressbooks/{id}/emails/unsubscribe: addresses not in the book
-- are skipped, as DELETE skips them
local function unsubscribe_emails(req, params)
    local book, items, body = book_and_emails(req, params)
    if not book then
        return items, body
    end
    for _, email in ipairs(addresses(items)) do
        local contact = book.by_email[str_lower(email)]
        if contact and contact.status ~= _M.UNSUBSCRIBED then
            contact.status = _M.UNSUBSCRIBED
            contact.status_explain = _M.UNSUBSCRIBED_EXPLAIN
            book.unsubscribed = book.unsubscribed + 1
        end
    end
    return 200, { result = true }
end

-- GET /addressbooks/{id}/variables
local function list_variables(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local out = util.array()
    for i, v in ipairs(book.variables) do
        out[i] = { name = v.name, type = v.type }
    end
    return 200, out
end

-- GET /addressbooks/{id}/variables/{name}/{value}: the value is compared
-- as text (a number 42 matches "42")
local function emails_by_variable(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local out = util.array()
    for _, contact in ipairs(book.contacts) do
        local value = contact.variables[params.name]
        if value ~= nil then
            local text = value
            if type(value) == "number" and value == math_floor(value) then
                text = ("%d"):format(value)
            elseif type(value) ~= "string" then
                text = tostring(value)
            end
            if text == params.value then
                out[#out + 1] = contact_view(contact)
            end
        end
    end
    return 200, out
end

-- `variables` of POST .../emails/variable and .../phones/variable: a
-- non-empty array of {name, value} (an object name -> value is accepted
-- too); nil when missing or empty
local function variable_updates(value)
    if type(value) == "string" then
        value = util.decode(value)
    end
    if type(value) ~= "table" then
        return nil
    end
    local vars = variables_map(value)
    if next(vars) == nil then
        return nil
    end
    return vars
end

local function set_variables(book, contact, vars)
    for k, v in pairs(vars) do
        contact.variables[k] = v
    end
    local phone = util.phone_digits(vars.phone or vars.Phone)
    if phone then
        contact.phone = phone
    end
    note_variables(book, vars)
end

-- POST /addressbooks/{id}/emails/variable
local function update_email_variables(req, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local email = body_params.email
    if type(email) ~= "string" or email == "" then
        return seed_errors.answer(400, 8)
    end
    local vars = variable_updates(body_params.variables)
    if not vars then
        return seed_errors.answer(400, 8)
    end
    local contact = book.by_email[str_lower(email)]
    if not contact then
        return seed_errors.answer(404, 17)
    end
    set_variables(book, contact, vars)
    return 200, { result = true }
end

-- POST /addressbooks/{id}/phones/variable: every contact with that phone
local function update_phone_variables(req, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local phone = util.phone_digits(body_params.phone)
    if not phone then
        return seed_errors.answer(400, 8)
    end
    local vars = variable_updates(body_params.variables)
    if not vars then
        return seed_errors.answer(400, 8)
    end
    local found = false
    for _, contact in ipairs(book.contacts) do
        if contact.phone == phone then
            set_variables(book, contact, vars)
            found = true
        end
    end
    if not found then
        -- no code of the seed's table fits an unknown phone number
        return util.not_found("Phone number")
    end
    return 200, { result = true }
end

local function round_cents(x)
    return math_floor(x * 100 + 0.5) / 100
end

-- GET /addressbooks/{id}/cost: the active contacts are sent to; what the
-- tariff does not cover is paid from the balance
local function cost(_, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local qty = #book.contacts - book.unsubscribed
    if qty == 0 then
        return seed_errors.answer(400, 211)
    end
    local overdraft = qty - _M.EMAILS_LEFT
    if overdraft < 0 then
        overdraft = 0
    end
    local affordable = math_floor(_M.BALANCE / _M.PRICE_PER_EMAIL + 1e-9)
    return 200, {
        cur = _M.CURRENCY,
        sent_emails_qty = qty,
        overdraft_all_emails_price = round_cents(overdraft * _M.PRICE_PER_EMAIL),
        address_delta_from_balance = affordable - overdraft,
        address_delta_from_tariff = _M.EMAILS_LEFT - qty,
        max_emails_per_task = _M.MAX_EMAILS_PER_TASK,
        result = true,
    }
end

-- The campaigns area (another module; looked up at request time, since
-- it loads after this one): its for_book(book_id) lists what was sent or
-- scheduled to a book as {task_id, task_name, task_status}.
local function campaigns_area()
    local ok, area = pcall(require, "sandbox.areas.campaigns")
    if ok and type(area) == "table" then
        return area
    end
    return nil
end

-- GET /addressbooks/{id}/campaigns
local function book_campaigns(req, params)
    local book = find_book(params.id)
    if not book then
        return seed_errors.answer(404, 213)
    end
    local limit, offset, status, body = pagination(req)
    if not limit then
        return status, body
    end
    local tasks = {}
    local area = campaigns_area()
    if area and type(area.for_book) == "function" then
        tasks = area.for_book(book.id) or tasks
    end
    return 200, util.slice(tasks, offset, limit)
end

_M.routes = {
    { "POST",   "/addressbooks", create_book },
    { "GET",    "/addressbooks", list_books },
    { "GET",    "/addressbooks/{id}", get_book },
    { "PUT",    "/addressbooks/{id}", rename_book },
    { "DELETE", "/addressbooks/{id}", delete_book },
    { "GET",    "/addressbooks/{id}/variables", list_variables },
    { "GET",    "/addressbooks/{id}/variables/{name}/{value}", emails_by_variable },
    { "POST",   "/addressbooks/{id}/emails", add_emails },
    { "GET",    "/addressbooks/{id}/emails", list_emails },
    { "DELETE", "/addressbooks/{id}/emails", delete_emails },
    { "GET",    "/addressbooks/{id}/emails/total", count_emails },
    { "POST",   "/addressbooks/{id}/emails/unsubscribe", unsubscribe_emails },
    { "POST",   "/addressbooks/{id}/emails/variable", update_email_variables },
    { "GET",    "/addressbooks/{id}/emails/{email}", get_email },
    { "POST",   "/addressbooks/{id}/phones/variable", update_phone_variables },
    { "GET",    "/addressbooks/{id}/cost", cost },
    { "GET",    "/addressbooks/{id}/campaigns", book_campaigns },
}

return _M
