-- Web push: websites, their variables and subscriptions, push campaigns
-- ("tasks") and their statistics.
--
-- Websites cannot be created through the API, so every reset seeds three
-- (ids 53, 54, 55) with variables and subscriptions. Tasks get increasing
-- ids from FIRST_TASK_ID and are listed by id.
--
-- Error 711 ("Wait before create new push campaign by this website"): a
-- website takes one campaign per SPACING seconds of send time. A new task
-- whose send time (send_date, or now) is less than SPACING seconds from
-- the send time of another task of the same website is refused, so two
-- immediate campaigns in a row get 711 while campaigns scheduled minutes
-- apart are accepted.

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local math_abs = math.abs
local str_match = string.match
local table_sort = table.sort

local cjson = require "cjson.safe"
local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

_M.FIRST_TASK_ID = 3000001
_M.MAX_LIMIT = 100
_M.SPACING = 60

local websites        -- id -> website
local website_ids     -- ascending
local tasks_by_id     -- id -> task
local task_ids        -- ascending
local subscriptions   -- subscription id -> subscription (with website_id)
local next_task_id

-- The seeded websites: {id, url, add_date, status, variables, subscriptions}
local SEED = {
    {
        id = 53, url = "www.test-site.com", add_date = "2015-11-23 14:42:37",
        status = 1,
        variables = {
            { id = 97, name = "uname", type = "string" },
            { id = 98, name = "city", type = "string" },
        },
        subscriptions = {
            { id = 700001, browser = "Chrome", lang = "en", os = "Linux",
              country_code = "NZ", city = "Hobbiton",
              subscription_date = "2018-01-10 09:00:00",
              variables = { uname = "frodo", city = "Hobbiton" } },
            { id = 700002, browser = "Firefox", lang = "en", os = "Windows",
              country_code = "NZ", city = "Bree",
              subscription_date = "2018-03-02 12:30:00",
              variables = { uname = "sam" } },
            { id = 700003, browser = "Chrome", lang = "uk", os = "Android",
              country_code = "UA", city = "Kyiv",
              subscription_date = "2019-07-15 18:45:10", variables = {} },
            { id = 700004, browser = "Safari", lang = "de", os = "Mac OS",
              country_code = "DE", city = "Berlin",
              subscription_date = "2020-02-29 07:05:00",
              variables = { uname = "merry" } },
            { id = 700005, browser = "Opera", lang = "en", os = "Windows",
              country_code = "GB", city = "London",
              subscription_date = "2021-11-11 11:11:11", variables = {} },
        },
    },
    {
        id = 54, url = "shop.example.com", add_date = "2019-04-02 09:15:00",
        status = 1,
        variables = { { id = 99, name = "orders", type = "number" } },
        subscriptions = {
            { id = 700006, browser = "Chrome", lang = "en", os = "iOS",
              country_code = "US", city = "Boston",
              subscription_date = "2019-05-01 10:00:00",
              variables = { orders = 3 } },
            { id = 700007, browser = "Edge", lang = "fr", os = "Windows",
              country_code = "FR", city = "Lyon",
              subscription_date = "2022-06-18 16:20:00", variables = {} },
        },
    },
    {
        id = 55, url = "blog.example.org", add_date = "2021-08-30 18:20:11",
        status = 0, variables = {}, subscriptions = {},
    },
}

function _M.reset()
    websites, website_ids, subscriptions = {}, {}, {}
    for _, seed in ipairs(SEED) do
        local site = {
            id = seed.id, url = seed.url, add_date = seed.add_date,
            status = seed.status, variables = seed.variables,
            subscriptions = {},
        }
        for _, s in ipairs(seed.subscriptions) do
            local vars = {}
            for k, v in pairs(s.variables) do
                vars[k] = v
            end
            local sub = {
                id = s.id, website_id = seed.id, browser = s.browser,
                lang = s.lang, os = s.os, country_code = s.country_code,
                city = s.city, subscription_date = s.subscription_date,
                variables = vars, status = 1,
            }
            site.subscriptions[#site.subscriptions + 1] = sub
            subscriptions[sub.id] = sub
        end
        websites[site.id] = site
        website_ids[#website_ids + 1] = site.id
    end
    tasks_by_id, task_ids = {}, {}
    next_task_id = _M.FIRST_TASK_ID
end

_M.reset()

local epoch = util.epoch

local function now()
    return epoch(ngx.utctime())
end

-- A from/to filter: "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"; a bare day
-- covers the whole day. Returns the bound in seconds, false when absent,
-- nil when malformed.
local function date_bound(value, is_end)
    if value == nil then
        return false
    end
    local t = epoch(value)
    if t and is_end and #value == 10 then
        t = t + 86399
    end
    return t
end

local function date_filters(args)
    local from = date_bound(args.from, false)
    local to = date_bound(args.to, true)
    if from == nil then
        return nil, nil, util.invalid("from")
    end
    if to == nil then
        return nil, nil, util.invalid("to")
    end
    return from, to
end

local function in_range(t, from, to)
    return (not from or t >= from) and (not to or t <= to)
end

local function active_count(site)
    local n = 0
    for _, s in ipairs(site.subscriptions) do
        if s.status == 1 then
            n = n + 1
        end
    end
    return n
end

local function task_status(task)
    -- 1 waiting to be sent, 13 sent (the docs' example value)
    return task.send_time > now() and 1 or 13
end

local function task_summary(task)
    return {
        id = task.id,
        title = task.title,
        body = task.body,
        website_id = task.website_id,
        from = task.send_date,
        to = util.format_epoch(task.send_time + task.ttl),
        status = task_status(task),
    }
end

-- GET /push/tasks
local function list_tasks(req)
    local args = req.args()
    local limit, offset, status, body = util.pagination(args, _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    local from, to, s2, b2 = date_filters(args)
    if from == nil then
        return s2, b2
    end
    local website_id = false
    if args.website_id ~= nil then
        website_id = util.parse_id(args.website_id)
        if not website_id then
            return util.invalid("website_id")
        end
    end
    local matching = {}
    for _, id in ipairs(task_ids) do
        local task = tasks_by_id[id]
        if (not website_id or task.website_id == website_id)
           and in_range(task.send_time, from, to) then
            matching[#matching + 1] = task
        end
    end
    return 200, util.slice(matching, offset, limit, task_summary)
end

-- GET /push/tasks/{id}: statistics; "send" is a string, as the API sends it
local function get_task(_, params)
    local task = tasks_by_id[util.parse_id(params.id) or -1]
    if not task then
        return util.not_found("Push campaign")
    end
    local site = websites[task.website_id]
    local sent = task_status(task) == 13 and task.recipients or 0
    return 200, {
        id = task.id,
        message = { title = task.title, text = task.body, link = task.link or util.null },
        website = site.url,
        website_id = site.id,
        status = task_status(task),
        send = tostring(sent),
        delivered = sent,
        redirect = 0,
    }
end

local function valid_file(v)
    return type(v) == "table" and type(v.name) == "string" and v.name ~= ""
           and type(v.data) == "string" and v.data ~= ""
           and str_match(v.data, "^[A-Za-z0-9+/]+=?=?$") ~= nil and #v.data % 4 == 0
           and ngx.decode_base64(v.data) ~= nil
end

local function valid_buttons(v)
    if not util.is_array(v) then
        return false
    end
    for _, b in ipairs(v) do
        if type(b) ~= "table" or type(b.text) ~= "string" or type(b.link) ~= "string" then
            return false
        end
    end
    return #v <= 2
end

local function valid_filter(v)
    if not util.is_object(v) or type(v.variable_name) ~= "string"
       or type(v.operator) ~= "string" or not util.is_array(v.conditions) then
        return false
    end
    for _, c in ipairs(v.conditions) do
        if type(c) ~= "table" or type(c.condition) ~= "string" or c.value == nil then
            return false
        end
    end
    return true
end

-- POST /push/tasks
local function create_task(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    if not util.non_blank(p.title) or not util.non_blank(p.body)
       or p.website_id == nil or p.ttl == nil then
        return seed_errors.answer(400, 8)
    end
    local site = websites[util.parse_id(p.website_id) or -1]
    if not site then
        return util.not_found("Website")
    end
    local ttl = util.parse_id(p.ttl)
    if not ttl then
        return util.invalid("ttl")
    end
    local send_time = now()
    local send_date = ngx.utctime()
    if p.send_date ~= nil then
        send_time = epoch(p.send_date)
        if not send_time or #p.send_date ~= 19 or send_time < now() then
            return seed_errors.answer(400, 799)
        end
        send_date = p.send_date
    end
    for _, key in ipairs({ "filter_subscription_date_from", "filter_subscription_date_to" }) do
        if p[key] ~= nil and not epoch(p[key]) then
            return seed_errors.answer(400, 799)
        end
    end
    -- buttons, image and icon come as JSON text (the spec types them as
    -- strings holding JSON); a JSON value is taken as it is too
    for _, key in ipairs({ "image", "icon", "buttons" }) do
        if type(p[key]) == "string" then
            local decoded = cjson.decode(p[key])
            if decoded == nil then
                return util.invalid(key)
            end
            p[key] = decoded
        end
    end
    if p.image ~= nil and not valid_file(p.image) then
        return util.invalid("image")
    end
    if p.icon ~= nil and not valid_file(p.icon) then
        return util.invalid("icon")
    end
    if p.buttons ~= nil and not valid_buttons(p.buttons) then
        return util.invalid("buttons")
    end
    if p.filter ~= nil and not valid_filter(p.filter) then
        return util.invalid("filter")
    end
    for _, id in ipairs(task_ids) do
        local other = tasks_by_id[id]
        if other.website_id == site.id
           and math_abs(other.send_time - send_time) < _M.SPACING then
            return seed_errors.answer(400, 711)
        end
    end
    local id = next_task_id
    next_task_id = next_task_id + 1
    tasks_by_id[id] = {
        id = id,
        title = p.title,
        body = p.body,
        link = type(p.link) == "string" and p.link or nil,
        website_id = site.id,
        ttl = ttl,
        send_date = send_date,
        send_time = send_time,
        recipients = active_count(site),
    }
    task_ids[#task_ids + 1] = id
    return 200, { result = true, id = id }
end

local function website_view(site)
    return { id = site.id, url = site.url, add_date = site.add_date, status = site.status }
end

-- GET /push/websites
local function list_websites(req)
    local limit, offset, status, body = util.pagination(req.args(), _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    local sites = {}
    for i, id in ipairs(website_ids) do
        sites[i] = websites[id]
    end
    return 200, util.slice(sites, offset, limit, website_view)
end

-- GET /push/websites/total
local function count_websites()
    return 200, { total = #website_ids }
end

local function find_site(params)
    return websites[util.parse_id(params.id) or -1]
end

-- GET /push/websites/{id}/variables
local function website_variables(_, params)
    local site = find_site(params)
    if not site then
        return util.not_found("Website")
    end
    local out = util.array()
    for i, v in ipairs(site.variables) do
        out[i] = { id = v.id, name = v.name, type = v.type }
    end
    return 200, out
end

local function subscription_view(s)
    local names = {}
    for k in pairs(s.variables) do
        names[#names + 1] = k
    end
    table_sort(names)
    local vars = util.array()
    for i, k in ipairs(names) do
        vars[i] = { name = k, value = s.variables[k] }
    end
    return {
        id = s.id,
        browser = s.browser,
        lang = s.lang,
        os = s.os,
        country_code = s.country_code,
        city = s.city,
        variables = vars,
        subscription_date = s.subscription_date,
        status = s.status,
    }
end

-- GET /push/websites/{id}/subscriptions (the date filters are named
-- subscription_date_from/_to here)
local function list_subscriptions(req, params)
    local site = find_site(params)
    if not site then
        return util.not_found("Website")
    end
    local args = req.args()
    local limit, offset, status, body = util.pagination(args, _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    local from, to, s2, b2 = date_filters({ from = args.subscription_date_from,
                                            to = args.subscription_date_to })
    if from == nil then
        return s2, b2
    end
    local matching = {}
    for _, s in ipairs(site.subscriptions) do
        if in_range(epoch(s.subscription_date), from, to) then
            matching[#matching + 1] = s
        end
    end
    return 200, util.slice(matching, offset, limit, subscription_view)
end

-- GET /push/websites/{id}/subscriptions/total
local function count_subscriptions(_, params)
    local site = find_site(params)
    if not site then
        return util.not_found("Website")
    end
    return 200, { total = #site.subscriptions }
end

-- GET /push/websites/info/{id}
local function website_info(_, params)
    local site = find_site(params)
    if not site then
        return util.not_found("Website")
    end
    local active = active_count(site)
    local today = ngx.utctime():sub(1, 10)
    local new_today = 0
    for _, s in ipairs(site.subscriptions) do
        if s.subscription_date:sub(1, 10) == today then
            new_today = new_today + 1
        end
    end
    return 200, {
        id = site.id,
        url = site.url,
        status = site.status == 1 and "active" or "inactive",
        icon = "https://" .. site.url .. "/favicon.png",
        add_date = site.add_date,
        total_subscribers = #site.subscriptions,
        unsubscribed = #site.subscriptions - active,
        subscribers_today = new_today,
        active_subscribers = active,
    }
end

-- GET /push/websites/{id}/code
local function website_code(_, params)
    local site = find_site(params)
    if not site then
        return util.not_found("Website")
    end
    return 200, {
        script_code = '<script charset="UTF-8" src="//web.webpushs.com/js/push/'
                      .. ngx.md5(site.url) .. '_1.js" async></script>',
    }
end

-- POST /push/subscriptions/state
local function set_state(req)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    if p.id == nil or p.state == nil then
        return seed_errors.answer(400, 8)
    end
    local sub = subscriptions[util.parse_id(p.id) or -1]
    if not sub then
        return util.not_found("Subscription")
    end
    local state = util.parse_id(p.state)
    if state ~= 0 and state ~= 1 then
        return util.invalid("state")
    end
    sub.status = state
    return 200, { result = true }
end

_M.routes = {
    { "GET",  "/push/tasks", list_tasks },
    { "POST", "/push/tasks", create_task },
    { "GET",  "/push/tasks/{id}", get_task },
    { "GET",  "/push/websites", list_websites },
    { "GET",  "/push/websites/total", count_websites },
    { "GET",  "/push/websites/{id}/variables", website_variables },
    { "GET",  "/push/websites/{id}/subscriptions", list_subscriptions },
    { "GET",  "/push/websites/{id}/subscriptions/total", count_subscriptions },
    { "GET",  "/push/websites/info/{id}", website_info },
    { "GET",  "/push/websites/{id}/code", website_code },
    { "POST", "/push/subscriptions/state", set_state },
}

return _M
