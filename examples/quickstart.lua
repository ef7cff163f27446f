-- Quick start: account, team, balance, an address-book round trip and a
-- translated error. `make demo` runs it against the bundled sandbox; with
-- SENDPULSE_CLIENT_ID and SENDPULSE_CLIENT_SECRET set (and no sandbox
-- variables) it talks to the real API.
local sendpulse = require "sendpulse"

local sandbox_url = os.getenv("SENDPULSE_SANDBOX_URL")

local client = sendpulse.new{
  client_id = os.getenv("SENDPULSE_CLIENT_ID") or "sandbox-client-id",
  client_secret = os.getenv("SENDPULSE_CLIENT_SECRET") or "sandbox-client-secret",
  base_url = sandbox_url,                         -- nil: the real API
  ca_file = os.getenv("SENDPULSE_SANDBOX_CA"),    -- nil: the system's CAs
}
print("client:   " .. tostring(client))

-- The first call fetches the OAuth token; later calls reuse it.
local me = assert(client:user_info())
print(("account:  %s <%s>, %s, team %q"):format(me.name, me.email,
      me.currency, me.team_name))

local team = assert(client:invited_users())
for _, u in ipairs(team) do
  print(("team:     %s %s <%s>%s"):format(u.firstname, u.lastname, u.email,
        u.group_id == sendpulse.null and " (no group)" or ""))
end

local balance = assert(client:balance_detail())
print(("balance:  %s %s (+%s bonus), %d emails left on %q"):format(
      balance.balance.main, balance.balance.currency, balance.balance.bonus,
      balance.email.emails_left, balance.email.tariff_name))

-- An address-book round trip through the generic verbs.
local name = "quickstart " .. os.time()
local book = assert(client:post("/addressbooks", { bookName = name }))
local path = sendpulse.path("addressbooks", book.id)
print(("created:  address book %d %q"):format(book.id, name))
assert(client:post(path .. "/emails", { emails = {
  { email = "frodo@shire.example", variables = { name = "Frodo" } },
  { email = "sam+garden@shire.example", variables = { name = "Sam" } },
} }))
local contacts = assert(client:get(path .. "/emails", { limit = 10 }))
for _, c in ipairs(contacts) do
  print(("contact:  %s (%s)"):format(c.email, c.variables.name))
end
assert(client:delete(path))
print(("deleted:  address book %d"):format(book.id))

-- Failures come back as nil plus an error object; nothing raises.
local res, err = client:get(path)
assert(res == nil)
print(("error:    kind=%s code=%s message=%q"):format(err.kind,
      tostring(err.code), err.message))
print("          " .. tostring(err))

if sandbox_url then
  -- The sandbox counts what it received.
  local stats = assert(client:get("/__sandbox/stats"))
  print(("sandbox:  %d requests, %d token request(s)"):format(stats.total,
        stats.token_requests))
end
client:close()
