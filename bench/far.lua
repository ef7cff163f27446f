-- bench/far.lua - the far part of `make bench`: the client against the
-- sandbox put 0-300 ms (round trip) away by tools/latency-proxy, with the
-- sandbox's limit of 10 requests per second armed. bench/run starts the
-- proxies (and the nginx that runs the client on cosockets) and then
--
--   lua5.4 bench/far.lua PLAN
--
-- PLAN has one line per fact (written by bench/run):
--   sandbox URL CA              the sandbox, reached directly (admin API)
--   ngx URL PIDFILE             the OpenResty app running this file inside
--                               nginx (bench/far-nginx.conf.in), optional;
--                               it is reloaded (HUP) before each of its
--                               runs, so that no pooled connection and no
--                               shared pacer state carries over
--   path NAME D J URL SHORT TL  a proxy: one-way delay D ms, jitter J ms, in
--                               front of the sandbox's main listener (URL)
--                               and of its 1 s keep-alive listener (SHORT);
--                               TL its timeline file
--   resume NAME D URL TL        a proxy in front of a reconnect listener of
--                               the fast nginx (bench/nginx.conf.in)
--   run TRANSPORT SCENARIO PATH key=value...   one measurement (as=NAME
--                               names it NAME in the output)
--
-- and prints "far PATH TRANSPORT SCENARIO KEY VALUE" lines, which bench/run
-- records and bench/report.lua turns into the table. TRANSPORT is curl
-- (this process, libcurl) or ngx (the same scenario code run inside
-- nginx, cosockets, through GET URL/far?...).
--
-- Each scenario starts from a reset sandbox with rate_limit = 10 and a new
-- client with the default rate_limit (10), warms it up (token, one call,
-- its connection), waits 1.1 s so that neither the client's pacing window
-- nor the sandbox's holds the warm-up, then runs its job and reads what
-- the sandbox saw (GET /__sandbox/log since the warm-up; arrival times in
-- ms) and what the proxy saw (new connections, from its timeline).
--
--   rtt     a first call on a new client (TCP, TLS, token, call), warm
--           calls, and reconnects: calls on the 1 s keep-alive listener
--           after 1.5 s idle, when the server has closed the connection
--   seq     n sequential client:user_info() calls
--   batch   client:batch of n GET /user/info, `concurrency` in flight
--   bulk    client:add_emails of n contacts in chunks of `chunk`
--   bulk_batch  the same chunks sent as one client:batch of POSTs,
--           `concurrency` in flight: what a concurrent bulk helper gets
--   resume  against the fast nginx: a first call, then reconnects after
--           1.3 s idle; its log says whether TLS sessions were resumed
--   memory_batch / memory_import   (no proxy, fast nginx, no pacing) the
--           RSS of one client:batch of n calls, and of an import of n
--           contacts written to a file and read back
local _M = {}

local floor = math.floor
local tostring = tostring
local unpack = table.unpack or unpack   -- luacheck: ignore (LuaJIT)

local CLIENT_ID = "sandbox-client-id"
local CLIENT_SECRET = "sandbox-client-secret"
local API_KEY = "sandbox-api-key"
local RATE = 10

local function median(list)
  local s = { unpack(list) }
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

local function fmt(v)
  if type(v) == "number" and v ~= floor(v) then
    return ("%.4f"):format(v)
  end
  return tostring(v)
end

-- An ordered list of results.
local function results()
  local out = {}
  return out, function(k, v)
    out[#out + 1] = { k, fmt(v) }
  end
end

-- The proxy's new connections between t0 and t1 (CLOCK_MONOTONIC).
local function connections(timeline, t0, t1)
  local f = timeline and io.open(timeline, "r")
  if not f then return nil end
  local n = 0
  for line in f:lines() do
    local t, what = line:match("^(%S+) (%S+)")
    t = tonumber(t)
    if what == "open" and t and t >= t0 and t <= t1 then
      n = n + 1
    end
  end
  f:close()
  return n
end

-- What the sandbox saw of a job: its log entries after `mark`.
--   requests, admitted, 429s; peak: most arrivals in any 1.0 s (the
--   sandbox's own definition); rate: admitted requests per second over
--   whole pacing windows (m requests between the 1st and the (1+m)th
--   admitted arrival, m the largest multiple of the limit that fits: the
--   first burst of a window and a cut-off last one do not bias it).
local function server_view(env, mark, put)
  local log = env.admin("GET", "/log?since=" .. mark)
  local all, ok = {}, {}
  local rejected = 0
  for _, e in ipairs(log.entries) do
    all[#all + 1] = e.time
    if e.status == 429 then
      rejected = rejected + 1
    else
      ok[#ok + 1] = e.time
    end
  end
  table.sort(all)
  table.sort(ok)
  local peak, j = 0, 1
  for i = 1, #all do
    while all[i] - all[j] >= 1.0 - 1e-9 do j = j + 1 end
    if i - j + 1 > peak then peak = i - j + 1 end
  end
  put("server_requests", #all)
  put("server_429", rejected)
  put("server_peak_1s", peak)
  local m = #ok - 1
  m = m - m % RATE
  if m > 0 and ok[1 + m] > ok[1] then
    put("server_rate", m / (ok[1 + m] - ok[1]))
    put("server_rate_span", ok[1 + m] - ok[1])
  end
  if #ok > 1 then
    put("server_span", ok[#ok] - ok[1])
  end
end

local function last_index(env)
  return env.admin("GET", "/log?since=1000000000").last_index or 0
end

local function fresh_sandbox(env)
  env.admin("POST", "/reset")
  env.admin("POST", "/config", { rate_limit = RATE })
end

local function new_client(env, url, extra)
  local opts = { client_id = CLIENT_ID, client_secret = CLIENT_SECRET,
                 base_url = url }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return env.new_client(opts)
end

local function check(res, err)
  if res == nil then
    error("a call failed: " .. tostring(err), 0)
  end
  return res
end

-- A new client, warmed up (token, one call, its connection); the pacing
-- windows are left to empty. Returns the client and the log mark.
local function warm_client(env, p)
  fresh_sandbox(env)
  local client = new_client(env, p.url, env.client_opts)
  check(client:user_info())
  env.sleep(1.1)
  return client, last_index(env)
end

local scenarios = {}

function scenarios.rtt(env, p, put)
  fresh_sandbox(env)
  local client = new_client(env, p.url, env.client_opts)
  local t0 = env.now()
  check(client:user_info())
  put("first_s", env.now() - t0)
  local warm = {}
  for i = 1, tonumber(p.warm) or 5 do
    t0 = env.now()
    check(client:user_info())
    warm[i] = env.now() - t0
  end
  put("warm_s", median(warm))
  client:close()
  -- reconnects: the keep-alive listener closes idle connections after 1 s
  client = new_client(env, p.short, env.client_opts)
  check(client:user_info())
  local again = {}
  for i = 1, tonumber(p.reconnects) or 2 do
    env.sleep(tonumber(p.idle) or 1.5)
    t0 = env.now()
    check(client:user_info())
    again[i] = env.now() - t0
  end
  put("reconnect_s", median(again))
  client:close()
end

function scenarios.seq(env, p, put)
  local client, mark = warm_client(env, p)
  local n = tonumber(p.n) or 20
  local t0 = env.now()
  for _ = 1, n do
    check(client:user_info())
  end
  local t1 = env.now()
  put("calls", n)
  put("wall_s", t1 - t0)
  put("client_rate", n / (t1 - t0))
  put("connections", connections(env.timeline, t0, t1) or "n/a")
  server_view(env, mark, put)
  client:close()
end

function scenarios.batch(env, p, put)
  local client, mark = warm_client(env, p)
  local n, conc = tonumber(p.n) or 120, tonumber(p.concurrency) or 8
  local calls = {}
  for i = 1, n do calls[i] = { "GET", "/user/info" } end
  local t0 = env.now()
  local res = client:batch(calls, { concurrency = conc })
  local t1 = env.now()
  local failed = 0
  for i = 1, n do
    if res[i][1] == nil then failed = failed + 1 end
  end
  put("calls", n)
  put("concurrency", conc)
  put("failed", failed)
  put("wall_s", t1 - t0)
  put("client_rate", n / (t1 - t0))
  put("connections", connections(env.timeline, t0, t1) or "n/a")
  server_view(env, mark, put)
  client:close()
end

local function contacts(n)
  local list = {}
  for i = 1, n do
    list[i] = ("c%d@far.example"):format(i)
  end
  return list
end

-- a mailing list to import into, made before the mark
local function book_for(client, name)
  return check(client:create_address_book(name .. " " .. tostring(os.time()))).id
end

function scenarios.bulk(env, p, put)
  local client = warm_client(env, p)
  local book = book_for(client, "far bulk")
  env.sleep(1.1)
  local mark = last_index(env)
  local n, chunk = tonumber(p.n) or 4000, tonumber(p.chunk) or 100
  local list = contacts(n)
  local t0 = env.now()
  local res, err = client:add_emails(book, list, { chunk = chunk })
  local t1 = env.now()
  put("contacts", n)
  put("chunk", chunk)
  put("failed", res and 0 or 1)
  if not res then put("error", (tostring(err):gsub("%s+", " "))) end
  put("wall_s", t1 - t0)
  put("client_rate", (res and res.chunks or 0) / (t1 - t0))
  put("connections", connections(env.timeline, t0, t1) or "n/a")
  server_view(env, mark, put)
  -- (the check is an API request too: after the job's pacing window)
  env.sleep(1.1)
  put("book_total", env.admin_api("GET", "/addressbooks/" .. book .. "/emails/total").total)
  client:close()
end

function scenarios.bulk_batch(env, p, put)
  local client = warm_client(env, p)
  local book = book_for(client, "far bulk batch")
  env.sleep(1.1)
  local mark = last_index(env)
  local n, chunk = tonumber(p.n) or 4000, tonumber(p.chunk) or 100
  local conc = tonumber(p.concurrency) or 8
  local list = contacts(n)
  local calls = {}
  for first = 1, n, chunk do
    local last = math.min(n, first + chunk - 1)
    calls[#calls + 1] = { "POST", "/addressbooks/" .. book .. "/emails",
                          body = { emails = { unpack(list, first, last) } } }
  end
  local t0 = env.now()
  local res = client:batch(calls, { concurrency = conc })
  local t1 = env.now()
  local failed = 0
  for i = 1, #calls do
    if res[i][1] == nil then failed = failed + 1 end
  end
  put("contacts", n)
  put("chunk", chunk)
  put("concurrency", conc)
  put("failed", failed)
  put("wall_s", t1 - t0)
  put("client_rate", #calls / (t1 - t0))
  put("connections", connections(env.timeline, t0, t1) or "n/a")
  server_view(env, mark, put)
  -- (the check is an API request too: after the job's pacing window)
  env.sleep(1.1)
  put("book_total", env.admin_api("GET", "/addressbooks/" .. book .. "/emails/total").total)
  client:close()
end

-- Against the fast nginx (any credentials do): the calls carry ?who=TAG,
-- which its reconnect log records with the TLS version and whether the
-- session was resumed.
function scenarios.resume(env, p, put)
  local client = new_client(env, p.url, { rate_limit = false })
  local tag = p.tag or "far"
  local t0 = env.now()
  check(client:get("/user/info", { who = tag }))
  put("first_s", env.now() - t0)
  local again = {}
  for i = 1, tonumber(p.reconnects) or 3 do
    env.sleep(1.3)
    t0 = env.now()
    check(client:get("/user/info", { who = tag }))
    again[i] = env.now() - t0
  end
  put("reconnect_s", median(again))
  client:close()
  -- the server's log: was each connection's TLS session new or resumed?
  local f = p.log and io.open(p.log, "r")
  if f then
    local seen, new, resumed, proto = {}, 0, 0, nil
    for line in f:lines() do
      local who, tls, flag, conn = line:match("^(%S+) (%S+) (%S) (%d+)")
      if who == tag and not seen[conn] then
        seen[conn] = true
        proto = tls
        if flag == "r" then resumed = resumed + 1 else new = new + 1 end
      end
    end
    f:close()
    put("tls", proto or "n/a")
    put("connections_new", new)
    put("connections_resumed", resumed)
  end
end

local function status_kb(field)
  local f = io.open("/proc/self/status", "r")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match(field .. ":%s*(%d+) kB")) or 0
end

-- One batch of n calls with 16 in flight; RSS before, peak (VmHWM) after.
-- The results (n decoded profiles) are part of what is measured: a batch
-- returns them all.
function scenarios.memory_batch(env, p, put)
  local client = new_client(env, p.url, { rate_limit = false })
  check(client:user_info())
  local n = tonumber(p.n) or 20000
  local calls = {}
  for i = 1, n do calls[i] = { "GET", "/user/info" } end
  collectgarbage()
  local before = status_kb("VmRSS")
  local t0 = env.now()
  local res = client:batch(calls, { concurrency = 16 })
  local t1 = env.now()
  local failed = 0
  for i = 1, n do
    if res[i][1] == nil then failed = failed + 1 end
  end
  put("calls", n)
  put("failed", failed)
  put("wall_s", t1 - t0)
  put("rss_before_kb", before)
  put("rss_after_kb", status_kb("VmRSS"))
  put("hwm_kb", status_kb("VmHWM"))
  put("lua_heap_kb", floor(collectgarbage("count")))
  res = nil   -- luacheck: ignore
  calls = nil -- luacheck: ignore
  collectgarbage()
  put("rss_freed_kb", status_kb("VmRSS"))
  client:close()
end

-- n contacts written to a file (email,name per line), then imported: read
-- back in blocks of `block` lines, each block one add_emails call (chunks
-- of `chunk`), so the process never holds the whole list. Then, for the
-- "held once" figure, the whole list read into one table and passed to one
-- add_emails call: the peak minus the RSS with the list loaded is what the
-- client added on top of the caller's own copy.
function scenarios.memory_import(env, p, put)
  local n = tonumber(p.n) or 1000000
  local chunk = tonumber(p.chunk) or 1000
  local block = tonumber(p.block) or 10000
  local file = assert(p.file, "memory_import needs file=")
  local f = assert(io.open(file, "w"))
  for i = 1, n do
    f:write("c", i, "@import.example,Contact ", i, "\n")
  end
  f:close()
  local client = new_client(env, p.url, { rate_limit = false })
  check(client:user_info())
  collectgarbage()
  local base = status_kb("VmRSS")
  put("rss_base_kb", base)

  local t0, done, requests = env.now(), 0, 0
  local buf = {}
  local function flush()
    if #buf == 0 then return end
    local res = check(client:add_emails(1, buf, { chunk = chunk }))
    done = done + res.done
    requests = requests + res.chunks
    buf = {}
  end
  for line in io.lines(file) do
    local email, name = line:match("^([^,]+),(.*)$")
    buf[#buf + 1] = { email = email, variables = { name = name } }
    if #buf == block then flush() end
  end
  flush()
  put("streamed_contacts", done)
  put("streamed_requests", requests)
  put("streamed_wall_s", env.now() - t0)
  put("streamed_hwm_kb", status_kb("VmHWM"))

  local list = {}
  for line in io.lines(file) do
    local email, name = line:match("^([^,]+),(.*)$")
    list[#list + 1] = { email = email, variables = { name = name } }
  end
  collectgarbage()
  local loaded = status_kb("VmRSS")
  put("list_rss_kb", loaded)
  t0 = env.now()
  local res = check(client:add_emails(1, list, { chunk = chunk }))
  put("held_contacts", res.done)
  put("held_wall_s", env.now() - t0)
  put("held_hwm_kb", status_kb("VmHWM"))
  list = nil -- luacheck: ignore
  client:close()
  os.remove(file)
end

--- Runs one scenario; returns a list of {key, value}. env: new_client(opts),
-- admin(method, path, body) (the sandbox's /__sandbox API), admin_api(...)
-- (its API with the API key), now(), sleep(s), timeline (a file), and
-- client_opts (extra client options).
function _M.run(env, name, params)
  local fn = scenarios[name]
  local out, put = results()
  if not fn then
    put("error", "unknown scenario '" .. tostring(name) .. "'")
    return out
  end
  local ok, err = pcall(fn, env, params, put)
  if not ok then
    put("error", (tostring(err):gsub("%s+", " ")))
  end
  return out
end

-- Admin access to the sandbox through a client with its API key: no
-- pacing, no retries (admin requests are neither counted nor limited).
local function admin_env(sendpulse, url, ca)
  local admin = sendpulse.new{ api_key = API_KEY, base_url = url, ca_file = ca,
                               rate_limit = false, max_retries = 0 }
  local function call(prefix)
    return function(method, path, body)
      local q
      local p, query = path:match("^([^?]*)%?(.*)$")
      if p then
        path, q = p, {}
        for k, v in query:gmatch("([^&=]+)=([^&]*)") do q[k] = v end
      end
      local res, err = admin:request(method, prefix .. path, q, body)
      if res == nil then
        error("sandbox " .. method .. " " .. prefix .. path .. ": " .. tostring(err), 0)
      end
      return res
    end
  end
  return call("/__sandbox"), call("")
end

--- The nginx side: GET /far?scenario=...&url=...&sandbox=...&key=value.
-- Answers "KEY VALUE" lines.
function _M.nginx()
  local ngx = ngx   -- luacheck: ignore (only reached inside nginx)
  local sendpulse = require "sendpulse"
  local core = require "sendpulse.core"
  local args = ngx.req.get_uri_args()
  local admin, admin_api = admin_env(sendpulse, args.sandbox, nil)
  local opts = {}
  if args.pacer == "shared" then
    opts.pacer = sendpulse.pacers.ngx_shared("sendpulse")
  end
  local env = {
    new_client = sendpulse.new,
    admin = admin, admin_api = admin_api,
    now = core.monotime,
    sleep = ngx.sleep,
    timeline = args.timeline,
    client_opts = opts,
  }
  if args.pacer == "shared" then
    -- a fresh shared pacer for each scenario, as a new client has
    ngx.shared.sendpulse:flush_all()
  end
  for _, kv in ipairs(_M.run(env, args.scenario, args)) do
    ngx.say(kv[1], " ", kv[2])
  end
end

-- The command line (bench/run): runs the PLAN.
local function main(plan_file)
  package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
  package.cpath = "./build/?.so;" .. package.cpath
  local sendpulse = require "sendpulse"
  local core = require "sendpulse.core"
  local sandbox, ca, ngx_url, ngx_pid
  local paths, runs = {}, {}
  for line in io.lines(plan_file) do
    local w = {}
    for word in line:gmatch("%S+") do w[#w + 1] = word end
    if w[1] == "sandbox" then
      sandbox, ca = w[2], w[3]
    elseif w[1] == "ngx" then
      ngx_url, ngx_pid = w[2], w[3]
    elseif w[1] == "path" then
      paths[w[2]] = { d = w[3], j = w[4], url = w[5], short = w[6], timeline = w[7] }
    elseif w[1] == "resume" then
      paths[w[2]] = { d = w[3], url = w[4], timeline = w[5] }
    elseif w[1] == "run" then
      local params = {}
      for i = 5, #w do
        local k, v = w[i]:match("^([^=]+)=(.*)$")
        if k then params[k] = v end
      end
      runs[#runs + 1] = { transport = w[2], scenario = w[3], path = w[4], params = params }
    end
  end
  io.stdout:setvbuf("line")
  local admin, admin_api
  if sandbox then
    admin, admin_api = admin_env(sendpulse, sandbox, ca)
  end
  local env = {
    admin = admin, admin_api = admin_api,
    now = core.monotime, sleep = core.sleep,
  }
  for _, r in ipairs(runs) do
    local path = paths[r.path] or { url = r.params.url }
    local params = {}
    for k, v in pairs(r.params) do params[k] = v end
    params.url = params.url or path.url
    params.short = params.short or path.short
    io.stderr:write(("bench: far: %s %s %s\n"):format(r.path, r.transport, r.scenario))
    local out
    if r.transport == "curl" then
      env.timeline = path.timeline
      local run_ca = params.ca or ca
      env.new_client = function(opts)
        opts.ca_file = opts.ca_file or run_ca
        return sendpulse.new(opts)
      end
      out = _M.run(env, r.scenario, params)
    elseif ngx_url then
      if ngx_pid then
        -- new workers: the old ones close their pooled connections
        local f = io.open(ngx_pid)
        local pid = f and f:read("*n")
        if f then f:close() end
        if pid then
          os.execute("kill -HUP " .. pid)
          core.sleep(1.0)
        end
      end
      local q = { "scenario=" .. r.scenario, "sandbox=" .. sandbox,
                  "timeline=" .. (path.timeline or "") }
      for k, v in pairs(params) do q[#q + 1] = k .. "=" .. v end
      local cmd = ("curl -sS --noproxy '*' --max-time 600 '%s/far?%s'")
                  :format(ngx_url, table.concat(q, "&"))
      local pipe = assert(io.popen(cmd))
      out = {}
      for line in pipe:lines() do
        local k, v = line:match("^(%S+) (.*)$")
        if k then out[#out + 1] = { k, v } end
      end
      pipe:close()
      if #out == 0 then out = { { "error", "no answer from the nginx app" } } end
    else
      out = { { "error", "no nginx app" } }
    end
    for _, kv in ipairs(out) do
      io.stdout:write(("far %s %s %s %s %s\n"):format(r.path, r.transport,
                                                    params.as or r.scenario, kv[1], kv[2]))
    end
  end
end

if not rawget(_G, "ngx") and arg and arg[0] and arg[0]:match("far%.lua$") then
  main(assert(arg[1], "usage: lua5.4 bench/far.lua PLAN"))
end

return _M
