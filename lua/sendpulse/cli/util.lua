--- Small helpers shared by the command-line tool's modules.
-- @module sendpulse.cli.util
-- @local
local errors = require "sendpulse.cli.errors"
local sys = require "sendpulse.cli.sys"

local concat = table.concat
local format = string.format
local io_open = io.open
local ipairs = ipairs
local math_abs = math.abs
local math_min = math.min
local math_type = math.type
local tonumber = tonumber
local tostring = tostring
local type = type

local usage = errors.usage

local _M = {}

function _M.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

function _M.basename(path)
  return path:match("([^/\\]+)$") or path
end

function _M.shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The whole content of a file, or of standard input for "-"; a file
-- that cannot be read is a usage error naming `what` (the option or
-- argument it came from).
function _M.read_file(path, what)
  local prefix = what and (what .. ": ") or ""
  local f, err
  if path == "-" then
    f = sys.stdin
  else
    f, err = io_open(path, "rb")
  end
  if not f then
    usage("%scannot read %s", prefix, ((err or path):gsub("^([^:]+): ", "'%1': ")))
  end
  local data = f:read("*a")
  if f ~= sys.stdin then
    f:close()
  end
  if not data then
    usage("%scannot read '%s'", prefix, path)
  end
  return data
end

--- An integer written in decimal, or nil (also for one too large to be
-- exact: beyond 2^53 without Lua 5.3's integers).
function _M.to_integer(s)
  if type(s) ~= "string" or not s:find("^[+-]?%d+$") then
    return nil
  end
  local n = tonumber(s)
  if math_type then
    if math_type(n) ~= "integer" then
      return nil
    end
  elseif math_abs(n) > 2 ^ 53 then
    return nil
  end
  return n
end

-- Edit distance, for "did you mean": insertions, deletions,
-- substitutions and swaps of two neighbours ("cmr" is one from "crm").
local function distance(a, b)
  local before, prev = nil, {}
  for j = 0, #b do
    prev[j] = j
  end
  for i = 1, #a do
    local cur = { [0] = i }
    local ai = a:sub(i, i)
    for j = 1, #b do
      local bj = b:sub(j, j)
      local d = math_min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ai == bj and 0 or 1))
      if before and i > 1 and j > 1 and ai == b:sub(j - 1, j - 1)
         and a:sub(i - 1, i - 1) == bj then
        d = math_min(d, before[j - 2] + 1)
      end
      cur[j] = d
    end
    before, prev = prev, cur
  end
  return prev[#b]
end

--- "; did you mean 'X'?" for the candidate nearest to `word`, or "".
function _M.suggest(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = distance(word, c)
    if c:sub(1, #word) == word and #word >= 3 then
      d = math_min(d, 1)
    end
    if d <= 2 and (not best_d or d < best_d) then
      best, best_d = c, d
    end
  end
  return best and ("; did you mean '" .. best .. "'?") or ""
end

--- "1, 4-6, 9" from a sorted list of numbers, at most `max` parts.
function _M.ranges(list, max)
  local parts, i = {}, 1
  while i <= #list do
    local j = i
    while j < #list and list[j + 1] == list[j] + 1 do
      j = j + 1
    end
    parts[#parts + 1] = i == j and tostring(list[i]) or (list[i] .. "-" .. list[j])
    i = j + 1
  end
  if max and #parts > max then
    local more = #parts - max
    for k = #parts, max + 1, -1 do
      parts[k] = nil
    end
    parts[#parts + 1] = format("... (%d more)", more)
  end
  return concat(parts, ", ")
end

--- "1 row" / "2 rows".
function _M.plural(n, word)
  return n .. " " .. word .. (n == 1 and "" or "s")
end

return _M
