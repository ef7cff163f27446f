--- Token stores: where OAuth tokens are kept between calls, processes and
-- clients.
--
-- A store is any object with `get(key)`, `set(key, token, expires_at)` and
-- `delete(key)` methods (called with `:`), plus optional `lock(key)` /
-- `unlock(key)` for stores shared between processes. `key` names the
-- account (a digest of the base URL, client id and secret), `expires_at`
-- is in epoch seconds. Without a store, each client keeps its token in
-- memory. A store that raises never fails an API call: the client keeps
-- working with its own copy (see the `on_store_error` option).
-- @module sendpulse.stores
local core = require "sendpulse.core"

local error = error
local io_open = io.open
local os_remove = os.remove
local setmetatable = setmetatable
local string_format = string.format
local tonumber = tonumber
local type = type

local _M = {}

-- memory -------------------------------------------------------------------

local Memory = {}
Memory.__index = Memory

function Memory:get(key)
  local e = self.entries[key]
  if e then
    return e.token, e.expires_at
  end
end

function Memory:set(key, token, expires_at)
  self.entries[key] = { token = token, expires_at = expires_at }
end

function Memory:delete(key)
  self.entries[key] = nil
end

--- A store in this process's memory, to share one token between clients.
-- @treturn table the store
function _M.memory()
  return setmetatable({ entries = {} }, Memory)
end

-- file ---------------------------------------------------------------------

local File = {}
File.__index = File

-- "sendpulse:<hex digest>" -> "<dir>/sendpulse-<hex digest>.token": the
-- digest covers the secret, which never appears in the name itself.
local function file_path(self, key)
  local digest = key:match("^sendpulse:(%x+)$")
  if not digest then
    digest = core.sha256_hex(key)
  end
  return self.dir .. "/sendpulse-" .. digest .. ".token"
end

function File:get(key)
  local f = io_open(file_path(self, key), "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  local expires_at, token = (data or ""):match("^([%d%.]+)\n([^\n]+)\n$")
  if not token then
    return nil
  end
  return token, tonumber(expires_at)
end

function File:set(key, token, expires_at)
  local ok, err = core.write_private_file(file_path(self, key),
    string_format("%.3f\n%s\n", expires_at, token))
  if not ok then
    error(err, 0)
  end
end

function File:delete(key)
  os_remove(file_path(self, key))
end

--- A store of one file per account in `dir` (created with mode 0700 if
-- missing; files are written atomically with mode 0600).
-- @tparam string dir
-- @treturn table the store
-- @raise when dir is not a string or cannot be created
function _M.file(dir)
  if type(dir) ~= "string" or dir == "" then
    error("sendpulse.stores.file: bad argument 'dir' (a directory path "
          .. "expected, got " .. type(dir) .. ")", 2)
  end
  local ok, err = core.make_private_dir(dir)
  if not ok then
    error("sendpulse.stores.file: " .. err, 2)
  end
  return setmetatable({ dir = (dir:gsub("/+$", "")) }, File)
end

return _M
