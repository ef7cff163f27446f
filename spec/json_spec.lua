-- The core's JSON: results must mirror the JSON exactly, integers included.
local sendpulse = require "sendpulse"
local json = sendpulse.json

local has_integers = math.type ~= nil

describe("json.decode", function()
  it("keeps integers as integers and floats as floats", function()
    local v = json.decode('{"id": 1, "neg": -42, "f": 1.5, "e": 1e3, "z": 0}')
    assert.equal(1, v.id)
    assert.equal(-42, v.neg)
    assert.equal(1.5, v.f)
    assert.equal(1000, v.e)
    if has_integers then
      assert.equal("integer", math.type(v.id))
      assert.equal("integer", math.type(v.neg))
      assert.equal("float", math.type(v.f))
      assert.equal("float", math.type(v.e))
      assert.equal("/addressbooks/1", "/addressbooks/" .. v.id)
    end
  end)

  it("keeps integers above 2^53 exact on Lua 5.3+", function()
    local v = json.decode('[9007199254740993, 9223372036854775807, '
                          .. '-9223372036854775808, 18446744073709551616]')
    if has_integers then
      assert.equal(9007199254740993, v[1])
      assert.equal(math.maxinteger, v[2])
      assert.equal(math.mininteger, v[3])
      assert.equal("float", math.type(v[4]))   -- beyond 64 bits
    else
      assert.equal(9007199254740992, v[1])     -- doubles: nearest value
    end
  end)

  it("maps null to sendpulse.null and keeps nesting and arrays", function()
    local v = json.decode('{"a": null, "b": [1, [2, {"c": []}]], "d": {}}')
    assert.equal(sendpulse.null, v.a)
    assert.equal(2, #v.b)
    assert.equal(2, v.b[2][1])
    assert.same({}, v.b[2][2].c)
    assert.equal('{"c":[]}', json.encode(v.b[2][2]))  -- [] stays an array
    assert.equal("{}", json.encode(v.d))
  end)

  it("decodes escapes, surrogate pairs and raw UTF-8", function()
    local v = json.decode([["a\"b\\c\/d\n\t\u00e9\ud83d\ude00 Кий\u0000x"]])
    assert.equal('a"b\\c/d\n\té😀 Кий\0x', v)
    -- a lone surrogate becomes U+FFFD rather than an invalid byte string
    assert.equal("\239\191\189", json.decode([["\ud800"]]))
  end)

  it("returns nil and a message for malformed JSON", function()
    for _, text in ipairs{ "", "{", '{"a":}', "[1,]", "nul", '"abc',
                          "01", "1.", "{'a':1}", "[1] x", '{"a" 1}',
                          '"\1"', '"\\x"', "-", "--1", "1e" } do
      local v, err = json.decode(text)
      assert.is_nil(v, text)
      assert.is_string(err, text)
    end
  end)

  it("refuses nesting 10,000 deep without crashing", function()
    local v, err = json.decode(string.rep("[", 10000) .. string.rep("]", 10000))
    assert.is_nil(v)
    assert.matches("nesting too deep", err)
    v = json.decode(string.rep('{"a":', 500) .. "1" .. string.rep("}", 500))
    assert.is_table(v)
  end)
end)

describe("json.encode", function()
  it("encodes scalars, arrays and objects", function()
    assert.equal("[1,2.5,true,false,null,\"x\"]",
                 json.encode{ 1, 2.5, true, false, sendpulse.null, "x" })
    assert.equal('{"a":{"b":[1]}}', json.encode{ a = { b = { 1 } } })
    assert.equal("[]", json.encode(sendpulse.array()))
    assert.equal("{}", json.encode({}))
    assert.equal("0.1", json.encode(0.1))
    assert.equal("1e+300", json.encode(1e300))
  end)

  it("escapes strings and keeps UTF-8", function()
    assert.equal([["q\"b\\s/\n\r\t\u0001é"]], json.encode('q"b\\s/\n\r\t\1é'))
  end)

  it("round-trips large integers on Lua 5.3+", function()
    if has_integers then
      assert.equal("9007199254740993", json.encode(9007199254740993))
      assert.equal(math.maxinteger, json.decode(json.encode(math.maxinteger)))
    end
  end)

  it("raises, naming the place, on values JSON cannot hold", function()
    local cases = {
      { { a = { b = { print } } }, "value.a.b%[1%]: cannot encode a function" },
      { { 1, 2, x = 3 }, "mixes array items and object keys" },
      { { [1] = 1, [3] = 3 }, "array has holes" },
      { { a = 0 / 0 }, "NaN" },
      { { a = math.huge }, "infinity" },
      { { s = "\255\254" }, "not valid UTF%-8" },
      { { [1.5] = true }, "neither a string nor a positive integer" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(json.encode, c[1])
      assert.is_false(ok)
      assert.matches(c[2], err)
    end
    -- found by fuzzing: a marked array silently lost its other keys
    local marked = sendpulse.array{ 1, 2 }
    marked.extra = true
    local ok2, err2 = pcall(json.encode, marked)
    assert.is_false(ok2)
    assert.matches("marked as an array", err2)
    local cycle = {}
    cycle.self = cycle
    local ok, err = pcall(json.encode, cycle)
    assert.is_false(ok)
    assert.matches("nesting too deep", err)
  end)
end)
