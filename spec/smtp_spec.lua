-- SMTP against the sandbox: the nested JSON message with its base64 parts,
-- the history and its filters, bounces with their total, the unsubscribe
-- list in chunks, IPs, senders, domains, errors and argument checks.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local sandbox = require "support.sandbox"

local json = sendpulse.json
local b64 = core.base64_encode
local unbase64 = core.base64_decode

-- The query string of a logged request as a table, percent-decoded.
local function query_of(req)
  local q = {}
  for k, v in (req.query or ""):gmatch("([^&=]+)=([^&]*)") do
    q[k] = sandbox.unescape(v)
  end
  return q
end

-- fn must raise an error holding `text`, and send nothing.
local raises = sandbox.raises

local FROM = { name = "Shire Post", email = "post@shire.me" }

describe("smtp #sandbox", function()
  local client

  local function send(to, fields)
    return assert(client:smtp_send(sandbox.merge({ subject = "Hello", from = FROM, to = to,
                                                   text = "Hello there" }, fields)))
  end

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("smtp_send posts the nested JSON object with base64 html and binary "
     .. "attachments", function()
    local html = "<h1>Your order</h1><p>Ünïcödé</p>"
    local pdf = "%PDF-1.4\0\1\2\255"
    local res = assert(client:smtp_send{
      subject = "Order 42", from = FROM,
      to = { { name = "Frodo", email = "frodo@shire.me" }, "sam+garden@shire.me" },
      cc = { "merry@shire.me" }, bcc = { { email = "pippin@shire.me" } },
      html = html, text = "Your order", auto_plain_text = false,
      attachments = { ["note.txt"] = "see you" },
      attachments_binary = { ["invoice.pdf"] = pdf },
    })
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/smtp/emails", req.path)
    assert.equal("application/json", req.content_type)
    local sent = json.decode(req.body).email
    assert.equal(b64(html), sent.html)
    assert.equal(html, unbase64(sent.html))
    assert.equal("Your order", sent.text)
    assert.equal("Order 42", sent.subject)
    assert.same(FROM, sent.from)
    assert.same({ { name = "Frodo", email = "frodo@shire.me" },
                  { email = "sam+garden@shire.me" } }, sent.to)
    assert.same({ { email = "merry@shire.me" } }, sent.cc)
    assert.same({ { email = "pippin@shire.me" } }, sent.bcc)
    assert.is_false(sent.auto_plain_text)
    assert.same({ ["note.txt"] = "see you" }, sent.attachments)
    assert.equal(pdf, unbase64(sent.attachments_binary["invoice.pdf"]))

    assert.is_true(res.result)
    assert.is_string(res.id)                       -- message ids are strings

    -- the history: one record per recipient, the first one's id returned
    local one = assert(client:smtp_email(res.id))
    assert.equal("GET", sandbox.last().method)
    assert.equal("/smtp/emails/" .. res.id, sandbox.last().path)
    assert.equal(res.id, one.id)
    assert.equal("frodo@shire.me", one.recipient)
    assert.equal("post@shire.me", one.sender)
    assert.equal("Order 42", one.subject)
    assert.equal(250, one.smtp_answer_code)
    assert.same({ click = 0, open = 0, link = {}, client_info = {} }, one.tracking)
    assert.same({ total = 4 }, assert(client:smtp_emails_total()))
    assert.equal("/smtp/emails/total", sandbox.last().path)
  end)

  it("smtp_send sends both parts the spec requires: text from the HTML, HTML from the text",
     function()
    assert(client:smtp_send{ subject = "S", from = FROM, to = { "frodo@shire.me" },
                             html = "<style>p{}</style><h1>Ring &amp; co</h1><p>one<br>two</p>" })
    local sent = sandbox.last_body().email
    assert.equal("Ring & co\none\ntwo", sent.text)
    assert(client:smtp_send{ subject = "S", from = FROM, to = { "frodo@shire.me" },
                             text = "a < b\nc" })
    sent = sandbox.last_body().email
    assert.equal("a < b\nc", sent.text)
    assert.equal("<p>a &lt; b<br>\nc</p>", unbase64(sent.html))
  end)

  it("smtp_send with a template sends {id, variables} and no html", function()
    local real_id = assert(client:create_template{ body = "<p>Hi {{name}}</p>" }).real_id
    assert(client:smtp_send{ subject = "T", from = FROM, to = { "frodo@shire.me" },
                             template = { id = real_id, variables = { name = "Frodo" } } })
    local sent = sandbox.last_body().email
    assert.same({ id = real_id, variables = { name = "Frodo" } }, sent.template)
    assert.is_nil(sent.html)
    assert.is_nil(sent.text)

    local res, err = client:smtp_send{ subject = "T", from = FROM, to = { "frodo@shire.me" },
                                       template = { id = 424242 } }
    assert.is_nil(res)
    assert.equal(404, err.status)
  end)

  it("smtp_emails sends limit, offset and the filters, country off by default", function()
    send({ "frodo@shire.me" })
    send({ "sam@shire.me" })
    send({ "frodo@shire.me" }, { from = { email = "other@shire.me" } })

    local page = assert(client:smtp_emails{ recipient = "frodo@shire.me", limit = 10 })
    local q = query_of(sandbox.last())
    assert.same({ recipient = "frodo@shire.me", limit = "10", country = "off" }, q)
    assert.equal(2, #page)
    assert.equal("frodo@shire.me", page[1].recipient)
    assert.equal("other@shire.me", page[2].sender)

    local today = os.time()
    page = assert(client:smtp_emails{ sender = "other@shire.me", from = today, to = "2099-12-31",
                                      country = true, offset = 0 })
    q = query_of(sandbox.last())
    assert.equal(os.date("%Y-%m-%d", today), q.from)
    assert.equal("2099-12-31", q.to)
    assert.equal("on", q.country)
    assert.equal("0", q.offset)
    assert.equal(1, #page)
    assert.equal("other@shire.me", page[1].sender)

    assert.same({}, assert(client:smtp_emails{ to = "2001-01-01" }))
  end)

  it("each_smtp_email walks the history without an empty request", function()
    for i = 1, 5 do
      send({ "reader" .. i .. "@shire.me" })
    end
    local before = sandbox.count("GET /smtp/emails")
    local seen = {}
    for e, err in client:each_smtp_email{ limit = 2, sender = "post@shire.me" } do
      assert(e, err)
      seen[#seen + 1] = e.recipient
    end
    assert.equal(5, #seen)
    assert.equal("reader5@shire.me", seen[5])
    assert.equal(3, sandbox.count("GET /smtp/emails") - before)
    local q = query_of(sandbox.last())
    assert.equal("post@shire.me", q.sender)
    assert.equal("off", q.country)
  end)

  it("bounces: {total, emails, ...} as sent; the iterator stops at total", function()
    send({ "a@nowhere.invalid", "frodo@shire.me" })
    send({ "b@nowhere.invalid" })
    send({ "c@nowhere.invalid" })

    local page = assert(client:smtp_bounces{ limit = 1, offset = 1, date = os.time() })
    local req = sandbox.last()
    assert.equal("/smtp/bounces/day", req.path)
    assert.same({ limit = "1", offset = "1", date = os.date("%Y-%m-%d") }, query_of(req))
    assert.equal(3, page.total)
    assert.equal(1, page.found)
    assert.equal(1, #page.emails)
    assert.equal("b@nowhere.invalid", page.emails[1].email_to)
    assert.equal(550, page.emails[1].smtp_answer_code)
    assert.equal("5.1.1", page.emails[1].smtp_answer_subcode)

    local before = sandbox.count("GET /smtp/bounces/day")
    local seen = {}
    for b, err in client:each_smtp_bounce{ limit = 1 } do
      assert(b, err)
      seen[#seen + 1] = b.email_to
    end
    assert.same({ "a@nowhere.invalid", "b@nowhere.invalid", "c@nowhere.invalid" }, seen)
    assert.equal(2, sandbox.count("GET /smtp/bounces/day") - before)

    assert.same({ total = 3 }, assert(client:smtp_bounces_total()))
    assert.equal("/smtp/bounces/day/total", sandbox.last().path)
    assert.equal(0, assert(client:smtp_bounces{ date = "2001-01-01" }).total)
  end)

  it("smtp_unsubscribe sends chunks with progress; the list shows them", function()
    local emails = { "a@shire.me", "b@shire.me", { email = "c@shire.me", comment = "asked" },
                     "d@shire.me", "e@shire.me" }
    local progress = {}
    local res = assert(client:smtp_unsubscribe(emails, { concurrency = 1,
      chunk = 2, comment = "bulk",
      on_progress = function(done, total) progress[#progress + 1] = { done, total } end,
    }))
    assert.equal(5, res.done)
    assert.equal(3, res.chunks)
    assert.same({ { 2, 5 }, { 4, 5 }, { 5, 5 } }, progress)
    local posts = sandbox.requests("POST /smtp/unsubscribe")
    assert.equal(3, #posts)
    assert.same({ emails = { { email = "a@shire.me", comment = "bulk" },
                             { email = "b@shire.me", comment = "bulk" } } },
                json.decode(posts[1].body))
    assert.same({ emails = { { email = "c@shire.me", comment = "asked" },
                             { email = "d@shire.me", comment = "bulk" } } },
                json.decode(posts[2].body))
    assert.same({ emails = { { email = "e@shire.me", comment = "bulk" } } },
                json.decode(posts[3].body))

    local list = assert(client:smtp_unsubscribed{ limit = 3, offset = 1 })
    assert.same({ limit = "3", offset = "1" }, query_of(sandbox.last()))
    assert.equal(3, #list)
    assert.equal("b@shire.me", list[1].email)
    assert.equal(1, list[1].unsubscribe_by_user)
    assert.is_string(list[1].date)

    local seen = {}
    for u, err in client:each_smtp_unsubscribed{ limit = 2, date = os.time() } do
      assert(u, err)
      seen[#seen + 1] = u.email
    end
    assert.same({ "a@shire.me", "b@shire.me", "c@shire.me", "d@shire.me", "e@shire.me" }, seen)
    assert.equal(os.date("%Y-%m-%d"), query_of(sandbox.last()).date)
    assert.same({}, assert(client:smtp_unsubscribed{ date = "2001-01-01" }))
  end)

  it("smtp_unsubscribe reports a failing chunk and what was not sent", function()
    local emails = { "a@shire.me", "b@shire.me", "c@shire.me", "d@shire.me", "e@shire.me" }
    local res, err = client:smtp_unsubscribe(emails, { concurrency = 1,
      chunk = 2,
      on_progress = function(done)
        if done == 2 then   -- the second chunk will fail
          sandbox.fault{ path = "/smtp/unsubscribe", method = "POST", status = 400, times = 1,
                         body = { error_code = 906, message = "Email address syntax error" } }
        end
      end,
    })
    assert.is_nil(res)
    assert.equal(906, err.code)
    assert.equal(2, err.chunk)
    assert.equal(3, err.chunks)
    assert.equal(2, err.done)
    assert.same({ { email = "c@shire.me" }, { email = "d@shire.me" }, { email = "e@shire.me" } },
                err.not_done)
    assert.truthy(err.message:find("chunk 2 of 3", 1, true))
    assert.equal(2, #sandbox.requests("POST /smtp/unsubscribe"))   -- stopped there
    local listed = assert(client:smtp_unsubscribed())
    assert.equal(2, #listed)
  end)

  it("smtp_remove_unsubscribed sends DELETEs with a JSON body, in chunks", function()
    assert(client:smtp_unsubscribe({ "a@shire.me", "b@shire.me", "c@shire.me" }))
    local progress = {}
    local res = assert(client:smtp_remove_unsubscribed({ "a@shire.me", "c@shire.me" }, {
      chunk = 1, concurrency = 1,   -- (one at a time: the requests in order)
      on_progress = function(done, total) progress[#progress + 1] = done .. "/" .. total end,
    }))
    assert.equal(2, res.done)
    assert.same({ "1/2", "2/2" }, progress)
    local deletes = sandbox.requests("DELETE /smtp/unsubscribe")
    assert.equal(2, #deletes)
    assert.equal("application/json", deletes[1].content_type)
    assert.same({ emails = { "a@shire.me" } }, json.decode(deletes[1].body))
    assert.same({ emails = { "c@shire.me" } }, json.decode(deletes[2].body))
    local left = assert(client:smtp_unsubscribed())
    assert.equal(1, #left)
    assert.equal("b@shire.me", left[1].email)
  end)

  it("smtp_ips and smtp_senders list strings", function()
    local ips = assert(client:smtp_ips())
    assert.equal("/smtp/ips", sandbox.last().path)
    assert.is_true(#ips >= 1)
    assert.is_truthy(ips[1]:match("^%d+%.%d+%.%d+%.%d+$"))

    assert.same({}, assert(client:smtp_senders()))
    assert(client:add_sender("Post", "post@shire.me"))
    assert(client:activate_sender("post@shire.me", "123456"))
    assert.same({ "post@shire.me" }, assert(client:smtp_senders()))
    assert.equal("GET", sandbox.last().method)
    assert.equal("/smtp/senders", sandbox.last().path)
  end)

  it("domains: add, verify (the address in the path), list", function()
    assert.same({ result = true }, assert(client:smtp_add_domain("postmaster@shire.me")))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/smtp/domains", req.path)
    assert.same({ email = "postmaster@shire.me" }, json.decode(req.body))
    assert.same({}, assert(client:smtp_domains()))         -- not verified yet

    assert.same({ result = true }, assert(client:smtp_verify_domain("postmaster@shire.me")))
    assert.equal("GET", sandbox.last().method)
    assert.equal("/smtp/domains/postmaster%40shire.me", sandbox.last().path)
    assert.same({ "@shire.me" }, assert(client:smtp_domains()))
    assert.equal("/smtp/domains", sandbox.last().path)

    local res, err = client:smtp_add_domain("webmaster@shire.me")
    assert.is_nil(res)
    assert.equal(19, err.code)
    res, err = client:smtp_add_domain("me@gmail.com")
    assert.is_nil(res)
    assert.equal(20, err.code)
    res, err = client:smtp_verify_domain("me@mordor.example")
    assert.is_nil(res)
    assert.equal(17, err.code)
  end)

  it("answers errors: unknown message id, badly formed data (422/999)", function()
    local res, err = client:smtp_email("no-such-id")
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal(14, err.code)
    assert.equal("Can’t find email address with the specified ID", err.message)

    -- what smtp_send prevents: `to` as an object instead of an array
    res, err = client:post("/smtp/emails", { email = {
      subject = "x", from = FROM, text = "x", to = { email = "frodo@shire.me" } } })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.equal(999, err.code)
    assert.equal("Badly formed incoming data", err.message)
    assert.same({ total = 0 }, assert(client:smtp_emails_total()))
  end)

  it("checks arguments before sending anything", function()
    local to = { "frodo@shire.me" }
    raises("'message.to' to smtp_send (a list of recipients expected, not a single one", function()
      client:smtp_send{ subject = "s", from = FROM, text = "t", to = { email = "frodo@shire.me" } }
    end)
    raises("'message.to' to smtp_send (a list of recipients expected, got string", function()
      client:smtp_send{ subject = "s", from = FROM, text = "t", to = "frodo@shire.me" }
    end)
    raises("'message.to' to smtp_send (must not be empty", function()
      client:smtp_send{ subject = "s", from = FROM, text = "t", to = {} }
    end)
    raises("'message.to[2].email' to smtp_send (not an email address", function()
      client:smtp_send{ subject = "s", from = FROM, text = "t",
                        to = { "a@shire.me", { name = "B", email = "b.shire.me" } } }
    end)
    raises("'message.bcc[1]' to smtp_send (not an email address", function()
      client:smtp_send{ subject = "s", from = FROM, text = "t", to = to, bcc = { "nobody" } }
    end)
    raises("'message.from' to smtp_send (a table expected", function()
      client:smtp_send{ subject = "s", text = "t", to = to }
    end)
    raises("'message.from.email' to smtp_send", function()
      client:smtp_send{ subject = "s", from = { name = "x" }, text = "t", to = to }
    end)
    raises("'message.subject' to smtp_send", function()
      client:smtp_send{ from = FROM, text = "t", to = to }
    end)
    raises("html, text or template required", function()
      client:smtp_send{ subject = "s", from = FROM, to = to }
    end)
    raises("template replaces html and text", function()
      client:smtp_send{ subject = "s", from = FROM, to = to, html = "<p>x</p>",
                        template = { id = 1 } }
    end)
    raises("'message.template.id' to smtp_send", function()
      client:smtp_send{ subject = "s", from = FROM, to = to, template = { id = 0 } }
    end)
    raises("'message.attachments[a.txt]' to smtp_send (a string expected", function()
      client:smtp_send{ subject = "s", from = FROM, to = to, text = "t",
                        attachments = { ["a.txt"] = true } }
    end)
    raises("'message.auto_plain_text' to smtp_send (a boolean expected", function()
      client:smtp_send{ subject = "s", from = FROM, to = to, text = "t", auto_plain_text = 1 }
    end)
    raises("unknown field 'reply_to'", function()
      client:smtp_send{ subject = "s", from = FROM, to = to, text = "t", reply_to = "x@y.z" }
    end)
    raises("'opts.from' to smtp_emails", function()
      client:smtp_emails{ from = "yesterday" }
    end)
    raises("'opts.recipient' to each_smtp_email (not an email address", function()
      client:each_smtp_email{ recipient = "frodo" }
    end)
    raises("'opts.country' to smtp_emails", function()
      client:smtp_emails{ country = "maybe" }
    end)
    raises("'id' to smtp_email (a string expected", function()
      client:smtp_email(12)
    end)
    raises("'opts.date' to smtp_bounces", function()
      client:smtp_bounces{ date = "2024-01-01 10:00:00" }
    end)
    raises("'opts.limit' to each_smtp_bounce", function()
      client:each_smtp_bounce{ limit = -1 }
    end)
    raises("'emails[2]' to smtp_unsubscribe (not an email address", function()
      client:smtp_unsubscribe{ "a@shire.me", "b" }
    end)
    raises("'opts.chunk' to smtp_unsubscribe", function()
      client:smtp_unsubscribe({ "a@shire.me" }, { chunk = 0 })
    end)
    raises("'opts.on_progress' to smtp_remove_unsubscribed", function()
      client:smtp_remove_unsubscribed({ "a@shire.me" }, { on_progress = "print" })
    end)
    raises("'emails' to smtp_remove_unsubscribed (a list expected", function()
      client:smtp_remove_unsubscribed("a@shire.me")
    end)
    raises("'email' to smtp_add_domain", function()
      client:smtp_add_domain("shire.me")
    end)
    raises("'email' to smtp_verify_domain", function()
      client:smtp_verify_domain(nil)
    end)
  end)
end)
