-- Commands about the tool itself (top-level): its command list, help,
-- shell completion, profiles.
local sendpulse = require "sendpulse"
local common = require "sendpulse.cli.commands.common"
local completion = require "sendpulse.cli.completion"
local configure = require "sendpulse.cli.configure"

local concat = table.concat
local error = error
local ipairs = ipairs

local format = string.format
local opt, param = common.opt, common.param

-- `commands --count`: "GROUP N (M from the operation tables)" per group,
-- then the top-level commands and the total.
local function count_lines(reg, every)
  local out, top, ops = {}, 0, 0
  for _, c in ipairs(every) do
    if not c.group then
      top = top + 1
    end
  end
  for _, g in ipairs(reg.groups) do
    local n = 0
    for _, c in ipairs(g.commands) do
      n = n + (c.op and 1 or 0)
    end
    ops = ops + n
    out[#out + 1] = format("%-16s %4d%s", g.name, #g.commands,
                           n > 0 and format(" (%d from the operation tables)", n) or "")
  end
  out[#out + 1] = format("%-16s %4d", "(top level)", top)
  out[#out + 1] = format("%-16s %4d (%d from the operation tables)", "total", #every, ops)
  return concat(out, "\n") .. "\n"
end

return {
  commands = {
    { "commands",
      summary = "Lists every command, one per line (for scripts and shell completion).",
      description = "With --count, prints how many commands each group has instead, "
        .. "and how many of them call the operations of the API's tables.",
      options = { opt("count", nil, nil, "print the number of commands per group and in all") },
      example = { "sendpulse commands", "sendpulse commands --count" },
      run = function(_, a, ctx)
        local every = ctx.registry:all_commands()
        if a.count then
          ctx.stdout:write(count_lines(ctx.registry, every))
          return ctx.PRINTED
        end
        local lines = {}
        for _, c in ipairs(every) do
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
