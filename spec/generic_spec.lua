-- The generic verbs reach any endpoint: an address-book round trip.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

describe("generic verbs #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("POST, GET, PUT and DELETE an address book", function()
    local created = assert(client:post("/addressbooks", { bookName = "Hobbits" }))
    assert.is_number(created.id)
    local path = sendpulse.path("addressbooks", created.id)
    assert.equal("/addressbooks/" .. created.id, path)   -- an integer id

    local one = assert(client:get(path))
    assert.equal(1, #one)                  -- the API's one-element array
    assert.equal("Hobbits", one[1].name)

    assert.same({ result = true }, assert(client:put(path, { name = "Shire" })))
    assert.equal("Shire", assert(client:get(path))[1].name)

    assert.same({ result = true }, assert(client:delete(path)))
    local gone, err = client:get(path)
    assert.is_nil(gone)
    assert.equal("api", err.kind)
    assert.equal(213, err.code)
    assert.equal("Mailing list not found", err.message)
  end)

  it("encodes query parameters (limit/offset)", function()
    for i = 1, 5 do
      assert(client:post("/addressbooks", { bookName = "book " .. i }))
    end
    local page = assert(client:get("/addressbooks", { limit = 2, offset = 1 }))
    assert.equal(2, #page)
    assert.equal("book 2", page[1].name)
    assert.equal("book 3", page[2].name)
    assert.equal("limit=2&offset=1", sandbox.last().query)
    local empty = assert(client:get("/addressbooks", { offset = 100 }))
    assert.same({}, empty)
    assert.equal("[]", sendpulse.json.encode(empty))
  end)

  it("sends JSON bodies, including DELETE with a body", function()
    local id = assert(client:post("/addressbooks", { bookName = "list" })).id
    local emails = sendpulse.path("addressbooks", id, "emails")
    assert(client:post(emails, { emails = {
      { email = "frodo@shire.me", variables = { name = "Frodo" } },
      { email = "sam+garden@shire.me", variables = { name = "Sam" } },
    } }))
    assert.equal("application/json", sandbox.last().content_type)
    local sent = sandbox.last_body()
    assert.equal("sam+garden@shire.me", sent.emails[2].email)

    local listed = assert(client:get(emails, { limit = 10, offset = 0 }))
    assert.equal(2, #listed)
    assert.equal("Frodo", listed[1].variables.name)

    local info = assert(client:get(sendpulse.path("addressbooks", id, "emails",
                                                  "sam+garden@shire.me")))
    assert.equal("sam+garden@shire.me", info.email)

    assert(client:delete(emails, { emails = { "frodo@shire.me" } }))
    assert.equal("DELETE", sandbox.last().method)
    assert.same({ emails = { "frodo@shire.me" } }, sandbox.last_body())
    assert.equal(1, assert(client:get(emails .. "/total")).total)
  end)

  it("treats any 2xx as success", function()
    sandbox.fault{ path = "/user/info", status = 201, body = '{"ok":1}' }
    assert.same({ ok = 1 }, assert(client:user_info()))
    sandbox.fault{ path = "/user/info", status = 204 }
    assert.is_true(assert(client:user_info()))
  end)

  it("raises on bad arguments before sending anything", function()
    sandbox.sends_nothing(function()
      assert.has_error(function() client:get(42) end)
      assert.has_error(function() client:get("user/info") end)
      assert.has_error(function() client:get("/a/../b") end)
      assert.has_error(function() client:get("/user/info?x=1") end)
      assert.has_error(function() client:get("/user/info", "limit=1") end)
      assert.has_error(function() client:post("/addressbooks", "name") end)
      assert.has_error(function() client:post("/x", { f = print }) end)
      assert.has_error(function() client:request("TRACE", "/x") end)
    end)
  end)
end)
