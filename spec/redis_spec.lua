-- Redis: the core's client, the token store and the pacer, against real
-- redis-server processes (tools/redis-server-test), several client
-- processes at once, and one of them under faketime. Tagged "redis".
local core = require "sendpulse.core"
local support = require "support.redis"
local redis = require "sendpulse.redis"
local stores_redis = require "sendpulse.stores.redis"
local pacers_redis = require "sendpulse.pacers.redis"
local socket = require "socket"

local monotime = core.monotime
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

local servers

local function connect(extra)
  local opts = { host = "127.0.0.1", port = servers.port,
                 password = servers.password, timeout = 5 }
  for k, v in pairs(extra or {}) do
    opts[k] = v
  end
  return core.redis_connect(opts)
end

-- A listening socket that never accepts nor answers.
local function silent_server(backlog)
  local srv = assert(socket.tcp())
  assert(srv:bind("127.0.0.1", 0))
  assert(srv:listen(backlog or 32))
  local _, port = srv:getsockname()
  return srv, tonumber(port)
end

local function elapsed(f)
  local t = monotime()
  local a, b, c = f()
  return monotime() - t, a, b, c
end

describe("Redis #redis #sandbox", function()
  setup(function()
    servers = support.servers()
  end)

  teardown(function()
    support.stop_own()
  end)

  describe("the core's client", function()
    it("authenticates with the password, refuses a wrong or missing one", function()
      local conn = assert(connect())
      assert.equal("PONG", conn:call("PING"))
      conn:close()

      local none, err, kind = connect{ password = "wrong-password-x" }
      assert.is_string(err)
      assert.is_nil(none)
      assert.equal("auth", kind)
      assert.matches("AUTH refused: WRONGPASS", err)
      assert.is_nil(err:find("wrong-password-x", 1, true))

      none, err, kind = core.redis_connect{ host = "127.0.0.1", port = servers.port }
      assert.is_nil(none)
      assert.equal("auth", kind)
      assert.matches("NOAUTH", err)

      -- AUTH user password: the server's default user
      conn = assert(connect{ username = "default" })
      assert.equal("PONG", conn:call("PING"))
      conn:close()
      none, err, kind = connect{ username = "nobody" }
      assert.is_nil(none)
      assert.equal("auth", kind)
      assert.matches("WRONGPASS", err)
    end)

    it("selects the database", function()
      local db5 = assert(connect{ db = 5 })
      local db0 = assert(connect())
      local key = "spec:db:" .. core.random_hex(8)
      assert.equal("OK", db5:call("SET", key, "in five", "EX", 60))
      assert.equal("in five", db5:call("GET", key))
      assert.is_false(db0:call("GET", key))
      db5:call("DEL", key)
      local none, err, kind = connect{ db = 99 }
      assert.is_nil(none)
      assert.equal("reply", kind)
      assert.matches("SELECT refused: ERR DB index is out of range", err)
      db5:close()
      db0:close()
    end)

    it("maps every reply type to a Lua value", function()
      local conn = assert(connect())
      local key = "spec:types:" .. core.random_hex(8)
      assert.equal("OK", conn:call("SET", key, "v"))            -- status
      assert.equal("v", conn:call("GET", key))                   -- bulk
      assert.equal(1, conn:call("DEL", key))                     -- integer
      assert.is_false(conn:call("GET", key))                     -- nil bulk
      local res, err, kind = conn:call("NO-SUCH-COMMAND")        -- error
      assert.is_nil(res)
      assert.equal("reply", kind)
      assert.matches("^ERR unknown command", err)
      assert.equal("PONG", conn:call("PING"))       -- still usable after it
      -- binary data, CR LF and NUL inside, empty strings
      local binary = "a\r\nb\0c\r\n\255"
      assert.equal("OK", conn:call("SET", key, binary))
      assert.equal(binary, conn:call("GET", key))
      assert.equal("OK", conn:call("SET", key, ""))
      assert.equal("", conn:call("GET", key))
      -- numbers as arguments; negative and 64-bit integers
      assert.equal(-5, conn:call("INCRBY", key .. "n", -5))
      conn:call("DEL", key .. "n")
      if math.type then                       -- exact on 5.4
        assert.equal(9007199254740993, conn:call("INCRBY", key .. "n",
                                                 9007199254740993))
        assert.equal(math.maxinteger, conn:call("INCRBY", key .. "n",
                                                math.maxinteger - 9007199254740993))
        assert.equal("integer", math.type(conn:call("INCR", key .. "m")))
      end
      -- arrays: nested, with nil and error elements, empty, nil array
      local t = conn:call("EVAL", [[return { 1, 'two', false, { 3, { 'four' } },
        redis.error_reply('E5'), {} }]], 0)
      assert.matches("E5$", t[5].err)
      assert.same({}, t[6])
      t[5], t[6] = nil, nil
      assert.same({ 1, "two", false, { 3, { "four" } } }, t)
      assert.same({}, conn:call("EVAL", "return {}", 0))
      assert.is_false(conn:call("BLPOP", key .. "nothing", "0.01"))  -- *-1
      assert.equal(2.5, tonumber(conn:call("INCRBYFLOAT", key .. "f", 2.5)))
      conn:call("DEL", key, key .. "n", key .. "m", key .. "f")
      conn:close()
    end)

    it("moves big values over TCP and TLS, and refuses replies over max_reply", function()
      local big = string.rep("0123456789abcdef", 512 * 1024)     -- 8 MiB
      local plain = assert(connect{ timeout = 10 })
      local tls = assert(connect{ port = servers.tls_port, tls = true,
                                  ca_file = servers.ca, timeout = 10 })
      for _, conn in ipairs{ plain, tls } do
        local key = "spec:big:" .. core.random_hex(8)
        assert.equal("OK", conn:call("SET", key, big))
        local got = conn:call("GET", key)
        assert.equal(#big, #got)
        assert.is_true(got == big)
        local list = {}
        for i = 1, 2000 do
          list[i] = "item" .. i
        end
        assert.equal(2000, conn:call("RPUSH", key .. "l", unpack(list)))
        local back = conn:call("LRANGE", key .. "l", 0, -1)
        assert.equal(2000, #back)
        assert.equal("item2000", back[2000])
        conn:call("DEL", key, key .. "l")
      end
      local key = "spec:big:" .. core.random_hex(8)
      plain:call("SET", key, string.rep("x", 2 * 1024 * 1024))
      local small = assert(connect{ max_reply = 1024 * 1024 })
      local res, err, kind = small:call("GET", key)
      assert.is_nil(res)
      assert.equal("protocol", kind)
      assert.matches("larger than max_reply", err)
      assert.is_false(small:connected())
      plain:call("DEL", key)
      plain:close()
      tls:close()
    end)

    it("verifies the server's certificate and name", function()
      local conn = assert(connect{ port = servers.tls_port, tls = true,
                                   ca_file = servers.ca })
      assert.equal("PONG", conn:call("PING"))
      assert.matches("tls", tostring(conn))
      conn:close()
      conn = assert(connect{ host = "localhost", port = servers.tls_port,
                             tls = true, ca_file = servers.ca })
      conn:close()
      local cases = {
        { ca_file = servers.other_ca, why = "certificate verification failed" },
        { why = "certificate verification failed" },          -- system CAs
        { ca_file = servers.ca, server_name = "wrong.example",
          why = "hostname mismatch" },
      }
      for _, case in ipairs(cases) do
        local none, err, kind = connect{ port = servers.tls_port, tls = true,
          ca_file = case.ca_file, server_name = case.server_name }
        assert.is_nil(none)
        assert.equal("tls", kind)
        assert.matches(case.why, err, 1, true)
      end
      -- TLS to the plain port, plain to the TLS port: failures, not hangs
      local secs, none, _, kind = elapsed(function()
        return connect{ tls = true, ca_file = servers.ca, timeout = 0.5 }
      end)
      assert.is_nil(none)
      assert.equal("timeout", kind)
      assert.is_true(secs < 3)
      none, _, kind = connect{ port = servers.tls_port }
      assert.is_nil(none)
      assert.equal("closed", kind)
    end)

    it("times out against a server that accepts and never answers #timing", function()
      local srv, port = silent_server()
      for _, tls in ipairs{ false, true } do
        local secs, none, err, kind = elapsed(function()
          return core.redis_connect{ host = "127.0.0.1", port = port,
                                     timeout = 0.3, tls = tls }
        end)
        assert.is_nil(none)
        assert.equal("timeout", kind)
        assert.matches(tls and "TLS handshake" or "waiting for the reply", err)
        assert.is_true(secs >= 0.25 and secs < 2.5, secs)
      end
      srv:close()
      -- a full accept queue: the connection itself never completes
      srv, port = silent_server(0)
      local fillers = {}
      for i = 1, 4 do
        fillers[i] = socket.tcp()
        fillers[i]:settimeout(0)
        fillers[i]:connect("127.0.0.1", port)
      end
      socket.sleep(0.05)
      local secs, none, err, kind = elapsed(function()
        return core.redis_connect{ host = "127.0.0.1", port = port, timeout = 0.3 }
      end)
      assert.is_nil(none)
      assert.equal("timeout", kind)
      assert.matches("timed out", err)
      assert.is_true(secs < 2.5)
      for _, f in ipairs(fillers) do
        f:close()
      end
      srv:close()
    end)

    it("reports a killed server, and a timeout mid-command", function()
      local own = support.private("redis-spec-kill", true)
      -- TLS: the server dies without close_notify
      local tls = assert(core.redis_connect{ host = "127.0.0.1", port = own.tls_port,
        password = own.password, tls = true, ca_file = own.ca, timeout = 5 })
      support.sh("(sleep 0.3; tools/redis-server-test kill " .. own.dir .. " tls) &")
      local _, tres, terr, tkind = elapsed(function()
        return tls:call("BLPOP", "spec:nothing", 10)
      end)
      assert.is_nil(tres)
      assert.equal("closed", tkind, terr)
      local conn = assert(core.redis_connect{ host = "127.0.0.1", port = own.port,
                                              password = own.password })
      assert.equal("PONG", conn:call("PING"))
      -- killed while our command waits for its reply
      support.sh("(sleep 0.3; tools/redis-server-test kill " .. own.dir .. ") &")
      local secs, res, err, kind = elapsed(function()
        return conn:call("BLPOP", "spec:nothing", 10)
      end)
      assert.is_nil(res)
      assert.equal("closed", kind)
      assert.matches("closed the connection", err)
      assert.is_true(secs < 5)
      assert.is_false(conn:connected())
      res, err, kind = conn:call("PING")
      assert.is_nil(res)
      assert.equal("closed", kind)
      assert.matches("the connection is closed", err)
      local none
      none, err, kind = core.redis_connect{ host = "127.0.0.1", port = own.port,
                                            password = own.password }
      assert.is_nil(none)
      assert.equal("connect", kind)
      assert.matches("Connection refused", err)
      own.revive()
      conn = assert(core.redis_connect{ host = "127.0.0.1", port = own.port,
                                        password = own.password, timeout = 0.3 })
      secs, res, err, kind = elapsed(function()
        return conn:call("BLPOP", "spec:nothing", 5)
      end)
      assert.is_nil(res)
      assert.matches("timed out waiting for the reply", err)
      assert.equal("timeout", kind)
      assert.is_true(secs < 2.5)
      assert.is_false(conn:connected())
      own.stop()
    end)

    it("reports a connection the server dropped as closed, and the wrapper replaces it", function()
      for _, tls in ipairs{ false, true } do
        local extra = tls and { port = servers.tls_port, tls = true, ca_file = servers.ca } or {}
        local killer = assert(connect(extra))
        local conn = assert(connect(extra))
        assert.equal(1, killer:call("CLIENT", "KILL", "ID", conn:call("CLIENT", "ID")))
        local res, err, kind = conn:call("PING")
        assert.is_nil(res)
        assert.equal("closed", kind, err)
        -- sendpulse.redis: the kept connection is replaced within the command
        local r = redis.new(redis.options("spec", {
          url = tls and servers.tls_url or servers.url, ca_file = tls and servers.ca or nil }))
        assert.equal("PONG", r:call("PING"))
        local id = r:call("CLIENT", "ID")
        killer:call("CLIENT", "KILL", "ID", id)
        assert.equal("PONG", r:call("PING"))
        assert.is_true(r:call("CLIENT", "ID") > id)
        r:close()
        killer:close()
      end
    end)

    it("closes connections it loses track of (__gc) and on close()", function()
      local watch = assert(connect())
      local function clients()
        return tonumber(watch:call("INFO", "clients"):match("connected_clients:(%d+)"))
      end
      collectgarbage()
      collectgarbage()
      local before = clients()
      for _ = 1, 20 do
        assert(connect())
      end
      local many = clients()
      assert.is_true(many >= before + 20)
      collectgarbage()
      collectgarbage()
      local deadline = monotime() + 5
      while clients() > before and monotime() < deadline do
        core.sleep(0.02)
      end
      assert.equal(before, clients())
      local conn = assert(connect())
      conn:close()
      conn:close()                                  -- twice is fine
      assert.is_false(conn:connected())
      watch:close()
    end)

    it("raises on bad arguments and keeps the password out of every message", function()
      local conn = assert(connect())
      assert.has_error(function() conn:call("SET", {}, "x") end,
        "sendpulse.redis: bad argument #2 to 'call' (a string or a number expected, got table)")
      assert.has_error(function() conn:call() end)
      assert.has_error(function() conn:call("SET", "k", 0 / 0) end)
      assert.has_error(function() core.redis_connect{ host = 1 } end,
        "sendpulse.redis: option 'host' must be a string (got number)")
      assert.has_error(function() core.redis_connect{ host = "h", port = 0 } end,
        "sendpulse.redis: option 'port' must be an integer from 1 to 65535")
      assert.has_error(function() core.redis_connect{ host = "h", timeout = 0 } end,
        "sendpulse.redis: option 'timeout' must be a number from 0.001 to 86400")
      assert.has_error(function() core.redis_connect{ host = "h", bogus = 1 } end,
        "sendpulse.redis: unknown option 'bogus'")
      assert.has_error(function() core.redis_connect{ host = "h", username = "u" } end)
      assert.is_nil(tostring(conn):find(servers.password, 1, true))
      local r = redis.new(redis.options("spec", { url = servers.url }))
      assert.is_nil(tostring(r):find(servers.password, 1, true))
      local ok, err = pcall(redis.options, "spec", { url = "redis://:" .. servers.password
                                                     .. "@host:99999" })
      assert.is_false(ok)
      assert.is_nil(err:find(servers.password, 1, true))
      conn:close()
    end)

    it("names scripts by the SHA-1 Redis computes", function()
      local conn = assert(connect())
      assert.equal("a9993e364706816aba3e25717850c26c9cd0d89d", core.sha1_hex("abc"))
      for _, script in pairs{ pacers_redis.scripts.reserve, stores_redis.scripts.get,
                              stores_redis.scripts.lock,
                              stores_redis.scripts.compare_delete } do
        assert.equal(script.sha, conn:call("SCRIPT", "LOAD", script.source))
      end
      conn:close()
    end)
  end)

  describe("an ACL user with only what docs/redis.md lists", function()
    it("runs the store and the pacer", function()
      local raw = support.raw()
      local password = core.random_hex(12)
      assert.equal("OK", raw:call("ACL", "SETUSER", "spec-sendpulse", "on", ">" .. password,
        "resetkeys", "~{sendpulse:*}:*", "-@all", "+ping", "+select", "+get", "+set", "+del",
        "+evalsha", "+eval", "+time", "+llen", "+lindex", "+rpush", "+ltrim", "+pttl",
        "+pexpire", "+pexpireat", "+hmget", "+hset", "+lrange", "+lset"))
      local opts = { host = "127.0.0.1", port = servers.port, username = "spec-sendpulse",
                     password = password, db = 2 }
      local s, p = stores_redis.new(opts), pacers_redis.new(opts)
      local key = support.account()
      assert.is_nil(s:get(key))
      assert.is_true(s:lock(key))
      s:set(key, "ACL-TOKEN", core.walltime() + 60)
      assert.equal("ACL-TOKEN", (s:get(key)))
      s:unlock(key)
      s:delete(key, "ACL-TOKEN")
      s:delete(key)
      raw:call("SCRIPT", "FLUSH")                   -- the EVAL path too
      for _ = 1, 12 do
        assert.is_number(p:reserve(key, 10, 1.02, { { count = 10, window = 1.02 },
                                                    { count = 100, per = "day", hard = true } }))
      end
      local _, handle = p:reserve(key .. "x", 10, 1.02)
      assert.is_true(p:sent(key .. "x", handle, core.monotime() + 0.05))   -- LRANGE, LSET
      -- and nothing else
      local other = assert(core.redis_connect(opts))
      local res, err = other:call("GET", "not-an-account-key")
      assert.is_nil(res)
      assert.matches("NOPERM", err)
      other:close()
      raw:call("ACL", "DELUSER", "spec-sendpulse")
      raw:close()
    end)
  end)

  describe("URLs and options", function()
    it("parses redis:// and rediss:// URLs", function()
      assert.same({ tls = false, host = "h.example", port = 6380, db = 2,
                    password = "p@ss:w/rd" },
                  redis.parse_url("redis://:p%40ss%3Aw%2Frd@h.example:6380/2"))
      assert.same({ tls = true, host = "::1", username = "app", password = "x" },
                  redis.parse_url("rediss://app:x@[::1]"))
      assert.same({ tls = false, host = "10.0.0.1" }, redis.parse_url("redis://10.0.0.1/"))
      for _, bad in ipairs{ "http://h", "redis://", "redis://h:", "redis://h:0",
                            "redis://h/x", "redis://secret@h", "redis://h?db=1",
                            "redis://:%zz@h", "redis://user:@h" } do
        local parsed, err = redis.parse_url(bad)
        assert.is_nil(parsed, bad)
        assert.is_string(err)
      end
    end)

    it("lets options override the URL and refuses wrong ones by name", function()
      local s = redis.options("who", { url = "redis://:a@h:1/3", password = "b", db = 4,
                                       timeout = 2, prefix = "app:" })
      assert.equal("b", s.password)
      assert.equal(4, s.db)
      assert.equal(1, s.port)
      assert.equal("app:", s.prefix)
      for name, v in pairs{ port = "1", db = -1, tls = "yes", timeout = 0,
                            prefix = "{x}", password = 5, ca_file = "build/no-such-ca.pem",
                            server_name = "" } do
        local ok, err = pcall(stores_redis.new, { host = "h", [name] = v })
        assert.is_false(ok, name)
        assert.matches("sendpulse.stores.redis: .*'" .. name .. "'", err)
      end
      assert.has_error(function() stores_redis.new{ host = "h", ca_file = "spec" } end,
                       "sendpulse.stores.redis: option 'ca_file' names a file that cannot be read")
      assert.has_error(function() stores_redis.new{ host = "h", lock_ttl = "1" } end)
      assert.has_error(function() pacers_redis.new{ host = "h", lock_ttl = 1 } end,
                       "sendpulse.pacers.redis: unknown option 'lock_ttl'")
      assert.has_error(function() pacers_redis.new{ port = 1 } end)
      assert.has_error(function() pacers_redis.new("redis://h") end)
    end)
  end)

  describe("the token store", function()
    local function store(extra)
      local opts = { url = servers.url, prefix = "spec:" }
      for k, v in pairs(extra or {}) do
        opts[k] = v
      end
      return stores_redis.new(opts)
    end

    it("keeps a token for its remaining life, with a TTL", function()
      local s, raw, key = store(), support.raw(), support.account()
      assert.is_nil(s:get(key))
      local now = core.walltime()
      s:set(key, "TOKEN-A", now + 30)
      local token, expires_at = s:get(key)
      assert.equal("TOKEN-A", token)
      assert.is_true(math.abs(expires_at - (now + 30)) < 1, expires_at - now)
      local ttl = raw:call("PTTL", "spec:{" .. key .. "}:token")
      assert.is_true(ttl > 28000 and ttl <= 30000, ttl)
      s:set(key, "TOKEN-B", now - 1)                -- already expired: ignored
      assert.equal("TOKEN-A", (s:get(key)))
      s:set(key, "TOKEN-C", core.walltime() + 0.3)
      core.sleep(0.5)
      assert.is_nil(s:get(key))                     -- Redis dropped it
      -- over TLS, in another database, with another prefix: the same
      local t = stores_redis.new{ url = servers.tls_url, ca_file = servers.ca, db = 3,
                                  prefix = "other:" }
      t:set(key, "TOKEN-T", core.walltime() + 30)
      assert.equal("TOKEN-T", (t:get(key)))
      assert.is_nil(s:get(key))
      t:delete(key)
      assert.is_nil(t:get(key))
      raw:close()
    end)

    it("deletes only the token that failed (compare-and-delete)", function()
      local a, b, key = store(), store(), support.account()
      a:set(key, "OLD", core.walltime() + 60)
      assert.equal("OLD", (b:get(key)))
      a:set(key, "FRESH", core.walltime() + 60)     -- a refreshed it meanwhile
      b:delete(key, "OLD")                          -- b's 401 was about OLD
      assert.equal("FRESH", (a:get(key)))
      b:delete(key, "FRESH")
      assert.is_nil(a:get(key))
      a:set(key, "ANY", core.walltime() + 60)
      a:delete(key)
      assert.is_nil(a:get(key))
    end)

    it("gives the lock to one holder at a time", function()
      local a, b, raw, key = store(), store{ lock_timeout = 0.3 }, support.raw(),
                             support.account()
      local lock_key = "spec:{" .. key .. "}:lock"
      assert.is_true(a:lock(key))
      local secs, got = elapsed(function() return b:lock(key) end)
      assert.is_false(got)                          -- gave up after 0.3 s
      assert.is_true(secs >= 0.25, secs)
      b:unlock(key)                                 -- b holds nothing
      assert.is_string(raw:call("GET", lock_key))
      a:unlock(key)
      assert.is_false(raw:call("GET", lock_key))
      assert.is_true(b:lock(key))
      local ttl = raw:call("PTTL", lock_key)
      assert.is_true(ttl > 9000 and ttl <= 10000, ttl)   -- lock_ttl 10 s
      -- a holder whose lock expired never releases the next holder's
      raw:call("PEXPIRE", lock_key, 1)
      core.sleep(0.01)
      assert.is_true(a:lock(key))
      b:unlock(key)
      assert.is_string(raw:call("GET", lock_key))
      a:unlock(key)
      assert.is_false(raw:call("GET", lock_key))
      raw:close()
    end)

    it("lets waiters go as soon as the holder has stored a token", function()
      local key, raw = support.account(), support.raw()
      local pid, out = support.start_child{ "lock-set-hold", servers.url, "spec:", key,
                                            "TOKEN-FROM-CHILD", "0.3", "3" }
      support.wait_for(out, "locked")
      local s = store()
      assert.is_nil(s:get(key))
      local secs, got = elapsed(function() return s:lock(key) end)
      assert.is_true(got)
      assert.is_true(secs < 2.5, secs)              -- not the 3 s the child holds it
      assert.equal("TOKEN-FROM-CHILD", (s:get(key)))
      s:unlock(key)                                 -- not ours: the child's stays
      assert.is_string(raw:call("GET", "spec:{" .. key .. "}:lock"))
      support.wait_for(out, "unlocked")
      assert.is_false(raw:call("GET", "spec:{" .. key .. "}:lock"))
      os.remove(out)
      assert.is_number(pid)
      raw:close()
    end)

    it("takes a lock it already holds again (a command resent after a lost reply)", function()
      local r = redis.new(redis.options("spec", { url = servers.url }))
      local key = support.account()
      local keys = { "spec:{" .. key .. "}:lock", "spec:{" .. key .. "}:token" }
      local lock = stores_redis.scripts.lock
      assert.equal(1, r:eval(lock, 2, keys[1], keys[2], "mine", 10000, ""))
      assert.equal(1, r:eval(lock, 2, keys[1], keys[2], "mine", 10000, ""))
      assert.equal(0, r:eval(lock, 2, keys[1], keys[2], "theirs", 10000, ""))
      r:call("SET", keys[2], "NEW", "EX", 60)
      assert.equal(2, r:eval(lock, 2, keys[1], keys[2], "theirs", 10000, "OLD"))
      assert.equal(0, r:eval(lock, 2, keys[1], keys[2], "theirs", 10000, "NEW"))
      r:call("DEL", keys[1], keys[2])
      r:close()
    end)

    it("waits for a token it refused rather than taking it as new", function()
      local s, key = store{ lock_timeout = 0.3 }, support.account()
      local other = store()
      s:set(key, "REJECTED", core.walltime() + 60)
      assert.equal("REJECTED", (s:get(key)))        -- the caller refuses it
      assert.is_true(other:lock(key))
      assert.is_false(s:lock(key))                  -- waits: nothing new
      other:unlock(key)
    end)

    it("lets the others proceed after the lock's expiry when its holder is killed", function()
      local key = support.account()
      local pid, out = support.start_child{ "hold-lock", servers.url, "spec:", key, "1" }
      support.wait_for(out, "locked")
      support.sh("kill -9 " .. pid)
      local s = store{ lock_timeout = 5 }
      local secs, got = elapsed(function() return s:lock(key) end)
      assert.is_true(got)
      assert.is_true(secs < 2.5, secs)              -- lock_ttl 1 s
      s:unlock(key)
      os.remove(out)
    end)

    it("raises when Redis fails, and reconnects when it is back", function()
      local own = support.private("redis-spec-store")
      local s = stores_redis.new{ url = own.url, timeout = 0.5 }
      local key = support.account()
      s:set(key, "T1", core.walltime() + 60)
      own.kill()
      local ok, err = pcall(s.get, s, key)
      assert.is_false(ok)
      assert.matches("^sendpulse.stores.redis: redis 127.0.0.1:%d+: ", err)
      assert.is_nil(err:find(own.password, 1, true))
      assert.is_false(pcall(s.set, s, key, "T2", core.walltime() + 60))
      assert.is_false(pcall(s.lock, s, key))
      own.revive()                                  -- empty: no persistence
      assert.is_nil(s:get(key))
      s:set(key, "T3", core.walltime() + 60)
      assert.equal("T3", (s:get(key)))
      -- a server restart between two calls costs no failed call
      own.kill()
      own.revive()
      assert.is_nil(s:get(key))
      local bad = stores_redis.new{ host = "127.0.0.1", port = own.port,
                                    password = "not-the-password" }
      ok, err = pcall(bad.get, bad, key)
      assert.is_false(ok)
      assert.matches("AUTH refused", err)
      assert.is_nil(err:find("not-the-password", 1, true))
      own.stop()
    end)

    it("raises on bad arguments, naming them", function()
      local s = store()
      assert.has_error(function() s:get(5) end,
        "sendpulse.stores.redis: bad argument 'key' (a string expected, got number)")
      assert.has_error(function() s:set("k", nil, 1) end)
      assert.has_error(function() s:set("k", "t", "soon") end)
      assert.has_error(function() s:delete("k", 5) end)
    end)
  end)

  describe("the pacer", function()
    -- (slots taken however far ahead: these specs look at the log)
    local function pacer(extra)
      local opts = { url = servers.url, prefix = "spec:", reserve_ahead = 3600 }
      for k, v in pairs(extra or {}) do
        opts[k] = v
      end
      return pacers_redis.new(opts)
    end

    it("allows a burst of count and delays the next by the window", function()
      local p, key = pacer(), support.account()
      local delays = {}
      for i = 1, 12 do
        delays[i] = assert(p:reserve(key, 10, 1.02))
      end
      for i = 1, 10 do
        assert.equal(0, delays[i])
      end
      -- the 11th waits until the 1st is 1.02 s old, by Redis's clock
      assert.is_true(delays[11] > 0.9 and delays[11] <= 1.02, delays[11])
      assert.is_true(delays[12] >= delays[11])
    end)

    it("takes no slot further ahead than reserve_ahead", function()
      local p, key, raw = pacer{ reserve_ahead = 0.1 }, support.account(), support.raw()
      for _ = 1, 10 do
        local d, handle = p:reserve(key, 10, 1.02)
        assert.equal(0, d)
        assert.is_string(handle.slot)
      end
      local d, taken = p:reserve(key, 10, 1.02)
      assert.is_false(taken)                        -- nothing taken...
      assert.is_true(d > 0.8 and d <= 0.92, d)      -- ...ask again 0.1 s before
      local last = raw:call("LRANGE", "spec:{" .. key .. "}:pace", -1, -1)[1]
      core.sleep(d)
      local d2, handle = p:reserve(key, 10, 1.02)
      assert.is_true(d2 <= 0.1, d2)
      assert.equal(handle.slot, raw:call("LRANGE", "spec:{" .. key .. "}:pace", -1, -1)[1])
      assert.is_true(tonumber(handle.slot) > tonumber(last) + 900000)
      raw:close()
    end)

    it("moves the slot of a request that left late, keeping the log sorted (sent)", function()
      local p, key, raw = pacer(), support.account(), support.raw()
      local log_key = "spec:{" .. key .. "}:pace"
      local handles = {}
      for i = 1, 3 do
        local d
        d, handles[i] = p:reserve(key, 10, 1.02)
        assert.equal(0, d)
      end
      local before = raw:call("LRANGE", log_key, 0, -1)
      -- on time (within 2 ms): nothing to do, no round trip
      assert.is_true(p:sent(key, handles[3], handles[3].due + 0.001))
      assert.same(before, raw:call("LRANGE", log_key, 0, -1))
      -- the first left 50 ms late: it moves behind the others
      assert.is_true(p:sent(key, handles[1], handles[1].due + 0.05))
      local after = raw:call("LRANGE", log_key, 0, -1)
      assert.equal(3, #after)
      assert.equal(before[2], after[1])
      assert.equal(before[3], after[2])
      assert.is_true(math.abs(tonumber(before[1]) + 50000 - tonumber(after[3])) <= 2)
      -- by at most LATE_MAX (0.5 s)
      assert.is_true(p:sent(key, handles[2], handles[2].due + 30))
      local last = raw:call("LRANGE", log_key, -1, -1)[1]
      assert.is_true(math.abs(tonumber(before[2]) + 500000 - tonumber(last)) <= 2)
      -- a slot no longer in the log: nothing moves
      assert.is_true(p:sent(key, { slot = "12345", due = 0 }))
      assert.has_error(function() p:sent(key, "h") end)
      assert.has_error(function() p:sent(key, handles[1], "now") end)
      raw:close()
    end)

    it("bounds every window under reservations from six processes, one 5 s ahead", function()
      local key, raw = support.account(), support.raw()
      local per, nproc = 25, 6
      local limits = "w:10:1.02,w:1000:3600"
      local start = monotime() + 1.5
      local children = {}
      for i = 1, nproc do
        children[i] = { args = { "reserve", servers.url, "spec:", key, per, start, limits } }
      end
      -- libfaketime moves its wall clock, not the monotonic one the start uses
      children[nproc].prefix = "FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f +5s"
      local outputs = support.spawn(children)(60)
      local walls, due = {}, {}
      for i, out in ipairs(outputs) do
        assert.matches("exit 0\n$", out)
        walls[i] = tonumber(out:match("wall ([%d.]+)"))
        local n = 0
        for d, at in out:gmatch("\nd ([%d.]+) ([%d.]+)") do
          n = n + 1
          due[#due + 1] = tonumber(at)
          -- no delay is a clock's skew: the longest is the whole queue
          assert.is_true(tonumber(d) < per * nproc / 10 * 1.02 + 1, d)
        end
        assert.equal(per, n)
      end
      assert.is_true(walls[nproc] - walls[1] > 4, "faketime did not apply")
      -- the log holds every reservation, by Redis's clock: sorted, and no
      -- 11 of them within 1.02 s
      local log = raw:call("LRANGE", "spec:{" .. key .. "}:pace", 0, -1)
      assert.equal(per * nproc, #log)
      local worst = math.huge
      for i = 1, #log do
        log[i] = tonumber(log[i])
        if i > 1 then
          assert.is_true(log[i] >= log[i - 1])
        end
        if i > 10 then
          worst = math.min(worst, log[i] - log[i - 10])
        end
      end
      assert.is_true(worst >= 1020000, worst)
      -- and it is not slower than needed: the queue is packed
      assert.is_true(log[#log] - log[1] < (#log / 10) * 1020000 + 200000)
      -- the same in real time: when each process will send, by the
      -- monotonic clock they share (a pacer on the hosts' clocks would be
      -- 5 s off here; the reply's latency is all the slack allowed)
      table.sort(due)
      local worst_due = math.huge
      for i = 11, #due do
        worst_due = math.min(worst_due, due[i] - due[i - 10])
      end
      assert.is_true(worst_due > 0.9, worst_due)
      print(("\n  [redis] %d reservations from %d processes (one 5 s ahead): "
             .. "closest 11 in %.6f s by Redis's clock, %.3f s by the hosts'; "
             .. "span %.3f s"):format(#log, nproc, worst / 1e6, worst_due,
             (log[#log] - log[1]) / 1e6))
      raw:close()
    end)

    it("refuses at once when a hard day quota is spent", function()
      local p, key, raw = pacer(), support.account(), support.raw()
      local limits = { { count = 10, window = 1.02 }, { count = 1000, window = 60 },
                       { count = 5, per = "day", hard = true, name = "per_day" } }
      for _ = 1, 5 do
        assert.equal(0, p:reserve(key, 10, 1.02, limits))
      end
      local len = raw:call("LLEN", "spec:{" .. key .. "}:pace")
      local delay, retry_after, name = p:reserve(key, 10, 1.02, limits)
      assert.is_false(delay)
      assert.equal("per_day", name)
      local t = raw:call("TIME")
      local to_midnight = 86400 - tonumber(t[1]) % 86400
      assert.is_true(math.abs(retry_after - to_midnight) < 2, retry_after)
      -- nothing was reserved
      assert.equal(len, raw:call("LLEN", "spec:{" .. key .. "}:pace"))
      assert.equal("5", raw:call("HGET", "spec:{" .. key .. "}:day", "n"))
      local ttl = raw:call("TTL", "spec:{" .. key .. "}:day")
      assert.is_true(ttl > to_midnight and ttl <= to_midnight + 86400 + 2, ttl)
      -- another host with a larger quota counts the same sends
      local more = { { count = 10, window = 1.02 }, { count = 7, per = "day", hard = true } }
      assert.is_number(pacer():reserve(key, 10, 1.02, more))
      assert.is_number(pacer():reserve(key, 10, 1.02, more))
      local d, _, n = pacer():reserve(key, 10, 1.02, more)
      assert.is_false(d)
      assert.equal("per_day", n)                    -- the default name
    end)

    it("paces to a per-minute quota and refuses a spent hard window", function()
      local p, key = pacer(), support.account()
      local limits = { { count = 10, window = 1.02 }, { count = 3, window = 60 } }
      assert.equal(0, p:reserve(key, nil, nil, limits))
      assert.equal(0, p:reserve(key, nil, nil, limits))
      assert.equal(0, p:reserve(key, nil, nil, limits))
      local d = p:reserve(key, nil, nil, limits)
      assert.is_true(d > 59 and d <= 60, d)
      local hard = { { count = 2, window = 30, hard = true, name = "per_30s" } }
      local key2 = support.account()
      assert.equal(0, p:reserve(key2, nil, nil, hard))
      assert.equal(0, p:reserve(key2, nil, nil, hard))
      local ok, retry_after, name = p:reserve(key2, nil, nil, hard)
      assert.is_false(ok)
      assert.equal("per_30s", name)
      assert.is_true(retry_after > 29 and retry_after <= 30, retry_after)
    end)

    it("keeps the longer log another host needs", function()
      local p, key, raw = pacer(), support.account(), support.raw()
      local long = { { count = 10, window = 1.02 }, { count = 50, window = 60 } }
      for _ = 1, 30 do
        p:reserve(key, nil, nil, long)
      end
      p:reserve(key, 10, 1.02)                      -- a host without the quota
      assert.equal(30, raw:call("LLEN", "spec:{" .. key .. "}:pace"))
      local ttl = raw:call("PTTL", "spec:{" .. key .. "}:pace")
      assert.is_true(ttl > 59000, ttl)
      raw:close()
    end)

    it("reloads its script after a SCRIPT FLUSH (NOSCRIPT -> EVAL)", function()
      local p, key, raw = pacer(), support.account(), support.raw()
      assert.equal(0, p:reserve(key, 10, 1.02))
      raw:call("SCRIPT", "FLUSH")
      assert.equal(0, p:reserve(key, 10, 1.02))
      assert.same({ 1 }, raw:call("SCRIPT", "EXISTS", pacers_redis.scripts.reserve.sha))
      raw:close()
    end)

    it("returns nil and a message when Redis fails, and raises on bad arguments", function()
      local own = support.private("redis-spec-pacer")
      local p = pacers_redis.new{ url = own.url, timeout = 0.5 }
      assert.equal(0, p:reserve("k", 10, 1.02))
      own.kill()
      local delay, err = p:reserve("k", 10, 1.02)
      assert.is_nil(delay)
      assert.matches("^sendpulse.pacers.redis: redis 127.0.0.1:%d+: ", err)
      own.revive()
      assert.equal(0, p:reserve("k", 10, 1.02))
      own.stop()
      local q = pacer()
      assert.has_error(function() q:reserve(1, 10, 1) end,
        "sendpulse.pacers.redis: bad argument 'key' to reserve (a string expected, got number)")
      assert.has_error(function() q:reserve("k", nil, nil, {}) end)
      assert.has_error(function() q:reserve("k", nil, nil, { { count = 0, window = 1 } }) end)
      assert.has_error(function() q:reserve("k", nil, nil, { { count = 1, per = "week" } }) end)
      assert.has_error(function() q:reserve("k", nil, nil, { { count = 1, window = -1 } }) end)
      assert.has_error(function() q:reserve("k", "10", 1) end)
    end)
  end)
end)
