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
local core = require "sendpulse.core"
local Client = require "sendpulse.client"
local util = require "sendpulse.util"

local ipairs = ipairs
local setmetatable = setmetatable

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

--- Creates a client. No network I/O happens until the first call.
-- @tparam table opts `client_id` + `client_secret`, or `api_key`;
--   `base_url`, `timeout`, `connect_timeout`, `ca_file`, `ssl_verify`,
--   `proxy`, `user_agent`, `token_store`, `max_retries`, `rate_limit`,
--   `retry_delay`, `max_retry_wait`, `max_body_size`, `transport`,
--   `pacer`, `on_store_error`
-- @treturn sendpulse.Client
-- @raise on a missing, contradictory, unknown or mistyped option
_M.new = Client.new

--- Marks a table as a JSON array, so that an empty one encodes as `[]`.
-- @tparam[opt] table t
-- @treturn table t
function _M.array(t)
  return setmetatable(t or {}, core.array_mt)
end

--- Builds a path from segments, percent-encoding each one.
-- `sendpulse.path("addressbooks", 42, "emails", "a+b@example.com")` gives
-- `"/addressbooks/42/emails/a%2Bb%40example.com"`.
-- @param ... strings or integers
-- @treturn string
_M.path = util.path

--- JSON helpers with the same integer handling as API results.
_M.json = { encode = core.json_encode, decode = core.json_decode }

return _M
