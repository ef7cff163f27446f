-- Automation 360.
local common = require "sendpulse.cli.commands.common"
local errors = require "sendpulse.cli.errors"

local opt, param, A = common.opt, common.param, common.A

local BLOCK_KINDS = { "main-trigger", "email", "push", "sms", "messenger", "filter",
                      "trigger", "goal", "action" }

return {
  group = { "automation", "Automation 360: events that start flows, flow statistics" },
  commands = {
    { "event", "start_event",
      summary = "Sends an event, starting the flows it triggers for one contact.",
      description = "Event variables come as NAME=VALUE (a string) or NAME:=JSON (a number, "
        .. "a list, ...).",
      args = { param("SLUG", "string", "the event's name as set up in SendPulse"),
               param("NAME=VALUE...", "pair", "event variables",
                     { optional = true, key = "vars", map = true }) },
      options = {
        opt("email", "ADDR", "email", "the contact's address"),
        opt("phone", "PHONE", "string", "the contact's phone number"),
        opt("flow", "ID", "id", "only start this flow"),
      },
      usage = "SLUG (--email ADDR | --phone PHONE) [--flow ID] [NAME=VALUE | NAME:=JSON ...]",
      example = "sendpulse automation event order_placed --email frodo@shire.me "
        .. "order_id:=1234 product=Ring",
      call = function(a)
        if not (a.email or a.phone) then
          errors.usage("give --email or --phone")
        end
        local vars = a.vars
        vars.email, vars.phone, vars.automation_id = a.email, a.phone, a.flow
        return a.slug, vars
      end },

    { "flow", "automation_flow",
      summary = "A flow with its blocks and counters.",
      args = { A.id("the flow's id") },
      example = "sendpulse automation flow 281013" },

    { "block-stats", "automation_block_stats",
      summary = "Statistics of one block of a flow.",
      args = { param("KIND", "choice", "main-trigger, email, push, sms, messenger, filter, "
                     .. "trigger, goal or action", { choices = BLOCK_KINDS }),
               param("BLOCK_ID", "id", "the block's id") },
      example = "sendpulse automation block-stats email 467511" },

    { "conversions", "automation_conversions",
      summary = "Conversion counts of a flow, overall and per goal.",
      args = { A.id("the flow's id") },
      example = "sendpulse automation conversions 281013" },

    { "converted", "automation_conversion_contacts",
      summary = "The contacts a flow converted.",
      args = { A.id("the flow's id") },
      example = "sendpulse automation converted 281013" },
  },
}
