-- bench/report.lua - prints the table of `make bench` from the raw results
-- that bench/run collected (build/bench/results.txt).
--
--   lua5.4 bench/report.lua RESULTS [SANDBOX_STATS_JSON]
--
-- RESULTS has lines "<group> <key> <value...>":
--   rN <slice> <key> <value>  round N; slice c | seq | batch | node; keys
--                             calls, seconds, rate, cpu (the contender's
--                             CPU s), nginx_cpu, machine_cpu, or error
--   mem / pace / info / cinfo / luainfo / nodeinfo <key> <value>
--   far <path> <transport> <scenario> <key> <value>   bench/far.lua
--   farproxy <path> <the proxy's summary line>
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath

local results_file, stats_file = arg[1], arg[2]

local rounds = {}      -- rounds[i][slice][key] = value
local groups = { mem = {}, pace = {}, info = {}, cinfo = {}, luainfo = {}, nodeinfo = {},
                 proto = {} }
local nrounds = 0
local far, farproxy = {}, {}   -- far["PATH TRANSPORT SCENARIO"][key]; proxies' summaries

for line in assert(io.open(results_file)):lines() do
  local group, rest = line:match("^(%S+)%s+(.*)$")
  if group then
    local r = tonumber(group:match("^r(%d+)$"))
    if r then
      nrounds = math.max(nrounds, r)
      local slice, key, value = rest:match("^(%S+)%s+(%S+)%s*(.*)$")
      if slice then
        rounds[r] = rounds[r] or {}
        rounds[r][slice] = rounds[r][slice] or {}
        rounds[r][slice][key] = value
      end
    elseif group == "far" then
      local path, transport, scenario, key, value =
        rest:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s*(.*)$")
      if path then
        local k = path .. " " .. transport .. " " .. scenario
        far[k] = far[k] or {}
        far[k][key] = value
      end
    elseif group == "farproxy" then
      local path, summary = rest:match("^(%S+)%s*(.*)$")
      if path then farproxy[path] = summary end
    elseif groups[group] then
      local key, value = rest:match("^(%S+)%s*(.*)$")
      if key then groups[group][key] = value end
    end
  end
end
local mem, pace, info = groups.mem, groups.pace, groups.info

local stats
if stats_file then
  local f = io.open(stats_file)
  if f then
    local text = f:read("a")
    f:close()
    local ok, decoded = pcall(function()
      return require("sendpulse").json.decode(text)
    end)
    if ok and type(decoded) == "table" then stats = decoded end
  end
end

local function median(vals)
  if #vals == 0 then return nil end
  local s = { table.unpack(vals) }
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

-- one slice's figures over the rounds
local function collect(slice)
  local c = { rates = {}, client_us = {}, nginx_us = {}, errors = {}, conns = 0,
              short = false }
  for r = 1, nrounds do
    local t = rounds[r] and rounds[r][slice]
    if t and t.error then
      c.errors[#c.errors + 1] = t.error
    elseif t and tonumber(t.rate) then
      local calls = tonumber(t.calls)
      c.rates[#c.rates + 1] = tonumber(t.rate)
      c.conns = c.conns + (tonumber(t.server_connections) or 0)
      -- the server must have answered at least the calls counted
      if tonumber(t.server_requests) and tonumber(t.server_requests) < calls then
        c.short = true
      end
      if calls and calls > 0 then
        if tonumber(t.cpu) then
          c.client_us[#c.client_us + 1] = tonumber(t.cpu) / calls * 1e6
        end
        if tonumber(t.nginx_cpu) then
          c.nginx_us[#c.nginx_us + 1] = tonumber(t.nginx_cpu) / calls * 1e6
        end
      end
    end
  end
  c.median = median(c.rates)
  return c
end

local C, SEQ, BATCH, NODE = collect("c"), collect("seq"), collect("batch"), collect("node")

-- CPU used by anything else than the contender and nginx during the slices
local other, span, worst = 0, 0, 0
local cores = tonumber(info.cores) or 2
for r = 1, nrounds do
  for _, t in pairs(rounds[r] or {}) do
    local m, c, n, s = tonumber(t.machine_cpu), tonumber(t.cpu),
                       tonumber(t.nginx_cpu), tonumber(t.seconds)
    if m and c and n and s and s > 0 then
      local o = math.max(0, m - c - n)
      other, span = other + o, span + s
      worst = math.max(worst, o / (s * cores))
    end
  end
end

local lines = {}
local function p(...) lines[#lines + 1] = string.format(...) end
local misses = 0

-- nil (n/a) when the figure is missing, else whether cond holds
local function judged(present, cond)
  if not present then return nil end
  return cond and true or false
end

local function verdict(ok)
  if ok == nil then return "n/a" end
  if not ok then misses = misses + 1 end
  return ok and "PASS" or "MISS"
end

local ROW = "  %-50s %10s   %-9s %s"

-- quantile of a sorted list (linear interpolation)
local function quantile(sorted, q)
  local n = #sorted
  if n == 0 then return nil end
  local pos = 1 + (n - 1) * q
  local lo = math.floor(pos)
  local hi = math.min(lo + 1, n)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
end

-- the ratio num/den within each round where both ran
local function paired(num, den)
  local out = {}
  for r = 1, nrounds do
    local a = rounds[r] and rounds[r][num]
    local b = rounds[r] and rounds[r][den]
    local x, y = a and not a.error and tonumber(a.rate), b and not b.error and tonumber(b.rate)
    if x and y and y > 0 then out[#out + 1] = x / y end
  end
  table.sort(out)
  return out
end

-- the ratio of CPU per call, num/den, within each round where both ran
local function paired_cpu(num, den)
  local out = {}
  for r = 1, nrounds do
    local a = rounds[r] and rounds[r][num]
    local b = rounds[r] and rounds[r][den]
    local ca, na = a and tonumber(a.cpu), a and tonumber(a.calls)
    local cb, nb = b and tonumber(b.cpu), b and tonumber(b.calls)
    if ca and na and cb and nb and na > 0 and nb > 0 and cb > 0 and not a.error
       and not b.error then
      out[#out + 1] = (ca / na) / (cb / nb)
    end
  end
  table.sort(out)
  return out
end

local function spread_of(rs, fmt)
  return #rs >= 4 and (fmt:format(quantile(rs, 0.25)) .. " .. " .. fmt:format(quantile(rs, 0.75)))
         or ""
end

local function ratio_row(label, num, den, target, times)
  local rs = paired(num, den)
  local v = median(rs)
  local fmt = times and "%.2fx" or "%.3f"
  local shown = v and fmt:format(v) or "n/a"
  local spread = #rs >= 4 and (fmt:format(quantile(rs, 0.25)) .. " .. " ..
                               fmt:format(quantile(rs, 0.75))) or ""
  p(ROW .. "  %s", label, shown, (times and ">= %gx" or ">= %g"):format(target),
    verdict(v and v >= target), spread)
end

p("lua-sendpulse benchmark (make bench): %d rounds of %s s per contender; ratios: median of "
  .. "the rounds' ratios", nrounds, info.seconds or "?")
p("")
p(ROW .. "  %s", "RATIOS", "value", "target", "result", "middle half of the rounds")
do
  local rs = paired_cpu("seq", "c")
  local v = median(rs)
  p(ROW .. "  %s", "1. client CPU per call, Lua seq / C libcurl seq",
    v and ("%.2fx"):format(v) or "n/a", "<= 1.15x", verdict(v and v <= 1.15),
    spread_of(rs, "%.2fx"))
end
p(ROW .. "  %s", "   calls/s, Lua seq / C libcurl seq",
  (function()
    local v = median(paired("seq", "c"))
    return v and ("%.3f"):format(v) or "n/a"
  end)(), "-", "(reported)", spread_of(paired("seq", "c"), "%.3f"))
ratio_row(string.format("   Lua batch, %s in flight / Lua seq", info.concurrency or "?"),
  "batch", "seq", 2.5, true)
do
  local rs = paired_cpu("node", "seq")
  local v = median(rs)
  p(ROW .. "  %s", "2. client CPU per call, Node sendpulse-api / Lua",
    v and ("%.2fx"):format(v) or "n/a", "-", "(reported)", spread_of(rs, "%.2fx"))
  rs = paired("seq", "node")
  v = median(rs)
  p(ROW .. "  %s", "   calls/s, Lua seq / Node seq", v and ("%.2fx"):format(v) or "n/a",
    "-", "(reported)", spread_of(rs, "%.2fx"))
end

-- 3, 4: the far part (bench/far.lua) --------------------------------------
local largest = tonumber(info.far_largest)
local function far_of(path, transport, scenario)
  return far[path .. " " .. transport .. " " .. scenario]
end
local function num(t, k) return t and tonumber(t[k]) end
local function server_note(t)
  if not t then return "" end
  if t.error then return "error: " .. t.error:sub(1, 110) end
  local parts = {}
  if t.server_peak_1s then parts[#parts + 1] = "peak " .. t.server_peak_1s .. "/s" end
  if t.server_429 then parts[#parts + 1] = t.server_429 .. " x 429" end
  if tonumber(t.failed) and tonumber(t.failed) > 0 then
    parts[#parts + 1] = t.failed .. " failed"
  end
  if t.connections then parts[#parts + 1] = t.connections .. " new conn." end
  if t.wall_s then
    parts[#parts + 1] = ("job %.1f s"):format(tonumber(t.wall_s))
  end
  return table.concat(parts, ", ")
end
-- a paced job: server-side rate over whole windows >= 9.5, at most 10 in
-- any 1 s, no 429, nothing failed
local function budget_row(label, t)
  local v = num(t, "server_rate")
  local ok
  if t and not t.error and v then
    ok = v >= 9.5 and (num(t, "server_peak_1s") or 99) <= 10 and num(t, "server_429") == 0
         and (num(t, "failed") or 0) == 0
  elseif t then
    ok = false
  end
  p(ROW .. "  %s", label, v and ("%.2f/s"):format(v) or "n/a", ">= 9.5", verdict(ok),
    server_note(t))
end
if info.far_rtts then
  p("")
  p("  3. BUDGET USE: the sandbox N ms away (round trip) with its limit of 10/s, the client")
  p("     with rate_limit = 10; batch: %s GETs, %s in flight; add_emails: %s contacts in chunks "
    .. "of %s;", info.far_batch or "?", info.far_concurrency or "?", info.far_contacts or "?",
    info.far_chunk or "?")
  p("     value: admitted requests/s at the sandbox over whole pacing windows")
  for rtt in info.far_rtts:gmatch("%d+") do
    local r = tonumber(rtt)
    local path = "r" .. rtt
    local seq = far_of(path, "curl", "seq")
    local v = num(seq, "server_rate") or num(seq, "client_rate")
    -- a sequential loop can do no better than one call per round trip,
    -- nor than the pacing window allows
    local bound = math.min(r > 0 and 1000 / r or math.huge, 10 / 1.02)
    p(ROW .. "  %s", ("   %d ms: sequential user_info()"):format(r),
      v and ("%.2f/s"):format(v) or "n/a", (">= %.2f"):format(0.95 * bound),
      verdict(judged(seq, v and v >= 0.95 * bound and num(seq, "server_429") == 0)),
      server_note(seq))
    budget_row(("   %d ms: client:batch"):format(r), far_of(path, "curl", "batch"))
    budget_row(("   %d ms: add_emails"):format(r), far_of(path, "curl", "bulk"))
  end
  if largest and largest > 0 then
    local rl = "r" .. largest
    budget_row(("   %d ms + 0-%s ms jitter each way: client:batch"):format(largest,
      info.far_jitter or "?"), far_of("jitter", "curl", "batch"))
    budget_row(("   %d ms + jitter: add_emails"):format(largest), far_of("jitter", "curl", "bulk"))
    budget_row(("   %d ms, nginx cosockets: client:batch"):format(largest),
      far_of(rl, "ngx", "batch"))
    budget_row(("   %d ms, cosockets: batch, shared pacer (README)"):format(largest),
      far_of(rl, "ngx", "batch_shared"))
    budget_row(("   %d ms, cosockets: add_emails"):format(largest), far_of(rl, "ngx", "bulk"))
    budget_row(("   %d ms + jitter, cosockets: client:batch"):format(largest),
      far_of("jitter", "ngx", "batch"))
    budget_row(("   %d ms + jitter, cosockets: add_emails"):format(largest),
      far_of("jitter", "ngx", "bulk"))
    local ref = far_of(rl, "curl", "bulk_batch")
    local rv = num(ref, "server_rate")
    p(ROW .. "  %s", ("   %d ms: the chunks as one batch of POSTs"):format(largest),
      rv and ("%.2f/s"):format(rv) or "n/a", "-", "(reported)", server_note(ref))

    -- 4: round trips at the largest distance
    local rtt_s = largest / 1000
    p("")
    p("  4. ROUND TRIPS, the sandbox %d ms away; TLS resumption: the fast server 100 ms away",
      largest)
    local function rt_row(label, t, key, target)
      local v = num(t, key)
      local rt = v and v / rtt_s
      p(ROW .. "  %s", label, rt and ("%.2f"):format(rt) or "n/a", ("<= %g"):format(target),
        verdict(judged(t, rt and rt <= target)),
        t and t.error and ("error: " .. t.error) or (v and ("%.3f s"):format(v) or ""))
    end
    for _, tr in ipairs{ { "curl", "libcurl" }, { "ngx", "cosockets" } } do
      local t = far_of(rl, tr[1], "rtt")
      rt_row(("   %s: first call (TCP, TLS, token, call)"):format(tr[2]), t, "first_s", 4.25)
      rt_row(("   %s: warm call"):format(tr[2]), t, "warm_s", 1.1)
      rt_row(("   %s: reconnect, sandbox TLS 1.2 listener"):format(tr[2]), t,
        "reconnect_s", 3.25)
    end
    for _, tr in ipairs{ { "curl", "libcurl" }, { "ngx", "cosockets" } } do
      for _, tls in ipairs{ "t12", "t13" } do
        local t = far_of(tls, tr[1], "resume")
        local new, resumed = num(t, "connections_new"), num(t, "connections_resumed")
        local rt = num(t, "reconnect_s") and num(t, "reconnect_s") / 0.1
        local shown = resumed and new and ("%d of %d"):format(resumed, resumed + new - 1)
        p(ROW .. "  %s", ("   %s: TLS %s sessions resumed on reconnect"):format(tr[2],
            tls == "t12" and "1.2" or "1.3"), shown or "n/a", "all",
          verdict(judged(t, resumed and new and new <= 1 and resumed >= 1)),
          t and t.error and ("error: " .. t.error)
            or (rt and ("reconnect %.2f round trips (100 ms)"):format(rt) or ""))
      end
    end
  end
  local latest
  for _, summary in pairs(farproxy) do
    local late = tonumber(summary:match("late by ([%d.]+) ms at most"))
    if late and (not latest or late > latest) then latest = late end
  end
  if latest then
    p("   (the proxies released bytes late by %.1f ms at most%s)", latest,
      latest > 20 and ": WARNING, the machine was busy, the far figures are noisy" or "")
  end
end

p("")
local growth = tonumber(mem.rss_growth_kb)
p(ROW, string.format("5. RSS growth over %s calls", mem.mem_calls or "?"),
  growth and string.format("%+d kB", growth) or "n/a", "-", "(reported)")
do
  local samples = {}
  for v in (mem.rss_samples_kb or ""):gmatch("%d+") do samples[#samples + 1] = tonumber(v) end
  if #samples >= 3 then
    local mid = math.ceil(#samples / 2)
    local calls = tonumber(mem.mem_calls) or 0
    p(ROW, string.format("   of which in the last %d calls",
      math.floor(calls * (#samples - mid) / (#samples - 1) + 0.5)),
      string.format("%+d kB", samples[#samples] - samples[mid]), "-", "(reported)")
  end
end
p(ROW, "   peak RSS of the Lua process",
  mem.vm_hwm_kb and string.format("%.1f MB", tonumber(mem.vm_hwm_kb) / 1024) or "n/a",
  "-", "(reported)")
do
  local mb = far_of("-", "curl", "memory_batch")
  local hwm, before = num(mb, "hwm_kb"), num(mb, "rss_before_kb")
  p(ROW .. "  %s", ("   client:batch of %s calls: peak RSS"):format(mb and mb.calls or "?"),
    hwm and ("%.1f MB"):format(hwm / 1024) or "n/a", "-", "(reported)",
    mb and mb.error and ("error: " .. mb.error)
      or (hwm and before and ("+%.1f MB over the batch, its %s results included"):format(
        (hwm - before) / 1024, mb.calls) or ""))
  local mi = far_of("-", "curl", "memory_import")
  local base, shwm = num(mi, "rss_base_kb"), num(mi, "streamed_hwm_kb")
  p(ROW .. "  %s", ("   import of %s contacts from a file: peak RSS"):format(
      mi and mi.streamed_contacts or "?"),
    shwm and ("%.1f MB"):format(shwm / 1024) or "n/a", "-", "(reported)",
    mi and mi.error and ("error: " .. mi.error)
      or (shwm and base and ("+%.1f MB over the client's, read and sent %s at a time; "
        .. "%s requests"):format((shwm - base) / 1024, "10000", mi.streamed_requests or "?")
        or ""))
  local list, hhwm = num(mi, "list_rss_kb"), num(mi, "held_hwm_kb")
  local added = list and hhwm and math.max(0, hhwm - list)
  local own = list and base and list - base
  p(ROW .. "  %s", "   the same list held in a table: the client adds",
    added and ("%.1f MB"):format(added / 1024) or "n/a", "<= 25% of it",
    verdict(judged(mi, added and own and own > 0 and added <= 0.25 * own)),
    own and ("the list itself takes %.1f MB; not held twice"):format(own / 1024) or "")
end

local target_rate = tonumber(info.pace_target) or 10
local prate = tonumber(pace.pace_rate)
local pct = prate and 100 * prate / target_rate or nil
p(ROW, string.format("6. pacing at rate_limit=%g: achieved / %g per s", target_rate, target_rate),
  pct and string.format("%.1f%%", pct) or "n/a", "95-100%",
  verdict(pct and (pct >= 95 and pct <= 100.05)))
local rejected = stats and tonumber(stats.rejected_429)
p(ROW, "   pacing: 429s counted by the sandbox", rejected and tostring(rejected) or "n/a",
  "0", verdict(rejected and rejected == 0))

p("")
p("  %-50s %10s  %-15s %-16s %s", "RAW FIGURES", "calls/s", "calls/s", "CPU us/call:",
  "new TLS")
p("  %-50s %10s  %-15s %-16s %s", "", "median", "min .. max", "client, nginx", "connections")
local function rounds_list(vals)
  if #vals == 0 then return "" end
  return string.format("%.0f .. %.0f", math.min(table.unpack(vals)), math.max(table.unpack(vals)))
end
local function raw(label, c, note)
  local cpu = ""
  if #c.client_us > 0 then
    cpu = string.format("%.0f, %.0f", median(c.client_us), median(c.nginx_us) or 0)
  end
  p("  %-50s %10s  %-15s %-16s %-6s %s", label,
    c.median and string.format("%.0f", c.median) or "n/a",
    rounds_list(c.rates), cpu, #c.rates > 0 and tostring(c.conns) or "",
    note or "")
  for _, e in ipairs(c.errors) do p("      error: %s", e) end
  if c.short then
    p("      WARNING: nginx counted fewer requests than the calls reported")
  end
end
local proto = groups.proto
raw("C libcurl, one reused easy handle, sequential", C, proto.c)
raw("Lua client:user_info(), sequential", SEQ, proto.lua)
raw(string.format("Lua client:batch(), %s calls, %s in flight", info.batch or "?",
  info.concurrency or "?"), BATCH, proto.batch)
if info.node_note then
  p("  %-50s %10s  (%s)", "Node sendpulse-api, sequential", "n/a", info.node_note)
else
  raw("Node sendpulse-api sendRequest('user/info', 'GET')", NODE, proto.node)
end
if span > 0 then
  local repeated = tonumber(info.repeated_slices) or 0
  p("  %-50s %9.1f%%  (worst slice %.0f%%; %d slice%s measured again)",
    "other processes' CPU during the slices", 100 * other / (span * cores), 100 * worst,
    repeated, repeated == 1 and "" or "s")
  if worst > 0.15 then
    p("      WARNING: the machine was busy with other work: these figures are noisy")
  end
end

if mem.error then
  p("  memory run: error: %s", mem.error)
else
  p("  %-50s %s", "VmRSS, kB: after warm-up, then every " ..
    (info.memory_every or "?") .. " calls", "")
  p("      %s", (mem.rss_samples_kb or "n/a"):gsub(",", " "))
  p("  %-50s %10s  (%s calls/s in that run)", "Lua heap before / after, kB",
    (mem.lua_heap_first_kb or "?") .. " / " .. (mem.lua_heap_last_kb or "?"), mem.mem_rate or "?")
end
if pace.error then
  p("  pacing run: error: %s", pace.error)
else
  p("  %-50s %10s  (%s calls in %s s; %s calls in %s s end to end)",
    "pacing: calls/s over whole windows", pace.pace_rate or "n/a",
    pace.pace_span_calls or "?", pace.pace_span_seconds or "?",
    pace.pace_calls or "?", pace.pace_seconds or "?")
  if tonumber(pace.pace_failed) and tonumber(pace.pace_failed) > 0 then
    p("      %s calls failed, first: %s", pace.pace_failed, pace.pace_first_error or "?")
  end
  if stats then
    p("  %-50s %10s  (token requests %s, peak %s in 1 s)",
      "pacing: requests seen by the sandbox", tostring(stats.total),
      tostring(stats.token_requests), tostring(stats.peak_per_second))
  end
end

p("")
p("machine: %s, %s cores, %s", info.cpu or "?", info.cores or "?", info.kernel or "?")
p("versions: lua-sendpulse %s, %s, libcurl %s, OpenSSL %s, nginx %s, Node %s%s",
  info.sendpulse or "?", info.lua or "?", info.libcurl or "?", info.openssl or "?",
  info.nginx or "?", info.node or "?",
  info.node_pkg_version and (", sendpulse-api " .. info.node_pkg_version) or "")
if misses > 0 then
  p("")
  p("MISS: %d target%s not met", misses, misses == 1 and "" or "s")
end

io.stdout:write(table.concat(lines, "\n"), "\n")
