--- Progress on standard error: a bar or a counter redrawn in place on a
-- terminal, plain lines (or nothing) otherwise. Standard output stays
-- clean for the results.
-- @module sendpulse.cli.progress
-- @local
local core = require "sendpulse.core"
local sys = require "sendpulse.cli.sys"

local format = string.format
local math_floor = math.floor
local string_rep = string.rep

local _M = {}

local BAR_WIDTH = 30

--- A reporter of `done` out of `total` items: returns `report(done)` and
-- `finish()`. `mode`: "bar" (redrawn in place), "lines" ("imported N/M"
-- per step), "none", or "auto" (a bar when standard error is a terminal,
-- lines otherwise).
function _M.reporter(mode, total)
  if mode == "auto" then
    mode = sys.is_terminal(2) and "bar" or "lines"
  end
  local drawn = false
  local function report(done)
    local err = sys.stderr
    if mode == "bar" then
      local filled = total > 0 and math_floor(BAR_WIDTH * done / total) or BAR_WIDTH
      local pct = total > 0 and math_floor(100 * done / total) or 100
      err:write(format("\rimporting [%s%s] %3d%%  %d/%d", string_rep("#", filled),
                       string_rep(".", BAR_WIDTH - filled), pct, done, total))
      drawn = true
    elseif mode == "lines" and done > 0 then
      err:write(format("imported %d/%d\n", done, total))
    end
    err:flush()
  end
  local function finish()
    if drawn then
      sys.stderr:write("\n")
      drawn = false
    end
  end
  return report, finish
end

--- A counter of items received ("fetched N items"), redrawn at most five
-- times a second, only when standard error is a terminal (`force`: in
-- any case). Returns `step()` and `finish()`, which erases it.
function _M.counter(force)
  if not (force or sys.is_terminal(2)) then
    local function nothing() end
    return nothing, nothing
  end
  local n, last, shown = 0, nil, false
  local function draw()
    sys.stderr:write(format("\rfetched %d item%s", n, n == 1 and "" or "s"))
    sys.stderr:flush()
    shown = true
  end
  local function step()
    n = n + 1
    local now = core.monotime()
    if not last or now - last >= 0.2 then
      last = now
      draw()
    end
  end
  local function finish()
    if shown then
      sys.stderr:write("\r\27[K")     -- back to the start, erase the line
      sys.stderr:flush()
      shown = false
    end
  end
  return step, finish
end

return _M
