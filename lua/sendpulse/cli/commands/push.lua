-- Web push.
local common = require "sendpulse.cli.commands.common"

local opt, param, A = common.opt, common.param, common.A

return {
  group = { "push", "Web push: campaigns, websites and their subscribers" },
  commands = {
    { "tasks", "push_tasks", each = "each_push_task",
      summary = "Lists push campaigns.",
      options = {
        opt("from", "DATE", "string", "sent on or after (YYYY-MM-DD [HH:MM:SS])"),
        opt("to", "DATE", "string", "sent on or before"),
        opt("website", "ID", "id", "only those of one website"),
      },
      query = { from = "from", to = "to", website_id = "website" },
      example = "sendpulse push tasks --website 53 --all" },

    { "task", "push_task",
      summary = "Statistics of one push campaign.",
      args = { A.id("the campaign's id") },
      example = "sendpulse push task 3001" },

    { "create", "create_push_task",
      summary = "Creates a push campaign.",
      options = {
        opt("website", "ID", "id", "the website", { required = true }),
        opt("title", "TEXT", "string", "the title", { required = true }),
        opt("body", "TEXT", "text", "the message: TEXT, or @FILE", { required = true }),
        opt("ttl", "SECONDS", "count", "how long it may wait for delivery (default 86400)",
            { default = 86400 }),
        opt("link", "URL", "string", "where a click leads"),
        opt("send-date", "DATE", "string", "'YYYY-MM-DD HH:MM:SS' to schedule it"),
        opt("icon", "FILE", "file", "an icon image"),
        opt("image", "FILE", "file", "a large image"),
      },
      call = { { website_id = "website", title = "title", body = "body", ttl = "ttl",
                 link = "link", send_date = "send_date", icon = "icon", image = "image" } },
      example = "sendpulse push create --website 53 --title Sale --body '-50% today' "
        .. "--link https://example.com/sale" },

    { "websites", "push_websites", each = "each_push_website",
      summary = "Lists the websites.",
      example = "sendpulse push websites" },

    { "websites-count", "push_websites_total",
      summary = "How many websites the account has.",
      example = "sendpulse push websites-count" },

    { "website", "push_website_info",
      summary = "Information about one website.",
      args = { A.id("the website's id") },
      example = "sendpulse push website 53" },

    { "variables", "push_website_variables",
      summary = "The subscriber variables of a website.",
      args = { A.id("the website's id") },
      example = "sendpulse push variables 53" },

    { "subscribers", "push_website_subscriptions", each = "each_push_website_subscription",
      summary = "Subscribers of a website.",
      args = { A.id("the website's id") },
      options = {
        opt("from", "DATE", "string", "subscribed on or after (YYYY-MM-DD)"),
        opt("to", "DATE", "string", "subscribed on or before"),
      },
      query = { from = "from", to = "to" },
      example = "sendpulse push subscribers 53 --all" },

    { "subscribers-count", "push_website_subscriptions_total",
      summary = "How many subscribers a website has.",
      args = { A.id("the website's id") },
      example = "sendpulse push subscribers-count 53" },

    { "code", "push_website_code",
      summary = "The JavaScript snippet that integrates web push into a website.",
      args = { A.id("the website's id") },
      example = "sendpulse push code 53" },

    { "set-state", "set_push_subscription_state",
      summary = "Activates or deactivates one subscription.",
      args = { A.id("the subscription's id"), param("STATE", "switch", "on or off") },
      example = "sendpulse push set-state 700001 off" },
  },
}
