--- Help pages of the command-line tool, built from the command registry:
-- the tool's page (`sendpulse --help`), a group's, a command's. Lines fit
-- in 79 columns.
-- @module sendpulse.cli.help
-- @local
local args = require "sendpulse.cli.args"
local params = require "sendpulse.cli.params"

local concat = table.concat
local ipairs = ipairs
local string_rep = string.rep
local type = type

local _M = {}

local WIDTH = 79

-- Words of a usage line: a bracketed or parenthesized group is one word.
local function usage_words(text)
  local words, cur, depth = {}, {}, 0
  for ch in text:gmatch(".") do
    if ch == " " and depth == 0 then
      if #cur > 0 then
        words[#words + 1] = concat(cur)
        cur = {}
      end
    else
      cur[#cur + 1] = ch
      if ch == "[" or ch == "(" then
        depth = depth + 1
      elseif (ch == "]" or ch == ")") and depth > 0 then
        depth = depth - 1
      end
    end
  end
  if #cur > 0 then
    words[#words + 1] = concat(cur)
  end
  return words
end

-- Words of a shell command line (quotes kept, so that a quoted text with
-- spaces is one word).
local function shell_words(text)
  local words, cur, quote = {}, {}, nil
  for ch in text:gmatch(".") do
    if quote then
      cur[#cur + 1] = ch
      if ch == quote then
        quote = nil
      end
    elseif ch == " " then
      if #cur > 0 then
        words[#words + 1] = concat(cur)
        cur = {}
      end
    else
      cur[#cur + 1] = ch
      if ch == "'" or ch == '"' then
        quote = ch
      end
    end
  end
  if #cur > 0 then
    words[#words + 1] = concat(cur)
  end
  return words
end

--- `text` wrapped at 79 columns: `first` starts the first line, `indent`
-- the others; `words` splits the text (default: at spaces); `tail` ends
-- every line but the last (" \\" for shell commands).
function _M.wrap(text, indent, first, words, tail)
  indent = indent or ""
  tail = tail or ""
  local lines, line = {}, first or indent
  local fresh = true
  local list = words and words(text) or {}
  if not words then
    for word in text:gmatch("%S+") do
      list[#list + 1] = word
    end
  end
  for _, word in ipairs(list) do
    if not fresh and #line + 1 + #word + #tail > WIDTH then
      lines[#lines + 1] = line .. tail
      line, fresh = indent, true
    end
    line = line .. (fresh and "" or " ") .. word
    fresh = false
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

local wrap = _M.wrap

--- Paragraphs (separated by blank lines) wrapped; a paragraph starting
-- with two spaces is kept as it is (examples, tables).
function _M.paragraphs(text, indent)
  local out = {}
  for para in (text .. "\n\n"):gmatch("(.-)\n\n+") do
    if para:find("^  ") then
      out[#out + 1] = para
    elseif para ~= "" then
      out[#out + 1] = wrap(para, indent)
    end
  end
  return concat(out, "\n\n")
end

local paragraphs = _M.paragraphs

--- Two columns: names, then their help text wrapped beside them.
function _M.rows(rows)
  local w = 0
  for _, r in ipairs(rows) do
    if #r[1] <= 26 and #r[1] > w then
      w = #r[1]
    end
  end
  local out = {}
  for _, r in ipairs(rows) do
    local left = "  " .. r[1]
    local pad = string_rep(" ", w + 4)
    if #r[1] > w then
      out[#out + 1] = left
      out[#out + 1] = wrap(r[2], pad, pad)
    else
      out[#out + 1] = wrap(r[2], pad, left .. string_rep(" ", w + 4 - #left))
    end
  end
  return concat(out, "\n")
end

local table_rows = _M.rows

local function option_label(o)
  local s = (o.short and ("-" .. o.short .. ", ") or "") .. "--" .. o.name
  if o.metavar then
    s = s .. " " .. o.metavar
  end
  return s
end

local function option_help(o)
  local help = o.help
  local notes = {}
  if o.required then
    notes[#notes + 1] = "required"
  end
  if o.multi or o.map then
    notes[#notes + 1] = "may be repeated"
  end
  if #notes > 0 then
    help = help .. " (" .. concat(notes, ", ") .. ")"
  end
  return help
end

--- The rows of a list of options: label, help.
function _M.option_rows(options)
  local rows = {}
  for _, o in ipairs(options) do
    rows[#rows + 1] = { option_label(o), option_help(o) }
  end
  return rows
end

--- The one-line reminder of the exit statuses ending every page.
_M.EXIT_LINE = "Exit status: 0 success, 1 API or network error, 2 usage error "
  .. "(sendpulse --help tells more)."

-- The parameters of an operation: each word, its type, where it goes,
-- whether it is required.
local function parameter_rows(c)
  local rows = {}
  for _, p in ipairs(c.params) do
    local notes = { p.type, "in the " .. p.where }
    if p.required then
      notes[#notes + 1] = "required"
    end
    if p.list and not p.json then
      notes[#notes + 1] = "may be repeated"
    end
    rows[#rows + 1] = { params.word(p), concat(notes, ", ") }
  end
  return rows
end

local function examples(list, out)
  list = type(list) == "table" and list or { list }
  out[#out + 1] = "\nExample" .. (#list > 1 and "s" or "") .. ":"
  for _, e in ipairs(list) do
    out[#out + 1] = wrap(e, "      ", "  ", shell_words, " \\")
  end
end

--- The help page of a command.
function _M.command(c, globals)
  local out = { wrap(args.usage_line(c), "       ", "usage: ", usage_words), "",
                paragraphs(c.summary) }
  if c.description then
    out[#out + 1] = ""
    out[#out + 1] = paragraphs(c.description)
  end
  if #c.args > 0 and not c.params then
    local rows = {}
    for _, a in ipairs(c.args) do
      rows[#rows + 1] = { a.name, a.help }
    end
    out[#out + 1] = "\nArguments:\n" .. table_rows(rows)
  end
  if c.params and #c.params > 0 then
    out[#out + 1] = "\nParameters (NAME=VALUE, or NAME:=JSON for any JSON value):\n"
      .. table_rows(parameter_rows(c))
  end
  if #c.options > 0 then
    out[#out + 1] = "\nOptions:\n" .. table_rows(_M.option_rows(c.options))
  end
  out[#out + 1] = "\nGlobal options:\n" .. table_rows(_M.option_rows(globals))
  examples(c.example, out)
  out[#out + 1] = "\n" .. wrap(_M.EXIT_LINE)
  return concat(out, "\n") .. "\n"
end

--- The help page of a group: its commands.
function _M.group(g, globals)
  local out = { "usage: sendpulse " .. g.name .. " COMMAND [ARGUMENTS] [OPTIONS]", "",
                paragraphs(g.summary .. ".") }
  if g.description then
    out[#out + 1] = ""
    out[#out + 1] = paragraphs(g.description)
  end
  local rows = {}
  for _, c in ipairs(g.commands) do
    rows[#rows + 1] = { c.name, c.summary }
  end
  out[#out + 1] = "\nCommands:\n" .. table_rows(rows)
  out[#out + 1] = "\nGlobal options:\n" .. table_rows(_M.option_rows(globals))
  local ex = g.commands[1].example
  out[#out + 1] = "\nExample:\n" .. wrap(type(ex) == "table" and ex[1] or ex, "      ", "  ",
                                         shell_words, " \\")
  out[#out + 1] = "\n'sendpulse " .. g.name .. " COMMAND --help' describes a command."
  out[#out + 1] = wrap(_M.EXIT_LINE)
  return concat(out, "\n") .. "\n"
end

--- The tool's page: `sendpulse --help`. `text` holds the parts that are
-- prose (sendpulse.cli.manual).
function _M.main(reg, globals, text)
  local rows = {}
  for _, c in ipairs(reg.commands) do
    if not c.group then
      rows[#rows + 1] = { c.name, c.summary }
    end
  end
  local grows = {}
  for _, g in ipairs(reg.groups) do
    grows[#grows + 1] = { g.name, g.summary .. "." }
  end
  local out = { text.title, "" }
  for _, l in ipairs(text.usage) do
    out[#out + 1] = l
  end
  out[#out + 1] = ""
  out[#out + 1] = "Commands:"
  out[#out + 1] = table_rows(rows)
  out[#out + 1] = ""
  out[#out + 1] = "Command groups ('sendpulse GROUP --help' lists their commands):"
  out[#out + 1] = table_rows(grows)
  out[#out + 1] = ""
  out[#out + 1] = "Global options (before or after the command):"
  out[#out + 1] = table_rows(_M.option_rows(globals))
  for _, section in ipairs(text.sections) do
    out[#out + 1] = ""
    out[#out + 1] = section.title .. ":"
    if section.rows then
      out[#out + 1] = table_rows(section.rows)
    end
    if section.text then
      out[#out + 1] = wrap(section.text, "  ", "  ")
    end
    for _, l in ipairs(section.lines or {}) do
      out[#out + 1] = l
    end
  end
  return concat(out, "\n") .. "\n"
end

return _M
