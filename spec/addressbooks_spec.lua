-- Mailing lists, their contacts and variables, against the sandbox: what
-- the sandbox received (verb, path, query, body) and what came back.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise a "bad argument 'name'" error before sending anything; with
-- at_caller, the error must point at the caller's line (this file).
local raises = sandbox.bad_argument

describe("address books #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  local function new_book(name)
    return assert(client:create_address_book(name or "Hobbits")).id
  end

  describe("lists", function()
    it("create_address_book sends bookName and returns the id", function()
      local res = assert(client:create_address_book("Hobbits"))
      assert.is_number(res.id)
      local req = sandbox.last()
      assert.equal("POST", req.method)
      assert.equal("/addressbooks", req.path)
      assert.equal("application/json", req.content_type)
      assert.same({ bookName = "Hobbits" }, json.decode(req.body))
    end)

    it("create_address_book reports a taken name (203) and a blank one (201)", function()
      new_book("Hobbits")
      local res, err = client:create_address_book("Hobbits")
      assert.is_nil(res)
      assert.equal("api", err.kind)
      assert.equal(203, err.code)
      assert.equal("This mailing list name already exists", err.message)
      res, err = client:create_address_book("   ")
      assert.is_nil(res)
      assert.equal(201, err.code)
      assert.equal("Empty mailing list name", err.message)
    end)

    it("address_books sends limit/offset and returns the page", function()
      for i = 1, 5 do
        new_book("book " .. i)
      end
      local page = assert(client:address_books{ limit = 2, offset = 1 })
      assert.equal(2, #page)
      assert.equal("book 2", page[1].name)
      assert.equal("book 3", page[2].name)
      assert.equal(0, page[1].all_email_qty)
      local req = sandbox.last()
      assert.equal("GET", req.method)
      assert.equal("limit=2&offset=1", req.query)
      assert.same({}, assert(client:address_books{ offset = 10 }))
    end)

    it("each_address_book walks every page without an empty last request", function()
      for i = 1, 7 do
        new_book("book " .. i)
      end
      local names = {}
      for book, err in client:each_address_book{ limit = 3 } do
        assert(book, err)
        names[#names + 1] = book.name
      end
      assert.equal(7, #names)
      assert.equal("book 1", names[1])
      assert.equal("book 7", names[7])
      local pages = sandbox.requests("GET /addressbooks")
      -- 3 per page plus a probe item: 4 + 4 cover 7 items; no third request
      assert.equal(3, #pages)
      assert.equal("limit=4&offset=0", pages[1].query)
      assert.equal("limit=4&offset=3", pages[2].query)
      assert.equal("limit=4&offset=6", pages[3].query)
    end)

    it("each_address_book stops at max and reports failures once", function()
      for i = 1, 5 do
        new_book("book " .. i)
      end
      local n = 0
      for book in client:each_address_book{ max = 2 } do
        assert.truthy(book)
        n = n + 1
      end
      assert.equal(2, n)
      sandbox.fault{ path = "/addressbooks", method = "GET", status = 400,
                     body = { error_code = 400, message = "Invalid limit" } }
      local seen = {}
      for book, err in client:each_address_book() do
        seen[#seen + 1] = { book, err }
      end
      assert.equal(1, #seen)
      assert.is_false(seen[1][1])
      assert.equal(400, seen[1][2].code)
    end)

    it("address_book unwraps the one-element array", function()
      local id = new_book("Hobbits")
      local book = assert(client:address_book(id))
      assert.equal(id, book.id)
      assert.equal("Hobbits", book.name)
      assert.equal("/addressbooks/" .. id, sandbox.last().path)
      local res, err = client:address_book(999)
      assert.is_nil(res)
      assert.equal(213, err.code)
      assert.equal(404, err.status)
      assert.equal("Mailing list not found", err.message)
    end)

    it("rename_address_book sends name (not bookName)", function()
      local id = new_book("Hobbits")
      assert.same({ result = true }, assert(client:rename_address_book(id, "Shire")))
      local req = sandbox.last()
      assert.equal("PUT", req.method)
      assert.equal("/addressbooks/" .. id, req.path)
      assert.same({ name = "Shire" }, json.decode(req.body))
      assert.equal("Shire", assert(client:address_book(id)).name)
    end)

    it("delete_address_book deletes it", function()
      local id = new_book()
      assert.same({ result = true }, assert(client:delete_address_book(id)))
      assert.equal("DELETE", sandbox.requests("DELETE /addressbooks/" .. id)[1].method)
      local _, err = client:address_book(id)
      assert.equal(213, err.code)
      local res
      res, err = client:delete_address_book(id)
      assert.is_nil(res)
      assert.equal(213, err.code)
    end)

    it("checks its arguments before sending anything", function()
      raises("name", function() client:create_address_book("") end, true)
      raises("name", function() client:create_address_book(42) end, true)
      raises("id", function() client:address_book("12") end, true)
      raises("id", function() client:address_book(1.5) end, true)
      raises("name", function() client:rename_address_book(1, nil) end, true)
      raises("id", function() client:delete_address_book(nil) end, true)
      raises("opts", function() client:address_books{ page = 2 } end)
      raises("opts.limit", function() client:address_books{ limit = 0 } end)
      raises("opts.limit", function() client:address_books{ limit = 101 } end)
      -- the spec takes at most 100 addresses per removal
      raises("opts.chunk", function() client:remove_emails(1, { "a@b.c" }, { chunk = 101 }) end)
      raises("opts.chunk", function()
        client:unsubscribe_emails(1, { "a@b.c" }, { chunk = 101 })
      end)
      raises("opts.offset", function() client:each_address_book{ offset = -1 } end)
    end)
  end)

  describe("contacts", function()
    local id

    before_each(function()
      id = new_book()
    end)

    it("add_emails sends {email, variables} objects, plain addresses too", function()
      local res = assert(client:add_emails(id, {
        "frodo@shire.me",
        { email = "sam+garden@shire.me", variables = { name = "Sam", age = 38 } },
      }))
      assert.equal(2, res.done)
      assert.equal(1, res.chunks)
      assert.same({ { result = true } }, res.results)
      local req = sandbox.last()
      assert.equal("POST", req.method)
      assert.equal("/addressbooks/" .. id .. "/emails", req.path)
      assert.same({ emails = {
        { email = "frodo@shire.me" },
        { email = "sam+garden@shire.me", variables = { name = "Sam", age = 38 } },
      } }, json.decode(req.body))
      local listed = assert(client:address_book_emails(id))
      assert.equal(2, #listed)
      assert.equal("frodo@shire.me", listed[1].email)
      assert.equal("Sam", listed[2].variables.name)
    end)

    it("add_emails sends the double opt-in options", function()
      assert(client:add_emails(id, { "merry@buckland.me" }, {
        confirmation = "force", sender_email = "gandalf@istari.org",
        message_lang = "en", template_id = 42,
      }))
      assert.same({
        emails = { { email = "merry@buckland.me" } }, confirmation = "force",
        sender_email = "gandalf@istari.org", message_lang = "en", template_id = 42,
      }, sandbox.last_body())
    end)

    it("add_emails reports the API's errors", function()
      local res, err = client:add_emails(999, { "a@b.c" })
      assert.is_nil(res)
      assert.equal(213, err.code)
      assert.equal(1, err.chunk)
      assert.equal(0, err.done)
      assert.same({ "a@b.c" }, err.not_done)
    end)

    it("add_emails checks every contact before sending anything", function()
      raises("id", function() client:add_emails(nil, { "a@b.c" }) end, true)
      raises("contacts", function() client:add_emails(id, {}) end, true)
      raises("contacts", function() client:add_emails(id, "a@b.c") end, true)
      raises("contacts[2]", function() client:add_emails(id, { "a@b.c", "nope" }) end, true)
      raises("contacts[1].email", function()
        client:add_emails(id, { { variables = {} } })
      end, true)
      raises("contacts[1].variables", function()
        client:add_emails(id, { { email = "a@b.c", variables = "x" } })
      end, true)
      raises("contacts[1]", function() client:add_emails(id, { 42 }) end, true)
      raises("opts.confirmation", function()
        client:add_emails(id, { "a@b.c" }, { confirmation = "yes", sender_email = "s@x.io" })
      end, true)
      raises("opts.sender_email", function()
        client:add_emails(id, { "a@b.c" }, { confirmation = "force" })
      end, true)
      raises("opts.sender_email", function()
        client:add_emails(id, { "a@b.c" }, { sender_email = "nobody" })
      end, true)
      raises("opts.template_id", function()
        client:add_emails(id, { "a@b.c" }, { template_id = 1.5 })
      end, true)
      raises("opts.message_lang", function()
        client:add_emails(id, { "a@b.c" }, { message_lang = 1 })
      end, true)
      raises("opts", function() client:add_emails(id, { "a@b.c" }, { chunks = 5 }) end)
      raises("opts.chunk", function() client:add_emails(id, { "a@b.c" }, { chunk = 0 }) end)
      raises("opts.on_progress", function()
        client:add_emails(id, { "a@b.c" }, { on_progress = true })
      end)
    end)

    it("add_emails takes 100,000 contacts in chunks, in bounded memory", function()
      collectgarbage("collect")
      local before = collectgarbage("count")
      local contacts = {}
      for i = 1, 100000 do
        contacts[i] = ("hobbit%06d@shire.me"):format(i)
      end
      collectgarbage("collect")
      local input_kb = collectgarbage("count") - before

      local progress, totals, peak = {}, {}, 0
      local res = assert(client:add_emails(id, contacts, {
        on_progress = function(done, total)
          progress[#progress + 1] = done
          totals[total] = true
          local used = collectgarbage("count") - before
          if used > peak then
            peak = used
          end
        end,
      }))
      assert.equal(100000, res.done)
      assert.equal(100, res.chunks)
      assert.equal(100, #progress)
      for i, done in ipairs(progress) do
        assert.equal(i * 1000, done)
      end
      assert.same({ [100000] = true }, totals)
      -- the input itself plus at most a few times its size in chunks,
      -- request bodies and garbage not yet collected
      assert.is_true(peak < 4 * input_kb,
                     ("peak %.0f KB for %.0f KB of input"):format(peak, input_kb))
      assert.equal(100, sandbox.count("POST /addressbooks/" .. id .. "/emails"))
      assert.equal(100000, assert(client:address_book_emails_total(id)).total)
      -- (chunks in flight together may land in any order: ask for the
      -- first, a middle and the last contact by name, not by position)
      for _, i in ipairs{ 1, 50001, 100000 } do
        local email = ("hobbit%06d@shire.me"):format(i)
        assert.equal(email, assert(client:address_book_email(id, email)).email)
      end
    end)

    it("add_emails stops at a failing chunk and says exactly what was not added", function()
      local contacts = {}
      for i = 1, 10000 do
        contacts[i] = ("ent%05d@fangorn.me"):format(i)
      end
      local path = "/addressbooks/" .. id .. "/emails"
      local progress = {}
      local res, err = client:add_emails(id, contacts, { concurrency = 1,
        on_progress = function(done)
          progress[#progress + 1] = done
          if done == 3000 then
            sandbox.fault{ path = path, method = "POST", status = 500, times = 1,
                           body = { error_code = 500, message = "Internal error" } }
          end
        end,
      })
      assert.is_nil(res)
      assert.same({ 1000, 2000, 3000 }, progress)
      assert.equal(4, err.chunk)
      assert.equal(10, err.chunks)
      assert.equal(3000, err.done)
      assert.equal(7000, #err.not_done)
      assert.equal("ent03001@fangorn.me", err.not_done[1])
      assert.equal("ent10000@fangorn.me", err.not_done[7000])
      assert.equal(500, err.status)
      assert.matches("chunk 4 of 10", err.message)
      -- the failed POST was not retried (not idempotent) and nothing after
      -- it was sent
      assert.equal(4, sandbox.count("POST " .. path))
      assert.equal(3000, assert(client:address_book_emails_total(id)).total)
      -- nothing is lost: sending what was not done completes the list
      assert(client:add_emails(id, err.not_done))
      assert.equal(10000, assert(client:address_book_emails_total(id)).total)
      -- (its 7 chunks go several at a time and may land in any order:
      -- the contacts on either side of the failure, asked for by name)
      for _, email in ipairs{ "ent03000@fangorn.me", "ent03001@fangorn.me",
                              "ent10000@fangorn.me" } do
        assert.equal(email, assert(client:address_book_email(id, email)).email)
      end
    end)

    it("address_book_emails, its iterator and the total", function()
      local contacts = {}
      for i = 1, 12 do
        contacts[i] = { email = ("dwarf%02d@erebor.me"):format(i),
                        variables = { n = i } }
      end
      assert(client:add_emails(id, contacts))
      local page = assert(client:address_book_emails(id, { limit = 5, offset = 10 }))
      assert.equal(2, #page)
      assert.equal("dwarf11@erebor.me", page[1].email)
      assert.equal(11, page[1].variables.n)
      assert.equal(0, page[1].status)
      assert.equal("New", page[1].status_explain)
      assert.equal("limit=5&offset=10", sandbox.last().query)

      local seen = {}
      for c, err in client:each_address_book_email(id, { limit = 5 }) do
        assert(c, err)
        seen[#seen + 1] = c.email
      end
      assert.equal(12, #seen)
      assert.equal("dwarf12@erebor.me", seen[12])
      -- one page call above, then the iterator's three (5 asked as 6)
      local pages = sandbox.requests("GET /addressbooks/" .. id .. "/emails")
      assert.equal(4, #pages)
      assert.equal("limit=6&offset=0", pages[2].query)
      assert.equal("limit=6&offset=5", pages[3].query)
      assert.equal("limit=6&offset=10", pages[4].query)

      assert.same({ total = 12 }, assert(client:address_book_emails_total(id)))
      assert.equal("/addressbooks/" .. id .. "/emails/total", sandbox.last().path)
    end)

    it("address_book_email escapes the address and keeps abook_id a string", function()
      assert(client:add_emails(id, { { email = "sam+garden@shire.me",
                                       variables = { name = "Sam" } } }))
      local c = assert(client:address_book_email(id, "sam+garden@shire.me"))
      assert.equal("/addressbooks/" .. id .. "/emails/sam%2Bgarden%40shire.me",
                   sandbox.last().path)
      assert.equal("sam+garden@shire.me", c.email)
      assert.equal(tostring(id), c.abook_id)
      assert.same({ { name = "name", type = "string", value = "Sam" } }, c.variables)
      local res, err = client:address_book_email(id, "gollum@misty.me")
      assert.is_nil(res)
      assert.equal(17, err.code)
      assert.equal("Can’t find the email address", err.message)
      raises("email", function() client:address_book_email(id, "gollum") end, true)
    end)

    it("remove_emails sends a DELETE with a JSON body, in chunks", function()
      local contacts = {}
      for i = 1, 25 do
        contacts[i] = ("orc%02d@mordor.me"):format(i)
      end
      assert(client:add_emails(id, contacts))
      local gone = {}
      for i = 1, 20 do
        gone[i] = contacts[i]
      end
      local progress = {}
      local res = assert(client:remove_emails(id, gone, {
        chunk = 8, on_progress = function(done, total)
          progress[#progress + 1] = done .. "/" .. total
        end,
      }))
      assert.equal(20, res.done)
      assert.equal(3, res.chunks)
      -- the chunks are in flight together: they finish, and arrive, in
      -- any order; each completion reports its chunk
      local steps, last = {}, 0
      for _, p in ipairs(progress) do
        local done, total = p:match("^(%d+)/(%d+)$")
        assert.equal("20", total)
        steps[#steps + 1] = tonumber(done) - last
        last = tonumber(done)
      end
      table.sort(steps)
      assert.same({ 4, 8, 8 }, steps)
      local sent = sandbox.requests("DELETE /addressbooks/" .. id .. "/emails")
      assert.equal(3, #sent)
      assert.equal("application/json", sent[1].content_type)
      local bodies = {}
      for i, r in ipairs(sent) do
        bodies[i] = json.decode(r.body).emails
      end
      table.sort(bodies, function(a, b) return a[1] < b[1] end)
      assert.same({ "orc17@mordor.me", "orc18@mordor.me", "orc19@mordor.me",
                    "orc20@mordor.me" }, bodies[3])
      assert.equal(5, assert(client:address_book_emails_total(id)).total)
      -- without a chunk size: 100 per request, the most the spec allows
      local many = {}
      for i = 1, 250 do
        many[i] = ("uruk%03d@mordor.me"):format(i)
      end
      local before = #sandbox.requests("DELETE /addressbooks/" .. id .. "/emails")
      assert.equal(3, assert(client:remove_emails(id, many)).chunks)
      assert.equal(before + 3, #sandbox.requests("DELETE /addressbooks/" .. id .. "/emails"))
      raises("emails[2]", function() client:remove_emails(id, { "a@b.c", "b" }) end, true)
      raises("emails", function() client:remove_emails(id, {}) end, true)
    end)

    it("remove_emails reports a failing chunk precisely", function()
      local c = sandbox.client{ max_retries = 0 }
      local contacts = {}
      for i = 1, 30 do
        contacts[i] = ("orc%02d@mordor.me"):format(i)
      end
      assert(c:add_emails(id, contacts))
      local path = "/addressbooks/" .. id .. "/emails"
      local res, err = c:remove_emails(id, contacts, { concurrency = 1,
        chunk = 10, on_progress = function(done)
          if done == 10 then
            sandbox.fault{ path = path, method = "DELETE", status = 500, times = 1 }
          end
        end,
      })
      assert.is_nil(res)
      assert.equal(2, err.chunk)
      assert.equal(10, err.done)
      assert.equal(20, #err.not_done)
      assert.equal("orc11@mordor.me", err.not_done[1])
      assert.equal(20, assert(c:address_book_emails_total(id)).total)
      assert(c:remove_emails(id, err.not_done))
      assert.equal(0, assert(c:address_book_emails_total(id)).total)
      c:close()
    end)

    it("unsubscribe_emails marks contacts unsubscribed, in chunks", function()
      assert(client:add_emails(id, { "a@shire.me", "b@shire.me", "c@shire.me" }))
      local res = assert(client:unsubscribe_emails(id, { "a@shire.me", "c@shire.me" },
                                                  { chunk = 1, concurrency = 1 }))
      assert.equal(2, res.done)
      assert.equal(2, res.chunks)
      local sent = sandbox.requests("POST /addressbooks/" .. id .. "/emails/unsubscribe")
      assert.equal(2, #sent)
      assert.same({ emails = { "c@shire.me" } }, json.decode(sent[2].body))
      local book = assert(client:address_book(id))
      assert.equal(3, book.all_email_qty)
      assert.equal(1, book.active_email_qty)
      assert.equal(2, book.inactive_email_qty)
      assert.equal("Unsubscribed", assert(client:address_book_email(id, "a@shire.me"))
                                     .status_explain)
      raises("emails[1]", function() client:unsubscribe_emails(id, { "x" }) end, true)
    end)

    it("unsubscribe_emails reports a failing chunk precisely", function()
      assert(client:add_emails(id, { "a@shire.me", "b@shire.me", "c@shire.me" }))
      local path = "/addressbooks/" .. id .. "/emails/unsubscribe"
      sandbox.fault{ path = path, method = "POST", status = 400, times = 1,
                     body = { error_code = 8, message = "No data" } }
      local res, err = client:unsubscribe_emails(id, { "a@shire.me", "b@shire.me" },
                                                 { concurrency = 1, chunk = 1 })
      assert.is_nil(res)
      assert.equal(1, err.chunk)
      assert.equal(0, err.done)
      assert.same({ "a@shire.me", "b@shire.me" }, err.not_done)
      assert.equal(8, err.code)
      assert.equal(1, sandbox.count("POST " .. path))
    end)
  end)

  describe("variables", function()
    local id

    before_each(function()
      id = new_book()
      assert(client:add_emails(id, {
        { email = "frodo@shire.me", variables = { race = "hobbit", age = 50 } },
        { email = "sam@shire.me", variables = { race = "hobbit", age = 38 } },
        { email = "aragorn@gondor.gov", variables = { race = "man", age = 87,
                                                     phone = "380680899608" } },
      }))
    end)

    it("address_book_variables lists names and types", function()
      local vars = assert(client:address_book_variables(id))
      assert.equal("/addressbooks/" .. id .. "/variables", sandbox.last().path)
      local types = {}
      for _, v in ipairs(vars) do
        types[v.name] = v.type
      end
      assert.same({ race = "string", age = "number", phone = "string" }, types)
    end)

    it("address_book_emails_by_variable puts name and value in the path", function()
      local hobbits = assert(client:address_book_emails_by_variable(id, "race", "hobbit"))
      assert.equal(2, #hobbits)
      assert.equal("frodo@shire.me", hobbits[1].email)
      assert.equal("/addressbooks/" .. id .. "/variables/race/hobbit", sandbox.last().path)
      local old = assert(client:address_book_emails_by_variable(id, "age", 87))
      assert.equal(1, #old)
      assert.equal("aragorn@gondor.gov", old[1].email)
      assert.equal("/addressbooks/" .. id .. "/variables/age/87", sandbox.last().path)
      assert(client:update_email_variables(id, "sam@shire.me", { home = "Bag End/Shire" }))
      local found = assert(client:address_book_emails_by_variable(id, "home", "Bag End/Shire"))
      assert.equal("sam@shire.me", found[1].email)
      assert.equal("/addressbooks/" .. id .. "/variables/home/Bag%20End%2FShire",
                   sandbox.last().path)
      assert.same({}, assert(client:address_book_emails_by_variable(id, "race", "elf")))
      raises("value", function() client:address_book_emails_by_variable(id, "race", "") end,
             true)
      raises("name", function() client:address_book_emails_by_variable(id, nil, "x") end,
             true)
    end)

    it("update_email_variables sends a list of {name, value}, sorted", function()
      assert.same({ result = true },
                  assert(client:update_email_variables(id, "frodo@shire.me",
                                                       { city = "Bag End", age = 51 })))
      local req = sandbox.last()
      assert.equal("POST", req.method)
      assert.equal("/addressbooks/" .. id .. "/emails/variable", req.path)
      assert.same({ email = "frodo@shire.me", variables = {
        { name = "age", value = 51 }, { name = "city", value = "Bag End" },
      } }, json.decode(req.body))
      local c = assert(client:address_book_email(id, "frodo@shire.me"))
      local vars = {}
      for _, v in ipairs(c.variables) do
        vars[v.name] = v.value
      end
      assert.equal("Bag End", vars.city)
      assert.equal(51, vars.age)

      assert(client:update_email_variables(id, "sam@shire.me",
                                           { { name = "city", value = "Hobbiton" } }))
      assert.same({ { name = "city", value = "Hobbiton" } },
                  sandbox.last_body().variables)

      local res, err = client:update_email_variables(id, "gollum@misty.me", { a = 1 })
      assert.is_nil(res)
      assert.equal(17, err.code)
    end)

    it("update_email_variables checks its arguments", function()
      raises("variables", function()
        client:update_email_variables(id, "frodo@shire.me", {})
      end, true)
      raises("variables", function()
        client:update_email_variables(id, "frodo@shire.me", "city=Bree")
      end, true)
      raises("variables[1].name", function()
        client:update_email_variables(id, "frodo@shire.me", { { value = 1 } })
      end, true)
      raises("variables.city", function()
        client:update_email_variables(id, "frodo@shire.me", { city = {} })
      end, true)
      raises("email", function() client:update_email_variables(id, "x", { a = 1 }) end, true)
    end)

    it("update_phone_variables finds the contact by phone", function()
      assert(client:update_phone_variables(id, 380680899608, { title = "King" }))
      local req = sandbox.last()
      assert.equal("/addressbooks/" .. id .. "/phones/variable", req.path)
      assert.same({ phone = "380680899608", variables = { { name = "title", value = "King" } } },
                  json.decode(req.body))
      local kings = assert(client:address_book_emails_by_variable(id, "title", "King"))
      assert.equal("aragorn@gondor.gov", kings[1].email)
      local res, err = client:update_phone_variables(id, "380000000000", { a = 1 })
      assert.is_nil(res)
      assert.equal(404, err.status)
      raises("phone", function() client:update_phone_variables(id, "12ab", { a = 1 }) end, true)
      raises("variables", function() client:update_phone_variables(id, "380680899608") end,
             true)
    end)
  end)

  describe("cost and campaigns", function()
    it("address_book_cost answers for the active contacts; 211 when empty", function()
      local id = new_book()
      local res, err = client:address_book_cost(id)
      assert.is_nil(res)
      assert.equal(211, err.code)
      assert.equal("Mailing list empty", err.message)
      assert(client:add_emails(id, { "a@shire.me", "b@shire.me", "c@shire.me" }))
      assert(client:unsubscribe_emails(id, { "c@shire.me" }))
      local cost = assert(client:address_book_cost(id))
      assert.equal("/addressbooks/" .. id .. "/cost", sandbox.last().path)
      assert.equal("USD", cost.cur)
      assert.equal(2, cost.sent_emails_qty)
      assert.equal(0, cost.overdraft_all_emails_price)
      assert.equal(9912, cost.address_delta_from_tariff)
      assert.is_true(cost.result)
    end)

    it("address_book_campaigns and its iterator send limit/offset", function()
      local id = new_book()
      local page = assert(client:address_book_campaigns(id, { limit = 10, offset = 0 }))
      assert.same({}, page)
      assert.equal("[]", json.encode(page))
      local req = sandbox.last()
      assert.equal("GET", req.method)
      assert.equal("/addressbooks/" .. id .. "/campaigns", req.path)
      assert.equal("limit=10&offset=0", req.query)
      local _, err = client:address_book_campaigns(999)
      assert.equal(213, err.code)

      -- three campaigns through the generic verb (body: base64 "<p>Hi</p>")
      assert(client:add_emails(id, { "frodo@shire.me" }))
      local ids = {}
      for i = 1, 3 do
        ids[i] = assert(client:post("/campaigns", {
          sender_name = "Gandalf", sender_email = "gandalf@istari.org",
          subject = "News " .. i, body = "PHA+SGk8L3A+", list_id = id,
        })).id
      end
      page = assert(client:address_book_campaigns(id, { limit = 2, offset = 1 }))
      assert.equal(2, #page)
      assert.equal(ids[2], page[1].task_id)
      assert.equal("News 2", page[1].task_name)
      assert.is_number(page[1].task_status)

      local seen = {}
      for task, e in client:each_address_book_campaign(id, { limit = 1 }) do
        assert(task, e)
        seen[#seen + 1] = task.task_id
      end
      assert.same(ids, seen)
      local pages = sandbox.requests("GET /addressbooks/" .. id .. "/campaigns")
      -- the two page calls above, then 1 asked as 2 at offsets 0, 1, 2
      assert.equal(5, #pages)
      assert.equal("limit=2&offset=2", pages[5].query)
    end)
  end)
end)
