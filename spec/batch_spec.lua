-- client:batch: many requests in flight, outcomes in order.
local sandbox = require "support.sandbox"

describe("client:batch #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  it("returns every outcome in order, errors in place", function()
    local c = sandbox.client()
    local id = assert(c:create_address_book("batch")).id
    -- Calls in one batch run concurrently, so no call may depend on another
    -- call of the same batch: the page read by call 26 exists beforehand.
    assert(c:create_address_book("second"))
    local calls = {}
    for i = 1, 30 do
      calls[i] = { "GET", "/user/info" }
    end
    calls[10] = { "GET", "/addressbooks/" .. id }
    calls[20] = { "GET", "/addressbooks/999" }
    calls[25] = { "POST", "/addressbooks", body = { bookName = "from batch" } }
    calls[26] = { "GET", "/addressbooks", query = { limit = 1, offset = 1 } }
    local out = c:batch(calls, { concurrency = 16 })
    assert.equal(30, #out)
    assert.equal("frodo.baggins@shire.me", out[1][1].email)
    assert.equal("batch", out[10][1][1].name)
    assert.is_nil(out[20][1])
    assert.equal(213, out[20][2].code)
    assert.is_number(out[25][1].id)
    assert.equal("second", out[26][1][1].name)
    assert.equal(1, #out[26][1])
    assert.equal("from batch", assert(c:address_book(out[25][1].id)).name)
    assert.equal(1, sandbox.token_requests())
  end)

  it("fetches one token for the whole batch and reports progress", function()
    local c = sandbox.client()
    local calls, seen = {}, {}
    for i = 1, 40 do
      calls[i] = { "GET", "/user/info" }
    end
    local out = c:batch(calls, { on_progress = function(done, total)
      seen[#seen + 1] = done
      assert.equal(40, total)
    end })
    for i = 1, 40 do
      assert.is_table(out[i][1])
      assert.equal(i, seen[i])
    end
    assert.equal(1, sandbox.token_requests())
    assert.equal(40, sandbox.count("GET /user/info"))
  end)

  it("retries what may be retried and keeps POSTs single", function()
    local c = sandbox.client{ max_retries = 2 }
    assert(c:user_info())
    sandbox.fault{ path = "/user/info", status = 503, times = 3 }
    sandbox.fault{ path = "/addressbooks", method = "POST", status = 500 }
    local calls = {}
    for i = 1, 6 do
      calls[i] = { "GET", "/user/info" }
    end
    calls[7] = { "POST", "/addressbooks", body = { bookName = "once" } }
    local out = c:batch(calls)
    for i = 1, 6 do
      assert.is_table(out[i][1], tostring(out[i][2]))
    end
    assert.equal(500, out[7][2].status)
    assert.equal(1, sandbox.count("POST /addressbooks"))
    assert.equal(1 + 6 + 3, sandbox.count("GET /user/info"))
  end)

  it("refreshes a revoked token once for the whole batch", function()
    local c = sandbox.client()
    assert(c:user_info())
    sandbox.revoke()
    local calls = {}
    for i = 1, 20 do
      calls[i] = { "GET", "/user/info" }
    end
    for _, r in ipairs(c:batch(calls, { concurrency = 10 })) do
      assert.is_table(r[1], tostring(r[2]))
    end
    assert.equal(2, sandbox.token_requests())
  end)

  it("honours the client's pacing", function()
    sandbox.config{ rate_limit = 10 }
    local c = sandbox.client{ rate_limit = sandbox.NONE, max_retries = 0 }
    local calls = {}
    for i = 1, 25 do
      calls[i] = { "GET", "/user/info" }
    end
    for _, r in ipairs(c:batch(calls, { concurrency = 16 })) do
      assert.is_table(r[1], tostring(r[2]))
    end
    local stats = sandbox.stats()
    assert.equal(0, stats.rejected_429)
    assert.is_true(stats.peak_per_second <= 10)
  end)

  it("checks every call before sending any", function()
    local c = sandbox.client()
    for _, bad in ipairs{
      { { "GET", "/ok" }, { "FETCH", "/x" } },
      { { "GET", "/ok" }, { "GET", "no-slash" } },
      { { "GET", "/ok" }, { "POST", "/x", body = { f = print } } },
      { { "GET", "/ok" }, "GET /x" },
    } do
      assert.has_error(function() c:batch(bad) end)
    end
    assert.has_error(function() c:batch({}, { concurrency = 0 }) end)
    assert.has_error(function() c:batch({}, { speed = 1 }) end)
    assert.has_error(function() c:batch("x") end)
    assert.equal(0, sandbox.stats().total)
    assert.same({}, c:batch({}))
  end)
end)
