--- SendPulse REST API client for Lua.
--
--    local sendpulse = require "sendpulse"
--    local client = sendpulse.new{ client_id = ID, client_secret = SECRET }
--    local me, err = client:user_info()
--    if not me then print(err) end      -- one readable line
--
-- Every API method returns its result, or `nil` and an error object with
-- `kind`, `status`, `code`, `message`, `retry_after` and `body`.
-- @module sendpulse
-- A core built for another Lua fails in dlopen with an undefined symbol:
-- say which build this Lua needs and how to make it.
local core
do
  local loaded, core_or_err = pcall(require, "sendpulse.core")
  if not loaded then
    error(require("sendpulse.build").load_error(core_or_err) or core_or_err, 0)
  end
  core = core_or_err
end
local Client = require "sendpulse.client"
local util = require "sendpulse.util"

local error = error
local ipairs = ipairs
local setmetatable = setmetatable
local type = type

-- files for uploads (sendpulse.file) carry this, as the validator expects
local FILE_MT = { __name = "sendpulse.file" }

local _M = {
  _VERSION = core._VERSION,
  --- The JSON null value in results and bodies (equal to `cjson.null`).
  null = core.null,
  --- The service's error codes and their texts: `errors[213]`.
  errors = core.errors,
  --- The metatable of error objects.
  Error = core.error_mt,
  --- Token stores: `memory()`, `file(dir)`, `ngx_shared(dict)`.
  stores = require "sendpulse.stores",
  --- Pacers shared between processes: `ngx_shared(dict)`.
  pacers = require "sendpulse.pacers",
}

-- API areas, one module each; their methods become client methods.
-- (tools/api-table builds the README's method table from this list.)
local AREAS = {
  "account", "addressbooks", "emails", "blacklist", "verifier", "campaigns",
  "templates", "senders", "webhooks", "smtp", "push", "sms", "viber",
  "automation", "newer",
}
for _, area in ipairs(AREAS) do
  Client.mixin(require("sendpulse." .. area), area)
end

-- luacheck: push ignore 631 (a Markdown table has one line per row)

--- Creates a client. No network I/O happens until the first call (the
-- first API call fetches the OAuth token).
--
-- Give `client_id` and `client_secret`, or `api_key`; every other option
-- is optional:
--
-- | option | type | default | meaning |
-- |---|---|---|---|
-- | `client_id`, `client_secret` | string | none | OAuth credentials of the account (SendPulse: Settings > API); always together, the secret at least 8 characters |
-- | `api_key` | string | none | a static API key instead of the two above, sent as `Authorization: Bearer KEY`; the token endpoint is never called |
-- | `base_url` | string | `"https://api.sendpulse.com"` | where the API is; plain `http://` only for loopback addresses (the sandbox) |
-- | `timeout` | number, seconds | 30 | one attempt: connecting, sending and receiving |
-- | `connect_timeout` | number, seconds | 10 | connecting (TCP and TLS) within an attempt |
-- | `call_timeout` | number, seconds | 60 | the whole call: every attempt, backoff and token fetch; also bounds the waits it would start |
-- | `ca_file` | string, a path | the system's store | PEM bundle of the CAs to trust (libcurl only: under nginx, `lua_ssl_trusted_certificate`) |
-- | `ssl_verify` | boolean | `true` | `false` turns certificate checks off |
-- | `proxy` | string | none | an HTTP proxy, e.g. `"http://proxy:3128"`; the `*_proxy` environment variables are ignored |
-- | `user_agent` | string | `"lua-sendpulse/VERSION libcurl/VERSION"` | the `User-Agent` header |
-- | `max_retries` | integer, 0 to 10 | 2 | retries after the first attempt, only of what is safe to send again |
-- | `rate_limit` | number or `false` | 10 | requests per second this client sends (SendPulse allows 10); `false` turns pacing off |
-- | `retry_delay` | number, seconds | 0.5 | the first backoff step (it doubles on each retry, with jitter) |
-- | `max_retry_wait` | number, seconds | 60 | a `Retry-After` longer than this is returned as the error instead of waited for |
-- | `max_body_size` | integer, bytes | 32 MiB | larger responses are refused (`kind = "transport"`, code 63) |
-- | `max_upload_size` | integer, bytes | 32 MiB | a multipart upload larger than this raises before anything is sent |
-- | `plan` | `"free"`, `"standard"` or `"enterprise"` | none | the account's pricing plan: sets `quota_per_minute` and `quota_per_day` to its quotas (1000/500,000, 2000/1,000,000, 3000/3,000,000) unless they are given |
-- | `quota_per_minute` | integer | none | requests per minute the plan allows; the client keeps under it (a shared pacer counts for every process) |
-- | `quota_per_day` | integer | none | requests per UTC day the plan allows; once spent, calls fail without sending (`err.quota = "per_day"`) until midnight UTC |
-- | `fleet_size` | integer, 1 to 10000 | 1 | how many processes share the `pacer`; while it fails, each paces itself at the floor of its share: `floor(rate_limit / fleet_size)` requests per window and `floor(quota_per_minute / fleet_size)` a minute, so that together they stay within the account's limits |
-- | `token_store` | a store | memory, per client | where the OAuth token is kept: `sendpulse.stores.memory()`, `file(dir)`, `ngx_shared(dict)` or `redis(opts)` (see @{sendpulse.stores}) |
-- | `pacer` | a pacer | none (each client paces itself) | an object with `reserve(key, cap, window)` holding one rate budget for several processes: `sendpulse.pacers.ngx_shared(dict)` or `redis(opts)` (see @{sendpulse.pacers}) |
-- | `transport` | `"auto"`, `"curl"`, `"ngx"` or a table | `"auto"` | how requests go out: libcurl, or nginx cosockets (`"auto"`: cosockets inside nginx) |
-- | `on_store_error` | function | none | `function(operation, message)`, told when the token store or the pacer fails (the call goes on) |
-- | `on_request` | function | none | called after every attempt with `{ method, path, token, attempt, status, code, kind, seconds }` (`token`: true for the token fetch); what it raises is ignored |
-- | `dry_run` | `true` or function | none | nothing is sent: a call returns `{ dry_run = true, method, path, query, body }`, or what the function returns for `{ method, path, query, body }` |
--
-- A missing, contradictory, unknown or mistyped option raises, naming it
-- (`sendpulse.new: unknown option 'timout'`); so does a value that would
-- end up in a header (API key, user agent, proxy) with CR, LF or NUL.
-- @function new
-- @tparam table opts the options above
-- @treturn sendpulse.Client the client
-- @raise on a missing, contradictory, unknown or mistyped option
-- @usage local client = sendpulse.new{
--   client_id = os.getenv("SENDPULSE_CLIENT_ID"),
--   client_secret = os.getenv("SENDPULSE_CLIENT_SECRET"),
--   plan = "standard", max_retries = 3,
-- }
_M.new = Client.new
-- luacheck: pop

--- Marks a table as a JSON array, so that an empty one encodes as `[]`.
-- @tparam[opt] table t
-- @treturn table t
function _M.array(t)
  return setmetatable(t or {}, core.array_mt)
end

--- Builds a path from segments, percent-encoding each one.
-- `sendpulse.path("addressbooks", 42, "emails", "a+b@example.com")` gives
-- `"/addressbooks/42/emails/a%2Bb%40example.com"`.
-- @function path
-- @param ... the segments: strings or integers
-- @treturn string the path
_M.path = util.path

--- A file for a multipart upload (the file manager's and CRM's upload
-- methods): `sendpulse.file{ path = "report.pdf" }` (streamed from disk)
-- or `sendpulse.file{ data = bytes, filename = "a.txt" }`, with an
-- optional `content_type` (default application/octet-stream).
-- @tparam table spec
-- @treturn table the file part
function _M.file(spec)
  if type(spec) ~= "table" then
    error("sendpulse.file: bad argument 'spec' (a table expected, got "
          .. type(spec) .. ")", 2)
  end
  if (spec.path == nil) == (spec.data == nil) then
    error("sendpulse.file: give either 'path' or 'data'", 2)
  end
  for _, k in ipairs{ "path", "data", "filename", "content_type" } do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then
      error("sendpulse.file: bad argument '" .. k .. "' (a string expected, got "
            .. type(spec[k]) .. ")", 2)
    end
  end
  return setmetatable({ path = spec.path, data = spec.data,
                       filename = spec.filename,
                       content_type = spec.content_type }, FILE_MT)
end

--- JSON helpers with the same integer handling as API results.
-- `decode` returns `nil, message` for text that is not JSON (input from
-- outside); `encode` raises for values JSON cannot hold (functions, NaN,
-- cycles: a mistake of the program's own).
_M.json = { encode = core.json_encode, decode = core.json_decode }

return _M
