--- Token stores: where OAuth tokens are kept between calls, processes,
-- hosts and clients.
--
-- A store is any object with these methods (called with `:`):
--
-- * `get(key)` -> `token, expires_at` (epoch seconds), or nil
-- * `set(key, token, expires_at)`
-- * `delete(key, token)`: drop the token of `key`, but only if it is still
--   `token` (a token fetched meanwhile by someone else stays); with
--   `token == nil`, unconditionally
-- * optionally `lock(key)` -> true (taken) or false (gave up waiting), and
--   `unlock(key)`: for stores shared between processes, so that only one
--   of them fetches a missing token
--
-- `key` names the account (a digest of the base URL, client id and
-- secret). A store that raises never fails an API call: the client keeps
-- working with its own copy of the token and reports the failure through
-- its `on_store_error` option. A store must not yield (inside nginx it may:
-- cosockets and `ngx.sleep` are fine there).
--
-- Each kind of store is a module of its own (`sendpulse.stores.file`...),
-- loaded when first used.
-- @module sendpulse.stores
local _M = {}

--- A store in this process's memory, to share one token between clients.
-- @treturn table the store
function _M.memory()
  return require("sendpulse.stores.memory").new()
end

--- One file per account in `dir`, shared by the processes of a host
-- (see `sendpulse.stores.file`).
-- @tparam string dir
-- @tparam[opt] table opts `lock_timeout`
-- @treturn table the store
function _M.file(dir, opts)
  return require("sendpulse.stores.file").new(dir, opts)
end

--- A `lua_shared_dict`: one token for every nginx worker (see
-- `sendpulse.stores.ngx_shared`).
-- @tparam string dict_name
-- @tparam[opt] table opts `lock_timeout`, `lock_ttl`
-- @treturn table the store
function _M.ngx_shared(dict_name, opts)
  return require("sendpulse.stores.ngx_shared").new(dict_name, opts)
end

--- Redis: one token for a fleet of hosts (see `sendpulse.stores.redis`).
-- @tparam table opts `url` (`redis://[:password@]host:port/db`,
--   `rediss://` for TLS) or `host`, `port`, `password`, `db`, `tls`,
--   `ca_file`, `timeout`, `prefix`
-- @treturn table the store
function _M.redis(opts)
  return require("sendpulse.stores.redis").new(opts)
end

return _M
