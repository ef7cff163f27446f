-- Chatbots: the seven channels (client.messenger, .instagram, .telegram,
-- .whatsapp, .viber_bots, .tiktok, .live_chat) and what they share
-- (client.chatbots). The generated layer (sandbox.generic) routes and
-- checks all their operations; this module gives the main flow of every
-- channel real behaviour, the same for all since they share the
-- operations' names:
--
--   bots      every reset seeds one bot per channel, with two contacts:
--             "Frodo" (tags "sandbox", "vip"; variable city = "Shire") and
--             "Sam" (tag "sandbox"); ids are 24 hex digits. list_bots and
--             chatbots:get_bots list them.
--   contacts  get_contact{id}; get_contacts_by_tag{bot_id, tag};
--             get_contacts_by_variable{bot_id, variable_name | variable_id,
--             variable_value}; set_contact_tag / delete_contact_tag;
--             set_contact_variable / delete_contact_variable;
--             disable_contact (status 2) / enable_contact (status 1);
--             delete_contact (then get_contact answers 404). WhatsApp
--             creates contacts (POST /whatsapp/contacts) and finds them by
--             phone, Telegram by telegram_id.
--   messages  send_contact_message, send_text_to_contact, and WhatsApp's
--             templates and sends by phone, record an outgoing message
--             (direction 2, channel "api"); a disabled contact refuses
--             them (422), an unknown one gives 404. get_chat_messages
--             lists a contact's messages, chatbots:get_dialogs the
--             contacts that have some (data.list, data.total).
-- Lists page with size/skip. Unknown contacts and bots answer 404
-- {"success":false,...}.

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local require = require

local store = require "sandbox.store"
local shape = require "sandbox.shape"
local util = require "sandbox.util"

local _M = {}

_M.CHANNELS = { "messenger", "instagram", "telegram", "whatsapp", "viber_bots", "tiktok",
                "live_chat" }
_M.services = { "chatbots" }
for _, ch in ipairs(_M.CHANNELS) do
    _M.services[#_M.services + 1] = ch
end

-- channel -> path prefix ("/telegram", "/viber/chatbots", "/live-chat")
local PREFIX = {}
for _, ch in ipairs(_M.CHANNELS) do
    local row = require("sendpulse.api." .. ch).ops.list_bots
    PREFIX[ch] = row[2]:gsub("/bots$", "")
end

local function bots(ch) return PREFIX[ch] .. "/bots" end
local function contacts(ch) return PREFIX[ch] .. "/contacts" end
local function messages(ch) return PREFIX[ch] .. "/messages" end

local function seed(ch, n)
    local bot = store.put(bots(ch), {
        id = store.new_id(ch, "hex"), status = 1, created_at = shape.now(),
        channel_data = { id = 100 + n, name = "Sandbox " .. ch .. " bot",
                         username = "sandbox_" .. ch .. "_bot" },
        inbox = { total = 0, unread = 0 }, channel = ch,
    })
    for i, who in ipairs{ { "Frodo", { "sandbox", "vip" }, { city = "Shire" } },
                          { "Sam", { "sandbox" }, {} } } do
        local c = {
            id = store.new_id(ch, "hex"), bot_id = bot.id, status = 1,
            tags = util.array(who[2]), variables = who[3],
            channel_data = { name = who[1], first_name = who[1], last_name = "Hobbit" },
            created_at = shape.now(), last_activity_at = shape.now(),
            is_chat_opened = false,
        }
        if ch == "telegram" then
            c.telegram_id = tostring(5000000 + n * 10 + i)
        elseif ch == "whatsapp" then
            c.phone = "38050123456" .. i
        end
        store.put(contacts(ch), c)
    end
end

function _M.reset()
    for n, ch in ipairs(_M.CHANNELS) do
        seed(ch, n)
    end
end

_M.reset()

-- the channel of an operation (ctx.service), checked
local function contact_of(ctx, id)
    local c = store.get(contacts(ctx.service), id)
    if not c then
        return nil, ctx:not_found("contact", id)
    end
    return c
end

local function has(list, v)
    for _, x in ipairs(list or {}) do
        if x == v then
            return true
        end
    end
    return false
end

-- size/skip paging of a list
local function paged(ctx, list)
    local page, total = ctx:page(list)
    return ctx:list(page, total)
end

local function with_contact(field, fn)
    return function(ctx)
        local c, status, body = contact_of(ctx, ctx.args[field])
        if not c then
            return status, body
        end
        return fn(ctx, c)
    end
end

local function record(ctx, c, data)
    if c.status ~= 1 then
        return ctx:invalid("contact_id", "the contact is disabled")
    end
    local msg = store.put(messages(ctx.service), {
        id = store.new_id(ctx.service, "hex"), contact_id = c.id, bot_id = c.bot_id,
        direction = 2, status = 1, type = 1, channel = "api", data = data,
        created_at = shape.now(), campaign_id = util.null,
    })
    c.last_activity_at = msg.created_at
    return ctx:item(msg)
end

local function send(ctx, c)
    local a = ctx.args
    return record(ctx, c, a.message or a.messages or a.template or { text = a.text })
end

local function variables_of(v)
    local out = {}
    if util.is_array(v) then
        for _, x in ipairs(v) do
            if type(x) == "table" then
                out[x.variable_name or x.variable_id or x.name] = x.variable_value or x.value
            end
        end
    elseif type(v) == "table" then
        for k, x in pairs(v) do
            out[k] = x
        end
    end
    return out
end

local ops = {
    list_bots = function(ctx)
        return paged(ctx, store.list(bots(ctx.service)))
    end,
    get_contact = with_contact("id", function(ctx, c)
        return ctx:item(c)
    end),
    get_contacts_by_tag = function(ctx)
        local a = ctx.args
        return paged(ctx, store.list(contacts(ctx.service), function(c)
            return c.bot_id == a.bot_id and has(c.tags, a.tag)
        end))
    end,
    get_contacts_by_variable = function(ctx)
        local a = ctx.args
        local name = a.variable_name or a.variable_id
        return paged(ctx, store.list(contacts(ctx.service), function(c)
            local v = c.variables and c.variables[name]
            return c.bot_id == a.bot_id and v ~= nil and tostring(v) == tostring(a.variable_value)
        end))
    end,
    set_contact_tag = with_contact("contact_id", function(ctx, c)
        for _, t in ipairs(ctx.args.tags) do
            if not has(c.tags, t) then
                c.tags[#c.tags + 1] = t
            end
        end
        return ctx:ok()
    end),
    delete_contact_tag = with_contact("contact_id", function(ctx, c)
        local kept = util.array()
        for _, t in ipairs(c.tags) do
            if t ~= ctx.args.tag then
                kept[#kept + 1] = t
            end
        end
        c.tags = kept
        return ctx:ok()
    end),
    set_contact_variable = with_contact("contact_id", function(ctx, c)
        c.variables = c.variables or {}
        for k, v in pairs(variables_of(ctx.args.variables)) do
            c.variables[k] = v
        end
        return ctx:ok()
    end),
    delete_contact_variable = with_contact("contact_id", function(ctx, c)
        local name = ctx.args.variable_name or ctx.args.variable_id
        if c.variables then
            c.variables[name] = nil
        end
        return ctx:ok()
    end),
    disable_contact = with_contact("contact_id", function(ctx, c)
        c.status = 2
        return ctx:ok()
    end),
    enable_contact = with_contact("contact_id", function(ctx, c)
        c.status = 1
        return ctx:ok()
    end),
    delete_contact = with_contact("contact_id", function(ctx, c)
        store.remove(contacts(ctx.service), c.id)
        return ctx:ok()
    end),
    send_contact_message = with_contact("contact_id", send),
    send_text_to_contact = with_contact("contact_id", send),
    send_template_to_contact = with_contact("contact_id", send),
    -- (Messenger's spec types the list as one message)
    get_chat_messages = { as_list = true, handler = with_contact("contact_id", function(ctx, c)
        local list = store.list(messages(ctx.service), function(m)
            return m.contact_id == c.id
        end)
        if ctx.args.order == "desc" then
            local rev = util.array()
            for i = #list, 1, -1 do
                rev[#rev + 1] = list[i]
            end
            list = rev
        end
        return paged(ctx, list)
    end) },
    get_tags = function(ctx)
        local counts, order = {}, {}
        for _, c in ipairs(store.list(contacts(ctx.service), function(c)
            return c.bot_id == ctx.args.bot_id
        end)) do
            for _, t in ipairs(c.tags or {}) do
                if not counts[t] then
                    order[#order + 1] = t
                end
                counts[t] = (counts[t] or 0) + 1
            end
        end
        local list = {}
        for i, t in ipairs(order) do
            list[i] = { id = t, name = t, contact_count = counts[t] }
        end
        return paged(ctx, list)
    end,

    -- WhatsApp
    create_contact = function(ctx)
        local a = ctx.args
        if not store.get(bots(ctx.service), a.bot_id) then
            return ctx:not_found("bot", a.bot_id)
        end
        local c = store.put(contacts(ctx.service), {
            id = store.new_id(ctx.service, "hex"), bot_id = a.bot_id, status = 1,
            phone = a.phone, tags = util.array(a.tags or {}), variables = variables_of(a.variables),
            channel_data = { name = a.name or a.phone }, created_at = shape.now(),
            last_activity_at = shape.now(), is_chat_opened = false,
        })
        return ctx:item(c)
    end,
    get_contact_by_phone = function(ctx)
        local a = ctx.args
        local c = store.list(contacts(ctx.service), function(x)
            return x.bot_id == a.bot_id and x.phone == a.phone
        end)[1]
        if not c then
            return ctx:not_found("contact with phone", a.phone)
        end
        return ctx:item(c)
    end,
    -- Telegram
    get_contact_by_telegram_id = function(ctx)
        local a = ctx.args
        local c = store.list(contacts(ctx.service), function(x)
            return x.bot_id == a.bot_id and x.telegram_id == tostring(a.telegram_id)
        end)[1]
        if not c then
            return ctx:not_found("contact with telegram_id", a.telegram_id)
        end
        return ctx:item(c)
    end,

    -- what all channels share (client.chatbots)
    get_bots = function(ctx)
        local list = {}
        for _, ch in ipairs(_M.CHANNELS) do
            for _, b in ipairs(store.list(bots(ch))) do
                list[#list + 1] = b
            end
        end
        return ctx:list(list)
    end,
    get_dialogs = function(ctx)
        local list = {}
        for _, ch in ipairs(_M.CHANNELS) do
            local last = {}
            for _, m in ipairs(store.list(messages(ch))) do
                last[m.contact_id] = m
            end
            for _, c in ipairs(store.list(contacts(ch))) do
                local m = last[c.id]
                if m then
                    list[#list + 1] = {
                        _id = c.id, bot_id = c.bot_id, created_at = c.created_at,
                        updated_at = m.created_at, is_chat_opened = c.is_chat_opened,
                        contact = { id = c.id, full_name = c.channel_data.name },
                        last_outbox_message = { date = m.created_at,
                                                text = type(m.data) == "table"
                                                       and tostring(m.data.text or "") or "" },
                    }
                end
            end
        end
        return paged(ctx, list)
    end,
}

-- WhatsApp's sends by phone: the contact of that phone on that bot
local function by_phone(ctx)
    local a = ctx.args
    local c = store.list(contacts(ctx.service), function(x)
        return x.bot_id == a.bot_id and x.phone == a.phone
    end)[1]
    if not c then
        return ctx:not_found("contact with phone", a.phone)
    end
    return send(ctx, c)
end
ops.send_message_to_contact_by_phone = by_phone
ops.send_template_by_phone = by_phone

_M.ops = ops

return _M
