--- Web push: campaigns ("tasks"), websites, their variables and subscribers.
--
-- Dates are `"YYYY-MM-DD HH:MM:SS"` strings or `os.time()` numbers; the
-- list filters also take a bare `"YYYY-MM-DD"`. Push images and icons are
-- given as raw file contents and sent base64-encoded.
-- @area sendpulse.push
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local ipairs = ipairs

local path = util.path
local check_id = util.integer
local check_string = util.string

local _M = {}

local TASK_FILTERS = util.set{ "from", "to", "website_id" }

-- Checks the filters of the task list and converts their dates in place.
local function task_filters(method, q)
  q.from = util.date_or_day(method, "opts.from", q.from, true)
  q.to = util.date_or_day(method, "opts.to", q.to, true)
  check_id(method, "opts.website_id", q.website_id, true)
  return q
end

--- Lists push campaigns, one page.
-- @http GET /push/tasks
-- @tparam[opt] table opts `limit` (at most 100), `offset`, `from`, `to`
--   (dates), `website_id`
-- @treturn table a list of `{id, title, body, website_id, from, to, status}`
-- @return[2] nil, err
-- @usage for _, t in ipairs(assert(client:push_tasks{ website_id = 53 })) do print(t.title) end
function _M:push_tasks(opts)
  local m = "push_tasks"
  return self:request("GET", "/push/tasks",
                      task_filters(m, paging.query(m, opts, TASK_FILTERS)))
end

--- Iterates over every push campaign, page by page.
-- @http GET /push/tasks
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`, and the
--   filters of `push_tasks`
-- @treturn function an iterator yielding one campaign at a time; on
--   failure it yields `false, err` once
-- @usage for task, err in client:each_push_task{ from = "2024-01-01" } do
--   assert(task, err) print(task.id) end
function _M:each_push_task(opts)
  local m = "each_push_task"
  opts = paging.options(m, opts, TASK_FILTERS)
  local query = task_filters(m, { from = opts.from, to = opts.to,
                                  website_id = opts.website_id })
  return paging.iterate{ client = self, path = "/push/tasks", query = query,
                         limit = opts.limit, max = opts.max, offset = opts.offset }
end

--- Statistics of one push campaign.
-- @http GET /push/tasks/{id}
-- @tparam integer id
-- @treturn table `{id, message = {title, text, link}, website, website_id,
--   status, send, delivered, redirect}` (`send` is a string, as sent)
-- @return[2] nil, err
-- @usage print(assert(client:push_task(id)).delivered)
function _M:push_task(id)
  check_id("push_task", "id", id)
  return self:request("GET", path("push", "tasks", id))
end

local TASK_FIELDS = util.set{
  "title", "website_id", "body", "ttl", "link", "filter_lang", "filter_browser",
  "filter_region", "filter_url", "filter_subscription_date_from",
  "filter_subscription_date_to", "filter", "stretch_time", "send_date",
  "buttons", "image", "icon",
}

local FILE_KEYS = util.set{ "name", "data" }

-- seconds a push lives: 0 to 86400, the API's spec says
local function check_ttl(method, ttl)
  check_id(method, "task.ttl", ttl, false, 0)
  if ttl > 86400 then
    util.fail(method, "task.ttl", "at most 86400 seconds expected, got " .. ttl)
  end
  return ttl
end

-- The API takes buttons, image and icon as JSON text inside the JSON body
-- (its spec types them as strings holding JSON).
local json_encode = require("sendpulse.core").json_encode
local function json_text(v)
  if v == nil then
    return nil
  end
  return json_encode(v)
end

-- {name = "x.png", data = <raw bytes>} -> {name, data = base64}
local function file_field(method, name, v)
  if v == nil then
    return nil
  end
  util.table(method, name, v)
  util.known_keys(method, name, v, FILE_KEYS)
  check_string(method, name .. ".name", v.name)
  check_string(method, name .. ".data", v.data)
  return { name = v.name, data = util.base64(v.data) }
end

local function buttons_field(method, buttons)
  if buttons == nil then
    return nil
  end
  util.list(method, "task.buttons", buttons)
  for i, b in ipairs(buttons) do
    local name = "task.buttons[" .. i .. "]"
    util.table(method, name, b)
    check_string(method, name .. ".text", b.text)
    check_string(method, name .. ".link", b.link)
  end
  return buttons
end

local function filter_field(method, filter)
  if filter == nil then
    return nil
  end
  util.table(method, "task.filter", filter)
  check_string(method, "task.filter.variable_name", filter.variable_name)
  check_string(method, "task.filter.operator", filter.operator)
  util.list(method, "task.filter.conditions", filter.conditions)
  for i, c in ipairs(filter.conditions) do
    local name = "task.filter.conditions[" .. i .. "]"
    util.table(method, name, c)
    check_string(method, name .. ".condition", c.condition)
    if c.value == nil then
      util.fail(method, name .. ".value", "a value expected")
    end
  end
  return filter
end

--- Creates a push campaign.
-- `image` and `icon` are `{name = "file.png", data = <raw file contents>}`:
-- the data is base64-encoded here. The service refuses a second campaign
-- for the same website too soon after another (`code` 711).
-- @http POST /push/tasks
-- @tparam table task `title`, `website_id`, `body`, `ttl` (seconds), all
--   required; optional `link`, `filter_lang`, `filter_browser`,
--   `filter_region`, `filter_url`, `filter_subscription_date_from`/`_to`
--   (dates, sent as "YYYY-MM-DD"), `filter = {variable_name, operator,
--   conditions = {{condition, value}, ...}}`, `stretch_time` (seconds),
--   `send_date` (a date), `buttons = {{text, link}, ...}`, `image`, `icon`
--   (`buttons`, `image` and `icon` are sent as JSON text, as the API wants)
-- @treturn table `{result = true, id}`
-- @return[2] nil, err (`code` 711 when the website needs a pause first)
-- @usage local id = assert(client:create_push_task{ title = "Sale", body = "-50%",
--   website_id = 53, ttl = 3600, link = "https://example.com/sale",
--   icon = { name = "icon.png", data = io.open("icon.png", "rb"):read("a") } }).id
function _M:create_push_task(task)
  local m = "create_push_task"
  util.table(m, "task", task)
  util.known_keys(m, "task", task, TASK_FIELDS)
  local body = {
    title = check_string(m, "task.title", task.title),
    website_id = check_id(m, "task.website_id", task.website_id),
    body = check_string(m, "task.body", task.body),
    ttl = check_ttl(m, task.ttl),
    link = check_string(m, "task.link", task.link, true),
    filter_lang = check_string(m, "task.filter_lang", task.filter_lang, true),
    filter_browser = check_string(m, "task.filter_browser", task.filter_browser, true),
    filter_region = check_string(m, "task.filter_region", task.filter_region, true),
    filter_url = check_string(m, "task.filter_url", task.filter_url, true),
    filter_subscription_date_from = util.date(m, "task.filter_subscription_date_from",
      task.filter_subscription_date_from, true, true),
    filter_subscription_date_to = util.date(m, "task.filter_subscription_date_to",
      task.filter_subscription_date_to, true, true),
    filter = filter_field(m, task.filter),
    stretch_time = check_id(m, "task.stretch_time", task.stretch_time, true, 0),
    send_date = util.date(m, "task.send_date", task.send_date, true),
    buttons = json_text(buttons_field(m, task.buttons)),
    image = json_text(file_field(m, "task.image", task.image)),
    icon = json_text(file_field(m, "task.icon", task.icon)),
  }
  return self:request("POST", "/push/tasks", nil, body)
end

--- Lists the websites, one page.
-- @http GET /push/websites
-- @tparam[opt] table opts `limit` (at most 100), `offset`
-- @treturn table a list of `{id, url, add_date, status}`
-- @return[2] nil, err
-- @usage for _, site in ipairs(assert(client:push_websites())) do print(site.url) end
function _M:push_websites(opts)
  return self:request("GET", "/push/websites", paging.query("push_websites", opts))
end

--- Iterates over every website.
-- @http GET /push/websites
-- @tparam[opt] table opts `limit`, `max`, `offset`
-- @treturn function an iterator (see `each_push_task`)
-- @usage for site in client:each_push_website() do print(site.id) end
function _M:each_push_website(opts)
  return paging.each(self, "each_push_website", "/push/websites", opts)
end

--- How many websites the account has.
-- @http GET /push/websites/total
-- @treturn table `{total}`
-- @return[2] nil, err
-- @usage print(assert(client:push_websites_total()).total)
function _M:push_websites_total()
  return self:request("GET", "/push/websites/total")
end

--- The subscriber variables defined for a website.
-- @http GET /push/websites/{id}/variables
-- @tparam integer id the website
-- @treturn table a list of `{id, name, type}`
-- @return[2] nil, err
-- @usage for _, v in ipairs(assert(client:push_website_variables(53))) do print(v.name) end
function _M:push_website_variables(id)
  check_id("push_website_variables", "id", id)
  return self:request("GET", path("push", "websites", id, "variables"))
end

local SUBSCRIPTION_FILTERS = util.set{ "from", "to" }

-- The API names these subscription_date_from/_to and takes days
-- ("YYYY-MM-DD"); the options keep their short names.
local function subscription_filters(method, q)
  q.subscription_date_from = util.date(method, "opts.from", q.from, true, true)
  q.subscription_date_to = util.date(method, "opts.to", q.to, true, true)
  q.from, q.to = nil, nil
  return q
end

--- Subscribers of a website, one page.
-- @http GET /push/websites/{id}/subscriptions
-- @tparam integer id the website
-- @tparam[opt] table opts `limit` (at most 100), `offset`, `from`, `to`
--   (first and last day of subscription: "YYYY-MM-DD" or an os.time()
--   number; sent as `subscription_date_from`/`subscription_date_to`)
-- @treturn table a list of `{id, browser, lang, os, country_code, city,
--   variables, subscription_date, status}`
-- @return[2] nil, err
-- @usage local subs = assert(client:push_website_subscriptions(53, { limit = 10 }))
function _M:push_website_subscriptions(id, opts)
  local m = "push_website_subscriptions"
  check_id(m, "id", id)
  return self:request("GET", path("push", "websites", id, "subscriptions"),
                      subscription_filters(m, paging.query(m, opts, SUBSCRIPTION_FILTERS)))
end

--- Iterates over every subscriber of a website.
-- @http GET /push/websites/{id}/subscriptions
-- @tparam integer id the website
-- @tparam[opt] table opts `limit`, `max`, `offset`, `from`, `to`
-- @treturn function an iterator (see `each_push_task`)
-- @usage for sub in client:each_push_website_subscription(53) do print(sub.id) end
function _M:each_push_website_subscription(id, opts)
  local m = "each_push_website_subscription"
  check_id(m, "id", id)
  opts = paging.options(m, opts, SUBSCRIPTION_FILTERS)
  return paging.iterate{
    client = self, path = path("push", "websites", id, "subscriptions"),
    query = subscription_filters(m, { from = opts.from, to = opts.to }),
    limit = opts.limit, max = opts.max, offset = opts.offset,
  }
end

--- How many subscribers a website has.
-- @http GET /push/websites/{id}/subscriptions/total
-- @tparam integer id the website
-- @treturn table `{total}`
-- @return[2] nil, err
-- @usage print(assert(client:push_website_subscriptions_total(53)).total)
function _M:push_website_subscriptions_total(id)
  check_id("push_website_subscriptions_total", "id", id)
  return self:request("GET", path("push", "websites", id, "subscriptions", "total"))
end

--- Information about one website.
-- @http GET /push/websites/info/{id}
-- @tparam integer id the website
-- @treturn table `{id, url, status, icon, add_date, total_subscribers,
--   unsubscribed, subscribers_today, active_subscribers}`
-- @return[2] nil, err
-- @usage print(assert(client:push_website_info(53)).active_subscribers)
function _M:push_website_info(id)
  check_id("push_website_info", "id", id)
  return self:request("GET", path("push", "websites", "info", id))
end

--- The JavaScript snippet that integrates web push into a website.
-- @http GET /push/websites/{id}/code
-- @tparam integer id the website
-- @treturn table `{script_code}`
-- @return[2] nil, err
-- @usage print(assert(client:push_website_code(53)).script_code)
function _M:push_website_code(id)
  check_id("push_website_code", "id", id)
  return self:request("GET", path("push", "websites", id, "code"))
end

--- Activates or deactivates one subscription.
-- @http POST /push/subscriptions/state
-- @tparam integer id the subscription
-- @tparam boolean|integer state `true`/`1` to activate, `false`/`0` to
--   deactivate (sent as 1 or 0)
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage assert(client:set_push_subscription_state(700001, false))
function _M:set_push_subscription_state(id, state)
  local m = "set_push_subscription_state"
  check_id(m, "id", id)
  state = util.flag(m, "state", state)
  return self:request("POST", "/push/subscriptions/state", nil, { id = id, state = state })
end

return _M
