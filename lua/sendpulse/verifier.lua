--- Email verification: checks whole mailing lists or single addresses.
--
-- The service ("verifier-service") works in the background: send a list or
-- an address, poll the progress, then read the result. Paths keep the
-- trailing slashes the service uses on some of them, and its list of
-- verified mailing lists pages with `start`/`count` instead of
-- `offset`/`limit`. Verification statuses: 0 unverified, 1 valid,
-- 2 unconfirmed, 3 invalid; per-status counts come in `data` under the
-- string keys "0" to "3", as sent.
-- @area sendpulse.verifier
local paging = require "sendpulse.paging"
local util = require "sendpulse.util"

local type = type

local check_id = util.integer
local check_email = util.email

local _M = {}

--- Starts verifying every address of a mailing list.
-- @http POST /verifier-service/send-list-to-verify
-- @tparam integer id the mailing list
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 213 for an unknown list)
-- @usage assert(client:verify_address_book(book_id))
function _M:verify_address_book(id)
  check_id("verify_address_book", "id", id)
  return self:request("POST", "/verifier-service/send-list-to-verify", nil,
                      { id = id })
end

--- How far the verification of a mailing list has got.
-- @http GET /verifier-service/get-progress?id={id}
-- @tparam integer id the mailing list
-- @treturn table `{result, data = {total, processed}}`
-- @return[2] nil, err
-- @usage local p = assert(client:verification_progress(book_id)).data
--   print(p.processed .. "/" .. p.total)
function _M:verification_progress(id)
  check_id("verification_progress", "id", id)
  return self:request("GET", "/verifier-service/get-progress", { id = id })
end

--- The verification result of a mailing list, address by address.
-- @http GET /verifier-service/check?id={id}
-- @tparam integer id the mailing list
-- @treturn table `{id, address_book_name, all_emails_quantity, status,
--   check_date, data = {["0"] = unverified, ["1"] = valid, ["2"] =
--   unconfirmed, ["3"] = invalid}, is_updated, status_text,
--   is_garbage_in_book, email_addresses = {{id, email_address, check_date,
--   status, status_text}, ...}, email_addresses_total}`
-- @return[2] nil, err
-- @usage local r = assert(client:verification_result(book_id)); print(r.data["3"], "invalid")
function _M:verification_result(id)
  check_id("verification_result", "id", id)
  return self:request("GET", "/verifier-service/check", { id = id })
end

local LIST_OPTIONS = { start = true, count = true }

--- Verified mailing lists, one page (paged with `start`/`count`).
-- @http GET /verifier-service/check-list?start={start}&count={count}
-- @tparam[opt] table opts `start` (items to skip), `count` (page size,
--   at most 100)
-- @treturn table `{total, list = {{id, address_book_name,
--   all_emails_quantity, status, check_date, data, is_updated, status_text,
--   is_garbage_in_book}, ...}}`
-- @return[2] nil, err
-- @usage local page = assert(client:verified_address_books{ start = 0, count = 10 })
--   print(page.total)
function _M:verified_address_books(opts)
  local m = "verified_address_books"
  opts = util.options(m, opts, LIST_OPTIONS)
  util.integer(m, "opts.start", opts.start, true, 0)
  util.integer(m, "opts.count", opts.count, true, 1)
  return self:request("GET", "/verifier-service/check-list",
                      { start = opts.start, count = opts.count })
end

local EACH_LIST_OPTIONS = { limit = true, max = true, start = true }

--- Iterates over every verified mailing list.
-- Pages are asked for with `start`/`count`; the walk ends when `total`
-- lists have been seen.
-- @http GET /verifier-service/check-list?start={start}&count={count}
-- @tparam[opt] table opts `limit` (lists per request, at most 100), `max`
--   (stop after that many), `start` (lists to skip)
-- @treturn function an iterator yielding one list's summary at a time; on
--   failure it yields `false, err` once
-- @usage for v, err in client:each_verified_address_book() do assert(v, err)
--   print(v.address_book_name, v.status_text) end
function _M:each_verified_address_book(opts)
  local m = "each_verified_address_book"
  opts = util.options(m, opts, EACH_LIST_OPTIONS)
  util.integer(m, "opts.limit", opts.limit, true, 1)
  util.integer(m, "opts.max", opts.max, true, 0)
  util.integer(m, "opts.start", opts.start, true, 0)
  return paging.iterate{
    client = self, path = "/verifier-service/check-list",
    limit_key = "count", offset_key = "start",
    limit = opts.limit, max = opts.max, offset = opts.start,
    extract = function(res)
      if type(res) ~= "table" then
        return nil
      end
      return res.list, res.total
    end,
  }
end

--- Starts verifying one address.
-- @http POST /verifier-service/send-single-to-verify
-- @tparam string email
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage assert(client:verify_email("frodo@shire.me"))
function _M:verify_email(email)
  check_email("verify_email", "email", email)
  return self:request("POST", "/verifier-service/send-single-to-verify", nil,
                      { email = email })
end

--- The verification result of one address.
-- @http GET /verifier-service/get-single-result?email={email}
-- @tparam string email
-- @treturn table `{result, data = {email, checks = {status, valid_format,
--   disposable, webmail, gibberish, status_text}}}`
-- @return[2] nil, err (`code` 17 when the address was never verified)
-- @usage local c = assert(client:email_verification_result("frodo@shire.me")).data.checks
--   print(c.status_text)
function _M:email_verification_result(email)
  check_email("email_verification_result", "email", email)
  return self:request("GET", "/verifier-service/get-single-result",
                      { email = email })
end

--- Deletes the stored verification result of one address.
-- The catalog marks this endpoint "GET (sic)": GET is the only verb
-- attested for it, so GET it is. The one client that calls it (Go) puts
-- the address in a body on that GET, which proxies and HTTP libraries may
-- drop (this client never sends a body on a GET). The address goes in the
-- query string instead, as on the sibling `get-single-result?email=`;
-- there is no trailing slash, as the catalog writes the path. It is not in
-- SendPulse's specs (a legacy endpoint).
-- @http GET /verifier-service/delete-single-result?email={email}
-- @tparam string email
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 17 when there is no result for the address)
-- @usage assert(client:delete_email_verification_result("frodo@shire.me"))
function _M:delete_email_verification_result(email)
  check_email("delete_email_verification_result", "email", email)
  return self:request("GET", "/verifier-service/delete-single-result",
                      { email = email })
end

local REPORT_OPTIONS = { format = true, status = true, lang = true }

--- Asks for a report of a mailing list's verification.
-- @http POST /verifier-service/make-report
-- @tparam integer id the mailing list
-- @tparam[opt] table opts `format` (2, 3 or 4: the report formats the
--   API's spec allows), `status` (a list of the statuses to include, 0 to
--   3), `lang` (e.g. "en")
-- @treturn table `{result = true}`
-- @return[2] nil, err
-- @usage assert(client:create_verification_report(book_id, { format = 2, status = { 3 } }))
function _M:create_verification_report(id, opts)
  local m = "create_verification_report"
  check_id(m, "id", id)
  opts = util.options(m, opts, REPORT_OPTIONS)
  local format = opts.format
  if format ~= nil and format ~= 2 and format ~= 3 and format ~= 4 then
    util.fail(m, "opts.format", "2, 3 or 4 expected (the API's report formats), got "
              .. tostring(format))
  end
  if opts.status ~= nil then
    util.list(m, "opts.status", opts.status)
    for i = 1, #opts.status do
      local s = opts.status[i]
      if type(s) ~= "number" or s ~= 0 and s ~= 1 and s ~= 2 and s ~= 3 then
        util.fail(m, "opts.status[" .. i .. "]", "a status from 0 to 3 expected")
      end
    end
  end
  util.string(m, "opts.lang", opts.lang, true)
  return self:request("POST", "/verifier-service/make-report", nil, {
    id = id, format = format, status = opts.status, lang = opts.lang,
  })
end

--- The report of a mailing list's verification.
-- @http GET /verifier-service/check-report?id={id}
-- @tparam integer id the mailing list
-- @treturn table the verification result, as `verification_result`
-- @return[2] nil, err (`code` 8 when no report was asked for)
-- @usage local r = assert(client:verification_report(book_id))
--   for _, a in ipairs(r.email_addresses) do print(a.email_address, a.status_text) end
function _M:verification_report(id)
  check_id("verification_report", "id", id)
  return self:request("GET", "/verifier-service/check-report", { id = id })
end

return _M
