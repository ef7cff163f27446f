--- The client of one run of the tool, created when a command first uses
-- it (help pages and usage errors need no credentials), from the
-- command-line options and the environment.
-- @module sendpulse.cli.session
-- @local
local sendpulse = require "sendpulse"
local errors = require "sendpulse.cli.errors"
local sys = require "sendpulse.cli.sys"

local pcall = pcall
local setmetatable = setmetatable
local tostring = tostring
local type = type

local one_line = errors.one_line
local usage = errors.usage

local _M = {}

local Session = {}
Session.__index = Session

--- A session; `globals` holds the global options given (base_url,
-- ca_file, timeout).
function _M.new(globals)
  local s = setmetatable({ globals = globals or {} }, Session)
  -- What commands receive: a stand-in that creates the client when a
  -- method is first looked up.
  s.client = setmetatable({}, {
    __index = function(_, method)
      local real = s:real_client()
      local f = real[method]
      if type(f) ~= "function" then
        return f
      end
      return function(_, ...)
        return f(real, ...)
      end
    end,
  })
  return s
end

-- The credentials from the environment, as options of sendpulse.new.
local function credentials()
  local getenv = sys.getenv
  local id, secret = getenv("SENDPULSE_CLIENT_ID"), getenv("SENDPULSE_CLIENT_SECRET")
  local key = getenv("SENDPULSE_API_KEY")
  if key and (id or secret) then
    usage("both SENDPULSE_API_KEY and SENDPULSE_CLIENT_ID/SENDPULSE_CLIENT_SECRET "
          .. "are set: unset one kind of credentials")
  elseif key then
    return { api_key = key }
  elseif id and secret then
    return { client_id = id, client_secret = secret }
  elseif id or secret then
    usage("%s is set but %s is not: set both (or SENDPULSE_API_KEY)",
          id and "SENDPULSE_CLIENT_ID" or "SENDPULSE_CLIENT_SECRET",
          id and "SENDPULSE_CLIENT_SECRET" or "SENDPULSE_CLIENT_ID")
  end
  usage("no credentials: set SENDPULSE_CLIENT_ID and SENDPULSE_CLIENT_SECRET "
        .. "(SendPulse: Settings > API), or SENDPULSE_API_KEY, in the environment")
end

local function token_store(opts)
  local dir = sys.getenv("SENDPULSE_TOKEN_DIR")
  if not dir or opts.api_key then
    return
  end
  local made, store = pcall(sendpulse.stores.file, dir)
  if not made then
    usage("SENDPULSE_TOKEN_DIR=%s: %s", dir, errors.library_error(store) or tostring(store))
  end
  opts.token_store = store
  opts.on_store_error = function(operation, message)
    sys.stderr:write("sendpulse: warning: token cache (", operation, "): ",
                     one_line(message), "\n")
  end
end

--- The options of sendpulse.new for this run.
function Session:options()
  local g = self.globals
  local opts = credentials()
  opts.base_url = g.base_url or sys.getenv("SENDPULSE_BASE_URL")
  opts.ca_file = g.ca_file or sys.getenv("SENDPULSE_CA_FILE")
  if opts.ca_file and not sys.readable(opts.ca_file) then
    usage("%s: cannot read the CA file '%s'",
          g.ca_file and "--ca-file" or "SENDPULSE_CA_FILE", opts.ca_file)
  end
  opts.timeout = g.timeout
  token_store(opts)
  return opts
end

--- The client, created on the first call.
function Session:real_client()
  if not self.real then
    local ok, c = pcall(sendpulse.new, self:options())
    if not ok then
      usage(errors.library_error(c) or tostring(c))
    end
    self.real = c
  end
  return self.real
end

--- Closes the client if one was made.
function Session:close()
  if self.real then
    self.real:close()
    self.real = nil
  end
end

return _M
