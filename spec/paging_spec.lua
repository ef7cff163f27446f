-- sendpulse.paging.iterate with a fetch function (the generated services'
-- iterators): no network, pages served by a function.
local paging = require "sendpulse.paging"

local function walk(it)
  local out = {}
  for item, err in it do
    assert(item, err)
    out[#out + 1] = item
  end
  return out
end

local function numbers(n)
  local t = {}
  for i = 1, n do
    t[i] = i
  end
  return t
end

describe("paging.iterate with fetch", function()
  it("asks one item more than it yields and stops without an empty page", function()
    local all, asked = numbers(7), {}
    local it = paging.iterate{ limit = 3, fetch = function(limit, offset)
      asked[#asked + 1] = limit .. "@" .. offset
      local page = {}
      for i = offset + 1, math.min(offset + limit, #all) do
        page[#page + 1] = all[i]
      end
      return { data = page }
    end, extract = function(res) return res.data end }
    assert.same(all, walk(it))
    assert.same({ "4@0", "4@3", "4@6" }, asked)
  end)

  it("stops on the total the response gives", function()
    local asked = 0
    local it = paging.iterate{ limit = 5, fetch = function(limit, offset)
      asked = asked + 1
      local page = {}
      for i = offset + 1, math.min(offset + limit, 10) do
        page[#page + 1] = i
      end
      return { list = page, total = 10 }
    end, extract = function(res) return res.list, res.total end }
    assert.equal(10, #walk(it))
    assert.equal(2, asked)         -- 6 + 4 items: the second page ends it
  end)

  it("with limit_key = false, walks the server's pages by offset up to the total", function()
    local offsets = {}
    local it = paging.iterate{ limit_key = false, offset_key = "offset",
                               fetch = function(limit, offset)
      assert.is_nil(limit)
      offsets[#offsets + 1] = offset
      local page = {}
      for i = offset + 1, math.min(offset + 4, 9) do
        page[#page + 1] = i
      end
      return { data = page, pageInfo = { total = 9 } }
    end, extract = function(res) return res.data, res.pageInfo.total end }
    assert.same(numbers(9), walk(it))
    assert.same({ 0, 4, 8 }, offsets)
  end)

  it("stops after one page when the server ignores the page size", function()
    local asked = 0
    local it = paging.iterate{ limit = 2, fetch = function()
      asked = asked + 1
      return numbers(5)              -- everything, whatever was asked
    end }
    assert.same(numbers(5), walk(it))
    assert.equal(1, asked)
  end)

  it("yields a failure once and stops", function()
    local it = paging.iterate{ fetch = function() return nil, "boom" end }
    local ok, err = it()
    assert.is_false(ok)
    assert.equal("boom", err)
    assert.is_nil(it())
  end)
end)
