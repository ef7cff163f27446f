-- The token lifecycle: reuse, expiry, refresh on 401, failures, stores.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

describe("OAuth token #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  it("is fetched lazily, once, and reused for 1,000 calls", function()
    local c = sandbox.client()
    assert.equal(0, sandbox.token_requests())
    assert(c:user_info())
    local first = sandbox.log()[1]
    assert.equal("POST", first.method)
    assert.equal("/oauth/access_token", first.path)
    assert.equal("application/json", first.content_type)
    assert.same({ grant_type = "client_credentials",
                  client_id = sandbox.client_id,
                  client_secret = sandbox.client_secret },
                sendpulse.json.decode(first.body))
    for _ = 2, 1000 do
      assert(c:user_info())
    end
    assert.equal(1, sandbox.token_requests())
    assert.equal(1000, sandbox.count("GET /user/info"))
    c:close()
  end)

  it("is refreshed before the call once it has expired", function()
    sandbox.config{ token_lifetime = 1 }
    local c = sandbox.client()
    assert(c:user_info())
    local has, expires_at = c:token_state()
    assert.is_true(has)
    assert.is_number(expires_at)
    sandbox.admin("POST", "/config", { token_lifetime = 3600 })
    -- wait past the lifetime: the client must not even try the old token
    require("sendpulse.core").sleep(1.1)
    assert(c:user_info())
    assert.equal(2, sandbox.token_requests())
    assert.equal(2, sandbox.count("GET /user/info"))   -- no 401 round trip
  end)

  it("after a 401 is dropped, refetched once, and the call retried once", function()
    local c = sandbox.client()
    assert(c:user_info())
    sandbox.revoke()
    assert(c:user_info())
    assert.equal(2, sandbox.token_requests())
    assert.equal(3, sandbox.count("GET /user/info"))
  end)

  it("does not loop when the new token is refused too", function()
    local c = sandbox.client()
    assert(c:user_info())
    sandbox.fault{ path = "/user/info", status = 401, times = -1,
                   body = '{"error":"invalid_token","message":"nope"}' }
    local res, err = c:user_info()
    assert.is_nil(res)
    assert.equal("auth", err.kind)
    assert.equal(401, err.status)
    assert.equal(2, sandbox.token_requests())
    assert.equal(3, sandbox.count("GET /user/info"))
  end)

  it("stops at once on invalid credentials", function()
    local c = sandbox.client{ client_secret = "wrong-secret", max_retries = 2 }
    for _ = 1, 3 do
      local res, err = c:user_info()
      assert.is_nil(res)
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      assert.equal("Client authentication failed", err.message)
      assert.equal("/oauth/access_token", err.path)
    end
    assert.equal(3, sandbox.token_requests())     -- one per call, no loop
    assert.equal(0, sandbox.count("GET /user/info"))
  end)

  it("recovers after the token endpoint fails (no stuck state) #timing", function()
    local c = sandbox.client{ max_retries = 0 }
    sandbox.fault{ path = "/oauth/access_token", status = 503, times = 1 }
    local res, err = c:user_info()
    assert.is_nil(res)
    assert.equal(503, err.status)
    assert(c:user_info())
    assert.equal(2, sandbox.token_requests())

    sandbox.fault{ path = "/oauth/access_token", delay = 2, times = 1 }
    local slow = sandbox.client{ max_retries = 0, timeout = 0.5 }
    res, err = slow:user_info()
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert(slow:user_info())
  end)

  it("retries a failing token fetch within max_retries", function()
    local c = sandbox.client{ max_retries = 2 }
    sandbox.fault{ path = "/oauth/access_token", status = 502, times = 2 }
    assert(c:user_info())
    assert.equal(3, sandbox.token_requests())
  end)

  it("stops when every token expires before it can be used", function()
    -- paced at one request per second, a token living 0.3 s is stale by
    -- the time the API request may leave: without a bound this would
    -- fetch tokens forever
    sandbox.config{ token_lifetime = 0.3 }
    local c = sandbox.client{ max_retries = 0, rate_limit = 1 }
    local res, err = c:user_info()
    assert.is_nil(res)
    assert.equal("auth", err.kind)
    assert.matches("expired before it could be used", err.message)
    assert.equal(2, sandbox.token_requests())         -- max_retries + 2
    assert.equal(0, sandbox.count("GET /user/info"))
  end)

  it("rejects a token response without a usable token", function()
    local c = sandbox.client()
    sandbox.fault{ path = "/oauth/access_token", status = 200,
                   body = '{"token_type":"Bearer","expires_in":3600}' }
    local _, err = c:user_info()
    assert.equal("decode", err.kind)
    assert.matches("no access_token", err.message)
    sandbox.fault{ path = "/oauth/access_token", status = 200,
                   body = '{"access_token":"a b\\r\\nX: y","expires_in":3600}' }
    _, err = c:user_info()
    assert.equal("decode", err.kind)
    assert.matches("malformed access_token", err.message)
    assert(c:user_info())
  end)
end)

describe("API key mode #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  it("never calls the token endpoint", function()
    local c = sandbox.client{ api_key = sandbox.api_key }
    for _ = 1, 20 do
      assert(c:user_info())
    end
    assert.equal(0, sandbox.token_requests())
    assert.equal("Bearer", sandbox.log()[1].authorization_scheme)
  end)

  it("reports a 401 as kind=auth without retrying", function()
    local c = sandbox.client{ api_key = sandbox.api_key }
    sandbox.fault{ path = "/user/info", status = 401, body = "{}" }
    local _, err = c:user_info()
    assert.equal("auth", err.kind)
    assert.equal(1, sandbox.count("GET /user/info"))
    assert.equal(0, sandbox.token_requests())
  end)
end)

describe("token stores #sandbox", function()
  local dir

  before_each(function()
    sandbox.reset()
    dir = os.tmpname()
    os.remove(dir)
  end)

  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("a memory store shares one token between clients", function()
    local store = sendpulse.stores.memory()
    local a = sandbox.client{ token_store = store }
    local b = sandbox.client{ token_store = store }
    assert(a:user_info())
    assert(b:user_info())
    assert(b:invited_users())
    assert.equal(1, sandbox.token_requests())
  end)

  it("a file store shares a token across clients, mode 0600, no secret in the name", function()
    local secret = "file-store-secret-XYZ"
    sandbox.config{ accounts = { ["file-store-id"] = secret } }
    local a = sandbox.client{ client_id = "file-store-id", client_secret = secret,
                              token_store = sendpulse.stores.file(dir) }
    assert(a:user_info())
    local b = sandbox.client{ client_id = "file-store-id", client_secret = secret,
                              token_store = sendpulse.stores.file(dir) }
    assert(b:user_info())
    assert.equal(1, sandbox.token_requests())

    local p = io.popen("ls -l '" .. dir .. "'")
    local listing = p:read("*a")
    p:close()
    local mode, name = listing:match("\n(%S+)%s.-(sendpulse%-%x+%.token)")
    assert.equal("-rw-------", mode)
    assert.is_nil(name:find(secret, 1, true))
    assert.is_nil(name:find("file-store-id", 1, true))
    assert.equal("sendpulse-" .. a:store_key():match("%x+$") .. ".token", name)
    p = io.popen("stat -c %a '" .. dir .. "'")
    assert.equal("700", p:read("*l"))
    p:close()
  end)

  it("a file store's token survives the process (a new client reuses it)", function()
    local a = sandbox.client{ token_store = sendpulse.stores.file(dir) }
    assert(a:user_info())
    a:close()
    collectgarbage()
    local b = sandbox.client{ token_store = sendpulse.stores.file(dir) }
    assert(b:user_info())
    assert.equal(1, sandbox.token_requests())
  end)

  it("drops a revoked shared token and fetches one new one", function()
    local store = sendpulse.stores.memory()
    local a = sandbox.client{ token_store = store }
    local b = sandbox.client{ token_store = store }
    assert(a:user_info())
    assert(b:user_info())
    sandbox.revoke()
    assert(a:user_info())      -- 401, drop, refetch, retry
    assert(b:user_info())      -- 401, finds a's new token in the store
    assert.equal(2, sandbox.token_requests())
  end)

  it("works with any table that has get/set/delete", function()
    local calls = {}
    local saved = {}
    local store = {}
    function store.get(_, key)
      calls[#calls + 1] = "get"
      local s = saved[key]
      if s then
        return s[1], s[2]
      end
    end
    function store.set(_, key, token, exp)
      calls[#calls + 1] = "set"
      saved[key] = { token, exp }
    end
    function store.delete(_, key)
      calls[#calls + 1] = "delete"
      saved[key] = nil
    end
    local c = sandbox.client{ token_store = store }
    assert(c:user_info())
    assert(c:user_info())
    assert.same({ "get", "set" }, calls)   -- the client's own copy serves the rest
    local key = next(saved)
    assert.matches("^sendpulse:%x+$", key)
    assert.is_true(saved[key][2] > os.time() + 3000)
  end)

  it("keeps working when the store fails", function()
    local reported = {}
    local broken = {
      get = function() error("store down") end,
      set = function() error("store down") end,
      delete = function() error("store down") end,
    }
    local function report(op, e)
      reported[#reported + 1] = op .. ": " .. tostring(e)
    end
    local c = sandbox.client{ token_store = broken, on_store_error = report }
    assert(c:user_info())
    assert(c:user_info())
    assert.equal(1, sandbox.token_requests())
    -- get and set failed: told once (no log storm), until it works again
    assert.equal(1, #reported)
    assert.matches("get: .*store down", reported[1])
  end)
end)
