-- What the sandbox's generated layer (sandbox/lua/sandbox/generic.lua)
-- does for every operation no area takes over, shown on CRM objects no
-- flow of its own covers: companies (and their nested emails), task tags
-- and products: created with a new id, listed with the paging shape of
-- the spec, read, updated, deleted and then 404; the spec's example answer
-- for an action; 400 for a bad path or query value, 422 for a bad body,
-- on any service; what it serves (GET /__sandbox/operations).
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

describe("the sandbox's generated operations #sandbox", function()
  local client, crm

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 0 }
    crm = client.crm
  end)

  after_each(function()
    client:close()
  end)

  it("create -> list -> get -> update -> delete -> 404: companies", function()
    local ids = {}
    for i, name in ipairs{ "Bag End Ltd", "Green Dragon", "Prancing Pony" } do
      local c = assert(crm:create_company{ companyName = name, annualBusinessVolume = i * 100 })
      assert.is_number(c.data.id)
      assert.equal(name, c.data.companyName)
      ids[i] = c.data.id
    end
    assert.is_true(ids[1] < ids[2] and ids[2] < ids[3])

    local page = assert(crm:get_companies_list{ limit = 2, offset = 1 })
    assert.equal(3, page.metadata.total)
    assert.same({ "Green Dragon", "Prancing Pony" },
                { page.data[1].companyName, page.data[2].companyName })
    local all = {}
    for c in crm:each_company({}, { limit = 1 }) do
      all[#all + 1] = c.id
    end
    assert.same(ids, all)

    local one = assert(crm:get_company_by_id{ companyId = ids[2] }).data
    assert.equal(200, one.annualBusinessVolume)
    assert.is_string(one.createdAt)

    local updated = assert(crm:update_company{ companyId = ids[2], companyName = "The Dragon" })
    assert.equal("The Dragon", updated.data.companyName)
    assert.equal(200, updated.data.annualBusinessVolume)   -- kept
    assert.equal("The Dragon", assert(crm:get_company_by_id{ companyId = ids[2] })
      .data.companyName)

    -- a nested collection: the company's emails
    local email = assert(crm:create_company_email{ companyId = ids[1],
                                                   data = { email = "bilbo@bagend.example",
                                                            isMain = true } }).data
    assert.equal("bilbo@bagend.example", email.email)
    local emails = assert(crm:get_company_emails{ companyId = ids[1] }).data
    assert.equal(1, #emails)
    assert.same({}, assert(crm:get_company_emails{ companyId = ids[3] }).data)

    assert.is_true(crm:delete_company{ companyId = ids[2] })
    assert.equal(204, sandbox.last().status)
    local res, err = crm:get_company_by_id{ companyId = ids[2] }
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal("companyId " .. ids[2] .. " not found", err.message)
    assert.is_false(sendpulse.json.decode(err.body).success)
    res, err = crm:update_company{ companyId = ids[2], companyName = "x" }
    assert.is_nil(res)
    assert.equal(404, err.status)
    res, err = crm:delete_company{ companyId = ids[2] }
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal(2, assert(crm:get_companies_list{ limit = 10, offset = 0 }).metadata.total)
  end)

  it("create -> list -> update -> delete: task tags and products", function()
    local tag = assert(crm:create_task_tag{ name = "urgent", color = "#ff0000" }).data
    assert.equal("urgent", assert(crm:get_task_tags()).data[1].name)
    assert.equal("later", assert(crm:update_task_tag{ tagId = tag.id, name = "later" }).data.name)
    assert.is_true(crm:delete_task_tag{ tagId = tag.id })
    assert.same({}, assert(crm:get_task_tags()).data)

    local product = assert(crm:create_product{ name = "Pipe-weed", productType = 1,
                                               vendorCode = "LB-1" }).data
    assert.equal("Pipe-weed", assert(crm:get_product_by_id{ productId = product.id }).data.name)
    assert.is_true(crm:delete_product{ productId = product.id })
    local res, err = crm:get_product_by_id{ productId = product.id }
    assert.is_nil(res)
    assert.equal(404, err.status)
  end)

  it("answers an action with the spec's example", function()
    -- GET /crm/v1/users: nothing the API lets one create; the example's shape
    local users = assert(crm:get_users())
    assert.is_table(users.data)
    assert.is_true(assert(client.telegram:get_account()).success)
    local size = assert(client.files:get_directory_size())
    assert.equal(0, size.fileCount)
  end)

  it("refuses bad path and query values (400) and bodies (422) on every service", function()
    local cases = {
      { "GET", "/crm/v1/companies/acme", nil, nil, 400, "companyId: an integer expected" },
      { "GET", "/chatbots/dialogs", { order = "sideways" }, nil, 400,
        'order: one of "asc" or "desc" expected, got "sideways"' },
      { "GET", "/telegram/bots", { size = "many" }, nil, 400, "size: an integer expected" },
      { "PUT", "/crm/v1/companies/1", nil, { annualBusinessVolume = "lots" }, 422,
        "annualBusinessVolume: an integer expected" },
      { "POST", "/whatsapp/contacts", nil, { phone = "380931112233" }, 422, "bot_id: required" },
      { "POST", "/edu/public/v1/students", nil, { email = 5 }, 422, "email: a string expected" },
      { "POST", "/viber/chatbots/contacts/setTag", nil, { contact_id = "x" }, 422,
        "tags: required" },
    }
    for _, c in ipairs(cases) do
      local res, err = client:request(c[1], c[2], c[3], c[4])
      assert.is_nil(res, c[2])
      assert.equal(c[5], err.status, c[2])
      assert.equal(c[5], err.code, c[2])
      assert.matches(c[6], err.message, 1, true)
      local body = sendpulse.json.decode(err.body)
      assert.is_false(body.success)
      assert.is_table(body.errors)
    end
    -- a body that is not JSON at all
    local res, err = client:request("POST", "/crm/v1/companies", nil, { "not", "an", "object" })
    assert.is_nil(res)
    assert.equal(422, err.status)
  end)

  it("says what it serves", function()
    local served = sandbox.admin("GET", "/operations").services
    assert.equal(191, served.crm.operations)
    assert.equal(39, served.telegram.operations)
    assert.is_true(served.crm.ops.create_deal.hand_written)
    assert.equal("create", served.crm.ops.create_company.kind)
    assert.is_false(served.crm.ops.create_company.hand_written)
    assert.is_true(served.crm.ops.get_pipelines.list_not_in_spec)
  end)
end)
