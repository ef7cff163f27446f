-- Commands about the tool itself (top-level): its command list, help.
local common = require "sendpulse.cli.commands.common"

local concat = table.concat
local ipairs = ipairs

local param = common.param

return {
  commands = {
    { "commands",
      summary = "Lists every command, one per line (for scripts and shell completion).",
      example = "sendpulse commands",
      run = function(_, _, ctx)
        local lines = {}
        for _, c in ipairs(ctx.registry.commands) do
          lines[#lines + 1] = c.path
        end
        ctx.stdout:write(concat(lines, "\n"), "\n")
        return ctx.PRINTED
      end },

    { "help",
      summary = "Help on the tool, a group or a command.",
      args = { param("COMMAND...", "string", "a command or a group, e.g. 'address-books import'",
                     { optional = true, key = "words" }) },
      example = { "sendpulse help address-books import" },
      -- `sendpulse.cli.main` answers it before any parsing
      run = function() error("help is handled by main") end },
  },
}
