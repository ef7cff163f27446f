--- Email campaigns: bulk sends to a mailing list or a segment.
--
-- A campaign is described by a table: `sender_name`, `sender_email` and
-- `subject`; the HTML `body` (a plain string: it is base64-encoded here)
-- or a `template_id`; the `list_id` or a `segment_id`; and optionally
-- `name`, `send_date` (a "YYYY-MM-DD HH:MM:SS" string or an os.time()
-- number; without it the campaign goes out at once), `body_amp` (AMP
-- HTML, encoded here too), `attachments` (`{["file.txt"] = "content"}`),
-- `attachments_binary` (`{["logo.png"] = raw bytes}`, encoded here),
-- `type` (only `"draft"`) and `is_test`. The service allows 4 new campaigns per hour
-- (error 791 for the fifth).
-- @area sendpulse.campaigns
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local next = next

local path = util.path
local check_id = util.integer
local base64 = util.base64

local _M = {}

--- Lists campaigns, one page.
-- @http GET /campaigns
-- @tparam[opt] table opts `limit` (at most 100), `offset`
-- @treturn table a list of `{id, name, message = {sender_name,
--   sender_email, subject, attachments, list_id}, status, all_email_qty,
--   tariff_email_qty, paid_email_qty, overdraft_price, overdraft_currency,
--   send_date}`
-- @return[2] nil, err
-- @usage for _, c in ipairs(assert(client:campaigns{limit = 10})) do print(c.id, c.status) end
function _M:campaigns(opts)
  return self:request("GET", "/campaigns", paging.query("campaigns", opts))
end

--- Iterates over every campaign, page by page.
-- @http GET /campaigns
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`
-- @treturn function an iterator yielding one campaign at a time; on
--   failure it yields `false, err` once
-- @usage for c, err in client:each_campaign() do assert(c, err) print(c.name) end
function _M:each_campaign(opts)
  return paging.each(self, "each_campaign", "/campaigns", opts)
end

--- One campaign with its message and statistics.
-- @http GET /campaigns/{id}
-- @tparam integer id
-- @treturn table `{id, name, message = {sender_name, sender_email,
--   subject, body, attachments, list_id}, status, all_email_qty, ...,
--   send_date, statistics = {sent, delivered, opening, link_redirected,
--   unsubscribe, error}}`; `message.body` is HTML (not base64)
-- @return[2] nil, err (`code` 802 when it does not exist)
-- @usage local c = assert(client:campaign(id)); print(c.statistics.opening)
function _M:campaign(id)
  check_id("campaign", "id", id)
  return self:request("GET", path("campaigns", id))
end

local FIELDS = util.set{
  "sender_name", "sender_email", "subject", "body", "body_amp", "template_id",
  "list_id", "segment_id", "name", "send_date", "attachments",
  "attachments_binary", "type", "is_test",
}

-- "draft" is the one type the API's spec allows.
local function campaign_type(method, arg, v)
  if v ~= nil and v ~= "draft" then
    util.fail(method, arg .. ".type", '"draft" expected, got ' .. tostring(v))
  end
  return v
end

-- The request body for create_campaign (partial = false) or
-- update_campaign (partial = true), checked before anything is sent.
local function campaign_body(method, arg, c, partial)
  util.table(method, arg, c)
  util.known_keys(method, arg, c, FIELDS)
  local required = not partial
  local out = {
    sender_name = util.string(method, arg .. ".sender_name", c.sender_name, partial),
    sender_email = util.email(method, arg .. ".sender_email", c.sender_email, partial),
    subject = util.string(method, arg .. ".subject", c.subject, partial),
    name = util.string(method, arg .. ".name", c.name, true),
    send_date = util.date(method, arg .. ".send_date", c.send_date, true),
    type = campaign_type(method, arg, c.type),
    is_test = util.boolean(method, arg .. ".is_test", c.is_test, true),
  }
  if c.body ~= nil and c.template_id ~= nil then
    util.fail(method, arg, "give body or template_id, not both")
  elseif c.body ~= nil then
    out.body = base64(util.string(method, arg .. ".body", c.body))
  elseif c.template_id ~= nil then
    out.template_id = util.template_id(method, arg .. ".template_id", c.template_id)
  elseif required then
    util.fail(method, arg, "body (HTML) or template_id required")
  end
  if c.body_amp ~= nil then
    out.body_amp = base64(util.string(method, arg .. ".body_amp", c.body_amp))
  end
  if c.list_id ~= nil and c.segment_id ~= nil then
    util.fail(method, arg, "give list_id or segment_id, not both")
  elseif c.list_id ~= nil then
    out.list_id = check_id(method, arg .. ".list_id", c.list_id, false, 1)
  elseif c.segment_id ~= nil then
    out.segment_id = check_id(method, arg .. ".segment_id", c.segment_id, false, 1)
  elseif required then
    util.fail(method, arg, "list_id or segment_id required")
  end
  if c.attachments ~= nil then
    out.attachments = util.attachments(method, arg .. ".attachments", c.attachments, false)
  end
  if c.attachments_binary ~= nil then
    out.attachments_binary = util.attachments(method, arg .. ".attachments_binary",
                                              c.attachments_binary, true)
  end
  if partial and next(out) == nil then
    util.fail(method, arg, "nothing to change")
  end
  return out
end

--- Creates a campaign: sends it now, or schedules it for `send_date`.
-- Exactly one of `body`/`template_id` and one of `list_id`/`segment_id`
-- must be given. `body` and `body_amp` are HTML, base64-encoded here;
-- `attachments_binary` holds raw file contents, base64-encoded here.
-- @http POST /campaigns
-- @tparam table campaign see the module's description
-- @treturn table `{id, name, status, all_email_qty, tariff_email_qty,
--   paid_email_qty, overdraft_price, overdraft_currency, send_date,
--   message}`; `overdraft_price` is a string, as sent
-- @return[2] nil, err (`code` 703 for an unknown list, 791 past 4 new
--   campaigns per hour, 799 for a send date in the past)
-- @usage local c = assert(client:create_campaign{
--   sender_name = "Shire Post", sender_email = "post@shire.me",
--   subject = "News", body = "<h1>Hello</h1>", list_id = book_id,
--   send_date = os.time() + 3600 })
function _M:create_campaign(campaign)
  return self:request("POST", "/campaigns", nil,
                      campaign_body("create_campaign", "campaign", campaign, false))
end

--- Changes a scheduled campaign (only the fields given).
-- @http PATCH /campaigns/{id}
-- @tparam integer id
-- @tparam table changes any fields of `create_campaign`, encoded the same way
-- @treturn table `{result = true, id}`
-- @return[2] nil, err (`code` 602 once it has been sent or cancelled)
-- @usage assert(client:update_campaign(id, { subject = "Later news",
--   send_date = "2030-01-01 09:00:00" }))
function _M:update_campaign(id, changes)
  check_id("update_campaign", "id", id)
  return self:request("PATCH", path("campaigns", id), nil,
                      campaign_body("update_campaign", "changes", changes, true))
end

--- Cancels a scheduled campaign; it stays listed with its new status.
-- @http DELETE /campaigns/{id}
-- @tparam integer id
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 602 when it was already sent or cancelled)
-- @usage assert(client:cancel_campaign(id))
function _M:cancel_campaign(id)
  check_id("cancel_campaign", "id", id)
  return self:request("DELETE", path("campaigns", id))
end

--- Opens of a campaign per country.
-- When there is nothing to count the API sends `[]` (an empty map in its
-- PHP form): the result is then an empty table, as for `{}`.
-- @http GET /campaigns/{id}/countries
-- @tparam integer id
-- @treturn table `{[country code] = count}`, e.g. `{UA = 23, GB = 4}`
-- @return[2] nil, err
-- @usage for country, n in pairs(assert(client:campaign_countries(id))) do print(country, n) end
function _M:campaign_countries(id)
  check_id("campaign_countries", "id", id)
  return self:request("GET", path("campaigns", id, "countries"))
end

--- Clicks on the links of a campaign.
-- @http GET /campaigns/{id}/referrals
-- @tparam integer id
-- @treturn table a list of `{link, count}`
-- @return[2] nil, err
-- @usage for _, r in ipairs(assert(client:campaign_referrals(id))) do print(r.link, r.count) end
function _M:campaign_referrals(id)
  check_id("campaign_referrals", "id", id)
  return self:request("GET", path("campaigns", id, "referrals"))
end

return _M
