-- Senders against the sandbox: add, list, activation, delete (a DELETE
-- with a JSON body), free-mail refusals and the seed's codes.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise an error holding `text`, and send nothing.
local raises = sandbox.raises

-- The sandbox's activation code (see sandbox/lua/sandbox/areas/senders.lua).
local CODE = "123456"

describe("senders #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("add_sender posts name and email; senders lists them", function()
    assert.same({}, assert(client:senders()))
    assert.same({ result = true }, assert(client:add_sender("Shire Post", "post@shire.me")))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/senders", req.path)
    assert.same({ name = "Shire Post", email = "post@shire.me" }, json.decode(req.body))

    local list = assert(client:senders())
    assert.equal("GET", sandbox.last().method)
    assert.equal("/senders", sandbox.last().path)
    assert.same({ { name = "Shire Post", email = "post@shire.me",
                    status = "Waiting for activation" } }, list)
  end)

  it("activates a sender with the mailed code; the path escapes the address", function()
    local email = "post+news@shire.me"
    assert(client:add_sender("Shire Post", email))
    assert.same({ result = true }, assert(client:request_sender_activation(email)))
    local req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/senders/post%2Bnews%40shire.me/code", req.path)

    -- a second mail within 15 minutes is refused
    local res, err = client:request_sender_activation(email)
    assert.is_nil(res)
    assert.equal(1004, err.code)
    assert.equal("The activation code has been sent. Wait 15 minutes to retry", err.message)

    res, err = client:activate_sender(email, "000000")
    assert.is_nil(res)
    assert.equal(21, err.code)
    assert.equal("No such email address awaiting activation", err.message)

    assert.same({ result = true }, assert(client:activate_sender(email, tonumber(CODE))))
    req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/senders/post%2Bnews%40shire.me/code", req.path)
    assert.same({ code = CODE }, json.decode(req.body))
    assert.equal("Active", assert(client:senders())[1].status)

    -- active: nothing awaits activation any more
    res, err = client:activate_sender(email, CODE)
    assert.is_nil(res)
    assert.equal(21, err.code)
  end)

  it("delete_sender sends a DELETE with a JSON body", function()
    assert(client:add_sender("A", "a@shire.me"))
    assert(client:add_sender("B", "b@shire.me"))
    assert.same({ result = true }, assert(client:delete_sender("a@shire.me")))
    local req = sandbox.last()
    assert.equal("DELETE", req.method)
    assert.equal("/senders", req.path)
    assert.equal("application/json", req.content_type)
    assert.same({ email = "a@shire.me" }, json.decode(req.body))
    local list = assert(client:senders())
    assert.equal(1, #list)
    assert.equal("b@shire.me", list[1].email)

    local res, err = client:delete_sender("a@shire.me")
    assert.is_nil(res)
    assert.equal(1003, err.code)
    assert.equal("The specified sender doesn’t exist", err.message)
  end)

  it("answers the seed's codes: free mail, duplicates, unknown senders", function()
    local res, err = client:add_sender("Me", "hobbit@gmail.com")
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(20, err.code)
    assert.equal("Using free email services (not allowed)", err.message)

    assert(client:add_sender("Post", "post@shire.me"))
    res, err = client:add_sender("Post again", "POST@shire.me")
    assert.is_nil(res)
    assert.equal(902, err.code)
    assert.equal("Selected email address already in use", err.message)

    res, err = client:request_sender_activation("nobody@shire.me")
    assert.is_nil(res)
    assert.equal(1003, err.code)
    res, err = client:activate_sender("nobody@shire.me", CODE)
    assert.is_nil(res)
    assert.equal(1003, err.code)

    -- what the methods prevent: a missing name, a missing code
    res, err = client:post("/senders", { email = "x@shire.me" })
    assert.is_nil(res)
    assert.equal(901, err.code)
    res, err = client:post(sendpulse.path("senders", "post@shire.me", "code"), {})
    assert.is_nil(res)
    assert.equal(1104, err.code)
  end)

  it("checks arguments before sending anything", function()
    raises("'name' to add_sender (a string expected", function()
      client:add_sender(nil, "a@shire.me")
    end)
    raises("'email' to add_sender (not an email address", function()
      client:add_sender("A", "shire.me")
    end)
    raises("'email' to delete_sender", function()
      client:delete_sender("a b@shire.me")
    end)
    raises("'code' to activate_sender (must not be empty", function()
      client:activate_sender("a@shire.me", "")
    end)
    raises("'code' to activate_sender (an integer expected", function()
      client:activate_sender("a@shire.me", 12.5)
    end)
    raises("'email' to activate_sender", function()
      client:activate_sender(42, CODE)
    end)
    raises("'email' to request_sender_activation", function()
      client:request_sender_activation("")
    end)
  end)
end)
