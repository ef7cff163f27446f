-- The client's decisions, against a scripted server (spec/support/
-- fake_server.lua): no sockets, no sandbox, milliseconds. Tokens, the one
-- refresh on a 401, what is retried and what never is, pacing, the kinds
-- of error and the fate of a request (err.sent), and user code that
-- misbehaves. The same behaviours are proven against real servers in the
-- sandbox specs; these pin the logic itself.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local fake = require "support.fake_server"

describe("the call logic", function()
  local server

  before_each(function()
    server = fake.new()
  end)

  describe("tokens", function()
    it("fetches one token and reuses it", function()
      local c = server:client()
      for _ = 1, 20 do
        assert(c:get("/user/info"))
      end
      assert.equal(1, server:token_requests())
      assert.equal("fake-token-1", server:requests("GET /user/info")[20].authorization)
    end)

    it("sends an API key as it is, and never fetches a token", function()
      local c = server:client{ api_key = "a-fake-api-key" }
      assert(c:get("/user/info"))
      assert.equal(0, server:token_requests())
      assert.equal("a-fake-api-key", server:requests()[1].authorization)
    end)

    it("refreshes once on a 401, then goes on with the new token", function()
      local c = server:client()
      assert(c:get("/user/info"))
      server:on("GET /user/info", { status = 401, body = '{"error":"expired"}' },
                { status = 200, body = '{"id":1}' })
      assert.same({ id = 1 }, (c:get("/user/info")))
      assert.equal(2, server:token_requests())
      assert.equal("fake-token-2", server:requests("GET /user/info")[3].authorization)
    end)

    it("does not loop on a 401 that persists, in a call or across calls", function()
      local c = server:client()
      server:on("GET /user/info", { status = 401, body = '{"error":"no"}' })
      local _, err = c:get("/user/info")
      assert.equal("auth", err.kind)
      assert.equal("no", err.sent)
      assert.equal(2, server:token_requests())
      -- the replacement was refused too: no new token for the next call
      _, err = c:get("/user/info")
      assert.equal("auth", err.kind)
      assert.equal(2, server:token_requests())
      -- once something succeeds with it, a later 401 is a new revocation
      server:on("GET /user/info", { status = 200, body = "{}" },
                { status = 401, body = "{}" }, { status = 200, body = "{}" })
      assert(c:get("/user/info"))
      assert(c:get("/user/info"))
      assert.equal(3, server:token_requests())
    end)

    it("a batch hitting a persistent 401 fetches one new token, not one per call", function()
      local c = server:client()
      assert(c:get("/user/info"))
      server:on("GET /user/info", { status = 401, body = "{}" })
      local calls = {}
      for i = 1, 20 do
        calls[i] = { "GET", "/user/info" }
      end
      for _, r in ipairs(c:batch(calls)) do
        assert.equal("auth", r[2].kind)
      end
      assert.equal(2, server:token_requests())
    end)

    it("stops at once on refused credentials", function()
      local c = server:client()
      server:on("POST /oauth/access_token", { status = 400, body = '{"error":"invalid_client"}' })
      local _, err = c:get("/user/info")
      assert.equal("auth", err.kind)
      assert.equal("no", err.sent)
      assert.equal(1, server:token_requests())
      assert.equal(0, server:count("GET /user/info"))
    end)

    it("does not believe a token lifetime beyond a day", function()
      local c = server:client()
      server:on("POST /oauth/access_token",
                { status = 200, body = '{"access_token":"fake-long-token","expires_in":1e400}' })
      -- (bracketed by the core's own clock: os.time() reads the coarse
      -- clock, which can still say the last second just after a new one
      -- began, so it could put "now" before the token's receipt)
      local before = core.walltime()
      assert(c:get("/user/info"))
      local after = core.walltime()
      local _, expires = c:token_state()
      assert.is_true(expires >= before + 86400 and expires <= after + 86400,
                     ("expires %.3f, the call from %.3f to %.3f"):format(expires, before, after))
    end)
  end)

  describe("retries", function()
    it("retries a GET after a 5xx, never a POST", function()
      local c = server:client{ max_retries = 2 }
      server:on("GET /a", { status = 503 }, { status = 200, body = "[]" })
      assert(c:get("/a"))
      assert.equal(2, server:count("GET /a"))
      server:on("POST /b", { status = 500, body = '{"error_code":2020202020}' })
      local _, err = c:post("/b", {})
      assert.equal(1, server:count("POST /b"))
      assert.equal(1, err.attempts)
      assert.equal("maybe", err.sent)
    end)

    it("resends a POST only when it surely did not reach the server", function()
      local c = server:client{ max_retries = 2 }
      server:on("POST /b", { failure = 7 }, { status = 200, body = "{}" })
      assert(c:post("/b", {}))
      assert.equal(2, server:count("POST /b"))
      server:on("POST /c", { failure = 52, sent = true })
      local _, err = c:post("/c", {})
      assert.equal(1, server:count("POST /c"))
      assert.equal("transport", err.kind)
      assert.equal("maybe", err.sent)
    end)

    it("retries a per-second 429 for any method, not a plan's 429", function()
      local c = server:client{ max_retries = 1 }
      server:on("POST /d", { status = 429, body = '{"error_code":2020202020}',
                             headers = { ["Retry-After"] = "0" } },
                { status = 200, body = "{}" })
      assert(c:post("/d", {}))
      assert.equal(2, server:count("POST /d"))
      server:on("POST /e", { status = 429, body = "" })
      local _, err = c:post("/e", {})
      assert.equal(1, server:count("POST /e"))
      assert.equal("plan", err.quota)
      assert.equal("no", err.sent)
    end)

    it("counts attempts as the API requests sent, not the token's", function()
      local c = server:client{ max_retries = 2 }
      server:on("GET /f", { status = 429, headers = { ["Retry-After"] = "0" },
                            body = '{"error_code":2020202020}' })
      local _, err = c:get("/f")
      assert.equal(3, err.attempts)
      assert.equal(3, server:count("GET /f"))
      assert.equal(1, server:token_requests())
    end)

    it("does not resend a response head too large to read", function()
      local c = server:client{ max_retries = 2 }
      server:on("GET /g", { failure = 8, sent = true })
      local _, err = c:get("/g")
      assert.equal(1, server:count("GET /g"))
      assert.equal(8, err.code)
    end)

    it("never sleeps past call_timeout: it fails with what failed last", function()
      local c = server:client{ max_retries = 5, call_timeout = 2 }
      server:on("GET /h", { status = 503, headers = { ["Retry-After"] = "10" } })
      local _, err = c:get("/h")
      assert.equal(503, err.status)
      assert.equal(1, server:count("GET /h"))
    end)
  end)

  describe("error kinds and fates", function()
    local cases = {
      { "api", { status = 404, body = '{"error_code":213}' }, "yes" },
      { "http", { status = 502, body = "<html>bad gateway</html>" }, "maybe" },
      { "rate_limit", { status = 400, body = '{"error_code":2020202020}' }, "no" },
      { "decode", { status = 200, body = '{"broken' }, "yes" },
      { "api", { status = 200, body = "false" }, "yes" },
      { "timeout", { failure = 28, sent = true }, "maybe" },
      { "tls", { failure = 60 }, "no" },
      { "transport", { failure = 7 }, "no" },
      { "transport", { failure = 18, sent = true, status = 200 }, "yes" },
    }
    for i, case in ipairs(cases) do
      local kind, ans, sent = case[1], case[2], case[3]
      it(("%s (case %d): err.kind and err.sent"):format(kind, i), function()
        local c = server:client{ api_key = "a-fake-api-key", max_retries = 0 }
        server:on("POST /x", ans)
        local res, err = c:post("/x", {})
        assert.is_nil(res)
        assert.equal(kind, err.kind)
        assert.equal(sent, err.sent)
        assert.matches("^sendpulse " .. kind .. " error", tostring(err))
      end)
    end
  end)

  describe("pacing", function()
    it("sends the next request only once the window allows it", function()
      server.real_sleep = true
      local c = server:client{ api_key = "a-fake-api-key", rate_limit = 5 }
      for _ = 1, 5 do
        assert(c:get("/p"))
      end
      assert.equal(0, #server.sleeps)          -- a burst of 5 is allowed
      assert(c:get("/p"))
      local waited = 0
      for _, s in ipairs(server.sleeps) do
        waited = waited + s
      end
      assert.is_true(waited > 0.9 and waited < 1.1, "waited " .. waited)
    end)

    it("a shared ring: slots held until stamped, the oldest freeing first", function()
      local take, stamp = core.pacer_take, core.pacer_stamp
      local _, state, wait, slot
      local slots = {}
      -- three slots per second, all taken at t=100 and held until 130
      for i = 1, 3 do
        state, wait, slots[i] = take(state, 3, 1, 100, 130)
        assert.equal(0, wait)
      end
      assert.same({ 1, 2, 3 }, slots)
      -- none free: the earliest hold ends at 130, the slot a second later
      local unchanged
      unchanged, wait, slot = take(state, 3, 1, 100.5, 130.5)
      assert.equal(state, unchanged)
      assert.is_nil(slot)
      assert.equal(30.5, wait)
      -- the second request left at 100.7, the first at 100.9: the second's
      -- slot frees first
      state = assert(stamp(state, 3, 2, 130, 100.7))
      state = assert(stamp(state, 3, 1, 130, 100.9))
      _, wait = take(state, 3, 1, 101.2, 131.2)
      assert.is_true(math.abs(wait - 0.5) < 1e-9, wait)
      state, wait, slot = take(state, 3, 1, 101.7, 131.7)
      assert.equal(0, wait)
      assert.equal(2, slot)
      -- a stamp for a slot taken again since (or never this one's) is refused
      assert.is_nil(stamp(state, 3, 2, 130, 102))
      assert.is_nil(stamp(state, 3, 4, 130, 102))
      -- a state of another size starts empty
      _, wait, slot = take(state, 5, 1, 101.7, 131.7)
      assert.equal(0, wait)
      assert.equal(1, slot)
    end)
  end)

  describe("a shared pacer's waits, and the local pacer standing in for it", function()
    local function sum(list)
      local n = 0
      for _, v in ipairs(list) do
        n = n + v
      end
      return n
    end

    it("fails at once when the shared pacer's wait would outrun call_timeout", function()
      local pacer = { reserve = function() return 30, { h = 1 } end }
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10,
                               call_timeout = 2 }
      local _, err = c:get("/d")
      assert.equal("rate_limit", err.kind)
      assert.equal("per_second", err.quota)
      assert.equal(30, err.retry_after)
      assert.equal("no", err.sent)
      assert.matches("call_timeout", err.message)
      assert.same({}, server.sleeps)                -- no sleep at all
      assert.equal(0, server:count("GET /d"))
      -- within the time: slept, then sent
      pacer.reserve = function() return 0.5, { h = 2 } end
      assert(c:get("/d"))
      assert.same({ 0.5 }, server.sleeps)
      assert.equal(1, server:count("GET /d"))
    end)

    it("the same inside the core's own driver (libcurl): nothing slept, nothing sent", function()
      local pacer = { reserve = function() return 30 end }
      local c = sendpulse.new{ api_key = "a-fake-api-key", base_url = "http://127.0.0.1:9",
                               pacer = pacer, call_timeout = 2, quota_per_minute = 100 }
      local t = core.monotime()
      local _, err = c:get("/d")
      assert.is_true(core.monotime() - t < 0.5)
      assert.equal("rate_limit", err.kind)
      assert.equal("per_minute", err.quota)
      assert.equal(30, err.retry_after)
    end)

    it("asks again after a wait when the pacer took no slot (delay, false)", function()
      local answers = { { 0.05, false }, { 0.01, false }, { 0, "slot" } }
      local n = 0
      local pacer = { reserve = function()
        n = n + 1
        return (table.unpack or unpack)(answers[n])   -- luacheck: ignore (5.1)
      end }
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10 }
      assert(c:get("/a"))
      assert.equal(3, n)
      assert.same({ 0.05, 0.01 }, server.sleeps)
      -- an "ask again" beyond the call's time fails at once
      local d = server:client{ api_key = "a-fake-api-key", rate_limit = 10, call_timeout = 1,
                               pacer = { reserve = function() return 5, false end } }
      local _, err = d:get("/a")
      assert.equal("rate_limit", err.kind)
      assert.equal(5, err.retry_after)
      assert.equal(1, server:count("GET /a"))
    end)

    it("stands in at the floor of rate_limit / fleet_size, and of the minute's quota", function()
      local pacer = { reserve = function() return 0 end }
      local function local_shape(opts)
        opts.api_key, opts.pacer = "a-fake-api-key", pacer
        return server:client(opts)._core:settings()
      end
      local s = local_shape{ rate_limit = 10, fleet_size = 3 }
      assert.equal(10, s.shared_cap)
      assert.equal(3, s.local_cap)                  -- 3 hosts x 3: 9, never 10+
      assert.equal(s.shared_span, s.local_span)     -- in the same 1.02 s
      s = local_shape{ rate_limit = 10, fleet_size = 4, quota_per_minute = 30 }
      assert.equal(2, s.local_cap)
      assert.equal(7, s.local_per_minute)           -- 4 x 7 = 28 <= 30
      s = local_shape{ rate_limit = 10, fleet_size = 20 }
      assert.equal(1, s.local_cap)                  -- one per 2.04 s each
      assert.is_true(math.abs(s.local_span - 2.04) < 1e-9, s.local_span)
      s = local_shape{ rate_limit = 10, fleet_size = 1 }
      assert.equal(10, s.local_cap)
      -- without a shared pacer, fleet_size changes nothing
      s = server:client{ api_key = "a-fake-api-key", rate_limit = 10, fleet_size = 3 }
            ._core:settings()
      assert.equal(10, s.local_cap)
    end)

    -- A client of a fleet of 2 whose shared pacer answers "send now" while
    -- `state.up`, and fails otherwise.
    local function fleet_client(state)
      server.real_sleep = true
      local pacer = { reserve = function()
        if state.up then
          return 0
        end
        return nil, "redis down"
      end }
      return server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10,
                            fleet_size = 2 }
    end

    it("counts the sends that went through the shared pacer: no burst on fallback", function()
      local state = { up = true }
      local c = fleet_client(state)
      for _ = 1, 5 do
        assert(c:get("/f"))
      end
      assert.same({}, server.sleeps)
      state.up = false                             -- the shared pacer fails
      local t = core.monotime()
      assert(c:get("/f"))
      -- the local stand-in (5 per 1.02 s) already holds the 5 sends
      local waited = core.monotime() - t
      assert.is_true(sum(server.sleeps) > 0.9 and waited > 0.9, waited)
      assert.is_true(waited < 1.5, waited)
    end)

    it("losing the shared pacer, waits its window out before pacing alone", function()
      -- The others' sends of the last window are only in the shared log: a
      -- host that sent little through it must not add its whole local share
      -- on top of them (seen: 11 in a second, one 429, when Redis was killed)
      local state = { up = true }
      local c = fleet_client(state)
      assert(c:get("/w"))                           -- one send through the fleet
      state.up = false
      local t = core.monotime()
      assert(c:get("/w"))                           -- its local share has 4 free
      local waited = core.monotime() - t
      assert.is_true(waited > 1.0 and waited < 1.6, waited)
      -- then alone at its share, with no further wait
      t = core.monotime()
      for _ = 1, 3 do
        assert(c:get("/w"))
      end
      assert.is_true(core.monotime() - t < 0.5, core.monotime() - t)
    end)

    it("back from a failure, paces alone too for a window: no burst on rejoining", function()
      server.real_sleep = true
      local up = false
      local reserved = 0
      local pacer = { reserve = function()
        if up then
          reserved = reserved + 1
          return 0
        end
        return nil, "redis down"
      end }
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10,
                               fleet_size = 2 }
      for _ = 1, 5 do
        assert(c:get("/j"))                         -- alone: 5 in the window
      end
      assert.same({}, server.sleeps)
      up = true                                     -- the shared pacer is back...
      local t = core.monotime()
      assert(c:get("/j"))
      -- ...but its log lacks those 5 sends: this one waits for the window
      local waited = core.monotime() - t
      assert.is_true(waited > 0.9 and waited < 1.5, waited)
      assert.equal(1, reserved)
      -- a window later, the shared pacer alone decides: 10 at once
      core.sleep(1.1)
      t = core.monotime()
      for _ = 1, 10 do
        assert(c:get("/j"))
      end
      assert.is_true(core.monotime() - t < 0.2)
    end)
  end)

  describe("user code that misbehaves", function()
    it("a pacer that raises fails the call, holding nothing", function()
      local raised = false
      local pacer = { reserve = function()
        if not raised then
          raised = true
          error("pacer bug")
        end
        return 0
      end }
      local c = server:client{ pacer = pacer, rate_limit = 10 }
      local _, err = c:get("/user/info")
      assert.equal("callback", err.kind)
      assert.equal("no", err.sent)
      assert.matches("pacer bug", err.message)
      -- nothing left behind: the next call fetches the token at once
      assert(c:get("/user/info"))
      assert.equal(1, server:token_requests())
    end)

    it("a pacer answering nonsense fails the call; nil, message paces locally", function()
      local answers = { "0.1", nil }
      local reported = {}
      local pacer = { reserve = function() return answers[1], "backend down" end }
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10,
                               on_store_error = function(op, msg)
                                 reported[#reported + 1] = op .. ": " .. msg
                               end }
      local _, err = c:get("/q")
      assert.equal("callback", err.kind)
      assert.matches("returned 0.1", err.message)
      answers[1] = nil
      assert(c:get("/q"))
      assert(c:get("/q"))
      assert.same({ "pace: backend down" }, reported)    -- once per outage
      assert.equal(2, server:count("GET /q"))
    end)

    it("a pacer's slot handle goes back to its sent, once, as the request leaves", function()
      local events = {}
      local pacer = {
        reserve = function(self, key)
          self.key = key
          events[#events + 1] = "reserve"
          return 0, { n = #events }
        end,
        sent = function(self, key, handle, left_at)
          events[#events + 1] = "sent " .. handle.n .. (key == self.key and "" or " wrong key")
                                .. (left_at and " at" or "")
        end,
      }
      server.trace = function(what) events[#events + 1] = what end
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10 }
      server:on("GET /s", function()
        events[#events + 1] = "answer"
        return { status = 200, body = "{}" }
      end)
      assert(c:get("/s"))
      -- a transport that cannot tell when a request leaves: sent once the
      -- attempt is over (libcurl's tells the time its request left)
      assert.same({ "reserve", "send", "answer", "sent 1" }, events)
      events = {}
      server.stamps_sends = true
      c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10 }
      assert(c:get("/s"))
      -- one that can (cosockets, once connected): sent as it leaves
      assert.same({ "reserve", "send", "sent 1", "answer" }, events)
    end)

    it("a pacer's sent that raises is reported and the call goes on", function()
      local reported = {}
      local pacer = { reserve = function() return 0, "h" end,
                      sent = function() error("sent bug") end }
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10,
                               on_store_error = function(op, msg)
                                 reported[#reported + 1] = op .. ": " .. msg
                               end }
      assert(c:get("/t"))
      assert(c:get("/t"))
      assert.equal(1, #reported)
      assert.matches("^pace: the pacer's sent failed: .*sent bug", reported[1])
    end)

    it("a pacer's false, retry_after, name stops the call without sending", function()
      local pacer = { reserve = function() return false, 3600, "per_day" end }
      local c = server:client{ api_key = "a-fake-api-key", pacer = pacer, rate_limit = 10 }
      local _, err = c:get("/r")
      assert.equal("rate_limit", err.kind)
      assert.equal("per_day", err.quota)
      assert.equal(3600, err.retry_after)
      assert.equal("no", err.sent)
      assert.equal(0, server:count("GET /r"))
    end)

    it("a store that yields is refused, reported, and blocks nobody", function()
      local reported = {}
      local store = {
        get = function() coroutine.yield() end,
        set = function() end, delete = function() end,
      }
      local c = server:client{ token_store = store,
                               on_store_error = function(op, msg)
                                 reported[#reported + 1] = op .. ": " .. msg
                               end }
      local co = coroutine.wrap(function() return c:get("/user/info") end)
      assert(co())                                -- the call did not suspend
      assert.matches("yielded", reported[1])
      assert(c:get("/user/info"))                 -- and left nothing behind
    end)

    it("a store returning the wrong types is a miss, reported", function()
      local reported = {}
      local store = { get = function() return 42, "soon" end, set = function() end,
                      delete = function() end }
      local c = server:client{ token_store = store,
                               on_store_error = function(op) reported[#reported + 1] = op end }
      assert(c:get("/user/info"))
      assert.same({ "get" }, reported)
      assert.equal(1, server:token_requests())
    end)

    it("a transport that raises fails the call and releases the token fetch", function()
      local t = server:transport()
      local send = t.send
      local broken = true
      t.send = function(call)
        if broken then
          broken = false
          error("socket library bug")
        end
        return send(call)
      end
      local c = sendpulse.new{ client_id = "fake-client-id", client_secret = "fake-client-secret",
                               base_url = "http://127.0.0.1:9", rate_limit = false,
                               transport = t }
      local _, err = c:get("/user/info")
      assert.equal("transport", err.kind)
      assert.matches("socket library bug", err.message)
      assert(c:get("/user/info"))
    end)

    it("on_progress that raises ends a batch, keeping what completed", function()
      local c = server:client{ api_key = "a-fake-api-key" }
      local calls = {}
      for i = 1, 10 do
        calls[i] = { "GET", "/s" }
      end
      local results, err = c:batch(calls, { concurrency = 2, on_progress = function(done)
        if done == 3 then
          error("progress bug")
        end
      end })
      assert.equal("callback", err.kind)
      local ok, failed = 0, 0
      for i = 1, 10 do
        if results[i][1] then
          ok = ok + 1
        else
          failed = failed + 1
          assert.equal("callback", results[i][2].kind)
        end
      end
      assert.is_true(ok >= 3, ok .. " completed")
      assert.equal(10, ok + failed)
      -- the client goes on as if nothing happened
      assert(c:get("/s"))
    end)

    it("a batch inside another batch's on_progress works", function()
      local c = server:client()
      local inner
      local results = c:batch({ { "GET", "/t" }, { "GET", "/t" } }, { on_progress = function(done)
        if done == 1 then
          inner = c:batch{ { "GET", "/u" }, { "GET", "/u" } }
        end
      end })
      assert(results[1][1] and results[2][1])
      assert(inner[1][1] and inner[2][1])
      assert.equal(1, server:token_requests())
    end)

    it("a call from on_progress does not wait for the batch's own token fetch", function()
      local c = server:client()
      local nested
      local results = c:batch({ { "GET", "/t" }, { "GET", "/t" }, { "GET", "/t" } },
                              { concurrency = 1, on_progress = function(done)
        if done == 1 then
          c:close()                -- (not this one: see below)
        end
      end })
      -- close() inside on_progress: what completed is kept, the rest fails
      assert(results[1][1])
      assert.equal("the client was closed", results[3][2].message)
      c = server:client()
      results = c:batch({ { "GET", "/v" }, { "GET", "/v" } }, { on_progress = function()
        nested = nested or { c:get("/w") }
      end })
      assert(results[1][1] and results[2][1])
      assert(nested[1])
    end)
  end)

  describe("SHA-256", function()
    -- FIPS 180-2 known answers
    local vectors = {
      { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
      { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
      { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
      { string.rep("a", 1000000),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
    }
    for i, v in ipairs(vectors) do
      it("known answer " .. i, function()
        assert.equal(v[2], core.sha256_hex(v[1]))
      end)
    end
  end)
end)
