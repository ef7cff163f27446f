-- The sandbox's plan quotas (per minute, per UTC day) beside its
-- per-second limit, as the fleet specs arm them.
local sandbox = require "support.sandbox"
local sendpulse = require "sendpulse"
local json = sendpulse.json

-- A client that neither paces nor retries: every answer shows.
local function raw_client()
  return sandbox.client{ api_key = sandbox.api_key, client_id = sandbox.NONE,
                         client_secret = sandbox.NONE, rate_limit = false,
                         max_retries = 0 }
end

local function calls(client, n)
  local ok, errs = 0, {}
  for _ = 1, n do
    local res, err = client:get("/user/info")
    if res then
      ok = ok + 1
    else
      errs[#errs + 1] = err
    end
  end
  return ok, errs
end

describe("sandbox quotas #sandbox", function()
  after_each(function()
    sandbox.reset()
  end)

  it("answers 429 beyond the per-minute quota, saying which quota", function()
    sandbox.reset{ per_minute = 5, rate_limit = 0 }
    local ok, errs = calls(raw_client(), 7)
    assert.equal(5, ok)
    assert.equal(2, #errs)
    local err = errs[1]
    assert.equal(429, err.status)
    assert.equal(429, err.code)
    local body = json.decode(err.body)
    assert.equal("per_minute", body.quota)
    assert.equal(5, body.limit)
    assert.matches("per%-minute quota of 5 requests", body.message)
    assert.is_true(err.retry_after > 55 and err.retry_after <= 60, err.retry_after)
    local stats = sandbox.stats()
    assert.equal(2, stats.rejected_429)
    assert.equal(2, stats.limits.rejected_per_minute)
    assert.equal(0, stats.limits.rejected_per_second)
    assert.equal(5, stats.limits.last_minute)
    assert.equal(5, stats.limits.today)
  end)

  it("keeps answering error 2020202020 for the per-second limit", function()
    sandbox.reset{ per_minute = 100, per_day = 1000, rate_limit = 3 }
    local ok, errs = calls(raw_client(), 5)
    assert.equal(3, ok)
    for _, err in ipairs(errs) do
      assert.equal(429, err.status)
      assert.equal(2020202020, err.code)
    end
    local stats = sandbox.stats()
    assert.equal(2, stats.limits.rejected_per_second)
    assert.equal(0, stats.limits.rejected_per_minute)
  end)

  it("stops at the per-day quota until the UTC day ends", function()
    sandbox.reset{ per_day = 3 }
    local ok, errs = calls(raw_client(), 4)
    assert.equal(3, ok)
    local body = json.decode(errs[1].body)
    assert.equal("per_day", body.quota)
    local to_midnight = 86400 - os.time() % 86400
    assert.is_true(math.abs(errs[1].retry_after - to_midnight) <= 2, errs[1].retry_after)
    assert.equal(1, sandbox.stats().limits.rejected_per_day)
    -- the token endpoint counts too
    local res, err = sandbox.client{ max_retries = 0, rate_limit = false }
                       :get("/user/info")
    assert.is_nil(res)
    assert.equal(429, err.status)
    assert.equal(1, sandbox.token_requests())
  end)

  it("refuses malformed quotas and shows them in the config", function()
    for _, bad in ipairs{ { per_minute = -1 }, { per_day = "10" }, { per_minute = 1.5 } } do
      local res, err = sandbox.client{ api_key = sandbox.api_key, client_id = sandbox.NONE,
                                       client_secret = sandbox.NONE }
                         :request("POST", "/__sandbox/config", nil, bad)
      assert.is_nil(res)
      assert.equal(400, err.status)
    end
    local c = sandbox.config{ per_minute = 30, per_day = 500 }
    assert.equal(30, c.per_minute)
    assert.equal(500, c.per_day)
    sandbox.admin("POST", "/reset")
    c = sandbox.admin("GET", "/config")
    assert.equal(0, c.per_minute)
    assert.equal(0, c.per_day)
  end)
end)
