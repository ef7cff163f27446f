--- `sendpulse configure`: writes a profile into the configuration file
-- (`sendpulse.cli.config`), asking for the credentials on the terminal
-- with the secret not echoed, or reading them from standard input.
-- @module sendpulse.cli.configure
-- @local
local args = require "sendpulse.cli.args"
local config = require "sendpulse.cli.config"
local errors = require "sendpulse.cli.errors"
local sys = require "sendpulse.cli.sys"
local util = require "sendpulse.cli.util"

local assert = assert
local error = error
local format = string.format
local io_open = io.open
local pcall = pcall

local opt = args.opt
local usage = errors.usage

local _M = {}

-- One answer: a line of standard input, asked for on a terminal with
-- `prompt`; `hidden` turns the terminal's echo off while it is typed
-- (before the prompt shows: whatever is typed after it is not echoed).
local function ask(prompt, hidden, position)
  local terminal = sys.is_terminal(0)
  local silent = terminal and hidden
  if silent and not sys.execute("stty -echo 2>/dev/null") then
    usage("cannot turn the terminal's echo off (stty): the secret is not asked for")
  end
  if terminal then
    sys.stderr:write(prompt)
    sys.stderr:flush()
  end
  local ok, line = pcall(sys.stdin.read, sys.stdin, "*l")
  if silent then
    sys.execute("stty echo 2>/dev/null")
    sys.stderr:write("\n")
  end
  if not ok then
    error(line, 0)
  end
  if line == nil and not terminal then
    usage("configure: standard input ended before line %d (%s)", position,
          prompt:match("^(.-) ?%[") or prompt:match("^(.-):") or prompt)
  end
  return util.trim((line or ""):gsub("\r$", ""))
end

-- A value: the answer, or the profile's current one when the answer is
-- empty.
local function value(prompt, hidden, current, position, what)
  local keep = current and " [Enter: keep the current one]" or ""
  local answer = ask(prompt .. keep .. ": ", hidden, position)
  if answer == "" then
    answer = current
  end
  if not answer then
    usage("configure: %s is required", what)
  end
  if answer:find("[%c]") then
    usage("configure: %s contains a control character", what)
  end
  return answer
end

--- Runs the command.
function _M.run(_, a, ctx)
  local path, dir = config.path()
  if not path then
    usage("configure: no place for the configuration file: set HOME or SENDPULSE_CONFIG")
  end
  local name = a.profile or sys.getenv("SENDPULSE_PROFILE") or "default"
  local text
  local profiles = config.load(path)     -- refuses a file others may read
  if profiles then
    local f = assert(io_open(path, "rb"))
    text = f:read("*a")
    f:close()
  end
  local current = profiles and profiles[name] or {}
  local auth = a.auth or (current.api_key and "api-key" or "oauth")
  if sys.is_terminal(0) then
    sys.stderr:write(format("Profile '%s' in %s\n", name, path))
  end
  local values
  if auth == "api-key" then
    values = { api_key = value("SendPulse API key (not shown)", true, current.api_key, 1,
                               "the API key"),
               client_id = false, client_secret = false }
  else
    local id = value("SendPulse client id (Settings > API)", false, current.client_id, 1,
                     "the client id")
    local secret = value("SendPulse client secret (not shown)", true, current.client_secret, 2,
                         "the client secret")
    values = { client_id = id, client_secret = secret, api_key = false }
  end
  if a.base_url then
    values.base_url = a.base_url
  end
  if a.ca_file then
    if not sys.readable(a.ca_file) then
      usage("--ca-file: cannot read the CA file '%s'", a.ca_file)
    end
    values.ca_file = a.ca_file
  end
  local new_text = config.update(text, name, values)
  config.parse(new_text, path)           -- what is written reads back
  if a.dry_run then
    sys.stderr:write(format("dry run: profile '%s' not written to %s\n", name, path))
    return ctx.PRINTED
  end
  config.write(path, new_text, not sys.getenv("SENDPULSE_CONFIG") and dir or nil)
  sys.stderr:write(format("profile '%s' written to %s (mode 0600)\n", name, path))
  return ctx.PRINTED
end

--- The command's row.
_M.command = {
  "configure",
  summary = "Writes a profile (credentials, address, CA file) into the configuration file.",
  description = "Asks for the client id and secret (or, with --auth api-key, an API key) "
    .. "on the terminal, with the secret not shown as it is typed; when standard input "
    .. "is not a terminal, reads them from it, one per line. An empty answer keeps the "
    .. "profile's current value. --base-url and --ca-file given here are stored in the "
    .. "profile too.\n\n"
    .. "The file is $SENDPULSE_CONFIG, else ~/.config/sendpulse/config; it is written "
    .. "mode 0600, its other profiles kept, and is refused when others may read it. "
    .. "The profile is --profile NAME, else $SENDPULSE_PROFILE, else 'default'.",
  options = {
    opt("auth", "KIND", "choice", "oauth (a client id and secret, the default) or api-key",
        { choices = { "oauth", "api-key" } }),
  },
  example = { "sendpulse configure",
              "sendpulse configure --profile staging --base-url https://sendpulse.test "
                .. "--ca-file /etc/ssl/test-ca.pem",
              "printf '%s\\n' \"$ID\" \"$SECRET\" | sendpulse configure --profile ci" },
  run = _M.run,
}

return _M
