-- The generic method builder (sendpulse.service), the namespaces and flat
-- methods (sendpulse.services) and the validator (sendpulse.schema), with
-- the client's request replaced by a recorder: no network.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local schema = require "sendpulse.schema"
local service = require "sendpulse.service"
local services = require "sendpulse.services"

local luajit = type(rawget(_G, "jit")) == "table"

-- a client whose requests are recorded and answered with `answer`
local function recording_client(answer)
  local c = sendpulse.new{ api_key = "recorder-key", base_url = "http://127.0.0.1:9" }
  local sent = {}
  rawset(c, "request", function(_, verb, path, query, body, opts)
    sent[#sent + 1] = { verb = verb, path = path, query = query, body = body, opts = opts }
    if type(answer) == "function" then
      return answer(sent[#sent])
    end
    return answer or { result = true }
  end)
  return c, sent
end

local function raises(pattern, fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "no error raised")
  assert.matches(pattern, tostring(err), 1, true)
  return tostring(err)
end

describe("generated methods", function()
  local client, sent

  before_each(function()
    client, sent = recording_client()
  end)

  it("are made on first use and kept: client.crm is one object per client", function()
    local fresh = recording_client()
    assert.is_nil(rawget(fresh, "crm"))
    local crm = fresh.crm
    assert.equal(crm, rawget(fresh, "crm"))
    assert.equal(crm, fresh.crm)
    assert.is_nil(fresh.no_such_service)
    assert.is_function(crm.create_deal)
    assert.is_nil(crm.no_such_method)
    assert.matches("sendpulse service crm", tostring(crm), 1, true)
  end)

  it("send path, query and body fields from one args table", function()
    assert(client.crm:update_contact{ contactId = 42, firstName = "Frodo", responsibleId = 7 })
    assert.equal("PUT", sent[1].verb)
    assert.equal("/crm/v1/contacts/42", sent[1].path)
    assert.is_nil(sent[1].query)
    assert.same({ firstName = "Frodo", responsibleId = 7 }, sent[1].body)

    assert(client.telegram:get_contacts_by_tag{ bot_id = "5f8d0f2a9c1e4b0012345678", tag = "vip",
                                                size = 10 })
    assert.equal("GET", sent[2].verb)
    assert.equal("/telegram/contacts/getByTag", sent[2].path)
    assert.same({ bot_id = "5f8d0f2a9c1e4b0012345678", tag = "vip", size = 10 }, sent[2].query)
    assert.is_nil(sent[2].body)
  end)

  it("percent-encode path parameters", function()
    assert(client.files:get_directory_contents{ path = "a b/c?d" })
    assert.equal("/fm/public/v1/directory/a%20b%2Fc%3Fd", sent[1].path)
  end)

  it("keep ids exact", function()
    if luajit then
      -- integral floats up to 2^53 on LuaJIT; beyond, an id is not exact
      assert(client.crm:get_deal{ dealId = 2 ^ 53 })
      assert.equal("/crm/v1/deals/9007199254740992", sent[1].path)
      raises("bad argument 'args.dealId' to crm:get_deal (an integer expected",
             function() client.crm:get_deal{ dealId = 2 ^ 53 + 2 } end)
    else
      local big = math.tointeger(2 ^ 62) + 1
      assert(client.crm:get_deal{ dealId = big })
      assert.equal("/crm/v1/deals/4611686018427387905", sent[1].path)
      assert(client.crm:update_contact{ contactId = 1, responsibleId = big })
      assert.equal('{"responsibleId":4611686018427387905}', core.json_encode(sent[2].body))
    end
    -- chatbot ids are 24-hex strings: a number is refused
    raises("bad argument 'args.id' to telegram:get_contact (a string expected",
           function() client.telegram:get_contact{ id = 123 } end)
  end)

  it("raise before sending, naming the argument and the operation", function()
    local msg = raises("sendpulse: bad argument 'args.name' to crm:create_pipeline_step",
                       function() client.crm:create_pipeline_step{ pipelineId = 1, name = 5 } end)
    assert.matches("(a string expected, got an integer)", msg, 1, true)
    -- the message points at this file, the caller's line
    assert.matches("service_spec.lua:%d+:", msg)
    raises("bad argument 'args.dealId' to crm:get_deal (required)",
           function() client.crm:get_deal{} end)
    raises("bad argument 'args' to crm:get_deal (a table expected, got number)",
           function() client.crm:get_deal(5) end)
    raises([[bad argument 'args.order' to chatbots:get_dialogs (one of "asc" or "desc" ]]
           .. [[expected, got "up")]],
           function() client.chatbots:get_dialogs{ order = "up" } end)
    raises("bad argument 'args.dealid' to crm:get_deal (unknown field)",
           function() client.crm:get_deal{ dealId = 1, dealid = 2 } end)
    raises("call crm:get_deal with a colon",
           function() client.crm.get_deal{ dealId = 1 } end)
    -- the spec calls the body optional, its fields required: no field
    -- given is a missing field, not an empty body to send
    raises("bad argument 'args.pipelineId' to crm:create_deal (required)",
           function() client.crm:create_deal{} end)
    raises("bad argument 'args.pipelineId' to crm:create_deal (required)",
           function() client.crm:create_deal() end)
    assert.equal(0, #sent)
  end)

  it("check the body as a whole: a required field of a choice", function()
    -- POST /viber: address_book or recipients (oneOf), checked on the body
    local fn = service.method("viber:create_viber_campaign",
                              services.table("viber").ops.create_viber_campaign)
    local base = { message_type = 2, sender_id = 1, message_live_time = 60, send_date = "now" }
    raises("bad argument 'args' to viber:create_viber_campaign (matches none",
           function() fn(client, base) end)
    base.address_book = 5
    assert(fn(client, base))
    assert.equal(5, sent[1].body.address_book)
  end)

  it("send an empty table as [] where the spec wants an array", function()
    assert(client.crm:add_contact_emails{ contactId = 1, emails = {} })
    assert.equal('{"emails":[]}', core.json_encode(sent[1].body))
  end)

  it("take a body that is not an object as args.body", function()
    local fn = service.method("smtp:remove_smtp_unsubscribe",
                              services.table("smtp").ops.remove_smtp_unsubscribe)
    assert(fn(client, { body = { "frodo@shire.example" } }))
    assert.same({ "frodo@shire.example" }, sent[1].body)
    raises("bad argument 'args.body' to smtp:remove_smtp_unsubscribe (required)",
           function() fn(client, {}) end)
  end)

  it("ask for multipart and raw bodies where the rows say so", function()
    local file = setmetatable({ data = "x", filename = "a.txt" }, { __name = "sendpulse.file" })
    assert(client.files:upload_file{ ["content[]"] = { file }, pathToStore = "/docs" })
    assert.is_true(sent[1].opts.multipart)
    assert.same({ ["content[]"] = { file }, pathToStore = "/docs" }, sent[1].body)
    raises("bad argument 'args.content[][1]' to files:upload_file (a string expected",
           function() client.files:upload_file{ ["content[]"] = { 5 }, pathToStore = "/" } end)
    assert(client:download_verification_report{ id = 1, format = 2 })
    assert.is_true(sent[2].opts.raw)
  end)

  it("return true for an empty 2xx where the spec says there is no content", function()
    local c = recording_client(function()
      return nil, setmetatable({ kind = "decode", status = 200, body = "" }, core.error_mt)
    end)
    assert.is_true(c.crm:approve_payment{ paymentId = 3 })
    -- where the spec promises JSON, the decode error stays an error
    local res, err = c.crm:get_deal{ dealId = 3 }
    assert.is_nil(res)
    assert.equal("decode", err.kind)
  end)

  it("return nil, err as the client does", function()
    local c = recording_client(function()
      return nil, setmetatable({ kind = "api", status = 404, code = 404 }, core.error_mt)
    end)
    local res, err = c.crm:get_deal{ dealId = 3 }
    assert.is_nil(res)
    assert.equal(404, err.status)
  end)

  it("share one name for the operations every chatbot channel has", function()
    for _, ch in ipairs{ "messenger", "instagram", "telegram", "whatsapp", "viber_bots",
                         "tiktok", "live_chat" } do
      local ops = services.table(ch).ops
      -- GET /contacts/get is getContact in six specs and getContactById in one
      assert.is_table(ops.get_contact, ch)
      assert.is_table(ops.delete_contact_note, ch)   -- Messenger's spec names none
      assert.is_function(client[ch].get_contact)
    end
  end)

  it("flat methods of the older areas are built from the same rows", function()
    assert(client:email_tags())
    assert.equal("GET", sent[1].verb)
    assert.equal("/tags", sent[1].path)
    assert(client:update_email_tag{ id = 7, name = "vip", color = "#fff" })
    assert.equal("/tags/7", sent[2].path)
    raises("bad argument 'args.name' to update_email_tag (required)",
           function() client:update_email_tag{ id = 7, color = "#fff" } end)
  end)
end)

describe("iterators of generated services", function()
  it("walk a POST-body paged list up to its total", function()
    local all = {}
    for i = 1, 7 do
      all[i] = { id = i }
    end
    local client, sent = recording_client(function(req)
      local page = {}
      for i = req.body.offset + 1, math.min(req.body.offset + req.body.limit, #all) do
        page[#page + 1] = all[i]
      end
      return { data = page, meta = { total = #all } }
    end)
    local ids = {}
    for deal, err in client.crm:each_deal({ pipelineIds = { 1 } }, { limit = 3 }) do
      assert(deal, err)
      ids[#ids + 1] = deal.id
    end
    assert.same({ 1, 2, 3, 4, 5, 6, 7 }, ids)
    assert.equal(2, #sent)          -- 4 + 3 items, the total ends it
    assert.equal("POST", sent[1].verb)
    assert.same({ 1 }, sent[1].body.pipelineIds)
    assert.equal(0, sent[1].body.offset)
    assert.equal(4, sent[1].body.limit)     -- one more than yielded: the probe
    assert.equal(4, sent[2].body.offset)
  end)

  it("walk size/skip pages of a chatbot channel", function()
    local client, sent = recording_client(function(req)
      local page = {}
      for i = req.query.skip + 1, math.min(req.query.skip + req.query.size, 5) do
        page[#page + 1] = { id = tostring(i) }
      end
      return { success = true, data = page }
    end)
    local n = 0
    for tag in client.telegram:each_tag({ bot_id = "5f8d0f2a9c1e4b0012345678" }, { limit = 2 }) do
      n = n + 1
      assert.is_string(tag.id)
    end
    assert.equal(5, n)
    assert.equal(3, #sent)          -- 3 + 3 probe items, then the last 1
  end)

  it("refuse the paging keys and check the other arguments at once", function()
    local client, sent = recording_client()
    raises("bad argument 'args.skip' to telegram:each_tag (set by the iterator",
           function() client.telegram:each_tag{ bot_id = "x", skip = 1 } end)
    raises("bad argument 'args.bot_id' to telegram:each_tag (required)",
           function() client.telegram:each_tag{} end)
    raises("bad argument 'opts' to telegram:each_tag",
           function() client.telegram:each_tag({ bot_id = "x" }, { page = 1 }) end)
    assert.equal(0, #sent)
  end)

  it("the flat iterator of the newer automation flows", function()
    local client, sent = recording_client(function(req)
      return { data = req.query.offset == 0 and { { id = 1 } } or {} }
    end)
    local n = 0
    for flow in client:each_automation_flow() do
      n = n + flow.id
    end
    assert.equal(1, n)
    assert.equal(1, #sent)
  end)
end)

describe("sendpulse.schema", function()
  local null = core.null

  it("names JSON types of Lua values", function()
    assert.equal("integer", schema.json_type(3))
    assert.equal("integer", schema.json_type(3.0))
    assert.equal("number", schema.json_type(3.5))
    assert.is_nil(schema.json_type(0 / 0))
    assert.equal("empty", schema.json_type({}))
    assert.equal("array", schema.json_type({ 1, 2 }))
    assert.equal("array", schema.json_type(sendpulse.array()))
    assert.equal("object", schema.json_type({ a = 1 }))
    assert.is_nil(schema.json_type({ 1, a = 2 }))
    assert.equal("null", schema.json_type(null))
    assert.is_nil(schema.json_type(print))
  end)

  it("checks types, enums, formats, bounds and nesting", function()
    local s = { t = "object", r = { "when" }, p = {
      when = { t = "string", f = "date-time" },
      kind = { t = { "string", "null" }, e = { "a", "b" }, en = true },
      n = { t = "integer", min = 1, max = 5 },
      tags = { t = "array", maxi = 2, i = { t = "string", minl = 1 } },
    } }
    assert.is_true(schema.check(s, { when = "2024-01-15T10:00:00Z", kind = null, n = 5 }))
    local function bad(v, where, why)
      local ok, w, y = schema.check(s, v, "args")
      assert.is_false(ok)
      assert.equal(where, w)
      assert.matches(why, y, 1, true)
    end
    bad({}, "args.when", "required")
    bad({ when = "2024-01-15 10:00" }, "args.when", "RFC 3339")
    bad({ when = "2024-01-15T10:00:00Z", kind = "c" }, "args.kind", 'one of "a", "b" or null')
    bad({ when = "2024-01-15T10:00:00Z", n = 6 }, "args.n", "at most 5")
    bad({ when = "2024-01-15T10:00:00Z", n = 1.5 }, "args.n", "an integer expected, got a number")
    bad({ when = "2024-01-15T10:00:00Z", tags = { "x", "" } }, "args.tags[2]", "must not be empty")
    bad({ when = "2024-01-15T10:00:00Z", tags = { "x", "y", "z" } }, "args.tags", "at most 2")
  end)

  it("checks host names label by label", function()
    local host = { t = "string", f = "hostname" }
    for _, ok in ipairs{ "shop.example", "a", "x-y.example.com", "xn--80ak6aa92e.com",
                         ("a"):rep(63) .. ".example" } do
      assert.is_true(schema.check(host, ok), ok)
    end
    for _, bad in ipairs{ "", "a..b", "-a.example", "a-.example", "a.example.", "a b.example",
                          "a_b.example", ("a"):rep(64) .. ".example", ("a."):rep(127) .. "ab" } do
      local ok, _, why = schema.check(host, bad)
      assert.is_false(ok, bad)
      assert.matches("a host name expected", why, 1, true)
    end
  end)

  it("checks oneOf (exactly one) and anyOf (at least one)", function()
    local one = { one = { { t = "string" }, { t = "integer" } } }
    assert.is_true(schema.check(one, "x"))
    assert.is_true(schema.check(one, 3))
    assert.is_false(schema.check(one, true))
    local overlap = { one = { { t = "object" }, { t = "object" } } }
    local ok, _, why = schema.check(overlap, { a = 1 })
    assert.is_false(ok)
    assert.matches("exactly one", why, 1, true)
    assert.is_true(schema.check({ any = overlap.one }, { a = 1 }))
  end)

  it("reads path and query text as the schema's type", function()
    assert.equal(42, schema.from_string({ t = "integer" }, "42"))
    assert.is_true(schema.from_string({ t = "boolean" }, "true"))
    assert.equal("x", schema.from_string({ t = "string" }, "x"))
    local v, why = schema.from_string({ t = "integer" }, "4x")
    assert.is_nil(v)
    assert.matches("an integer expected", why, 1, true)
  end)

  it("describes schemas for help texts", function()
    assert.equal("list of integer", schema.describe{ t = "array", i = { t = "integer" } })
    assert.equal('one of "a" or "b"', schema.describe{ t = "string", e = { "a", "b" } })
    assert.equal("string (date)", schema.describe{ t = "string", f = "date" })
  end)

  it("takes an empty enum: no value matches, and the texts say so", function()
    local empty = { t = "string", e = {} }
    assert.equal("nothing", schema.enum_text(empty))
    assert.equal("null", schema.enum_text{ e = {}, en = true })
    assert.equal("no value (an empty enum)", schema.describe(empty))
    local ok, where, why = schema.check(empty, "a", "args.kind")
    assert.is_false(ok)
    assert.equal("args.kind", where)
    assert.equal([[no value allowed (the schema's enum is empty), got "a"]], why)
    local _
    ok, _, why = schema.check({ e = {} }, null, "v")
    assert.is_false(ok)
    assert.matches("enum is empty), got null", why, 1, true)
    assert.is_true(schema.check({ e = {}, en = true }, null))
    assert.equal("one of 1", schema.describe{ e = { 1 } })
  end)
end)

describe("sendpulse.services.operations", function()
  it("lists a service's operations with their parameters, for the CLI", function()
    local ops = services.operations("crm")
    assert.equal(191, #ops)
    local deal
    for _, op in ipairs(ops) do
      if op.name == "get_deals_list" then
        deal = op
      end
    end
    assert.equal("POST", deal.verb)
    assert.equal("/crm/v1/deals/get-list", deal.path)
    assert.equal("getDealsList", deal.operation_id)
    assert.equal("each_deal", deal.each)
    assert.is_string(deal.summary)
    assert.equal("fields", deal.body)
    local names = {}
    for _, p in ipairs(deal.params) do
      names[#names + 1] = p.name .. ":" .. p.where
    end
    assert.truthy(table.concat(names, " "):find("limit:body", 1, true))
  end)
end)
