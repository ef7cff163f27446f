-- Commands of the account (top-level): profile, balance, team members.
local common = require "sendpulse.cli.commands.common"
local errors = require "sendpulse.cli.errors"

local opt, param = common.opt, common.param

return {
  commands = {
    { "user-info", "user_info",
      summary = "The account's profile.",
      example = "sendpulse user-info" },

    { "balance",
      summary = "The account's balance, optionally converted to another currency.",
      args = { param("CURRENCY", "string", "a three-letter currency code such as EUR "
                    .. "(default: the account's currency)", { optional = true }) },
      options = { opt("detail", nil, nil, "balance and tariffs per service instead") },
      example = { "sendpulse balance", "sendpulse balance EUR", "sendpulse balance --detail" },
      -- two methods behind one command
      run = function(c, a)
        if a.detail then
          if a.currency then
            errors.usage("--detail takes no CURRENCY")
          end
          return c:balance_detail()
        end
        return c:balance(a.currency)
      end },

    { "invited-users", "invited_users",
      summary = "Team members invited to the account.",
      example = "sendpulse invited-users" },
  },
}
