--- The email blacklist: addresses no campaign is ever sent to.
--
-- The API wants the addresses as base64 of a comma-separated list; the
-- methods take a plain Lua list and encode it, chunk by chunk.
-- @area sendpulse.blacklist
local bulk = require "sendpulse.bulk"
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local string_find = string.find
local table_concat = table.concat

local base64 = util.base64
local check_email = util.email

local _M = {}

--- Blacklisted addresses, one page.
-- @http GET /blacklist
-- @tparam[opt] table opts `limit`, `offset`
-- @treturn table a list of addresses (strings)
-- @return[2] nil, err
-- @usage for _, e in ipairs(assert(client:blacklist{ limit = 100 })) do print(e) end
function _M:blacklist(opts)
  return self:request("GET", "/blacklist", paging.query("blacklist", opts))
end

--- Iterates over every blacklisted address.
-- @http GET /blacklist
-- @tparam[opt] table opts `limit` (per request), `max`, `offset`
-- @treturn function an iterator yielding one address at a time; on
--   failure it yields `false, err` once
-- @usage for email, err in client:each_blacklisted_email() do assert(email, err) print(email) end
function _M:each_blacklisted_email(opts)
  return paging.each(self, "each_blacklisted_email", "/blacklist", opts)
end

-- Each chunk goes out as base64 of its addresses joined with commas, so an
-- address must not hold a comma itself.
local COMMA = "an address with a comma cannot go into a comma-separated list"

-- A non-empty list of addresses, none holding a comma; checked address by
-- address, so that the error names the first bad one.
local function check_addresses(method, emails)
  util.list(method, "emails", emails)
  local is_email = util.is_email
  for i = 1, #emails do
    if not is_email(emails[i]) then
      check_email(method, "emails[" .. i .. "]", emails[i])
    end
    if string_find(emails[i], ",", 1, true) then
      util.fail(method, "emails[" .. i .. "]", COMMA)
    end
  end
end

local function encoded(chunk)
  return base64(table_concat(chunk, ","))
end

--- Adds addresses to the blacklist, in chunks.
-- Each request carries `emails` = base64 of the chunk's addresses joined
-- with commas. On a failure the error tells which chunk failed
-- (`err.chunk`), how many addresses went in (`err.done`) and which did not
-- (`err.not_done`).
-- @http POST /blacklist
-- @tparam table emails a list of addresses
-- @tparam[opt] table opts `comment` (a note kept with the entries),
--   `chunk` (addresses per request, default 1000), `on_progress(done, total)`
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err
-- @usage assert(client:add_to_blacklist({ "saruman@isengard.org" }, { comment = "traitor" }))
function _M:add_to_blacklist(emails, opts)
  local m = "add_to_blacklist"
  opts = bulk.options(m, opts, { comment = true })
  check_addresses(m, emails)
  util.string(m, "opts.comment", opts.comment, true)
  return bulk.run(self, emails, opts, 1000, function(chunk)
    return "POST", "/blacklist", nil,
           { emails = encoded(chunk), comment = opts.comment }
  end)
end

--- Removes addresses from the blacklist, in chunks (DELETE with a body).
-- Encoded as in `add_to_blacklist`.
-- @http DELETE /blacklist
-- @tparam table emails a list of addresses
-- @tparam[opt] table opts `chunk` (default 1000), `on_progress(done, total)`
-- @treturn table `{done, chunks, results}`
-- @return[2] nil, err (see `add_to_blacklist`)
-- @usage assert(client:remove_from_blacklist{ "gandalf@valinor.org" })
function _M:remove_from_blacklist(emails, opts)
  local m = "remove_from_blacklist"
  opts = bulk.options(m, opts)
  check_addresses(m, emails)
  return bulk.run(self, emails, opts, 1000, function(chunk)
    return "DELETE", "/blacklist", nil, { emails = encoded(chunk) }
  end)
end

return _M
