-- Contacts across every mailing list.
local common = require "sendpulse.cli.commands.common"

local A = common.A

return {
  group = { "emails", "Contacts across every mailing list: where an address is, its history" },
  commands = {
    { "info", "email_info",
      summary = "Where an address is: one entry per mailing list holding it.",
      args = { A.email() },
      example = "sendpulse emails info frodo@shire.me" },

    { "info-many", "emails_info",
      summary = "Where several addresses are, in one request (a map by address).",
      args = { A.emails() },
      example = "sendpulse emails info-many frodo@shire.me sam@shire.me" },

    { "details", "email_details",
      summary = "When and how an address joined each mailing list.",
      args = { A.email() },
      example = "sendpulse emails details frodo@shire.me" },

    { "campaigns", "email_campaigns",
      summary = "Campaign statistics of one address.",
      args = { A.email() },
      example = "sendpulse emails campaigns frodo@shire.me" },

    { "campaigns-many", "emails_campaigns",
      summary = "Campaign statistics of several addresses (a map by address).",
      args = { A.emails() },
      example = "sendpulse emails campaigns-many frodo@shire.me sam@shire.me" },

    { "campaign-status", "campaign_email_status",
      summary = "How one campaign went for one address.",
      args = { A.id("the campaign's id"), A.email() },
      example = "sendpulse emails campaign-status 9001 frodo@shire.me" },

    { "delete", "delete_email",
      summary = "Removes an address from every mailing list.",
      args = { A.email() },
      example = "sendpulse emails delete gollum@misty.mountains" },
  },
}
