--- The parameters of the commands made from the API's operation tables:
-- what each one is on the command line, and the reading of NAME=VALUE
-- words into the `args` table of the operation's method.
--
--    sendpulse crm create-deal pipelineId=1 stepId=2 name=Ring
--      --> { pipelineId = 1, stepId = 2, name = "Ring" }
--
-- NAME=VALUE gives a value as text, read as the parameter's type (an
-- integer, a number, true/false, null where the type allows it, or the
-- text itself); NAME:=JSON gives any JSON value. A list parameter may
-- be repeated (`ids=1 ids=2`: a list of two) or given whole
-- (`ids:=[1,2]`); a file parameter takes NAME=@PATH. Words without "="
-- are the path parameters, in order. Only the command line is checked
-- here (names, the text of each value); the method itself checks the
-- values against the operation's row.
-- @module sendpulse.cli.params
-- @local
local sendpulse = require "sendpulse"
local schema = require "sendpulse.schema"
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"
local util = require "sendpulse.cli.util"

local concat = table.concat
local ipairs = ipairs
local tostring = tostring
local type = type

local json_decode = sendpulse.json.decode
local null = sendpulse.null
local usage = errors.usage

local _M = {}

---------------------------------------------------------------------------
-- What a schema is, for the command line.

local SCALARS = { string = true, integer = true, number = true, boolean = true,
                  null = true }

local function type_list(s)
  local t = s.t
  if t == nil then
    return {}
  end
  return type(t) == "table" and t or { t }
end

local function has_type(s, name)
  for _, x in ipairs(type_list(s)) do
    if x == name then
      return true
    end
  end
  return false
end

local function is_list(s)
  return has_type(s, "array") or (s.t == nil and s.i ~= nil)
end

-- Whether a value of schema s can be written as text (NAME=VALUE).
local function textual(s, depth)
  depth = depth or 0
  if s.e or s.k ~= nil then
    return true
  end
  local types = type_list(s)
  if #types > 0 then
    for _, x in ipairs(types) do
      if SCALARS[x] and x ~= "null" then
        return true
      end
    end
    return false
  end
  if s.p or s.i then
    return false
  end
  local alts = s.one or s.any
  if alts and depth < 3 then
    for _, a in ipairs(alts) do
      if textual(a, depth + 1) then
        return true
      end
    end
    return false
  end
  return true      -- any value: the text is a string
end

local function is_file(s)
  return s.f == "binary"
end

--- The parameters of an operation (`sendpulse.services.operations`'s
-- `params`) as the command takes them: each with `name`, `where`,
-- `required`, `type` (the text help shows), `schema`, `list` (may be
-- repeated), `item` (the schema of one repeated value), `file` (takes
-- @PATH), `json` (only NAME:=JSON), `alias` ("files" for "files[]").
function _M.compile(op_params)
  local list = {}
  for i, p in ipairs(op_params) do
    local s = p.schema or {}
    local item = is_list(s) and (s.i or {}) or nil
    local q = { name = p.name, where = p.where, required = p.required, type = p.type,
                schema = s, list = item ~= nil, item = item }
    q.file = is_file(item or s)
    q.json = not q.file and not textual(item or s)
    q.alias = p.name:match("^(.+)%[%]$")
    list[i] = q
  end
  return list
end

local function enum_words(list)
  local texts = {}
  for i, e in ipairs(list) do
    texts[i] = tostring(e)
  end
  return concat(texts, "|")
end

--- How parameter p is written: `pipelineId=N`, `order=asc|desc`,
-- `files[]=@FILE`, `filter:=JSON`.
function _M.word(p)
  if p.file then
    return p.name .. "=@FILE"
  elseif p.json then
    return p.name .. ":=JSON"
  end
  local s = p.item or p.schema
  local value = "VALUE"
  local choices = s.e and #s.e <= 4 and enum_words(s.e)
  if choices and #choices <= 30 then
    value = choices
  elseif has_type(s, "integer") and #type_list(s) <= 2 then
    value = "N"
  elseif has_type(s, "number") and #type_list(s) <= 2 then
    value = "NUMBER"
  elseif has_type(s, "boolean") and #type_list(s) <= 2 then
    value = "true|false"
  elseif has_type(s, "string") and #type_list(s) <= 2 then
    value = "TEXT"
  end
  return p.name .. "=" .. value .. (p.list and "..." or "")
end

--- What completes parameter p: "name=" or "name:=".
function _M.completion_word(p)
  return p.name .. (p.json and ":=" or "=")
end

---------------------------------------------------------------------------
-- Reading values.

local from_text

-- The value of text under schema s, or nil and why.
local function try_text(s, text, depth)
  if s.e then
    for _, e in ipairs(s.e) do
      if tostring(e) == text then
        return e
      end
    end
  end
  if s.k ~= nil and tostring(s.k) == text then
    return s.k
  end
  if text == "null" and (has_type(s, "null") or s.en) then
    return null
  end
  if #type_list(s) > 0 then
    return schema.from_string(s, text)
  end
  local alts = s.one or s.any
  if alts and depth < 3 then
    local why
    for _, a in ipairs(alts) do
      if textual(a, depth + 1) then
        local v, w = try_text(a, text, depth + 1)
        if v ~= nil then
          return v
        end
        why = why or w
      end
    end
    return nil, why or "a JSON value expected: write NAME:=JSON"
  end
  return text
end

-- A file part from "@PATH" (";type=TYPE" may follow), checked readable.
local function file_part(text, label)
  local path, content_type = text:match("^@(.-);type=([%w.+-]+/[%w.+-]+)$")
  path = path or text:sub(2)
  local f, err = io.open(path, "rb")
  if not f then
    usage("%s: cannot read %s", label, ((err or path):gsub("^([^:]+): ", "'%1': ")))
  end
  f:close()
  return sendpulse.file{ path = path, filename = util.basename(path),
                         content_type = content_type }
end

function from_text(p, s, text, label)
  if p.file then
    if text:sub(1, 2) == "@@" then
      return text:sub(2)
    elseif text:sub(1, 1) == "@" then
      return file_part(text, label)
    end
    return text
  end
  local v, why = try_text(s, text, 0)
  if v == nil then
    usage("%s: %s", label, (why:gsub("^%u", string.lower)))
  end
  return v
end

local function json_value(raw, label)
  local v, err = json_decode(raw)
  if v == nil then
    usage("%s: invalid JSON '%s': %s", label, raw, tostring(err))
  end
  return v
end

local function names_of(params)
  local names = {}
  for _, p in ipairs(params) do
    names[#names + 1] = p.name
  end
  return names
end

local function lookup(params, name)
  for _, p in ipairs(params) do
    if p.name == name then
      return p
    end
  end
  for _, p in ipairs(params) do
    if p.alias == name then
      return p
    end
  end
end

-- NAME:=JSON or NAME=VALUE: name, raw text, whether it is JSON; nil for
-- a word that is neither.
local function split_word(w)
  local name, raw = w:match("^([^=:]+):=(.*)$")
  if name then
    return name, raw, true
  end
  name, raw = w:match("^([^=]+)=(.*)$")
  return name, raw, false
end

-- Bare words (no "="): the path parameters not given by name, in order.
local function assign_bare(c, bare, given)
  if #bare == 0 then
    return
  end
  local free = {}
  for _, p in ipairs(c.params) do
    if p.where == "path" and given[p.name] == nil then
      free[#free + 1] = p
    end
  end
  for i, w in ipairs(bare) do
    local p = free[i]
    if not p then
      usage("NAME=VALUE or NAME:=JSON expected, got '%s' (usage: %s)", w, args.usage_line(c))
    end
    given[p.name] = from_text(p, p.schema, w, p.name)
  end
end

--- The `args` of command c's operation from its words.
function _M.read(c, words)
  local given, repeated, bare = {}, {}, {}
  for _, w in ipairs(words or {}) do
    local name, raw, is_json = split_word(w)
    local p = name and lookup(c.params, name)
    if not name then
      bare[#bare + 1] = w
    elseif not p then
      usage("unknown parameter '%s' for 'sendpulse %s'%s", name, c.path,
            util.suggest(name, names_of(c.params)))
    elseif is_json then
      if given[p.name] ~= nil then
        usage("%s is given twice", p.name)
      end
      given[p.name] = json_value(raw, p.name)
    elseif p.list then
      if given[p.name] ~= nil and not repeated[p.name] then
        usage("%s is given twice", p.name)
      end
      local list = given[p.name] or sendpulse.array()
      list[#list + 1] = from_text(p, p.item, raw, p.name)
      given[p.name], repeated[p.name] = list, true
    elseif p.json then
      usage("%s: %s expected: write %s:=JSON", p.name, p.type, p.name)
    elseif given[p.name] ~= nil then
      usage("%s is given twice", p.name)
    else
      given[p.name] = from_text(p, p.schema, raw, p.name)
    end
  end
  assign_bare(c, bare, given)
  return given
end

return _M
