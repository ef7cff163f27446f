--- Contacts across all mailing lists: where an address is, its history.
--
-- These calls look an address up in every mailing list at once; the
-- per-list calls are in `sendpulse.addressbooks`.
-- @area sendpulse.emails
local util = require "sendpulse.util"

local path = util.path
local check_email = util.email
local check_id = util.integer

local _M = {}

--- Where an address is: one entry per mailing list that holds it.
-- @http GET /emails/{email}
-- @tparam string email
-- @treturn table a list of `{book_id, email, status, status_explain,
--   variables = {{name, type, value}, ...}}`
-- @return[2] nil, err (`code` 17 when no list holds the address)
-- @usage for _, e in ipairs(assert(client:email_info("frodo@shire.me"))) do print(e.book_id) end
function _M:email_info(email)
  check_email("email_info", "email", email)
  return self:request("GET", path("emails", email))
end

--- Where several addresses are, in one request.
-- The addresses are sent as a JSON array of strings.
-- @http POST /emails
-- @tparam table emails a list of addresses
-- @treturn table a map from each address to its list of entries, as in
--   `email_info` (an empty list for an address no mailing list holds)
-- @return[2] nil, err
-- @usage local found = assert(client:emails_info{ "frodo@shire.me", "sam@shire.me" })
--   print(#found["sam@shire.me"])
function _M:emails_info(emails)
  local m = "emails_info"
  util.emails(m, "emails", emails)
  return self:request("POST", "/emails", nil, { emails = emails })
end

--- When and how an address joined each mailing list.
-- @http GET /emails/{email}/details
-- @tparam string email
-- @treturn table a list of `{list_name, list_id, add_date, source}`
--   (`add_date` is "YYYY-MM-DD HH:MM:SS")
-- @return[2] nil, err (`code` 17 when no list holds the address)
-- @usage for _, d in ipairs(assert(client:email_details("frodo@shire.me"))) do
--   print(d.list_name, d.add_date) end
function _M:email_details(email)
  check_email("email_details", "email", email)
  return self:request("GET", path("emails", email, "details"))
end

--- Removes an address from every mailing list.
-- @http DELETE /emails/{email}
-- @tparam string email
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 17 when no list holds the address)
-- @usage assert(client:delete_email("gollum@misty.mountains"))
function _M:delete_email(email)
  check_email("delete_email", "email", email)
  return self:request("DELETE", path("emails", email))
end

--- Campaign statistics of one address, over every campaign.
-- @http GET /emails/{email}/campaigns
-- @tparam string email
-- @treturn table `{statistic = {sent, open, link}, addressbooks =
--   {{id, address_book_name}, ...}, blacklist}`
-- @return[2] nil, err
-- @usage local s = assert(client:email_campaigns("frodo@shire.me")); print(s.statistic.open)
function _M:email_campaigns(email)
  check_email("email_campaigns", "email", email)
  return self:request("GET", path("emails", email, "campaigns"))
end

--- Campaign statistics of several addresses, in one request.
-- The result keeps the API's misspelt key `adressbooks` (one "d"), as
-- sent: results mirror the JSON.
-- @http POST /emails/campaigns
-- @tparam table emails a list of addresses
-- @treturn table a map from each address to `{sent, open, link,
--   adressbooks = {{id, name}, ...}, blacklist}`
-- @return[2] nil, err
-- @usage local s = assert(client:emails_campaigns{ "frodo@shire.me" })
--   print(s["frodo@shire.me"].sent)
function _M:emails_campaigns(emails)
  local m = "emails_campaigns"
  util.emails(m, "emails", emails)
  return self:request("POST", "/emails/campaigns", nil, { emails = emails })
end

--- How one campaign went for one address.
-- @http GET /campaigns/{id}/email/{email}
-- @tparam integer id the campaign
-- @tparam string email
-- @treturn table `{send_date, global_status, global_status_explain,
--   detail_status, detail_status_explain}`
-- @return[2] nil, err (`code` 802 for an unknown campaign, 17 when the
--   campaign did not go to the address)
-- @usage local s = assert(client:campaign_email_status(campaign_id, "frodo@shire.me"))
--   print(s.global_status_explain)
function _M:campaign_email_status(id, email)
  check_id("campaign_email_status", "id", id)
  check_email("campaign_email_status", "email", email)
  return self:request("GET", path("campaigns", id, "email", email))
end

return _M
