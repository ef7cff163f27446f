-- A transactional email through SMTP, with an HTML body, a text part and a
-- PDF attachment; then its place in the sending history.
-- `make test` runs it against the sandbox.
local sendpulse = require "sendpulse"

local client = sendpulse.new{
  client_id = os.getenv("SENDPULSE_CLIENT_ID") or "sandbox-client-id",
  client_secret = os.getenv("SENDPULSE_CLIENT_SECRET") or "sandbox-client-secret",
  base_url = os.getenv("SENDPULSE_SANDBOX_URL"),
  ca_file = os.getenv("SENDPULSE_SANDBOX_CA"),
}

-- Any bytes will do: binary attachments are base64-encoded by the client.
local invoice = "%PDF-1.4\n% an invoice\n" .. string.rep("\0\1\2\255", 64) .. "\n%%EOF\n"

local sent, err = client:smtp_send{
  subject = "Your invoice",
  from = { name = "Shire Shop", email = "shop@shire.example" },
  to = { { name = "Frodo Baggins", email = "frodo@shire.example" } },
  html = "<h1>Thank you, Frodo</h1><p>Your invoice is attached.</p>",
  text = "Thank you, Frodo. Your invoice is attached.",
  attachments_binary = { ["invoice.pdf"] = invoice },
}
if not sent then
  print("not sent: " .. tostring(err))
  os.exit(1)
end
print(("sent, message id %s"):format(sent.id))

local message = assert(client:smtp_email(sent.id))
print(("history: %s -> %s, %q"):format(message.sender, message.recipient,
      message.subject))
