-- Paths and queries: values are encoded, malformed paths refused.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"

describe("sendpulse.path", function()
  it("percent-encodes every segment", function()
    assert.equal("/addressbooks/42/emails/a%2Bb%40example.com",
                 sendpulse.path("addressbooks", 42, "emails", "a+b@example.com"))
    assert.equal("/x/a%2Fb%3Fc%23d%20e%25", sendpulse.path("x", "a/b?c#d e%"))
    assert.equal("/events/name/%D0%BA%D0%B8%D0%B9", sendpulse.path("events", "name", "кий"))
  end)

  it("refuses dot segments, which no encoding makes safe", function()
    -- (found by fuzzing: "%2E%2E" is ".." to a server, and the generic
    -- verbs' path check rightly refused what path() produced)
    assert.has_error(function() sendpulse.path("a", "..", "b") end)
    assert.has_error(function() sendpulse.path("a", ".") end)
    assert.equal("/a/...", sendpulse.path("a", "..."))
    assert.equal("/a/.b", sendpulse.path("a", ".b"))
  end)

  it("raises on empty segments and bad types", function()
    assert.has_error(function() sendpulse.path("a", "") end)
    assert.has_error(function() sendpulse.path("a", {}) end)
    assert.has_error(function() sendpulse.path("a", 1.5) end)
    assert.has_error(function() sendpulse.path("a", nil) end)
  end)
end)

describe("path checks for the generic verbs", function()
  it("accepts ordinary API paths", function()
    for _, p in ipairs{ "/user/info", "/addressbooks/1/emails",
                        "/verifier-service/send-list-to-verify/",
                        "/emails/a%40b.com", "/v2/email-service/webhook" } do
      assert.is_true(core.check_path(p), p)
    end
  end)

  it("refuses what would change the request's meaning", function()
    for _, p in ipairs{ "", "user/info", "/a/../b", "/a/./b", "//a", "/a//b",
                        "/a?x=1", "/a#f", "/a b", "/a\r\nX: y", "/a\0",
                        "/a%zz", "/a/%2e%2E/b", "/é", "/a\\b" } do
      local ok, why = core.check_path(p)
      assert.is_nil(ok, p)
      assert.is_string(why, p)
    end
  end)
end)

describe("query encoding", function()
  it("sorts keys and encodes values", function()
    assert.equal("a=1&b=x%20y%26z&c=true&d=-2.5",
                 core.encode_query{ d = -2.5, c = true, b = "x y&z", a = 1 })
    assert.equal("email=a%2Bb%40c.d", core.encode_query{ email = "a+b@c.d" })
    assert.equal("ids%5B%5D=1&ids%5B%5D=2", core.encode_query{ ids = { 1, 2 } })
    assert.equal("", core.encode_query{})
    assert.equal("n=%00", core.encode_query{ n = "\0" })
    -- huge floats stay floats (found by fuzzing: the cast was undefined)
    assert.equal("x=1e%2B300", core.encode_query{ x = 1e300 })
    assert.equal("x=-9.223372036854776e%2B18", core.encode_query{ x = -2^63 })
    assert.equal("x=0.1", core.encode_query{ x = 0.1 })
  end)

  it("raises, naming the parameter, on values without a query form", function()
    local ok, err = pcall(core.encode_query, { limit = print })
    assert.is_false(ok)
    assert.matches("query.limit", err)
    ok, err = pcall(core.encode_query, { [1] = "x" })
    assert.is_false(ok)
    assert.matches("keys must be strings", err)
    ok, err = pcall(core.encode_query, { x = 0 / 0 })
    assert.is_false(ok)
    assert.matches("NaN", err)
  end)
end)
