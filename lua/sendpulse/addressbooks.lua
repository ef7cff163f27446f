--- Mailing lists ("address books"), their contacts and variables.
--
-- Contacts are given as email strings or as `{ email = "...", variables =
-- { name = "Frodo" } }` tables. Large lists are sent in chunks (see
-- `add_emails`).
-- @area sendpulse.addressbooks
local bulk = require "sendpulse.bulk"
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local floor = math.floor
local ipairs = ipairs
local pairs = pairs
local string_format = string.format
local table_sort = table.sort
local tostring = tostring
local type = type

local path = util.path
local check_id = util.integer
local check_string = util.string
local check_email = util.email

local _M = {}

--- Lists mailing lists.
-- @http GET /addressbooks
-- @tparam[opt] table opts `limit` (at most 100), `offset`
-- @treturn table a list of `{id, name, all_email_qty, active_email_qty,
--   inactive_email_qty, creationdate, status, status_explain}` (older API
--   versions send the numbers as strings: they are left as sent)
-- @return[2] nil, err
-- @usage for _, b in ipairs(assert(client:address_books{limit = 10})) do print(b.name) end
function _M:address_books(opts)
  return self:request("GET", "/addressbooks", paging.query("address_books", opts, nil, 100))
end

--- Iterates over every mailing list, page by page.
-- @http GET /addressbooks
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`
-- @treturn function an iterator yielding one list at a time; on failure
--   it yields `false, err` once
-- @usage for book, err in client:each_address_book() do assert(book, err) print(book.id) end
function _M:each_address_book(opts)
  return paging.each(self, "each_address_book", "/addressbooks", opts)
end

--- One mailing list (unwrapped from the API's one-element array).
-- @http GET /addressbooks/{id}
-- @tparam integer id
-- @treturn table `{id, name, all_email_qty, ...}`
-- @return[2] nil, err (`code` 213 when it does not exist)
-- @usage print(assert(client:address_book(id)).all_email_qty)
function _M:address_book(id)
  check_id("address_book", "id", id)
  local res, err = self:request("GET", path("addressbooks", id))
  return util.unwrap(res), err
end

--- Creates a mailing list.
-- @http POST /addressbooks
-- @tparam string name
-- @treturn table `{id}`
-- @return[2] nil, err (`code` 203 when the name is taken)
-- @usage local id = assert(client:create_address_book("Customers")).id
function _M:create_address_book(name)
  check_string("create_address_book", "name", name)
  return self:request("POST", "/addressbooks", nil, { bookName = name })
end

--- Renames a mailing list.
-- @http PUT /addressbooks/{id}
-- @tparam integer id
-- @tparam string name
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage assert(client:rename_address_book(id, "Shire folk"))
function _M:rename_address_book(id, name)
  check_id("rename_address_book", "id", id)
  check_string("rename_address_book", "name", name)
  return self:request("PUT", path("addressbooks", id), nil, { name = name })
end

--- Deletes a mailing list.
-- @http DELETE /addressbooks/{id}
-- @tparam integer id
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage assert(client:delete_address_book(id))
function _M:delete_address_book(id)
  check_id("delete_address_book", "id", id)
  return self:request("DELETE", path("addressbooks", id))
end

--- The variables defined in a mailing list.
-- @http GET /addressbooks/{id}/variables
-- @tparam integer id
-- @treturn table a list of `{name, type}`
-- @return[2] nil, err
-- @usage for _, v in ipairs(assert(client:address_book_variables(id))) do print(v.name, v.type) end
function _M:address_book_variables(id)
  check_id("address_book_variables", "id", id)
  return self:request("GET", path("addressbooks", id, "variables"))
end

--- Contacts of a mailing list, one page.
-- @http GET /addressbooks/{id}/emails
-- @tparam integer id
-- @tparam[opt] table opts `limit`, `offset`
-- @treturn table a list of `{email, status, status_explain, variables, phone}`
-- @return[2] nil, err
-- @usage local page = assert(client:address_book_emails(id, { limit = 50, offset = 100 }))
function _M:address_book_emails(id, opts)
  check_id("address_book_emails", "id", id)
  return self:request("GET", path("addressbooks", id, "emails"),
                      paging.query("address_book_emails", opts))
end

--- Iterates over every contact of a mailing list.
-- @http GET /addressbooks/{id}/emails
-- @tparam integer id
-- @tparam[opt] table opts `limit`, `max`, `offset`
-- @treturn function an iterator (see `each_address_book`)
-- @usage for c, err in client:each_address_book_email(id) do assert(c, err) print(c.email) end
function _M:each_address_book_email(id, opts)
  check_id("each_address_book_email", "id", id)
  return paging.each(self, "each_address_book_email",
                     path("addressbooks", id, "emails"), opts)
end

--- How many contacts a mailing list has.
-- @http GET /addressbooks/{id}/emails/total
-- @tparam integer id
-- @treturn table `{total}`
-- @return[2] nil, err
-- @usage print(assert(client:address_book_emails_total(id)).total)
function _M:address_book_emails_total(id)
  check_id("address_book_emails_total", "id", id)
  return self:request("GET", path("addressbooks", id, "emails", "total"))
end

--- Contacts whose variable `name` has the value `value`.
-- @http GET /addressbooks/{id}/variables/{name}/{value}
-- @tparam integer id
-- @tparam string name
-- @tparam string|number value
-- @treturn table a list of contacts
-- @return[2] nil, err
-- @usage local hobbits = assert(client:address_book_emails_by_variable(id, "race", "hobbit"))
function _M:address_book_emails_by_variable(id, name, value)
  check_id("address_book_emails_by_variable", "id", id)
  check_string("address_book_emails_by_variable", "name", name)
  if type(value) == "number" then
    -- "%.0f" keeps large integers whole where tostring would write 1e+15
    value = (value == floor(value) and value == value)
            and string_format("%.0f", value) or tostring(value)
  end
  check_string("address_book_emails_by_variable", "value", value)
  return self:request("GET", path("addressbooks", id, "variables", name, value))
end

--- One contact of a mailing list.
-- @http GET /addressbooks/{id}/emails/{email}
-- @tparam integer id
-- @tparam string email
-- @treturn table `{email, abook_id, status, status_explain, variables}`
--   (`abook_id` is a string, as sent)
-- @return[2] nil, err (`code` 17 when the contact is not in the list)
-- @usage print(assert(client:address_book_email(id, "frodo@shire.me")).status_explain)
function _M:address_book_email(id, email)
  check_id("address_book_email", "id", id)
  check_email("address_book_email", "email", email)
  return self:request("GET", path("addressbooks", id, "emails", email))
end

local ADD_OPTIONS = { confirmation = true, sender_email = true,
                      message_lang = true, template_id = true }

-- The contacts of one chunk as the API wants them: `{email = ...}` objects
-- (the chunk is bulk.run's own copy, so it can be rewritten in place).
-- Done chunk by chunk, so a large list is never copied whole.
local function contact_objects(chunk)
  for i = 1, #chunk do
    if type(chunk[i]) == "string" then
      chunk[i] = { email = chunk[i] }
    end
  end
  return chunk
end

--- Adds contacts to a mailing list, in chunks.
-- Every contact is checked first; nothing is sent if one is invalid.
-- Plain addresses are sent as `{email = ...}` objects. On a failure the
-- error tells which chunk failed (`err.chunk`), how many contacts went in
-- (`err.done`) and which did not (`err.not_done`, as they were given).
-- @http POST /addressbooks/{id}/emails
-- @tparam integer id
-- @tparam table contacts emails, or `{email, variables}` tables
-- @tparam[opt] table opts `chunk` (contacts per request, default 1000),
--   `on_progress(done, total)`, and for double opt-in `confirmation =
--   "force"`, `sender_email`, `message_lang`, `template_id`
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err
-- @usage assert(client:add_emails(id, { "a@example.com", { email = "b@example.com",
--   variables = { name = "B" } } }, { on_progress = print }))
function _M:add_emails(id, contacts, opts)
  local m = "add_emails"
  check_id(m, "id", id)
  opts = bulk.options(m, opts, ADD_OPTIONS)
  util.list(m, "contacts", contacts)
  local is_email = util.is_email
  for i = 1, #contacts do
    local c = contacts[i]
    -- (names for the message made only for the contact that fails)
    if type(c) == "string" then
      if not is_email(c) then
        check_email(m, "contacts[" .. i .. "]", c)
      end
    elseif type(c) == "table" then
      if not is_email(c.email) then
        check_email(m, "contacts[" .. i .. "].email", c.email)
      end
      local vars = c.variables
      if vars ~= nil and type(vars) ~= "table" then
        util.table(m, "contacts[" .. i .. "].variables", vars, true)
      end
    else
      util.fail(m, "contacts[" .. i .. "]", "an email or a table expected, got "
                .. type(c))
    end
  end
  if opts.confirmation ~= nil then
    if opts.confirmation ~= "force" then
      util.fail(m, "opts.confirmation", 'only "force" is accepted')
    end
    check_email(m, "opts.sender_email", opts.sender_email)
  else
    check_email(m, "opts.sender_email", opts.sender_email, true)
  end
  util.string(m, "opts.message_lang", opts.message_lang, true)
  if opts.template_id ~= nil and type(opts.template_id) ~= "string" then
    check_id(m, "opts.template_id", opts.template_id)
  end
  local p = path("addressbooks", id, "emails")
  return bulk.run(self, contacts, opts, 1000, function(chunk)
    return "POST", p, nil, {
      emails = contact_objects(chunk), confirmation = opts.confirmation,
      sender_email = opts.sender_email, message_lang = opts.message_lang,
      template_id = opts.template_id,
    }
  end)
end

-- Removing and unsubscribing take at most 100 addresses per request (the
-- API's spec says so).
local MAX_REMOVE = 100

local function check_chunk(method, opts)
  if opts.chunk and opts.chunk > MAX_REMOVE then
    util.fail(method, "opts.chunk", "at most " .. MAX_REMOVE .. " expected, got " .. opts.chunk)
  end
end

--- Removes contacts from a mailing list, in chunks (DELETE with a body).
-- @http DELETE /addressbooks/{id}/emails
-- @tparam integer id
-- @tparam table emails a list of addresses
-- @tparam[opt] table opts `chunk` (default 1000), `on_progress`
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err (see `add_emails`)
-- @usage assert(client:remove_emails(id, { "gollum@misty.mountains" }))
function _M:remove_emails(id, emails, opts)
  local m = "remove_emails"
  check_id(m, "id", id)
  opts = bulk.options(m, opts)
  check_chunk(m, opts)
  util.emails(m, "emails", emails)
  local p = path("addressbooks", id, "emails")
  return bulk.run(self, emails, opts, MAX_REMOVE, function(chunk)
    return "DELETE", p, nil, { emails = chunk }
  end)
end

--- Unsubscribes contacts of a mailing list, in chunks.
-- They stay in the list with an "unsubscribed" status.
-- @http POST /addressbooks/{id}/emails/unsubscribe
-- @tparam integer id
-- @tparam table emails a list of addresses
-- @tparam[opt] table opts `chunk` (default 1000), `on_progress`
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err (see `add_emails`)
-- @usage assert(client:unsubscribe_emails(id, { "boromir@gondor.gov" }))
function _M:unsubscribe_emails(id, emails, opts)
  local m = "unsubscribe_emails"
  check_id(m, "id", id)
  opts = bulk.options(m, opts)
  check_chunk(m, opts)
  util.emails(m, "emails", emails)
  local p = path("addressbooks", id, "emails", "unsubscribe")
  return bulk.run(self, emails, opts, MAX_REMOVE, function(chunk)
    return "POST", p, nil, { emails = chunk }
  end)
end

local VALUE_TYPES = { string = true, number = true, boolean = true }

-- {name = value} or {{name=, value=}, ...} -> the API's list form, in a
-- stable order; or nil plus the bad argument's name and what is wrong
-- (the method raises, so that the error points at the user's line).
local function variables_list(variables)
  if type(variables) ~= "table" then
    return nil, "variables", "a table expected, got " .. type(variables)
  end
  if variables[1] ~= nil then
    for i, v in ipairs(variables) do
      local at = "variables[" .. i .. "]"
      if type(v) ~= "table" then
        return nil, at, "a {name =, value =} table expected, got " .. type(v)
      end
      if type(v.name) ~= "string" or v.name == "" then
        return nil, at .. ".name", "a non-empty string expected"
      end
      if not VALUE_TYPES[type(v.value)] then
        return nil, at .. ".value", "a string, number or boolean expected, got "
                                    .. type(v.value)
      end
    end
    return variables
  end
  local names = {}
  for k, v in pairs(variables) do
    if type(k) ~= "string" or k == "" then
      return nil, "variables", "names must be non-empty strings"
    end
    if not VALUE_TYPES[type(v)] then
      return nil, "variables." .. k, "a string, number or boolean expected, got "
                                     .. type(v)
    end
    names[#names + 1] = k
  end
  if #names == 0 then
    return nil, "variables", "must not be empty"
  end
  table_sort(names)
  local out = {}
  for i, k in ipairs(names) do
    out[i] = { name = k, value = variables[k] }
  end
  return out
end

--- Sets variables of one contact.
-- @http POST /addressbooks/{id}/emails/variable
-- @tparam integer id
-- @tparam string email
-- @tparam table variables `{name = value, ...}` or `{{name=, value=}, ...}`
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage client:update_email_variables(id, "frodo@shire.me", { city = "Bag End" })
function _M:update_email_variables(id, email, variables)
  local m = "update_email_variables"
  check_id(m, "id", id)
  check_email(m, "email", email)
  local list, name, what = variables_list(variables)
  if not list then
    util.fail(m, name, what)
  end
  return self:request("POST", path("addressbooks", id, "emails", "variable"), nil,
                      { email = email, variables = list })
end

--- Sets variables of one contact identified by its phone number.
-- @http POST /addressbooks/{id}/phones/variable
-- @tparam integer id
-- @tparam string phone digits
-- @tparam table variables `{name = value, ...}` or `{{name=, value=}, ...}`
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage client:update_phone_variables(id, "380680899608", { city = "Bree" })
function _M:update_phone_variables(id, phone, variables)
  local m = "update_phone_variables"
  check_id(m, "id", id)
  phone = util.phone(m, "phone", phone)
  local list, name, what = variables_list(variables)
  if not list then
    util.fail(m, name, what)
  end
  return self:request("POST", path("addressbooks", id, "phones", "variable"), nil,
                      { phone = phone, variables = list })
end

--- What sending a campaign to a mailing list would cost.
-- @http GET /addressbooks/{id}/cost
-- @tparam integer id
-- @treturn table `{cur, sent_emails_qty, overdraft_all_emails_price,
--   address_delta_from_balance, address_delta_from_tariff,
--   max_emails_per_task, result}`
-- @return[2] nil, err
-- @usage local cost = assert(client:address_book_cost(id)); print(cost.cur)
function _M:address_book_cost(id)
  check_id("address_book_cost", "id", id)
  return self:request("GET", path("addressbooks", id, "cost"))
end

--- Campaigns sent to a mailing list, one page.
-- @http GET /addressbooks/{id}/campaigns
-- @tparam integer id
-- @tparam[opt] table opts `limit`, `offset`
-- @treturn table a list of `{task_id, task_name, task_status}`
-- @return[2] nil, err
-- @usage for _, t in ipairs(assert(client:address_book_campaigns(id))) do print(t.task_name) end
function _M:address_book_campaigns(id, opts)
  check_id("address_book_campaigns", "id", id)
  return self:request("GET", path("addressbooks", id, "campaigns"),
                      paging.query("address_book_campaigns", opts))
end

--- Iterates over the campaigns sent to a mailing list.
-- @http GET /addressbooks/{id}/campaigns
-- @tparam integer id
-- @tparam[opt] table opts `limit`, `max`, `offset`
-- @treturn function an iterator (see `each_address_book`)
-- @usage for t, err in client:each_address_book_campaign(id) do assert(t, err) print(t.task_id) end
function _M:each_address_book_campaign(id, opts)
  check_id("each_address_book_campaign", "id", id)
  return paging.each(self, "each_address_book_campaign",
                     path("addressbooks", id, "campaigns"), opts)
end

return _M
