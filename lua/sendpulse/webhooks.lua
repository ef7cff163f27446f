--- Email-service webhooks managed through the API (the /v2 service).
--
-- Unlike the rest of the email API, these endpoints answer with a
-- `{success, data}` envelope, and the results mirror it: the webhooks are
-- in `res.data`. Each webhook is one (url, action) pair; actions are
-- event names such as `"open"`, `"redirect"` (a link click), `"spam"`,
-- `"unsubscribe"`, `"delivered"`.
-- @area sendpulse.webhooks
local util = require "sendpulse.util"

local ipairs = ipairs

local path = util.path

local _M = {}

local function check_url(method, url)
  util.string(method, "url", url)
  if not url:find("^https?://[^%s/?#]+") or url:find("%s") then
    util.fail(method, "url", "an http(s) URL expected, got " .. ("%q"):format(url))
  end
  return url
end

--- Lists the webhooks.
-- @http GET /v2/email-service/webhook
-- @treturn table `{success = true, data = {{id, user_id, url, action}, ...}}`
-- @return[2] nil, err
-- @usage for _, w in ipairs(assert(client:webhooks()).data) do print(w.id, w.action, w.url) end
function _M:webhooks()
  return self:request("GET", "/v2/email-service/webhook")
end

--- One webhook.
-- @http GET /v2/email-service/webhook/{id}
-- @tparam integer id
-- @treturn table `{success = true, data = {id, user_id, url, action}}`
-- @return[2] nil, err (`status` 404 when it does not exist)
-- @usage print(assert(client:webhook(id)).data.url)
function _M:webhook(id)
  util.integer("webhook", "id", id, false, 1)
  return self:request("GET", path("v2", "email-service", "webhook", id))
end

--- Creates webhooks: one per action, all posting to `url`.
-- @http POST /v2/email-service/webhook
-- @tparam string url where the service will POST the events
-- @tparam table actions a list of event names, e.g. `{"open", "redirect"}`
-- @treturn table `{success = true, data = {{id, user_id, url, action}, ...}}`
--   (one entry per action)
-- @return[2] nil, err (`status` 422 for a URL or action the service refuses)
-- @usage local res = assert(client:create_webhook("https://example.com/hook", { "open", "spam" }))
--   for _, w in ipairs(res.data) do print(w.action, w.id) end
function _M:create_webhook(url, actions)
  check_url("create_webhook", url)
  util.list("create_webhook", "actions", actions)
  for i, a in ipairs(actions) do
    util.string("create_webhook", "actions[" .. i .. "]", a)
  end
  return self:request("POST", "/v2/email-service/webhook", nil,
                      { url = url, actions = actions })
end

--- Points a webhook at another URL.
-- @http PUT /v2/email-service/webhook/{id}
-- @tparam integer id
-- @tparam string url
-- @treturn table `{success = true, data = {true}}`
-- @return[2] nil, err
-- @usage assert(client:update_webhook(id, "https://example.com/new-hook"))
function _M:update_webhook(id, url)
  util.integer("update_webhook", "id", id, false, 1)
  check_url("update_webhook", url)
  return self:request("PUT", path("v2", "email-service", "webhook", id), nil,
                      { url = url })
end

--- Deletes a webhook.
-- @http DELETE /v2/email-service/webhook/{id}
-- @tparam integer id
-- @treturn table `{success = true, data = {true}}`
-- @return[2] nil, err
-- @usage assert(client:delete_webhook(id))
function _M:delete_webhook(id)
  util.integer("delete_webhook", "id", id, false, 1)
  return self:request("DELETE", path("v2", "email-service", "webhook", id))
end

return _M
