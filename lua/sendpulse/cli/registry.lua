--- The command registry: groups and commands, built from rows.
--
-- A module of commands (`sendpulse.cli.commands.<area>`) returns
--
--    { group = { "smtp", "Transactional email (SMTP): ..." },   -- or none:
--                                                               -- top-level
--      commands = { row, row, ... } }
--
-- and a row is data (see `sendpulse.cli.rows` for every field):
--
--    { "get", "smtp_email", args = { param("ID", "string", "...") },
--      summary = "One sent message.", example = "sendpulse smtp get 1a2b" }
--
-- Rows that map onto one client method name the method and say how the
-- arguments and options make its arguments; rows of the API's operation
-- tables name their service and method (`sendpulse.cli.operations` makes
-- them); only commands that need more carry a `run` function.
--
-- A group may be filled later: `Registry:later(name, fn)` keeps `fn`
-- until the group's commands are first needed (its help page, one of its
-- commands not declared yet, the list of every command), so that a run
-- loads only the operation tables it uses.
-- @module sendpulse.cli.registry
-- @local
local errors = require "sendpulse.cli.errors"
local rows = require "sendpulse.cli.rows"
local util = require "sendpulse.cli.util"

local assert = assert
local ipairs = ipairs
local remove = table.remove
local require = require
local setmetatable = setmetatable

local usage = errors.usage

local _M = {}

--- The modules of the tool's own commands, in the order --help lists
-- them (top-level commands first).
_M.MODULES = {
  "account", "generic", "tool", "addressbooks", "emails", "blacklist", "verifier",
  "campaigns", "templates", "senders", "webhooks", "smtp", "push", "sms", "viber",
  "automation",
}

local Registry = {}
Registry.__index = Registry

--- An empty registry whose commands all take the options `globals`.
function _M.new(globals)
  return setmetatable({
    globals = globals,
    commands = {},        -- in declaration order
    by_path = {},         -- "address-books list" -> command
    groups = {},          -- in declaration order
    group_by_name = {},   -- "address-books" -> group
  }, Registry)
end

--- Declares a group: { name, summary, description = ... }.
function Registry:group(spec)
  local name = spec[1] or spec.name
  local g = self.group_by_name[name]
  if g then
    return g     -- more commands for a group declared before
  end
  g = { name = name, summary = spec[2] or spec.summary, description = spec.description,
        commands = {}, pending = {} }
  assert(not self.by_path[name], name .. ": a command and a group of the same name")
  self.groups[#self.groups + 1] = g
  self.group_by_name[name] = g
  return g
end

--- Adds one row to group `g` (nil: a top-level command); returns the
-- command.
function Registry:add(g, row)
  local c = rows.compile(row, self.globals)
  c.path = g and (g.name .. " " .. c.name) or c.name
  assert(not self.by_path[c.path], c.path .. ": declared twice")
  assert(g or not self.group_by_name[c.path], c.path .. ": a command and a group of the same name")
  c.group = g
  self.commands[#self.commands + 1] = c
  self.by_path[c.path] = c
  if g then
    g.commands[#g.commands + 1] = c
  end
  return c
end

--- Adds a module's rows: { group = {...} or nil, commands = { rows } }.
-- A group declared before gets the new commands too; a name already
-- taken is an error.
function Registry:load(module)
  local g = module.group and self:group(module.group)
  for _, row in ipairs(module.commands) do
    self:add(g, row)
  end
  return self
end

--- Keeps `fn(registry, group)`, which adds commands to the group
-- `name` (declared before), until they are needed.
function Registry:later(name, fn)
  local g = assert(self.group_by_name[name], name .. ": no such group")
  g.pending[#g.pending + 1] = fn
end

--- Adds the commands kept for group `g` by `later`.
function Registry:expand(g)
  while g.pending[1] do
    remove(g.pending, 1)(self, g)
  end
  return g
end

--- Every command: the top-level ones, then each group's in order (the
-- groups filled first).
function Registry:all_commands()
  local list = {}
  for _, c in ipairs(self.commands) do
    if not c.group then
      list[#list + 1] = c
    end
  end
  for _, g in ipairs(self.groups) do
    self:expand(g)
    for _, c in ipairs(g.commands) do
      list[#list + 1] = c
    end
  end
  return list
end

--- The registry of the tool's own commands, then the commands of the
-- API's operation tables (filled in when needed).
function _M.default(globals)
  local reg = _M.new(globals)
  for _, name in ipairs(_M.MODULES) do
    reg:load(require("sendpulse.cli.commands." .. name))
  end
  require("sendpulse.cli.operations").declare(reg)
  return reg
end

--- Names of the top-level commands and the groups.
function Registry:top_names()
  local names = {}
  for _, c in ipairs(self.commands) do
    if not c.group then
      names[#names + 1] = c.name
    end
  end
  for _, g in ipairs(self.groups) do
    names[#names + 1] = g.name
  end
  return names
end

local function sub_names(g)
  local names = {}
  for _, c in ipairs(g.commands) do
    names[#names + 1] = c.name
  end
  return names
end

-- "; did you mean ...?" for an unknown command word of group g: the
-- nearest name, or the command whose client method `word` names
-- (`smtp_sender_domains`, `smtp-sender-domains`).
local function group_hint(g, word)
  local method = word:lower():gsub("%-", "_")
  for _, c in ipairs(g.commands) do
    if c.method == method and c.name ~= word then
      return "; did you mean '" .. c.name .. "'?"
    end
  end
  return util.suggest(word, sub_names(g))
end

--- The command (or group) named by `words`: command, group, and how many
-- words name it. Unknown words are a usage error with a suggestion.
function Registry:find(words)
  local first = words[1]
  if not first then
    return nil
  end
  local g = self.group_by_name[first]
  if g then
    local second = words[2]
    if not second then
      return nil, self:expand(g)
    end
    local c = self.by_path[first .. " " .. second]
    if not c and g.pending[1] then
      self:expand(g)
      c = self.by_path[first .. " " .. second]
    end
    if not c then
      usage("unknown command '%s %s'%s (sendpulse %s --help lists them)", first, second,
            group_hint(g, second), first)
    end
    return c, g, 2
  end
  local c = self.by_path[first]
  if not c then
    usage("unknown command '%s'%s (sendpulse --help lists them)", first,
          util.suggest(first, self:top_names()))
  end
  return c, nil, 1
end

return _M
