-- What the command-line tool prints (sendpulse.cli.output): JSON, NDJSON,
-- tables and CSV, whole or item by item. In this process: no sandbox,
-- nothing spawned.
local sendpulse = require "sendpulse"
local output = require "sendpulse.cli.output"

-- A file that keeps what is written, and how many writes there were.
local function sink()
  local s = { parts = {} }
  function s:write(...)
    for i = 1, select("#", ...) do
      self.parts[#self.parts + 1] = select(i, ...)
    end
  end
  function s.flush() end
  function s:text()
    return table.concat(self.parts)
  end
  return s
end

local function printed(format, v, opts)
  local f = sink()
  opts = opts or {}
  opts.file = f
  output.writer(format, opts):value(v)
  return f:text()
end

local function streamed(format, list, opts, complete)
  local f = sink()
  opts = opts or {}
  opts.file = f
  local w = output.writer(format, opts)
  for _, item in ipairs(list) do
    w:item(item)
  end
  w:finish(complete ~= false)
  return f:text()
end

local BOOKS = {
  { id = 1, name = "Customers", all_email_qty = 10, status_explain = "Active" },
  { id = 22, name = "Suppliers, EU", all_email_qty = 3, tags = { "a", "b" } },
  { id = 333, name = "Friends", all_email_qty = 0, owner = sendpulse.null },
}

describe("cli output: JSON", function()
  it("sorts keys, indents by two spaces, keeps integers, null and empty lists", function()
    local v = { b = 1, a = { 1234567890123, sendpulse.null, sendpulse.array() }, c = {} }
    assert.equal('{\n  "a": [\n    1234567890123,\n    null,\n    []\n  ],\n  "b": 1,\n'
                 .. '  "c": {}\n}\n', printed("json", v, { pretty = true }))
    assert.equal('{"a":[1234567890123,null,[]],"b":1,"c":{}}\n', printed("json", v))
  end)

  it("prints a list item by item as the same text as the whole list", function()
    for _, pretty in ipairs{ true, false } do
      assert.equal(printed("json", BOOKS, { pretty = pretty }),
                   streamed("json", BOOKS, { pretty = pretty }))
      assert.equal(printed("json", sendpulse.array(), { pretty = pretty }),
                   streamed("json", {}, { pretty = pretty }))
    end
    assert.equal("[]\n", streamed("json", {}))
  end)

  it("leaves a list cut short without its closing bracket, and prints nothing for none",
     function()
    local text = streamed("json", { BOOKS[1] }, { pretty = true }, false)
    assert.equal('[\n  {\n    "all_email_qty": 10,\n    "id": 1,\n    "name": "Customers",\n'
                 .. '    "status_explain": "Active"\n  }\n', text)
    assert.is_nil(sendpulse.json.decode(text))
    assert.equal("", streamed("json", {}, { pretty = true }, false))
  end)

  it("writes each item as soon as it is given", function()
    local f = sink()
    local w = output.writer("json", { file = f })
    w:item(1)
    assert.equal("[1", f:text())
    w:item(2)
    assert.equal("[1,2", f:text())
    w:finish(true)
    assert.equal("[1,2]\n", f:text())
  end)
end)

describe("cli output: NDJSON", function()
  it("prints one compact line per item of a list, one line for anything else", function()
    local lines = {}
    for l in printed("ndjson", BOOKS):gmatch("[^\n]+") do
      lines[#lines + 1] = sendpulse.json.decode(l)
    end
    assert.equal(3, #lines)
    assert.equal("Suppliers, EU", lines[2].name)
    assert.equal(printed("ndjson", BOOKS), streamed("ndjson", BOOKS))
    assert.equal('{"id":1}\n', printed("ndjson", { id = 1 }))
    assert.equal("42\n", printed("ndjson", 42))
    assert.equal("", printed("ndjson", sendpulse.array()))
  end)
end)

describe("cli output: tables", function()
  it("aligns columns, id, name and email first, the others sorted", function()
    assert.equal(table.concat({
      "id   name           all_email_qty  owner  status_explain  tags",
      "1    Customers      10                    Active",
      '22   Suppliers, EU  3                                     ["a","b"]',
      "333  Friends        0",
    }, "\n") .. "\n", printed("table", BOOKS))
  end)

  it("chooses the columns from the first items when printing item by item", function()
    local text = streamed("table", BOOKS, { batch = 2 })
    local lines = {}
    for l in text:gmatch("[^\n]+") do
      lines[#lines + 1] = l
    end
    assert.equal("id  name           all_email_qty  status_explain  tags", lines[1])
    -- the third item came after the columns were chosen: its extra key
    -- is left out, its cells keep the widths
    assert.equal("333  Friends        0", lines[4])
  end)

  it("shows one object as key and value lines, shortened to one line each", function()
    local long = string.rep("é", 70)
    -- keys sorted; a long text cut at 60 characters (not bytes)
    assert.equal("id    7\nlong  " .. string.rep("é", 57) .. "...\nnote  two lines\n",
                 printed("table", { id = 7, note = "two\nlines", long = long }))
  end)

  it("prints scalars and lists of scalars one per line", function()
    assert.equal("a@x.org\nb@x.org\n", printed("table", { "a@x.org", "b@x.org" }))
    assert.equal("true\n", printed("table", true))
  end)
end)

describe("cli output: CSV", function()
  it("prints a header and RFC 4180 records", function()
    assert.equal("id,name,all_email_qty,owner,status_explain,tags\r\n"
                 .. "1,Customers,10,,Active,\r\n"
                 .. '22,"Suppliers, EU",3,,,"[""a"",""b""]"\r\n'
                 .. "333,Friends,0,,,\r\n", printed("csv", BOOKS))
    assert.equal(printed("csv", BOOKS), streamed("csv", BOOKS))
  end)

  it("prints one object as one record, a scalar under 'value'", function()
    assert.equal("id,name\r\n7,Seven\r\n", printed("csv", { id = 7, name = "Seven" }))
    assert.equal("value\r\n42\r\n", printed("csv", 42))
    assert.equal("value\r\na@x.org\r\n", printed("csv", { "a@x.org" }))
  end)
end)
