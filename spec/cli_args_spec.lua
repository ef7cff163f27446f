-- The argument and option parser of the command-line tool
-- (sendpulse.cli.args), in this process: no sandbox, nothing spawned.
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"

local opt, param = args.opt, args.param
local DATA = "spec/data/cli/"

local GLOBALS = {
  opt("raw", nil, nil, "compact JSON"),
  opt("timeout", "SECONDS", "seconds", "time allowed"),
  opt("help", nil, nil, "help", { short = "h" }),
  opt("output", "FORMAT", "choice", "format", { short = "o", choices = { "json", "table" } }),
}

local function command(spec)
  spec.path = spec.path or "demo run"
  spec.args = spec.args or {}
  spec.options = spec.options or {}
  return spec
end

local LIST = command{
  args = { param("ID", "id", "the list"), param("EMAIL...", "email", "addresses",
                                                { optional = true }) },
  options = {
    opt("limit", "N", "positive", "items per request"),
    opt("all", nil, nil, "every page"),
    opt("var", "NAME=VALUE", "pair", "a variable", { map = true }),
    opt("to", "ADDR", "address", "a recipient", { multi = true }),
    opt("mode", "MODE", "choice", "how", { choices = { "fast", "slow" }, default = "fast" }),
  },
}

local function parse(c, tokens)
  return args.parse(c, tokens, GLOBALS)
end

-- The usage error parsing raises: its message (and exit status 2).
local function refused(c, tokens)
  local ok, e = pcall(args.parse, c, tokens, GLOBALS)
  assert(not ok, "expected a usage error")
  assert(errors.is_failure(e), "not a usage error: " .. tostring(e))
  assert.equal(2, e.status)
  return e.message
end

local function converts(typ, s, extra)
  return args.convert(opt("x", "X", typ, "", extra), s, "--x")
end

local function convert_refused(typ, s, extra)
  local ok, e = pcall(args.convert, opt("x", "X", typ, "", extra), s, "--x")
  assert(not ok and errors.is_failure(e), "expected a usage error for " .. s)
  return e.message
end

describe("cli args: declarations", function()
  it("derive keys from names", function()
    assert.equal("send_date", opt("send-date", "DATE").key)
    assert.equal("id", param("ID").key)
    assert.equal("emails", param("EMAIL...").key)
    assert.is_true(param("EMAIL...").many)
    assert.equal("block_id", param("BLOCK_ID").key)
    assert.equal("vars", param("NAME=VALUE...", "pair", "", { key = "vars" }).key)
  end)

  it("make usage lines", function()
    assert.equal("sendpulse demo run ID [EMAIL ...] [--limit N] [--all] [--var NAME=VALUE ...] "
                 .. "[--to ADDR ...] [--mode MODE]", args.usage_line(LIST))
    assert.equal("sendpulse x y --a B", args.usage_line{ path = "x", usage = "y --a B" })
  end)
end)

describe("cli args: parsing", function()
  it("assigns arguments and options in any order", function()
    assert.same({ id = 7, emails = { "a@x.org", "b@x.org" }, limit = 5, all = true,
                  mode = "fast" },
                parse(LIST, { "--all", "7", "a@x.org", "--limit", "5", "b@x.org" }))
  end)

  it("takes --opt=value, and a value that starts with a dash or holds =", function()
    local v = parse(LIST, { "1", "--limit=3", "--var=a=b=c", "--var", "n:=[1,2]" })
    assert.equal(3, v.limit)
    assert.same({ a = "b=c", n = { 1, 2 } }, v.var)
    local c = command{ options = { opt("name", "NAME", "string", "") } }
    assert.equal("-x-", parse(c, { "--name", "-x-" }).name)
    assert.equal("", parse(c, { "--name=" }).name)
  end)

  it("makes every token after -- an argument, and - one too", function()
    local c = command{ args = { param("WORD...", "string", "") } }
    assert.same({ "-", "--limit", "-h", "--" },
                parse(c, { "-", "--", "--limit", "-h", "--" }).words)
  end)

  it("takes global options and short options anywhere", function()
    local v = parse(LIST, { "-o", "table", "1", "--raw", "-h", "--timeout=2.5" })
    assert.same({ id = 1, emails = {}, output = "table", raw = true, help = true,
                  timeout = 2.5, mode = "fast" }, v)
  end)

  it("collects repeated options: lists, maps, and the last one for others", function()
    local v = parse(LIST, { "1", "--to", "A <a@x.org>", "--to", "b@x.org", "--limit", "2",
                            "--limit", "9", "--var", "k=1", "--var", "k=2" })
    assert.same({ { name = "A", email = "a@x.org" }, { email = "b@x.org" } }, v.to)
    assert.equal(9, v.limit)
    assert.same({ k = "2" }, v.var)
  end)

  it("fills in defaults and checks required options", function()
    assert.equal("slow", parse(LIST, { "1", "--mode", "slow" }).mode)
    local c = command{ options = { opt("subject", "TEXT", "string", "", { required = true }) } }
    assert.equal("missing --subject (usage: sendpulse demo run --subject TEXT)",
                 refused(c, {}))
  end)

  it("refuses unknown options, suggesting the nearest", function()
    assert.equal("unknown option '--limt' for 'sendpulse demo run'; did you mean '--limit'?",
                 refused(LIST, { "1", "--limt", "3" }))
    assert.equal("unknown option '--lim=3' for 'sendpulse demo run'; did you mean '--limit'?",
                 refused(LIST, { "1", "--lim=3" }))
    assert.equal("unknown option '-x' for 'sendpulse demo run'", refused(LIST, { "-x" }))
    assert.equal("unknown option '--timeot' for 'sendpulse demo run'; did you mean "
                 .. "'--timeout'?", refused(LIST, { "--timeot" }))
  end)

  it("refuses missing values and values given to flags", function()
    assert.equal("--limit needs a value (N)", refused(LIST, { "1", "--limit" }))
    assert.equal("--all takes no value", refused(LIST, { "1", "--all=yes" }))
  end)

  it("refuses missing and extra arguments", function()
    assert.equal("missing ID (usage: sendpulse demo run ID [EMAIL ...] [--limit N] [--all] "
                 .. "[--var NAME=VALUE ...] [--to ADDR ...] [--mode MODE])", refused(LIST, {}))
    local c = command{ args = { param("ID", "id", "") } }
    assert.equal("unexpected argument '2' (usage: sendpulse demo run ID)",
                 refused(c, { "1", "2" }))
    c = command{ args = { param("EMAIL...", "email", "") } }
    assert.equal("missing EMAIL... (usage: sendpulse demo run EMAIL ...)", refused(c, {}))
  end)

  it("names the argument whose value is wrong", function()
    assert.equal("ID: a positive integer expected, got 'abc'", refused(LIST, { "abc" }))
    assert.equal("EMAIL: not an email address: 'nope' (no @)", refused(LIST, { "1", "nope" }))
    assert.equal("--mode: one of fast, slow expected, got 'warp'",
                 refused(LIST, { "1", "--mode", "warp" }))
  end)
end)

describe("cli args: types", function()
  it("integers: id, count, positive, integer", function()
    assert.equal(42, converts("id", "42"))
    assert.equal(0, converts("count", "0"))
    assert.equal(1, converts("positive", "+1"))
    assert.equal(-5, converts("integer", "-5"))
    assert.equal("--x: a positive integer expected, got '0'", convert_refused("id", "0"))
    assert.equal("--x: a non-negative integer expected, got '-1'", convert_refused("count", "-1"))
    assert.equal("--x: an integer of at least 1 expected, got '1.5'",
                 convert_refused("positive", "1.5"))
    assert.equal("--x: an integer expected, got '1e3'", convert_refused("integer", "1e3"))
    -- too large to be exact without 5.3's integers, or beyond 64 bits
    convert_refused("id", "99999999999999999999")
  end)

  it("numbers and seconds", function()
    assert.equal(2.5, converts("number", "2.5"))
    assert.equal(3, converts("number", "3"))
    assert.equal(0.25, converts("seconds", "0.25"))
    convert_refused("number", "nan")
    convert_refused("number", "abc")
    assert.equal("--x: a number of seconds expected, got '0'", convert_refused("seconds", "0"))
    convert_refused("seconds", "inf")
  end)

  it("booleans and switches", function()
    assert.is_true(converts("switch", "on"))
    assert.is_false(converts("switch", "NO"))
    assert.is_true(converts("boolean", "true"))
    assert.is_false(converts("boolean", "0"))
    assert.equal("--x: on or off expected, got 'maybe'", convert_refused("switch", "maybe"))
    assert.equal("--x: true or false expected, got 'maybe'", convert_refused("boolean", "maybe"))
  end)

  it("email addresses and 'Name <address>'", function()
    assert.equal("frodo@shire.me", converts("email", "frodo@shire.me"))
    for s, why in pairs{ ["a@b@c.org"] = "more than one @", ["@x.org"] = "nothing before the @",
                         ["a@"] = "nothing after the @", ["a@x"] = "no dot in the domain",
                         ["a..b@x.org"] = "misplaced dot before the @",
                         ["a b@x.org"] = "contains a space or a control character",
                         ["a@-x.org"] = "a part of the domain starts or ends with '-'",
                         ["a@x.1"] = "invalid top-level domain", [""] = "empty" } do
      assert.equal("--x: not an email address: '" .. s .. "' (" .. why .. ")",
                   convert_refused("email", s))
    end
    assert.same({ name = "Frodo Baggins", email = "frodo@shire.me" },
                converts("address", "Frodo Baggins <frodo@shire.me>"))
    assert.same({ name = "Bilbo", email = "b@shire.me" },
                converts("address", '"Bilbo" <b@shire.me>'))
    assert.same({ email = "s@shire.me" }, converts("address", " s@shire.me "))
    assert.equal("--x: not an email address: 'frodo' (no @)",
                 convert_refused("address", "Frodo <frodo>"))
  end)

  it("NAME=VALUE and NAME:=JSON pairs", function()
    assert.same({ "city", "Bag End" }, converts("pair", "city=Bag End"))
    assert.same({ "n", 1234 }, converts("pair", "n:=1234"))
    assert.same({ "tags", { "a", "b" } }, converts("pair", 'tags:=["a","b"]'))
    assert.same({ "url", "x?a=b" }, converts("pair", "url=x?a=b"))
    assert.equal("--x: NAME=VALUE expected, got 'city'", convert_refused("pair", "city"))
    assert.truthy(convert_refused("pair", "n:=[1,"):find("^%-%-x: invalid JSON in 'n:=%[1,'"))
  end)

  it("texts from the command line, a file or @@", function()
    assert.equal("plain", converts("text", "plain"))
    local f = assert(io.open(DATA .. "message.txt", "rb"))
    local content = f:read("*a")
    f:close()
    assert.equal(content, converts("text", "@" .. DATA .. "message.txt"))
    assert.equal("@handle", converts("text", "@@handle"))
    assert.equal("--x: cannot read 'spec/data/cli/nope.txt': No such file or directory",
                 convert_refused("text", "@" .. DATA .. "nope.txt"))
    local file = converts("file", DATA .. "message.txt")
    assert.same({ name = "message.txt", data = content }, file)
  end)

  it("JSON values and bodies", function()
    assert.same({ 1, 2 }, converts("array", "[1,2]"))
    assert.same({ a = 1 }, converts("object", '{"a":1}'))
    assert.equal("--x: a JSON array expected, got '{}x'", convert_refused("array", "{}x"))
    assert.equal("--x: a JSON object expected, got '[1]'", convert_refused("object", "[1]"))
    assert.same({ bookName = "From a file" }, converts("json", "@" .. DATA .. "book.json"))
    assert.same({ a = true }, converts("json", '{"a": true}'))
    assert.equal("--x: a JSON object or array expected", convert_refused("json", "42"))
    assert.truthy(convert_refused("json", "@" .. DATA .. "bad.json")
                  :find("^spec/data/cli/bad%.json: invalid JSON: "))
  end)

  it("ids that are integers or names, and choices", function()
    assert.equal(12, converts("id_or_name", "12"))
    assert.equal("a1b2", converts("id_or_name", "a1b2"))
    assert.equal("bar", converts("choice", "bar", { choices = { "bar", "none" } }))
  end)
end)
