-- Memory bounded by the body, whatever the body: a child process
-- (spec/support/rss_probe.lua) makes one call against an answer armed
-- here and reports its peak RSS before and after. Tagged #memory: run
-- once, from the Lua 5.4 run (the probe is a lua5.4 process either way).
local sandbox = require "support.sandbox"

local MIB = 1048576
local BODY = 16 * MIB
-- "[]," 5.6 million times: the cheapest text for the most Lua tables
local EMPTY_ARRAYS = { prefix = "[", unit = "[],", count = math.floor(BODY / 3),
                       suffix = "[]]" }

local function probe(fault, limit_kib)
  sandbox.reset()
  fault.path = "/user/info"
  sandbox.fault(fault)
  local cmd = "lua5.4 spec/support/rss_probe.lua /user/info"
  if limit_kib then
    cmd = "ulimit -v " .. limit_kib .. "; " .. cmd
  end
  local p = assert(io.popen("bash -c '" .. cmd .. "' 2>&1"))
  local out = p:read("a")
  p:close()
  local before, after, outcome = out:match("^(%d+) (%d+) ([^\n]*)")
  assert(before, "the probe said: " .. out)
  return (tonumber(after) - tonumber(before)) * 1024, outcome
end

local function with(t, extra)
  local out = {}
  for k, v in pairs(t) do
    out[k] = v
  end
  for k, v in pairs(extra) do
    out[k] = v
  end
  return out
end

describe("memory #sandbox #memory", function()
  it("a 16 MiB error body costs about its size: it is not decoded", function()
    local grew, outcome = probe(with(EMPTY_ARRAYS, { action = "pattern", status = 500 }))
    assert.equal("http 500", outcome)
    assert.is_true(grew < 3 * BODY, ("grew %.0f MiB"):format(grew / MIB))
    print(("\n  [memory] 16 MiB 500 body: peak RSS +%.0f MiB"):format(grew / MIB))
  end)

  it("a 16 MiB 200 body decodes within 8 times its size plus 64 MiB, or fails", function()
    local grew, outcome = probe(with(EMPTY_ARRAYS, { action = "pattern", status = 200 }))
    assert.equal("decode nil", outcome)
    -- the budget, plus the receive buffer (it grows by doubling)
    assert.is_true(grew < 8 * BODY + 64 * MIB + 3 * BODY,
                   ("grew %.0f MiB"):format(grew / MIB))
    print(("\n  [memory] 16 MiB 200 body of empty arrays: peak RSS +%.0f MiB, "
           .. "kind=decode"):format(grew / MIB))
    grew, outcome = probe{ action = "big", size = BODY }
    assert.equal("result", outcome)
    assert.is_true(grew < 3 * BODY, ("grew %.0f MiB"):format(grew / MIB))
    print(("\n  [memory] 16 MiB 200 body decoded: peak RSS +%.0f MiB"):format(grew / MIB))
  end)

  it("running out of memory comes back as nil, err, not a raise", function()
    local _, outcome = probe(with(EMPTY_ARRAYS, { action = "pattern", status = 200 }), 150000)
    assert.equal("decode nil", outcome)
  end)
end)
