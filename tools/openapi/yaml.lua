-- A reader for the subset of YAML 1.2 that SendPulse's OpenAPI files use:
-- block mappings and sequences (compact entries such as "- key: value"
-- included), plain, single- and double-quoted scalars over several lines,
-- literal and folded block scalars with chomping and indentation
-- indicators, flow sequences and mappings, comments. Scalars resolve by
-- YAML 1.2's core schema (so "2020-12-11T21:00:00Z" stays a string, and
-- "yes" is not a boolean). Anchors, aliases, tags, directives, several
-- documents and "?" keys are refused with the line number: the files have
-- none, and a reader that guessed would be wrong silently.
--
-- Developer tool (tools/openapi-import); `tools/openapi-import --verify`
-- compares its output with Python's yaml.safe_load on every file.
--
--   local yaml = dofile("tools/openapi/yaml.lua")
--   local doc = yaml.decode(text, "file.yml")
--   yaml.keys(map)      -- the keys in document order
--   yaml.is_seq(t)      -- true for sequences
--   yaml.null           -- the null value (a key with a null value stays)

local M = {}

local order = setmetatable({}, { __mode = "k" })   -- map -> keys in order
local seqs = setmetatable({}, { __mode = "k" })    -- set of sequences

M.null = setmetatable({}, { __tostring = function() return "null" end })

local function new_map()
  local t = {}
  order[t] = {}
  return t
end

local function new_seq()
  local t = {}
  seqs[t] = true
  return t
end

--- A new empty mapping (keys keep the order they are put in).
M.map = new_map
--- A new empty sequence.
M.seq = new_seq

--- Sets t[k] = v in a mapping, appending k to its key order when new.
function M.put(t, k, v)
  if t[k] == nil then
    local keys = order[t]
    keys[#keys + 1] = k
  end
  t[k] = v
end

function M.keys(t)
  return order[t]
end

function M.is_seq(t)
  return seqs[t] == true
end

function M.is_map(t)
  return order[t] ~= nil
end

-- Scalar resolution, YAML 1.2 core schema.
local NULLS = { [""] = true, ["~"] = true, null = true, Null = true, NULL = true }
local BOOLS = { ["true"] = true, True = true, TRUE = true,
                ["false"] = false, False = false, FALSE = false }

local INFINITIES = {}
for _, w in ipairs{ ".inf", ".Inf", ".INF" } do
  INFINITIES[w], INFINITIES["+" .. w], INFINITIES["-" .. w] = math.huge, math.huge, -math.huge
end

local function resolve_plain(s)
  if NULLS[s] then
    return M.null
  end
  local b = BOOLS[s]
  if b ~= nil then
    return b
  end
  if s:find("^[-+]?%d+$") then
    return math.tointeger(tonumber(s)) or tonumber(s)   -- beyond 64 bits: a float
  end
  if s:find("^0o[0-7]+$") then
    return math.tointeger(tonumber(s:sub(3), 8))
  end
  if s:find("^0x%x+$") then
    return math.tointeger(tonumber(s:sub(3), 16))
  end
  if s:find("^[-+]?%.%d+$") or s:find("^[-+]?%d+%.?%d*$")
     or s:find("^[-+]?%.%d+[eE][-+]?%d+$") or s:find("^[-+]?%d+%.?%d*[eE][-+]?%d+$") then
    return tonumber(s) + 0.0
  end
  if INFINITIES[s] then
    return INFINITIES[s]
  end
  if s == ".nan" or s == ".NaN" or s == ".NAN" then
    return 0 / 0
  end
  return s
end

local Reader = {}
Reader.__index = Reader

function Reader:fail(i, msg)
  error(("%s:%d: %s"):format(self.name, i or 0, msg), 0)
end

local function indent_of(line)
  return #line:match("^ *")
end

-- A line without content: only spaces, or a comment.
local function blank(line)
  return line:find("^ *$") ~= nil or line:find("^ *#") ~= nil
end

-- The next line with content at or after i.
function Reader:next_line(i)
  local lines = self.lines
  while i <= #lines do
    if not blank(lines[i]) then
      return i
    end
    i = i + 1
  end
  return nil
end

local function is_seq_entry(content)
  return content == "-" or content:sub(1, 2) == "- " or content:find("^%- *#") ~= nil
end

local function strip_comment(s)
  local at = s:find("%s#")
  if at then
    s = s:sub(1, at - 1)
  end
  return (s:gsub("%s+$", ""))
end

-- Where a double-quoted text ends (the closing quote), from position p.
local function dq_end(s, p)
  while p <= #s do
    local c = s:sub(p, p)
    if c == "\\" then
      p = p + 2
    elseif c == '"' then
      return p
    else
      p = p + 1
    end
  end
  return nil
end

local function sq_end(s, p)
  while p <= #s do
    local c = s:sub(p, p)
    if c == "'" then
      if s:sub(p + 1, p + 1) == "'" then
        p = p + 2
      else
        return p
      end
    else
      p = p + 1
    end
  end
  return nil
end

local ESCAPES = {
  ["0"] = "\0", a = "\a", b = "\b", t = "\t", ["\t"] = "\t", n = "\n",
  v = "\v", f = "\f", r = "\r", e = "\27", [" "] = " ", ['"'] = '"',
  ["/"] = "/", ["\\"] = "\\", N = "\u{85}", _ = "\u{a0}", L = "\u{2028}",
  P = "\u{2029}",
}

function Reader:unescape(s, i)
  return (s:gsub("\\(.)", function(c)
    return ESCAPES[c] or ("\\" .. c)
  end):gsub("\\([xuU])(%x*)", function(kind, hex)
    local n = ({ x = 2, u = 4, U = 8 })[kind]
    if #hex < n then
      self:fail(i, "bad escape \\" .. kind .. hex)
    end
    return utf8.char(tonumber(hex:sub(1, n), 16)) .. hex:sub(n + 1)
  end))
end

-- Folds the lines of a multi-line quoted scalar: one line break becomes a
-- space, each empty line a newline; an escaped break ("\" at the end of a
-- line, double quotes only) joins the lines without anything.
local function fold_lines(pieces, double)
  local out = { (pieces[1]:gsub("[ \t]+$", "")) }
  local empties = 0
  for k = 2, #pieces do
    local prev = out[#out]
    local piece = pieces[k]:gsub("^[ \t]+", "")
    if k < #pieces then
      piece = piece:gsub("[ \t]+$", "")
    end
    if piece == "" and k < #pieces then
      empties = empties + 1
    else
      if double and prev:find("\\$") and #prev:match("\\*$") % 2 == 1 then
        out[#out] = prev:sub(1, -2)
        out[#out + 1] = piece
      elseif empties > 0 then
        out[#out + 1] = ("\n"):rep(empties) .. piece
      else
        out[#out + 1] = " " .. piece
      end
      empties = 0
    end
  end
  return table.concat(out)
end

-- A quoted scalar starting at column col (1-based) of line i.
function Reader:quoted(i, col)
  local lines = self.lines
  local line = lines[i]
  local q = line:sub(col, col)
  local finder = q == '"' and dq_end or sq_end
  local pieces = {}
  local text = line:sub(col + 1)
  local p = finder(text, 1)
  while not p do
    pieces[#pieces + 1] = text
    i = i + 1
    if i > #lines then
      self:fail(i - 1, "unterminated quoted scalar")
    end
    text = lines[i]
    p = finder(text, 1)
  end
  pieces[#pieces + 1] = text:sub(1, p - 1)
  local after = text:sub(p + 1)
  local s
  if #pieces == 1 then
    s = pieces[1]
  else
    s = fold_lines(pieces, q == '"')
  end
  if q == '"' then
    s = self:unescape(s, i)
  else
    s = s:gsub("''", "'")
  end
  return s, i, after
end

-- A flow collection ("[...]" or "{...}") from column col of line i; it may
-- span lines. Returns the value and the last line used.
function Reader:flow(i, col)
  local lines = self.lines
  local buf = { lines[i]:sub(col) }
  local first = i
  -- gather lines until the brackets balance (outside quotes)
  local depth, j = 0, 1
  local text = buf[1]
  while true do
    while j <= #text do
      local c = text:sub(j, j)
      if c == "[" or c == "{" then
        depth = depth + 1
      elseif c == "]" or c == "}" then
        depth = depth - 1
        if depth == 0 then
          break
        end
      elseif c == '"' then
        local e = dq_end(text, j + 1)
        while not e do
          i = i + 1
          if i > #lines then
            self:fail(first, "unterminated flow collection")
          end
          text = text .. "\n" .. lines[i]
          e = dq_end(text, j + 1)
        end
        j = e
      elseif c == "'" then
        local e = sq_end(text, j + 1)
        while not e do
          i = i + 1
          if i > #lines then
            self:fail(first, "unterminated flow collection")
          end
          text = text .. "\n" .. lines[i]
          e = sq_end(text, j + 1)
        end
        j = e
      elseif c == "#" and (j == 1 or text:sub(j - 1, j - 1):find("%s")) then
        -- a comment runs to the end of its line
        local nl = text:find("\n", j, true)
        text = text:sub(1, j - 1) .. (nl and text:sub(nl) or "")
        j = j - 1
      end
      j = j + 1
    end
    if depth == 0 and j <= #text then
      break
    end
    i = i + 1
    if i > #lines then
      self:fail(first, "unterminated flow collection")
    end
    text = text .. "\n" .. lines[i]
  end
  local rest = text:sub(j + 1)
  if not blank(rest) then
    self:fail(i, "text after a flow collection")
  end
  local src = text:sub(1, j)
  local pos = 1
  local function skip()
    pos = src:find("[^%s]", pos) or #src + 1
  end
  local value
  local function scalar(stop)
    skip()
    local c = src:sub(pos, pos)
    if c == '"' or c == "'" then
      local e = (c == '"' and dq_end or sq_end)(src, pos + 1)
      local raw = src:sub(pos + 1, e - 1)
      pos = e + 1
      local pieces = {}
      for piece in (raw .. "\n"):gmatch("([^\n]*)\n") do
        pieces[#pieces + 1] = piece
      end
      local s = #pieces == 1 and raw or fold_lines(pieces, c == '"')
      if c == '"' then
        return self:unescape(s, first)
      end
      return (s:gsub("''", "'"))
    end
    local start = pos
    while pos <= #src do
      local ch = src:sub(pos, pos)
      if stop:find(ch, 1, true) then
        break
      end
      if ch == ":" and (src:sub(pos + 1, pos + 1):find("[%s,%]}]") or pos == #src) then
        break
      end
      pos = pos + 1
    end
    local s = src:sub(start, pos - 1):gsub("%s+$", ""):gsub("%s*\n%s*", " ")
    return resolve_plain(s)
  end
  function value()
    skip()
    local c = src:sub(pos, pos)
    if c == "[" then
      pos = pos + 1
      local t = new_seq()
      skip()
      if src:sub(pos, pos) == "]" then
        pos = pos + 1
        return t
      end
      while true do
        t[#t + 1] = value()
        skip()
        local d = src:sub(pos, pos)
        pos = pos + 1
        if d == "]" then
          return t
        elseif d ~= "," then
          self:fail(first, "bad flow sequence")
        end
        skip()
        if src:sub(pos, pos) == "]" then
          pos = pos + 1
          return t
        end
      end
    elseif c == "{" then
      pos = pos + 1
      local t = new_map()
      skip()
      if src:sub(pos, pos) == "}" then
        pos = pos + 1
        return t
      end
      while true do
        local k = scalar(",}")
        if type(k) ~= "string" then
          k = tostring(k)
        end
        skip()
        local v = M.null
        if src:sub(pos, pos) == ":" then
          pos = pos + 1
          skip()
          local d = src:sub(pos, pos)
          if d ~= "," and d ~= "}" then
            v = value()
          end
        end
        if t[k] ~= nil then
          self:fail(first, "duplicate key '" .. k .. "'")
        end
        t[k] = v
        local keys = order[t]
        keys[#keys + 1] = k
        skip()
        local d = src:sub(pos, pos)
        pos = pos + 1
        if d == "}" then
          return t
        elseif d ~= "," then
          self:fail(first, "bad flow mapping")
        end
        skip()
        if src:sub(pos, pos) == "}" then
          pos = pos + 1
          return t
        end
      end
    else
      return scalar(",]}")
    end
  end
  local v = value()
  return v, i
end

-- A block scalar ("|" or ">" with indicators) whose header is `header` on
-- line i; `parent` is the indentation of the node that holds it.
function Reader:block_scalar(i, header, parent)
  local style = header:sub(1, 1)
  local ind = header:sub(2):gsub("%s+#.*$", ""):gsub("%s+$", "")
  local chomp, explicit = "clip", nil
  for c in ind:gmatch(".") do
    if c == "-" then
      chomp = "strip"
    elseif c == "+" then
      chomp = "keep"
    elseif c:find("%d") and c ~= "0" then
      explicit = tonumber(c)
    else
      self:fail(i, "bad block scalar header '" .. header .. "'")
    end
  end
  local lines = self.lines
  local n
  if explicit then
    n = parent + explicit
  else
    local j = i + 1
    while j <= #lines and lines[j]:find("^ *$") do
      j = j + 1
    end
    n = j <= #lines and indent_of(lines[j]) or 0
    if n <= parent then
      n = nil            -- an empty scalar
    end
  end
  local content = {}      -- { text } or false for an empty line
  local j = i + 1
  while j <= #lines do
    local line = lines[j]
    if line:find("^ *$") then
      if n and #line > n then
        content[#content + 1] = line:sub(n + 1)
      else
        content[#content + 1] = false
      end
    elseif n and indent_of(line) >= n then
      content[#content + 1] = line:sub(n + 1)
    else
      break
    end
    j = j + 1
  end
  local last = j - 1
  -- trailing empty lines belong to the chomping
  local trailing = 0
  while #content > 0 and content[#content] == false do
    content[#content] = nil
    trailing = trailing + 1
  end
  local out = {}
  if style == "|" then
    for k, c in ipairs(content) do
      out[k] = c or ""
    end
    out = table.concat(out, "\n")
  else
    local parts = {}
    local prev            -- "text" or "spaced" for the last content line
    local empties = 0
    for _, c in ipairs(content) do
      if c == false then
        empties = empties + 1
      else
        local kind = c:find("^[ \t]") and "spaced" or "text"
        if not prev then
          parts[#parts + 1] = ("\n"):rep(empties) .. c
        elseif prev == "text" and kind == "text" then
          parts[#parts + 1] = (empties == 0 and " " or ("\n"):rep(empties)) .. c
        else
          parts[#parts + 1] = "\n" .. ("\n"):rep(empties) .. c
        end
        prev, empties = kind, 0
      end
    end
    out = table.concat(parts)
  end
  if #content > 0 then
    if chomp == "clip" then
      out = out .. "\n"
    elseif chomp == "keep" then
      out = out .. "\n" .. ("\n"):rep(trailing)
    end
  elseif chomp == "keep" then
    out = ("\n"):rep(trailing)
  end
  return out, last
end

-- A plain scalar starting with `text` on line i; continuation lines must
-- be indented deeper than `parent`.
function Reader:plain(i, text, parent)
  local lines = self.lines
  local parts = { strip_comment(text) }
  local commented = text:find("%s#") ~= nil
  local j = i + 1
  local empties = 0
  local last = i
  while not commented and j <= #lines do
    local line = lines[j]
    if line:find("^ *$") then
      empties = empties + 1
    elseif indent_of(line) > parent and not line:find("^ *#") then
      local piece = line:gsub("^ +", "")
      commented = piece:find("%s#") ~= nil
      piece = strip_comment(piece)
      parts[#parts + 1] = (empties == 0 and " " or ("\n"):rep(empties)) .. piece
      empties = 0
      last = j
    else
      break
    end
    j = j + 1
  end
  local s = table.concat(parts)
  if #parts == 1 then
    return resolve_plain(s), last
  end
  return s, last
end

-- The value whose text starts at column col of line i (after "key: ", or
-- a node on a line of its own). Returns the value and its last line.
function Reader:inline(i, col, parent)
  local line = self.lines[i]
  local text = line:sub(col)
  local c = text:sub(1, 1)
  if c == "|" or c == ">" then
    return self:block_scalar(i, text, parent)
  elseif c == '"' or c == "'" then
    local s, last, after = self:quoted(i, col)
    if not blank(after) then
      self:fail(last, "text after a quoted scalar")
    end
    return s, last
  elseif c == "[" or c == "{" then
    return self:flow(i, col)
  elseif c == "&" or c == "*" or c == "!" or c == "%" or c == "@" or c == "`"
         or c == "?" then
    self:fail(i, "unsupported YAML ('" .. c .. "')")
  end
  return self:plain(i, text, parent)
end

-- Splits "key: rest" (content without indentation). Returns the key and
-- the column (relative to the content) where the value starts, or nil.
function Reader:split_key(content, i)
  local c = content:sub(1, 1)
  local key, after
  if c == '"' or c == "'" then
    local e = (c == '"' and dq_end or sq_end)(content, 2)
    if not e then
      return nil
    end
    key = content:sub(2, e - 1)
    if c == '"' then
      key = self:unescape(key, i)
    else
      key = key:gsub("''", "'")
    end
    after = e + 1
    local sp = content:match("^ *", after)
    after = after + #sp
    if content:sub(after, after) ~= ":" then
      return nil
    end
  else
    if c == "[" or c == "{" or c == "#" or c == "|" or c == ">" or c == "&"
       or c == "*" or c == "!" or c == "?" or is_seq_entry(content) then
      return nil
    end
    local p = 1
    while true do
      p = content:find(":", p, true)
      if not p then
        return nil
      end
      local nxt = content:sub(p + 1, p + 1)
      if nxt == "" or nxt == " " then
        break
      end
      p = p + 1
    end
    key = content:sub(1, p - 1):gsub("%s+$", "")
    if key:find("%s#") then
      return nil
    end
    after = p
  end
  -- after points at the ":"
  local rest_start = after + 1
  rest_start = rest_start + #content:match("^ *", rest_start)
  return key, rest_start
end

function Reader:node(i, parent)
  local line = self.lines[i]
  local n = indent_of(line)
  local content = line:sub(n + 1)
  if is_seq_entry(content) then
    return self:sequence(i, n)
  end
  if self:split_key(content, i) then
    return self:mapping(i, n)
  end
  return self:inline(i, n + 1, parent)
end

function Reader:mapping(i, n)
  local t = new_map()
  local keys = order[t]
  local lines = self.lines
  local last = i - 1
  while true do
    local k = self:next_line(last + 1)
    if not k then
      break
    end
    local line = lines[k]
    local ind = indent_of(line)
    if ind < n then
      break
    end
    if ind > n then
      self:fail(k, "bad indentation (a mapping at column " .. n + 1 .. ")")
    end
    local content = line:sub(n + 1)
    if is_seq_entry(content) then
      break       -- the sequence of the parent's key (same indentation)
    end
    local key, vcol = self:split_key(content, k)
    if not key then
      self:fail(k, "a mapping key expected")
    end
    if t[key] ~= nil then
      self:fail(k, "duplicate key '" .. key .. "'")
    end
    local value
    if blank(content:sub(vcol)) then
      local v = self:next_line(k + 1)
      if v and indent_of(lines[v]) > n then
        value, last = self:node(v, n)
      elseif v and indent_of(lines[v]) == n and is_seq_entry(lines[v]:sub(n + 1)) then
        value, last = self:sequence(v, n)
      else
        value, last = M.null, k
      end
    else
      value, last = self:inline(k, n + vcol, n)
    end
    t[key] = value
    keys[#keys + 1] = key
  end
  return t, last
end

function Reader:sequence(i, n)
  local t = new_seq()
  local lines = self.lines
  local last = i - 1
  while true do
    local k = self:next_line(last + 1)
    if not k then
      break
    end
    local line = lines[k]
    local ind = indent_of(line)
    if ind < n then
      break
    end
    local content = line:sub(n + 1)
    if ind > n or not is_seq_entry(content) then
      if ind == n then
        break     -- the next key of the mapping this sequence belongs to
      end
      self:fail(k, "bad indentation (a sequence at column " .. n + 1 .. ")")
    end
    local rest = content:sub(2)
    local value
    if blank(rest) then
      local v = self:next_line(k + 1)
      if v and indent_of(lines[v]) > n then
        value, last = self:node(v, n)
      else
        value, last = M.null, k
      end
    else
      -- "- item": the item is a node at the column after the dash; the
      -- line is rewritten with spaces in place of the dash so that a
      -- compact mapping ("- key: value") reads as a mapping there
      local c = n + 1 + #rest:match("^ *")
      lines[k] = (" "):rep(c) .. line:sub(c + 1)
      local ok, v, l = pcall(self.node, self, k, n)
      lines[k] = line
      if not ok then
        error(v, 0)
      end
      value, last = v, l
    end
    t[#t + 1] = value
  end
  return t, last
end

--- Reads a YAML document. Raises "name:line: message" on what it does
-- not support or cannot read.
function M.decode(text, name)
  local lines = {}
  for line in (text:gsub("\r\n", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    if line:find("\t", 1, true) and line:match("^[ \t]*"):find("\t") then
      error(("%s:%d: a tab in the indentation"):format(name, #lines + 1), 0)
    end
    lines[#lines + 1] = line
  end
  if lines[#lines] == "" then
    lines[#lines] = nil
  end
  local r = setmetatable({ lines = lines, name = name or "yaml" }, Reader)
  for k, line in ipairs(lines) do
    if line:find("^%-%-%-") or line:find("^%.%.%.") or line:find("^%%") then
      r:fail(k, "directives and document markers are not supported")
    end
  end
  local first = r:next_line(1)
  if not first then
    return M.null
  end
  local v, last = r:node(first, -1)
  local extra = r:next_line(last + 1)
  if extra then
    r:fail(extra, "text after the document")
  end
  return v
end

return M
