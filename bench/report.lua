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
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath

local results_file, stats_file = arg[1], arg[2]

local rounds = {}      -- rounds[i][slice][key] = value
local groups = { mem = {}, pace = {}, info = {}, cinfo = {}, luainfo = {}, nodeinfo = {},
                 proto = {} }
local nrounds = 0

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
ratio_row("1. Lua user_info() seq / C libcurl seq", "seq", "c", 0.85)
ratio_row("2. Lua user_info() seq / Node sendpulse-api seq", "seq", "node", 2, true)
ratio_row(string.format("3. Lua batch, %s in flight / Lua seq", info.concurrency or "?"),
  "batch", "seq", 2.5, true)

local growth = tonumber(mem.rss_growth_kb)
p(ROW, string.format("4. RSS growth over %s calls", mem.mem_calls or "?"),
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

local target_rate = tonumber(info.pace_target) or 10
local prate = tonumber(pace.pace_rate)
local pct = prate and 100 * prate / target_rate or nil
p(ROW, string.format("5. pacing at rate_limit=%g: achieved / %g per s", target_rate, target_rate),
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
