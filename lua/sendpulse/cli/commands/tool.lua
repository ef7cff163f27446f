-- Commands about the tool itself (top-level): its command list, help,
-- shell completion, profiles.
local sendpulse = require "sendpulse"
local common = require "sendpulse.cli.commands.common"
local completion = require "sendpulse.cli.completion"
local configure = require "sendpulse.cli.configure"

local concat = table.concat
local error = error
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

    { "completion",
      summary = "Prints a shell completion script for bash, zsh or fish.",
      description = "The script completes command words, options, and the values of "
        .. "options that have a fixed set; it is made from this version's commands.",
      args = { param("SHELL", "choice", "bash, zsh or fish",
                     { choices = completion.SHELLS }) },
      example = { "sendpulse completion bash > ~/.local/share/bash-completion/completions/"
                    .. "sendpulse",
                  "source <(sendpulse completion bash)",
                  "sendpulse completion fish > ~/.config/fish/completions/sendpulse.fish" },
      run = function(_, a, ctx)
        ctx.stdout:write(completion.script(a.shell, ctx.registry, ctx.registry.globals,
                                           sendpulse._VERSION))
        return ctx.PRINTED
      end },

    configure.command,
  },
}
