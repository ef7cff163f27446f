--- What the command-line tool prints: a result as JSON (the default),
-- NDJSON, a table or CSV, whole or item by item as a list arrives.
--
--    local w = output.writer("json", { pretty = true, file = io.stdout })
--    w:value(result)                    -- a whole result
--    w:item(a) w:item(b) w:finish(true) -- a list, item by item
--
-- JSON: keys sorted, indented by two spaces (`pretty`) or on one line,
-- integers exact, null as null, empty lists as []. A list printed item by
-- item is the same text as the whole list printed at once; a list cut
-- short by a failure is left without its closing bracket, so that it
-- cannot pass for a complete one.
-- @module sendpulse.cli.output
-- @local
local sendpulse = require "sendpulse"
local csv = require "sendpulse.cli.csv"

local concat = table.concat
local getmetatable = getmetatable
local ipairs = ipairs
local math_max = math.max
local next = next
local pairs = pairs
local pcall = pcall
local setmetatable = setmetatable
local sort = table.sort
local string_rep = string.rep
local tostring = tostring
local type = type

local json_encode = sendpulse.json.encode
local null = sendpulse.null
local ARRAY_MT = getmetatable(sendpulse.array())

local _M = {}

--- The output formats, in the order --help lists them.
_M.FORMATS = { "json", "ndjson", "table", "csv" }

---------------------------------------------------------------------------
-- JSON.

--- Whether `t` is printed as a JSON array.
function _M.is_array(t)
  if type(t) ~= "table" then
    return false
  end
  if getmetatable(t) == ARRAY_MT then
    return true
  end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then
      return false
    end
    n = n + 1
  end
  return n > 0 and t[n] ~= nil and #t == n
end

local is_array = _M.is_array

local function scalar(v)
  local tv = type(v)
  if v == null then
    return "null"
  elseif tv == "string" or tv == "number" or tv == "boolean" then
    local ok, s = pcall(json_encode, v)
    if ok then
      return s
    end
    return "null"   -- NaN or infinity
  end
  return json_encode(tostring(v))
end

local function sorted_keys(t)
  local keys, lookup = {}, {}
  for k, v in pairs(t) do
    local s = tostring(k)
    keys[#keys + 1] = s
    lookup[s] = v
  end
  sort(keys)
  return keys, lookup
end

local function encode(v, pretty, out, depth)
  if type(v) ~= "table" then
    out[#out + 1] = scalar(v)
    return
  end
  local nl = pretty and ("\n" .. string_rep("  ", depth + 1)) or ""
  local close = pretty and ("\n" .. string_rep("  ", depth)) or ""
  if is_array(v) then
    if v[1] == nil then
      out[#out + 1] = "[]"
      return
    end
    out[#out + 1] = "["
    for i = 1, #v do
      out[#out + 1] = (i > 1 and "," or "") .. nl
      encode(v[i], pretty, out, depth + 1)
    end
    out[#out + 1] = close .. "]"
    return
  end
  local keys, lookup = sorted_keys(v)
  if #keys == 0 then
    out[#out + 1] = "{}"
    return
  end
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    out[#out + 1] = (i > 1 and "," or "") .. nl .. scalar(k) .. (pretty and ": " or ":")
    encode(lookup[k], pretty, out, depth + 1)
  end
  out[#out + 1] = close .. "}"
end

--- `v` as JSON text: sorted keys, indented when `pretty`.
function _M.json(v, pretty, depth)
  local out = {}
  encode(v, pretty, out, depth or 0)
  return concat(out)
end

---------------------------------------------------------------------------
-- Cells of tables and CSV: scalars as text, null as nothing, lists and
-- objects as compact JSON.

local function cell(v)
  if v == nil or v == null then
    return ""
  elseif type(v) == "table" then
    return _M.json(v, false)
  elseif type(v) == "string" then
    return v
  end
  return scalar(v)
end

-- Columns that lead when present; the others follow in sorted order.
local LEADING = { "id", "name", "email" }

--- The columns of a list of objects: every key seen in `rows`, `id`,
-- `name` and `email` first; "value" for items that are not objects.
function _M.columns(rows)
  local seen, others, scalar_items = {}, {}, false
  for _, r in ipairs(rows) do
    if type(r) == "table" and not is_array(r) then
      for k in pairs(r) do
        local s = tostring(k)
        if not seen[s] then
          seen[s] = true
          others[#others + 1] = s
        end
      end
    else
      scalar_items = true
    end
  end
  sort(others)
  local cols = {}
  for _, k in ipairs(LEADING) do
    if seen[k] then
      cols[#cols + 1] = k
    end
  end
  for _, k in ipairs(others) do
    local leading = false
    for _, l in ipairs(LEADING) do
      leading = leading or l == k
    end
    if not leading then
      cols[#cols + 1] = k
    end
  end
  if scalar_items then
    cols[#cols + 1] = "value"
  end
  return cols
end

local function row_cells(item, cols)
  local cells = {}
  local object = type(item) == "table" and not is_array(item)
  for i, col in ipairs(cols) do
    if object then
      cells[i] = cell(item[col])
    elseif col == "value" then
      cells[i] = cell(item)
    else
      cells[i] = ""
    end
  end
  return cells
end

-- Table cells are one line, at most MAX_CELL characters.
local MAX_CELL = 60

local function width(s)
  return #s:gsub("[\128-\191]", "")    -- UTF-8: count characters, not bytes
end

local function shorten(s)
  s = s:gsub("[%c]+", " ")
  if width(s) <= MAX_CELL then
    return s
  end
  local out, n = {}, 0
  for ch in s:gmatch("[%z\1-\127\192-\255][\128-\191]*") do
    if n == MAX_CELL - 3 then
      break
    end
    out[#out + 1] = ch
    n = n + 1
  end
  return concat(out) .. "..."
end

local function table_line(cells, widths)
  local parts = {}
  for i, c in ipairs(cells) do
    if i == #cells then
      parts[i] = c
    else
      parts[i] = c .. string_rep(" ", widths[i] - width(c))
    end
  end
  return (concat(parts, "  "):gsub("%s+$", "")) .. "\n"
end

---------------------------------------------------------------------------
-- Writers. Each has value(v), item(v) and finish(complete).

local Writer = {}
Writer.__index = Writer

--- A writer printing to `opts.file` in `format` ("json", "ndjson",
-- "table", "csv"); `opts.pretty` indents JSON; `opts.batch` is how many
-- items a table or CSV waits for to choose its columns (default 100).
function _M.writer(format, opts)
  opts = opts or {}
  return setmetatable({
    format = format, pretty = opts.pretty, file = opts.file,
    batch = opts.batch or 100, count = 0, buffer = {},
  }, Writer)
end

function Writer:write(s)
  self.file:write(s)
end

-- Tables and CSV: prints the buffered items, choosing the columns (and
-- a table's widths) from them the first time.
function Writer:flush_rows()
  local rows = self.buffer
  self.buffer = {}
  if not self.cols then
    if #rows == 0 then
      return
    end
    self.cols = _M.columns(rows)
    if self.format == "csv" then
      self:write(csv.record(self.cols, ","))
    else
      self.widths = {}
      for i, c in ipairs(self.cols) do
        self.widths[i] = width(c)
      end
      for j, r in ipairs(rows) do
        local cells = row_cells(r, self.cols)
        for i, c in ipairs(cells) do
          cells[i] = shorten(c)
          self.widths[i] = math_max(self.widths[i], width(cells[i]))
        end
        rows[j] = cells
      end
      if #self.cols > 1 or self.cols[1] ~= "value" then   -- no header over plain values
        self:write(table_line(self.cols, self.widths))
      end
      for _, cells in ipairs(rows) do
        self:write(table_line(cells, self.widths))
      end
      return
    end
  end
  for _, r in ipairs(rows) do
    local cells = row_cells(r, self.cols)
    if self.format == "csv" then
      self:write(csv.record(cells, ","))
    else
      for i, c in ipairs(cells) do
        cells[i] = shorten(c)
      end
      self:write(table_line(cells, self.widths))
    end
  end
end

--- Prints one item of a list as it arrives.
function Writer:item(v)
  self.count = self.count + 1
  local f = self.format
  if f == "json" then
    local lead = self.count == 1 and "[" or ","
    self:write(lead .. (self.pretty and "\n  " or "") .. _M.json(v, self.pretty, 1))
  elseif f == "ndjson" then
    self:write(_M.json(v, false) .. "\n")
  else
    self.buffer[#self.buffer + 1] = v
    if #self.buffer >= self.batch or self.cols then
      self:flush_rows()
    end
  end
  if self.file.flush then
    self.file:flush()
  end
end

--- Ends a list printed item by item. `complete` false (a failure cut it
-- short) leaves a JSON list unterminated.
function Writer:finish(complete)
  local f = self.format
  if f == "json" then
    if self.count == 0 then
      if complete then
        self:write("[]\n")
      end
    elseif complete then
      self:write((self.pretty and "\n" or "") .. "]\n")
    else
      self:write("\n")
    end
  elseif f == "table" or f == "csv" then
    self:flush_rows()
  end
end

-- One object as a table: a KEY VALUE row per field.
local function object_rows(v)
  local keys, lookup = sorted_keys(v)
  local rows = {}
  for i, k in ipairs(keys) do
    rows[i] = { key = k, value = lookup[k] }
  end
  return rows
end

--- Prints a whole result.
function Writer:value(v)
  local f = self.format
  if f == "json" then
    self:write(_M.json(v, self.pretty) .. "\n")
  elseif is_array(v) or (type(v) == "table" and next(v) == nil) then
    for _, item in ipairs(v) do
      self:item(item)
    end
    self:finish(true)
  elseif type(v) ~= "table" then
    if f == "ndjson" then
      self:write(_M.json(v, false) .. "\n")
    elseif f == "csv" then
      self:write(csv.record({ "value" }, ",") .. csv.record({ cell(v) }, ","))
    else
      self:write(cell(v) .. "\n")
    end
  elseif f == "ndjson" then
    self:write(_M.json(v, false) .. "\n")
  elseif f == "csv" then
    self.cols = _M.columns{ v }
    self:write(csv.record(self.cols, ",") .. csv.record(row_cells(v, self.cols), ","))
  else
    -- a table of one object: its fields, one per line
    self.cols, self.widths = { "key", "value" }, { 3, 5 }
    local rows = object_rows(v)
    for _, r in ipairs(rows) do
      r.value = shorten(cell(r.value))
      self.widths[1] = math_max(self.widths[1], width(r.key))
    end
    for _, r in ipairs(rows) do
      self:write(table_line({ r.key, r.value }, self.widths))
    end
  end
end

return _M
