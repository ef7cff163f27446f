--- Account: the user's profile, team members and balance.
-- @module sendpulse.account
local _M = {}

--- The account's profile (GET /user/info).
-- @treturn table `{id, name, first_name, last_name, email, phone, lang,
--   currency, country, city, locale, time_zone, team_name, ...}`
-- @return[2] nil, err
-- @usage local me = assert(client:user_info()); print(me.email)
function _M:user_info()
  return self:request("GET", "/user/info")
end

--- Team members invited to the account (GET /user/invited-users-list).
-- @treturn table a list of `{id, firstname, lastname, email, group_id,
--   is_active, avatar, lang, locale, currency, country, phone}`
-- @return[2] nil, err
function _M:invited_users()
  return self:request("GET", "/user/invited-users-list")
end

--- Balance and tariffs per service (GET /user/balance/detail).
-- @treturn table `{balance = {main, bonus, currency}, email = {...},
--   smtp = {...}, push = {...}}`; `main` and `bonus` are strings, as sent
-- @return[2] nil, err
function _M:balance_detail()
  return self:request("GET", "/user/balance/detail")
end

return _M
