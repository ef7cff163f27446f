-- Viber campaign methods against the sandbox.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise an error holding the text, and send nothing.
local refuses = sandbox.raises

-- A valid campaign, with fields changed (sandbox.NONE removes one).
local function campaign(extra)
  return sandbox.merge({ task_name = "Promo", message_type = 2, sender_id = 2222,
                         message_live_time = 3600, message = "Hello from the Shire",
                         recipients = { "380931111111" } }, extra)
end

describe("viber #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("create_viber_campaign sends recipients as numbers and send_date now", function()
    local res = assert(client:create_viber_campaign(campaign{
      recipients = { "380931111111", 380931111112, "+380931111113" },
      additional = { button = { text = "Shop", link = "https://shire.example" },
                     resend_sms = { status = true, sms_text = "Hello",
                                    sms_sender_name = "iQA" } },
    }))
    assert.is_true(res.result)
    assert.equal(9380001, res.data.task_id)
    assert.equal("3600", res.data.message_live_time)     -- a string, as the API sends it
    assert.equal("Shop", res.data.button_text)
    assert.equal(1, res.data.resend_sms)

    local req = sandbox.last("POST /viber")
    assert.matches('"recipients":[380931111111,380931111112,380931111113]', req.body, 1, true)
    local sent = json.decode(req.body)
    assert.equal("now", sent.send_date)
    assert.equal(2, sent.message_type)
    assert.equal(2222, sent.sender_id)
    assert.equal("Promo", sent.task_name)
    assert.is_nil(sent.address_book)

    local recipients = assert(client:viber_campaign_recipients(res.data.task_id))
    assert.equal(res.data.task_id, recipients.task_id)
    assert.equal(3, #recipients.recipients)
    assert.equal(380931111112, recipients.recipients[2].phone)
    assert.equal("send", recipients.recipients[2].status)
  end)

  it("sends to a mailing list's phones", function()
    local book = assert(client:create_address_book("Viber friends")).id
    assert(client:sms_add_phones(book, { "380931111111", "380931111112" }))
    local res = assert(client:create_viber_campaign(campaign{
      recipients = sandbox.NONE, address_book = book, send_date = "2030-02-03 04:05:06",
    }))
    local sent = sandbox.last_body("POST /viber")
    assert.equal(book, sent.address_book)
    assert.is_nil(sent.recipients)
    assert.equal("2030-02-03 04:05:06", sent.send_date)
    local recipients = assert(client:viber_campaign_recipients(res.data.task_id)).recipients
    assert.equal(2, #recipients)
    assert.equal(book, recipients[1].address_book_id)
    assert.equal("scheduled", recipients[1].status)

    local empty = assert(client:create_address_book("nobody")).id
    local none, err = client:create_viber_campaign(campaign{ recipients = sandbox.NONE,
                                                             address_book = empty })
    assert.is_nil(none)
    assert.equal(211, err.code)
  end)

  it("checks the campaign before sending anything", function()
    refuses("'campaign.task_name' to create_viber_campaign",
            function() client:create_viber_campaign(campaign{ task_name = "" }) end)
    refuses("'campaign.message_type' to create_viber_campaign (2 (promotional) or 3",
            function() client:create_viber_campaign(campaign{ message_type = 4 }) end)
    refuses("'campaign.message_live_time' to create_viber_campaign (must be at least 60)",
            function() client:create_viber_campaign(campaign{ message_live_time = 30 }) end)
    refuses("'campaign.message_live_time' to create_viber_campaign (at most 86400",
            function() client:create_viber_campaign(campaign{ message_live_time = 90000 }) end)
    -- bounds of the spec
    refuses("'campaign.stretch_time' to create_viber_campaign (at most 5 expected, got 6)",
            function() client:create_viber_campaign(campaign{ stretch_time = 6 }) end)
    refuses("'campaign.message' to create_viber_campaign (at most 1000 characters",
            function() client:create_viber_campaign(campaign{ message = ("ж"):rep(1001) }) end)
    refuses("'campaign' to create_viber_campaign (address_book or recipients expected, not both)",
            function() client:create_viber_campaign(campaign{ address_book = 1 }) end)
    refuses("'campaign' to create_viber_campaign (address_book or recipients expected)",
            function() client:create_viber_campaign(campaign{ recipients = sandbox.NONE }) end)
    refuses("'campaign.recipients[2]' to create_viber_campaign",
            function()
              client:create_viber_campaign(campaign{ recipients = { "380931111111", "phone" } })
            end)
    local many = {}
    for i = 1, 1001 do
      many[i] = tostring(380930000000 + i)
    end
    refuses("'campaign.recipients' to create_viber_campaign (at most 1000",
            function() client:create_viber_campaign(campaign{ recipients = many }) end)
    refuses("'campaign.send_date' to create_viber_campaign",
            function() client:create_viber_campaign(campaign{ send_date = "later" }) end)
    refuses("'campaign' to create_viber_campaign (unknown field 'button')",
            function() client:create_viber_campaign(campaign{ button = {} }) end)
    refuses("'campaign.additional.image.link' to create_viber_campaign",
            function() client:create_viber_campaign(campaign{ additional = { image = {} } }) end)
    refuses("'campaign.message' to create_viber_campaign",
            function() client:create_viber_campaign(campaign{ message = sandbox.NONE }) end)
  end)

  it("reports a sender that is not verified", function()
    local res, err = client:create_viber_campaign(campaign{ sender_id = 4501 })
    assert.is_nil(res)
    assert.equal(1003, err.code)
  end)

  it("updates a scheduled campaign with main_task_id and the fields given", function()
    local id = assert(client:create_viber_campaign(campaign{
      send_date = "2030-01-01 10:00:00" })).data.task_id
    local res = assert(client:update_viber_campaign(id, {
      message = "Hello again", send_date = "2030-01-02 10:00:00" }))
    assert.is_true(res.result)
    assert.same({ main_task_id = id, message = "Hello again",
                  send_date = "2030-01-02 10:00:00" },
                sandbox.last_body("POST /viber/update"))
    local c = assert(client:viber_campaign(id))
    assert.equal("Hello again", c.message)
    assert.equal("2030-01-02 10:00:00", c.send_date)
    assert.equal("Promo", c.name)

    local now = assert(client:create_viber_campaign(campaign())).data.task_id
    local again, err = client:update_viber_campaign(now, { message = "late" })
    assert.is_nil(again)
    assert.equal(602, err.code)
    local _, err2 = client:update_viber_campaign(123, { message = "x" })
    assert.equal(802, err2.code)
    refuses("'campaign' to update_viber_campaign (nothing to change)",
            function() client:update_viber_campaign(id, {}) end)
    refuses("'id' to update_viber_campaign",
            function() client:update_viber_campaign(nil, { message = "x" }) end)
  end)

  it("lists one page and iterates over every campaign", function()
    for i = 1, 5 do
      assert(client:create_viber_campaign(campaign{ task_name = "Promo " .. i }))
    end
    local page = assert(client:viber_campaigns{ limit = 2, offset = 1 })
    assert.equal(2, #page)
    assert.equal("Promo 2", page[1].name)
    assert.equal("Foxkids", page[1].sender_name)
    assert.equal("limit=2&offset=1", sandbox.last("GET /viber/task").query)

    local before = sandbox.count("GET /viber/task")
    local names = {}
    for c, err in client:each_viber_campaign{ limit = 2 } do
      assert(c, err)
      names[#names + 1] = c.name
    end
    assert.same({ "Promo 1", "Promo 2", "Promo 3", "Promo 4", "Promo 5" }, names)
    assert.equal(3, sandbox.count("GET /viber/task") - before)

    local n = 0
    for _ in client:each_viber_campaign{ max = 2 } do
      n = n + 1
    end
    assert.equal(2, n)
    refuses("'opts.limit' to viber_campaigns", function() client:viber_campaigns{ limit = 0 } end)
  end)

  it("shows a campaign with its statistics", function()
    local id = assert(client:create_viber_campaign(campaign())).data.task_id
    local c = assert(client:viber_campaign(id))
    assert.equal(id, c.id)
    assert.same({ sent = 1, delivered = 1, read = 0, redirected = 0, undelivered = 0,
                  errors = 0 }, c.statistic)
    assert.equal("/viber/task/" .. id, sandbox.last("GET /viber/task/" .. id).path)
    local none, err = client:viber_campaign(id + 1)
    assert.is_nil(none)
    assert.equal(802, err.code)
    assert.equal(404, err.status)
  end)

  it("lists the senders and shows one", function()
    local senders = assert(client:viber_senders())
    assert.equal(3, #senders)
    assert.equal(2222, senders[1].id)
    assert.same({ "UA" }, senders[1].countries)
    assert.equal(sendpulse.null, senders[1].admin_comment)
    local one = assert(client:viber_sender(4495))
    assert.equal("ShireNews", one.name)
    assert.equal("verified", one.status)
    local none, err = client:viber_sender(1)
    assert.is_nil(none)
    assert.equal(404, err.status)
    refuses("'id' to viber_sender", function() client:viber_sender("4495") end)
  end)
end)
