-- Every failure becomes nil plus one error object; nothing raises.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local function one_line(err)
  local s = tostring(err)
  assert.is_nil(s:find("[\r\n]"), s)
  assert.matches("^sendpulse ", s)
  return s
end

describe("errors #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 0 }
  end)

  after_each(function()
    client:close()
  end)

  it("exposes the seed's error table", function()
    assert.equal("Mailing list not found", sendpulse.errors[213])
    assert.equal("More than 10 requests per second", sendpulse.errors[2020202020])
    assert.equal("Account balance depleted", sendpulse.errors[707])
    local n = 0
    for _ in pairs(sendpulse.errors) do
      n = n + 1
    end
    assert.equal(43, n)
  end)

  it("carries every seed code to err.code and err.message", function()
    for code, text in pairs(sendpulse.errors) do
      if code ~= 2020202020 then
        sandbox.fault{ path = "/user/info", status = 400,
                       body = '{"error_code":' .. code .. '}' }
        local res, err = client:user_info()
        assert.is_nil(res)
        assert.equal("api", err.kind)
        assert.equal(400, err.status)
        assert.equal(code, err.code)
        assert.equal(text, err.message)
        assert.matches(tostring(code), one_line(err))
      end
    end
  end)

  it("prefers the server's own message", function()
    sandbox.fault{ path = "/user/info", status = 422,
                   body = '{"error_code":999,"message":"Badly formed incoming data"}' }
    local _, err = client:user_info()
    assert.equal("api", err.kind)
    assert.equal(999, err.code)
    assert.equal("Badly formed incoming data", err.message)
    assert.equal("GET", err.method)
    assert.equal("/user/info", err.path)
    assert.equal('{"error_code":999,"message":"Badly formed incoming data"}', err.body)
    assert.equal("sendpulse api error 999: Badly formed incoming data "
                 .. "(GET /user/info, HTTP 422)", tostring(err))
  end)

  it("ignores error codes that are no integers (found by fuzzing)", function()
    for _, code in ipairs{ "1e300", "-1e300", "1.5", '"99999999999999999999"' } do
      sandbox.fault{ path = "/user/info", status = 400,
                     body = '{"error_code":' .. code .. ',"message":"odd"}' }
      local _, err = client:user_info()
      assert.equal("api", err.kind)
      assert.is_nil(err.code)
      assert.equal("odd", err.message)
    end
  end)

  it("accepts error codes sent as strings", function()
    sandbox.fault{ path = "/user/info", status = 400, body = '{"error_code":"213"}' }
    local _, err = client:user_info()
    assert.equal(213, err.code)
    assert.equal("Mailing list not found", err.message)
  end)

  it("kind=http for non-JSON error bodies, with the status", function()
    sandbox.fault{ path = "/user/info", action = "html", status = 502 }
    local _, err = client:user_info()
    assert.equal("http", err.kind)
    assert.equal(502, err.status)
    assert.matches("HTML", err.message)
    assert.matches("<", err.body)
    one_line(err)

    sandbox.fault{ path = "/user/info", status = 500 }
    _, err = client:user_info()
    assert.equal("http", err.kind)
    assert.equal(500, err.status)
    assert.matches("empty body", err.message)
  end)

  it("kind=decode for 2xx bodies that are not JSON", function()
    sandbox.fault{ path = "/user/info", action = "malformed" }
    local res, err = client:user_info()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal(200, err.status)
    one_line(err)

    sandbox.fault{ path = "/user/info", status = 200, body = "" }
    res, err = client:user_info()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal(200, err.status)

    sandbox.fault{ path = "/user/info", action = "html", status = 200 }
    res, err = client:user_info()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
  end)

  it("kind=transport for a truncated body or a dropped connection", function()
    sandbox.fault{ path = "/user/info", action = "truncated" }
    local _, err = client:user_info()
    assert.equal("transport", err.kind)
    assert.equal(18, err.code)         -- CURLE_PARTIAL_FILE
    assert.equal(200, err.status)
    one_line(err)

    -- times = -1: libcurl's own resend on a fresh connection is dropped too
    sandbox.fault{ path = "/user/info", action = "drop", times = -1 }
    _, err = client:user_info()
    assert.equal("transport", err.kind)
    assert.equal(52, err.code)         -- CURLE_GOT_NOTHING
    assert.is_nil(err.status)
  end)

  it("kind=transport when nothing listens", function()
    local c = sendpulse.new{ api_key = sandbox.api_key, max_retries = 0,
                             base_url = "http://127.0.0.1:9" }
    local _, err = c:user_info()
    assert.equal("transport", err.kind)
    assert.equal(7, err.code)          -- CURLE_COULDNT_CONNECT
    assert.is_nil(err.status)
    one_line(err)
  end)

  it("kind=timeout when the answer is slower than timeout #timing", function()
    local c = sandbox.client{ timeout = 0.5, max_retries = 0 }
    assert(c:user_info())            -- token fetched, connection warm
    sandbox.fault{ path = "/user/info", delay = 2 }
    local _, err = c:user_info()
    assert.equal("timeout", err.kind)
    assert.equal(28, err.code)
    one_line(err)
  end)

  it("kind=tls when the certificate cannot be verified", function()
    local c = sandbox.client{ ca_file = sandbox.NONE, max_retries = 0 }
    local _, err = c:user_info()
    assert.equal("tls", err.kind)
    assert.equal(60, err.code)         -- CURLE_PEER_FAILED_VERIFICATION
    one_line(err)
    assert.equal(0, sandbox.token_requests())   -- nothing reached the server
    local insecure = sandbox.client{ ca_file = sandbox.NONE, ssl_verify = false }
    assert(insecure:user_info())
  end)

  it("kind=auth for a rejected API key", function()
    local c = sandbox.client{ api_key = "not-a-valid-key" }
    local _, err = c:user_info()
    assert.equal("auth", err.kind)
    assert.equal(401, err.status)
    assert.equal("The access token is invalid or has expired", err.message)
    one_line(err)
  end)

  it("kind=rate_limit with retry_after", function()
    sandbox.fault{ path = "/user/info", status = 429,
                   headers = { ["Retry-After"] = "7" },
                   body = '{"error_code":2020202020,"message":"More than 10 requests per second"}' }
    local _, err = client:user_info()
    assert.equal("rate_limit", err.kind)
    assert.equal(429, err.status)
    assert.equal(2020202020, err.code)
    assert.equal(7, err.retry_after)
    assert.matches("retry after 7s", one_line(err))
  end)

  it("keeps at most 4 KiB of the body", function()
    sandbox.fault{ path = "/user/info", status = 500,
                   body = string.rep("x", 10000) }
    local _, err = client:user_info()
    assert.equal(4096, #err.body)
  end)

  it("has the error metatable", function()
    sandbox.fault{ path = "/user/info", status = 500 }
    local _, err = client:user_info()
    assert.equal(sendpulse.Error, getmetatable(err))
  end)
end)
