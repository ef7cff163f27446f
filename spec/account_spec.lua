-- The seed's endpoints, end to end over TLS against the sandbox.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local has_integers = math.type ~= nil

describe("account endpoints #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("user_info mirrors the seed's sample exactly", function()
    local me = assert(client:user_info())
    assert.same(sendpulse.json.decode(sandbox.seed("user_info")), me)
    assert.equal(7043663, me.id)
    assert.equal("Frodo Baggins", me.name)
    assert.is_true(me.phone_confirm)
    assert.equal("380680899608", me.phone)       -- a string stays a string
    if has_integers then
      assert.equal("integer", math.type(me.id))
    end
  end)

  it("invited_users keeps nulls, booleans and 12-digit integers", function()
    local users = assert(client:invited_users())
    assert.same(sendpulse.json.decode(sandbox.seed("invited_users")), users)
    assert.equal(3, #users)
    assert.equal(sendpulse.null, users[1].group_id)
    assert.equal(6, users[2].group_id)
    assert.equal(sendpulse.null, users[2].avatar)
    assert.equal(380671112233, users[1].phone)
    assert.equal(499876543210, users[2].phone)
    assert.equal("ua:Українська", users[1].lang)
    if has_integers then
      assert.equal("integer", math.type(users[1].phone))
    end
  end)

  it("balance_detail leaves string amounts as sent", function()
    local b = assert(client:balance_detail())
    assert.same(sendpulse.json.decode(sandbox.seed("balance_detail")), b)
    assert.equal("9.36", b.balance.main)
    assert.equal("5.00", b.balance.bonus)
    assert.equal(9914, b.email.emails_left)
    assert.equal(1, b.smtp.auto_renew)
  end)

  it("sends a GET with the Bearer token and JSON accept header", function()
    assert(client:user_info())
    local last = sandbox.last()
    assert.equal("GET", last.method)
    assert.equal("/user/info", last.path)
    assert.equal("Bearer", last.authorization_scheme)
  end)
end)
