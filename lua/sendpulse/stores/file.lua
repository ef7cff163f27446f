--- A token store of one file per account in a directory: processes on one
-- host share one token, and fetch it once.
--
-- The directory must be ours alone (created 0700 if missing; refused if
-- another user owns it or may write to it, or to a directory above it
-- that is not sticky). Token files are read without following links and
-- only when they are ours with mode 0600; they are replaced atomically.
-- `lock(key)` takes an exclusive `flock` on a lock file beside the token,
-- so that of several processes missing the token only one fetches it; the
-- kernel releases it if the holder dies.
-- @module sendpulse.stores.file
local core = require "sendpulse.core"

local error = error
local math_huge = math.huge
local os_remove = os.remove
local setmetatable = setmetatable
local string_format = string.format
local tonumber = tonumber
local type = type

local lock_file = core.lock_file
local read_private_file = core.read_private_file
local write_private_file = core.write_private_file

local _M = {}

local File = {}
File.__index = File

-- "sendpulse:<hex digest>" -> "<dir>/sendpulse-<hex digest><suffix>": the
-- digest covers the secret, which never appears in the name itself.
local function file_path(self, key, suffix)
  local digest = key:match("^sendpulse:(%x+)$") or core.sha256_hex(key)
  return self.dir .. "/sendpulse-" .. digest .. suffix
end

local function read_token(self, key)
  local data, err = read_private_file(file_path(self, key, ".token"))
  if data == nil then
    if err then
      error(err, 0)     -- a planted or unreadable file: the client is told
    end
    return nil
  end
  local expires_at, token = data:match("^([%d%.]+)\n([^\n]+)\n$")
  expires_at = tonumber(expires_at)
  if not token or not expires_at then
    return nil
  end
  return token, expires_at
end

function File:get(key)
  return read_token(self, key)
end

function File:set(key, token, expires_at)
  if type(expires_at) ~= "number" or expires_at ~= expires_at
     or expires_at == math_huge or expires_at == -math_huge then
    error("sendpulse.stores.file: expiry is not a finite number", 0)
  end
  local ok, err = write_private_file(file_path(self, key, ".token"),
    string_format("%.3f\n%s\n", expires_at, token))
  if not ok then
    error(err, 0)
  end
end

--- Deletes the token of `key`; with `token`, only if it is still that one
-- (a token another process just wrote stays).
function File:delete(key, token)
  if token ~= nil then
    local held = self.locks[key]
    local lock = held or lock_file(file_path(self, key, ".lock"), self.lock_timeout)
    local current = read_token(self, key)
    if current == token then
      os_remove(file_path(self, key, ".token"))
    end
    if not held and lock then
      lock:release()
    end
    return
  end
  os_remove(file_path(self, key, ".token"))
end

function File:lock(key)
  if self.locks[key] then
    return true
  end
  local lock, err = lock_file(file_path(self, key, ".lock"), self.lock_timeout)
  if lock == nil then
    error(err, 0)
  end
  if lock then
    self.locks[key] = lock
    return true
  end
  return false
end

function File:unlock(key)
  local lock = self.locks[key]
  if lock then
    self.locks[key] = nil
    lock:release()
  end
end

--- A store in `dir`.
-- @tparam string dir
-- @tparam[opt] table opts `lock_timeout`: seconds a process waits for
--   another one's token fetch before fetching itself (default 10)
-- @raise when `dir` is not a string, cannot be created, or is not safe
function _M.new(dir, opts)
  if type(dir) ~= "string" or dir == "" then
    error("sendpulse.stores.file: bad argument 'dir' (a directory path "
          .. "expected, got " .. type(dir) .. ")", 3)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("sendpulse.stores.file: bad argument 'opts' (a table expected, got "
          .. type(opts) .. ")", 3)
  end
  opts = opts or {}
  local lock_timeout = opts.lock_timeout or 10
  if type(lock_timeout) ~= "number" or lock_timeout < 0 then
    error("sendpulse.stores.file: bad argument 'opts.lock_timeout' (a number "
          .. "of seconds expected)", 3)
  end
  local real, err = core.make_private_dir(dir)
  if not real then
    error("sendpulse.stores.file: " .. err, 3)
  end
  return setmetatable({ dir = real, locks = {}, lock_timeout = lock_timeout },
                      File)
end

return _M
