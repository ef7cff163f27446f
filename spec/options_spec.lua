-- sendpulse.new: every wrong option raises at once, naming the option.
local sendpulse = require "sendpulse"

local function raises(opts, pattern)
  local ok, err = pcall(sendpulse.new, opts)
  assert.is_false(ok, "expected an error matching " .. pattern)
  assert.matches(pattern, err)
  return err
end

local KEY = "k3y-for-options-spec"

describe("sendpulse.new", function()
  it("needs credentials, and not two kinds at once", function()
    raises({}, "credentials missing")
    raises({ client_id = "id" }, "client_id and client_secret go together")
    raises({ client_secret = "s" }, "client_id and client_secret go together")
    raises({ api_key = KEY, client_id = "id", client_secret = "s" },
           "either api_key or client_id")
    raises(nil, "options must be a table")
    raises("x", "options must be a table")
  end)

  it("rejects unknown options by name", function()
    raises({ api_key = KEY, timout = 3 }, "unknown option 'timout'")
    raises({ api_key = KEY, [1] = true }, "option names must be strings")
  end)

  it("checks every option's type and range, naming it", function()
    local cases = {
      { "client_id", 42 }, { "client_secret", {} }, { "api_key", true },
      { "base_url", 1 }, { "timeout", "30" }, { "timeout", 0 },
      { "timeout", -1 }, { "connect_timeout", "x" }, { "ca_file", 1 },
      { "ssl_verify", "no" }, { "proxy", 1 }, { "user_agent", false },
      { "max_retries", -1 }, { "max_retries", 1.5 }, { "max_retries", 99 },
      { "rate_limit", true }, { "rate_limit", 0 }, { "rate_limit", "10" },
      { "retry_delay", -1 }, { "max_body_size", 10 },
      { "token_store", 5 }, { "token_store", { get = print } },
      { "transport", "carrier-pigeon" }, { "pacer", {} },
      { "on_store_error", 1 },
    }
    for _, c in ipairs(cases) do
      local opts = { api_key = KEY }
      if c[1] == "client_id" or c[1] == "client_secret" then
        opts = { client_id = "id", client_secret = "s3cret-of-the-spec" }
      end
      opts[c[1]] = c[2]
      raises(opts, "'" .. c[1] .. "'")
    end
  end)

  it("refuses CR, LF and NUL in anything that reaches a header", function()
    raises({ api_key = "abc\r\nX-Evil: 1" }, "'api_key'")
    raises({ api_key = "has space" }, "'api_key'")
    raises({ api_key = KEY, user_agent = "ua\nX: y" }, "'user_agent'.*CR or LF")
    raises({ api_key = KEY, proxy = "http://p\0" }, "'proxy'.*NUL")
    raises({ client_id = "id\r", client_secret = "s" }, "'client_id'")
    raises({ client_id = "id", client_secret = "s\n" }, "'client_secret'")
    -- found by fuzzing: this used to say "out of memory"
    raises({ client_id = "id\255", client_secret = "s" }, "'client_id' is not valid UTF%-8")
    raises({ client_id = "id", client_secret = "\192\128" }, "'client_secret' is not valid UTF%-8")
  end)

  it("validates base_url", function()
    raises({ api_key = KEY, base_url = "ftp://x" }, "must start with https://")
    raises({ api_key = KEY, base_url = "http://api.sendpulse.com" },
           "must use https")
    raises({ api_key = KEY, base_url = "https://" }, "has no host")
    raises({ api_key = KEY, base_url = "https://h:0" }, "invalid port")
    raises({ api_key = KEY, base_url = "https://h:99999" }, "invalid port")
    raises({ api_key = KEY, base_url = "https://u:p@h" }, "'base_url'")
    raises({ api_key = KEY, base_url = "https://h/x?y=1" }, "query")
    raises({ api_key = KEY, base_url = "https://h/a/../b" }, "invalid path")
    -- found by fuzzing: anything went inside brackets, into the Host header
    raises({ api_key = KEY, base_url = "https://[::1 x]:8443" }, "IPv6")
    raises({ api_key = KEY, base_url = "https://[]" }, "IPv6")
    assert.is_table(sendpulse.new{ api_key = KEY, base_url = "https://[::1]:8443" })
    assert.is_table(sendpulse.new{ api_key = KEY, base_url = "http://127.0.0.1:9" })
    assert.is_table(sendpulse.new{ api_key = KEY, base_url = "https://h:8443/api/" })
  end)

  it("checks that ca_file can be read", function()
    raises({ api_key = KEY, ca_file = "/nonexistent/ca.pem" }, "'ca_file'")
  end)

  it("accepts the documented options", function()
    local c = sendpulse.new{
      client_id = "id", client_secret = "s3cret-of-the-spec",
      base_url = "https://api.sendpulse.com", timeout = 5,
      connect_timeout = 2, ssl_verify = true, proxy = "http://127.0.0.1:3128",
      user_agent = "my-app/1.0", token_store = sendpulse.stores.memory(),
      max_retries = 0, rate_limit = false, retry_delay = 0.1,
      max_retry_wait = 5, max_body_size = 1048576, transport = "curl",
    }
    assert.is_table(c)
    c:close()
    c = sendpulse.new{ api_key = KEY, rate_limit = 2.5 }
    c:close()
  end)

  it("does no network I/O", function()
    -- nothing listens on port 9: a connection attempt would fail, and
    -- creating the client must not even try.
    local c = sendpulse.new{ client_id = "id", client_secret = "s3cret-of-the-spec",
                             base_url = "http://127.0.0.1:9" }
    assert.is_false((c:token_state()))
  end)

  it("never shows credentials in tostring", function()
    local c = sendpulse.new{ client_id = "visible-id",
                             client_secret = "SECRET-in-tostring" }
    local s = tostring(c)
    assert.matches("sendpulse client %(oauth, https://api.sendpulse.com:443%)", s)
    assert.is_nil(s:find("SECRET", 1, true))
    c = sendpulse.new{ api_key = "APIKEY-in-tostring" }
    assert.is_nil(tostring(c):find("APIKEY", 1, true))
  end)
end)

describe("client:close", function()
  it("is idempotent, and calls after it raise", function()
    local c = sendpulse.new{ api_key = KEY }
    c:close()
    c:close()
    assert.matches("closed", tostring(c))
    assert.has_error(function() c:user_info() end)
  end)

  it("works with Lua 5.4's <close>", function()
    if _VERSION ~= "Lua 5.4" then
      return
    end
    local chunk = assert(load([[
      local sendpulse = ...
      local c
      do
        local client <close> = sendpulse.new{ api_key = "k3y-for-close" }
        c = client
      end
      return c
    ]]))
    local c = chunk(sendpulse)
    assert.matches("closed", tostring(c))
  end)

  it("is released by the garbage collector", function()
    for _ = 1, 50 do
      sendpulse.new{ api_key = KEY }
    end
    collectgarbage()
    collectgarbage()
  end)
end)
