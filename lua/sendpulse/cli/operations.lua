--- The commands made from the API's operation tables, at run time: one
-- group per service namespace of the client (`sendpulse crm ...`,
-- `sendpulse viber-bots ...`), one command per operation, named by the
-- kebab-case of its method (`create_deal` -> `create-deal`), calling that
-- method (`client.crm:create_deal(args)`); and the newer flat methods of
-- the older areas (`sendpulse.api.index`'s `flat`) as commands of those
-- areas' groups (`sendpulse smtp sender-domains`).
--
-- The groups are declared without their tables: a group's table (and
-- `sendpulse.api.help`) is loaded when one of its commands, its help
-- page or the list of every command is first needed.
-- @module sendpulse.cli.operations
-- @local
local index = require "sendpulse.api.index"

local concat = table.concat
local ipairs = ipairs
local pairs = pairs
local require = require
local sort = table.sort
local tostring = tostring
local type = type

local _M = {}

--- The groups of the service namespaces, and what each holds.
_M.SUMMARIES = {
  crm = "CRM: pipelines, deals, contacts, companies, tasks, products, payments",
  chatbots = "Chatbots of every channel at once: the account, its bots, their dialogs",
  messenger = "Facebook Messenger chatbots: contacts, chats, messages, flows, campaigns",
  instagram = "Instagram chatbots: contacts, chats, messages, flows, campaigns",
  telegram = "Telegram chatbots: contacts, chats, messages, flows, campaigns",
  whatsapp = "WhatsApp chatbots: contacts, chats, messages, templates, flows, campaigns",
  viber_bots = "Viber chatbots: contacts, chats, messages, flows, campaigns",
  tiktok = "TikTok chatbots: contacts, chats, messages, flows, campaigns",
  live_chat = "Website live chat: contacts, chats, messages, flows",
  popups = "Pop-ups: a project's pop-ups and widgets, subscribers, statistics",
  courses = "Online courses: schools, courses, students, tariffs",
  files = "The file manager: directories and files, uploads",
}

--- Where each flat method goes: its group and its word there (names
-- made shorter than the method's where the group already says it).
_M.FLAT = {
  add_viber_phone_exceptions = { "viber", "add-phone-exceptions" },
  remove_viber_phone_exceptions = { "viber", "remove-phone-exceptions" },
  viber_phone_exceptions = { "viber", "phone-exceptions" },
  automation_flows = { "automation", "flows" },
  automation_flow_total_stats = { "automation", "flow-total-stats" },
  delete_automation_event_logs = { "automation", "delete-event-logs" },
  email_tags = { "emails", "tags" },
  create_email_tag = { "emails", "create-tag" },
  update_email_tag = { "emails", "update-tag" },
  delete_email_tag = { "emails", "delete-tag" },
  pin_tag_to_email = { "emails", "pin-tag-to-email" },
  pin_tag_to_phone = { "emails", "pin-tag-to-phone" },
  unpin_tag_from_email = { "emails", "unpin-tag-from-email" },
  unpin_tag_from_phone = { "emails", "unpin-tag-from-phone" },
  update_address_book_phone = { "address-books", "update-phone" },
  template_by_slug = { "templates", "get-by-slug" },
  download_verification_report = { "verifier", "download-report" },
  smtp_add_sender_domain = { "smtp", "add-sender-domain" },
  smtp_emails_info = { "smtp", "emails-info" },
  smtp_resubscribe = { "smtp", "resubscribe-sender" },
  smtp_search_unsubscribed = { "smtp", "search-unsubscribed" },
  smtp_sender_domains = { "smtp", "sender-domains" },
}

-- The group of a flat method missing from FLAT (one added to the tables
-- later): its service's, under the method's own name.
local SERVICE_GROUPS = {
  email = "emails", smtp = "smtp", sms = "sms", viber = "viber", push = "push",
  automation = "automation", verifier = "verifier",
}

--- The command word of a method or a namespace: `create_deal` ->
-- `create-deal`.
function _M.kebab(name)
  return (name:gsub("_", "-"))
end

local kebab = _M.kebab

---------------------------------------------------------------------------
-- Examples: a command line with a value for each required parameter.

local SAMPLE_FORMATS = {
  date = "2024-05-01", ["date-time"] = "2024-05-01T10:00:00Z", time = "10:00",
  email = "frodo@shire.me", uuid = "123e4567-e89b-12d3-a456-426614174000",
  uri = "https://example.com/", ["Y-m-d H:i"] = "'2024-05-01 10:00'",
}

local function first_type(s)
  local t = s.t
  if type(t) == "table" then
    for _, x in ipairs(t) do
      if x ~= "null" then
        return x
      end
    end
  end
  return t
end

local function sample(s)
  if s.e then
    return tostring(s.e[1])
  end
  if s.k ~= nil then
    return tostring(s.k)
  end
  local t = first_type(s)
  if t == "integer" then
    return "1"
  elseif t == "number" then
    return "10"
  elseif t == "boolean" then
    return "true"
  end
  return SAMPLE_FORMATS[s.f] or "text"
end

local function example(prefix, params)
  local words, json = { "sendpulse " .. prefix }, false
  for _, p in ipairs(params) do
    if p.required or p.file then     -- an upload without its file is no example
      if p.file then
        words[#words + 1] = p.name .. "=@report.pdf"
      elseif p.json then
        json = true
      else
        words[#words + 1] = p.name .. "=" .. sample(p.item or p.schema)
      end
    end
  end
  if json then
    words[#words + 1] = "--json @args.json"
  end
  return concat(words, " ")
end

---------------------------------------------------------------------------
-- Rows.

-- What the help page says beyond the summary.
local function description(op, label, each_label, has_path)
  local out = { "Calls " .. label .. "(args): " .. op.verb .. " " .. op.path .. "." }
  if op.deprecated then
    out[#out + 1] = "SendPulse marks this operation as deprecated."
  end
  if each_label then
    out[#out + 1] = "With --all, " .. each_label .. " walks every page; a page size or "
      .. "start given as a parameter then applies to the walk."
  end
  if op.multipart then
    out[#out + 1] = "The request is sent as multipart/form-data: files as NAME=@PATH "
      .. "(NAME=@PATH;type=image/png gives their content type)."
  end
  if op.row.raw then
    out[#out + 1] = "The answer is a file: its bytes go to standard output."
  end
  if has_path then
    out[#out + 1] = "Path parameters may also be given without NAME=, in order."
  end
  return concat(out, " ")
end

local function has_path_params(op)
  for _, p in ipairs(op.params) do
    if p.where == "path" then
      return true
    end
  end
  return false
end

-- The row of a command calling `call`/`each`, named `word` in `group`.
local function operation_row(group, word, op, method, label, each_label, call, each)
  local compiled = require("sendpulse.cli.params").compile(op.params)
  return {
    word, op = op, method = method, params = compiled,
    summary = op.summary or ("Calls " .. label .. "."),
    description = description(op, label, each_label, has_path_params(op)),
    example = example(group .. " " .. word, compiled),
    call = call, each = each,
  }
end

-- sendpulse.services.operations(svc), made once per service.
local described = {}

local function operations_of(svc)
  local list = described[svc]
  if not list then
    list = require("sendpulse.services").operations(svc)
    described[svc] = list
  end
  return list
end

local function service_rows(ns)
  local list = {}
  for _, op in ipairs(operations_of(ns)) do
    local name, each = op.name, op.each
    list[#list + 1] = operation_row(kebab(ns), kebab(name), op, name,
      "client." .. ns .. ":" .. name, each and ("client." .. ns .. ":" .. each),
      function(client, a) local svc = client[ns]; return svc[name](svc, a) end,
      each and function(client, a, o) local svc = client[ns]; return svc[each](svc, a, o) end)
  end
  return list
end

-- The operation of service `svc` named `name`.
local function find_operation(svc, name)
  for _, op in ipairs(operations_of(svc)) do
    if op.name == name then
      return op
    end
  end
end

-- The flat methods by group: { group = { { flat name, word, iterator name }, ... } }.
local function flat_by_group()
  local iterators = {}
  for name, e in pairs(index.flat) do
    if e.each then
      iterators[e[1] .. ":" .. e[2]] = name
    end
  end
  local groups = {}
  for name, e in pairs(index.flat) do
    if not e.each then
      local place = _M.FLAT[name] or { SERVICE_GROUPS[e[1]] or "emails", kebab(name) }
      local g = groups[place[1]] or {}
      groups[place[1]] = g
      g[#g + 1] = { name, place[2], iterators[e[1] .. ":" .. e[2]], e[1], e[2] }
    end
  end
  for _, g in pairs(groups) do
    sort(g, function(x, y) return x[2] < y[2] end)
  end
  return groups
end

local function flat_rows(group, entries)
  local list = {}
  for _, e in ipairs(entries) do
    local name, word, each = e[1], e[2], e[3]
    local op = find_operation(e[4], e[5])
    list[#list + 1] = operation_row(group, word, op, name, "client:" .. name,
      each and ("client:" .. each),
      function(client, a) return client[name](client, a) end,
      each and function(client, a, o) return client[each](client, a, o) end)
  end
  return list
end

--- Declares the groups of the namespaces and the flat methods' rows in
-- registry `reg` (after the tool's own groups), to be filled when needed.
function _M.declare(reg)
  local names = {}
  for ns in pairs(index.namespaces) do
    names[#names + 1] = ns
  end
  sort(names)
  for _, ns in ipairs(names) do
    local g = reg:group{ kebab(ns), _M.SUMMARIES[ns] or ("The " .. kebab(ns) .. " service") }
    g.service = ns
    reg:later(g.name, function(r, group)
      r:load{ group = { group.name }, commands = service_rows(ns) }
    end)
  end
  local by_group = flat_by_group()
  local groups = {}
  for name in pairs(by_group) do
    groups[#groups + 1] = name
  end
  sort(groups)
  for _, name in ipairs(groups) do
    reg:later(name, function(r)
      r:load{ group = { name }, commands = flat_rows(name, by_group[name]) }
    end)
  end
end

return _M
