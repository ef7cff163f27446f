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
