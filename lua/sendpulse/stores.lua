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
local math_max = math.max
local io_open = io.open
local os_remove = os.remove
local rawget = rawget
local setmetatable = setmetatable
local string_format = string.format
local tonumber = tonumber
local tostring = tostring
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

-- ngx_shared --------------------------------------------------------------

local NgxShared = {}
NgxShared.__index = NgxShared

local function ngx_now()
  ngx.update_time()
  return ngx.now()
end

function NgxShared:get(key)
  local v = self.dict:get(key)
  if not v then
    return nil
  end
  local expires_at, token = v:match("^([%d%.]+) (.+)$")
  return token, tonumber(expires_at)
end

function NgxShared:set(key, token, expires_at)
  local ttl = expires_at - ngx_now()
  if ttl <= 0 then
    return
  end
  local ok, err = self.dict:set(key, string_format("%.3f %s", expires_at, token),
                                math_max(ttl, 0.001))
  if not ok then
    error("lua_shared_dict: " .. tostring(err), 0)
  end
end

function NgxShared:delete(key)
  self.dict:delete(key)
end

-- A lock in the dict: add() is atomic across workers. It expires by itself
-- after lock_ttl, so a worker that dies while holding it blocks nobody
-- for long; waiters give up after lock_timeout and fetch anyway.
function NgxShared:lock(key)
  local dict, lock_key = self.dict, key .. ":lock"
  local deadline = ngx_now() + self.lock_timeout
  local step = 0.001
  while true do
    local ok, err = dict:add(lock_key, true, self.lock_ttl)
    if ok then
      return true
    end
    if err ~= "exists" or ngx_now() >= deadline then
      return false
    end
    ngx.sleep(step)
    step = step < 0.02 and step * 2 or step
  end
end

function NgxShared:unlock(key)
  self.dict:delete(key .. ":lock")
end

--- A store in a `lua_shared_dict`: one token for every nginx worker. When
-- the token is missing, the worker that takes the dict's lock fetches it
-- and the others find it there when they get the lock in turn.
-- @tparam string dict_name the name given to `lua_shared_dict`
-- @tparam[opt] table opts `lock_timeout` (seconds a worker waits for
--   another's fetch, default 30), `lock_ttl` (default 60)
-- @treturn table the store
-- @raise outside nginx or when the dict does not exist
function _M.ngx_shared(dict_name, opts)
  local ngx = rawget(_G, "ngx")
  if type(dict_name) ~= "string" then
    error("sendpulse.stores.ngx_shared: bad argument 'dict_name' (a string "
          .. "expected, got " .. type(dict_name) .. ")", 2)
  end
  local dict = type(ngx) == "table" and ngx.shared and ngx.shared[dict_name]
  if not dict then
    error("sendpulse.stores.ngx_shared: no lua_shared_dict named '"
          .. dict_name .. "' (add `lua_shared_dict " .. dict_name
          .. " 1m;` to nginx.conf)", 2)
  end
  opts = opts or {}
  return setmetatable({
    dict = dict,
    lock_timeout = opts.lock_timeout or 30,
    lock_ttl = opts.lock_ttl or 60,
  }, NgxShared)
end

return _M
