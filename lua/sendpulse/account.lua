--- Account: the user's profile, team members and balance.
-- @area sendpulse.account
local util = require "sendpulse.util"

local string_format = string.format
local string_upper = string.upper

local _M = {}

--- The account's profile.
-- @http GET /user/info
-- @treturn table `{id, name, first_name, last_name, email, phone, lang,
--   currency, country, city, locale, time_zone, team_name, ...}`
-- @return[2] nil, err
-- @usage local me = assert(client:user_info()); print(me.email)
function _M:user_info()
  return self:request("GET", "/user/info")
end

--- Team members invited to the account.
-- @http GET /user/invited-users-list
-- @treturn table a list of `{id, firstname, lastname, email, group_id,
--   is_active, avatar, lang, locale, currency, country, phone}`
-- @return[2] nil, err
-- @usage for _, u in ipairs(assert(client:invited_users())) do print(u.email) end
function _M:invited_users()
  return self:request("GET", "/user/invited-users-list")
end

--- The account's balance, in its own currency or converted to another one.
-- The currency code is sent upper-cased, as the official PHP client does
-- (the service accepts either case).
-- @http GET /balance
-- @http GET /balance/{currency}
-- @tparam[opt] string currency a three-letter code such as "EUR"; without
--   it, the balance is in the account's currency
-- @treturn table `{currency, balance_currency}` (`balance_currency` is a
--   number)
-- @return[2] nil, err
-- @usage local b = assert(client:balance("eur")); print(b.balance_currency, b.currency)
function _M:balance(currency)
  if currency == nil then
    return self:request("GET", "/balance")
  end
  util.string("balance", "currency", currency)
  if not currency:find("^%a%a%a$") then
    util.fail("balance", "currency", "a three-letter currency code expected, got "
              .. string_format("%q", currency))
  end
  return self:request("GET", util.path("balance", string_upper(currency)))
end

--- Balance and tariffs per service.
-- @http GET /user/balance/detail
-- @treturn table `{balance = {main, bonus, currency}, email = {...},
--   smtp = {...}, push = {...}}`; `main` and `bonus` are strings, as sent
-- @return[2] nil, err
-- @usage print(assert(client:balance_detail()).balance.main)
function _M:balance_detail()
  return self:request("GET", "/user/balance/detail")
end

return _M
