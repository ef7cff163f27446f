-- Mailing lists ("addressbooks") and their contacts.
--
-- Books get increasing integer ids from FIRST_ID and are listed by id.
-- Contacts keep their insertion order; emails are matched without regard
-- to case and keep the spelling they were first added with. Every contact
-- is "New" (status 0) and counts as active in the book's quantities.

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local str_lower = string.lower
local str_match = string.match
local table_sort = table.sort
local table_remove = table.remove

local util = require "sandbox.util"

local _M = {}

_M.FIRST_ID = 1000001
_M.MAX_LIMIT = 100

local books_by_id -- id -> book { id, name, creationdate, contacts, by_email }
local book_ids    -- ids of existing books, ascending
local next_id

function _M.reset()
    books_by_id = {}
    book_ids = {}
    next_id = _M.FIRST_ID
end

_M.reset()

-- Errors, with the seed document's texts.
local function no_data()
    return util.api_error(400, 8, "No data")
end

local function empty_name()
    return util.api_error(400, 201, "Empty mailing list name")
end

local function name_taken()
    return util.api_error(400, 203, "This mailing list name already exists")
end

local function book_not_found()
    return util.api_error(404, 213, "Mailing list not found")
end

local function email_syntax_error()
    return util.api_error(400, 906, "Email address syntax error")
end

local function email_not_found()
    return util.api_error(404, 17, "Can’t find the email address")
end

local function find_book(id_text)
    if type(id_text) ~= "string" or not str_match(id_text, "^%d+$") then
        return nil
    end
    return books_by_id[tonumber(id_text)]
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
        active_email_qty = n,
        inactive_email_qty = 0,
        creationdate = book.creationdate,
        status = 0,
        status_explain = "Active",
    }
end

-- limit/offset query arguments; nil plus an error answer when invalid
local function pagination(req)
    local args = req.args()
    local limit = util.parse_count(args.limit, _M.MAX_LIMIT)
    if not limit then
        return nil, nil, util.api_error(400, 400, "Invalid limit")
    end
    local offset = util.parse_count(args.offset, 0)
    if not offset then
        return nil, nil, util.api_error(400, 400, "Invalid offset")
    end
    if limit > _M.MAX_LIMIT then
        limit = _M.MAX_LIMIT
    end
    return limit, offset
end

local function valid_email(s)
    return type(s) == "string" and str_match(s, "^[^@]+@[^@]+$") ~= nil
end

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

-- The `emails` field as a list: a JSON array, or a string holding one
-- (older wrappers send it JSON-encoded). nil when absent or empty.
local function email_list(value)
    if type(value) == "string" then
        value = util.decode(value)
    end
    if type(value) ~= "table" or not util.is_array(value) or #value == 0 then
        return nil
    end
    return value
end

-- POST /addressbooks
local function create_book(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local name = book_name(params.bookName)
    if not name then
        return empty_name()
    end
    if name_in_use(name) then
        return name_taken()
    end
    local id = next_id
    next_id = next_id + 1
    books_by_id[id] = {
        id = id,
        name = name,
        creationdate = ngx.utctime(),
        contacts = {},
        by_email = {},
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
    local out = util.array()
    for i = offset + 1, offset + limit do
        local id = book_ids[i]
        if not id then
            break
        end
        out[#out + 1] = book_view(books_by_id[id])
    end
    return 200, out
end

-- GET /addressbooks/{id}: a one-element array, as the real API answers
local function get_book(_, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    return 200, util.array({ book_view(book) })
end

-- PUT /addressbooks/{id}
local function rename_book(req, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local name = book_name(body_params.name)
    if not name then
        return empty_name()
    end
    if name_in_use(name, book.id) then
        return name_taken()
    end
    book.name = name
    return 200, { result = true }
end

-- DELETE /addressbooks/{id}
local function delete_book(_, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
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

-- POST /addressbooks/{id}/emails: all or nothing, a single bad address
-- rejects the whole request
local function add_emails(req, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local items = email_list(body_params.emails)
    if not items then
        return no_data()
    end

    local additions = {}
    for i, item in ipairs(items) do
        local email, vars
        if type(item) == "string" then
            email, vars = item, {}
        elseif type(item) == "table" then
            email, vars = item.email, variables_map(item.variables)
        end
        if not valid_email(email) then
            return email_syntax_error()
        end
        additions[i] = { email = email, variables = vars }
    end

    for _, add in ipairs(additions) do
        local key = str_lower(add.email)
        local contact = book.by_email[key]
        if contact then
            for k, v in pairs(add.variables) do
                contact.variables[k] = v
            end
        else
            contact = { email = add.email, variables = add.variables }
            book.by_email[key] = contact
            book.contacts[#book.contacts + 1] = contact
        end
    end
    return 200, { result = true }
end

-- GET /addressbooks/{id}/emails
local function list_emails(req, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    local limit, offset, status, body = pagination(req)
    if not limit then
        return status, body
    end
    local out = util.array()
    for i = offset + 1, offset + limit do
        local contact = book.contacts[i]
        if not contact then
            break
        end
        local vars = {} -- a copy; an empty one encodes as {}
        for k, v in pairs(contact.variables) do
            vars[k] = v
        end
        out[#out + 1] = {
            email = contact.email,
            status = 0,
            status_explain = "New",
            variables = vars,
        }
    end
    return 200, out
end

-- GET /addressbooks/{id}/emails/total
local function count_emails(_, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    return 200, { total = #book.contacts }
end

-- GET /addressbooks/{id}/emails/{email}
local function get_email(_, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    local contact = book.by_email[str_lower(params.email)]
    if not contact then
        return email_not_found()
    end
    local names = {}
    for name in pairs(contact.variables) do
        names[#names + 1] = name
    end
    table_sort(names)
    local vars = util.array()
    for i, name in ipairs(names) do
        vars[i] = { name = name, type = "string", value = contact.variables[name] }
    end
    return 200, {
        email = contact.email,
        abook_id = tostring(book.id), -- a string in the real API
        status = 0,
        status_explain = "New",
        variables = vars,
    }
end

-- DELETE /addressbooks/{id}/emails (a DELETE with a body)
local function delete_emails(req, params)
    local book = find_book(params.id)
    if not book then
        return book_not_found()
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local items = email_list(body_params.emails)
    if not items then
        return no_data()
    end
    local removed = {}
    for _, item in ipairs(items) do
        local email = type(item) == "table" and item.email or item
        if type(email) == "string" then
            local key = str_lower(email)
            if book.by_email[key] then
                removed[book.by_email[key]] = true
                book.by_email[key] = nil
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

_M.routes = {
    { "POST",   "/addressbooks", create_book },
    { "GET",    "/addressbooks", list_books },
    { "GET",    "/addressbooks/{id}", get_book },
    { "PUT",    "/addressbooks/{id}", rename_book },
    { "DELETE", "/addressbooks/{id}", delete_book },
    { "POST",   "/addressbooks/{id}/emails", add_emails },
    { "GET",    "/addressbooks/{id}/emails", list_emails },
    { "DELETE", "/addressbooks/{id}/emails", delete_emails },
    { "GET",    "/addressbooks/{id}/emails/total", count_emails },
    { "GET",    "/addressbooks/{id}/emails/{email}", get_email },
}

return _M
