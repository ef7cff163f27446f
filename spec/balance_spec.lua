-- The account balance, in its own currency or another one.
local sandbox = require "support.sandbox"

describe("balance #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("balance() asks for GET /balance", function()
    local b = assert(client:balance())
    local req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/balance", req.path)
    assert.is_nil(req.query)
    assert.is_nil(req.body)
    -- the seed's balance detail: 9.36 USD
    assert.same({ currency = "USD", balance_currency = 9.36 }, b)
  end)

  it("balance(currency) upper-cases the code into the path", function()
    local b = assert(client:balance("eur"))
    assert.equal("/balance/EUR", sandbox.last().path)
    assert.equal("EUR", b.currency)
    assert.is_number(b.balance_currency)
    assert.equal(8.61, b.balance_currency)
    assert.same({ currency = "USD", balance_currency = 9.36 }, assert(client:balance("USD")))
    assert.equal("/balance/USD", sandbox.last().path)
  end)

  it("reports an unknown currency", function()
    local res, err = client:balance("XYZ")
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
  end)

  it("checks the currency before sending anything", function()
    sandbox.sends_nothing(function()
      for _, bad in ipairs({ "", "EURO", "E1R", 840, "/EU" }) do
        local ok, msg = pcall(function() client:balance(bad) end)
        assert.is_false(ok)
        assert.truthy(tostring(msg):find("bad argument 'currency' to balance", 1, true), msg)
        assert.truthy(tostring(msg):find("balance_spec.lua:", 1, true), msg)
      end
    end)
  end)
end)
