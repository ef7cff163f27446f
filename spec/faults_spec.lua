-- The fault matrix (RELIABILITY.md): each fault, the outcome asserted.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local sandbox = require "support.sandbox"

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local kib = tonumber(f:read("*a"):match("VmRSS:%s*(%d+)"))
  f:close()
  return kib
end

local function url(name)
  local u = os.getenv("SENDPULSE_SANDBOX_URL_" .. name)
  assert(u, "the sandbox did not export SENDPULSE_SANDBOX_URL_" .. name)
  return u
end

describe("fault matrix #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  describe("server errors", function()
    for _, status in ipairs{ 500, 502, 503, 504 } do
      it(status .. ": GET retried, then a clear error; POST sent once", function()
        local c = sandbox.client{ max_retries = 2 }
        assert(c:user_info())
        sandbox.fault{ path = "/user/info", status = status, times = -1 }
        local res, err = c:user_info()
        assert.is_nil(res)
        assert.equal(status, err.status)
        assert.equal(3, err.attempts)
        assert.equal(1 + 3, sandbox.count("GET /user/info"))
        assert.matches("HTTP " .. status, tostring(err))

        sandbox.fault{ path = "/addressbooks", method = "POST", status = status }
        res, err = c:post("/addressbooks", { bookName = "once" })
        assert.is_nil(res)
        assert.equal(1, err.attempts)
        assert.equal(1, sandbox.count("POST /addressbooks"))
      end)
    end
  end)

  describe("connections", function()
    local dir, pid

    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      os.execute("mkdir -p " .. dir)
      local p = io.popen("lua5.4 spec/support/reset_server.lua " .. dir .. "/port "
                         .. dir .. "/count >/dev/null 2>&1 & echo $!")
      pid = p:read("*l")
      p:close()
      for _ = 1, 100 do
        local f = io.open(dir .. "/port")
        if f then
          f:close()
          break
        end
        core.sleep(0.02)
      end
    end)

    after_each(function()
      os.execute("kill " .. pid .. "; rm -rf " .. dir)
    end)

    local function read(name)
      local f = assert(io.open(dir .. "/" .. name))
      local v = f:read("*a")
      f:close()
      return tonumber(v)
    end

    it("reset before the request was sent: even a POST is retried", function()
      local c = sendpulse.new{ api_key = sandbox.api_key, max_retries = 2,
                               retry_delay = 0.01, ca_file = sandbox.ca,
                               base_url = "https://127.0.0.1:" .. read("port") }
      local res, err = c:post("/addressbooks", { bookName = "x" })
      assert.is_nil(res)
      assert.is_true(err.kind == "tls" or err.kind == "transport", err.kind)
      assert.equal(3, err.attempts)
      assert.equal(3, read("count"))            -- three connections tried
    end)

    it("reset after the request was sent: a POST is not sent again", function()
      local c = sandbox.client{ max_retries = 2 }
      assert(c:user_info())
      sandbox.fault{ path = "/addressbooks", method = "POST", action = "drop", times = -1 }
      local _, err = c:post("/addressbooks", { bookName = "x" })
      assert.equal("transport", err.kind)
      assert.equal(52, err.code)
      assert.equal(1, sandbox.count("POST /addressbooks"))
    end)

    it("a keep-alive connection closed between calls: the next call reconnects", function()
      local c = sandbox.client{ base_url = url("SHORT_KEEPALIVE"), max_retries = 0 }
      assert(c:user_info())
      core.sleep(1.5)                           -- the server closes it after 1 s
      assert(c:user_info())
      core.sleep(1.5)
      assert(c:post("/addressbooks", { bookName = "after idle close" }))
      assert.equal(2, sandbox.count("GET /user/info"))
      assert.equal(1, sandbox.count("POST /addressbooks"))
    end)
  end)

  describe("slow answers", function()
    it("slower than timeout: kind=timeout within the timeout plus one second #timing", function()
      local c = sandbox.client{ timeout = 1, max_retries = 0 }
      assert(c:user_info())
      sandbox.fault{ path = "/user/info", delay = 5 }
      local t0 = core.monotime()
      local _, err = c:user_info()
      local elapsed = core.monotime() - t0
      assert.equal("timeout", err.kind)
      assert.is_true(elapsed < 2, "took " .. elapsed .. " s")
    end)

    it("a body that drips slowly arrives whole within the timeout", function()
      local c = sandbox.client{ timeout = 5 }
      assert(c:user_info())
      sandbox.fault{ path = "/user/info", action = "drip", interval = 0.2 }
      local me = assert(c:user_info())
      assert.equal("Frodo Baggins", me.name)
    end)

    it("a body that drips past the timeout: kind=timeout #timing", function()
      local c = sandbox.client{ timeout = 1, max_retries = 0 }
      assert(c:user_info())
      sandbox.fault{ path = "/user/info", action = "drip", interval = 0.5 }
      local _, err = c:user_info()
      assert.equal("timeout", err.kind)
    end)
  end)

  describe("bodies", function()
    it("a 10 MiB body is accepted", function()
      local c = sandbox.client()
      sandbox.fault{ path = "/user/info", action = "big", size = 10 * 1024 * 1024 }
      local res = assert(c:user_info())
      assert.equal(10 * 1024 * 1024 - 11, #res.data)
    end)

    it("a body over max_body_size is refused, memory bounded", function()
      local c = sandbox.client{ max_body_size = 1024 * 1024, max_retries = 0 }
      assert(c:user_info())
      collectgarbage()
      local before = rss_kib()
      sandbox.fault{ path = "/user/info", action = "big", size = 64 * 1024 * 1024 }
      local res, err = c:user_info()
      assert.is_nil(res)
      assert.equal("transport", err.kind)
      assert.equal(63, err.code)
      assert.matches("max_body_size", err.message)
      assert.equal(200, err.status)
      assert.is_true(rss_kib() - before < 16 * 1024, "RSS grew by "
                     .. (rss_kib() - before) .. " KiB")
    end)

    it("the default max_body_size is 32 MiB", function()
      local c = sandbox.client{ max_retries = 0 }
      sandbox.fault{ path = "/user/info", action = "big", size = 33 * 1024 * 1024 }
      local _, err = c:user_info()
      assert.equal(63, err.code)
      assert.matches("33554432", err.message)
    end)

    it("invalid UTF-8 in a string is passed through as bytes", function()
      local c = sandbox.client()
      sandbox.fault{ path = "/user/info", status = 200,
                     body_base64 = core.base64_encode('{"name":"\255\254 ok"}') }
      local res = assert(c:user_info())
      assert.equal("\255\254 ok", res.name)
    end)

    it("JSON nested 10,000 deep: an error, no crash", function()
      local c = sandbox.client()
      sandbox.fault{ path = "/user/info", action = "deep", depth = 10000 }
      local res, err = c:user_info()
      assert.is_nil(res)
      assert.equal("decode", err.kind)
      assert.matches("nesting too deep", err.message)
    end)

    it("an empty body: 200 is a decode error, 204 is success", function()
      local c = sandbox.client()
      sandbox.fault{ path = "/user/info", status = 200, body = "" }
      local _, err = c:user_info()
      assert.equal("decode", err.kind)
      sandbox.fault{ path = "/user/info", status = 204 }
      assert.is_true(c:user_info())
    end)
  end)

  describe("the token endpoint", function()
    it("down while a token is cached: calls keep working", function()
      local c = sandbox.client()
      assert(c:user_info())
      sandbox.fault{ path = "/oauth/access_token", status = 503, times = -1 }
      for _ = 1, 20 do
        assert(c:user_info())
      end
      assert.equal(0, sandbox.token_requests() - 1)
    end)

    it("a token expiring in the middle of a batch: every call succeeds", function()
      sandbox.config{ token_lifetime = 1 }
      local c = sandbox.client{ rate_limit = 20 }
      local calls = {}
      for i = 1, 50 do
        calls[i] = { "GET", "/user/info" }
      end
      for _, r in ipairs(c:batch(calls, { concurrency = 4 })) do
        assert.is_table(r[1], tostring(r[2]))
      end
      assert.is_true(sandbox.token_requests() >= 2)
    end)
  end)

  describe("TLS", function()
    for _, case in ipairs{
      { "UNKNOWN_CA", "unknown CA" }, { "SELF_SIGNED", "self-signed certificate" },
      { "WRONG_HOST", "host name mismatch" }, { "EXPIRED", "expired certificate" },
    } do
      it(case[2] .. ": kind=tls, nothing sent; only ssl_verify=false passes", function()
        local c = sandbox.client{ base_url = url(case[1]), max_retries = 1 }
        local res, err = c:post("/addressbooks", { bookName = "never" })
        assert.is_nil(res)
        assert.equal("tls", err.kind)
        assert.is_nil(err.status)
        local k = sandbox.client{ api_key = sandbox.api_key, base_url = url(case[1]) }
        _, err = k:user_info()
        assert.equal("tls", err.kind)
        assert.equal(0, sandbox.stats().total)       -- no request got through
        local insecure = sandbox.client{ base_url = url(case[1]), ssl_verify = false }
        assert(insecure:post("/addressbooks", { bookName = "insecure" }))
        assert.equal(1, sandbox.count("POST /addressbooks"))
      end)
    end
  end)
end)
