-- Automation 360 methods against the sandbox: events and statistics.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise an error holding the text, and send nothing.
local refuses = sandbox.raises

-- The sandbox's seeded flow "Abandoned cart" and its blocks.
local FLOW = 281013
local BLOCKS = {
  ["main-trigger"] = 467510, email = 467511, push = 486649, sms = 486657,
  messenger = 486658, filter = 486660, trigger = 486661, goal = 267510, action = 486663,
}

describe("automation 360 #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  describe("start_event", function()
    it("posts a flat JSON object to the escaped event slug", function()
      local res = assert(client:start_event("order paid/ü+vip", {
        email = "frodo+ring@shire.me", order_id = 1234, total = 9.5, gift = true,
        products = { { name = "Ring", price = 1 }, { name = "Cloak", price = 8.5 } },
      }))
      assert.same({ result = true }, res)
      local req = sandbox.last()
      assert.equal("POST", req.method)
      assert.equal("/events/name/order%20paid%2F%C3%BC%2Bvip", req.path)
      assert.equal("application/json", req.content_type)
      assert.same({ email = "frodo+ring@shire.me", order_id = 1234, total = 9.5, gift = true,
                    products = { { name = "Ring", price = 1 }, { name = "Cloak", price = 8.5 } } },
                  json.decode(req.body))
    end)

    it("sends automation_id at the top level and a phone as a string", function()
      assert(client:start_event("abandoned_cart", { phone = "380501234567",
                                                    automation_id = FLOW }))
      local sent = sandbox.last_body()
      assert.same({ phone = "380501234567", automation_id = FLOW }, sent)
      assert.matches('"phone":"380501234567"', sandbox.last().body, 1, true)

      local res, err = client:start_event("abandoned_cart", { email = "a@shire.me",
                                                              automation_id = 1 })
      assert.is_nil(res)
      assert.equal(404, err.status)
      local res2, err2 = client:start_event("signup", { email = "a@shire.me",
                                                        automation_id = FLOW })
      assert.is_nil(res2)
      assert.equal(404, err2.status)
    end)

    it("needs an email or a phone as a string, and raises before sending", function()
      refuses("'variables' to start_event (an email or a phone (a string) is required)",
              function() client:start_event("signup", { name = "Frodo" }) end)
      refuses("'variables.phone' to start_event (a string expected, got number)",
              function() client:start_event("signup", { phone = 380501234567 }) end)
      refuses("'variables.email' to start_event (not an email address",
              function() client:start_event("signup", { email = "frodo.shire.me" }) end)
      refuses("'variables.phone' to start_event (a phone number (digits) expected",
              function() client:start_event("signup", { phone = "call me" }) end)
      refuses("'variables.automation_id' to start_event (an integer expected, got a string)",
              function()
                client:start_event("signup", { email = "a@shire.me", automation_id = "281014" })
              end)
      refuses("'variables' to start_event (a flat object with string keys expected",
              function() client:start_event("signup", { "a@shire.me" }) end)
      refuses("'variables.cb' to start_event (a string, number, boolean or table expected",
              function() client:start_event("signup", { email = "a@shire.me", cb = print }) end)
      refuses("'slug' to start_event (must not be empty)",
              function() client:start_event("", { email = "a@shire.me" }) end)
      refuses("'variables' to start_event (a table expected",
              function() client:start_event("signup") end)
    end)
  end)

  describe("statistics", function()
    it("count the flows started by events and the goals reached", function()
      assert(client:start_event("abandoned_cart", { email = "frodo@shire.me",
                                                    phone = "380501234567" }))
      assert(client:start_event("abandoned_cart", { email = "sam@shire.me" }))
      assert(client:start_event("purchase", { email = "frodo@shire.me", total = 10 }))
      assert(client:start_event("purchase", { email = "merry@shire.me" }))  -- never started

      local flow = assert(client:automation_flow(FLOW))
      assert.equal("/a360/autoresponders/" .. FLOW, sandbox.last().path)
      assert.equal(FLOW, flow.autoresponder.id)
      assert.equal("Abandoned cart", flow.autoresponder.name)
      assert.equal(2, flow.starts)
      assert.equal(3, flow.send_messages)        -- two emails, one SMS
      assert.equal(1, flow.conversions)
      assert.equal(9, #flow.flows)
      assert.equal("maintrigger", flow.flows[1].af_type)
      assert.equal(sendpulse.null, flow.flows[1].task)

      local email = assert(client:automation_block_stats("email", BLOCKS.email)).data
      assert.equal("/a360/stats/email/" .. BLOCKS.email .. "/group-stat", sandbox.last().path)
      assert.equal(BLOCKS.email, email.flow_id)
      assert.equal(2, email.sent)
      assert.equal("You left something behind", email.task.message_title)
      assert.equal(1, assert(client:automation_block_stats("sms", BLOCKS.sms)).data.sent)
      assert.equal(2, assert(client:automation_block_stats("main-trigger",
                                                           BLOCKS["main-trigger"])).data.executed)
      assert.equal(1, assert(client:automation_block_stats("goal", BLOCKS.goal)).data.executed)

      local conv = assert(client:automation_conversions(FLOW)).data
      assert.equal("/a360/autoresponders/" .. FLOW .. "/conversions", sandbox.last().path)
      assert.equal(1, conv.total_conversions)
      assert.equal(1, conv.goal_conversions)
      assert.equal("purchase", conv.goals[1].name)
      assert.equal(BLOCKS["main-trigger"], conv.maintrigger.id)

      local contacts = assert(client:automation_conversion_contacts(FLOW))
      assert.equal("/a360/autoresponders/" .. FLOW .. "/conversions/list/all",
                   sandbox.last().path)
      assert.equal(1, contacts.total)
      assert.equal("frodo@shire.me", contacts.items[1].email)
      assert.equal("goal", contacts.items[1].conversion_type)
      assert.equal(BLOCKS.goal, contacts.items[1].flow_id)
    end)

    it("reach every kind of block and report unknown ones", function()
      for kind, id in pairs(BLOCKS) do
        local stats = assert(client:automation_block_stats(kind, id))
        assert.equal(id, stats.data.flow_id)
        assert.equal("/a360/stats/" .. kind .. "/" .. id .. "/group-stat", sandbox.last().path)
      end
      local res, err = client:automation_block_stats("sms", BLOCKS.email)
      assert.is_nil(res)
      assert.equal(404, err.status)
      refuses("'kind' to automation_block_stats (one of main-trigger",
              function() client:automation_block_stats("sms-block", 1) end)
      refuses("'block_id' to automation_block_stats",
              function() client:automation_block_stats("sms") end)
    end)

    it("report an unknown flow", function()
      for _, method in ipairs{ "automation_flow", "automation_conversions",
                               "automation_conversion_contacts" } do
        local res, err = client[method](client, 1)
        assert.is_nil(res)
        assert.equal(404, err.status)
        refuses("'id' to " .. method, function() client[method](client, "281013") end)
      end
      local empty = assert(client:automation_conversion_contacts(281014))
      assert.equal(0, empty.total)
      assert.same({}, empty.items)
    end)
  end)
end)
