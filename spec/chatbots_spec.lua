-- The chatbot channels (client.messenger, .instagram, .telegram,
-- .whatsapp, .viber_bots, .tiktok, .live_chat) and what they share
-- (client.chatbots) against the sandbox: one flow per channel on the bot
-- and contacts every reset seeds (bot list, contact by id and by tag, a
-- message sent and listed, tags, variables, disabled and deleted
-- contacts), WhatsApp's contacts by phone and Telegram's by telegram_id;
-- what the client refuses before sending and the sandbox when sent.
local sandbox = require "support.sandbox"

local CHANNELS = { "messenger", "instagram", "telegram", "whatsapp", "viber_bots", "tiktok",
                   "live_chat" }

-- a text message in each channel's form
local function message(ch, text)
  if ch == "messenger" then
    return { message = { type = "RESPONSE", content_type = "message", tag = "CUSTOMER_FEEDBACK",
                         text = text } }
  elseif ch == "telegram" then
    return { message = { type = "text", text = text } }
  elseif ch == "whatsapp" then
    return { message = { type = "text", text = { body = text } } }
  elseif ch == "instagram" then
    return { messages = { { type = "text", message = { text = text } } } }
  end
  return { messages = { { type = "text", text = { text = text } } } }
end

local function send(svc, ch, contact, text)
  local args = message(ch, text)
  args.contact_id = contact
  return svc:send_contact_message(args)
end

describe("chatbots #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 0 }
  end)

  after_each(function()
    client:close()
  end)

  for _, ch in ipairs(CHANNELS) do
    it(ch .. ": bot, contacts, a message, tags, variables, disable, delete", function()
      local svc = client[ch]
      local bots = assert(svc:list_bots()).data
      assert.equal(1, #bots)
      local bot = bots[1].id
      assert.matches("^%x+$", bot)
      assert.equal(24, #bot)

      local contacts = assert(svc:get_contacts_by_tag{ bot_id = bot, tag = "sandbox" }).data
      assert.equal(2, #contacts)
      local frodo, sam = contacts[1].id, contacts[2].id
      local one = assert(svc:get_contact{ id = frodo })
      assert.is_true(one.success)
      assert.equal("Frodo", one.data.channel_data.name)
      assert.equal(bot, one.data.bot_id)

      -- a message, then the chat's messages
      local sent = assert(send(svc, ch, frodo, "Hello from the Shire"))
      -- {success, data}, or the message itself (Live Chat)
      assert.is_truthy(sent.success or sent.contact_id == frodo)
      local msgs = assert(svc:get_chat_messages{ contact_id = frodo }).data
      assert.equal(1, #msgs)
      assert.equal(frodo, msgs[1].contact_id)
      assert.equal(2, msgs[1].direction)      -- outgoing
      assert.same({}, assert(svc:get_chat_messages{ contact_id = sam }).data)
      local entry = sandbox.last()
      assert.equal(ch .. ":get_chat_messages", entry.operation)

      -- tags and variables
      assert(svc:set_contact_tag{ contact_id = sam, tags = { "ring", "garden" } })
      assert.equal(sam, assert(svc:get_contacts_by_tag{ bot_id = bot, tag = "ring" }).data[1].id)
      assert(svc:delete_contact_tag{ contact_id = sam, tag = "ring" })
      assert.same({}, assert(svc:get_contacts_by_tag{ bot_id = bot, tag = "ring" }).data)
      local age = { { variable_name = "age", variable_value = 38 } }
      assert(svc:set_contact_variable{ contact_id = sam, variables = age })
      local found = assert(svc:get_contacts_by_variable{ bot_id = bot, variable_name = "age",
                                                         variable_value = "38" }).data
      assert.equal(1, #found)
      assert.equal(sam, found[1].id)
      assert.equal("Shire", assert(svc:get_contact{ id = frodo }).data.variables.city)

      -- a disabled contact takes no message
      assert(svc:disable_contact{ contact_id = frodo })
      local res, err = send(svc, ch, frodo, "Anyone?")
      assert.is_nil(res)
      assert.equal(422, err.status)
      assert(svc:enable_contact{ contact_id = frodo })
      assert(send(svc, ch, frodo, "Back again"))
      assert.equal(2, #assert(svc:get_chat_messages{ contact_id = frodo }).data)

      -- deleted
      assert(svc:delete_contact{ contact_id = sam })
      res, err = svc:get_contact{ id = sam }
      assert.is_nil(res)
      assert.equal(404, err.status)
      res, err = send(svc, ch, sam, "Sam?")
      assert.is_nil(res)
      assert.equal(404, err.status)
      assert.equal(1, #assert(svc:get_contacts_by_tag{ bot_id = bot, tag = "sandbox" }).data)
    end)
  end

  it("chatbots: every channel's bot, and the dialogs with messages", function()
    local bots = assert(client.chatbots:get_bots()).data
    assert.equal(#CHANNELS, #bots)
    local tg = client.telegram
    local bot = assert(tg:list_bots()).data[1].id
    local frodo = assert(tg:get_contacts_by_tag{ bot_id = bot, tag = "vip" }).data[1].id
    assert(send(tg, "telegram", frodo, "Second breakfast?"))
    local dialogs = assert(client.chatbots:get_dialogs{ size = 10 }).data
    assert.equal(1, dialogs.total)
    assert.equal(frodo, dialogs.list[1].contact.id)
    assert.equal("Second breakfast?", dialogs.list[1].last_outbox_message.text)
  end)

  it("whatsapp: contacts created and found by phone, messages by phone", function()
    local wa = client.whatsapp
    local bot = assert(wa:list_bots()).data[1].id
    local created = assert(wa:create_contact{ bot_id = bot, phone = "380931112233",
                                              name = "Bilbo", tags = { "burglar" } }).data
    assert.equal(24, #created.id)
    local found = assert(wa:get_contact_by_phone{ bot_id = bot, phone = "380931112233" }).data
    assert.equal(created.id, found.id)
    assert(wa:send_message_to_contact_by_phone{ bot_id = bot, phone = "380931112233",
                                                message = { type = "text",
                                                            text = { body = "Hi" } } })
    assert.equal(1, #assert(wa:get_chat_messages{ contact_id = created.id }).data)
    local res, err = wa:get_contact_by_phone{ bot_id = bot, phone = "380000000000" }
    assert.is_nil(res)
    assert.equal(404, err.status)
    res, err = wa:create_contact{ bot_id = "65a100000000000000000999", phone = "1" }
    assert.is_nil(res)
    assert.equal(404, err.status)
  end)

  it("telegram: a contact by its telegram_id", function()
    local tg = client.telegram
    local bot = assert(tg:list_bots()).data[1].id
    local frodo = assert(tg:get_contacts_by_tag{ bot_id = bot, tag = "vip" }).data[1]
    local found = assert(tg:get_contact_by_telegram_id{ bot_id = bot,
                                                        telegram_id = tonumber(frodo.telegram_id) })
    assert.equal(frodo.id, found.data.id)
  end)

  it("refuses a missing field before sending; the sandbox refuses it when sent", function()
    sandbox.bad_argument("args.contact_id", function()
      client.telegram:send_contact_message{ message = { type = "text", text = "x" } }
    end, true)
    sandbox.bad_argument("args.tags", function()
      client.whatsapp:set_contact_tag{ contact_id = "65a100000000000000000001" }
    end)
    local res, err = client:request("POST", "/telegram/contacts/send", nil,
                                    { message = { type = "text", text = "x" } })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.equal("The request is invalid: contact_id: required", err.message)
    res, err = client:request("GET", "/telegram/contacts/get")
    assert.is_nil(res)
    assert.equal(400, err.status)
    assert.equal("The request is invalid: id: required", err.message)
    res, err = client:request("POST", "/whatsapp/contacts/setTag", nil,
                              { contact_id = "65a100000000000000000001", tags = "vip" })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches("tags: an array expected, got a string", err.message, 1, true)
  end)
end)
