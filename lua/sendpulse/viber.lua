--- Viber campaigns (the campaign API, not the Viber chatbots).
--
-- A campaign goes either to a mailing list (`address_book`) or to a list
-- of phone numbers (`recipients`, at most 1000, sent as JSON numbers as
-- the API documents them).
-- @area sendpulse.viber
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local ipairs = ipairs
local next = next
local tonumber = tonumber
local tostring = tostring
local type = type

local path = util.path
local check_id = util.integer
local check_string = util.string

local _M = {}

local CAMPAIGN_FIELDS = util.set{
  "task_name", "message_type", "sender_id", "message_live_time", "send_date",
  "address_book", "recipients", "message", "stretch_time", "additional",
}

local MAX_RECIPIENTS = 1000

-- characters of a UTF-8 string (bytes that do not continue a character)
local function utf8_len(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function additional_field(method, a)
  if a == nil then
    return nil
  end
  util.table(method, "campaign.additional", a)
  util.known_keys(method, "campaign.additional", a,
               util.set{ "button", "image", "resend_sms" })
  local out = {}
  if a.button ~= nil then
    util.table(method, "campaign.additional.button", a.button)
    util.known_keys(method, "campaign.additional.button", a.button, util.set{ "text", "link" })
    out.button = {
      text = check_string(method, "campaign.additional.button.text", a.button.text),
      link = check_string(method, "campaign.additional.button.link", a.button.link),
    }
  end
  if a.image ~= nil then
    util.table(method, "campaign.additional.image", a.image)
    util.known_keys(method, "campaign.additional.image", a.image, util.set{ "link" })
    out.image = { link = check_string(method, "campaign.additional.image.link",
                                      a.image.link) }
  end
  if a.resend_sms ~= nil then
    local r = a.resend_sms
    local name = "campaign.additional.resend_sms"
    util.table(method, name, r)
    util.known_keys(method, name, r, util.set{ "status", "sms_text", "sms_sender_name" })
    out.resend_sms = {
      status = util.boolean(method, name .. ".status", r.status),
      sms_text = check_string(method, name .. ".sms_text", r.sms_text, not r.status),
      sms_sender_name = check_string(method, name .. ".sms_sender_name",
                                     r.sms_sender_name, not r.status),
    }
  end
  return out
end

-- The campaign fields, checked. `creating` makes the documented required
-- fields required; an update sends only the fields given.
local function campaign_body(method, c, creating)
  util.table(method, "campaign", c)
  util.known_keys(method, "campaign", c, CAMPAIGN_FIELDS)
  local body = {
    task_name = check_string(method, "campaign.task_name", c.task_name, not creating),
    sender_id = check_id(method, "campaign.sender_id", c.sender_id, not creating),
    message_live_time = check_id(method, "campaign.message_live_time",
                                 c.message_live_time, not creating, 60),
    message = check_string(method, "campaign.message", c.message, true),
    stretch_time = check_id(method, "campaign.stretch_time", c.stretch_time, true, 0),
    additional = additional_field(method, c.additional),
  }
  if c.message_type ~= nil or creating then
    if c.message_type ~= 2 and c.message_type ~= 3 then
      util.fail(method, "campaign.message_type", "2 (promotional) or 3 (transactional) "
                .. "expected, got " .. tostring(c.message_type))
    end
    body.message_type = c.message_type
  end
  if body.message_live_time and body.message_live_time > 86400 then
    util.fail(method, "campaign.message_live_time", "at most 86400 seconds")
  end
  -- the API's spec bounds these two
  if body.stretch_time and body.stretch_time > 5 then
    util.fail(method, "campaign.stretch_time", "at most 5 expected, got " .. body.stretch_time)
  end
  if body.message and utf8_len(body.message) > 1000 then
    util.fail(method, "campaign.message", "at most 1000 characters expected")
  end
  if c.send_date == "now" then
    body.send_date = "now"
  elseif c.send_date ~= nil then
    body.send_date = util.date(method, "campaign.send_date", c.send_date)
  elseif creating then
    body.send_date = "now"
  end
  if c.address_book ~= nil and c.recipients ~= nil then
    util.fail(method, "campaign", "address_book or recipients expected, not both")
  end
  if creating and c.address_book == nil and c.recipients == nil then
    util.fail(method, "campaign", "address_book or recipients expected")
  end
  body.address_book = check_id(method, "campaign.address_book", c.address_book, true)
  if c.recipients ~= nil then
    util.list(method, "campaign.recipients", c.recipients)
    if #c.recipients > MAX_RECIPIENTS then
      util.fail(method, "campaign.recipients", "at most " .. MAX_RECIPIENTS
                .. " numbers (use a mailing list)")
    end
    local numbers = {}
    for i, p in ipairs(c.recipients) do
      numbers[i] = tonumber(util.phone_digits(method, "campaign.recipients[" .. i .. "]", p))
    end
    body.recipients = numbers
  end
  if creating and body.message == nil and not (body.additional and body.additional.image) then
    util.fail(method, "campaign.message", "a message (or an additional.image) expected")
  end
  return body
end

--- Creates (and schedules or sends) a Viber campaign.
-- @http POST /viber
-- @tparam table campaign `task_name`, `message_type` (2 promotional, 3
--   transactional), `sender_id`, `message_live_time` (60 to 86400
--   seconds), `message`, and `address_book` (a mailing list id) or
--   `recipients` (a list of phone numbers); optional `send_date` (a date
--   or `"now"`, the default), `stretch_time`, `additional = {button =
--   {text, link}, image = {link}, resend_sms = {status, sms_text,
--   sms_sender_name}}`
-- @treturn table `{result = true, data = {task_id, ...}}`
-- @return[2] nil, err
-- @usage local id = assert(client:create_viber_campaign{ task_name = "Promo",
--   message_type = 2, sender_id = 2222, message_live_time = 3600,
--   recipients = { "380931111111" }, message = "Hello" }).data.task_id
function _M:create_viber_campaign(campaign)
  return self:request("POST", "/viber", nil,
                      campaign_body("create_viber_campaign", campaign, true))
end

--- Changes a Viber campaign that has not been sent yet.
-- Only the fields given are sent, with `main_task_id`.
-- @http POST /viber/update
-- @tparam integer id the campaign (`task_id`)
-- @tparam table campaign any fields of `create_viber_campaign`
-- @treturn table `{result = true, data = {task_id, ...}}`
-- @return[2] nil, err (`code` 602 when it has already been sent)
-- @usage assert(client:update_viber_campaign(id, { message = "Hello again" }))
function _M:update_viber_campaign(id, campaign)
  local m = "update_viber_campaign"
  check_id(m, "id", id)
  if type(campaign) == "table" and next(campaign) == nil then
    util.fail(m, "campaign", "nothing to change")
  end
  local body = campaign_body(m, campaign, false)
  body.main_task_id = id
  return self:request("POST", "/viber/update", nil, body)
end

--- Lists Viber campaigns, one page.
-- @http GET /viber/task
-- @tparam[opt] table opts `limit` (at most 100), `offset`
-- @treturn table a list of `{id, name, message, button_text, button_link,
--   image_link, address_book, sender_name, sender_id, message_live_time,
--   send_date, status, created}`
-- @return[2] nil, err
-- @usage for _, c in ipairs(assert(client:viber_campaigns{ limit = 20 })) do print(c.name) end
function _M:viber_campaigns(opts)
  return self:request("GET", "/viber/task", paging.query("viber_campaigns", opts))
end

--- Iterates over every Viber campaign, page by page.
-- @http GET /viber/task
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`
-- @treturn function an iterator yielding one campaign at a time; on
--   failure it yields `false, err` once
-- @usage for c, err in client:each_viber_campaign() do assert(c, err) print(c.id) end
function _M:each_viber_campaign(opts)
  return paging.each(self, "each_viber_campaign", "/viber/task", opts)
end

--- One Viber campaign with its statistics.
-- @http GET /viber/task/{id}
-- @tparam integer id
-- @treturn table `{id, name, message, ..., status, statistic = {sent,
--   delivered, read, redirected, undelivered, errors}, created}`
-- @return[2] nil, err (`code` 802 when there is no such campaign)
-- @usage print(assert(client:viber_campaign(id)).statistic.delivered)
function _M:viber_campaign(id)
  check_id("viber_campaign", "id", id)
  return self:request("GET", path("viber", "task", id))
end

--- The recipients of a Viber campaign and what happened to each.
-- @http GET /viber/task/{id}/recipients
-- @tparam integer id
-- @treturn table `{task_id, recipients = {{phone, address_book_id, status,
--   send_date, price, currency, last_update}, ...}}`
-- @return[2] nil, err
-- @usage for _, r in ipairs(assert(client:viber_campaign_recipients(id)).recipients) do
--   print(r.phone, r.status) end
function _M:viber_campaign_recipients(id)
  check_id("viber_campaign_recipients", "id", id)
  return self:request("GET", path("viber", "task", id, "recipients"))
end

--- The Viber sender names of the account.
-- @http GET /viber/senders
-- @treturn table a list of `{id, status, name, service_type, web_site,
--   description, countries, traffic_type, admin_comment, owner}`
-- @return[2] nil, err
-- @usage for _, s in ipairs(assert(client:viber_senders())) do print(s.id, s.name) end
function _M:viber_senders()
  return self:request("GET", "/viber/senders")
end

--- One Viber sender name.
-- @http GET /viber/senders/{id}
-- @tparam integer id
-- @treturn table `{id, status, name, ...}`
-- @return[2] nil, err
-- @usage print(assert(client:viber_sender(2222)).status)
function _M:viber_sender(id)
  check_id("viber_sender", "id", id)
  return self:request("GET", path("viber", "senders", id))
end

return _M
