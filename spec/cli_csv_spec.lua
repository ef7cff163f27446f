-- The CSV reader and writer of the command-line tool (sendpulse.cli.csv),
-- in this process: no sandbox, nothing spawned.
local csv = require "sendpulse.cli.csv"

-- Every record of text: { fields, line, problem } each.
local function read(text, sep)
  local out = {}
  for fields, line, problem in csv.records(text, sep or ",") do
    out[#out + 1] = { fields, line, problem }
  end
  return out
end

describe("cli csv reader", function()
  it("splits plain records and numbers their lines", function()
    assert.same({ { { "email", "name" }, 1 }, { { "a@x.org", "A" }, 2 },
                  { { "b@x.org", "B" }, 3 } },
                read("email,name\na@x.org,A\nb@x.org,B\n"))
  end)

  it("reads a last record without a line break", function()
    assert.same({ { { "a", "b" }, 1 }, { { "c", "d" }, 2 } }, read("a,b\nc,d"))
  end)

  it("takes CRLF and LF line ends alike", function()
    assert.same({ { { "a", "b" }, 1 }, { { "c", "d" }, 2 }, { { "e" }, 3 } },
                read("a,b\r\nc,d\ne\r\n"))
  end)

  it("keeps separators, doubled quotes and line breaks inside quotes", function()
    local recs = read('name,note\n"Baggins, Frodo","says ""hi"""\n"two\nlines","crlf\r\ninside"\n'
                      .. "last,one\n")
    assert.same({ "Baggins, Frodo", 'says "hi"' }, recs[2][1])
    assert.equal(2, recs[2][2])
    assert.same({ "two\nlines", "crlf\r\ninside" }, recs[3][1])
    assert.equal(3, recs[3][2])
    -- the record after one holding two line breaks (lines 3-5) starts on line 6
    assert.same({ { "last", "one" }, 6 }, recs[4])
    assert.is_nil(recs[3][3])
  end)

  it("keeps empty fields: between separators, at the end, in quotes", function()
    assert.same({ { { "a", "", "b", "" }, 1 }, { { "", "" }, 2 }, { { "" }, 3 },
                  { { "x" }, 4 } },
                read('a,,b,\n"",\n\nx\n'))
  end)

  it("skips a UTF-8 byte order mark", function()
    assert.same({ { { "email" }, 1 }, { { "a@x.org" }, 2 } },
                read("\239\187\191email\na@x.org\n"))
  end)

  it("uses another delimiter, which then is ordinary text elsewhere", function()
    assert.same({ { { "a,b", "c" }, 1 }, { { "d;e", "f" }, 2 } }, read('a,b;c\n"d;e";f\n', ";"))
    assert.same({ { { "a", "b c" }, 1 } }, read("a\tb c\n", "\t"))
  end)

  it("reports an unclosed quote at the line its record starts on", function()
    local recs = read('email,name\nok@x.org,A\nbad@x.org,"never closed\nmore,text\n')
    assert.equal(3, #recs)
    assert.same({ "bad@x.org", "never closed\nmore,text\n" }, recs[3][1])
    assert.equal(3, recs[3][2])
    assert.equal("a quoted field is not closed", recs[3][3])
  end)

  it("reports text after a closing quote, and a quote in an unquoted field", function()
    local recs = read('"a"b,c\nd,e"f\ng,h\n')
    assert.same({ { "ab", "c" }, 1, "text after the closing quote of a field" }, recs[1])
    assert.same({ { "d", 'e"f' }, 2, 'a quote (") inside a field that does not start with one' },
                recs[2])
    assert.same({ { "g", "h" }, 3 }, recs[3])
  end)

  it("yields nothing for an empty text", function()
    assert.same({}, read(""))
  end)
end)

describe("cli csv delimiter", function()
  it("accepts one character, \\t and tab", function()
    assert.equal(";", csv.delimiter(";"))
    assert.equal("\t", csv.delimiter("\\t"))
    assert.equal("\t", csv.delimiter("tab"))
  end)

  it("refuses several characters, quotes and line breaks, saying why", function()
    for _, bad in ipairs{ "::", "", '"', "\n", "\r" } do
      local sep, why = csv.delimiter(bad)
      assert.is_nil(sep)
      assert.truthy(why:find("one character expected", 1, true), why)
    end
  end)
end)

describe("cli csv writer", function()
  it("quotes only what needs it and ends records with CRLF", function()
    assert.equal('plain,"a,b","say ""hi""","two\nlines"," lead","trail ",x\r\n',
                 csv.record({ "plain", "a,b", 'say "hi"', "two\nlines", " lead", "trail ", "x" },
                            ","))
    assert.equal("a,b;c\r\n", csv.record({ "a,b", "c" }, ";"))
    assert.equal('"a;b"\r\n', csv.record({ "a;b" }, ";"))
    assert.equal("\r\n", csv.record({}, ","))
  end)

  it("writes what the reader reads back", function()
    local fields = { "", 'q"uote', "sep,arated", "line\r\nbreak", "  spaced  ", "é ü" }
    local recs = read(csv.record(fields, ",") .. csv.record({ "next" }, ","))
    assert.same({ fields, 1 }, recs[1])
    assert.same({ { "next" }, 3 }, recs[2])
  end)
end)
