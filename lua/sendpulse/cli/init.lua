--- The `sendpulse` command: the SendPulse REST API from a shell.
--
--    os.exit(require("sendpulse.cli").main(arg))
--
-- `main` refuses secrets on the command line, finds the command in the
-- registry (`sendpulse.cli.registry`), parses its arguments
-- (`sendpulse.cli.args`), runs it with a client made on first use
-- (`sendpulse.cli.session`), prints the result (`sendpulse.cli.output`)
-- and returns the exit status (`sendpulse.cli.errors`).
-- @module sendpulse.cli
local sendpulse = require "sendpulse"
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"
local help = require "sendpulse.cli.help"
local manual = require "sendpulse.cli.manual"
local output = require "sendpulse.cli.output"
local progress = require "sendpulse.cli.progress"
local registry = require "sendpulse.cli.registry"
local session = require "sendpulse.cli.session"
local sys = require "sendpulse.cli.sys"
local util = require "sendpulse.cli.util"

local debug_traceback = debug.traceback
local ipairs = ipairs
local setmetatable = setmetatable
local tostring = tostring
local xpcall = xpcall

local EXIT = errors.EXIT
local one_line = errors.one_line
local opt = args.opt
local usage = errors.usage

local _M = { EXIT = EXIT }

--- The options every command takes, before or after its words.
_M.GLOBAL_OPTIONS = {
  opt("output", "FORMAT", "choice", "json (the default), ndjson (one line per item), table "
      .. "or csv (default: $SENDPULSE_OUTPUT, else the profile's output)",
      { short = "o", choices = output.FORMATS }),
  opt("raw", nil, nil, "print compact JSON on one line instead of indented JSON"),
  opt("profile", "NAME", nil, "the profile of the configuration file to use (default: "
      .. "$SENDPULSE_PROFILE, else default); its settings then win over the environment's"),
  opt("base-url", "URL", nil, "the API's address (default: $SENDPULSE_BASE_URL, "
      .. "else the profile's, else https://api.sendpulse.com)"),
  opt("ca-file", "FILE", nil, "PEM bundle of trusted CAs (default: $SENDPULSE_CA_FILE, "
      .. "else the profile's, else the system's)"),
  opt("timeout", "SECONDS", "seconds", "time allowed for one request (default 30)"),
  opt("dry-run", nil, nil, "print the requests the command would make (method, path, "
      .. "query, body), send nothing"),
  opt("verbose", nil, nil, "show each request on standard error: method, path, status, "
      .. "time, attempt (also SENDPULSE_DEBUG=http)", { short = "v" }),
  opt("help", nil, nil, "show the help of the command and exit", { short = "h" }),
}

local GLOBALS = _M.GLOBAL_OPTIONS

-- Options that would put a secret on the command line, and the variable
-- to use instead.
local SECRET_OPTIONS = {
  ["client-secret"] = "SENDPULSE_CLIENT_SECRET", secret = "SENDPULSE_CLIENT_SECRET",
  ["api-key"] = "SENDPULSE_API_KEY", apikey = "SENDPULSE_API_KEY",
  key = "SENDPULSE_API_KEY", token = "SENDPULSE_API_KEY",
  ["access-token"] = "SENDPULSE_API_KEY", password = "SENDPULSE_CLIENT_SECRET",
  ["client-id"] = "SENDPULSE_CLIENT_ID",
}

local function refuse_secrets(argv)
  for _, s in ipairs(argv) do
    if s == "--" then
      return
    end
    local name = s:match("^%-%-?([^=]+)")
    local var = name and SECRET_OPTIONS[name:lower():gsub("_", "-")]
    if var then
      local flag = s:gsub("=.*", "")
      if var == "SENDPULSE_CLIENT_ID" then
        usage("%s is refused: credentials are read from the environment only "
              .. "(set SENDPULSE_CLIENT_ID and SENDPULSE_CLIENT_SECRET)", flag)
      end
      usage("%s is refused: a secret on the command line can be read by other users "
            .. "of this machine (ps, /proc) and stays in the shell's history; set %s "
            .. "in the environment instead", flag, var)
    end
  end
end

-- A global option named by token ("--raw", "--base-url=x", "-h"), or nil.
local function global_option(token)
  local name = token:match("^%-%-([^=]+)")
  for _, o in ipairs(GLOBALS) do
    if o.name == name or (o.short and token == "-" .. o.short) then
      return o
    end
  end
end

local function global_names()
  local names = {}
  for i, o in ipairs(GLOBALS) do
    names[i] = "--" .. o.name
  end
  return names
end

-- Splits argv into the command's words and the rest (its arguments and
-- every option). Before the command is named, only global options may
-- come.
local function split(reg, argv)
  local words, rest = {}, {}
  local flags = { help = false, version = false }
  local i, double_dash = 1, false
  while i <= #argv do
    local s = argv[i]
    local need = (#words == 0) or (#words == 1 and reg.group_by_name[words[1]] ~= nil)
    if double_dash then
      rest[#rest + 1] = s
    elseif s == "--" then
      double_dash = true
      rest[#rest + 1] = s
    elseif s == "-h" or s == "--help" then
      flags.help = true
    elseif s == "--version" and #words == 0 then
      flags.version = true
    elseif args.is_option(s) then
      local o = global_option(s)
      if need and not o then
        usage("unknown option '%s'%s (options of a command go after it; "
              .. "sendpulse --help lists the global options)", s,
              util.suggest((s:gsub("=.*", "")), global_names()))
      end
      rest[#rest + 1] = s
      if o and o.metavar and not s:find("=", 1, true) and argv[i + 1] then
        i = i + 1
        rest[#rest + 1] = argv[i]
      end
    elseif need then
      words[#words + 1] = s
    else
      rest[#rest + 1] = s
    end
    i = i + 1
  end
  return words, rest, flags
end

-- `sendpulse help [GROUP] [COMMAND]`: the page, printed.
local function help_command(reg, rest)
  local hw = {}
  for _, s in ipairs(rest) do
    if not args.is_option(s) then
      hw[#hw + 1] = s
    end
  end
  if #hw == 0 then
    return help.main(reg, GLOBALS, manual.text(sendpulse._VERSION))
  end
  if #hw > 2 then
    usage("help: too many words")
  end
  local hc, hg = reg:find(hw)
  return hc and help.command(hc, GLOBALS) or help.group(hg, GLOBALS)
end

-- The context a command runs in: where it prints, how it streams.
local Context = {}
Context.__index = Context

-- Prints nothing: what a dry run's commands would print.
local discard = { item = function() end, finish = function() end, value = function() end }

--- The writer of the command's results.
function Context:writer()
  if not self.out then
    if self.values.dry_run and self.command.dry_run ~= "self" then
      self.out = discard
    else
      self.out = output.writer(self.session:output_format(),
                               { pretty = not self.values.raw, file = sys.stdout })
    end
  end
  return self.out
end

--- Prints the items of a library iterator as they arrive, with a counter
-- on standard error when it is a terminal. Returns PRINTED, or nil and
-- the error after the items received before it.
function Context:stream(iter)
  local w = self:writer()
  local step, finish = progress.counter()
  for item, err in iter do
    if item == false then
      finish()
      w:finish(false)
      return nil, err
    end
    step()
    w:item(item)
  end
  finish()
  w:finish(true)
  return self.PRINTED
end

--- The requests collected in a dry run, in order.
function Context:requests()
  return self.session.requests
end

-- Answers --version, --help, `help` and a missing command: the exit
-- status, or nil when the command is to run.
local function answer_without_running(reg, c, g, rest, flags)
  local main_page = function() return help.main(reg, GLOBALS, manual.text(sendpulse._VERSION)) end
  if flags.version then
    sys.stdout:write("sendpulse (lua-sendpulse ", tostring(sendpulse._VERSION), ")\n")
  elseif c and c.path == "help" and not flags.help then
    sys.stdout:write(help_command(reg, rest))
  elseif flags.help then
    sys.stdout:write(c and help.command(c, GLOBALS) or g and help.group(g, GLOBALS)
                     or main_page())
  elseif not c then
    if g then
      sys.stderr:write("sendpulse: missing a command after '", g.name, "'\n\n",
                       help.group(g, GLOBALS))
    else
      -- no command at all: some global options alone are still a usage error
      sys.stderr:write("sendpulse: missing a command\n\n", main_page())
    end
    return EXIT.usage
  else
    return nil
  end
  return EXIT.ok
end

local function run(reg, argv, state)
  refuse_secrets(argv)
  local words, rest, flags = split(reg, argv)
  local c, g
  if not flags.version then
    c, g = reg:find(words)
  end
  local status = answer_without_running(reg, c, g, rest, flags)
  if status then
    return status
  end

  local a = args.parse(c, rest, GLOBALS)
  local ses = session.new(a)
  state.session = ses
  local ctx = setmetatable({
    registry = reg, command = c, values = a, session = ses, stdout = sys.stdout,
    PRINTED = state,
  }, Context)
  local res, err, reported = c.run(ses.client, a, ctx)
  if a.dry_run and c.dry_run ~= "self" and ses.real then
    -- what it would have sent, instead of what it would have printed
    res = ses.requests
    ctx.out = output.writer(ses:output_format(), { pretty = not a.raw, file = sys.stdout })
  end
  if res ~= nil and res ~= state then
    ctx:writer():value(res)
  end
  if err ~= nil or res == nil then
    if not reported then
      sys.stderr:write(one_line(err), "\n")
    end
    return EXIT.api
  end
  return EXIT.ok
end

local function handler(e)
  if errors.is_failure(e) then
    return e
  end
  local lib = errors.library_error(e)
  if lib then
    return { message = lib, status = EXIT.usage }
  end
  return { internal = tostring(e), trace = debug_traceback("", 2) }
end

--- Runs the tool with the command-line words `argv` (a list, as `arg`);
-- returns the exit status. `opts` (for tests) replaces the process's
-- streams and environment (see `sendpulse.cli.sys.setup`) and may give
-- another `registry`.
function _M.main(argv, opts)
  opts = opts or {}
  sys.setup(opts)
  local list = {}
  for i = 1, #(argv or {}) do
    list[i] = argv[i]
  end
  local state = {}
  -- Lua 5.1's xpcall passes no arguments to the function: a closure does
  local ok, status = xpcall(function()
    return run(opts.registry or registry.default(GLOBALS), list, state)
  end, handler)
  if not ok then
    local e = status
    if e.internal then
      sys.stderr:write("sendpulse: internal error: ", one_line(e.internal), "\n")
      if sys.getenv("SENDPULSE_DEBUG") then
        sys.stderr:write(e.trace, "\n")
      end
      status = EXIT.internal
    else
      sys.stderr:write("sendpulse: ", one_line(e.message), "\n")
      status = e.status
    end
  end
  if state.session then
    state.session:close()
  end
  sys.stdout:flush()
  sys.stderr:flush()
  return status
end

--- The registry of the tool's commands, for completion and specs.
function _M.registry()
  return registry.default(GLOBALS)
end

return _M
