--- Redis connections for the Redis token store and pacer.
--
-- One object per store or pacer, with one interface over two backends that
-- send the same commands and scripts, so a fleet may mix them:
--
-- * outside nginx, and in nginx phases without cosockets (init, log,
--   header and body filters...), the C core's client (`core.redis_connect`):
--   one connection, kept open, reconnected after a failure;
-- * inside nginx, where cosockets work (rewrite, access, content, timer,
--   ssl phases), Debian's lua-nginx-redis (`resty.redis`, installed as
--   `nginx.redis`): a connection from nginx's keepalive pool per command.
--   TLS is then verified against `lua_ssl_trusted_certificate`, not
--   `ca_file`.
--
-- A command returns its reply, or `nil, message, kind`: kind "reply" is an
-- error reply (the server answered), anything else a failed connection
-- ("timeout", "closed", "connect", "resolve", "tls", "auth", "io",
-- "protocol"). A kept connection that fails as closed is replaced once per
-- command; no command takes longer than `timeout` in all. Redis nil
-- replies are `false`, in arrays too. No message holds the password.
-- @module sendpulse.redis
local core = require "sendpulse.core"

local error = error
local math_ceil = math.ceil
local math_floor = math.floor
local pairs = pairs
local pcall = pcall
local rawget = rawget
local require = require
local setmetatable = setmetatable
local string_char = string.char
local string_format = string.format
local string_lower = string.lower
local tonumber = tonumber
local tostring = tostring
local type = type
local io_open = io.open

local getpid = core.getpid
local monotime = core.monotime

local _M = {}

_M.DEFAULT_PORT = 6379
_M.DEFAULT_TIMEOUT = 1        -- seconds per command, connecting included
_M.DEFAULT_POOL_SIZE = 32     -- nginx: kept connections per worker
_M.DEFAULT_KEEPALIVE = 60     -- nginx: seconds a kept connection may idle

-- nginx phases where cosockets may be used
local COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
  preread = true,
}

local function cosocket_ngx()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then
    return nil
  end
  return COSOCKET_PHASES[ngx.get_phase()] and ngx or nil
end

--- Sleeps without blocking nginx where cosockets work, else with the core.
function _M.sleep(seconds)
  if seconds > 0 then
    local ngx = cosocket_ngx()
    if ngx then
      -- (whole milliseconds: ngx.sleep(0.0004) would be ngx.sleep(0))
      ngx.sleep(seconds < 0.001 and 0.001 or seconds)
    else
      core.sleep(seconds)
    end
  end
end

-- URL ------------------------------------------------------------------------

local function percent_decode(s)
  if s:gsub("%%%x%x", ""):find("%", 1, true) then
    return nil          -- a '%' not followed by two hex digits
  end
  return (s:gsub("%%(%x%x)", function(h)
    return string_char(tonumber(h, 16))
  end))
end

--- Parses `redis://[[user]:password@]host[:port][/db]` (`rediss://` for
-- TLS; an IPv6 address in brackets; user and password percent-encoded).
-- @treturn table `{ tls, host, port, username, password, db }` (absent
--   parts nil), or nil and a message that does not repeat the URL
function _M.parse_url(url)
  local scheme, rest = url:match("^(rediss?)://(.*)$")
  if not scheme then
    return nil, "the URL must start with redis:// or rediss://"
  end
  if rest:find("[?#]") then
    return nil, "the URL has a query or a fragment, which are not supported"
  end
  local out = { tls = scheme == "rediss" }
  local authority, path = rest:match("^([^/]*)(.*)$")
  local userinfo, hostport = authority:match("^(.*)@([^@]*)$")
  if userinfo then
    local user, pass = userinfo:match("^([^:]*):(.*)$")
    if not user then
      return nil, "the URL's user information must be :password or "
                  .. "user:password"
    end
    user, pass = percent_decode(user), percent_decode(pass)
    if not user or not pass then
      return nil, "the URL's user information has a bad %-escape"
    end
    if user ~= "" then
      out.username = user
    end
    if pass ~= "" then
      out.password = pass
    end
    if out.username and not out.password then
      return nil, "the URL names a user without a password"
    end
  else
    hostport = authority
  end
  local host, port
  if hostport:sub(1, 1) == "[" then
    host, port = hostport:match("^%[([%x:.]+)%]:?(%d*)$")
  else
    host, port = hostport:match("^([%w.-]+):?(%d*)$")
  end
  if not host or hostport:find(":$") then
    return nil, "the URL's host is missing or malformed"
  end
  out.host = host
  if port ~= "" then
    out.port = tonumber(port)
    if out.port < 1 or out.port > 65535 then
      return nil, "the URL's port is out of range"
    end
  end
  if path ~= "" and path ~= "/" then
    local db = path:match("^/(%d+)$")
    if not db or #db > 9 then
      return nil, "the URL's path must be a database number (/0 to /N)"
    end
    out.db = tonumber(db)
  end
  return out
end

-- options -------------------------------------------------------------------

local COMMON_OPTIONS = {
  url = true, host = true, port = true, username = true, password = true,
  db = true, tls = true, ca_file = true, server_name = true, timeout = true,
  prefix = true, pool_size = true, keepalive = true, max_reply = true,
}

local function bad(who, name, want, got)
  error(string_format("%s: bad argument '%s' (%s expected, got %s)", who,
                      name, want, got), 5)
end

local function check_type(who, name, v, ty, want)
  if v ~= nil and type(v) ~= ty then
    bad(who, name, want, type(v))
  end
end

local function check_integer(who, name, v, lo, hi)
  if v == nil then
    return
  end
  if type(v) ~= "number" or v ~= math_floor(v) or v < lo or v > hi then
    bad(who, name, string_format("an integer from %d to %d", lo, hi),
        type(v) == "number" and tostring(v) or type(v))
  end
end

--- Validates the options shared by the Redis store and pacer (`extra`
-- names the constructor's own) and returns the settings.
-- @tparam string who the constructor, for messages
-- @tparam table opts
-- @tparam[opt] table extra set of further option names the caller accepts
-- @raise naming the option when one is missing, unknown or of a wrong type
function _M.options(who, opts, extra)
  if type(opts) ~= "table" then
    bad(who, "opts", "a table", type(opts))
  end
  for name in pairs(opts) do
    if type(name) ~= "string" or not (COMMON_OPTIONS[name]
                                       or (extra and extra[name])) then
      error(string_format("%s: unknown option '%s'", who, tostring(name)), 3)
    end
  end
  local s = {}
  check_type(who, "url", opts.url, "string", "a redis:// or rediss:// URL")
  if opts.url then
    local parsed, err = _M.parse_url(opts.url)
    if not parsed then
      error(who .. ": bad argument 'url' (" .. err .. ")", 3)
    end
    for k, v in pairs(parsed) do
      s[k] = v
    end
  end
  for _, name in pairs{ "host", "username", "password", "ca_file",
                        "server_name", "prefix" } do
    local v = opts[name]
    check_type(who, name, v, "string", "a string")
    if v ~= nil then
      if v == "" and name ~= "prefix" then
        bad(who, name, "a non-empty string", "an empty string")
      end
      s[name] = v
    end
  end
  if s.host then
    s.host = s.host:match("^%[(.*)%]$") or s.host
  end
  check_integer(who, "port", opts.port, 1, 65535)
  check_integer(who, "db", opts.db, 0, 2147483647)
  check_type(who, "tls", opts.tls, "boolean", "a boolean")
  check_integer(who, "pool_size", opts.pool_size, 1, 10000)
  check_integer(who, "max_reply", opts.max_reply, 1024, 512 * 1024 * 1024)
  for _, name in pairs{ "timeout", "keepalive" } do
    local v = opts[name]
    if v ~= nil and (type(v) ~= "number" or not (v > 0 and v <= 86400)) then
      bad(who, name, "a number of seconds above 0 and at most 86400",
          type(v) == "number" and tostring(v) or type(v))
    end
  end
  for _, name in pairs{ "port", "db", "tls", "timeout", "pool_size",
                        "keepalive", "max_reply" } do
    if opts[name] ~= nil then
      s[name] = opts[name]
    end
  end
  if not s.host then
    error(who .. ": give the server as 'url' or 'host'", 3)
  end
  if s.username and not s.password then
    error(who .. ": option 'username' needs 'password'", 3)
  end
  if s.prefix and s.prefix:find("[{}]") then
    bad(who, "prefix", "a string without { or } (the hash tag is added)",
        "one with braces")
  end
  if s.ca_file then
    -- (a directory opens too: read from it)
    local f = io_open(s.ca_file, "rb")
    local first = f and f:read(1)
    if f then
      f:close()
    end
    if not first then
      error(who .. ": option 'ca_file' names a file that cannot be read", 3)
    end
  end
  s.port = s.port or _M.DEFAULT_PORT
  s.db = s.db or 0
  s.tls = s.tls or false
  s.timeout = s.timeout or _M.DEFAULT_TIMEOUT
  s.prefix = s.prefix or ""
  s.pool_size = s.pool_size or _M.DEFAULT_POOL_SIZE
  s.keepalive = s.keepalive or _M.DEFAULT_KEEPALIVE
  return s
end

-- connections ---------------------------------------------------------------

local Redis = {}
Redis.__index = Redis

local function where(self)
  local h = self.host
  return (h:find(":", 1, true) and "[" .. h .. "]" or h) .. ":" .. self.port
end

function Redis:__tostring()
  return string_format("sendpulse.redis (%s, db %d%s)", where(self), self.db,
                       self.tls and ", tls" or "")
end

-- The C client: one connection, made when first needed.
local function c_connect(self, left)
  local conn, err, kind = core.redis_connect{
    host = self.host, port = self.port, username = self.username,
    password = self.password, db = self.db, tls = self.tls,
    ca_file = self.ca_file, server_name = self.server_name,
    timeout = left, max_reply = self.max_reply,
  }
  if conn then
    self._conn, self._pid = conn, getpid()
  end
  return conn, err, kind
end

local function c_command(self, deadline, ...)
  local conn, fresh = self._conn, false
  if conn and (self._pid ~= getpid() or not conn:connected()) then
    conn:close()      -- in a forked child: closes our copy only
    conn, self._conn = nil, nil
  end
  for _ = 1, 2 do
    local left = deadline - monotime()
    if left <= 0 then
      return nil, "redis " .. where(self) .. ": timed out (timeout "
                  .. self.timeout .. " s)", "timeout"
    end
    local err, kind
    if not conn then
      conn, err, kind = c_connect(self, left)
      if not conn then
        return nil, err, kind
      end
      fresh = true
      left = deadline - monotime()
      if left < 0.001 then
        left = 0.001
      end
    end
    conn:set_timeout(left)
    local res
    res, err, kind = conn:call(...)
    if res ~= nil or kind == "reply" then
      return res, err, kind
    end
    self._conn, conn = nil, nil
    -- a kept connection the server dropped while idle: one new one
    if fresh or (kind ~= "closed" and kind ~= "io") then
      return nil, err, kind
    end
  end
end

-- lua-nginx-redis, under either name
local resty_redis
local function resty()
  if not resty_redis then
    local ok, mod = pcall(require, "resty.redis")
    if not ok then
      ok, mod = pcall(require, "nginx.redis")
    end
    if not ok then
      error("sendpulse.redis: inside nginx this needs lua-nginx-redis "
            .. "(resty.redis)", 0)
    end
    resty_redis = mod
  end
  return resty_redis
end

local function ngx_null_to_false(v, null)
  if v == null then
    return false
  end
  if type(v) == "table" then
    if v[1] == false and type(v[2]) == "string" and v[3] == nil then
      return { err = v[2] }       -- resty.redis's nested error
    end
    for i = 1, #v do
      v[i] = ngx_null_to_false(v[i], null)
    end
  end
  return v
end

local function ngx_failure(self, what, err)
  local kind = err == "timeout" and "timeout"
               or (err == "closed" or err == "connection reset by peer")
                  and "closed" or "io"
  return nil, "redis " .. where(self) .. ": " .. what .. ": " .. tostring(err),
         kind
end

local function ngx_once(self, ngx, deadline, cmd, ...)
  local left = deadline - monotime()
  if left <= 0 then
    return nil, "redis " .. where(self) .. ": timed out (timeout "
                .. self.timeout .. " s)", "timeout"
  end
  local red = resty():new()
  red:set_timeout(math_ceil(left * 1000))
  local ok, err = red:connect(self.host, self.port,
                              { pool = self._pool, pool_size = self.pool_size })
  if not ok then
    local _, msg, kind = ngx_failure(self, "cannot connect", err)
    return nil, msg, kind == "io" and "connect" or kind
  end
  local reused = red:get_reused_times() or 0
  if reused == 0 then
    if self.tls then
      local sock = rawget(red, "_sock")
      local name = self.server_name
                   or (not self.host:find("^[%d.]+$") and not self.host:find(":")
                       and self.host or nil)
      local done, session, herr = pcall(sock.sslhandshake, sock, nil, name, true)
      if not done or not session then
        red:close()
        local _, msg, kind = ngx_failure(self, "TLS handshake",
                                         done and herr or session)
        return nil, msg, kind == "io" and "tls" or kind
      end
    end
    if self.password then
      local res, aerr
      if self.username then
        res, aerr = red:auth(self.username, self.password)
      else
        res, aerr = red:auth(self.password)
      end
      if not res then
        red:close()
        if res == nil then
          return ngx_failure(self, "AUTH", aerr)
        end
        return nil, "redis " .. where(self) .. ": AUTH refused: "
                    .. tostring(aerr), "auth"
      end
    end
    if self.db ~= 0 then
      local res, serr = red:select(self.db)
      if not res then
        red:close()
        if res == nil then
          return ngx_failure(self, "SELECT", serr)
        end
        return nil, "redis " .. where(self) .. ": SELECT refused: "
                    .. tostring(serr), "reply"
      end
    end
  end
  red:set_timeout(math_ceil((deadline - monotime()) * 1000))
  local res, rerr = red[string_lower(cmd)](red, ...)
  if res == nil then
    red:close()
    local _, msg, kind = ngx_failure(self, "command failed", rerr)
    return nil, msg, kind, reused > 0
  end
  red:set_keepalive(self.keepalive * 1000, self.pool_size)
  if res == false then
    return nil, rerr, "reply"
  end
  return ngx_null_to_false(res, ngx.null)
end

local function ngx_command(self, ngx, deadline, ...)
  for _ = 1, 2 do
    -- resty-core can raise from a cosocket call: a failure like another
    local done, res, err, kind, was_kept = pcall(ngx_once, self, ngx,
                                                 deadline, ...)
    if not done then
      return nil, "redis " .. where(self) .. ": " .. tostring(res), "io"
    end
    if res ~= nil or kind == "reply" or not was_kept or kind ~= "closed" then
      return res, err, kind
    end
  end
end

-- Runs one command before the deadline.
local function command(self, deadline, ...)
  local ngx = cosocket_ngx()
  if ngx then
    return ngx_command(self, ngx, deadline, ...)
  end
  return c_command(self, deadline, ...)
end

--- Sends one command; returns the reply or nil, message, kind.
function Redis:call(...)
  return command(self, monotime() + self.timeout, ...)
end

--- A script for `Redis:eval`: its source and the SHA-1 Redis names it by.
function _M.script(source)
  return { source = source, sha = core.sha1_hex(source) }
end

--- Runs a script by its SHA-1 (EVALSHA), sending its source (EVAL) only
-- when the server does not have it (NOSCRIPT: restarted, flushed).
function Redis:eval(script, nkeys, ...)
  local deadline = monotime() + self.timeout
  local res, err, kind = command(self, deadline, "EVALSHA", script.sha,
                                 nkeys, ...)
  if res == nil and kind == "reply" and err:find("^NOSCRIPT") then
    res, err, kind = command(self, deadline, "EVAL", script.source, nkeys, ...)
  end
  return res, err, kind
end

--- The Redis key for one account's `what`: `<prefix>{<key>}:<what>`. The
-- braces are a Redis Cluster hash tag: one account's keys share a slot, so
-- one script may touch them all.
function Redis:key(key, what)
  return self.prefix .. "{" .. key .. "}:" .. what
end

--- Closes the C client's connection (nginx's pool keeps its own).
function Redis:close()
  if self._conn then
    self._conn:close()
    self._conn = nil
  end
end

--- A connection object for validated settings (see `options`).
function _M.new(settings)
  local self = setmetatable({}, Redis)
  for k, v in pairs(settings) do
    self[k] = v
  end
  -- pooled nginx connections have had TLS, AUTH and SELECT: one pool per
  -- server, TLS name, database and credentials (by a digest, not the
  -- password)
  self._pool = string_format("sendpulse-redis:%s:%d:%d:%s:%s", self.host,
    self.port, self.db, self.tls and "tls=" .. (self.server_name or "") or "plain",
    core.sha256_hex((self.username or "") .. "\0" .. (self.password or ""))
      :sub(1, 16))
  return self
end

return _M
