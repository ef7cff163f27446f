-- The client secret, the API key and access tokens never appear in any
-- message the client produces, even when the server echoes them.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local ID = "secrets-spec-client"
local SECRET = "SECRET-c1ient-s3cret-of-the-spec"
local APIKEY = "APIKEY-r3cognisable-k3y-of-the-spec"

describe("secrets #sandbox", function()
  local seen, token

  local function capture(x)
    seen[#seen + 1] = tostring(x)
    if type(x) == "table" then
      for _, v in pairs(x) do
        seen[#seen + 1] = tostring(v)
      end
    end
  end

  -- A client can only hide the secrets it holds: its own credentials and
  -- the tokens it was given.
  local function assert_clean(secrets)
    for _, s in ipairs(seen) do
      for _, secret in ipairs(secrets) do
        assert.is_nil(s:find(secret, 1, true),
                      "a secret leaked into: " .. s:sub(1, 200))
      end
    end
  end

  before_each(function()
    sandbox.reset{ accounts = { [ID] = SECRET }, api_keys = { APIKEY } }
    seen, token = {}, nil
  end)

  it("are absent from errors, tostring and store keys", function()
    local store = sendpulse.stores.memory()
    local c = sandbox.client{ client_id = ID, client_secret = SECRET,
                              token_store = store, max_retries = 1 }
    capture(c)
    assert(c:user_info())
    token = store:get(c:store_key())
    capture(c:store_key())
    capture(c)

    local echo = '{"error_code":800,"message":"secret ' .. SECRET .. ' token '
                 .. token .. ' key ' .. APIKEY .. '"}'
    local faults = {
      { status = 400, body = echo },
      { status = 500, body = echo, times = -1 },
      { status = 429, body = echo, headers = { ["Retry-After"] = "0" }, times = -1 },
      { status = 401, body = echo, times = -1 },
      { status = 200, body = "<html>" .. SECRET .. token .. "</html>" },
      { action = "html", status = 503, times = -1 },
      { action = "malformed" },
      { action = "truncated" },
      { action = "drop", times = -1 },
    }
    for _, f in ipairs(faults) do
      sandbox.clear_faults()
      f.path = "/user/info"
      f.times = -1          -- every retry meets the fault too
      sandbox.fault(f)
      local res, err = c:user_info()
      assert.is_nil(res)
      capture(err)
      capture(err.body)
      assert.is_nil(tostring(err.body):find(SECRET, 1, true))
    end
    sandbox.clear_faults()

    -- the token endpoint echoing the secret in its error (a new client has
    -- no token yet: the secret is what it must hide)
    sandbox.fault{ path = "/oauth/access_token", status = 400,
                   body = '{"message":"bad secret ' .. SECRET .. '"}' }
    local fresh = sandbox.client{ client_id = ID, client_secret = SECRET }
    local _, err = fresh:user_info()
    capture(err)
    assert.is_true(#token > 1000)
    assert_clean{ SECRET, token }
  end)

  it("are absent when the credentials are wrong", function()
    local c = sandbox.client{ client_id = ID, client_secret = SECRET .. "-wrong" }
    local _, err = c:user_info()
    capture(err)
    local k = sandbox.client{ api_key = APIKEY .. "-wrong" }
    _, err = k:user_info()
    capture(err)
    capture(k)
    assert_clean{ SECRET, APIKEY }
  end)

  it("are absent from option errors", function()
    for _, opts in ipairs{
      { client_id = ID, client_secret = SECRET .. "\n" },
      { api_key = APIKEY .. " x" },
      { api_key = APIKEY, client_id = ID, client_secret = SECRET },
      { api_key = APIKEY, bogus = SECRET },
    } do
      local ok, msg = pcall(sendpulse.new, opts)
      assert.is_false(ok)
      capture(msg)
    end
    assert_clean{ SECRET, APIKEY }
  end)

  it("are absent when a server sends them JSON-escaped (found by fuzzing)", function()
    local c = sandbox.client{ api_key = APIKEY }
    local escaped = APIKEY:gsub("%-", "\\u002d")       -- the same text, escaped
    sandbox.fault{ path = "/user/info", status = 400,
                   body = '{"error_code":800,"message":"key ' .. escaped .. '"}' }
    local _, err = c:user_info()
    capture(err)
    assert.equal('{"error_code":800,"message":"key [REDACTED]"}', err.body)
    assert.matches("%[REDACTED%]", err.message)
    assert_clean{ APIKEY }
  end)

  it("are absent when escaped in a body that is not even JSON (found by fuzzing)", function()
    local c = sandbox.client{ api_key = APIKEY, max_retries = 0 }
    local escaped = APIKEY:gsub("%-", "\\u002d")
    sandbox.fault{ path = "/user/info", status = 400,
                   body = '{"error":"denied","key":"' .. escaped }    -- cut short
    local _, err = c:user_info()
    capture(err)
    assert.equal('{"error":"denied","key":"[REDACTED]', err.body)
    assert_clean{ APIKEY }
  end)

  it("are not cut in half by the length limit of err.path (found by fuzzing)", function()
    local c = sandbox.client{ api_key = APIKEY, max_retries = 0 }
    for pad = 1024 - #APIKEY, 1024, 7 do
      local _, err = c:get("/" .. string.rep("a", pad) .. "/" .. APIKEY)
      assert.is_true(#err.path <= 1024)
      assert.is_nil(err.path:find(APIKEY:sub(1, 8), 1, true), "pad " .. pad)
      capture(err)
    end
    assert_clean{ APIKEY }
  end)

  it("are not cut in half by the 4 KiB body limit (found by fuzzing)", function()
    local c = sandbox.client{ api_key = APIKEY, max_retries = 0 }
    for offset = 4096 - #APIKEY + 1, 4096 - 1, 5 do
      sandbox.fault{ path = "/user/info", status = 500,
                     body = string.rep("x", offset) .. APIKEY .. string.rep("y", 100) }
      local _, err = c:user_info()
      assert.equal(4096, #err.body)
      assert.is_nil(err.body:find(APIKEY:sub(1, 8), 1, true), "offset " .. offset)
    end
  end)

  it("API key mode: absent even when the server echoes the key", function()
    local c = sandbox.client{ api_key = APIKEY }
    sandbox.fault{ path = "/user/info", status = 403,
                   body = '{"message":"key ' .. APIKEY .. ' is not allowed"}' }
    local _, err = c:user_info()
    capture(err)
    assert.matches("%[REDACTED%]", err.message)
    assert_clean{ APIKEY }
  end)

  -- Every way a server may spell a secret it echoes: each is cut where it
  -- stands, and the rest of the body is kept.
  it("are cut however the server encodes them", function()
    local c = sandbox.client{ client_id = ID, client_secret = SECRET, max_retries = 0 }
    local function pct(s, plus, lower)
      return (s:gsub("[^%w]", function(ch)
        return plus and ch == " " and "+" or (lower and "%%%02x" or "%%%02X"):format(ch:byte())
      end))
    end
    local spellings = {
      raw = SECRET,
      json = SECRET:gsub("%-", "\\u002d"),
      percent = pct(SECRET),
      percent_lower = pct(SECRET, false, true),
      form = "client_id=" .. ID .. "&client_secret=" .. pct(SECRET .. " x", true),
      json_and_percent = pct(SECRET):gsub("%%", "\\u0025"),
      basic = "Basic " .. require("sendpulse.core").base64_encode(ID .. ":" .. SECRET),
      base64_url = require("sendpulse.core").base64_encode("x" .. SECRET .. "yz")
                   :gsub("%+", "-"):gsub("/", "_"),
    }
    for name, spelling in pairs(spellings) do
      sandbox.reset{ accounts = { [ID] = SECRET } }
      sandbox.fault{ path = "/oauth/access_token", status = 400,
                     body = '{"error":"invalid_client","echo":"' .. spelling .. '"}' }
      local _, err = c:user_info()
      capture(err)
      assert.matches("%[REDACTED%]", err.body, name)
      assert.matches('^{"error":"invalid_client","echo":"', err.body, name)
    end
    assert_clean{ SECRET }
  end)

  it("are refused at sendpulse.new when too short to be cut safely", function()
    for _, opts in ipairs{ { client_id = ID, client_secret = "s3cr3t" },
                           { api_key = "k3y42" } } do
      local ok, msg = pcall(sendpulse.new, opts)
      assert.is_false(ok)
      assert.matches("too short", msg)
    end
  end)

  -- Redaction reads a bounded window of the body: the time for an 8 MiB
  -- body repeating the token is that of a 1 MiB one, not 64 times it.
  it("cost time linear in a bounded window, not in the body's repeats", function()
    local c = sandbox.client{ api_key = APIKEY, max_retries = 0 }
    local function time_for(mib)
      sandbox.fault{ path = "/user/info", status = 500,
                     body = string.rep(APIKEY .. " ", math.floor(mib * 1048576 / (#APIKEY + 1))) }
      local t = os.clock()
      local _, err = c:user_info()
      t = os.clock() - t
      assert.equal("[REDACTED]", err.body:sub(1, 10))
      assert_clean{ APIKEY }
      capture(err)
      return t
    end
    time_for(1)
    local one, eight = time_for(1), time_for(8)
    print(("\n  [redaction] a 500 body repeating the API key: 1 MiB %.3f s, 8 MiB %.3f s of CPU")
          :format(one, eight))
    assert.is_true(eight < 16 * one + 0.05, ("1 MiB %.3f s, 8 MiB %.3f s"):format(one, eight))
  end)
end)
