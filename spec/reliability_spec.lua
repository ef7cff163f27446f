-- Faults nobody scripted into the old fault matrix: the classes of
-- RELIABILITY.md's "What the client promises under misuse and hostile
-- input", each against the sandbox over TLS.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local sandbox = require "support.sandbox"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -m 700 '" .. d .. "'"))
  return d
end

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

describe("reliability #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  describe("what was sent, and what may have been processed", function()
    local client, id

    before_each(function()
      client = sandbox.client()
      id = assert(client:create_address_book("fates")).id
    end)

    it("a chunk read whole, then cut off, is reported as maybe processed", function()
      local contacts = {}
      for i = 1, 50 do
        contacts[i] = ("fate%02d@shire.me"):format(i)
      end
      local path = "/addressbooks/" .. id .. "/emails"
      -- the second chunk: the server reads it all, then resets the connection
      sandbox.fault{ path = path, method = "POST", action = "pass", times = 1 }
      sandbox.fault{ path = path, method = "POST", action = "drop", times = 1 }
      local res, err = client:add_emails(id, contacts, { chunk = 10, concurrency = 1 })
      assert.is_nil(res)
      assert.equal("maybe", err.sent)
      assert.equal(2, err.chunk)
      assert.equal(10, err.done)
      assert.equal(1, err.chunks_done)
      assert.equal(5, err.chunks)
      assert.equal(10, #err.maybe_processed)
      assert.equal("fate11@shire.me", err.maybe_processed[1])
      assert.equal(30, #err.not_sent)
      assert.equal("fate21@shire.me", err.not_sent[1])
      assert.equal(0, #err.refused)
      assert.equal(40, #err.not_done)
      -- the cut-off chunk was sent once, the later ones never
      assert.equal(2, sandbox.count("POST " .. path))
    end)

    it("with chunks in flight together, every chunk's fate is told", function()
      local contacts = {}
      for i = 1, 80 do
        contacts[i] = ("many%02d@shire.me"):format(i)
      end
      local path = "/addressbooks/" .. id .. "/emails"
      sandbox.fault{ path = path, method = "POST", status = 400, times = 1,
                     body = '{"error_code":906,"message":"Email address syntax error"}' }
      local res, err = client:add_emails(id, contacts, { chunk = 10, concurrency = 4 })
      assert.is_nil(res)
      assert.equal("yes", err.sent)
      assert.equal(10, #err.refused)
      -- every item is in exactly one list
      assert.equal(80, err.done + #err.refused + #err.maybe_processed + #err.not_sent)
      assert.equal(err.done, err.chunks_done * 10)
      -- the refused chunk stopped new ones: fewer than 8 chunks were sent
      assert.is_true(sandbox.count("POST " .. path) < 8)
      assert.equal(err.done, assert(client:address_book_emails_total(id)).total)
    end)

    it("close() inside on_progress ends a bulk call with its report, not a raise", function()
      local c = sandbox.client()
      local contacts = {}
      for i = 1, 30 do
        contacts[i] = ("closed%02d@shire.me"):format(i)
      end
      local res, err = c:add_emails(id, contacts, { chunk = 10, concurrency = 1,
        on_progress = function(done)
          if done == 10 then
            c:close()
          end
        end })
      assert.is_nil(res)
      assert.equal(10, err.done)
      assert.equal(20, #err.not_sent)
      assert.matches("closed", err.message)
    end)
  end)

  describe("the file token store", function()
    it("refuses a directory others may write to", function()
      local d = tmpdir()
      assert(os.execute("chmod 777 '" .. d .. "'"))
      local ok, msg = pcall(sendpulse.stores.file, d)
      assert.is_false(ok)
      assert.matches("other users may write", msg)
      os.execute("rm -rf '" .. d .. "'")
    end)

    it("never uses a token file replaced by a link, or one it did not write", function()
      local d = tmpdir()
      local planted = os.tmpname()
      local f = assert(io.open(planted, "w"))
      f:write(("%.3f\n%s\n"):format(os.time() + 3000, "ATTACKER-TOKEN-0123456789"))
      f:close()
      local store = sendpulse.stores.file(d)
      local reported = {}
      local c = sandbox.client{ token_store = store,
                                on_store_error = function(_, m) reported[#reported + 1] = m end }
      assert(c:user_info())
      local file = assert(sh("ls " .. d .. "/*.token"):match("(%S+%.token)"))
      -- a link planted where the token file was
      assert(os.execute("ln -sf '" .. planted .. "' '" .. file .. "'"))
      local c2 = sandbox.client{ token_store = store,
                                 on_store_error = function(_, m) reported[#reported + 1] = m end }
      assert(c2:user_info())
      assert.matches("symbolic link", reported[1])
      -- a copy of someone's token, readable by all
      os.remove(file)
      assert(os.execute("cp '" .. planted .. "' '" .. file .. "' && chmod 644 '" .. file .. "'"))
      local c3 = sandbox.client{ token_store = store,
                                 on_store_error = function(_, m) reported[#reported + 1] = m end }
      assert(c3:user_info())
      assert.matches("readable or writable by other users", reported[#reported])
      for _, e in ipairs(sandbox.log()) do
        assert.is_nil(tostring(e.authorization):find("ATTACKER", 1, true))
      end
      os.remove(planted)
      os.execute("rm -rf '" .. d .. "'")
    end)

    it("keeps working with a token whose lifetime is absurd (expires_in 1e400)", function()
      local d = tmpdir()
      sandbox.fault{ path = "/oauth/access_token", action = "respond", status = 200,
                     body = '{"access_token":"SANDBOXTOKEN-long-life-0001","token_type":'
                            .. '"Bearer","expires_in":1e400}' }
      local c = sandbox.client{ token_store = sendpulse.stores.file(d) }
      local before = core.walltime()
      local _ = c:user_info()      -- (the sandbox does not know that token)
      local after = core.walltime()
      local text = sh("cat " .. d .. "/*.token")
      assert.matches("^%d+%.%d+\n", text)
      local store = sendpulse.stores.file(d)
      local token, expires = store:get(c:store_key())
      assert.truthy(token)
      -- (at most a day: the first token's, or the one fetched after the
      -- 401, an hour. The core's clock, not os.time()'s coarse one, which
      -- can lag a new second; the file keeps milliseconds)
      assert.is_true(expires > before and expires <= after + 86400 + 0.001,
                     ("expires %.3f, the call from %.3f to %.3f"):format(expires, before, after))
      os.execute("rm -rf '" .. d .. "'")
    end)
  end)

  describe("answers the client cannot use", function()
    it("a response head over 64 KiB: refused once, not resent", function()
      local c = sandbox.client{ api_key = sandbox.api_key, max_retries = 2 }
      sandbox.fault{ path = "/user/info", status = 200, body = "{}", times = -1,
                     headers = { ["X-Big"] = string.rep("a", 1048576) } }
      local _, err = c:user_info()
      assert.equal("transport", err.kind)
      assert.equal(8, err.code)
      assert.equal(1, sandbox.count("GET /user/info"))
    end)

    it("a 200 whose body is false is an error, not a false result", function()
      local c = sandbox.client{ api_key = sandbox.api_key }
      sandbox.fault{ path = "/user/info", status = 200, body = "false" }
      local res, err = c:user_info()
      assert.is_nil(res)
      assert.equal("api", err.kind)
      assert.equal(200, err.status)
    end)

    it("err.attempts counts libcurl's own resends too", function()
      local c = sandbox.client{ api_key = sandbox.api_key, max_retries = 2 }
      assert(c:user_info())          -- a connection to reuse
      sandbox.reset()
      sandbox.fault{ path = "/user/info", action = "drop", times = -1 }
      local _, err = c:user_info()
      assert.equal(52, err.code)
      assert.equal(sandbox.count("GET /user/info"), err.attempts)
    end)

    it("call_timeout bounds the whole call, retries included", function()
      local c = sandbox.client{ api_key = sandbox.api_key, max_retries = 5, timeout = 0.5,
                                call_timeout = 1.2 }
      sandbox.fault{ path = "/user/info", action = "pass", delay = 5, times = -1 }
      local _, err = c:user_info()
      assert.equal("timeout", err.kind)
      assert.is_true(err.attempts <= 3, err.attempts .. " attempts")
    end)
  end)

  describe("batches", function()
    it("a persistent 401 costs one new token, not one per call", function()
      local c = sandbox.client()
      assert(c:user_info())
      sandbox.fault{ path = "/user/info", status = 401, times = -1, body = '{"error":"blocked"}' }
      local calls = {}
      for i = 1, 20 do
        calls[i] = { "GET", "/user/info" }
      end
      for _, r in ipairs(c:batch(calls, { concurrency = 8 })) do
        assert.equal("auth", r[2].kind)
      end
      assert.equal(2, sandbox.token_requests())
    end)

    it("interleave from two coroutines on one client", function()
      local c = sandbox.client()
      local a = coroutine.create(function()
        return c:batch({ { "GET", "/user/info" }, { "GET", "/user/invited-users-list" },
                         { "GET", "/user/info" } }, { concurrency = 1, on_progress = function(done)
          if done == 1 then
            coroutine.yield("paused")
          end
        end })
      end)
      assert.same({ true, "paused" }, { coroutine.resume(a) })
      local b = c:batch{ { "GET", "/user/balance/detail" }, { "GET", "/user/info" } }
      assert(b[1][1] and b[2][1])
      local ok, results = coroutine.resume(a)
      assert.is_true(ok)
      for i = 1, 3 do
        assert(results[i][1], tostring(results[i][2]))
      end
      assert.equal(1, sandbox.token_requests())
    end)

    it("a call from on_progress does not wait for the batch's token refresh", function()
      local c = sandbox.client()
      assert(c:user_info())
      -- call 2 is refused (401) and refreshes the token, slowly; call 1
      -- completes meanwhile and its on_progress makes a call of its own
      sandbox.fault{ path = "/user/invited-users-list", action = "pass", delay = 0.3 }
      sandbox.fault{ path = "/user/info", status = 401, times = 1 }
      sandbox.fault{ path = "/oauth/access_token", action = "pass", delay = 1.5, times = 1 }
      local nested
      local results = c:batch({ { "GET", "/user/invited-users-list" }, { "GET", "/user/info" } },
        { on_progress = function(done)
          if done == 1 then
            nested = { c:balance_detail() }
          end
        end })
      assert(results[1][1], tostring(results[1][2]))
      assert(results[2][1], tostring(results[2][2]))
      assert(nested[1], tostring(nested[2]))
    end)

    it("a raising pacer fails the batch's calls and leaves the client usable", function()
      local calls_to_pacer = 0
      local pacer = { reserve = function()
        calls_to_pacer = calls_to_pacer + 1
        if calls_to_pacer <= 2 then
          error("pacer down hard")
        end
        return 0
      end }
      local c = sandbox.client{ pacer = pacer, rate_limit = 10 }
      local results = c:batch{ { "GET", "/user/info" }, { "GET", "/user/info" } }
      for _, r in ipairs(results) do
        if not r[1] then
          assert.equal("callback", r[2].kind)
          assert.equal("no", r[2].sent)
        end
      end
      assert(c:user_info())
    end)
  end)

  describe("messages", function()
    it("a bad query value raises naming it, at the caller's line", function()
      local c = sandbox.client()
      sandbox.bad_argument("query.limit", function()
        c:get("/addressbooks", { limit = {} })
      end, true)
      sandbox.bad_argument("id", function()
        c:address_book(2 ^ 63)
      end, true)
    end)

    it("a paging iterator reports an object where a page belongs", function()
      local c = sandbox.client()
      sandbox.fault{ path = "/addressbooks", status = 200, body = '{"oops":"an object"}' }
      local iter = c:each_address_book()
      local item, err = iter()
      assert.is_false(item)
      assert.equal("decode", err.kind)
      assert.is_nil(iter())
    end)
  end)
end)
