-- Automation 360: events that start flows, and the statistics of flows,
-- of their blocks and of their conversions.
--
-- Flows are built in SendPulse's editor, not through the API, so every
-- reset seeds two:
--   281013 "Abandoned cart", started by the event "abandoned_cart", with
--          one block of each kind (main trigger, email, push, SMS,
--          messenger, filter, condition, goal, action); its goal block
--          267510 is reached by the event "purchase";
--   281014 "Welcome", started by the event "signup" (main trigger and
--          email only).
-- Every event is recorded. An event whose name starts a flow (and whose
-- automation_id, if given, is that flow) runs it for the contact: the
-- flow's counters and the main trigger, filter, condition and action
-- blocks count one more execution, the email block one more message when
-- the event has an email, the SMS block one more when it has a phone. An
-- event that reaches a goal block converts a contact who started that
-- flow before (matched by email, else by phone). Events of other names
-- are recorded and answered {"result": true}, as the API accepts events
-- it has no flow for.

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

-- Block kinds in the statistics path -> the flow's af_type.
local KINDS = {
    ["main-trigger"] = "maintrigger", email = "email", push = "push", sms = "sms",
    messenger = "messenger", filter = "filter", trigger = "trigger", goal = "goal",
    action = "action",
}

local SEED = {
    {
        id = 281013, name = "Abandoned cart", event = "abandoned_cart",
        created = "2020-06-23 11:06:25",
        blocks = {
            { id = 467510, af_type = "maintrigger" },
            { id = 467511, af_type = "email", task = {
                id = 12018943, address_book_id = 0, message_title = "You left something behind",
                sender_mail_address = "shop@shire.example", sender_mail_name = "Shire Shop",
                created = "2020-06-23 14:06:25" } },
            { id = 486649, af_type = "push", task = {
                id = 3016415, website_id = 53, title = "Your cart misses you",
                body = "Come back and finish your order", icon = util.null,
                url_for_click = "https://shire.example/cart", created = "2020-07-09 15:40:12" } },
            { id = 486657, af_type = "sms", task = {
                id = 12110431, address_book_id = 0, sms_body = "Your cart is waiting",
                sms_sender_name = "ShireNews", created = "2020-07-09 15:48:22" } },
            { id = 486658, af_type = "messenger" },
            { id = 486660, af_type = "filter" },
            { id = 486661, af_type = "trigger" },
            { id = 267510, af_type = "goal", name = "purchase", event = "purchase" },
            { id = 486663, af_type = "action" },
        },
    },
    {
        id = 281014, name = "Welcome", event = "signup",
        created = "2021-02-01 08:00:00",
        blocks = {
            { id = 470001, af_type = "maintrigger" },
            { id = 470002, af_type = "email", task = {
                id = 12019000, address_book_id = 0, message_title = "Welcome!",
                sender_mail_address = "hello@shire.example", sender_mail_name = "Shire",
                created = "2021-02-01 08:00:00" } },
        },
    },
}

local flows_by_id   -- id -> flow {id, name, event, created, changed, blocks, ...}
local flow_ids
local blocks_by_id  -- id -> block {id, flow, af_type, stats...}
local events        -- every event received: {slug, email, phone, variables, time}
local next_conversion_id

function _M.reset()
    flows_by_id, flow_ids, blocks_by_id, events = {}, {}, {}, {}
    next_conversion_id = 40001
    for _, seed in ipairs(SEED) do
        local flow = {
            id = seed.id, name = seed.name, event = seed.event,
            created = seed.created, changed = seed.created, status = 1,
            blocks = {}, starts = 0, send_messages = 0,
            started = {},        -- contact key -> start date
            conversions = {},    -- {id, conversion_type, flow_id, email, phone, ...}
        }
        for _, b in ipairs(seed.blocks) do
            local block = {
                id = b.id, flow = flow, af_type = b.af_type, name = b.name,
                event = b.event, task = b.task, executed = 0, sent = 0,
                conversions = 0, last_send = util.null,
            }
            flow.blocks[#flow.blocks + 1] = block
            blocks_by_id[block.id] = block
        end
        flows_by_id[flow.id] = flow
        flow_ids[#flow_ids + 1] = flow.id
    end
end

_M.reset()

local function contact_key(email, phone)
    if email then
        return "e:" .. email:lower()
    end
    return "p:" .. phone
end

local function block_of(flow, af_type)
    for _, b in ipairs(flow.blocks) do
        if b.af_type == af_type then
            return b
        end
    end
    return nil
end

-- Runs a flow for one contact.
local function start_flow(flow, email, phone, now)
    flow.starts = flow.starts + 1
    flow.started[contact_key(email, phone)] = now
    for _, b in ipairs(flow.blocks) do
        local t = b.af_type
        if t == "maintrigger" or t == "filter" or t == "trigger" or t == "action" then
            b.executed = b.executed + 1
            b.last_send = now
        elseif (t == "email" and email) or (t == "sms" and phone) then
            b.executed = b.executed + 1
            b.sent = b.sent + 1
            b.last_send = now
            flow.send_messages = flow.send_messages + 1
        end
    end
end

-- A goal reached: converts the contact if it started the goal's flow.
local function reach_goal(block, email, phone, now)
    local flow = block.flow
    local started = flow.started[contact_key(email, phone)]
    if not started then
        return
    end
    block.executed = block.executed + 1
    block.conversions = block.conversions + 1
    block.last_send = now
    flow.conversions[#flow.conversions + 1] = {
        id = next_conversion_id, conversion_type = "goal", flow_id = block.id,
        email = email or util.null, phone = phone or util.null,
        conversion_date = now, start_date = started,
    }
    next_conversion_id = next_conversion_id + 1
end

-- POST /events/name/{slug}: a flat JSON object with email or phone
local function start_event(req, params)
    local p, status, body = util.request_params(req)
    if not p then
        return status, body
    end
    if not util.is_object(p) then
        return util.badly_formed()
    end
    local email, phone = p.email, p.phone
    if (email ~= nil and type(email) ~= "string")
       or (phone ~= nil and type(phone) ~= "string") then
        return util.badly_formed()
    end
    if (email == nil or email == "") and (phone == nil or phone == "") then
        return seed_errors.answer(400, 1101)
    end
    if email == "" then
        email = nil
    end
    if phone == "" then
        phone = nil
    end
    if email and not util.valid_email(email) then
        return seed_errors.answer(400, 906)
    end
    local automation_id
    if p.automation_id ~= nil then
        if type(p.automation_id) ~= "number" then
            return util.badly_formed()
        end
        automation_id = p.automation_id
        local flow = flows_by_id[automation_id]
        if not flow or flow.event ~= params.slug then
            return util.not_found("Automation")
        end
    end
    local now = ngx.utctime()
    local variables = {}
    for k, v in pairs(p) do
        if k ~= "email" and k ~= "phone" and k ~= "automation_id" then
            variables[k] = v
        end
    end
    events[#events + 1] = { slug = params.slug, email = email, phone = phone,
                            automation_id = automation_id, variables = variables,
                            time = now }
    for _, id in ipairs(flow_ids) do
        local flow = flows_by_id[id]
        if flow.event == params.slug and (not automation_id or automation_id == id) then
            start_flow(flow, email, phone, now)
        end
        for _, b in ipairs(flow.blocks) do
            if b.af_type == "goal" and b.event == params.slug then
                reach_goal(b, email, phone, now)
            end
        end
    end
    return 200, { result = true }
end

local function find_flow(params)
    return flows_by_id[util.parse_id(params.id) or -1]
end

local function last_send(flow)
    local last = util.null
    for _, b in ipairs(flow.blocks) do
        if b.last_send ~= util.null and (last == util.null or b.last_send > last) then
            last = b.last_send
        end
    end
    return last
end

-- GET /a360/autoresponders/{id}
local function get_flow(_, params)
    local flow = find_flow(params)
    if not flow then
        return util.not_found("Automation")
    end
    local blocks = util.array()
    for i, b in ipairs(flow.blocks) do
        blocks[i] = { id = b.id, main_id = flow.id, af_type = b.af_type,
                      created = flow.created, last_send = b.last_send,
                      task = b.task or util.null }
    end
    return 200, {
        autoresponder = { id = flow.id, name = flow.name, status = flow.status,
                          created = flow.created, changed = flow.changed },
        flows = blocks,
        starts = flow.starts,
        in_queue = 0,
        end_count = flow.starts,
        send_messages = flow.send_messages,
        conversions = #flow.conversions,
    }
end

-- GET /a360/stats/{kind}/{block_id}/group-stat
local function block_stats(_, params)
    local af_type = KINDS[params.kind]
    local block = blocks_by_id[util.parse_id(params.block_id) or -1]
    if not af_type or not block or block.af_type ~= af_type then
        return util.not_found("Block")
    end
    local data = { flow_id = block.id, last_send = block.last_send }
    if af_type == "email" then
        data.task = block.task
        data.sent, data.delivered = block.sent, block.sent
        data.opened, data.clicked, data.errors = 0, 0, 0
        data.unsubscribed, data.marked_as_spam = 0, 0
    elseif af_type == "push" then
        data.sent, data.delivered, data.clicked, data.errors = block.sent, block.sent, 0, 0
    elseif af_type == "sms" or af_type == "messenger" or af_type == "goal" then
        data.executed = block.executed
        data.sent, data.delivered = block.sent, block.sent
        data.opened, data.clicked, data.errors = 0, 0, 0
    elseif af_type == "maintrigger" then
        data.executed, data.deleted = block.executed, 0
        data.last_send = nil
    else
        data.executed = block.executed
    end
    return 200, { data = data }
end

-- GET /a360/autoresponders/{id}/conversions
local function conversions(_, params)
    local flow = find_flow(params)
    if not flow then
        return util.not_found("Automation")
    end
    local main = block_of(flow, "maintrigger")
    local goals = util.array()
    local goal_total = 0
    for _, b in ipairs(flow.blocks) do
        if b.af_type == "goal" then
            goals[#goals + 1] = { id = b.id, name = b.name, main_id = flow.id,
                                  af_type = "goal", created = flow.created,
                                  conversions = b.conversions }
            goal_total = goal_total + b.conversions
        end
    end
    return 200, { data = {
        total_conversions = goal_total,
        maintrigger_conversions = 0,
        goal_conversions = goal_total,
        maintrigger = { id = main.id, main_id = flow.id, af_type = "maintrigger",
                        created = flow.created, last_send = last_send(flow),
                        conversions = 0 },
        goals = goals,
    } }
end

-- GET /a360/autoresponders/{id}/conversions/list/all: newest first
local function conversion_contacts(_, params)
    local flow = find_flow(params)
    if not flow then
        return util.not_found("Automation")
    end
    local items = util.array()
    for i = #flow.conversions, 1, -1 do
        items[#items + 1] = flow.conversions[i]
    end
    return 200, { total = #flow.conversions, items = items }
end

_M.routes = {
    { "POST", "/events/name/{slug}", start_event },
    { "GET",  "/a360/autoresponders/{id}", get_flow },
    { "GET",  "/a360/stats/{kind}/{block_id}/group-stat", block_stats },
    { "GET",  "/a360/autoresponders/{id}/conversions", conversions },
    { "GET",  "/a360/autoresponders/{id}/conversions/list/all", conversion_contacts },
}

return _M
