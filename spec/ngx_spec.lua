-- OpenResty: the README's nginx.conf, several workers, cosockets, one token
-- and one rate budget for all workers. Tagged "ngx": run once, from the
-- Lua 5.4 busted run (it drives nginx, whose LuaJIT runs the client).
local sandbox = require "support.sandbox"
local app = require "support.ngx_app"
local json = require("sendpulse").json

describe("inside nginx #ngx #sandbox", function()
  after_each(function()
    app.stop()
  end)

  it("answers the seed's endpoints through cosockets", function()
    sandbox.reset()
    app.start(2)
    for name, file in pairs{ user_info = "user_info",
                             invited_users = "invited_users",
                             balance_detail = "balance_detail" } do
      local status, body = app.get("/t/call/" .. name)
      assert.equal(200, status, body)
      assert.same(json.decode(sandbox.seed(file)), json.decode(body))
    end
    assert.equal(1, sandbox.token_requests())
    assert.is_nil(app.error_log():find("%[error%]"))
  end)

  it("adds a contact to a mailing list (the README's location)", function()
    sandbox.reset()
    local book = assert(sandbox.client():create_address_book("nginx list")).id
    app.start(2)
    local status, body = app.get("/subscribe?book=" .. book
                                 .. "&email=frodo%40shire.example&name=Frodo")
    assert.equal(200, status, body)
    assert.equal("subscribed\n", body)
    local contacts = assert(sandbox.client():address_book_emails(book))
    assert.equal("frodo@shire.example", contacts[1].email)
    assert.equal("Frodo", contacts[1].variables.name)
    status = app.get("/subscribe?book=" .. book .. "&email=not-an-email")
    assert.equal(400, status)
  end)

  it("fetches one token for 50 concurrent requests across workers", function()
    sandbox.reset()
    app.start(4)                         -- fresh workers: no token anywhere
    local results = app.parallel("/t/call/user_info", 50)
    assert.equal(50, #results)
    local workers = {}
    for _, r in ipairs(results) do
      assert.equal(200, r.status)
      workers[r.worker] = true
    end
    local nworkers = 0
    for _ in pairs(workers) do
      nworkers = nworkers + 1
    end
    assert.is_true(nworkers >= 2, "only one worker answered")
    assert.equal(1, sandbox.token_requests())
    assert.equal(50, sandbox.count("GET /user/info"))
    print(("\n  [ngx] 50 concurrent requests over %d workers: %d token fetch(es)")
          :format(nworkers, sandbox.token_requests()))
  end)

  it("drops a revoked shared token and fetches exactly one new one", function()
    sandbox.reset()
    app.start(4)
    for _, r in ipairs(app.parallel("/t/call/user_info", 20)) do
      assert.equal(200, r.status)
    end
    assert.equal(1, sandbox.token_requests())
    sandbox.revoke()
    for _, r in ipairs(app.parallel("/t/call/user_info", 20)) do
      assert.equal(200, r.status)
    end
    assert.equal(2, sandbox.token_requests())
  end)

  it("keeps the worker responsive while a call waits on a slow answer", function()
    sandbox.reset()
    app.start(2)
    assert.equal(200, (app.get("/t/call/user_info")))     -- token in place
    sandbox.fault{ path = "/user/info", action = "pass", delay = 1 }
    local wait = app.background("/t/call/user_info")
    -- find pings answered by the worker that is waiting on the sandbox
    local busy_pings = {}
    for _ = 1, 60 do
      local status, secs, headers = app.timed("/t/ping")
      assert.equal(200, status)
      if tonumber(headers["x-busy"]) > 0 then
        busy_pings[#busy_pings + 1] = secs
        if #busy_pings >= 3 then
          break
        end
      end
    end
    local status, slow = wait()
    assert.equal(200, status)
    assert.is_true(slow >= 1, "the slow call took " .. slow .. " s")
    assert.is_true(#busy_pings >= 1, "no ping reached the busy worker")
    local worst = 0
    for _, secs in ipairs(busy_pings) do
      worst = math.max(worst, secs)
    end
    assert.is_true(worst < 0.1, "a ping took " .. worst .. " s")
    print(("\n  [ngx] during a 1 s call, %d pings on the same worker: slowest %.1f ms")
          :format(#busy_pings, worst * 1000))
  end)

  it("runs client:batch in light threads", function()
    sandbox.reset()
    app.start(2)
    local status, body = app.get("/t/batch?n=24")
    assert.equal(200, status, body)
    assert.equal("24\n", body)
    assert.equal(1, sandbox.token_requests())
    assert.equal(24, sandbox.count("GET /user/info"))
  end)

  it("fails exactly as the libcurl transport does", function()
    local parity = require "support.parity"
    sandbox.reset()
    local with_curl = parity.run(sandbox.client, sandbox.admin)
    app.start(2)
    local root = io.popen("pwd"):read("*l")
    local status, body = app.get("/t/parity?root=" .. root)
    assert.equal(200, status, body .. app.error_lines())
    local with_ngx = json.decode(body)
    local n = 0
    for name, expected in pairs(with_curl) do
      assert.same(expected, with_ngx[name], name)
      n = n + 1
    end
    assert.equal(#parity.scenarios, n)
  end)

  it("fails a call at once, unsent, when the shared pacer's wait outlasts call_timeout", function()
    sandbox.reset{ rate_limit = 10 }
    app.start(1)
    -- 20 calls in a row with call_timeout 0.3 s: the 10th slot (the token
    -- took one) frees a window after the first, too late for the calls
    -- that ask meanwhile
    local status, body = app.get("/t/deadline?n=20&call_timeout=0.3")
    assert.equal(200, status, body .. app.error_lines())
    local out = json.decode(body)
    assert.is_true(#out.failures > 0, body)
    for _, f in ipairs(out.failures) do
      assert.equal("rate_limit", f.kind, body)
      assert.equal("no", f.sent, body)
      assert.is_true(f.retry_after > 0, body)
    end
    local stats = sandbox.stats()
    assert.equal(out.ok + 1, stats.total)      -- the successes and the token
    assert.equal(0, stats.rejected_429)
  end)

  it("keeps 4 hammering workers under 10 requests per second together", function()
    sandbox.reset{ rate_limit = 10 }
    app.start(4)
    local results = app.parallel("/t/hammer?n=8", 8)
    local workers = {}
    for _, r in ipairs(results) do
      assert.equal(200, r.status)
      workers[r.worker] = true
    end
    local nworkers = 0
    for _ in pairs(workers) do
      nworkers = nworkers + 1
    end
    local stats = sandbox.stats()
    local seen = json.encode(stats) .. app.error_lines()
    assert.equal(0, stats.rejected_429, seen)
    assert.equal(64 + 1, stats.total, seen)    -- 64 calls and one token
    assert.is_true(stats.peak_per_second <= 10, "peak " .. stats.peak_per_second)
    print(("\n  [ngx] %d workers, %d requests: peak %d in a second, %d x 429")
          :format(nworkers, stats.total, stats.peak_per_second, stats.rejected_429))
  end)
end)
