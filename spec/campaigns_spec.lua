-- Campaigns against the sandbox: what is sent (verb, path, base64 bodies,
-- attachments, dates) and what comes back, errors, paging, argument checks.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local sandbox = require "support.sandbox"

local json = sendpulse.json
local unbase64 = core.base64_decode

-- Calls fn, which must raise an error containing `text`, and checks that
-- nothing reached the sandbox.
local raises = sandbox.raises

describe("campaigns #sandbox", function()
  local client, book

  -- A mailing list with contacts, through the generic verbs.
  local function make_book(emails)
    local id = assert(client:post("/addressbooks", { bookName = "readers" })).id
    assert(client:post(sendpulse.path("addressbooks", id, "emails"),
                       { emails = emails or { "frodo@shire.me", "sam@gondor.uk",
                                              "merry@example.com" } }))
    return id
  end

  -- A valid campaign, with fields changed (sandbox.NONE removes one).
  local function campaign(fields)
    return sandbox.merge({
      sender_name = "Shire Post", sender_email = "post@shire.me",
      subject = "News", body = "<h1>Hello</h1>", list_id = book,
    }, fields)
  end

  before_each(function()
    client = sandbox.fresh_client()
    book = make_book()
  end)

  after_each(function()
    client:close()
  end)

  it("create_campaign base64-encodes body and body_amp, keeps attachments, "
     .. "encodes attachments_binary and formats an os.time() send date", function()
    local when = os.time() + 86400
    local html = "<h1>Hello, {{name}}</h1><p>Ünïcödé</p>"
    local binary = "\0\1\2\255\254PNG\r\n"
    local res = assert(client:create_campaign(campaign{
      body = html, body_amp = "<html amp4email>amp</html>", name = "October",
      send_date = when,
      attachments = { ["notes.txt"] = "plain notes" },
      attachments_binary = { ["logo.png"] = binary },
    }))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/campaigns", req.path)
    assert.equal("application/json", req.content_type)
    local sent = json.decode(req.body)
    assert.is_nil(sent.template_id)
    assert.equal(html, unbase64(sent.body))
    assert.equal(core.base64_encode(html), sent.body)
    assert.equal("<html amp4email>amp</html>", unbase64(sent.body_amp))
    assert.same({ ["notes.txt"] = "plain notes" }, sent.attachments)
    assert.equal(binary, unbase64(sent.attachments_binary["logo.png"]))
    assert.equal(os.date("%Y-%m-%d %H:%M:%S", when), sent.send_date)
    assert.equal(book, sent.list_id)
    assert.is_nil(sent.segment_id)
    assert.equal("Shire Post", sent.sender_name)

    assert.is_number(res.id)
    assert.equal("October", res.name)
    assert.equal(13, res.status)                   -- scheduled
    assert.equal(3, res.all_email_qty)
    assert.equal("0.00", res.overdraft_price)      -- a string, as sent
    assert.equal(sent.send_date, res.send_date)

    local info = assert(client:campaign(res.id))
    assert.equal("/campaigns/" .. res.id, sandbox.last().path)
    assert.equal(html, info.message.body)          -- HTML in the answer
    assert.equal("logo.png,notes.txt", info.message.attachments)
    assert.equal(0, info.statistics.sent)
  end)

  it("a campaign without send_date goes out at once, with statistics", function()
    local res = assert(client:create_campaign(campaign{
      body = '<a href="https://shire.me/news">news</a> <a href="https://shire.me/shop">shop</a>',
    }))
    assert.equal(3, res.status)                    -- sent
    local info = assert(client:campaign(res.id))
    assert.equal(3, info.statistics.sent)

    local countries = assert(client:campaign_countries(res.id))
    assert.equal("GET", sandbox.last().method)
    assert.equal("/campaigns/" .. res.id .. "/countries", sandbox.last().path)
    assert.same({ ME = 1, GB = 1, US = 1 }, countries)

    local referrals = assert(client:campaign_referrals(res.id))
    assert.equal("/campaigns/" .. res.id .. "/referrals", sandbox.last().path)
    assert.same({ { link = "https://shire.me/news", count = 0 },
                  { link = "https://shire.me/shop", count = 0 } }, referrals)
  end)

  it("unsubscribed contacts are left out of a campaign", function()
    assert(client:post(sendpulse.path("addressbooks", book, "emails", "unsubscribe"),
                       { emails = { "sam@gondor.uk" } }))
    local res = assert(client:create_campaign(campaign()))
    assert.equal(2, res.all_email_qty)
    assert.same({ ME = 1, US = 1 }, assert(client:campaign_countries(res.id)))
  end)

  it("countries of an unsent campaign: the API's [] is an empty table", function()
    local id = assert(client:create_campaign(campaign{ send_date = "2099-01-01 10:00:00" })).id
    local countries = assert(client:campaign_countries(id))
    assert.same({}, countries)
    assert.is_nil(next(countries))
    assert.equal("[]", json.encode(countries))     -- as the API sent it
    assert.same({}, assert(client:campaign_referrals(id)))
  end)

  it("template_id replaces the body; segment_id replaces list_id", function()
    local real_id = assert(client:create_template{ body = "<p>From a template</p>" }).real_id
    local id = assert(client:create_campaign(campaign{ body = sandbox.NONE,
                                                       template_id = real_id })).id
    local sent = sandbox.last_body()
    assert.equal(real_id, sent.template_id)
    assert.is_nil(sent.body)
    assert.equal("<p>From a template</p>", assert(client:campaign(id)).message.body)

    local seg = assert(client:create_campaign(campaign{ list_id = sandbox.NONE,
                                                        segment_id = 77 }))
    sent = sandbox.last_body()
    assert.equal(77, sent.segment_id)
    assert.is_nil(sent.list_id)
    assert.equal(77, assert(client:campaign(seg.id)).message.segment_id)
  end)

  it("campaigns lists one page with limit/offset", function()
    local ids = {}
    for i = 1, 3 do
      ids[i] = assert(client:create_campaign(campaign{ name = "c" .. i })).id
    end
    local page = assert(client:campaigns{ limit = 2, offset = 1 })
    assert.equal("limit=2&offset=1", sandbox.last().query)
    assert.equal(2, #page)
    assert.equal(ids[2], page[1].id)
    assert.equal(ids[3], page[2].id)
    assert.equal("c2", page[1].name)
    assert.same({}, assert(client:campaigns{ offset = 10 }))
  end)

  it("each_campaign walks every page and stops without an empty request", function()
    local ids = {}
    for i = 1, 4 do
      ids[i] = assert(client:create_campaign(campaign{ name = "c" .. i })).id
    end
    local before = sandbox.count("GET /campaigns")
    local seen = {}
    for c, err in client:each_campaign{ limit = 2 } do
      assert(c, err)
      seen[#seen + 1] = c.id
    end
    assert.same(ids, seen)
    assert.equal(2, sandbox.count("GET /campaigns") - before)

    seen = {}
    for c in client:each_campaign{ limit = 1, max = 2, offset = 1 } do
      seen[#seen + 1] = c.id
    end
    assert.same({ ids[2], ids[3] }, seen)
  end)

  it("update_campaign PATCHes only the given fields, base64 included", function()
    local id = assert(client:create_campaign(campaign{ send_date = "2099-01-01 10:00:00" })).id
    local res = assert(client:update_campaign(id, { subject = "Later news",
                                                    body = "<p>new</p>" }))
    local req = sandbox.last()
    assert.equal("PATCH", req.method)
    assert.equal("/campaigns/" .. id, req.path)
    local sent = json.decode(req.body)
    assert.same({ subject = "Later news", body = core.base64_encode("<p>new</p>") }, sent)
    assert.same({ result = true, id = id }, res)
    local info = assert(client:campaign(id))
    assert.equal("Later news", info.message.subject)
    assert.equal("<p>new</p>", info.message.body)
    assert.equal("News", info.name)                -- untouched
  end)

  it("cancel_campaign cancels a scheduled campaign, which stays listed", function()
    local id = assert(client:create_campaign(campaign{ send_date = "2099-01-01 10:00:00" })).id
    assert.same({ result = true }, assert(client:cancel_campaign(id)))
    local req = sandbox.last()
    assert.equal("DELETE", req.method)
    assert.equal("/campaigns/" .. id, req.path)
    assert.equal(4, assert(client:campaign(id)).status)
    assert.equal(id, assert(client:campaigns())[1].id)

    local res, err = client:cancel_campaign(id)
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(602, err.code)
    assert.equal("Can’t find the campaign. Probably, it has already been sent.", err.message)
    res, err = client:update_campaign(id, { subject = "x" })
    assert.is_nil(res)
    assert.equal(602, err.code)

    local sent = assert(client:create_campaign(campaign())).id
    res, err = client:cancel_campaign(sent)
    assert.is_nil(res)
    assert.equal(602, err.code)
  end)

  it("answers the seed's errors: unknown list, unknown campaign, dates, "
     .. "free mail, empty list", function()
    local res, err = client:create_campaign(campaign{ list_id = 999 })
    assert.is_nil(res)
    assert.equal(703, err.code)
    assert.equal("Can’t find the mailing list", err.message)

    res, err = client:campaign(4999999)
    assert.is_nil(res)
    assert.equal(404, err.status)
    assert.equal(802, err.code)
    assert.equal("Campaign not found", err.message)
    for _, method in ipairs{ "campaign_countries", "campaign_referrals", "cancel_campaign" } do
      res, err = client[method](client, 4999999)
      assert.is_nil(res)
      assert.equal(802, err.code)
    end

    res, err = client:create_campaign(campaign{ send_date = "2001-01-01 00:00:00" })
    assert.is_nil(res)
    assert.equal(799, err.code)

    res, err = client:create_campaign(campaign{ sender_email = "hobbit@gmail.com" })
    assert.is_nil(res)
    assert.equal(97, err.code)

    local empty = assert(client:post("/addressbooks", { bookName = "empty" })).id
    res, err = client:create_campaign(campaign{ list_id = empty })
    assert.is_nil(res)
    assert.equal(211, err.code)
    assert.equal("Mailing list empty", err.message)
  end)

  it("the fifth campaign within an hour gets 791; reset clears the count", function()
    for i = 1, 4 do
      assert(client:create_campaign(campaign{ name = "c" .. i }))
    end
    local res, err = client:create_campaign(campaign{ name = "c5" })
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(791, err.code)
    assert.equal("API-campaigns limit exceeded (4 per hour)", err.message)
    assert.equal(4, #assert(client:campaigns()))

    sandbox.reset()
    book = make_book()
    assert.is_number(assert(client:create_campaign(campaign{ name = "c6" })).id)
  end)

  it("checks arguments before sending anything", function()
    raises("'campaign' to create_campaign (a table expected", function()
      client:create_campaign("news")
    end)
    raises("'campaign.sender_name' to create_campaign", function()
      client:create_campaign(campaign{ sender_name = sandbox.NONE })
    end)
    raises("'campaign.sender_email' to create_campaign (not an email address", function()
      client:create_campaign(campaign{ sender_email = "post.shire.me" })
    end)
    raises("'campaign.subject'", function()
      client:create_campaign(campaign{ subject = "" })
    end)
    raises("'campaign.type' to create_campaign (\"draft\" expected, got test)", function()
      client:create_campaign(campaign{ type = "test" })
    end)
    raises("give body or template_id, not both", function()
      client:create_campaign(campaign{ template_id = 5 })
    end)
    raises("body (HTML) or template_id required", function()
      client:create_campaign(campaign{ body = sandbox.NONE })
    end)
    raises("give list_id or segment_id, not both", function()
      client:create_campaign(campaign{ segment_id = 5 })
    end)
    raises("list_id or segment_id required", function()
      client:create_campaign(campaign{ list_id = sandbox.NONE })
    end)
    raises("'campaign.list_id' to create_campaign (an integer expected", function()
      client:create_campaign(campaign{ list_id = "12" })
    end)
    raises("'campaign.send_date'", function()
      client:create_campaign(campaign{ send_date = "tomorrow" })
    end)
    raises("unknown field 'sender'", function()
      client:create_campaign(campaign{ sender = "x" })
    end)
    raises("'campaign.attachments[a.txt]' to create_campaign (a string expected", function()
      client:create_campaign(campaign{ attachments = { ["a.txt"] = 42 } })
    end)
    raises("'campaign.attachments_binary' to create_campaign (a map of file names", function()
      client:create_campaign(campaign{ attachments_binary = { "raw bytes" } })
    end)
    raises("'campaign.is_test' to create_campaign (a boolean expected", function()
      client:create_campaign(campaign{ is_test = 1 })
    end)
    raises("'changes' to update_campaign (nothing to change)", function()
      client:update_campaign(1, {})
    end)
    raises("'changes.sender_email' to update_campaign", function()
      client:update_campaign(1, { sender_email = "nobody" })
    end)
    raises("'id' to update_campaign (an integer expected", function()
      client:update_campaign("1", { subject = "x" })
    end)
    raises("'id' to campaign (an integer expected", function()
      client:campaign(nil)
    end)
    raises("'id' to cancel_campaign", function()
      client:cancel_campaign(1.5)
    end)
    raises("'id' to campaign_countries", function()
      client:campaign_countries("x")
    end)
    raises("'id' to campaign_referrals", function()
      client:campaign_referrals({})
    end)
    raises("unknown option 'page'", function()
      client:campaigns{ page = 2 }
    end)
    raises("'opts.limit' to each_campaign", function()
      client:each_campaign{ limit = 0 }
    end)
  end)
end)
