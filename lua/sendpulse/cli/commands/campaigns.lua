-- Email campaigns.
local common = require "sendpulse.cli.commands.common"

local opt, A = common.opt, common.A

local OPTIONS = {
  opt("sender-name", "NAME", "string", "the sender's name"),
  opt("sender-email", "ADDR", "email", "the sender's address (an activated sender)"),
  opt("subject", "TEXT", "string", "the subject"),
  opt("html", "HTML", "text", "the message: HTML, or @FILE"),
  opt("template", "ID", "id_or_name", "a template instead of --html"),
  opt("book", "ID", "id", "the mailing list to send to"),
  opt("segment", "ID", "id", "a segment instead of --book"),
  opt("name", "NAME", "string", "the campaign's name"),
  opt("send-date", "DATE", "string", "'YYYY-MM-DD HH:MM:SS' to schedule it (default: now)"),
  opt("attach", "FILE", "string", "a file to attach", { multi = true }),
}

-- The campaign's fields from the options (only those given).
local function fields(a)
  common.one_of(a, { "html", "template" })
  common.one_of(a, { "book", "segment" })
  return {
    sender_name = a.sender_name, sender_email = a.sender_email, subject = a.subject,
    body = a.html, template_id = a.template, list_id = a.book, segment_id = a.segment,
    name = a.name, send_date = a.send_date, attachments_binary = common.attachments(a.attach),
  }
end

return {
  group = { "campaigns", "Email campaigns: bulk sends to a mailing list or a segment" },
  commands = {
    { "list", "campaigns", each = "each_campaign",
      summary = "Lists campaigns.",
      example = "sendpulse campaigns list --limit 10" },

    { "get", "campaign",
      summary = "One campaign with its message and statistics.",
      args = { A.id("the campaign's id") },
      example = "sendpulse campaigns get 9001" },

    { "create", "create_campaign",
      summary = "Creates a campaign: sends it now, or schedules it with --send-date.",
      options = OPTIONS,
      usage = "--sender-name NAME --sender-email ADDR --subject TEXT (--html HTML | "
        .. "--template ID) (--book ID | --segment ID) [--name NAME] [--send-date DATE] "
        .. "[--attach FILE ...]",
      example = "sendpulse campaigns create --sender-name 'Shire Post' --sender-email "
        .. "post@shire.me --subject News --html @news.html --book 1000001",
      call = function(a)
        common.require(a, { "sender-name", "sender-email", "subject" })
        common.need_one_of(a, { "html", "template" })
        common.need_one_of(a, { "book", "segment" })
        return fields(a)
      end },

    { "update", "update_campaign",
      summary = "Changes a scheduled campaign (only the options given).",
      args = { A.id("the campaign's id") },
      options = OPTIONS,
      example = "sendpulse campaigns update 9001 --send-date '2030-01-01 09:00:00'",
      call = function(a) return a.id, fields(a) end },

    { "cancel", "cancel_campaign",
      summary = "Cancels a scheduled campaign.",
      args = { A.id("the campaign's id") },
      example = "sendpulse campaigns cancel 9001" },

    { "countries", "campaign_countries",
      summary = "Opens of a campaign per country.",
      args = { A.id("the campaign's id") },
      example = "sendpulse campaigns countries 9001" },

    { "referrals", "campaign_referrals",
      summary = "Clicks on the links of a campaign.",
      args = { A.id("the campaign's id") },
      example = "sendpulse campaigns referrals 9001" },
  },
}
