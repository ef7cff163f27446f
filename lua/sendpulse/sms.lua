--- SMS: phone numbers in mailing lists, the phone blacklist, SMS campaigns.
--
-- This part of the API names its keys in camelCase (`addressBookId`,
-- `dateFrom`); the methods take mailing list ids as arguments and send
-- those keys themselves. Phone numbers are given as digit strings (or
-- integers), checked before anything is sent, and sent as digit strings
-- without a leading `+`.
--
-- Normalised: where some versions of the API answer an object wrapped in
-- a one-element array (`[{result, counters}]`), the methods return the
-- object; campaign info's one-element `data` array becomes the object.
-- @area sendpulse.sms
local bulk = require "sendpulse.bulk"
local util = require "sendpulse.util"

local ipairs = ipairs
local pairs = pairs
local table_concat = table.concat
local table_sort = table.sort
local tostring = tostring
local type = type

local path = util.path
local check_id = util.integer
local check_string = util.string

local _M = {}

-- Phones as the SMS API wants them: digits, no "+".
local phone_digits = util.phone_digits

local function phone_list(method, name, phones)
  util.list(method, name, phones)
  local out = {}
  local as_digits = util.as_phone_digits
  for i, p in ipairs(phones) do
    out[i] = as_digits(p) or phone_digits(method, name .. "[" .. i .. "]", p)
  end
  return out
end

local unwrap = util.unwrap

local function unwrap_request(client, method, p, query, body)
  local res, err = client:request(method, p, query, body)
  return unwrap(res), err
end

-- Sums the numeric counters of every chunk's answer.
local function sum_counters(results)
  local sums = {}
  for _, res in ipairs(results) do
    if type(res) == "table" and type(res.counters) == "table" then
      for k, v in pairs(res.counters) do
        if type(v) == "number" then
          sums[k] = (sums[k] or 0) + v
        end
      end
    end
  end
  return sums
end

-- bulk.run, plus the chunks' counters added up in `counters`; each chunk's
-- answer unwrapped when it is a one-element array.
local function run_counted(client, list, opts, build)
  local res, err = bulk.run(client, list, opts, 1000, build, unwrap)
  if res then
    res.counters = sum_counters(res.results)
  end
  return res, err
end

--- Adds phone numbers to a mailing list, in chunks.
-- Every number is checked first; nothing is sent if one is invalid. On a
-- failure the error tells which chunk failed (`err.chunk`), how many
-- numbers went in (`err.done`) and which did not (`err.not_done`).
-- @http POST /sms/numbers
-- @tparam integer book_id the mailing list
-- @tparam table phones a list of phone numbers
-- @tparam[opt] table opts `chunk` (numbers per request, default 1000),
--   `on_progress(done, total)`
-- @treturn table `{done, chunks, results, counters = {added, exceptions,
--   exists}}` (the counters summed over the chunks)
-- @return[2] nil, err
-- @usage local r = assert(client:sms_add_phones(book_id, { "380501234567", "380501234568" }))
--   print(r.counters.added)
function _M:sms_add_phones(book_id, phones, opts)
  local m = "sms_add_phones"
  check_id(m, "book_id", book_id)
  opts = bulk.options(m, opts)
  local list = phone_list(m, "phones", phones)
  return run_counted(self, list, opts, function(chunk)
    return "POST", "/sms/numbers", nil, { addressBookId = book_id, phones = chunk }
  end)
end

local VARIABLE_TYPES = util.set{ "string", "number", "date" }

-- One variable in the API's form {name, type, value}. From Lua: a string
-- is a "string", a number a "number", and {type = ..., value = ...} says
-- the type itself; "date" values are "YYYY-MM-DD" or os.time() numbers.
local function variable(method, name, var_name, v)
  if type(v) == "string" then
    return { name = var_name, type = "string", value = v }
  elseif type(v) == "number" then
    return { name = var_name, type = "number", value = v }
  end
  if type(v) ~= "table" then
    util.fail(method, name, "a string, a number or {type = ..., value = ...} expected, got "
              .. type(v))
  end
  local t = v.type or "string"
  if not VARIABLE_TYPES[t] then
    util.fail(method, name .. ".type", '"string", "number" or "date" expected')
  end
  local value = v.value
  if t == "date" then
    value = util.date(method, name .. ".value", value, false, true)
  elseif t == "number" then
    util.number(method, name .. ".value", value)
  else
    check_string(method, name .. ".value", value)
  end
  return { name = var_name, type = t, value = value }
end

-- Variables in the API's list form, from `{name = value, ...}` (sorted by
-- name) or from a list of `{name, type, value}`.
local function variables_list(method, name, vars)
  util.table(method, name, vars)
  local out = {}
  if vars[1] ~= nil then
    for i, v in ipairs(vars) do
      local item = name .. "[" .. i .. "]"
      util.table(method, item, v)
      check_string(method, item .. ".name", v.name)
      -- without a type, the value's own type decides, as in the map form
      if v.type == nil then
        out[i] = variable(method, item .. ".value", v.name, v.value)
      else
        out[i] = variable(method, item, v.name, { type = v.type, value = v.value })
      end
    end
    return out
  end
  local names = {}
  for k in pairs(vars) do
    if type(k) ~= "string" then
      util.fail(method, name, "variable names must be strings")
    end
    names[#names + 1] = k
  end
  if #names == 0 then
    util.fail(method, name, "must not be empty")
  end
  table_sort(names)
  for i, k in ipairs(names) do
    out[i] = variable(method, name .. "." .. k, k, vars[k])
  end
  return out
end

-- Contacts with variables as a list of {phone, variables} (list form or
-- {[phone] = variables} map form, the latter sorted by phone).
local function phone_variables(method, contacts)
  util.table(method, "contacts", contacts)
  local out = {}
  if contacts[1] ~= nil then
    for i, c in ipairs(contacts) do
      local name = "contacts[" .. i .. "]"
      util.table(method, name, c)
      out[i] = { phone = phone_digits(method, name .. ".phone", c.phone),
                 variables = variables_list(method, name .. ".variables", c.variables) }
    end
    return out
  end
  local phones = {}
  for p in pairs(contacts) do
    phones[#phones + 1] = p
  end
  if #phones == 0 then
    util.fail(method, "contacts", "must not be empty")
  end
  table_sort(phones, function(a, b) return tostring(a) < tostring(b) end)
  for i, p in ipairs(phones) do
    local name = "contacts[" .. tostring(p) .. "]"
    out[i] = { phone = phone_digits(method, name, p),
               variables = variables_list(method, name, contacts[p]) }
  end
  return out
end

--- Adds phone numbers with variables to a mailing list, in chunks.
-- Contacts are given as a list, `{ {phone = "380501234567", variables =
-- {name = "Frodo", visits = 3, birthday = {type = "date", value =
-- "1968-09-22"}}}, ... }`, or as a map `{["380501234567"] = {name =
-- "Frodo"}, ...}`. A string value is a "string" variable, a number a
-- "number"; `{type = "date", value = ...}` takes a "YYYY-MM-DD" string or
-- an os.time() number and sends the date without a time, as the API
-- requires. Variables may also be a list of `{name, type, value}` (without
-- `type`, the value's Lua type decides). They
-- are sent in the API's form, `phones = {["380501234567"] = {{{name,
-- type, value}, ...}}}`.
-- @http POST /sms/numbers/variables
-- @tparam integer book_id the mailing list
-- @tparam table contacts see above
-- @tparam[opt] table opts `chunk` (numbers per request, default 1000),
--   `on_progress(done, total)`
-- @treturn table `{done, chunks, results, counters = {added, exceptions,
--   exists}}`
-- @return[2] nil, err (see `sms_add_phones`)
-- @usage assert(client:sms_add_phones_with_variables(book_id, {
--   { phone = "380501234567", variables = { name = "Frodo" } } }))
function _M:sms_add_phones_with_variables(book_id, contacts, opts)
  local m = "sms_add_phones_with_variables"
  check_id(m, "book_id", book_id)
  opts = bulk.options(m, opts)
  local list = phone_variables(m, contacts)
  return run_counted(self, list, opts, function(chunk)
    local phones = {}
    for _, c in ipairs(chunk) do
      local sets = phones[c.phone]
      if not sets then
        sets = {}
        phones[c.phone] = sets
      end
      sets[#sets + 1] = c.variables
    end
    return "POST", "/sms/numbers/variables", nil,
           { addressBookId = book_id, phones = phones }
  end)
end

--- Sets variables on phone numbers of a mailing list.
-- @http PUT /sms/numbers
-- @tparam integer book_id the mailing list
-- @tparam table phones a list of phone numbers
-- @tparam table variables `{name = value, ...}` or a list of `{name,
--   type, value}` (see `sms_add_phones_with_variables` for the types)
-- @treturn table `{result = true, counters = {updated}}` (unwrapped from
--   the API's one-element array)
-- @return[2] nil, err
-- @usage client:sms_update_phones(book_id, { "380501234567" }, { city = "Bree" })
function _M:sms_update_phones(book_id, phones, variables)
  local m = "sms_update_phones"
  check_id(m, "book_id", book_id)
  local list = phone_list(m, "phones", phones)
  local vars = variables_list(m, "variables", variables)
  return unwrap_request(self, "PUT", "/sms/numbers", nil,
                        { addressBookId = book_id, phones = list, variables = vars })
end

--- Removes phone numbers from a mailing list, in chunks (DELETE with a body).
-- @http DELETE /sms/numbers
-- @tparam integer book_id the mailing list
-- @tparam table phones a list of phone numbers
-- @tparam[opt] table opts `chunk` (default 1000), `on_progress`
-- @treturn table `{done, chunks, results, counters = {deleted}}`
-- @return[2] nil, err (see `sms_add_phones`)
-- @usage assert(client:sms_delete_phones(book_id, { "380501234567" }))
function _M:sms_delete_phones(book_id, phones, opts)
  local m = "sms_delete_phones"
  check_id(m, "book_id", book_id)
  opts = bulk.options(m, opts)
  local list = phone_list(m, "phones", phones)
  return run_counted(self, list, opts, function(chunk)
    return "DELETE", "/sms/numbers", nil, { addressBookId = book_id, phones = chunk }
  end)
end

--- One phone number of a mailing list, with its variables.
-- @http GET /sms/numbers/info/{bookId}/{phone}
-- @tparam integer book_id the mailing list
-- @tparam string phone
-- @treturn table `{result = true, data = {status, variables = {name =
--   value}, added}}` (unwrapped when the API wraps it in an array)
-- @return[2] nil, err
-- @usage print(assert(client:sms_phone(book_id, "380501234567")).data.variables.name)
function _M:sms_phone(book_id, phone)
  local m = "sms_phone"
  check_id(m, "book_id", book_id)
  phone = phone_digits(m, "phone", phone)
  return unwrap_request(self, "GET", path("sms", "numbers", "info", book_id, phone))
end

--- The phone blacklist.
-- @http GET /sms/black_list
-- @treturn table `{result = true, data = {{phone, description, add_date},
--   ...}}` (`phone` is a number, as sent)
-- @return[2] nil, err
-- @usage for _, e in ipairs(assert(client:sms_blacklist()).data) do print(e.phone) end
function _M:sms_blacklist()
  return self:request("GET", "/sms/black_list")
end

--- Which of the given phone numbers are blacklisted.
-- The numbers go in the query as a JSON array, `phones=[380...,380...]`.
-- @http GET /sms/black_list/by_numbers
-- @tparam table phones a list of phone numbers
-- @treturn table `{result = true, data = {{phone, description, add_date},
--   ...}}` for the blacklisted ones
-- @return[2] nil, err
-- @usage local r = assert(client:sms_blacklist_by_numbers{ "380501234567" })
function _M:sms_blacklist_by_numbers(phones)
  local list = phone_list("sms_blacklist_by_numbers", "phones", phones)
  return self:request("GET", "/sms/black_list/by_numbers",
                      { phones = "[" .. table_concat(list, ",") .. "]" })
end

--- Adds phone numbers to the blacklist, in chunks.
-- @http POST /sms/black_list
-- @tparam table phones a list of phone numbers
-- @tparam[opt] table opts `description` (a string sent with every
--   chunk), `chunk` (default 1000), `on_progress`
-- @treturn table `{done, chunks, results, counters = {added, exists}}`
-- @return[2] nil, err (see `sms_add_phones`)
-- @usage assert(client:sms_blacklist_add({ "380501234567" }, { description = "asked to stop" }))
function _M:sms_blacklist_add(phones, opts)
  local m = "sms_blacklist_add"
  opts = bulk.options(m, opts, { description = true })
  check_string(m, "opts.description", opts.description, true)
  local list = phone_list(m, "phones", phones)
  return run_counted(self, list, opts, function(chunk)
    return "POST", "/sms/black_list", nil,
           { phones = chunk, description = opts.description }
  end)
end

--- Removes phone numbers from the blacklist, in chunks (DELETE with a body).
-- @http DELETE /sms/black_list
-- @tparam table phones a list of phone numbers
-- @tparam[opt] table opts `chunk` (default 1000), `on_progress`
-- @treturn table `{done, chunks, results, counters = {removed}}`
-- @return[2] nil, err (see `sms_add_phones`)
-- @usage assert(client:sms_blacklist_remove{ "380501234567" })
function _M:sms_blacklist_remove(phones, opts)
  local m = "sms_blacklist_remove"
  opts = bulk.options(m, opts)
  local list = phone_list(m, "phones", phones)
  return run_counted(self, list, opts, function(chunk)
    return "DELETE", "/sms/black_list", nil, { phones = chunk }
  end)
end

local ROUTES = util.set{ "national", "international" }

-- route = {UA = "national", ...}: country codes to a route
local function route_field(method, route)
  if route == nil then
    return nil
  end
  util.table(method, "message.route", route)
  local any = false
  for k, v in pairs(route) do
    if type(k) ~= "string" or not k:find("^%u%u$") then
      util.fail(method, "message.route", "keys must be two-letter country codes, got "
                .. tostring(k))
    end
    if not ROUTES[v] then
      util.fail(method, "message.route." .. k, '"national" or "international" expected')
    end
    any = true
  end
  if not any then
    util.fail(method, "message.route", "must not be empty")
  end
  return route
end

local MESSAGE_FIELDS = util.set{ "sender", "body", "transliterate", "route", "date",
                                 "emulate" }
-- sms_send takes the phones in the message too
local SEND_FIELDS = util.set{ "sender", "body", "transliterate", "route", "date",
                              "emulate", "phones" }

local function emulate_flag(method, v)
  if v == nil then
    return nil
  end
  return util.flag(method, "message.emulate", v) == 1
end

-- The fields both ways of sending share, checked; `allowed` is the set of
-- fields the message may have.
local function message_body(method, message, allowed)
  util.table(method, "message", message)
  util.known_keys(method, "message", message, allowed)
  return {
    sender = check_string(method, "message.sender", message.sender),
    body = check_string(method, "message.body", message.body),
    transliterate = util.flag(method, "message.transliterate", message.transliterate, true),
    route = route_field(method, message.route),
    date = util.date(method, "message.date", message.date, true),
    -- a boolean for the API (the spec); 0/1 are still taken as given
    emulate = emulate_flag(method, message.emulate),
  }
end

--- Sends an SMS campaign to the phone numbers of a mailing list.
-- @http POST /sms/campaigns
-- @tparam integer book_id the mailing list
-- @tparam table message `sender` and `body` (required), `transliterate`
--   and `emulate` (booleans or 0/1; `emulate` is sent as a boolean,
--   `transliterate` as 0/1), `route = {UA = "national", ...}`,
--   `date` (a date, to schedule it)
-- @treturn table `{result = true, campaign_id}`
-- @return[2] nil, err
-- @usage local id = assert(client:sms_send_to_book(book_id, { sender = "Shop",
--   body = "Sale today", date = os.time() + 3600 })).campaign_id
function _M:sms_send_to_book(book_id, message)
  local m = "sms_send_to_book"
  check_id(m, "book_id", book_id)
  local body = message_body(m, message, MESSAGE_FIELDS)
  -- the API's spec bounds the sender's name here
  local _, chars = body.sender:gsub("[^\128-\191]", "")
  if chars > 11 then
    util.fail(m, "message.sender", "at most 11 characters expected, got " .. chars)
  end
  body.addressBookId = book_id
  return self:request("POST", "/sms/campaigns", nil, body)
end

--- Sends an SMS campaign to a list of phone numbers.
-- Raises before sending when the sender, the body or the phones are
-- missing or malformed.
-- @http POST /sms/send
-- @tparam table message `sender`, `phones` (a list) and `body` (required),
--   `transliterate`, `emulate`, `route`, `date` (see `sms_send_to_book`)
-- @treturn table `{result = true, campaign_id, counters = {sends,
--   exceptions}}`
-- @return[2] nil, err
-- @usage assert(client:sms_send{ sender = "Shop", phones = { "380501234567" },
--   body = "Your code is 1234" })
function _M:sms_send(message)
  local m = "sms_send"
  local body = message_body(m, message, SEND_FIELDS)
  body.phones = phone_list(m, "message.phones", message.phones)
  return self:request("POST", "/sms/send", nil, body)
end

--- SMS campaigns sent (or scheduled) between two dates.
-- @http GET /sms/campaigns/list
-- @tparam string|number date_from a date
-- @tparam string|number date_to a date
-- @treturn table `{result = true, data = {{id, address_book_id,
--   company_price, company_currency, send_date, date_created,
--   sender_mail_address, sender_mail_name}, ...}}` (`company_price` is a
--   string, as sent)
-- @return[2] nil, err
-- @usage local r = assert(client:sms_campaigns("2024-01-01 00:00:00", os.time()))
function _M:sms_campaigns(date_from, date_to)
  local m = "sms_campaigns"
  return self:request("GET", "/sms/campaigns/list", {
    dateFrom = util.date(m, "date_from", date_from),
    dateTo = util.date(m, "date_to", date_to),
  })
end

--- Iterates over the SMS campaigns between two dates.
-- The list endpoint has no pages, only a date range, and a wide range
-- makes a big answer: the range is walked in windows of `opts.window`
-- days, one request each, and the walk stops after the last window.
-- @http GET /sms/campaigns/list
-- @tparam string|number date_from a date (string or os.time())
-- @tparam string|number date_to a date, not before date_from
-- @tparam[opt] table opts `window` (days per request, default 30), `max`
--   (stop after that many campaigns)
-- @treturn function an iterator yielding one campaign at a time; on
--   failure it yields `false, err` once
-- @usage for c, err in client:each_sms_campaign(os.time() - 90 * 86400, os.time()) do
--   assert(c, err) print(c.id, c.send_date) end
function _M:each_sms_campaign(date_from, date_to, opts)
  local m = "each_sms_campaign"
  local from, to = util.epoch(m, "date_from", date_from), util.epoch(m, "date_to", date_to)
  if to < from then
    util.fail(m, "date_to", "is before date_from")
  end
  opts = util.options(m, opts, util.set{ "window", "max" })
  local window = util.integer(m, "opts.window", opts.window, true, 1) or 30
  local max = util.integer(m, "opts.max", opts.max, true, 0)
  local client, start, list, i, yielded, finished = self, from, nil, 0, 0, false
  return function()
    while not finished or (list and i < #list) do
      if max and yielded >= max then
        return nil
      end
      if list and i < #list then
        i = i + 1
        yielded = yielded + 1
        return list[i]
      end
      local stop = start + window * 86400 - 1
      if stop >= to then
        stop, finished = to, true
      end
      local res, err = client:request("GET", "/sms/campaigns/list", {
        dateFrom = util.date(m, "date_from", start),
        dateTo = util.date(m, "date_to", stop),
      })
      if res == nil then
        finished, list = true, nil
        return false, err
      end
      list, i, start = type(res.data) == "table" and res.data or {}, 0, stop + 1
    end
    return nil
  end
end

--- One SMS campaign with the status of each number.
-- @http GET /sms/campaigns/info/{id}
-- @tparam integer id
-- @treturn table `{result = true, data = {id, address_book_id, currency,
--   company_price, send_date, date_created, sender_name,
--   task_phones_info = {...}}}` (`data` unwrapped from the API's
--   one-element array)
-- @return[2] nil, err (`code` 802 when there is no such campaign)
-- @usage local c = assert(client:sms_campaign(id)).data
function _M:sms_campaign(id)
  check_id("sms_campaign", "id", id)
  local res, err = self:request("GET", path("sms", "campaigns", "info", id))
  if type(res) == "table" then
    res.data = unwrap(res.data)
  end
  return res, err
end

--- Cancels a scheduled SMS campaign.
-- @http PUT /sms/campaigns/cancel/{id}
-- @tparam integer id
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 602 when it has already been sent)
-- @usage assert(client:sms_cancel_campaign(id))
function _M:sms_cancel_campaign(id)
  check_id("sms_cancel_campaign", "id", id)
  return self:request("PUT", path("sms", "campaigns", "cancel", id))
end

local COST_FIELDS = util.set{ "sender", "body", "book_id", "phones", "route" }

--- What an SMS campaign would cost.
-- The phones and the route go in the query as JSON text.
-- @http GET /sms/campaigns/cost
-- @tparam table message `sender`, `body`, and either `book_id` (a mailing
--   list) or `phones` (a list), optional `route = {UA = "national", ...}`
-- @treturn table `{result = true, data = {price, currency}}`
-- @return[2] nil, err
-- @usage print(assert(client:sms_campaign_cost{ sender = "Shop", body = "Hi",
--   phones = { "380501234567" } }).data.price)
function _M:sms_campaign_cost(message)
  local m = "sms_campaign_cost"
  util.table(m, "message", message)
  util.known_keys(m, "message", message, COST_FIELDS)
  local query = {
    sender = check_string(m, "message.sender", message.sender),
    body = check_string(m, "message.body", message.body),
  }
  if (message.book_id == nil) == (message.phones == nil) then
    util.fail(m, "message", "either book_id or phones expected")
  end
  query.addressBookId = check_id(m, "message.book_id", message.book_id, true)
  if message.phones ~= nil then
    query.phones = "[" .. table_concat(phone_list(m, "message.phones", message.phones),
                                       ",") .. "]"
  end
  local route = route_field(m, message.route)
  if route then
    local keys = {}
    for k in pairs(route) do
      keys[#keys + 1] = k
    end
    table_sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do
      parts[i] = '"' .. k .. '":"' .. route[k] .. '"'
    end
    query.route = "{" .. table_concat(parts, ",") .. "}"
  end
  return self:request("GET", "/sms/campaigns/cost", query)
end

--- Deletes an SMS campaign (DELETE with a body).
-- @http DELETE /sms/campaigns
-- @tparam integer id
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 802 when there is no such campaign)
-- @usage assert(client:sms_delete_campaign(id))
function _M:sms_delete_campaign(id)
  check_id("sms_delete_campaign", "id", id)
  return self:request("DELETE", "/sms/campaigns", nil, { id = id })
end

--- The SMS sender names of the account.
-- @http GET /sms/senders
-- @treturn table a list of `{id, sender, country, country_code, status,
--   status_explain}`
-- @return[2] nil, err
-- @usage for _, s in ipairs(assert(client:sms_senders())) do print(s.sender) end
function _M:sms_senders()
  return self:request("GET", "/sms/senders")
end

return _M
