-- Email verification of mailing lists and single addresses.
local common = require "sendpulse.cli.commands.common"

local opt, A = common.opt, common.A

return {
  group = { "verifier", "Email verification of mailing lists and single addresses",
            description = "Verification runs in the background: start it, poll the "
              .. "progress, then read the result. Statuses: 0 unverified, 1 valid, "
              .. "2 unconfirmed, 3 invalid." },
  commands = {
    { "verify-book", "verify_address_book",
      summary = "Starts verifying every address of a mailing list.",
      args = { A.book() },
      example = "sendpulse verifier verify-book 1000001" },

    { "progress", "verification_progress",
      summary = "How far the verification of a mailing list has got.",
      args = { A.book() },
      example = "sendpulse verifier progress 1000001" },

    { "result", "verification_result",
      summary = "The verification result of a mailing list, address by address.",
      args = { A.book() },
      example = "sendpulse verifier result 1000001" },

    -- this endpoint pages with start/count
    { "list", "verified_address_books", each = "each_verified_address_book",
      page_keys = { limit = "count", offset = "start" }, each_keys = { offset = "start" },
      summary = "Verified mailing lists.",
      example = "sendpulse verifier list --all" },

    { "verify-email", "verify_email",
      summary = "Starts verifying one address.",
      args = { A.email() },
      example = "sendpulse verifier verify-email frodo@shire.me" },

    { "email-result", "email_verification_result",
      summary = "The verification result of one address.",
      args = { A.email() },
      example = "sendpulse verifier email-result frodo@shire.me" },

    { "delete-email-result", "delete_email_verification_result",
      summary = "Deletes the stored verification result of one address.",
      args = { A.email() },
      example = "sendpulse verifier delete-email-result frodo@shire.me" },

    { "make-report", "create_verification_report",
      summary = "Asks for a report of a mailing list's verification.",
      args = { A.book() },
      options = {
        opt("format", "FORMAT", "id_or_name", "the report's format, e.g. csv"),
        opt("status", "S", "count", "a status to include, 0 to 3", { multi = true }),
        opt("lang", "LANG", "string", "the report's language, e.g. en"),
      },
      call = { "id", { format = "format", status = "status", lang = "lang" } },
      example = "sendpulse verifier make-report 1000001 --format csv --status 3" },

    { "report", "verification_report",
      summary = "The report of a mailing list's verification.",
      args = { A.book() },
      example = "sendpulse verifier report 1000001" },
  },
}
