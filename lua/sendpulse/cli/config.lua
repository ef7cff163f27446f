--- The configuration file of the command-line tool: named profiles, each
-- with credentials and settings.
--
--    # ~/.config/sendpulse/config (mode 0600): written by `sendpulse configure`
--    [default]
--    client_id = 0123456789abcdef
--    client_secret = fedcba9876543210
--
--    [staging]
--    api_key = ...
--    base_url = https://sendpulse.staging.example
--    ca_file = /etc/ssl/staging-ca.pem
--
-- Lines are `[NAME]` (a profile), `key = value` (everything after the
-- first `=`, spaces around it trimmed) or comments starting with `#` or
-- `;`. The file is read only when no one but its owner may access it.
-- @module sendpulse.cli.config
-- @local
local core = require "sendpulse.core"
local errors = require "sendpulse.cli.errors"
local sys = require "sendpulse.cli.sys"
local util = require "sendpulse.cli.util"

local concat = table.concat
local io_open = io.open
local io_popen = io.popen
local ipairs = ipairs

local usage = errors.usage

local _M = {}

--- The keys a profile may hold, in the order `configure` writes them.
_M.KEYS = { "client_id", "client_secret", "api_key", "base_url", "ca_file", "timeout",
            "output", "token_dir" }

local KNOWN = {}
for _, k in ipairs(_M.KEYS) do
  KNOWN[k] = true
end

--- Where the file is: $SENDPULSE_CONFIG, else
-- $XDG_CONFIG_HOME/sendpulse/config, else ~/.config/sendpulse/config.
-- The second result is the directory to create for it (nil when the
-- path was given).
function _M.path()
  local given = sys.getenv("SENDPULSE_CONFIG")
  if given then
    return given, nil
  end
  local base = sys.getenv("XDG_CONFIG_HOME")
  if not base then
    local home = sys.getenv("HOME")
    if not home then
      return nil
    end
    base = home .. "/.config"
  end
  return base .. "/sendpulse/config", base .. "/sendpulse"
end

--- The permission string of a file ("-rw-------"), following symbolic
-- links, or nil when it does not exist. (ls -l is the portable way to
-- ask from plain Lua.)
function _M.mode(path)
  local f = io_open(path, "rb")
  if not f then
    return nil
  end
  f:close()
  local p = io_popen("LC_ALL=C ls -lLd -- " .. util.shell_quote(path) .. " 2>/dev/null")
  local line = p and p:read("*l")
  if p then
    p:close()
  end
  return line and line:match("^(%S+)")
end

--- Raises a usage error when others than the owner may access `path`.
function _M.check_private(path, mode)
  local others = mode:sub(5, 10)
  if others:find("[^-]") then
    usage("%s: refused: other users may read it (mode %s); it holds credentials: "
          .. "run 'chmod 600 %s'", path, mode:sub(2, 10), path)
  end
end

-- The profile a "[NAME]" line names, or nil.
local function header(line)
  return util.trim(line):match("^%[%s*([%w_.%-]+)%s*%]$")
end

--- Parses the text of a file: `{ [name] = { key = value }, ... }`, the
-- profile names in order, and where each key is (`lines[name][key]`).
function _M.parse(text, path)
  local profiles, order, lines = {}, {}, {}
  local current
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = util.trim(line:gsub("\r$", ""))
    local name = header(line)
    local comment = line == "" or line:find("^[#;]")
    if name and not comment then
      if profiles[name] then
        usage("%s:%d: profile '%s' appears twice", path, n, name)
      end
      profiles[name], lines[name] = {}, {}
      order[#order + 1] = name
      current = name
    elseif not comment then
      local key, value = line:match("^([%w_]+)%s*=%s*(.-)$")
      if not key then
        usage("%s:%d: expected [PROFILE], key = value or a # comment", path, n)
      elseif not current then
        usage("%s:%d: '%s' comes before any [PROFILE] line", path, n, key)
      elseif not KNOWN[key] then
        usage("%s:%d: unknown key '%s' (known: %s)%s", path, n, key, concat(_M.KEYS, ", "),
              util.suggest(key, _M.KEYS))
      end
      profiles[current][key] = value ~= "" and value or nil
      lines[current][key] = n
    end
  end
  return profiles, order, lines
end

--- Reads the file at `path`: profiles, order and lines (see `parse`), or
-- nil when there is no file.
function _M.load(path)
  local mode = _M.mode(path)
  if not mode then
    return nil
  end
  _M.check_private(path, mode)
  local f, err = io_open(path, "rb")
  if not f then
    usage("cannot read %s", err)
  end
  local text = f:read("*a")
  f:close()
  return _M.parse(text or "", path)
end

local function split_lines(text)
  local lines = {}
  for line in (text or ""):gmatch("([^\n]*)\n?") do
    lines[#lines + 1] = line
  end
  if lines[#lines] == "" then
    lines[#lines] = nil
  end
  return lines
end

-- Where profile `name` is: the index of its [NAME] line and of its last
-- line, or nil.
local function section_bounds(lines, name)
  local first, last
  for i, line in ipairs(lines) do
    local section = header(line)
    if section and first and not last then
      last = i - 1
    end
    if section == name then
      first = i
    end
  end
  return first, first and (last or #lines)
end

-- The lines of a section with `values` set: keys replaced in place,
-- removed (false), or added after the section's other lines.
local function merge_section(lines, values)
  local out, written = {}, {}
  for _, line in ipairs(lines) do
    local key = line:match("^%s*([%w_]+)%s*=")
    if key and values[key] ~= nil then
      if values[key] and not written[key] then
        out[#out + 1] = key .. " = " .. values[key]
      end
      written[key] = true
    else
      out[#out + 1] = line
    end
  end
  local blanks = 0     -- blank lines that end the section stay after it
  while out[#out] and util.trim(out[#out]) == "" do
    out[#out] = nil
    blanks = blanks + 1
  end
  for _, k in ipairs(_M.KEYS) do
    if values[k] and not written[k] then
      out[#out + 1] = k .. " = " .. values[k]
    end
  end
  for _ = 1, blanks do
    out[#out + 1] = ""
  end
  return out
end

--- The text of the file with profile `name` set to `values` (a table of
-- keys; false removes one), the rest of the file kept as it was.
function _M.update(text, name, values)
  local lines = split_lines(text)
  local first, last = section_bounds(lines, name)
  if not first then
    if #lines == 0 then
      lines[1] = "# lua-sendpulse profiles, written by 'sendpulse configure'; keep it mode 0600"
    end
    if lines[#lines] ~= "" then
      lines[#lines + 1] = ""
    end
    lines[#lines + 1] = "[" .. name .. "]"
    first, last = #lines, #lines
  end
  local body = {}
  for i = first + 1, last do
    body[#body + 1] = lines[i]
  end
  local out = {}
  for i = 1, first do
    out[#out + 1] = lines[i]
  end
  for _, line in ipairs(merge_section(body, values)) do
    out[#out + 1] = line
  end
  for i = last + 1, #lines do
    out[#out + 1] = lines[i]
  end
  return concat(out, "\n") .. "\n"
end

--- Writes `text` to `path`, created mode 0600 and replaced atomically;
-- `dir` (the default directory) is created mode 0700 first.
function _M.write(path, text, dir)
  if dir then
    local parent = dir:match("^(.*)/[^/]+$")
    if parent and parent ~= "" then
      core.make_private_dir(parent)      -- ~/.config, if missing
    end
    local ok, err = core.make_private_dir(dir)
    if not ok then
      usage("cannot create %s: %s", dir, (err:gsub("^[^:]*: ", "")))
    end
  end
  local ok, err = core.write_private_file(path, text)
  if not ok then
    usage("cannot write %s: %s", path, (err:gsub("^[^:]*: ", "")))
  end
end

return _M
