-- The account balance, in its own currency or another one.
local sandbox = require "support.sandbox"

local function last_request()
  local log = sandbox.log()
  return log[#log]
end

describe("balance", function()
  local client

  before_each(function()
    sandbox.reset()
    client = sandbox.client()
  end)

  after_each(function()
    client:close()
  end)

  it("balance() asks for GET /balance", function()
    local b = assert(client:balance())
    local req = last_request()
    assert.equal("GET", req.method)
    assert.equal("/balance", req.path)
    assert.is_nil(req.query)
    assert.is_nil(req.body)
    -- the seed's balance detail: 9.36 USD
    assert.same({ currency = "USD", balance_currency = 9.36 }, b)
  end)

  it("balance(currency) upper-cases the code into the path", function()
    local b = assert(client:balance("eur"))
    assert.equal("/balance/EUR", last_request().path)
    assert.equal("EUR", b.currency)
    assert.is_number(b.balance_currency)
    assert.equal(8.61, b.balance_currency)
    assert.same({ currency = "USD", balance_currency = 9.36 }, assert(client:balance("USD")))
    assert.equal("/balance/USD", last_request().path)
  end)

  it("reports an unknown currency", function()
    local res, err = client:balance("XYZ")
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
  end)

  it("checks the currency before sending anything", function()
    local before = sandbox.stats().total
    for _, bad in ipairs({ "", "EURO", "E1R", 840, "/EU" }) do
      local ok, msg = pcall(function() client:balance(bad) end)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("bad argument 'currency' to balance", 1, true), msg)
      assert.truthy(tostring(msg):find("balance_spec.lua:", 1, true), msg)
    end
    assert.equal(before, sandbox.stats().total)
  end)
end)
