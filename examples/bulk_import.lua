-- Bulk import: 5,000 contacts into a new mailing list in chunks of 500,
-- with progress, and an exact account of anything that did not go in.
-- `make test` runs it against the sandbox; with SENDPULSE_CLIENT_ID and
-- SENDPULSE_CLIENT_SECRET (and no sandbox variables) it uses the real API.
local sendpulse = require "sendpulse"

local client = sendpulse.new{
  client_id = os.getenv("SENDPULSE_CLIENT_ID") or "sandbox-client-id",
  client_secret = os.getenv("SENDPULSE_CLIENT_SECRET") or "sandbox-client-secret",
  base_url = os.getenv("SENDPULSE_SANDBOX_URL"),
  ca_file = os.getenv("SENDPULSE_SANDBOX_CA"),
}

-- Contacts come from anywhere: a CSV file, a database... here, made up.
local contacts = {}
for i = 1, 5000 do
  contacts[i] = { email = ("customer%05d@example.com"):format(i),
                  variables = { name = "Customer " .. i, plan = i % 3 == 0 and "pro" or "free" } }
end

local book = assert(client:create_address_book("Import " .. os.time()))
print(("importing %d contacts into list %d"):format(#contacts, book.id))

local res, err = client:add_emails(book.id, contacts, {
  chunk = 500,
  concurrency = 4,      -- chunks in flight together (keeps the rate budget full)
  on_progress = function(done, total)
    if done % 1000 == 0 or done == total then
      print(("  %6d / %d"):format(done, total))
    end
  end,
})
if not res then
  -- Every contact not confirmed is in exactly one list:
  --   err.not_sent         never reached the server: safe to send again
  --   err.maybe_processed  sent, no answer (or a 5xx): the server may have
  --                        added them; look (e.g. client:address_book_email)
  --                        before sending again, or a double opt-in list
  --                        mails them twice
  --   err.refused          the server said no (err.chunk_errors says why)
  print(("failed: %s"):format(tostring(err)))
  print(("%d imported, %d safe to retry, %d to check first, %d refused"):format(
    err.done, #err.not_sent, #err.maybe_processed, #err.refused))
  os.exit(1)
end
print(("done in %d requests"):format(res.chunks))

-- Walk the list back with the iterator: pages are fetched as needed (at
-- the default pace of 10 requests per second, SendPulse's limit).
local count, pros = 0, 0
for contact, failure in client:each_address_book_email(book.id) do
  assert(contact, failure)
  count = count + 1
  if contact.variables.plan == "pro" then
    pros = pros + 1
  end
end
print(("the list holds %d contacts, %d on the pro plan"):format(count, pros))
assert(count == #contacts)
assert(client:delete_address_book(book.id))
