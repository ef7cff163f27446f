-- bench/bench.lua - the Lua side of `make bench` (run by bench/run from the
-- repository root with lua5.4). Prints "key value" lines on stdout.
--
--   bench.lua throughput URL CA WARMUP BATCH CONCURRENCY
--       one client, rate_limit = false; warm-up (token, connection, WARMUP
--       sequential calls, two batches), then "ready" and commands on stdin,
--       each answered by "key value" lines and "end":
--         seq SECONDS    50 untimed calls, then sequential
--                        client:user_info() calls for SECONDS
--         batch SECONDS  one untimed batch, then client:batch() of BATCH
--                        GET /user/info calls with CONCURRENCY in flight,
--                        repeated for SECONDS
--         info           the process's VmHWM and VmRSS
--         quit
--   bench.lua memory URL CA CALLS EVERY WARMUP
--       one client, rate_limit = false; WARMUP sequential calls and a
--       batch, then CALLS sequential calls, VmRSS sampled every EVERY calls
--   bench.lua pacing URL CA SECONDS RATE
--       one client with rate_limit = RATE (the default is 10); sequential
--       client:user_info() calls for SECONDS, no warm-up: the first call
--       fetches the token, as in real life
--
-- The credentials are the sandbox's defaults (the fast server accepts any).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath

local sendpulse = require "sendpulse"
local monotime = require("sendpulse.core").monotime

local CLIENT_ID = os.getenv("BENCH_CLIENT_ID") or "sandbox-client-id"
local CLIENT_SECRET = os.getenv("BENCH_CLIENT_SECRET") or "sandbox-client-secret"

-- one write per line: bench/run reads these lines through a pipe
local function out(k, v)
  io.stdout:write(k .. " " .. tostring(v) .. "\n")
end

local function die(msg)
  io.stderr:write("bench.lua: ", tostring(msg), "\n")
  os.exit(1)
end

local function status_kb(field)
  local f = assert(io.open("/proc/self/status", "r"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+) kB"))
end

local function new_client(url, ca, rate_limit)
  return sendpulse.new {
    client_id = CLIENT_ID,
    client_secret = CLIENT_SECRET,
    base_url = url,
    ca_file = ca,
    rate_limit = rate_limit,
  }
end

local function check_one(client)
  local me, err = client:user_info()
  if not me then
    die("user_info failed: " .. tostring(err))
  end
  if type(me) ~= "table" or type(me.email) ~= "string" then
    die("user_info returned no profile")
  end
end

local function check_batch(res, n)
  if #res ~= n then
    die("batch returned " .. #res .. " results for " .. n .. " calls")
  end
  for i = 1, n do
    local r = res[i]
    if r[1] == nil then
      die("batch call " .. i .. " failed: " .. tostring(r[2]))
    end
  end
end

local mode = arg[1]

if mode == "throughput" then
  local url, ca, warmup = arg[2], arg[3], tonumber(arg[4])
  local batch_size, concurrency = tonumber(arg[5]), tonumber(arg[6])
  local client = new_client(url, ca, false)
  io.stdout:setvbuf("line")

  local calls = {}
  for i = 1, batch_size do
    calls[i] = { "GET", "/user/info" }
  end
  local bopts = { concurrency = concurrency }

  -- warm-up: token, connection(s), the easy handles a batch needs
  check_one(client)
  for _ = 2, warmup do
    client:user_info()
  end
  check_one(client)
  for _ = 1, 2 do
    check_batch(client:batch(calls, bopts), batch_size)
  end
  -- requests the server logs with their protocol (see bench/run)
  assert(client:get("/__bench/probe", { who = "lua" }))
  local probes = {}
  for i = 1, concurrency do
    probes[i] = { "GET", "/__bench/probe", query = { who = "batch" } }
  end
  check_batch(client:batch(probes, bopts), concurrency)

  local function run_seq(seconds)
    for _ = 1, 50 do client:user_info() end
    local n, failed = 0, 0
    local c0 = os.clock()
    local t0 = monotime()
    local t1
    repeat
      local me = client:user_info()
      if me == nil then failed = failed + 1 end
      n = n + 1
      t1 = monotime()
    until t1 - t0 >= seconds
    local c1 = os.clock()
    if failed > 0 then die(failed .. " sequential calls failed") end
    out("calls", n)
    out("seconds", string.format("%.6f", t1 - t0))
    out("rate", string.format("%.1f", n / (t1 - t0)))
    out("cpu", string.format("%.4f", c1 - c0))
  end

  local function run_batch(seconds)
    check_batch(client:batch(calls, { concurrency = concurrency }), batch_size)
    local n = 0
    local c0 = os.clock()
    local t0 = monotime()
    local t1
    repeat
      check_batch(client:batch(calls, bopts), batch_size)
      n = n + batch_size
      t1 = monotime()
    until t1 - t0 >= seconds
    local c1 = os.clock()
    out("calls", n)
    out("seconds", string.format("%.6f", t1 - t0))
    out("rate", string.format("%.1f", n / (t1 - t0)))
    out("cpu", string.format("%.4f", c1 - c0))
  end

  out("ready", "")
  for line in io.lines() do
    local cmd, secs = line:match("^(%a+)%s*([%d.]*)")
    if cmd == "seq" then
      run_seq(tonumber(secs))
    elseif cmd == "batch" then
      run_batch(tonumber(secs))
    elseif cmd == "info" then
      out("vm_hwm_kb", status_kb("VmHWM"))
      out("vm_rss_kb", status_kb("VmRSS"))
    elseif cmd == "quit" then
      break
    else
      out("error", "unknown command")
    end
    out("end", "")
  end
  client:close()

elseif mode == "memory" then
  local url, ca = arg[2], arg[3]
  local total, every, warmup = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
  local client = new_client(url, ca, false)
  check_one(client)
  for _ = 2, warmup do
    client:user_info()
  end
  local calls = {}
  for i = 1, 256 do
    calls[i] = { "GET", "/user/info" }
  end
  check_batch(client:batch(calls, { concurrency = 16 }), #calls)
  check_one(client)

  local samples = { status_kb("VmRSS") }
  local heap0 = collectgarbage("count")
  local failed = 0
  local t0 = monotime()
  for i = 1, total do
    if client:user_info() == nil then failed = failed + 1 end
    if i % every == 0 then
      samples[#samples + 1] = status_kb("VmRSS")
    end
  end
  local t1 = monotime()
  if failed > 0 then die(failed .. " calls failed") end
  local lo, hi = math.huge, 0
  for _, s in ipairs(samples) do
    lo, hi = math.min(lo, s), math.max(hi, s)
  end
  out("mem_calls", total)
  out("mem_rate", string.format("%.1f", total / (t1 - t0)))
  out("rss_samples_kb", table.concat(samples, ","))
  out("rss_first_kb", samples[1])
  out("rss_last_kb", samples[#samples])
  out("rss_growth_kb", samples[#samples] - samples[1])
  out("rss_spread_kb", hi - lo)
  out("lua_heap_first_kb", string.format("%.0f", heap0))
  out("lua_heap_last_kb", string.format("%.0f", collectgarbage("count")))
  out("vm_hwm_kb", status_kb("VmHWM"))
  client:close()

elseif mode == "pacing" then
  local url, ca = arg[2], arg[3]
  local seconds, rate = tonumber(arg[4]), tonumber(arg[5])
  local client = new_client(url, ca, rate)
  local done = {}          -- completion times, relative to the start
  local failed, first_err = 0, nil
  local t0 = monotime()
  local t
  repeat
    local me, err = client:user_info()
    t = monotime() - t0
    if me == nil then
      failed = failed + 1
      first_err = first_err or tostring(err)
    end
    done[#done + 1] = t
  until t >= seconds
  -- Sustained rate over whole pacing windows: m calls completed between
  -- the 1st completion and the (1+m)th, m the largest multiple of RATE that
  -- fits. Window edges (the first burst, a cut-off group) do not bias it.
  local m = #done - 1
  m = m - m % math.floor(rate)
  out("pace_calls", #done)
  out("pace_seconds", string.format("%.3f", t))
  out("pace_rate_naive", string.format("%.3f", #done / t))
  out("pace_span_calls", m)
  if m > 0 then
    out("pace_span_seconds", string.format("%.3f", done[1 + m] - done[1]))
    out("pace_rate", string.format("%.3f", m / (done[1 + m] - done[1])))
  end
  out("pace_failed", failed)
  if first_err then out("pace_first_error", (first_err:gsub("\n", " "))) end
  client:close()

else
  die("usage: bench.lua throughput|memory|pacing ...")
end
