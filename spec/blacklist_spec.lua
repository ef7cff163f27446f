-- The email blacklist against the sandbox: `emails` goes out as base64 of
-- the comma-joined addresses, decoded here independently of the client.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- A plain base64 decoder (no bit operators: runs on 5.1/LuaJIT too).
local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local VALUE = {}
for i = 1, #ALPHABET do
  VALUE[ALPHABET:sub(i, i)] = i - 1
end

local function unbase64(s)
  assert(#s % 4 == 0, "base64 length not a multiple of 4: " .. s)
  assert(s:find("^[A-Za-z0-9+/]*=?=?$"), "not base64: " .. s)
  local out = {}
  for i = 1, #s, 4 do
    local n, pad = 0, 0
    for j = i, i + 3 do
      local c = s:sub(j, j)
      if c == "=" then
        pad = pad + 1
        n = n * 64
      else
        n = n * 64 + VALUE[c]
      end
    end
    local a = math.floor(n / 65536)
    local b = math.floor(n / 256) % 256
    local c = n % 256
    out[#out + 1] = string.char(a)
    if pad < 2 then
      out[#out + 1] = string.char(b)
    end
    if pad < 1 then
      out[#out + 1] = string.char(c)
    end
  end
  return table.concat(out)
end

-- fn must raise a "bad argument 'name'" error before sending anything; with
-- at_caller, the error must point at the caller's line (this file).
local raises = sandbox.bad_argument

describe("blacklist #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("the spec's decoder is right", function()
    assert.equal("a@b.c,d+x@e.f", unbase64("YUBiLmMsZCt4QGUuZg=="))
    assert.equal("ab", unbase64("YWI="))
    assert.equal("abc", unbase64("YWJj"))
  end)

  it("add_to_blacklist sends base64 of the comma-joined list, and a comment", function()
    local emails = { "saruman@isengard.org", "grima+worm@edoras.me", "bill@bree.me" }
    local res = assert(client:add_to_blacklist(emails, { comment = "traitors" }))
    assert.equal(3, res.done)
    assert.equal(1, res.chunks)
    assert.same({ { result = true } }, res.results)
    local sent = sandbox.requests("POST /blacklist")
    assert.equal(1, #sent)
    assert.equal("application/json", sent[1].content_type)
    local body = json.decode(sent[1].body)
    assert.equal("traitors", body.comment)
    assert.equal("saruman@isengard.org,grima+worm@edoras.me,bill@bree.me",
                 unbase64(body.emails))
    assert.same(emails, assert(client:blacklist()))
  end)

  it("add_to_blacklist goes in chunks, with progress", function()
    local emails = {}
    for i = 1, 2500 do
      emails[i] = ("orc%04d@mordor.me"):format(i)
    end
    local progress = {}
    local res = assert(client:add_to_blacklist(emails, { concurrency = 1,
      on_progress = function(done, total)
        progress[#progress + 1] = done .. "/" .. total
      end,
    }))
    assert.equal(2500, res.done)
    assert.equal(3, res.chunks)
    assert.same({ "1000/2500", "2000/2500", "2500/2500" }, progress)
    local sent = sandbox.requests("POST /blacklist")
    assert.equal(3, #sent)
    local third = {}
    for i = 2001, 2500 do
      third[#third + 1] = emails[i]
    end
    local body = json.decode(sent[3].body)
    assert.equal(table.concat(third, ","), unbase64(body.emails))
    assert.is_nil(body.comment)
    local n = 0
    for email, err in client:each_blacklisted_email() do
      assert(email, err)
      n = n + 1
      assert.equal(emails[n], email)
    end
    assert.equal(2500, n)
  end)

  it("add_to_blacklist reports a failing chunk and loses nothing", function()
    local emails = {}
    for i = 1, 50 do
      emails[i] = ("orc%02d@mordor.me"):format(i)
    end
    local res, err = client:add_to_blacklist(emails, { concurrency = 1,
      chunk = 10, on_progress = function(done)
        if done == 20 then
          sandbox.fault{ path = "/blacklist", method = "POST", status = 500, times = 1 }
        end
      end,
    })
    assert.is_nil(res)
    assert.equal(3, err.chunk)
    assert.equal(5, err.chunks)
    assert.equal(20, err.done)
    assert.equal(30, #err.not_done)
    assert.equal("orc21@mordor.me", err.not_done[1])
    assert.equal("orc50@mordor.me", err.not_done[30])
    assert.equal(500, err.status)
    assert.equal(3, sandbox.count("POST /blacklist"))
    assert.equal(20, #assert(client:blacklist()))
    assert(client:add_to_blacklist(err.not_done))
    local all = assert(client:blacklist())
    assert.equal(50, #all)
    assert.same(emails, all)
  end)

  it("blacklist sends limit/offset; the iterator stops without an empty request", function()
    local emails = {}
    for i = 1, 9 do
      emails[i] = ("nazgul%d@mordor.me"):format(i)
    end
    assert(client:add_to_blacklist(emails))
    local page = assert(client:blacklist{ limit = 3, offset = 6 })
    assert.same({ "nazgul7@mordor.me", "nazgul8@mordor.me", "nazgul9@mordor.me" }, page)
    assert.equal("limit=3&offset=6", sandbox.last().query)
    local seen = {}
    for email, err in client:each_blacklisted_email{ limit = 4 } do
      assert(email, err)
      seen[#seen + 1] = email
    end
    assert.same(emails, seen)
    -- one page call, then 5 asked (4 + a probe) at 0, 4, 8
    assert.equal(4, #sandbox.requests("GET /blacklist"))
    local n = 0
    for email in client:each_blacklisted_email{ max = 2 } do
      assert.truthy(email)
      n = n + 1
    end
    assert.equal(2, n)
  end)

  it("remove_from_blacklist sends a DELETE with the base64 body, in chunks", function()
    local emails = { "a@mordor.me", "b@mordor.me", "c@mordor.me", "d@mordor.me" }
    assert(client:add_to_blacklist(emails))
    local res = assert(client:remove_from_blacklist({ "b@mordor.me", "d@mordor.me",
                                                      "C@MORDOR.ME" }, { chunk = 2,
                                                                         concurrency = 1 }))
    assert.equal(3, res.done)
    assert.equal(2, res.chunks)
    local sent = sandbox.requests("DELETE /blacklist")
    assert.equal(2, #sent)
    assert.equal("application/json", sent[1].content_type)
    assert.equal("b@mordor.me,d@mordor.me", unbase64(json.decode(sent[1].body).emails))
    assert.equal("C@MORDOR.ME", unbase64(json.decode(sent[2].body).emails))
    assert.same({ "a@mordor.me" }, assert(client:blacklist()))
  end)

  it("remove_from_blacklist reports a failing chunk precisely", function()
    local c = sandbox.client{ max_retries = 0 }
    assert(c:add_to_blacklist({ "a@mordor.me", "b@mordor.me", "c@mordor.me" }))
    sandbox.fault{ path = "/blacklist", method = "DELETE", status = 500, times = 1 }
    local res, err = c:remove_from_blacklist({ "a@mordor.me", "b@mordor.me", "c@mordor.me" },
                                             { concurrency = 1, chunk = 2 })
    assert.is_nil(res)
    assert.equal(1, err.chunk)
    assert.equal(0, err.done)
    assert.same({ "a@mordor.me", "b@mordor.me", "c@mordor.me" }, err.not_done)
    assert.equal(3, #assert(c:blacklist()))
    c:close()
  end)

  it("the sandbox refuses a list that is not base64 (999)", function()
    local res, err = client:post("/blacklist", { emails = "a@b.c" })
    assert.is_nil(res)
    assert.equal(999, err.code)
    res, err = client:post("/blacklist", {})
    assert.is_nil(res)
    assert.equal(8, err.code)
  end)

  it("checks its arguments before sending anything", function()
    raises("emails", function() client:add_to_blacklist({}) end, true)
    raises("emails", function() client:add_to_blacklist("a@b.c") end, true)
    raises("emails[2]", function() client:add_to_blacklist({ "a@b.c", "nobody" }) end, true)
    raises("emails[1]", function() client:add_to_blacklist({ "a,b@c.d" }) end, true)
    raises("opts.comment", function()
      client:add_to_blacklist({ "a@b.c" }, { comment = 5 })
    end, true)
    raises("opts", function() client:add_to_blacklist({ "a@b.c" }, { reason = "x" }) end)
    raises("opts", function() client:remove_from_blacklist({ "a@b.c" }, { comment = "x" }) end)
    raises("emails[1]", function() client:remove_from_blacklist({ 42 }) end, true)
    raises("opts.limit", function() client:blacklist{ limit = "10" } end)
    raises("opts", function() client:each_blacklisted_email{ page = 1 } end)
  end)
end)
