--- Email senders: the addresses campaigns are sent from.
--
-- A new sender must be activated with the code the service mails to it.
-- Addresses at free mail services (gmail.com, ...) are refused (error 20
-- or 97).
-- @area sendpulse.senders
local util = require "sendpulse.util"

local type = type

local path = util.path
local check_email = util.email

local _M = {}

--- Lists the senders and their status.
-- @http GET /senders
-- @treturn table a list of `{name, email, status}`
-- @return[2] nil, err
-- @usage for _, s in ipairs(assert(client:senders())) do print(s.email, s.status) end
function _M:senders()
  return self:request("GET", "/senders")
end

--- Adds a sender; it needs activation before use.
-- @http POST /senders
-- @tparam string name the name shown to recipients
-- @tparam string email
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 20 for a free mail address, 902 when it
--   already exists)
-- @usage assert(client:add_sender("Shire Post", "post@shire.me"))
function _M:add_sender(name, email)
  util.string("add_sender", "name", name)
  check_email("add_sender", "email", email)
  return self:request("POST", "/senders", nil, { name = name, email = email })
end

--- Deletes a sender (a DELETE with a JSON body).
-- @http DELETE /senders
-- @tparam string email
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 1003 when there is no such sender)
-- @usage assert(client:delete_sender("post@shire.me"))
function _M:delete_sender(email)
  check_email("delete_sender", "email", email)
  return self:request("DELETE", "/senders", nil, { email = email })
end

--- Activates a sender with the code mailed to it.
-- @http POST /senders/{email}/code
-- @tparam string email
-- @tparam string|number code
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 21 when no such address awaits activation
--   with that code)
-- @usage assert(client:activate_sender("post@shire.me", "123456"))
function _M:activate_sender(email, code)
  check_email("activate_sender", "email", email)
  if type(code) == "number" then
    code = util.integer("activate_sender", "code", code, false, 0)
    code = ("%d"):format(code)
  end
  util.string("activate_sender", "code", code)
  return self:request("POST", path("senders", email, "code"), nil, { code = code })
end

--- Has the service mail the activation code to a sender again.
-- @http GET /senders/{email}/code
-- @tparam string email
-- @treturn table `{result = true}`
-- @return[2] nil, err (`code` 1004 within 15 minutes of the last mail)
-- @usage assert(client:request_sender_activation("post@shire.me"))
function _M:request_sender_activation(email)
  check_email("request_sender_activation", "email", email)
  return self:request("GET", path("senders", email, "code"))
end

return _M
