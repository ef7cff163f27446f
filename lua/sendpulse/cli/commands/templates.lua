-- Email templates.
local common = require "sendpulse.cli.commands.common"

local opt, param, A = common.opt, common.param, common.A

return {
  group = { "templates", "Email templates: the account's own and SendPulse's gallery" },
  commands = {
    { "list", "templates", each = "each_template",
      summary = "Lists templates.",
      options = { opt("owner", "WHO", "choice", "me (the account's) or sendpulse (the gallery)",
                      { choices = { "me", "sendpulse" } }) },
      query = { owner = "owner" },
      example = "sendpulse templates list --owner me" },

    { "get", "template",
      summary = "One template, with its body (base64, as sent).",
      args = { param("ID", "id_or_name", "the template's real_id, or its hash id") },
      example = "sendpulse templates get 12345" },

    { "create", "create_template",
      summary = "Creates a template from HTML; prints its real_id.",
      options = {
        opt("html", "HTML", "text", "the template: HTML, or @FILE", { required = true }),
        opt("name", "NAME", "string", "the template's name"),
        opt("lang", "LANG", "string", "its language, e.g. en"),
      },
      call = { { body = "html", name = "name", lang = "lang" } },
      example = "sendpulse templates create --name Welcome --html @welcome.html --lang en" },

    { "update", "update_template",
      summary = "Replaces the body (and language) of one of the account's templates.",
      args = { A.id("the template's real_id") },
      options = {
        opt("html", "HTML", "text", "the new body: HTML, or @FILE", { required = true }),
        opt("lang", "LANG", "string", "its language, e.g. en"),
      },
      call = { "id", { body = "html", lang = "lang" } },
      example = "sendpulse templates update 12345 --html @welcome.html" },
  },
}
