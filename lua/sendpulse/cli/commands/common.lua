--- Declarations and checks shared by the command modules.
-- @module sendpulse.cli.commands.common
-- @local
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"
local util = require "sendpulse.cli.util"

local concat = table.concat
local ipairs = ipairs

local usage = errors.usage

local _M = {
  opt = args.opt,
  param = args.param,
}

local param = args.param

--- Arguments many commands take.
_M.A = {
  book = function(help) return param("ID", "id", help or "the mailing list's id") end,
  id = function(help) return param("ID", "id", help) end,
  email = function(help) return param("EMAIL", "email", help or "an email address") end,
  emails = function(help) return param("EMAIL...", "email", help or "email addresses") end,
  phones = function(help) return param("PHONE...", "string", help or "phone numbers (digits)") end,
}

local function given(values, names)
  local list = {}
  for _, n in ipairs(names) do
    if values[(n:gsub("%-", "_"))] ~= nil then
      list[#list + 1] = "--" .. n
    end
  end
  return list
end

--- At most one of the options `names` ("html", "template"): the one
-- given ("--html"), or nil.
function _M.one_of(values, names)
  local list = given(values, names)
  if #list > 1 then
    usage("give only one of %s", concat(list, ", "))
  end
  return list[1]
end

--- Exactly one of the options `names`: the one given.
function _M.need_one_of(values, names)
  local g = _M.one_of(values, names)
  if not g then
    local opts = {}
    for i, n in ipairs(names) do
      opts[i] = "--" .. n
    end
    usage("give one of %s", concat(opts, ", "))
  end
  return g
end

--- Options a command requires though they are optional elsewhere.
function _M.require(values, names)
  for _, n in ipairs(names) do
    if values[(n:gsub("%-", "_"))] == nil then
      usage("missing --%s", n)
    end
  end
end

--- {basename = bytes} from the files of a repeated --attach.
function _M.attachments(files)
  if not files then
    return nil
  end
  local out = {}
  for _, path in ipairs(files) do
    local name = util.basename(path)
    if out[name] then
      usage("--attach: two attachments named '%s'", name)
    end
    out[name] = util.read_file(path, "--attach")
  end
  return out
end

return _M
