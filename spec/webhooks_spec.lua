-- Webhooks (the /v2 email service) against the sandbox: results mirror the
-- `{success, data}` envelope.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise an error holding `text`, and send nothing.
local raises = sandbox.raises

local HOOK = "https://example.com/sendpulse/hook"

describe("webhooks #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("create_webhook posts url and actions to the trailing-slash path", function()
    local res = assert(client:create_webhook(HOOK, { "open", "redirect" }))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/v2/email-service/webhook", req.path)
    assert.same({ url = HOOK, actions = { "open", "redirect" } }, json.decode(req.body))
    assert.is_true(res.success)
    assert.equal(2, #res.data)
    assert.equal("open", res.data[1].action)
    assert.equal("redirect", res.data[2].action)
    assert.equal(HOOK, res.data[1].url)
    assert.is_number(res.data[1].id)
    assert.equal(7043663, res.data[1].user_id)
  end)

  it("webhooks and webhook mirror the {success, data} envelope", function()
    local empty = assert(client:webhooks())
    assert.same({ success = true, data = {} }, empty)
    assert.equal('[]', json.encode(empty.data))
    local created = assert(client:create_webhook(HOOK, { "spam", "unsubscribe" })).data

    local all = assert(client:webhooks())
    assert.equal("GET", sandbox.last().method)
    assert.equal("/v2/email-service/webhook", sandbox.last().path)
    assert.same({ success = true, data = created }, all)

    local one = assert(client:webhook(created[2].id))
    assert.equal("/v2/email-service/webhook/" .. created[2].id, sandbox.last().path)
    assert.same({ success = true, data = created[2] }, one)
  end)

  it("update_webhook PUTs the new url; delete_webhook removes it", function()
    local id = assert(client:create_webhook(HOOK, { "open" })).data[1].id
    local res = assert(client:update_webhook(id, "https://example.com/other"))
    local req = sandbox.last()
    assert.equal("PUT", req.method)
    assert.equal("/v2/email-service/webhook/" .. id, req.path)
    assert.same({ url = "https://example.com/other" }, json.decode(req.body))
    assert.same({ success = true, data = { true } }, res)
    assert.equal("https://example.com/other", assert(client:webhook(id)).data.url)

    assert.same({ success = true, data = { true } }, assert(client:delete_webhook(id)))
    assert.equal("DELETE", sandbox.last().method)
    assert.equal("/v2/email-service/webhook/" .. id, sandbox.last().path)
    assert.same({}, assert(client:webhooks()).data)

    local gone, err = client:webhook(id)
    assert.is_nil(gone)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal("Webhook not found", err.message)
    assert.is_false(json.decode(err.body).success)
    gone, err = client:delete_webhook(id)
    assert.is_nil(gone)
    assert.equal(404, err.status)
  end)

  it("the service refuses unknown actions with 422 and its errors", function()
    local res, err = client:create_webhook(HOOK, { "open", "teleport" })
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(422, err.status)
    assert.equal("The given data was invalid.", err.message)
    local body = json.decode(err.body)
    assert.is_false(body.success)
    assert.is_table(body.errors.actions)
    assert.same({}, assert(client:webhooks()).data)    -- nothing created
  end)

  it("checks arguments before sending anything", function()
    raises("'url' to create_webhook (an http(s) URL expected", function()
      client:create_webhook("example.com/hook", { "open" })
    end)
    raises("'url' to create_webhook (a string expected", function()
      client:create_webhook(nil, { "open" })
    end)
    raises("'actions' to create_webhook (must not be empty", function()
      client:create_webhook(HOOK, {})
    end)
    raises("'actions' to create_webhook (a list expected", function()
      client:create_webhook(HOOK, "open")
    end)
    raises("'actions[2]' to create_webhook", function()
      client:create_webhook(HOOK, { "open", 3 })
    end)
    raises("'url' to update_webhook", function()
      client:update_webhook(1, "ftp://example.com")
    end)
    raises("'id' to update_webhook", function()
      client:update_webhook("1", HOOK)
    end)
    raises("'id' to webhook", function()
      client:webhook(0)
    end)
    raises("'id' to delete_webhook", function()
      client:delete_webhook(nil)
    end)
  end)
end)
