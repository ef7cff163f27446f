--- Automation 360: events that start flows, and flow statistics.
-- @area sendpulse.automation
local util = require "sendpulse.util"

local pairs = pairs
local tostring = tostring
local type = type

local path = util.path
local check_id = util.integer
local check_string = util.string

local _M = {}

local VALUE_TYPES = util.set{ "string", "number", "boolean", "table" }

--- Sends an event, starting the flows it triggers for one contact.
-- `variables` is the flat JSON object the API wants: `email` or `phone`
-- (a string) identifies the contact and is required; every other key is
-- an event variable (lists are fine, e.g. the products of an order);
-- `automation_id`, an integer, restricts the event to one flow. The slug
-- is percent-encoded in the path.
-- @http POST /events/name/{event_slug}
-- @tparam string slug the event's name as set up in SendPulse
-- @tparam table variables `{email = ..., phone = ..., automation_id = ...,
--   name = value, ...}`
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage assert(client:start_event("order_placed", { email = "frodo@shire.me",
--   order_id = 1234, products = { { name = "Ring", price = 1 } } }))
function _M:start_event(slug, variables)
  local m = "start_event"
  check_string(m, "slug", slug)
  util.table(m, "variables", variables)
  local body = {}
  for k, v in pairs(variables) do
    if type(k) ~= "string" then
      util.fail(m, "variables", "a flat object with string keys expected, got key "
                .. tostring(k))
    end
    if not VALUE_TYPES[type(v)] then
      util.fail(m, "variables." .. k, "a string, number, boolean or table expected, got a "
                .. type(v))
    end
    body[k] = v
  end
  if variables.email == nil and variables.phone == nil then
    util.fail(m, "variables", "an email or a phone (a string) is required")
  end
  util.email(m, "variables.email", variables.email, true)
  if variables.phone ~= nil then
    check_string(m, "variables.phone", variables.phone)
    util.phone(m, "variables.phone", variables.phone)
  end
  check_id(m, "variables.automation_id", variables.automation_id, true)
  return self:request("POST", path("events", "name", slug), nil, body)
end

--- A flow (autoresponder) with its blocks and counters.
-- @http GET /a360/autoresponders/{id}
-- @tparam integer id the flow
-- @treturn table `{autoresponder = {id, name, status, created, changed},
--   flows = {{id, main_id, af_type, created, last_send, task}, ...},
--   starts, in_queue, end_count, send_messages, conversions}` (`flows` are
--   the blocks)
-- @return[2] nil, err
-- @usage local f = assert(client:automation_flow(281013)) print(f.starts)
function _M:automation_flow(id)
  check_id("automation_flow", "id", id)
  return self:request("GET", path("a360", "autoresponders", id))
end

local BLOCK_KINDS = util.set{ "main-trigger", "email", "push", "sms", "messenger",
                              "filter", "trigger", "goal", "action" }

--- Statistics of one block of a flow.
-- @http GET /a360/stats/main-trigger/{blockId}/group-stat
-- @http GET /a360/stats/email/{blockId}/group-stat
-- @http GET /a360/stats/push/{blockId}/group-stat
-- @http GET /a360/stats/sms/{blockId}/group-stat
-- @http GET /a360/stats/messenger/{blockId}/group-stat
-- @http GET /a360/stats/filter/{blockId}/group-stat
-- @http GET /a360/stats/trigger/{blockId}/group-stat
-- @http GET /a360/stats/goal/{blockId}/group-stat
-- @http GET /a360/stats/action/{blockId}/group-stat
-- @tparam string kind the block's kind: "main-trigger", "email", "push",
--   "sms", "messenger", "filter", "trigger" (a condition), "goal" or
--   "action"
-- @tparam integer block_id
-- @treturn table `{data = {flow_id, ...}}`: `executed` for every kind but
--   email and push; `sent`, `delivered`, `opened`, `clicked`, `errors`,
--   `last_send` for the message kinds (email adds `task`, `unsubscribed`,
--   `marked_as_spam`)
-- @return[2] nil, err
-- @usage print(assert(client:automation_block_stats("email", 467511)).data.sent)
function _M:automation_block_stats(kind, block_id)
  local m = "automation_block_stats"
  check_string(m, "kind", kind)
  if not BLOCK_KINDS[kind] then
    util.fail(m, "kind", "one of main-trigger, email, push, sms, messenger, filter, "
              .. "trigger, goal, action expected, got " .. kind)
  end
  check_id(m, "block_id", block_id)
  return self:request("GET", path("a360", "stats", kind, block_id, "group-stat"))
end

--- Conversion counts of a flow, overall and per goal.
-- @http GET /a360/autoresponders/{id}/conversions
-- @tparam integer id the flow
-- @treturn table `{data = {total_conversions, maintrigger_conversions,
--   goal_conversions, maintrigger = {...}, goals = {{id, name,
--   conversions, ...}, ...}}}`
-- @return[2] nil, err
-- @usage print(assert(client:automation_conversions(281013)).data.total_conversions)
function _M:automation_conversions(id)
  check_id("automation_conversions", "id", id)
  return self:request("GET", path("a360", "autoresponders", id, "conversions"))
end

--- The contacts a flow converted.
-- @http GET /a360/autoresponders/{id}/conversions/list/all
-- @tparam integer id the flow
-- @treturn table `{total, items = {{id, conversion_type, flow_id, email,
--   phone, conversion_date, start_date}, ...}}`
-- @return[2] nil, err
-- @usage for _, c in ipairs(assert(client:automation_conversion_contacts(281013)).items) do
--   print(c.email) end
function _M:automation_conversion_contacts(id)
  check_id("automation_conversion_contacts", "id", id)
  return self:request("GET", path("a360", "autoresponders", id, "conversions", "list", "all"))
end

return _M
