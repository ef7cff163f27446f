-- Email senders.
local common = require "sendpulse.cli.commands.common"

local param, A = common.param, common.A

return {
  group = { "senders", "Email senders: the addresses campaigns are sent from" },
  commands = {
    { "list", "senders",
      summary = "Lists the senders and their status.",
      example = "sendpulse senders list" },

    { "add", "add_sender",
      summary = "Adds a sender; it must then be activated with the code mailed to it.",
      args = { param("NAME", "string", "the name shown to recipients"), A.email() },
      example = "sendpulse senders add 'Shire Post' post@shire.me" },

    { "delete", "delete_sender",
      summary = "Deletes a sender.",
      args = { A.email() },
      example = "sendpulse senders delete post@shire.me" },

    { "activate", "activate_sender",
      summary = "Activates a sender with the code mailed to it.",
      args = { A.email(), param("CODE", "string", "the activation code") },
      example = "sendpulse senders activate post@shire.me 123456" },

    { "resend-code", "request_sender_activation",
      summary = "Has the activation code mailed to a sender again.",
      args = { A.email() },
      example = "sendpulse senders resend-code post@shire.me" },
  },
}
