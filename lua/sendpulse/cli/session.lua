--- The client of one run of the tool and the settings it is made from,
-- created when a command first uses it (help pages and usage errors need
-- neither credentials nor the configuration file).
--
-- Each setting comes from the first place that has it: the command line
-- (--base-url, --ca-file, --timeout, --output), then the environment
-- (SENDPULSE_*), then the profile (`sendpulse.cli.config`) named by
-- SENDPULSE_PROFILE, or "default". A profile named on the command line
-- (--profile NAME) comes before the environment: asking for a profile
-- by name is asking for its account. Credentials go as a whole: a client
-- id from one place is never paired with a secret from another.
-- @module sendpulse.cli.session
-- @local
local sendpulse = require "sendpulse"
local args = require "sendpulse.cli.args"
local config = require "sendpulse.cli.config"
local errors = require "sendpulse.cli.errors"
local output = require "sendpulse.cli.output"
local sys = require "sendpulse.cli.sys"

local format = string.format
local ipairs = ipairs
local pcall = pcall
local setmetatable = setmetatable
local tostring = tostring
local type = type

local one_line = errors.one_line
local usage = errors.usage

local _M = {}

local Session = {}
Session.__index = Session

--- A session; `globals` holds the values of the global options given.
function _M.new(globals)
  local s = setmetatable({ globals = globals or {}, requests = sendpulse.array() }, Session)
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

---------------------------------------------------------------------------
-- Settings.

-- The profile in use: its values, its name, where it is, and whether it
-- comes before the environment.
function Session:profile()
  if self.profile_info then
    return self.profile_info
  end
  local from_cli = self.globals.profile
  local name = from_cli or sys.getenv("SENDPULSE_PROFILE")
  local path, dir = config.path()
  local profiles = path and config.load(path)
  local values
  if name then
    values = profiles and profiles[name]
    if not values then
      usage("%s: no profile '%s' in %s (sendpulse configure --profile %s creates it)",
            from_cli and "--profile" or "SENDPULSE_PROFILE", name,
            path or "the configuration file (HOME is not set)", name)
    end
  else
    name = "default"
    values = profiles and profiles.default or {}
  end
  self.profile_info = { values = values, name = name, path = path, dir = dir,
                        first = from_cli ~= nil }
  return self.profile_info
end

-- Where a profile's value comes from, for messages.
local function in_profile(p, key)
  return format("%s in profile '%s' (%s)", key, p.name, p.path)
end

--- The value of setting `key` (a global option's key and a profile key)
-- and where it came from; `env` names its environment variable.
function Session:setting(key, env)
  local g = self.globals[key]
  if g ~= nil then
    return g, "--" .. key:gsub("_", "-")
  end
  local e = env and sys.getenv(env)
  local p = self:profile()
  local pv = p.values[key]
  if pv ~= nil and (p.first or e == nil) then
    return pv, in_profile(p, key)
  end
  return e, env
end

--- The output format: json, ndjson, table or csv.
function Session:output_format()
  local f, where = self:setting("output", "SENDPULSE_OUTPUT")
  if f == nil then
    return "json"
  end
  for _, known in ipairs(output.FORMATS) do
    if f == known then
      return f
    end
  end
  usage("%s: one of json, ndjson, table, csv expected, got '%s'", where, f)
end

-- Credentials from the environment (as options of sendpulse.new), or nil.
local function env_credentials()
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
end

-- Credentials from the profile, or nil.
local function profile_credentials(p)
  local v = p.values
  local where = format("profile '%s' (%s)", p.name, p.path)
  if v.api_key and (v.client_id or v.client_secret) then
    usage("%s has both api_key and client_id/client_secret: keep one kind", where)
  elseif v.api_key then
    return { api_key = v.api_key }
  elseif v.client_id and v.client_secret then
    return { client_id = v.client_id, client_secret = v.client_secret }
  elseif v.client_id or v.client_secret then
    usage("%s has %s but no %s", where, v.client_id and "client_id" or "client_secret",
          v.client_id and "client_secret" or "client_id")
  end
end

-- A dry run sends nothing: without credentials it still runs, with a
-- key that never leaves the process.
local DRY_RUN_KEY = "dry-run-sends-nothing"

function Session:credentials()
  local p = self:profile()
  local creds
  if p.first then
    creds = profile_credentials(p) or env_credentials()
  else
    creds = env_credentials() or profile_credentials(p)
  end
  if creds then
    return creds
  end
  if self.globals.dry_run then
    return { api_key = DRY_RUN_KEY }
  end
  usage("no credentials: set SENDPULSE_CLIENT_ID and SENDPULSE_CLIENT_SECRET "
        .. "(SendPulse: Settings > API), or SENDPULSE_API_KEY, in the environment, "
        .. "or run 'sendpulse configure'")
end

function Session:token_store(opts)
  local dir, where = self:setting("token_dir", "SENDPULSE_TOKEN_DIR")
  if not dir or opts.api_key then
    return
  end
  local made, store = pcall(sendpulse.stores.file, dir)
  if not made then
    usage("%s=%s: %s", where, dir, errors.library_error(store) or tostring(store))
  end
  opts.token_store = store
  opts.on_store_error = function(operation, message)
    sys.stderr:write("sendpulse: warning: token cache (", operation, "): ",
                     one_line(message), "\n")
  end
end

---------------------------------------------------------------------------
-- -v and --dry-run.

--- Whether requests are shown on standard error: -v, or "http" in
-- SENDPULSE_DEBUG.
function Session:verbose()
  local debug = sys.getenv("SENDPULSE_DEBUG")
  return self.globals.verbose or (debug ~= nil and debug:find("http", 1, true) ~= nil)
end

--- The line -v prints for one request the client made (`info` as the
-- client's on_request hook gives it; it holds no secret).
function _M.request_line(info)
  local what
  if info.status then
    what = tostring(info.status)
    if info.kind then
      what = what .. " (" .. info.kind .. " error" .. (info.code and info.code ~= info.status
                                                        and (" " .. tostring(info.code)) or "")
        .. ")"
    end
  elseif info.kind then
    what = "no response (" .. info.kind .. " error"
      .. (info.code and (" " .. tostring(info.code)) or "") .. ")"
  else
    what = "done"
  end
  return format("sendpulse: %s %s%s: %s, %.1f ms, attempt %d\n", tostring(info.method),
                tostring(info.path), info.token and " (token)" or "", what,
                (info.seconds or 0) * 1000, info.attempt or 1)
end

--- What a request returns in a dry run: an empty list for a GET (so that
-- a walk over pages stops after the first), a description otherwise.
function _M.dry_result(req)
  if req.method == "GET" then
    return sendpulse.array()
  end
  return { dry_run = true, method = req.method, path = req.path }
end

--- The options of sendpulse.new for this run.
function Session:options()
  local opts = self:credentials()
  opts.base_url = self:setting("base_url", "SENDPULSE_BASE_URL")
  local ca, where = self:setting("ca_file", "SENDPULSE_CA_FILE")
  if ca and not sys.readable(ca) then
    usage("%s: cannot read the CA file '%s'", where, ca)
  end
  opts.ca_file = ca
  local timeout, twhere = self:setting("timeout")
  if type(timeout) == "string" then
    timeout = args.convert({ type = "seconds" }, timeout, twhere)
  end
  opts.timeout = timeout
  self:token_store(opts)
  if self:verbose() then
    opts.on_request = function(info)
      sys.stderr:write(_M.request_line(info))
      sys.stderr:flush()
    end
  end
  if self.globals.dry_run then
    local requests = self.requests
    opts.dry_run = function(req)
      requests[#requests + 1] = { method = req.method, path = req.path, query = req.query,
                                  body = req.body }
      return _M.dry_result(req)
    end
  end
  return opts
end

--- The client, created on the first call.
function Session:real_client()
  if self.real then
    return self.real
  end
  local ok, c = pcall(sendpulse.new, self:options())
  if not ok then
    usage(errors.library_error(c) or tostring(c))
  end
  self.real = c
  return c
end

--- Closes the client if one was made.
function Session:close()
  if self.real then
    self.real:close()
    self.real = nil
  end
end

return _M
