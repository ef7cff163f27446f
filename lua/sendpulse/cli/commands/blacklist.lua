-- The email blacklist.
local common = require "sendpulse.cli.commands.common"

local opt, A = common.opt, common.A

return {
  group = { "blacklist", "The email blacklist: addresses no campaign is sent to" },
  commands = {
    { "list", "blacklist", each = "each_blacklisted_email",
      summary = "Blacklisted addresses.",
      example = "sendpulse blacklist list --all" },

    { "add", "add_to_blacklist",
      summary = "Adds addresses to the blacklist.",
      args = { A.emails() },
      options = { opt("comment", "TEXT", "string", "a note kept with the entries") },
      call = { "emails", { comment = "comment" } },
      example = "sendpulse blacklist add saruman@isengard.org --comment traitor" },

    { "remove", "remove_from_blacklist",
      summary = "Removes addresses from the blacklist.",
      args = { A.emails() },
      example = "sendpulse blacklist remove gandalf@valinor.org" },
  },
}
