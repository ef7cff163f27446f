-- Email-service webhooks.
local common = require "sendpulse.cli.commands.common"

local param, A = common.param, common.A

return {
  group = { "webhooks", "Email-service webhooks" },
  commands = {
    { "list", "webhooks",
      summary = "Lists the webhooks.",
      example = "sendpulse webhooks list" },

    { "get", "webhook",
      summary = "One webhook.",
      args = { A.id("the webhook's id") },
      example = "sendpulse webhooks get 42" },

    { "create", "create_webhook",
      summary = "Creates webhooks: one per action, all posting to URL.",
      args = { param("URL", "string", "where the service will POST the events"),
               param("ACTION...", "string", "event names: open, redirect, spam, unsubscribe, "
                     .. "delivered, ...") },
      example = "sendpulse webhooks create https://example.com/hook open spam" },

    { "update", "update_webhook",
      summary = "Points a webhook at another URL.",
      args = { A.id("the webhook's id"), param("URL", "string", "the new URL") },
      example = "sendpulse webhooks update 42 https://example.com/new-hook" },

    { "delete", "delete_webhook",
      summary = "Deletes a webhook.",
      args = { A.id("the webhook's id") },
      example = "sendpulse webhooks delete 42" },
  },
}
