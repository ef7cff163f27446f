--- CSV as RFC 4180 writes it: a reader that says where each record starts
-- and what is wrong with a malformed one, and a writer.
--
--    for fields, line, problem in csv.records(text, ",") do ... end
--    out:write(csv.record({ "a", "b,c" }, ","))     --> a,"b,c"\r\n
--
-- Fields in double quotes may hold the separator, line breaks and quotes
-- written twice; records end with CRLF or LF. A UTF-8 byte order mark at
-- the start is skipped.
-- @module sendpulse.cli.csv
-- @local
local concat = table.concat
local ipairs = ipairs
local tostring = tostring

local _M = {}

local BOM = "\239\187\191"

--- The separator `sep` means ("\t" for "\\t" or "tab"), or nil and why it
-- cannot be one: a separator is one character other than a quote or a
-- line break.
function _M.delimiter(sep)
  if sep == "\\t" or sep == "tab" then
    return "\t"
  end
  if #sep ~= 1 or sep:find('["\r\n]') then
    return nil, "one character expected (\\t for a tab), got '" .. sep .. "'"
  end
  return sep
end

local function escape(sep)
  return (sep:gsub("%p", "%%%0"))
end

-- A reader's state: the text, the position, the current line, and the
-- patterns for the separator.
local function reader(text, sep)
  local esc = escape(sep)
  return { text = text, pos = 1, line = 1, n = #text, sep = sep,
           plain_end = "[" .. esc .. "\r\n]", after_quote = "^[^" .. esc .. "\r\n]*" }
end

local function count_lines(r, s)
  local _, k = s:gsub("\n", "")
  r.line = r.line + k
end

-- A quoted field from r.pos (at its opening quote): its text, a problem.
local function quoted(r)
  local text, buf, problem = r.text, {}, nil
  r.pos = r.pos + 1
  while true do
    local q = text:find('"', r.pos, true)
    if not q then
      buf[#buf + 1] = text:sub(r.pos)
      count_lines(r, text:sub(r.pos))
      r.pos = r.n + 1
      problem = "a quoted field is not closed"
      break
    end
    local piece = text:sub(r.pos, q - 1)
    buf[#buf + 1] = piece
    count_lines(r, piece)
    if text:sub(q + 1, q + 1) == '"' then
      buf[#buf + 1] = '"'
      r.pos = q + 2
    else
      r.pos = q + 1
      break
    end
  end
  local field = concat(buf)
  local stray = text:match(r.after_quote, r.pos)
  if stray ~= "" then
    problem = problem or "text after the closing quote of a field"
    field = field .. stray
    r.pos = r.pos + #stray
  end
  return field, problem
end

-- An unquoted field from r.pos: its text, a problem.
local function plain(r)
  local s = r.text:find(r.plain_end, r.pos)
  local field = r.text:sub(r.pos, (s or r.n + 1) - 1)
  r.pos = s or r.n + 1
  if field:find('"', 1, true) then
    return field, 'a quote (") inside a field that does not start with one'
  end
  return field
end

-- The next record: fields, the line it starts on, a problem.
local function next_record(r)
  local fields, start, problem = {}, r.line, nil
  while true do
    local field, p
    if r.text:sub(r.pos, r.pos) == '"' then
      field, p = quoted(r)
    else
      field, p = plain(r)
    end
    fields[#fields + 1] = field
    problem = problem or p
    local c = r.text:sub(r.pos, r.pos)
    if c == r.sep then
      r.pos = r.pos + 1
    elseif c == "\r" or c == "\n" then
      r.pos = r.pos + ((c == "\r" and r.text:sub(r.pos + 1, r.pos + 1) == "\n") and 2 or 1)
      r.line = r.line + 1
      return fields, start, problem
    else
      return fields, start, problem     -- the end of the text
    end
  end
end

--- Iterates over the records of `text`: each step returns the list of
-- fields, the line the record starts on, and a problem (a text) when the
-- record is malformed (an unclosed quote, text after a closing quote, a
-- quote inside an unquoted field). A malformed record still yields its
-- fields as well as they can be read.
function _M.records(text, sep)
  if text:sub(1, 3) == BOM then
    text = text:sub(4)
  end
  local r = reader(text, sep)
  return function()
    if r.pos > r.n then
      return nil
    end
    return next_record(r)
  end
end

--- A field as written in a record: quoted when it holds the separator, a
-- quote or a line break, or starts or ends with a space.
function _M.quote(s, sep)
  s = tostring(s)
  if s:find("[" .. escape(sep) .. '"\r\n]') or s:find("^%s") or s:find("%s$") then
    return '"' .. s:gsub('"', '""') .. '"'
  end
  return s
end

--- One record: the fields quoted where needed, joined by `sep`, ended by
-- CRLF.
function _M.record(fields, sep)
  local parts = {}
  for i, v in ipairs(fields) do
    parts[i] = _M.quote(v, sep)
  end
  return concat(parts, sep) .. "\r\n"
end

return _M
