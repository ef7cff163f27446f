-- Retries and rate limits: never send twice what the server may have done.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

describe("retries #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 2 }
    assert(client:user_info())       -- the token is in hand
  end)

  it("retries a GET after a 503 and succeeds", function()
    sandbox.fault{ path = "/user/info", status = 503, times = 1 }
    assert(client:user_info())
    assert.equal(3, sandbox.count("GET /user/info"))    -- 1 + failed + retry
  end)

  it("gives up on a GET after max_retries with a clear error", function()
    sandbox.fault{ path = "/user/info", status = 503, times = -1 }
    local res, err = client:user_info()
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(503, err.status)
    assert.equal(1 + 3, sandbox.count("GET /user/info"))
  end)

  it("retries PUT and DELETE (idempotent) after 502/504", function()
    local id = assert(client:post("/addressbooks", { bookName = "b" })).id
    local path = sendpulse.path("addressbooks", id)
    sandbox.fault{ path = path, method = "PUT", status = 502, times = 1 }
    assert(client:put(path, { name = "c" }))
    assert.equal(2, sandbox.count("PUT " .. path))
    sandbox.fault{ path = path, method = "DELETE", status = 504, times = 1 }
    assert(client:delete(path))
    assert.equal(2, sandbox.count("DELETE " .. path))
  end)

  it("never retries a POST after a 500", function()
    sandbox.fault{ path = "/addressbooks", method = "POST", status = 500 }
    local res, err = client:post("/addressbooks", { bookName = "once" })
    assert.is_nil(res)
    assert.equal(500, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, sandbox.count("POST /addressbooks"))
  end)

  it("never retries a POST or PATCH when the connection drops after sending", function()
    sandbox.fault{ path = "/addressbooks", method = "POST", action = "drop" }
    local _, err = client:post("/addressbooks", { bookName = "once" })
    assert.equal("transport", err.kind)
    assert.equal(1, sandbox.count("POST /addressbooks"))
    sandbox.fault{ path = "/campaigns/1", method = "PATCH", action = "drop" }
    _, err = client:patch("/campaigns/1", { name = "x" })
    assert.equal("transport", err.kind)
    assert.equal(1, sandbox.count("PATCH /campaigns/1"))
  end)

  it("retries a GET after a dropped connection", function()
    sandbox.fault{ path = "/user/info", action = "drop" }
    assert(client:user_info())
    assert.equal(3, sandbox.count("GET /user/info"))
  end)

  it("retries a POST when the connection was refused (nothing sent)", function()
    -- a fresh client against a port where nothing listens: every attempt
    -- fails before sending, so retrying is safe even for POST
    local c = sendpulse.new{ api_key = sandbox.api_key, max_retries = 2,
                             retry_delay = 0.01, base_url = "http://127.0.0.1:9" }
    local _, err = c:post("/addressbooks", { bookName = "x" })
    assert.equal("transport", err.kind)
    assert.equal(7, err.code)
    assert.equal(3, err.attempts)
  end)

  it("does not retry a timed-out POST #timing", function()
    local c = sandbox.client{ timeout = 0.5, max_retries = 2 }
    assert(c:user_info())
    sandbox.fault{ path = "/addressbooks", method = "POST", delay = 1.5 }
    local _, err = c:post("/addressbooks", { bookName = "slow" })
    assert.equal("timeout", err.kind)
    assert.equal(1, sandbox.count("POST /addressbooks"))
  end)
end)

describe("rate limits #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  it("waits Retry-After on a 429 and retries", function()
    local c = sandbox.client{ max_retries = 2 }
    assert(c:user_info())
    sandbox.fault{ path = "/user/info", status = 429, headers = { ["Retry-After"] = "0" },
                   body = '{"error_code":2020202020,"message":"More than 10 requests per second"}' }
    assert(c:user_info())
    assert.equal(3, sandbox.count("GET /user/info"))
  end)

  it("retries a per-second 429 without Retry-After with a backoff, POST included", function()
    local c = sandbox.client{ max_retries = 1 }
    assert(c:user_info())
    sandbox.fault{ path = "/addressbooks", method = "POST", status = 429,
                   body = '{"error_code":2020202020}' }
    assert(c:post("/addressbooks", { bookName = "after 429" }))
    assert.equal(2, sandbox.count("POST /addressbooks"))
  end)

  -- A 429 without the per-second code is a quota of the plan: retrying in
  -- a second would only be refused again.
  it("does not retry a 429 that is not the per-second limit, and says so", function()
    local c = sandbox.client{ max_retries = 2 }
    assert(c:user_info())
    sandbox.fault{ path = "/addressbooks", method = "POST", status = 429, body = "" }
    local res, err = c:post("/addressbooks", { bookName = "quota" })
    assert.is_nil(res)
    assert.equal("rate_limit", err.kind)
    assert.equal("plan", err.quota)
    assert.equal(60, err.retry_after)
    assert.equal("no", err.sent)
    assert.equal(1, sandbox.count("POST /addressbooks"))
  end)

  -- A 5xx is where the server may have acted: the rate-limit code in it
  -- does not make a POST safe to send again.
  it("never resends a POST answered 500 with error 2020202020", function()
    local c = sandbox.client{ max_retries = 2 }
    assert(c:user_info())
    sandbox.fault{ path = "/addressbooks", method = "POST", status = 500, times = -1,
                   body = '{"error_code":2020202020}' }
    local res, err = c:post("/addressbooks", { bookName = "once" })
    assert.is_nil(res)
    assert.equal("rate_limit", err.kind)
    assert.equal("maybe", err.sent)
    assert.equal(1, err.attempts)
    assert.equal(1, sandbox.count("POST /addressbooks"))
    -- a GET is retried as after any 5xx
    sandbox.fault{ path = "/user/info", status = 500, times = 1,
                   body = '{"error_code":2020202020}' }
    assert(c:user_info())
  end)

  it("treats error 2020202020 as a rate limit whatever the status", function()
    local c = sandbox.client{ max_retries = 0 }
    sandbox.fault{ path = "/user/info", status = 400,
                   body = '{"error_code":2020202020}' }
    local _, err = c:user_info()
    assert.equal("rate_limit", err.kind)
    assert.equal("More than 10 requests per second", err.message)
    assert.is_number(err.retry_after)
  end)

  it("returns kind=rate_limit with retry_after after max_retries", function()
    local c = sandbox.client{ max_retries = 1 }
    assert(c:user_info())
    sandbox.fault{ path = "/user/info", status = 429, times = -1,
                   headers = { ["Retry-After"] = "0" } }
    local _, err = c:user_info()
    assert.equal("rate_limit", err.kind)
    assert.equal(0, err.retry_after)
    assert.equal(3, sandbox.count("GET /user/info"))
  end)

  it("does not sleep for an unreasonable Retry-After", function()
    local c = sandbox.client{ max_retries = 2, max_retry_wait = 5 }
    assert(c:user_info())
    sandbox.fault{ path = "/user/info", status = 429, headers = { ["Retry-After"] = "3600" } }
    local _, err = c:user_info()
    assert.equal("rate_limit", err.kind)
    assert.equal(3600, err.retry_after)
    assert.equal(2, sandbox.count("GET /user/info"))
  end)

  it("paces a tight loop under the server's 10 per second", function()
    sandbox.config{ rate_limit = 10 }
    local c = sandbox.client{ rate_limit = sandbox.NONE, max_retries = 0 }
    local failures = {}
    for i = 1, 25 do
      local ok, err = c:user_info()
      if not ok then
        failures[#failures + 1] = "call " .. i .. ": " .. tostring(err)
      end
    end
    local stats = sandbox.stats()
    if stats.rejected_429 > 0 or #failures > 0 then
      -- the arrivals as the sandbox saw them, for the failure message
      local lines, t0 = {}, nil
      for _, e in ipairs(sandbox.admin("GET", "/log").entries) do
        t0 = t0 or e.time
        lines[#lines + 1] = string.format("%.3f %s %s %s", e.time - t0, e.method, e.path, e.status)
      end
      error(table.concat(failures, "\n") .. "\nsandbox stats: "
            .. require("sendpulse").json.encode(stats)
            .. "\narrivals:\n" .. table.concat(lines, "\n"))
    end
    assert.is_true(stats.peak_per_second <= 10, "peak " .. stats.peak_per_second)
  end)

  it("without pacing, the server's 429s are retried", function()
    sandbox.config{ rate_limit = 10 }
    local c = sandbox.client{ max_retries = 2 }
    for _ = 1, 15 do
      assert(c:user_info())
    end
    assert.is_true(sandbox.stats().rejected_429 > 0)
  end)
end)
