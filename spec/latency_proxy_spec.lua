-- tools/latency-proxy: the loopback proxy that puts the sandbox far away
-- (make bench's far part, bench/far.lua). Only lower bounds and ratios
-- measured within one run: a delay can only be longer than asked for, by
-- however much a busy machine adds.
local sandbox = require "support.sandbox"
local lproxy = require "support.latency_proxy"
local socket = require "socket"
local monotime = require("sendpulse.core").monotime

local function sandbox_port()
  return tonumber(sandbox.url:match(":(%d+)$"))
end

local function timed(fn)
  local t0 = monotime()
  local a, b = fn()
  return monotime() - t0, a, b
end

-- A plain TCP server of our own behind the proxy: one accepted connection
-- at a time, with timeouts, driven from this process.
local function tcp_server()
  local srv = assert(socket.bind("127.0.0.1", 0))
  srv:settimeout(5)
  local _, port = srv:getsockname()
  return srv, tonumber(port)
end

local function through(proxy, srv)
  local client = assert(socket.connect("127.0.0.1", proxy.port))
  client:settimeout(5)
  local conn = assert(srv:accept())
  conn:settimeout(5)
  return client, conn
end

describe("tools/latency-proxy #sandbox", function()
  local proxies = {}
  local function start(args, opts)
    local p = lproxy.start(args, opts)
    proxies[#proxies + 1] = p
    return p
  end

  after_each(function()
    for _, p in ipairs(proxies) do p.stop() end
    proxies = {}
  end)

  it("prints its port, forwards to the target and exits 0 on TERM", function()
    sandbox.reset()
    local p = start("-t 127.0.0.1:" .. sandbox_port())
    assert.is_true(p.port > 0)
    local me = assert(sandbox.client{ base_url = p.url() }:user_info())
    assert.equal("string", type(me.email))
    local status, stderr = p.stop()
    assert.equal(0, status)
    assert.truthy(stderr:find("1 connections", 1, true), stderr)
  end)

  it("refuses bad options", function()
    local status, out = lproxy.run("-t 127.0.0.1:1 -d -5")
    assert.equal(2, status)
    assert.truthy(out:find("-d wants milliseconds", 1, true), out)
    status, out = lproxy.run("-d 10")
    assert.equal(2, status)
    assert.truthy(out:find("usage:", 1, true), out)
  end)

  it("delays a warm call by a round trip and a first call by four", function()
    sandbox.reset()
    local D = 0.1
    local direct = sandbox.client()
    local p = start("-d 100 -t 127.0.0.1:" .. sandbox_port())
    local far = sandbox.client{ base_url = p.url() }
    -- first call: TCP (held by the proxy), TLS 1.3, the token, the call
    local first, me = timed(function() return far:user_info() end)
    assert.same(assert(direct:user_info()), me)
    local warm, again = timed(function() return far:user_info() end)
    local near = timed(function() return direct:user_info() end)
    assert.same(me, again)
    assert.is_true(warm >= 2 * D, ("warm %.3f s < 2D"):format(warm))
    assert.is_true(first >= 4 * 2 * D, ("first call %.3f s < 8D"):format(first))
    print(("\n  [latency-proxy] D = 100 ms: first call %.3f s, warm %.3f s, direct %.4f s")
          :format(first, warm, near))
  end)

  it("holds a connection's first bytes for the handshake's round trip", function()
    local srv, port = tcp_server()
    local p = start("-d 100 -t 127.0.0.1:" .. port)
    local t0 = monotime()
    local client, conn = through(p, srv)
    assert(client:send("ping"))
    assert.equal("ping", conn:receive(4))
    local up = monotime() - t0
    assert(conn:send("pong"))
    assert.equal("pong", client:receive(4))
    local back = monotime() - t0
    -- a real path: SYN-ACK back at 2D, the first bytes there at 3D, the
    -- answer back at 4D
    assert.is_true(up >= 0.3, ("first bytes after %.3f s"):format(up))
    assert.is_true(back >= 0.4, ("first answer after %.3f s"):format(back))
    client:close(); conn:close(); srv:close()
  end)

  it("keeps the bytes of a connection in order under jitter", function()
    local srv, port = tcp_server()
    local p = start("-d 20 -j 40 -s 7 -t 127.0.0.1:" .. port)
    local client, conn = through(p, srv)
    local sent = {}
    for i = 1, 300 do
      local piece = ("<%d>"):format(i)
      sent[i] = piece
      assert(client:send(piece))
      if i % 3 == 0 then socket.sleep(0.002) end   -- separate reads, separate delays
    end
    local want = table.concat(sent)
    local got = assert(conn:receive(#want))
    assert.equal(want, got)
    client:close(); conn:close(); srv:close()
  end)

  it("keeps TLS intact for a batch of 16 connections under jitter", function()
    sandbox.reset()
    local p = start("-d 30 -j 30 -t 127.0.0.1:" .. sandbox_port())
    local far = sandbox.client{ base_url = p.url() }
    assert(far:user_info())
    local want = assert(far:user_info())
    local calls = {}
    for i = 1, 16 do calls[i] = { "GET", "/user/info" } end
    local batch, res = timed(function() return far:batch(calls, { concurrency = 16 }) end)
    for i = 1, 16 do
      assert.same(want, res[i][1], tostring(res[i][2]))
    end
    local one = timed(function() return far:user_info() end)
    -- 16 at once cost a few round trips (new connections), not 16
    assert.is_true(batch < 16 * one / 2, ("batch %.3f s, one call %.3f s"):format(batch, one))
    local _, stderr = p.stop()
    local conns = tonumber(stderr:match("(%d+) connections"))
    assert.is_true(conns >= 9, stderr)
  end)

  it("passes a half-close on and keeps the other direction open", function()
    local srv, port = tcp_server()
    local p = start("-d 20 -t 127.0.0.1:" .. port)
    local client, conn = through(p, srv)
    assert(client:send("request"))
    client:shutdown("send")
    assert.equal("request", conn:receive(7))
    -- the FIN arrived ("*a" reads up to it)
    local rest, _, partial = conn:receive("*a")
    assert.equal("", rest or partial)
    assert(conn:send("late answer"))
    conn:close()
    local answer, _, got = client:receive("*a")
    assert.equal("late answer", answer or got)
    client:close(); srv:close()
  end)

  it("turns a reset from the server into a reset or close at the client", function()
    local srv, port = tcp_server()
    local p = start("-d 20 -t 127.0.0.1:" .. port)
    local client, conn = through(p, srv)
    assert(client:send("x"))
    assert.equal("x", conn:receive(1))
    conn:setoption("linger", { on = true, timeout = 0 })
    conn:close()                                 -- an RST
    local data, err = client:receive(1)
    assert.is_nil(data)
    assert.truthy(err == "closed" or err:find("reset", 1, true), err)
    client:close(); srv:close()
  end)

  it("turns a reset from the client into a reset or close at the server", function()
    local srv, port = tcp_server()
    local p = start("-d 20 -t 127.0.0.1:" .. port)
    local client, conn = through(p, srv)
    assert(client:send("x"))
    assert.equal("x", conn:receive(1))
    client:setoption("linger", { on = true, timeout = 0 })
    client:close()
    local data, err = conn:receive(1)
    assert.is_nil(data)
    assert.truthy(err == "closed" or err:find("reset", 1, true), err)
    conn:close(); srv:close()
  end)

  it("resets the client when the target refuses, a round trip later", function()
    local srv, port = tcp_server()
    srv:close()                                  -- nobody listens there now
    local p = start("-d 50 -t 127.0.0.1:" .. port)
    local client = assert(socket.connect("127.0.0.1", p.port))
    client:settimeout(5)
    local t0 = monotime()
    local data, err = client:receive(1)
    local after = monotime() - t0
    assert.is_nil(data)
    assert.truthy(err == "closed" or err:find("reset", 1, true), err)
    assert.is_true(after >= 0.09, ("reset after %.3f s"):format(after))
    client:close()
    local _, stderr = p.stop()
    assert.truthy(stderr:find("1 refused", 1, true), stderr)
  end)

  it("writes a timeline of times and sizes, and nothing secret", function()
    sandbox.reset()
    local p = start("-d 5 -t 127.0.0.1:" .. sandbox_port(), { timeline = true })
    local far = sandbox.client{ base_url = p.url() }
    assert(far:user_info())
    far:close()
    local _, stderr = p.stop()
    local tl = p.timeline()
    assert.truthy(tl:find(" open 1\n", 1, true), tl)
    for line in tl:gmatch("[^\n]+") do
      assert.truthy(line:match("^%d+%.%d+ open %d+$") or line:match("^%d+%.%d+ close %d+$")
                    or line:match("^%d+%.%d+ [a-z]+%-[a-z]+ %d+ %d+$")
                    or line:match("^%d+%.%d+ [a-z]+%-[a-z]+%-[a-z]+ %d+$"), line)
    end
    for _, text in ipairs{ tl, stderr } do
      assert.is_nil(text:find("SANDBOXTOKEN", 1, true))
      assert.is_nil(text:find(sandbox.client_secret, 1, true))
      assert.is_nil(text:find(sandbox.client_id, 1, true))
    end
  end)
end)
