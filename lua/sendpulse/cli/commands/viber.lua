-- Viber campaigns.
local common = require "sendpulse.cli.commands.common"
local errors = require "sendpulse.cli.errors"

local opt, A = common.opt, common.A

local OPTIONS = {
  opt("name", "NAME", "string", "the campaign's name"),
  opt("sender-id", "ID", "id", "the Viber sender (see 'viber senders')"),
  opt("message", "TEXT", "text", "the message: TEXT, or @FILE"),
  opt("type", "TYPE", "choice", "promotional (the default) or transactional",
      { choices = { "promotional", "transactional" } }),
  opt("ttl", "SECONDS", "positive", "how long delivery may be tried, 60 to 86400 "
      .. "(default 86400)"),
  opt("to", "PHONE", "string", "a phone number (at most 1000)", { multi = true }),
  opt("book", "ID", "id", "a mailing list instead of --to"),
  opt("send-date", "DATE", "string", "'YYYY-MM-DD HH:MM:SS', or now (the default)"),
  opt("button-text", "TEXT", "string", "the text of a button"),
  opt("button-link", "URL", "string", "where the button leads"),
  opt("image", "URL", "string", "the address of an image"),
}

-- The campaign's fields from the options; `creating` fills in defaults.
local function fields(a, creating)
  common.one_of(a, { "to", "book" })
  local additional
  if a.button_text or a.button_link then
    if not (a.button_text and a.button_link) then
      errors.usage("--button-text and --button-link go together")
    end
    additional = { button = { text = a.button_text, link = a.button_link } }
  end
  if a.image then
    additional = additional or {}
    additional.image = { link = a.image }
  end
  local t = a.type
  if t == nil and creating then
    t = "promotional"
  end
  local ttl = a.ttl
  if ttl == nil and creating then
    ttl = 86400
  end
  return {
    task_name = a.name, sender_id = a.sender_id, message = a.message,
    message_type = t and (t == "transactional" and 3 or 2) or nil,
    message_live_time = ttl,
    recipients = a.to, address_book = a.book, send_date = a.send_date,
    additional = additional,
  }
end

return {
  group = { "viber", "Viber campaigns" },
  commands = {
    { "list", "viber_campaigns", each = "each_viber_campaign",
      summary = "Lists Viber campaigns.",
      example = "sendpulse viber list --all" },

    { "get", "viber_campaign",
      summary = "One Viber campaign with its statistics.",
      args = { A.id("the campaign's id") },
      example = "sendpulse viber get 5001" },

    { "recipients", "viber_campaign_recipients",
      summary = "The recipients of a Viber campaign and what happened to each.",
      args = { A.id("the campaign's id") },
      example = "sendpulse viber recipients 5001" },

    { "send", "create_viber_campaign",
      summary = "Creates a Viber campaign: sends it now, or schedules it with --send-date.",
      options = OPTIONS,
      usage = "--name NAME --sender-id ID --message TEXT|@FILE (--to PHONE [--to PHONE ...] "
        .. "| --book ID) [--type promotional|transactional] [--ttl SECONDS] "
        .. "[--send-date DATE] [--button-text TEXT --button-link URL] [--image URL]",
      example = "sendpulse viber send --name Promo --sender-id 2222 --message Hello "
        .. "--to 380931111111",
      call = function(a)
        common.require(a, { "name", "sender-id" })
        common.need_one_of(a, { "to", "book" })
        return fields(a, true)
      end },

    { "update", "update_viber_campaign",
      summary = "Changes a Viber campaign not sent yet (only the options given).",
      args = { A.id("the campaign's id") },
      options = OPTIONS,
      example = "sendpulse viber update 5001 --message 'Hello again'",
      call = function(a) return a.id, fields(a, false) end },

    { "senders", "viber_senders",
      summary = "The Viber sender names of the account.",
      example = "sendpulse viber senders" },

    { "sender", "viber_sender",
      summary = "One Viber sender name.",
      args = { A.id("the sender's id") },
      example = "sendpulse viber sender 2222" },
  },
}
