-- Contacts across all mailing lists, against the sandbox.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise a "bad argument 'name'" error pointing at the caller's
-- line (this file) before sending anything.
local function raises(name, fn)
  sandbox.bad_argument(name, fn, true)
end

describe("emails across lists #sandbox", function()
  local client, shire, gondor

  before_each(function()
    client = sandbox.fresh_client()
    shire = assert(client:create_address_book("Shire")).id
    gondor = assert(client:create_address_book("Gondor")).id
    assert(client:add_emails(shire, {
      { email = "sam+garden@shire.me", variables = { name = "Sam" } },
      "frodo@shire.me",
    }))
    assert(client:add_emails(gondor, {
      { email = "sam+garden@shire.me", variables = { rank = "guest" } },
      "aragorn@gondor.gov",
    }))
  end)

  after_each(function()
    client:close()
  end)

  it("email_info lists the address in every book, path escaped", function()
    local info = assert(client:email_info("sam+garden@shire.me"))
    local req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/emails/sam%2Bgarden%40shire.me", req.path)
    assert.equal(2, #info)
    assert.equal(shire, info[1].book_id)
    assert.equal(gondor, info[2].book_id)
    assert.equal("sam+garden@shire.me", info[1].email)
    assert.same({ { name = "name", type = "string", value = "Sam" } }, info[1].variables)
    assert.same({ { name = "rank", type = "string", value = "guest" } }, info[2].variables)
    local res, err = client:email_info("gollum@misty.me")
    assert.is_nil(res)
    assert.equal(17, err.code)
    assert.equal(404, err.status)
  end)

  it("emails_info posts a list and gets a map", function()
    local found = assert(client:emails_info{ "frodo@shire.me", "aragorn@gondor.gov",
                                            "gollum@misty.me" })
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/emails", req.path)
    assert.same({ emails = { "frodo@shire.me", "aragorn@gondor.gov", "gollum@misty.me" } },
                json.decode(req.body))
    assert.equal(shire, found["frodo@shire.me"][1].book_id)
    assert.equal(gondor, found["aragorn@gondor.gov"][1].book_id)
    assert.same({}, found["gollum@misty.me"])
  end)

  it("email_details tells when and how the address joined each list", function()
    local details = assert(client:email_details("sam+garden@shire.me"))
    assert.equal("/emails/sam%2Bgarden%40shire.me/details", sandbox.last().path)
    assert.equal(2, #details)
    assert.equal("Shire", details[1].list_name)
    assert.equal(shire, details[1].list_id)
    assert.equal("Gondor", details[2].list_name)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", details[1].add_date)
    assert.equal("api", details[1].source)
    local _, err = client:email_details("gollum@misty.me")
    assert.equal(17, err.code)
  end)

  it("delete_email removes the address from every list", function()
    assert.same({ result = true }, assert(client:delete_email("sam+garden@shire.me")))
    local req = sandbox.last()
    assert.equal("DELETE", req.method)
    assert.equal("/emails/sam%2Bgarden%40shire.me", req.path)
    assert.equal(1, assert(client:address_book_emails_total(shire)).total)
    assert.equal(1, assert(client:address_book_emails_total(gondor)).total)
    local _, err = client:email_info("sam+garden@shire.me")
    assert.equal(17, err.code)
    _, err = client:delete_email("sam+garden@shire.me")
    assert.equal(17, err.code)
  end)

  it("email_campaigns gives the statistics, lists and blacklist flag", function()
    local s = assert(client:email_campaigns("frodo@shire.me"))
    assert.equal("/emails/frodo%40shire.me/campaigns", sandbox.last().path)
    assert.is_number(s.statistic.sent)
    assert.is_number(s.statistic.open)
    assert.is_number(s.statistic.link)
    assert.same({ { id = shire, address_book_name = "Shire" } }, s.addressbooks)
    assert.is_false(s.blacklist)
    assert(client:add_to_blacklist{ "frodo@shire.me" })
    assert.is_true(assert(client:email_campaigns("frodo@shire.me")).blacklist)
  end)

  it("emails_campaigns keeps the API's misspelt adressbooks key", function()
    assert(client:add_to_blacklist{ "aragorn@gondor.gov" })
    local s = assert(client:emails_campaigns{ "sam+garden@shire.me", "aragorn@gondor.gov" })
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/emails/campaigns", req.path)
    assert.same({ emails = { "sam+garden@shire.me", "aragorn@gondor.gov" } },
                json.decode(req.body))
    local sam = s["sam+garden@shire.me"]
    assert.same({ { id = shire, name = "Shire" }, { id = gondor, name = "Gondor" } },
                sam.adressbooks)
    assert.is_nil(sam.addressbooks)
    assert.is_false(sam.blacklist)
    assert.is_number(sam.sent)
    assert.is_true(s["aragorn@gondor.gov"].blacklist)
  end)

  -- A campaign through the generic verb (the campaigns area's own
  -- methods are specified elsewhere): body is base64 of "<p>Hi</p>".
  local function send_campaign(list_id, send_date)
    return assert(client:post("/campaigns", {
      sender_name = "Gandalf", sender_email = "gandalf@istari.org",
      subject = "News", body = "PHA+SGk8L3A+", list_id = list_id,
      send_date = send_date,
    })).id
  end

  it("campaign_email_status puts the campaign id and the address in the path", function()
    local id = send_campaign(shire)
    local s = assert(client:campaign_email_status(id, "sam+garden@shire.me"))
    local req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/campaigns/" .. id .. "/email/sam%2Bgarden%40shire.me", req.path)
    assert.equal(1, s.global_status)
    assert.equal("Sent", s.global_status_explain)
    assert.equal("Delivered", s.detail_status_explain)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$", s.send_date)

    local res, err = client:campaign_email_status(id, "aragorn@gondor.gov")
    assert.is_nil(res)
    assert.equal(17, err.code)
    res, err = client:campaign_email_status(424242, "frodo@shire.me")
    assert.is_nil(res)
    assert.equal("/campaigns/424242/email/frodo%40shire.me", sandbox.last().path)
    assert.equal(802, err.code)
    assert.equal("Campaign not found", err.message)
  end)

  it("campaign_email_status of a scheduled campaign is in queue", function()
    local id = send_campaign(gondor, os.date("!%Y-%m-%d %H:%M:%S", os.time() + 86400))
    local s = assert(client:campaign_email_status(id, "aragorn@gondor.gov"))
    assert.equal(0, s.global_status)
    assert.equal("In queue", s.global_status_explain)
  end)

  it("email_campaigns and emails_campaigns count the campaigns sent", function()
    send_campaign(shire)
    send_campaign(gondor)
    assert.equal(2, assert(client:email_campaigns("sam+garden@shire.me")).statistic.sent)
    local s = assert(client:emails_campaigns{ "frodo@shire.me", "aragorn@gondor.gov",
                                              "gollum@misty.me" })
    assert.equal(1, s["frodo@shire.me"].sent)
    assert.equal(1, s["aragorn@gondor.gov"].sent)
    assert.equal(0, s["gollum@misty.me"].sent)
    assert.same({}, s["gollum@misty.me"].adressbooks)
  end)

  it("checks its arguments before sending anything", function()
    raises("email", function() client:email_info("frodo") end)
    raises("email", function() client:email_info(nil) end)
    raises("emails", function() client:emails_info({}) end)
    raises("emails[2]", function() client:emails_info{ "a@b.c", 7 } end)
    raises("email", function() client:email_details("x y@z") end)
    raises("email", function() client:delete_email("") end)
    raises("email", function() client:email_campaigns({}) end)
    raises("emails[1]", function() client:emails_campaigns{ "nobody" } end)
    raises("emails", function() client:emails_campaigns("a@b.c") end)
    raises("id", function() client:campaign_email_status("1", "a@b.c") end)
    raises("email", function() client:campaign_email_status(1, "a") end)
  end)
end)
