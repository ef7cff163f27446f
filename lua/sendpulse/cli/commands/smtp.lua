-- Transactional email (SMTP).
local common = require "sendpulse.cli.commands.common"
local errors = require "sendpulse.cli.errors"

local opt, param, A = common.opt, common.param, common.A
local usage = errors.usage

-- The message of `smtp send` from the options.
local function message(a)
  if a.template and (a.html or a.text) then
    usage("--template replaces --html and --text: give one or the other")
  end
  if not (a.template or a.html or a.text) then
    usage("give --html, --text or --template")
  end
  if a.var and not a.template then
    usage("--var goes with --template")
  end
  local from = a.from
  if a.from_name then
    from.name = a.from_name
  end
  return {
    subject = a.subject, from = from, to = a.to, cc = a.cc, bcc = a.bcc,
    html = a.html, text = a.text,
    template = a.template and { id = a.template, variables = a.var },
    attachments_binary = common.attachments(a.attach),
    auto_plain_text = a.auto_plain_text,
  }
end

local DATE = "(YYYY-MM-DD)"

return {
  group = { "smtp", "Transactional email (SMTP): sending, history, bounces, unsubscribes" },
  commands = {
    { "send", "smtp_send",
      summary = "Sends a transactional email.",
      description = "Addresses are 'addr@example.com' or 'Name <addr@example.com>'. "
        .. "The message is --html, --text (both may be given) or --template. "
        .. "Attachments are sent base64-encoded, named after the files.",
      options = {
        opt("to", "ADDR", "address", "a recipient", { multi = true, required = true }),
        opt("cc", "ADDR", "address", "a copy recipient", { multi = true }),
        opt("bcc", "ADDR", "address", "a hidden copy recipient", { multi = true }),
        opt("from", "ADDR", "address", "the sender (an allowed SMTP sender)", { required = true }),
        opt("from-name", "NAME", "string", "the sender's name (replaces the one in --from)"),
        opt("subject", "TEXT", "string", "the subject", { required = true }),
        opt("html", "HTML", "text", "the HTML part: HTML, or @FILE (@- for standard input)"),
        opt("text", "TEXT", "text", "the plain text part: TEXT, or @FILE"),
        opt("template", "ID", "id_or_name", "a template instead of --html/--text"),
        opt("var", "NAME=VALUE", "pair", "a template variable (NAME:=JSON for other "
            .. "types)", { map = true }),
        opt("attach", "FILE", "string", "a file to attach", { multi = true }),
        opt("auto-plain-text", nil, nil, "have the service make the text part from the HTML"),
      },
      usage = "--from ADDR [--from-name NAME] --to ADDR [--to ADDR ...] --subject TEXT "
        .. "(--html HTML | --text TEXT | --template ID [--var NAME=VALUE ...]) "
        .. "[--cc ADDR ...] [--bcc ADDR ...] [--attach FILE ...] [--auto-plain-text]",
      example = "sendpulse smtp send --from shop@example.com --from-name Shop --to "
        .. "'Frodo <frodo@shire.me>' --subject 'Your order' --html @order.html "
        .. "--attach invoice.pdf",
      call = message },

    { "list", "smtp_emails", each = "each_smtp_email",
      summary = "The sent-mail history.",
      options = {
        opt("from", "DATE", "string", "sent on or after this day " .. DATE),
        opt("to", "DATE", "string", "sent on or before this day " .. DATE),
        opt("sender", "ADDR", "email", "sent from this address"),
        opt("recipient", "ADDR", "email", "sent to this address"),
      },
      query = { from = "from", to = "to", sender = "sender", recipient = "recipient" },
      example = "sendpulse smtp list --recipient frodo@shire.me --all" },

    { "get", "smtp_email",
      summary = "One sent message.",
      args = { param("ID", "string", "the message's id, as printed by 'smtp send'") },
      example = "sendpulse smtp get 1a2b3c4d" },

    { "count", "smtp_emails_total",
      summary = "How many messages the history holds.",
      example = "sendpulse smtp count" },

    { "bounces", "smtp_bounces", each = "each_smtp_bounce",
      summary = "A day's bounces.",
      options = { opt("date", "DATE", "string", "the day, YYYY-MM-DD (default: today)") },
      query = { date = "date" },
      example = "sendpulse smtp bounces --date 2024-05-01 --all" },

    { "bounces-count", "smtp_bounces_total",
      summary = "How many messages bounced today.",
      example = "sendpulse smtp bounces-count" },

    { "unsubscribed", "smtp_unsubscribed", each = "each_smtp_unsubscribed",
      summary = "Addresses unsubscribed from SMTP mail.",
      options = { opt("date", "DATE", "string", "only those unsubscribed that day") },
      query = { date = "date" },
      example = "sendpulse smtp unsubscribed --all" },

    { "unsubscribe", "smtp_unsubscribe",
      summary = "Unsubscribes addresses from SMTP mail.",
      args = { A.emails() },
      options = { opt("comment", "TEXT", "string", "a note kept with the entries") },
      call = { "emails", { comment = "comment" } },
      example = "sendpulse smtp unsubscribe frodo@shire.me --comment 'asked by phone'" },

    { "resubscribe", "smtp_remove_unsubscribed",
      summary = "Takes addresses off the SMTP unsubscribe list.",
      args = { A.emails() },
      example = "sendpulse smtp resubscribe frodo@shire.me" },

    { "ips", "smtp_ips",
      summary = "The IP addresses SMTP mail is sent from.",
      example = "sendpulse smtp ips" },

    { "senders", "smtp_senders",
      summary = "The addresses SMTP mail may be sent from.",
      example = "sendpulse smtp senders" },

    { "domains", "smtp_domains",
      summary = "The verified sender domains.",
      example = "sendpulse smtp domains" },

    { "add-domain", "smtp_add_domain",
      summary = "Adds a sender domain, given an address at that domain.",
      args = { A.email("an address at the domain, which gets the verification mail") },
      example = "sendpulse smtp add-domain postmaster@shire.me" },

    { "verify-domain", "smtp_verify_domain",
      summary = "Starts the verification of a sender domain.",
      args = { A.email("the address given to add-domain") },
      example = "sendpulse smtp verify-domain postmaster@shire.me" },
  },
}
