-- SMS: phone numbers in mailing lists, the phone blacklist, campaigns.
local common = require "sendpulse.cli.commands.common"

local ipairs = ipairs

local opt, param, A = common.opt, common.param, common.A

local MESSAGE = {
  opt("sender", "NAME", "string", "the sender name", { required = true }),
  opt("body", "TEXT", "text", "the message: TEXT, or @FILE", { required = true }),
  opt("to", "PHONE", "string", "a phone number", { multi = true }),
  opt("book", "ID", "id", "a mailing list instead of --to"),
}

local function with(list, ...)
  local out = {}
  for _, o in ipairs(list) do
    out[#out + 1] = o
  end
  for _, o in ipairs{ ... } do
    out[#out + 1] = o
  end
  return out
end

return {
  group = { "sms", "SMS: phone numbers in mailing lists, the phone blacklist, campaigns",
            description = "Phone numbers are digits in international form, e.g. 380501234567." },
  commands = {
    { "add-phones", "sms_add_phones",
      summary = "Adds phone numbers to a mailing list.",
      args = { A.book(), A.phones() },
      example = "sendpulse sms add-phones 1000001 380501234567 380501234568" },

    { "update-phones", "sms_update_phones",
      summary = "Sets variables on phone numbers of a mailing list.",
      args = { A.book(), A.phones() },
      options = { opt("var", "NAME=VALUE", "pair", "a variable to set",
                      { map = true, required = true }) },
      call = { "id", "phones", "var" },
      example = "sendpulse sms update-phones 1000001 380501234567 --var city=Bree" },

    { "delete-phones", "sms_delete_phones",
      summary = "Removes phone numbers from a mailing list.",
      args = { A.book(), A.phones() },
      example = "sendpulse sms delete-phones 1000001 380501234567" },

    { "phone", "sms_phone",
      summary = "One phone number of a mailing list, with its variables.",
      args = { A.book(), param("PHONE", "string", "the phone number") },
      example = "sendpulse sms phone 1000001 380501234567" },

    { "blacklist", "sms_blacklist",
      summary = "The phone blacklist.",
      example = "sendpulse sms blacklist" },

    { "blacklist-check", "sms_blacklist_by_numbers",
      summary = "Which of the given phone numbers are blacklisted.",
      args = { A.phones() },
      example = "sendpulse sms blacklist-check 380501234567" },

    { "blacklist-add", "sms_blacklist_add",
      summary = "Adds phone numbers to the blacklist.",
      args = { A.phones() },
      options = { opt("description", "TEXT", "string", "a note kept with the entries") },
      call = { "phones", { description = "description" } },
      example = "sendpulse sms blacklist-add 380501234567 --description 'asked to stop'" },

    { "blacklist-remove", "sms_blacklist_remove",
      summary = "Removes phone numbers from the blacklist.",
      args = { A.phones() },
      example = "sendpulse sms blacklist-remove 380501234567" },

    { "send",
      summary = "Sends an SMS campaign to phone numbers or to a mailing list.",
      options = with(MESSAGE,
        opt("date", "DATE", "string", "'YYYY-MM-DD HH:MM:SS' to schedule it"),
        opt("transliterate", nil, nil, "transliterate the text to Latin letters"),
        opt("emulate", nil, nil, "test mode: nothing is sent")),
      usage = "--sender NAME --body TEXT|@FILE (--to PHONE [--to PHONE ...] | --book ID) "
        .. "[--date DATE] [--transliterate] [--emulate]",
      example = "sendpulse sms send --sender Shop --body 'Your code is 1234' --to 380501234567",
      -- two methods: to phone numbers, or to a mailing list
      run = function(c, a)
        local how = common.need_one_of(a, { "to", "book" })
        local m = { sender = a.sender, body = a.body, date = a.date,
                    transliterate = a.transliterate, emulate = a.emulate }
        if how == "--book" then
          return c:sms_send_to_book(a.book, m)
        end
        m.phones = a.to
        return c:sms_send(m)
      end },

    { "campaigns", "sms_campaigns",
      summary = "SMS campaigns sent (or scheduled) between two dates.",
      options = {
        opt("from", "DATE", "string", "'YYYY-MM-DD HH:MM:SS'", { required = true }),
        opt("to", "DATE", "string", "'YYYY-MM-DD HH:MM:SS'", { required = true }),
      },
      call = { "from", "to" },
      example = "sendpulse sms campaigns --from '2024-01-01 00:00:00' --to '2024-02-01 00:00:00'" },

    { "campaign", "sms_campaign",
      summary = "One SMS campaign with the status of each number.",
      args = { A.id("the campaign's id") },
      example = "sendpulse sms campaign 4001" },

    { "cancel", "sms_cancel_campaign",
      summary = "Cancels a scheduled SMS campaign.",
      args = { A.id("the campaign's id") },
      example = "sendpulse sms cancel 4001" },

    { "delete-campaign", "sms_delete_campaign",
      summary = "Deletes an SMS campaign.",
      args = { A.id("the campaign's id") },
      example = "sendpulse sms delete-campaign 4001" },

    { "cost", "sms_campaign_cost",
      summary = "What an SMS campaign would cost.",
      options = MESSAGE,
      usage = "--sender NAME --body TEXT|@FILE (--to PHONE [--to PHONE ...] | --book ID)",
      example = "sendpulse sms cost --sender Shop --body Hello --book 1000001",
      call = function(a)
        common.need_one_of(a, { "to", "book" })
        return { sender = a.sender, body = a.body, book_id = a.book, phones = a.to }
      end },

    { "senders", "sms_senders",
      summary = "The SMS sender names of the account.",
      example = "sendpulse sms senders" },
  },
}
