--- SMTP (transactional email): sending, history, bounces, unsubscribes,
-- IPs, senders and sender domains.
--
-- Messages are sent in the modern form, a nested JSON object under
-- `email`. The HTML part and binary attachments are given as plain
-- strings and base64-encoded here. Message ids are strings.
-- @area sendpulse.smtp
local bulk = require "sendpulse.bulk"
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local ipairs = ipairs
local pairs = pairs
local type = type

local path = util.path
local base64 = util.base64
local check_email = util.email
local check_string = util.string

local _M = {}

local MESSAGE_FIELDS = util.set{
  "html", "text", "template", "subject", "from", "to", "cc", "bcc",
  "attachments", "attachments_binary", "auto_plain_text",
}

local PERSON_KEYS = util.set{ "name", "email" }

-- {name =, email =} (or a bare address) as the API wants it.
local function person(method, name, p)
  if type(p) == "string" then
    return { email = check_email(method, name, p) }
  end
  util.table(method, name, p)
  util.known_keys(method, name, p, PERSON_KEYS)
  return {
    name = check_string(method, name .. ".name", p.name, true),
    email = check_email(method, name .. ".email", p.email),
  }
end

-- A list of recipients; `to` is a JSON array for the API, never an object.
local function recipients(method, name, list, optional)
  if list == nil and optional then
    return nil
  end
  if type(list) ~= "table" then
    util.fail(method, name, "a list of recipients expected, got " .. type(list))
  end
  local n = 0
  for _ in pairs(list) do
    n = n + 1
  end
  if list[1] == nil and n > 0 then
    util.fail(method, name, "a list of recipients expected, not a single one "
              .. "(wrap it: { { name = ..., email = ... } })")
  end
  if n == 0 then
    util.fail(method, name, "must not be empty")
  end
  if n ~= #list then
    util.fail(method, name, "a list expected (it has other keys or holes)")
  end
  local out = {}
  for i, p in ipairs(list) do
    out[i] = person(method, name .. "[" .. i .. "]", p)
  end
  return out
end

local ENTITIES = { amp = "&", lt = "<", gt = ">", quot = '"', apos = "'", nbsp = " " }

local char = string.char
local floor = math.floor

-- A code point as UTF-8 (LuaJIT has no utf8 library).
local function utf8_char(n)
  if n < 0x80 then
    return char(n)
  elseif n < 0x800 then
    return char(0xC0 + floor(n / 64), 0x80 + n % 64)
  elseif n < 0x10000 then
    return char(0xE0 + floor(n / 4096), 0x80 + floor(n / 64) % 64, 0x80 + n % 64)
  end
  return char(0xF0 + floor(n / 262144), 0x80 + floor(n / 4096) % 64,
              0x80 + floor(n / 64) % 64, 0x80 + n % 64)
end

-- The plain-text part of an HTML message: scripts and styles dropped,
-- block ends and <br> as line breaks, other tags removed, the common
-- entities decoded, runs of blank space shortened.
local function plain_text(html)
  local s = html:gsub("<[Ss][Cc][Rr][Ii][Pp][Tt].-</[Ss][Cc][Rr][Ii][Pp][Tt]%s*>", "")
                :gsub("<[Ss][Tt][Yy][Ll][Ee].-</[Ss][Tt][Yy][Ll][Ee]%s*>", "")
                :gsub("<[Bb][Rr]%s*/?>", "\n")
                :gsub("</%s*[PpDdLlHhTt][%w]*%s*>", "\n")
                :gsub("<[^>]*>", "")
                :gsub("&(#?%w+);", function(e)
                  if e:sub(1, 1) == "#" then
                    local n = tonumber(e:sub(2)) or tonumber(e:sub(3), 16)
                    return n and n > 0 and n < 0x110000 and utf8_char(n) or nil
                  end
                  return ENTITIES[e]
                end)
                :gsub("[ \t\r]+", " "):gsub(" *\n *", "\n"):gsub("\n\n\n+", "\n\n")
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The HTML part of a plain-text message.
local function html_of_text(text)
  local s = text:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;")
                :gsub("\r?\n", "<br>\n")
  return "<p>" .. s .. "</p>"
end

local TEMPLATE_KEYS = util.set{ "id", "variables" }

local function template(method, t)
  util.table(method, "message.template", t)
  util.known_keys(method, "message.template", t, TEMPLATE_KEYS)
  return { id = util.template_id(method, "message.template.id", t.id),
           variables = util.table(method, "message.template.variables", t.variables, true) }
end

--- Sends a transactional email.
-- One of `html`, `text` or `template` is required (`template` replaces
-- both). The API's spec wants the HTML and the plain-text part together:
-- when only one is given, the other is made from it (the text from the
-- HTML without its tags, the HTML from the text, escaped, with its line
-- breaks). Every address is checked before anything is sent.
-- @http POST /smtp/emails
-- @tparam table message `subject`; `from = {name, email}`; `to`, a list
--   of `{name, email}` (or addresses); optional `cc`, `bcc` (lists too);
--   `html` (plain HTML, base64-encoded here), `text`, `template = {id,
--   variables}` (`id` the real_id or the hash id); `attachments`
--   (`{["file.txt"] = "content"}`); `attachments_binary` (`{["a.pdf"] =
--   raw bytes}`, base64-encoded here); `auto_plain_text` (boolean)
-- @treturn table `{result = true, id}`; `id` is a string
-- @return[2] nil, err (`status` 422 with `code` 999 when the service finds
--   the data badly formed)
-- @usage local sent = assert(client:smtp_send{
--   subject = "Your order", from = { name = "Shop", email = "shop@shire.me" },
--   to = { { name = "Frodo", email = "frodo@shire.me" } },
--   html = "<p>Shipped!</p>", text = "Shipped!" })
-- print(sent.id)
function _M:smtp_send(message)
  local m = "smtp_send"
  util.table(m, "message", message)
  util.known_keys(m, "message", message, MESSAGE_FIELDS)
  local email = {
    subject = check_string(m, "message.subject", message.subject),
    from = person(m, "message.from", message.from),
    to = recipients(m, "message.to", message.to),
    cc = recipients(m, "message.cc", message.cc, true),
    bcc = recipients(m, "message.bcc", message.bcc, true),
    text = check_string(m, "message.text", message.text, true),
    auto_plain_text = util.boolean(m, "message.auto_plain_text",
                                   message.auto_plain_text, true),
  }
  if message.html ~= nil then
    email.html = base64(check_string(m, "message.html", message.html))
  end
  if message.template ~= nil then
    if email.html or email.text then
      util.fail(m, "message", "template replaces html and text: give one or the other")
    end
    email.template = template(m, message.template)
  elseif not email.html and not email.text then
    util.fail(m, "message", "html, text or template required")
  elseif not email.text then
    -- the API's spec wants both parts (or a template): the plain text is
    -- made from the HTML
    email.text = plain_text(message.html)
  elseif not email.html then
    email.html = base64(html_of_text(email.text))
  end
  if message.attachments ~= nil then
    email.attachments = util.attachments(m, "message.attachments", message.attachments, false)
  end
  if message.attachments_binary ~= nil then
    email.attachments_binary = util.attachments(m, "message.attachments_binary",
                                                message.attachments_binary, true)
  end
  return self:request("POST", "/smtp/emails", nil, { email = email })
end

local EMAIL_FILTERS = util.set{ "from", "to", "sender", "recipient", "country" }

-- The history's filters as query values. `country` is sent as "off" unless
-- asked for: without it the call failed for some accounts (PHP issue #29),
-- which is why the official PHP client always sends it.
local function email_filters(method, opts, q)
  q.from = util.date(method, "opts.from", opts.from, true, true)
  q.to = util.date(method, "opts.to", opts.to, true, true)
  q.sender = check_email(method, "opts.sender", opts.sender, true)
  q.recipient = check_email(method, "opts.recipient", opts.recipient, true)
  local country = opts.country
  if country == nil or country == false or country == "off" then
    q.country = "off"
  elseif country == true or country == "on" then
    q.country = "on"
  else
    util.fail(method, "opts.country", 'a boolean or "on"/"off" expected')
  end
  return q
end

--- The sent-mail history, one page.
-- @http GET /smtp/emails
-- @tparam[opt] table opts `limit` (at most 100), `offset`, `from` and
--   `to` (dates: "YYYY-MM-DD" strings or os.time() numbers), `sender`,
--   `recipient` (addresses), `country` (boolean; `false` by default)
-- @treturn table a list of `{id, sender, total_size, sender_ip,
--   smtp_answer_code, smtp_answer_subcode, smtp_answer_data, used_ip,
--   recipient, subject, send_date, tracking = {click, open, link,
--   client_info}}`
-- @return[2] nil, err
-- @usage for _, e in ipairs(assert(client:smtp_emails{ recipient = "frodo@shire.me" })) do
--   print(e.id, e.subject, e.smtp_answer_code)
-- end
function _M:smtp_emails(opts)
  local q = paging.query("smtp_emails", opts, EMAIL_FILTERS)
  return self:request("GET", "/smtp/emails", email_filters("smtp_emails", q, q))
end

--- Iterates over the sent-mail history, page by page.
-- @http GET /smtp/emails
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`, and
--   the filters of `smtp_emails`
-- @treturn function an iterator yielding one message at a time; on
--   failure it yields `false, err` once
-- @usage for e, err in client:each_smtp_email{ from = "2024-01-01" } do
--   assert(e, err) print(e.recipient)
-- end
function _M:each_smtp_email(opts)
  opts = paging.options("each_smtp_email", opts, EMAIL_FILTERS)
  return paging.iterate{
    client = self, path = "/smtp/emails",
    query = email_filters("each_smtp_email", opts, {}),
    limit = opts.limit, max = opts.max, offset = opts.offset,
  }
end

--- How many messages the history holds.
-- @http GET /smtp/emails/total
-- @treturn table `{total}`
-- @return[2] nil, err
-- @usage print(assert(client:smtp_emails_total()).total)
function _M:smtp_emails_total()
  return self:request("GET", "/smtp/emails/total")
end

--- One sent message.
-- @http GET /smtp/emails/{id}
-- @tparam string id as returned by `smtp_send` (a string)
-- @treturn table a message as in `smtp_emails`
-- @return[2] nil, err (`code` 14 when there is no such message)
-- @usage local e = assert(client:smtp_email(sent.id)); print(e.smtp_answer_code)
function _M:smtp_email(id)
  check_string("smtp_email", "id", id)
  return self:request("GET", path("smtp", "emails", id))
end

local DATE_KEY = { date = true }

local function date_query(method, opts, q)
  q.date = util.date(method, "opts.date", opts.date, true, true)
  return q
end

--- The day's bounces, one page.
-- @http GET /smtp/bounces/day
-- @tparam[opt] table opts `limit` (at most 100), `offset`, `date` (a
--   "YYYY-MM-DD" string or an os.time() number; today by default)
-- @treturn table `{total, emails = {{email_to, sender, send_date,
--   subject, smtp_answer_code, smtp_answer_subcode, smtp_answer_data},
--   ...}, request_limit, found}`
-- @return[2] nil, err
-- @usage local b = assert(client:smtp_bounces{ date = os.time() })
-- print(b.total) for _, e in ipairs(b.emails) do print(e.email_to) end
function _M:smtp_bounces(opts)
  local q = paging.query("smtp_bounces", opts, DATE_KEY)
  return self:request("GET", "/smtp/bounces/day", date_query("smtp_bounces", q, q))
end

local function bounce_page(res)
  if type(res) ~= "table" then
    return nil
  end
  return res.emails, res.total
end

--- Iterates over the day's bounces; stops at the response's `total`.
-- @http GET /smtp/bounces/day
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`, `date`
-- @treturn function an iterator yielding one bounce at a time; on
--   failure it yields `false, err` once
-- @usage for b, err in client:each_smtp_bounce() do assert(b, err) print(b.email_to) end
function _M:each_smtp_bounce(opts)
  opts = paging.options("each_smtp_bounce", opts, DATE_KEY)
  return paging.iterate{
    client = self, path = "/smtp/bounces/day",
    query = date_query("each_smtp_bounce", opts, {}),
    limit = opts.limit, max = opts.max, offset = opts.offset,
    extract = bounce_page,
  }
end

--- How many messages bounced today.
-- @http GET /smtp/bounces/day/total
-- @treturn table `{total}`
-- @return[2] nil, err
-- @usage print(assert(client:smtp_bounces_total()).total)
function _M:smtp_bounces_total()
  return self:request("GET", "/smtp/bounces/day/total")
end

--- Addresses unsubscribed from SMTP mail, one page.
-- @http GET /smtp/unsubscribe
-- @tparam[opt] table opts `limit` (at most 100), `offset`, `date` (only
--   those unsubscribed that day)
-- @treturn table a list of `{email, unsubscribe_by_link,
--   unsubscribe_by_user, spam_complaint, date}`
-- @return[2] nil, err
-- @usage for _, u in ipairs(assert(client:smtp_unsubscribed())) do print(u.email, u.date) end
function _M:smtp_unsubscribed(opts)
  local q = paging.query("smtp_unsubscribed", opts, DATE_KEY)
  return self:request("GET", "/smtp/unsubscribe",
                      date_query("smtp_unsubscribed", q, q))
end

--- Iterates over the addresses unsubscribed from SMTP mail.
-- @http GET /smtp/unsubscribe
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`, `date`
-- @treturn function an iterator yielding one entry at a time; on failure
--   it yields `false, err` once
-- @usage for u, err in client:each_smtp_unsubscribed() do assert(u, err) print(u.email) end
function _M:each_smtp_unsubscribed(opts)
  opts = paging.options("each_smtp_unsubscribed", opts, DATE_KEY)
  return paging.iterate{
    client = self, path = "/smtp/unsubscribe",
    query = date_query("each_smtp_unsubscribed", opts, {}),
    limit = opts.limit, max = opts.max, offset = opts.offset,
  }
end

local UNSUBSCRIBE_OPTIONS = { comment = true }
local ENTRY_KEYS = util.set{ "email", "comment" }

--- Unsubscribes addresses from SMTP mail, in chunks.
-- Every address is checked first; nothing is sent if one is invalid. On a
-- failure the error tells which chunk failed (`err.chunk`), how many
-- addresses went in (`err.done`) and which did not (`err.not_done`).
-- @http POST /smtp/unsubscribe
-- @tparam table emails addresses, or `{email, comment}` tables
-- @tparam[opt] table opts `chunk` (addresses per request, default 1000),
--   `on_progress(done, total)`, `comment` (for the bare addresses)
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err
-- @usage assert(client:smtp_unsubscribe({ "a@example.com",
--   { email = "b@example.com", comment = "asked by phone" } }, { on_progress = print }))
function _M:smtp_unsubscribe(emails, opts)
  local m = "smtp_unsubscribe"
  opts = bulk.options(m, opts, UNSUBSCRIBE_OPTIONS)
  local comment = check_string(m, "opts.comment", opts.comment, true)
  util.list(m, "emails", emails)
  local entries = {}
  for i, e in ipairs(emails) do
    local name = "emails[" .. i .. "]"
    if type(e) == "string" then
      entries[i] = { email = check_email(m, name, e), comment = comment }
    elseif type(e) == "table" then
      util.known_keys(m, name, e, ENTRY_KEYS)
      entries[i] = { email = check_email(m, name .. ".email", e.email),
                     comment = check_string(m, name .. ".comment", e.comment, true)
                               or comment }
    else
      util.fail(m, name, "an email or a table expected")
    end
  end
  return bulk.run(self, entries, opts, 1000, function(chunk)
    return "POST", "/smtp/unsubscribe", nil, { emails = chunk }
  end)
end

--- Takes addresses off the SMTP unsubscribe list, in chunks (a DELETE
-- with a JSON body).
-- @http DELETE /smtp/unsubscribe
-- @tparam table emails a list of addresses
-- @tparam[opt] table opts `chunk` (default 1000), `on_progress`
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err (see `smtp_unsubscribe`)
-- @usage assert(client:smtp_remove_unsubscribed{ "a@example.com" })
function _M:smtp_remove_unsubscribed(emails, opts)
  local m = "smtp_remove_unsubscribed"
  opts = bulk.options(m, opts)
  util.list(m, "emails", emails)
  for i, e in ipairs(emails) do
    check_email(m, "emails[" .. i .. "]", e)
  end
  return bulk.run(self, emails, opts, 1000, function(chunk)
    return "DELETE", "/smtp/unsubscribe", nil, { emails = chunk }
  end)
end

--- The IP addresses SMTP mail is sent from.
-- @http GET /smtp/ips
-- @treturn table a list of IP address strings
-- @return[2] nil, err
-- @usage for _, ip in ipairs(assert(client:smtp_ips())) do print(ip) end
function _M:smtp_ips()
  return self:request("GET", "/smtp/ips")
end

--- The sender addresses SMTP mail may be sent from.
-- @http GET /smtp/senders
-- @treturn table a list of addresses
-- @return[2] nil, err
-- @usage for _, s in ipairs(assert(client:smtp_senders())) do print(s) end
function _M:smtp_senders()
  return self:request("GET", "/smtp/senders")
end

--- The verified sender domains.
-- @http GET /smtp/domains
-- @treturn table a list of strings such as `"@shire.me"`
-- @return[2] nil, err
-- @usage for _, d in ipairs(assert(client:smtp_domains())) do print(d) end
function _M:smtp_domains()
  return self:request("GET", "/smtp/domains")
end

--- Adds a sender domain, given an address at that domain.
-- @http POST /smtp/domains
-- @tparam string email an address at the domain, which will receive the
--   verification mail
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 19 when it was already added)
-- @usage assert(client:smtp_add_domain("postmaster@shire.me"))
function _M:smtp_add_domain(email)
  check_email("smtp_add_domain", "email", email)
  return self:request("POST", "/smtp/domains", nil, { email = email })
end

--- Starts the verification of a sender domain added with `smtp_add_domain`.
-- @http GET /smtp/domains/{email}
-- @tparam string email the address given to `smtp_add_domain`
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 17 for a domain never added)
-- @usage assert(client:smtp_verify_domain("postmaster@shire.me"))
function _M:smtp_verify_domain(email)
  check_email("smtp_verify_domain", "email", email)
  return self:request("GET", path("smtp", "domains", email))
end

return _M
