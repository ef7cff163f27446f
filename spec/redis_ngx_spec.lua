-- The Redis store and pacer inside nginx (cosockets, lua-nginx-redis) and
-- outside (the core's client) on the same Redis: one fleet. Tagged "ngx"
-- too: it runs once, from the Lua 5.4 run, and drives nginx's LuaJIT.
local core = require "sendpulse.core"
local support = require "support.redis"
local ngx_app = require "support.redis_ngx"
local stores_redis = require "sendpulse.stores.redis"
local pacers_redis = require "sendpulse.pacers.redis"

local servers

describe("Redis inside nginx #redis #ngx #sandbox", function()
  setup(function()
    servers = support.servers()
  end)

  teardown(function()
    ngx_app.stop()
    support.stop_own()
  end)

  it("shares one rate budget between nginx workers and plain processes", function()
    ngx_app.start(2)
    local key, raw = support.account(), support.raw()
    local plain = pacers_redis.new{ url = servers.url, prefix = "spec:", reserve_ahead = 3600 }
    local limits = { { count = 10, window = 1.02 }, { count = 1000, window = 3600 } }
    for _ = 1, 5 do
      assert.is_number(plain:reserve(key, 10, 1.02, limits))
    end
    local bodies = ngx_app.parallel("/t/reserve?n=10&key=" .. key, 4)
    for _, body in ipairs(bodies) do
      assert.is_nil(body:find("fail", 1, true), body)
      assert.matches("c%-client false", body)      -- cosockets did it
    end
    for _ = 1, 5 do
      assert.is_number(plain:reserve(key, 10, 1.02, limits))
    end
    local log = raw:call("LRANGE", "spec:{" .. key .. "}:pace", 0, -1)
    assert.equal(50, #log)
    local worst = math.huge
    for i = 11, #log do
      worst = math.min(worst, tonumber(log[i]) - tonumber(log[i - 10]))
    end
    assert.is_true(worst >= 1020000, worst)
    -- nginx's keepalive pool: 40 reservations, a few connections
    local before = tonumber(raw:call("INFO", "stats"):match("total_connections_received:(%d+)"))
    ngx_app.parallel("/t/reserve?n=10&key=" .. key, 4)
    local after = tonumber(raw:call("INFO", "stats"):match("total_connections_received:(%d+)"))
    assert.is_true(after - before <= 4, after - before)
    print(("\n  [redis/ngx] 50 reservations (2 workers + 1 process): closest 11 "
           .. "in %.6f s; %d new connections for 40 more"):format(worst / 1e6,
           after - before))
    raw:close()
  end)

  it("shares one token, its lock and compare-and-delete", function()
    ngx_app.start(2)
    local key = support.account()
    local plain = stores_redis.new{ url = servers.url, prefix = "spec:" }
    plain:set(key, "FROM-PLAIN", core.walltime() + 60)
    local _, body = ngx_app.get("/t/store?op=get&key=" .. key)
    assert.matches("^ok FROM%-PLAIN %d+", body)
    _, body = ngx_app.get(("/t/store?op=set&key=%s&token=FROM-NGX&expires_at=%d")
                          :format(key, math.floor(core.walltime() + 60)))
    assert.matches("^ok", body)
    assert.equal("FROM-NGX", (plain:get(key)))
    ngx_app.get("/t/store?op=delete&key=" .. key .. "&token=FROM-PLAIN")
    assert.equal("FROM-NGX", (plain:get(key)))     -- a stale delete: kept
    ngx_app.get("/t/store?op=delete&key=" .. key .. "&token=FROM-NGX")
    assert.is_nil(plain:get(key))
    -- no token: the lock a plain process holds keeps nginx waiting, then
    -- giving up; released, it is nginx's
    assert.is_true(plain:lock(key))
    local secs = core.monotime()
    _, body = ngx_app.get("/t/store?op=lock&lock_timeout=0.3&key=" .. key)
    secs = core.monotime() - secs
    assert.matches("^ok false", body)
    assert.is_true(secs >= 0.25, secs)
    plain:unlock(key)
    _, body = ngx_app.get("/t/store?op=lock&key=" .. key)
    assert.matches("^ok true", body)
    assert.is_false(stores_redis.new{ url = servers.url, prefix = "spec:",
                                      lock_timeout = 0.1 }:lock(key))
  end)

  it("verifies TLS against lua_ssl_trusted_certificate and keeps the password out", function()
    ngx_app.start(1)
    local key = support.account()
    local _, body = ngx_app.get("/t/reserve?server=tls&n=3&key=" .. key)
    assert.matches("^0%.000000\n0%.000000\n0%.000000\nc%-client false", body)
    _, body = ngx_app.get("/t/store?op=get&server=tls&name=wrong.example&key=" .. key)
    assert.matches("^error .*TLS handshake", body)
    _, body = ngx_app.get("/t/store?op=get&server=wrong&key=" .. key)
    assert.matches("^error .*AUTH refused: WRONGPASS", body)
    assert.is_nil(body:find("not-the-password", 1, true))
    assert.is_nil(body:find(servers.password, 1, true))
    local log = ngx_app.error_log()
    assert.is_nil(log:find(servers.password, 1, true))
  end)

  it("sleeps at least a millisecond: nginx is never asked for ngx.sleep(0)", function()
    ngx_app.start(1)
    local status, body = ngx_app.get("/t/sleep?s=0.0004")
    assert.equal(200, status, body)
    local transport, store = body:match("^([%d.]+) ([%d.]+)")
    -- (below a millisecond nginx would only yield, and warn each time)
    assert.is_true(tonumber(transport) >= 0.0008, transport)
    assert.is_true(tonumber(store) >= 0.0008, store)
    assert.is_nil(ngx_app.error_log():find("ngx.sleep(0)", 1, true), ngx_app.error_log())
  end)

  it("comes back after a Redis restart, and uses the C client where cosockets cannot", function()
    local own = support.private("redis-spec-ngx")
    ngx_app.start(1, own.url)
    local key = support.account()
    local _, body = ngx_app.get("/t/reserve?server=private&n=1&key=" .. key)
    assert.matches("^0%.000000", body)
    own.kill()
    _, body = ngx_app.get("/t/reserve?server=private&n=1&key=" .. key)
    assert.matches("^fail .*", body)
    own.revive()
    -- the pooled connection died with the server: replaced at once
    _, body = ngx_app.get("/t/reserve?server=private&n=1&key=" .. key)
    assert.matches("^0%.000000", body)
    own.stop()
    ngx_app.get("/t/log-phase?key=" .. key)
    local log
    for _ = 1, 50 do
      log = ngx_app.error_log()
      if log:find("log phase reservation", 1, true) then
        break
      end
      core.sleep(0.05)
    end
    assert.matches("log phase reservation: 0 c%-client true", log)
  end)
end)
