-- Mailing lists (address books) and their contacts.
local common = require "sendpulse.cli.commands.common"
local import = require "sendpulse.cli.import"

local ipairs = ipairs

local opt, param, A = common.opt, common.param, common.A

return {
  group = { "address-books", "Mailing lists (address books) and their contacts" },
  commands = {
    { "list", "address_books", each = "each_address_book",
      summary = "Lists mailing lists.",
      example = { "sendpulse address-books list --limit 10",
                  "sendpulse address-books list --all" } },

    { "get", "address_book",
      summary = "One mailing list.",
      args = { A.book() },
      example = "sendpulse address-books get 1000001" },

    { "create", "create_address_book",
      summary = "Creates a mailing list; prints its id.",
      args = { param("NAME", "string", "the list's name") },
      example = "sendpulse address-books create 'Customers'" },

    { "rename", "rename_address_book",
      summary = "Renames a mailing list.",
      args = { A.book(), param("NAME", "string", "the new name") },
      example = "sendpulse address-books rename 1000001 'Former customers'" },

    { "delete", "delete_address_book",
      summary = "Deletes a mailing list.",
      args = { A.book() },
      example = "sendpulse address-books delete 1000001" },

    { "variables", "address_book_variables",
      summary = "The variables defined in a mailing list.",
      args = { A.book() },
      example = "sendpulse address-books variables 1000001" },

    { "contacts", "address_book_emails", each = "each_address_book_email",
      summary = "Contacts of a mailing list.",
      args = { A.book() },
      example = "sendpulse address-books contacts 1000001 --all" },

    { "count", "address_book_emails_total",
      summary = "How many contacts a mailing list has.",
      args = { A.book() },
      example = "sendpulse address-books count 1000001" },

    { "contact", "address_book_email",
      summary = "One contact of a mailing list.",
      args = { A.book(), A.email("the contact's address") },
      example = "sendpulse address-books contact 1000001 frodo@shire.me" },

    { "find", "address_book_emails_by_variable",
      summary = "Contacts of a mailing list whose variable has a given value.",
      args = { A.book(), param("VARIABLE", "string", "the variable's name"),
               param("VALUE", "string", "the value to look for") },
      example = "sendpulse address-books find 1000001 city Hobbiton" },

    { "add", "add_emails",
      summary = "Adds contacts given on the command line to a mailing list.",
      description = "For many contacts, or contacts with different variables, use "
        .. "'address-books import'.",
      args = { A.book(), A.emails("the addresses to add") },
      options = { opt("var", "NAME=VALUE", "pair", "a variable set on every address given",
                      { map = true }) },
      example = "sendpulse address-books add 1000001 frodo@shire.me sam@shire.me "
        .. "--var city=Hobbiton",
      call = function(a)
        local contacts = {}
        for i, e in ipairs(a.emails) do
          contacts[i] = a.var and { email = e, variables = a.var } or e
        end
        return a.id, contacts
      end },

    { "remove", "remove_emails",
      summary = "Removes contacts from a mailing list.",
      args = { A.book(), A.emails("the addresses to remove") },
      example = "sendpulse address-books remove 1000001 gollum@misty.mountains" },

    { "unsubscribe", "unsubscribe_emails",
      summary = "Unsubscribes contacts of a mailing list (they stay in it, unsubscribed).",
      args = { A.book(), A.emails("the addresses to unsubscribe") },
      example = "sendpulse address-books unsubscribe 1000001 boromir@gondor.gov" },

    { "set-variables", "update_email_variables",
      summary = "Sets variables of one contact.",
      args = { A.book(), A.email("the contact's address"),
               param("NAME=VALUE...", "pair", "the variables to set",
                     { key = "vars", map = true }) },
      example = "sendpulse address-books set-variables 1000001 frodo@shire.me city='Bag End'" },

    import.command,

    { "cost", "address_book_cost",
      summary = "What sending a campaign to a mailing list would cost.",
      args = { A.book() },
      example = "sendpulse address-books cost 1000001" },

    { "campaigns", "address_book_campaigns", each = "each_address_book_campaign",
      summary = "Campaigns sent to a mailing list.",
      args = { A.book() },
      example = "sendpulse address-books campaigns 1000001 --all" },
  },
}
