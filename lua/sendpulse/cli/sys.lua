--- What the command-line tool takes from its process: standard streams,
-- environment variables and whether a stream is a terminal.
--
-- `sendpulse.cli.main` sets these up once per run; a spec running the
-- tool inside its own process passes files and a table of variables
-- instead, so that nothing here has to be spawned to be tested.
-- @module sendpulse.cli.sys
-- @local
local io = io
local os = os
local type = type

local _M = {}

local env_table, terminals

-- Whether file descriptor `fd` is a terminal, asked of test(1): plain Lua
-- has no isatty.
local function probe_terminal(fd)
  local ok, how, code = os.execute("test -t " .. fd)
  if type(ok) == "number" then      -- Lua 5.1 returns the status alone
    return ok == 0
  end
  return ok == true and how == "exit" and code == 0
end

--- Sets the streams and the environment for one run.
-- @tparam[opt] table opts `stdin`, `stdout`, `stderr` (files), `env` (a
--   table of variables replacing the process environment), `terminal`
--   (`{[0] = bool, [1] = bool, [2] = bool}` instead of asking the system)
function _M.setup(opts)
  opts = opts or {}
  _M.stdin = opts.stdin or io.stdin
  _M.stdout = opts.stdout or io.stdout
  _M.stderr = opts.stderr or io.stderr
  env_table = opts.env
  terminals = opts.terminal and {} or nil
  if opts.terminal then
    for fd = 0, 2 do
      terminals[fd] = opts.terminal[fd] == true
    end
  end
end

--- An environment variable; an empty one counts as unset.
function _M.getenv(name)
  local v
  if env_table then
    v = env_table[name]
  else
    v = os.getenv(name)
  end
  if v == "" then
    return nil
  end
  return v
end

local cache = {}

--- Whether standard input (0), output (1) or error (2) is a terminal.
function _M.is_terminal(fd)
  if terminals then
    return terminals[fd]
  end
  if cache[fd] == nil then
    cache[fd] = probe_terminal(fd)
  end
  return cache[fd]
end

--- Runs a shell command with standard input from the terminal we read
-- (stty acts on its standard input); true when it exited 0.
function _M.execute(command)
  local ok, how, code = os.execute(command)
  if type(ok) == "number" then
    return ok == 0
  end
  return ok == true and how == "exit" and code == 0
end

--- Whether a file can be opened for reading.
function _M.readable(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

_M.setup()

return _M
