-- A fleet of hosts on one account (issue 14), end to end: child lua5.4
-- processes (spec/support/fleet_child.lua) and nginx workers against the
-- real sandbox, sharing one token and one rate budget through a real
-- redis-server; nothing is mocked. The assertions use what the sandbox
-- counted (token requests, 429 answers, its peak per second, its request
-- log); the figures are printed, each line starting "fleet:".
--
-- Tagged #fleet: the hosts are lua5.4 processes whatever runs busted, so
-- the file runs once, from the Lua 5.4 run (.busted). The quota proof
-- takes two minutes: it is #slow too.
local core = require "sendpulse.core"
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"
local support = require "support.redis"
local fleet = require "support.fleet"

local servers

local function say(fmt, ...)
  io.stderr:write("\nfleet: ", fmt:format(...), "\n")
end

-- A key prefix of this test alone: it starts with nothing in Redis (no
-- token, an empty send log, no day count).
local function fresh_prefix()
  return "fleet:" .. core.random_hex(6) .. ":"
end

local function base_args(extra)
  return fleet.args({ base = sandbox.url, ca = sandbox.ca, redis = servers.url,
                      prefix = fresh_prefix(), store = "redis", pacer = "redis" }, extra)
end

-- n children with args (a table, or a function of the child's number),
-- starting together `lead` seconds from now; child i's user agent is
-- "fleet-i" (the sandbox logs it)
local function children(n, args, lead)
  local list = {}
  local start = core.monotime() + (lead or 1.5)
  for i = 1, n do
    local a = fleet.args(type(args) == "function" and args(i) or args,
                         { start = start, ua = "fleet-" .. i })
    list[i] = { args = a }
  end
  return list, start
end

local function last_index()
  return sandbox.admin("GET", "/log").last_index
end

-- The sandbox's log entries after index `since` (optionally of one path).
local function entries(since, path)
  local out = {}
  for _, e in ipairs(sandbox.log()) do
    if e.index > since and (not path or e.path == path) then
      out[#out + 1] = e
    end
  end
  return out
end

local function times_of(list, filter)
  local t = {}
  for _, e in ipairs(list) do
    if not filter or filter(e) then
      t[#t + 1] = e.time
    end
  end
  table.sort(t)
  return t
end

-- The most of the sorted times in any window of `span` seconds.
local function window_max(times, span)
  local best, j = 0, 1
  for i = 1, #times do
    while times[i] - times[j] >= span do
      j = j + 1
    end
    best = math.max(best, i - j + 1)
  end
  return best
end

-- Redis's count of script runs (EVALSHA and EVAL) so far.
local function script_runs()
  local raw = support.raw()
  local info = raw:call("INFO", "commandstats")
  raw:close()
  local n = 0
  for _, cmd in ipairs{ "evalsha", "eval" } do
    n = n + (tonumber(info:match("cmdstat_" .. cmd .. ":calls=(%d+)")) or 0)
  end
  return n
end

-- The account's key in the store, as every host computes it.
local function store_key()
  return sandbox.client():store_key()
end

local function count(list, pred)
  local n = 0
  for _, v in ipairs(list) do
    if pred(v) then
      n = n + 1
    end
  end
  return n
end

describe("a fleet of hosts on one account #fleet #redis #sandbox", function()
  setup(function()
    servers = support.servers()
  end)

  teardown(function()
    sandbox.reset()
    support.stop_own()
  end)

  it("six processes without a token: one token fetch, never more than 10 in a second, "
     .. "no 429, over 9 per second together", function()
    sandbox.reset{ rate_limit = 10 }
    local since, runs = last_index(), script_runs()
    local t0 = core.monotime()
    local outputs = fleet.start(children(6, base_args{ n = 15 })).wait(60)
    local wall = core.monotime() - t0
    local ok, fails = fleet.totals(outputs)
    local stats = sandbox.stats()
    local times = times_of(entries(since, "/user/info"))
    local rate = fleet.rate(times)
    local trips = (script_runs() - runs) / (ok + #fails)
    say("6 processes, %d calls: %d token fetch, peak %d per second (the sandbox's count), "
        .. "%d x 429, %.2f requests/s together (%d arrivals over %.2f s); %.2f Redis "
        .. "scripts per call; %.1f s in all", ok + #fails, stats.token_requests,
        stats.peak_per_second, stats.rejected_429, rate, #times, times[#times] - times[1],
        trips, wall)
    assert.equal(90, ok)
    assert.same({}, fails)
    assert.equal(1, stats.token_requests)
    assert.equal(0, stats.rejected_429)
    assert.is_true(stats.peak_per_second <= 10, stats.peak_per_second)
    assert.equal(90, #times)
    assert.is_true(rate >= 9, rate)
  end)

  it("nginx workers and plain processes together: the same figures #ngx", function()
    local ngx_app = require "support.redis_ngx"
    finally(function() ngx_app.stop() end)
    ngx_app.start(4)
    sandbox.reset{ rate_limit = 10 }
    local since = last_index()
    local args = base_args{ n = 15 }
    local list, start = children(2, args)
    local plain = fleet.start(list)
    -- 12 requests at once over the 4 workers, 5 calls each
    local bodies = ngx_app.parallel(("/t/fleet?n=5&prefix=%s&start=%.6f")
                                    :format(args.prefix, start), 12)
    local outputs = plain.wait(60)
    local ok, fails = fleet.totals(outputs)
    local workers, in_ngx = {}, 0
    for _, body in ipairs(bodies) do
      local r = fleet.parse(body)
      local pid = body:match("^worker (%d+)")
      assert(pid, "no answer from a worker: " .. body)
      workers[pid] = true
      in_ngx = in_ngx + #r.ok
      for _, f in ipairs(r.fails) do
        fails[#fails + 1] = f
      end
    end
    local nworkers = 0
    for _ in pairs(workers) do
      nworkers = nworkers + 1
    end
    local stats = sandbox.stats()
    local times = times_of(entries(since, "/user/info"))
    local rate = fleet.rate(times)
    say("%d nginx workers (%d calls) + 2 processes (%d calls): %d token fetch, peak %d per "
        .. "second, %d x 429, %.2f requests/s together", nworkers, in_ngx, ok,
        stats.token_requests, stats.peak_per_second, stats.rejected_429, rate)
    assert.same({}, fails)
    assert.equal(60, in_ngx)
    assert.equal(30, ok)
    assert.is_true(nworkers >= 2, nworkers)
    assert.equal(1, stats.token_requests)
    assert.equal(0, stats.rejected_429)
    assert.is_true(stats.peak_per_second <= 10, stats.peak_per_second)
    assert.equal(90, #times)
    assert.is_true(rate >= 9, rate)
  end)

  describe("quotas", function()
    it("paces a per-minute quota to the full over two minutes, never refused #slow", function()
      sandbox.reset{ rate_limit = 10, per_minute = 30 }
      local since = last_index()
      -- 1 token request + 60 calls: two minutes' quota, and one more
      local args = base_args{ n = 20, quota_per_minute = 30, call_timeout = 90 }
      local outputs = fleet.start(children(3, args)).wait(200)
      local ok, fails = fleet.totals(outputs)
      local stats = sandbox.stats()
      local times = times_of(entries(since))
      local t0 = times[1]
      local first, second = 0, 0
      for _, t in ipairs(times) do
        if t < t0 + 60 then
          first = first + 1
        elseif t < t0 + 120 then
          second = second + 1
        end
      end
      local used = (first + second) / 60
      say("per-minute quota of 30 over two minutes: %d requests in the first minute, %d in "
          .. "the second (%.0f %% of the quota), the 61st %.2f s after the first; %d x 429 "
          .. "(%d per minute, %d per second); peak %d per second", first, second, used * 100,
          times[61] - t0, stats.rejected_429, stats.limits.rejected_per_minute,
          stats.limits.rejected_per_second, stats.peak_per_second)
      assert.same({}, fails)
      assert.equal(60, ok)
      assert.equal(61, #times)
      assert.equal(0, stats.rejected_429)
      assert.is_true(used >= 0.95, used)
      assert.is_true(times[61] - t0 >= 120, times[61] - t0)
    end)

    it("stops the fleet at the per-day quota: the error, nothing sent", function()
      sandbox.reset{ rate_limit = 10, per_day = 6 }
      local args = base_args{ n = 4, quota_per_day = 6 }
      local outputs = fleet.start(children(2, args)).wait(60)
      local ok, fails = 0, {}
      for _, r in ipairs(outputs) do
        assert.equal(0, r.exit, r.text)
        ok = ok + #r.ok
        for _, f in ipairs(r.fails) do
          fails[#fails + 1] = f
        end
      end
      local stats = sandbox.stats()
      -- the token request and 5 calls are the day's 6
      assert.equal(5, ok)
      assert.equal(3, #fails)
      local to_midnight = 86400 - os.time() % 86400
      for _, f in ipairs(fails) do
        assert.equal("rate_limit", f.kind)
        assert.equal("per_day", f.quota)
        assert.is_true(math.abs(f.retry_after - to_midnight) < 5, f.retry_after)
        assert.matches("per%-day quota", f.message)
      end
      assert.equal(6, stats.total)
      assert.equal(0, stats.rejected_429)
      -- one more host of the fleet: refused at once, nothing sent
      local redis_opts = { url = servers.url, prefix = args.prefix }
      local c = sandbox.client{ token_store = sendpulse.stores.redis(redis_opts),
                                pacer = sendpulse.pacers.redis(redis_opts),
                                rate_limit = 10, quota_per_day = 6 }
      local res, err = c:get("/user/info")
      assert.is_nil(res)
      assert.equal("rate_limit", err.kind)
      assert.equal("per_day", err.quota)
      assert.equal("no", err.sent)
      assert.equal(6, sandbox.stats().total)
      say("per-day quota of 6 for 2 processes: %d calls done, %d refused (%s, retry_after "
          .. "%.0f s: %q), the sandbox counted %d requests, %d x 429", ok, #fails + 1,
          err.quota, err.retry_after, err.message, sandbox.stats().total, stats.rejected_429)
    end)
  end)

  describe("faults", function()
    it("Redis killed mid-run and restarted: calls go on, paced alone, then together", function()
      local own = support.private("redis-fleet")
      finally(function() own.stop() end)
      sandbox.reset{ rate_limit = 10 }
      local since = last_index()
      local args = base_args{ redis = own.url, duration = 8, fleet_size = 3 }
      local list, start = children(3, args)
      local f = fleet.start(list)
      local function at(t)
        while core.monotime() < start + t do
          core.sleep(0.005)
        end
      end
      at(2.5)
      own.kill()
      local killed = core.walltime()
      at(6)
      own.revive()
      local revived, mono_revived = core.walltime(), core.monotime()
      -- rejoined: the restarted (empty) Redis has the fleet's send log again
      local raw = assert(core.redis_connect{ host = "127.0.0.1", port = own.port,
                                             password = own.password })
      local pace = args.prefix .. "{" .. store_key() .. "}:pace"
      local rejoined
      while core.monotime() < mono_revived + 5 do
        if raw:call("LLEN", pace) > 0 then
          rejoined = core.monotime() - mono_revived
          break
        end
        core.sleep(0.005)
      end
      raw:close()
      local outputs = f.wait(60)
      local ok, fails = fleet.totals(outputs)
      local stats = sandbox.stats()
      local log = entries(since, "/user/info")
      -- (sandbox times are wall clock, this machine's)
      local during = function(e) return e.time > killed + 0.05 and e.time < revived end
      local outage = times_of(log, during)
      local per_host = 0
      for i = 1, 3 do
        per_host = math.max(per_host, window_max(times_of(log, function(e)
          return during(e) and e.user_agent == "fleet-" .. i
        end), 1.0))
      end
      local reports = 0
      for _, r in ipairs(outputs) do
        reports = reports + #r.store_errors
      end
      local outage_peak = window_max(outage, 1.0)
      -- a host that loses Redis waits its window (1.02 s) and 0.25 s out
      -- before pacing alone: nothing leaves from 0.4 s to 1.2 s after the kill
      local quiet = times_of(log, function(e)
        return e.time > killed + 0.4 and e.time < killed + 1.2
      end)
      -- where the sandbox saw the most in a second: which host sent when
      local all = times_of(log)
      local busiest = {}
      if stats.rejected_429 > 0 or stats.peak_per_second > 10 then
        for i = 1, #all do
          local n = 0
          for j = i, #all do
            n = n + (all[j] < all[i] + 1 and 1 or 0)
          end
          if n > 10 then
            for _, e in ipairs(log) do
              if e.time >= all[i] and e.time < all[i] + 1 then
                busiest[#busiest + 1] = ("%s +%.3f"):format(e.user_agent, e.time - killed)
              end
            end
            break
          end
        end
      end
      say("Redis killed for %.1f s under 3 processes (fleet_size 3): %d calls, %d failed; "
          .. "during the outage %d requests, at most %d per host in a second (the floor of "
          .. "10/3) and %d together, none from 0.4 s to 1.2 s after the kill (%d); budget "
          .. "rejoined %.3f s after the restart; %d outage reports (one per process); peak "
          .. "%d per second, %d x 429%s", revived - killed, ok + #fails, #fails, #outage,
          per_host, outage_peak, #quiet, rejoined or -1, reports, stats.peak_per_second,
          stats.rejected_429, #busiest > 0 and "; the busiest second (seconds after the "
          .. "kill): " .. table.concat(busiest, ", ") or "")
      assert.same({}, fails)
      assert.is_true(ok > 40, ok)
      assert.is_number(rejoined)
      assert.is_true(rejoined < 2, rejoined)
      assert.is_true(per_host <= 3, per_host)
      assert.is_true(outage_peak <= 9, outage_peak)
      assert.is_true(#outage >= 10, #outage)
      assert.equal(0, #quiet)
      assert.equal(3, reports)
      for _, r in ipairs(outputs) do
        assert.equal("pace", r.store_errors[1].op)
        assert.matches("redis 127%.0%.0%.1:%d+", r.store_errors[1].message)
        assert.is_nil(r.store_errors[1].message:find(own.password, 1, true))
      end
      assert.equal(1, stats.token_requests)
      assert.equal(0, stats.rejected_429)
      assert.is_true(stats.peak_per_second <= 10, stats.peak_per_second)
    end)

    it("Redis with the wrong password: calls work alone, reported once per host", function()
      sandbox.reset{ rate_limit = 10 }
      local wrong = servers.url:gsub("//:[^@]+@", "//:not-the-password@")
      local outputs = fleet.start(children(2, base_args{ redis = wrong, n = 8,
                                                         fleet_size = 2 })).wait(60)
      local ok, fails = fleet.totals(outputs)
      local stats = sandbox.stats()
      local reports = {}
      for _, r in ipairs(outputs) do
        reports[#reports + 1] = #r.store_errors
        assert.matches("AUTH refused: WRONGPASS", r.store_errors[1].message)
        assert.is_nil(r.store_errors[1].message:find("not-the-password", 1, true))
      end
      say("wrong Redis password, 2 processes: %d calls done, %d failed, on_store_error "
          .. "told %d and %d times, %d token fetches (one each: no shared store), peak %d "
          .. "per second, %d x 429", ok, #fails, reports[1], reports[2], stats.token_requests,
          stats.peak_per_second, stats.rejected_429)
      assert.equal(16, ok)
      assert.same({}, fails)
      assert.same({ 1, 1 }, reports)
      assert.equal(2, stats.token_requests)
      assert.equal(0, stats.rejected_429)
      assert.is_true(stats.peak_per_second <= 10, stats.peak_per_second)
    end)

    it("a host killed (-9) while it holds the token lock: the others go on after its expiry",
       function()
      sandbox.reset{ rate_limit = 10 }
      -- the first token request hangs (4 s): its host holds the lock meanwhile
      sandbox.fault{ path = "/oauth/access_token", action = "pass", delay = 4, times = 1 }
      local args = base_args{ lock_ttl = 2 }
      local holder = fleet.start{ { args = fleet.args(args, { n = 1 }) } }
      local lock = args.prefix .. "{" .. store_key() .. "}:lock"
      local raw = support.raw()
      local deadline = core.monotime() + 10
      while not raw:call("GET", lock) do
        assert(core.monotime() < deadline, "the holder never took the lock")
        core.sleep(0.01)
      end
      local locked = core.monotime()
      local others = fleet.start(children(3, fleet.args(args, { n = 3 }), 0.2))
      others.wait_ready()
      local pid = holder.peek(1).pid
      support.sh("kill -9 " .. pid)
      local killed = core.monotime()
      local outputs = others.wait(60)
      local ok, fails = fleet.totals(outputs)
      local first = math.huge
      for _, r in ipairs(outputs) do
        first = math.min(first, r.ok[1] or math.huge)
      end
      -- (the sandbox ends the dead host's request after its delay: counted
      -- in the per-second window then, within this test)
      while core.monotime() < locked + 4.5 do
        core.sleep(0.05)
      end
      local stats = sandbox.stats()
      say("lock holder killed -9 %.2f s after taking the lock (lock_ttl 2 s): the others' "
          .. "first call succeeded %.2f s after the kill, %.2f s after the lock was taken; "
          .. "%d calls, %d token fetches (the dead one's and one more)", killed - locked,
          first - killed, first - locked, ok + #fails, stats.token_requests)
      raw:close()
      assert.same({}, fails)
      assert.equal(9, ok)
      assert.equal(2, stats.token_requests)
      assert.is_true(first - locked >= 1.9, first - locked)   -- not before the expiry
      assert.is_true(first - locked < 4, first - locked)
      holder.wait(10)
    end)

    it("a token deleted and revoked behind the fleet's back: one fetch more", function()
      sandbox.reset{ rate_limit = 10 }
      local args = base_args{ duration = 5 }
      local list, start = children(4, args)
      local f = fleet.start(list)
      while core.monotime() < start + 2 do
        core.sleep(0.01)
      end
      local raw = support.raw()
      assert.equal(1, raw:call("DEL", args.prefix .. "{" .. store_key() .. "}:token"))
      raw:close()
      sandbox.revoke()
      local outputs = f.wait(60)
      local ok, fails = fleet.totals(outputs)
      local stats = sandbox.stats()
      local refused = count(sandbox.log(), function(e) return e.status == 401 end)
      say("token deleted from Redis and revoked, 4 processes: %d calls, %d failed, %d "
          .. "answered 401 (each retried once), %d token fetches in all; peak %d per second, "
          .. "%d x 429", ok + #fails, #fails, refused, stats.token_requests,
          stats.peak_per_second, stats.rejected_429)
      assert.same({}, fails)
      assert.equal(2, stats.token_requests)
      assert.is_true(refused >= 1 and refused <= 4, refused)
      assert.equal(0, stats.rejected_429)
    end)

    it("one host's clock 5 s ahead (faketime): the limit holds, Redis keeps the time",
       function()
      sandbox.reset{ rate_limit = 10 }
      local list = children(6, base_args{ n = 10 })
      -- libfaketime moves the wall clock, not the monotonic one the start uses
      list[6].prefix = "FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f +5s"
      local outputs = fleet.start(list).wait(60)
      local ok, fails = fleet.totals(outputs)
      local stats = sandbox.stats()
      local skew = outputs[6].wall - outputs[1].wall
      say("6 processes, one %.1f s ahead: %d calls, %d failed, %d token fetch, peak %d per "
          .. "second, %d x 429; the skewed host made %d calls", skew, ok + #fails, #fails,
          stats.token_requests, stats.peak_per_second, stats.rejected_429, #outputs[6].ok)
      assert.is_true(skew > 4, "faketime did not apply")
      assert.same({}, fails)
      assert.equal(60, ok)
      assert.equal(1, stats.token_requests)
      assert.equal(0, stats.rejected_429)
      assert.is_true(stats.peak_per_second <= 10, stats.peak_per_second)
    end)
  end)

  it("six processes sharing a file store, none holding a token: one token fetch", function()
    sandbox.reset()
    local dir = os.tmpname()
    os.remove(dir)
    finally(function() support.sh("rm -rf '" .. dir .. "'") end)
    local outputs = fleet.start(children(6, { base = sandbox.url, ca = sandbox.ca,
                                              store = "file", dir = dir, n = 3 })).wait(60)
    local ok, fails = fleet.totals(outputs)
    local stats = sandbox.stats()
    say("6 processes on one file store (flock), no token: %d calls, %d failed, %d token "
        .. "fetch", ok + #fails, #fails, stats.token_requests)
    assert.same({}, fails)
    assert.equal(18, ok)
    assert.equal(1, stats.token_requests)
  end)
end)
