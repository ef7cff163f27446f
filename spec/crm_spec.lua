-- client.crm against the sandbox: pipelines and their steps, deals on
-- them (created, listed, moved, refused on a wrong step), contacts; what
-- the client refuses before sending and the sandbox refuses when sent
-- anyway; faults, auth, the rate limit and the statistics on these routes.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

describe("crm #sandbox", function()
  local client, crm

  before_each(function()
    client = sandbox.fresh_client()
    crm = client.crm
  end)

  after_each(function()
    client:close()
  end)

  -- a pipeline with two steps: pipeline id, step ids
  local function pipeline(name)
    local p = assert(crm:create_pipeline{ name = name }).data
    local a = assert(crm:create_pipeline_step{ pipelineId = p.id, name = "New",
                                               color = "#000000" }).data
    local b = assert(crm:create_pipeline_step{ pipelineId = p.id, name = "Won" }).data
    return p.id, a.id, b.id
  end

  it("creates, lists, reads, updates pipelines and their steps, and deletes a step", function()
    local created = assert(crm:create_pipeline{ name = "Sales",
                                                settings = { { name = "color", value = "red" } } })
    local id = created.data.id
    assert.is_number(id)
    assert.equal("Sales", created.data.name)
    assert.equal(201, sandbox.last("POST /crm/v1/pipelines").status)

    local step = assert(crm:create_pipeline_step{ pipelineId = id, name = "Lead",
                                                  notifyIn = "1h" }).data
    assert.equal(id, step.pipelineId)
    assert.equal("1h", step.notifyIn)

    local list = assert(crm:get_pipelines()).data
    assert.equal(1, #list)
    assert.equal("Sales", list[1].name)

    local one = assert(crm:get_pipeline_by_id{ pipelineId = id }).data
    assert.equal(1, #one.steps)
    assert.equal("Lead", one.steps[1].name)

    assert.equal("Pipeline", assert(crm:update_pipeline{ pipelineId = id, name = "Pipeline" })
      .data.name)
    assert.equal("Pipeline", assert(crm:get_pipeline_by_id{ pipelineId = id }).data.name)

    local renamed = assert(crm:update_pipeline_step{ pipelineId = id, stepId = step.id,
                                                     name = "Qualified" }).data
    assert.equal("Qualified", renamed.name)
    assert.equal("Qualified", assert(crm:get_pipeline_steps{ pipelineId = id }).data[1].name)

    assert.is_true(crm:delete_pipeline_step{ pipelineId = id, stepId = step.id })
    assert.same({}, assert(crm:get_pipeline_steps{ pipelineId = id }).data)
    local gone, err = crm:update_pipeline_step{ pipelineId = id, stepId = step.id, name = "x" }
    assert.is_nil(gone)
    assert.equal(404, err.status)
    assert.equal("stepId " .. step.id .. " not found", err.message)

    -- the steps of a pipeline that does not exist
    local _, e2 = crm:get_pipeline_steps{ pipelineId = 999 }
    assert.equal(404, e2.status)
  end)

  it("creates deals on a step, lists them by pipeline, moves them, deletes them", function()
    local p1, new, won = pipeline("Sales")
    local p2, other = pipeline("Support")
    local deal = assert(crm:create_deal{ pipelineId = p1, stepId = new, name = "Ring",
                                         price = 250, currency = "EUR" }).data
    assert.equal(new, deal.stepId)
    assert.equal(250, deal.price)
    for i = 1, 3 do
      assert(crm:create_deal{ pipelineId = p1, stepId = new, name = "Deal " .. i })
    end
    assert(crm:create_deal{ pipelineId = p2, stepId = other, name = "Elsewhere" })

    assert.equal("Ring", assert(crm:get_deal{ dealId = deal.id }).data.name)

    local page = assert(crm:get_deals_list{ pipelineIds = { p1 }, limit = 2, offset = 1 })
    assert.equal(4, page.meta.total)
    assert.equal(2, #page.data)
    assert.equal("Deal 1", page.data[1].name)
    local all = {}
    for d in crm:each_deal{ pipelineIds = { p1 } } do
      all[#all + 1] = d.name
    end
    assert.same({ "Ring", "Deal 1", "Deal 2", "Deal 3" }, all)
    assert.equal(1, #assert(crm:get_deals_list{ name = "ring" }).data)

    -- moved to the next step (PUT), then to the other pipeline
    local moved = assert(crm:update_deal_by_id{ dealId = deal.id, name = "Ring", price = 300,
                                                status = 1, pipelineId = p1, stepId = won }).data
    assert.equal(won, moved.stepId)
    assert.equal(300, moved.price)
    assert.equal(won, assert(crm:get_deal{ dealId = deal.id }).data.stepId)
    assert(crm:change_deal_pipeline{ dealId = deal.id, pipelineId = p2, stepId = other })
    local now = assert(crm:get_deal{ dealId = deal.id }).data
    assert.equal(p2, now.pipelineId)
    assert.equal(other, now.stepId)

    -- to a step of another pipeline, to no pipeline
    local res, err = crm:change_deal_pipeline{ dealId = deal.id, pipelineId = p1, stepId = other }
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches("stepId: no step " .. other .. " in pipeline " .. p1, err.message, 1, true)
    res, err = crm:create_deal{ pipelineId = 777, stepId = new, name = "Lost" }
    assert.is_nil(res)
    assert.equal(404, err.status)
    -- a step with deals stays
    res, err = crm:delete_pipeline_step{ pipelineId = p2, stepId = other }
    assert.is_nil(res)
    assert.equal(422, err.status)

    assert.is_true(crm:delete_deal{ dealId = deal.id })
    res, err = crm:get_deal{ dealId = deal.id }
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal("api", err.kind)
    assert.equal(404, err.code)
  end)

  it("creates, finds, updates and deletes contacts, and the deals they are on", function()
    local ids = {}
    for i, name in ipairs{ "Frodo", "Sam", "Merry" } do
      local c = assert(crm:create_contact{ firstName = name, lastName = "Hobbit",
                                           responsibleId = 7,
                                           -- a string here, an integer in the path below
                                           -- (so the spec types them)
                                           externalContactId = tostring(1000 + i) })
      ids[i] = c.data.id
    end
    assert.equal("Frodo", assert(crm:get_contact_by_id{ contactId = ids[1] }).data.firstName)
    assert.equal(ids[2], assert(crm:get_contact_by_external_id{ externalContactId = 1002 })
      .data.id)

    local list = assert(crm:get_contacts_list{ limit = 2, offset = 0 }).data
    assert.equal(3, list.total)
    assert.equal(2, #list.list)
    assert.same({ "Sam" }, (function()
      local out = {}
      for _, c in ipairs(assert(crm:get_contacts_list{ firstName = "sa" }).data.list) do
        out[#out + 1] = c.firstName
      end
      return out
    end)())
    assert.equal(1, assert(crm:get_contacts_list{ ids = { ids[3] } }).data.total)

    assert.equal("Samwise", assert(crm:update_contact{ contactId = ids[2], firstName = "Samwise",
                                                       responsibleId = 7 }).data.firstName)
    assert.equal("Samwise", assert(crm:get_contact_by_id{ contactId = ids[2] }).data.firstName)

    local p, step = pipeline("Quests")
    local deal = assert(crm:create_deal{ pipelineId = p, stepId = step, name = "Ring",
                                         contact = { ids[1] } }).data
    local other = assert(crm:create_deal{ pipelineId = p, stepId = step, name = "Garden" }).data
    assert(crm:add_contact_to_deal{ dealId = other.id, contactId = ids[1] })
    local deals = assert(crm:get_contact_deals{ contactId = ids[1] }).data
    assert.equal(2, #deals)
    assert.equal(1, #assert(crm:get_deal_contacts{ dealId = other.id }).data)
    assert.is_true(crm:remove_deal_contact{ dealId = other.id, contactId = ids[1] })
    assert.equal(1, #assert(crm:get_contact_deals{ contactId = ids[1] }).data)
    assert.equal(deal.id, assert(crm:get_contact_deals{ contactId = ids[1] }).data[1].id)

    assert.is_true(crm:delete_contact_by_id{ contactId = ids[3] })
    local res, err = crm:get_contact_by_id{ contactId = ids[3] }
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal(2, assert(crm:get_contacts_list{}).data.total)
  end)

  it("refuses a missing field before sending; the sandbox refuses it when sent", function()
    sandbox.bad_argument("args.pipelineId", function()
      crm:create_deal{ stepId = 1, name = "Ring" }
    end, true)
    sandbox.bad_argument("args.dealId", function() crm:get_deal{} end)
    sandbox.bad_argument("args.price", function() crm:create_deal{ pipelineId = 1, stepId = 1,
                                                                  price = "ten" } end)
    -- the same requests sent raw
    local res, err = client:request("POST", "/crm/v1/deals", nil, { stepId = 1, name = "Ring" })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.equal(422, err.code)
    assert.equal("The request is invalid: pipelineId: required", err.message)
    assert.same({ pipelineId = { "required" } }, sendpulse.json.decode(err.body).errors)
    res, err = client:request("POST", "/crm/v1/deals", nil, { pipelineId = 1, stepId = 1,
                                                             price = "ten" })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches("price: a number expected", err.message, 1, true)
    res, err = client:request("GET", "/crm/v1/deals/ring")
    assert.is_nil(res)
    assert.equal(400, err.status)
    assert.equal('The request is invalid: dealId: an integer expected, got "ring"', err.message)
    res, err = client:request("POST", "/crm/v1/pipelines/1/steps", nil, { color = "blue" })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches('color: one of "#000000" or "black" expected, got "blue"', err.message, 1, true)
  end)

  it("goes through faults, auth, the rate limit and the statistics as every route", function()
    sandbox.fault{ path = "/crm/v1/pipelines", method = "POST", status = 503,
                   body = { error_code = 503, message = "down" } }
    local noretry = sandbox.client{ max_retries = 0 }
    local res, err = noretry.crm:create_pipeline{ name = "A" }
    assert.is_nil(res)
    assert.equal(503, err.status)
    assert(noretry.crm:create_pipeline{ name = "B" })
    local stats = sandbox.stats()
    assert.equal(1, stats.faults_applied)
    assert.equal(2, stats.requests["POST /crm/v1/pipelines"])
    local entry = sandbox.last("POST /crm/v1/pipelines")
    assert.equal("crm:create_pipeline", entry.operation)
    assert.equal(201, entry.status)

    local stranger = sandbox.client{ api_key = "not-a-key", max_retries = 0 }
    res, err = stranger.crm:get_pipelines()
    assert.is_nil(res)
    assert.equal(401, err.status)
    stranger:close()

    -- the per-second limit: two admitted, then 429 (counted) while the
    -- second is still within it
    sandbox.reset{ rate_limit = 2 }
    local keyed = sandbox.client{ api_key = sandbox.api_key, max_retries = 0 }
    local statuses, rejected = {}, 0
    for i = 1, 5 do
      local _, e = keyed.crm:get_pipelines()
      statuses[i] = e and e.status or 200
      rejected = rejected + (statuses[i] == 429 and 1 or 0)
    end
    keyed:close()
    noretry:close()
    assert.same({ 200, 200 }, { statuses[1], statuses[2] })
    assert.is_true(rejected >= 1, table.concat(statuses, " "))
    assert.equal(rejected, sandbox.stats().limits.rejected_per_second)
  end)
end)
