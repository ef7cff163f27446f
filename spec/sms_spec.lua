-- SMS methods against the sandbox: camelCase bodies, phones as strings,
-- chunked bulk calls, variables, the blacklist and campaigns.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise an error holding the text, and send nothing.
local refuses = sandbox.raises

describe("sms #sandbox", function()
  local client, book

  before_each(function()
    client = sandbox.fresh_client()
    book = assert(client:create_address_book("SMS friends")).id
  end)

  after_each(function()
    client:close()
  end)

  describe("numbers", function()
    it("sms_add_phones sends addressBookId and the phones as digit strings", function()
      local res = assert(client:sms_add_phones(book, { "380501234567", 380501234568,
                                                       "+380501234569" }))
      local sent = sandbox.last_body("POST /sms/numbers")
      assert.same({ addressBookId = book,
                    phones = { "380501234567", "380501234568", "380501234569" } }, sent)
      assert.matches('"380501234568"', sandbox.last("POST /sms/numbers").body, 1, true)
      assert.equal(3, res.done)
      assert.equal(1, res.chunks)
      assert.same({ added = 3, exceptions = 0, exists = 0 }, res.counters)
      assert.same({ result = true, counters = { added = 3, exceptions = 0, exists = 0 } },
                  res.results[1])

      local again = assert(client:sms_add_phones(book, { "380501234567" }))
      assert.same({ added = 0, exceptions = 0, exists = 1 }, again.counters)
    end)

    it("sends large lists in chunks and reports progress", function()
      local phones = {}
      for i = 1, 5 do
        phones[i] = "38050100000" .. i
      end
      local progress = {}
      local res = assert(client:sms_add_phones(book, phones, {
        chunk = 2, concurrency = 1,   -- (one at a time: in order)
        on_progress = function(done, total) progress[#progress + 1] = { done, total } end,
      }))
      assert.same({ { 2, 5 }, { 4, 5 }, { 5, 5 } }, progress)
      assert.equal(3, res.chunks)
      assert.same({ added = 5, exceptions = 0, exists = 0 }, res.counters)
      local sent = sandbox.requests("POST /sms/numbers")
      assert.equal(3, #sent)
      assert.same({ "380501000005" }, json.decode(sent[3].body).phones)
    end)

    it("sends 100,000 numbers in chunks of 1000 by default", function()
      local phones = {}
      for i = 1, 100000 do
        phones[i] = tostring(380500000000 + i)
      end
      local calls = 0
      local res = assert(client:sms_add_phones(book, phones, {
        on_progress = function() calls = calls + 1 end }))
      assert.equal(100000, res.done)
      assert.equal(100, res.chunks)
      assert.equal(100, calls)
      assert.same({ added = 100000, exceptions = 0, exists = 0 }, res.counters)
      assert.equal(100, sandbox.count("POST /sms/numbers"))
    end)

    it("names the failing chunk and the numbers not added", function()
      sandbox.fault{ path = "/sms/numbers", method = "POST", action = "pass", times = 1 }
      sandbox.fault{ path = "/sms/numbers", method = "POST", status = 400, times = 1,
                     body = { error_code = 707, message = "Account balance depleted" } }
      local phones = { "380501000001", "380501000002", "380501000003", "380501000004",
                       "380501000005" }
      local progress = {}
      local res, err = client:sms_add_phones(book, phones, { concurrency = 1,
        chunk = 2, on_progress = function(done) progress[#progress + 1] = done end,
      })
      assert.is_nil(res)
      assert.equal(707, err.code)
      assert.equal(2, err.chunk)
      assert.equal(3, err.chunks)
      assert.equal(2, err.done)
      assert.same({ "380501000003", "380501000004", "380501000005" }, err.not_done)
      assert.matches("chunk 2 of 3 (items 3-4) failed, 2 of 5 done", err.message, 1, true)
      assert.same({ 2 }, progress)
      assert.equal(2, #sandbox.requests("POST /sms/numbers"))     -- it stopped there
      assert(client:sms_phone(book, "380501000002"))
      local _, missing = client:sms_phone(book, "380501000003")
      assert.equal(404, missing.status)
    end)

    it("reports an unknown mailing list", function()
      local res, err = client:sms_add_phones(book + 1000, { "380501234567" })
      assert.is_nil(res)
      assert.equal(213, err.code)
      assert.equal(1, err.chunk)
      assert.matches("Mailing list not found$", err.message)
    end)

    it("checks phones before sending anything", function()
      refuses("'phones[2]' to sms_add_phones (a phone number (digits) expected",
              function() client:sms_add_phones(book, { "380501234567", "12-34" }) end)
      refuses("'phones' to sms_add_phones (must not be empty)",
              function() client:sms_add_phones(book, {}) end)
      refuses("'book_id' to sms_add_phones",
              function() client:sms_add_phones("1", { "380501234567" }) end)
      refuses("'opts' to sms_add_phones (unknown option 'size')",
              function() client:sms_add_phones(book, { "380501234567" }, { size = 2 }) end)
    end)

    it("adds numbers with variables from the list form", function()
      local birthday = os.time{ year = 1968, month = 9, day = 22, hour = 12 }
      local res = assert(client:sms_add_phones_with_variables(book, {
        { phone = "380501234567", variables = {
          name = "Frodo", visits = 3, birthday = { type = "date", value = birthday } } },
        { phone = 380501234568, variables = {
          { name = "name", type = "string", value = "Sam" } } },
      }))
      -- the sandbox answers [{result, counters}], as documented: unwrapped
      assert.same({ result = true, counters = { added = 2, exceptions = 0, exists = 0 } },
                  res.results[1])
      assert.same({ added = 2, exceptions = 0, exists = 0 }, res.counters)

      local sent = sandbox.last_body("POST /sms/numbers/variables")
      assert.equal(book, sent.addressBookId)
      assert.same({ {
        { name = "birthday", type = "date", value = "1968-09-22" },
        { name = "name", type = "string", value = "Frodo" },
        { name = "visits", type = "number", value = 3 },
      } }, sent.phones["380501234567"])
      assert.same({ { { name = "name", type = "string", value = "Sam" } } },
                  sent.phones["380501234568"])

      local info = assert(client:sms_phone(book, "380501234567"))
      assert.same({ name = "Frodo", visits = 3, birthday = "1968-09-22" }, info.data.variables)
      assert.equal("/sms/numbers/info/" .. book .. "/380501234567",
                   sandbox.last("GET /sms/numbers/info/" .. book .. "/380501234567").path)
    end)

    it("adds numbers with variables from the map form, in chunks", function()
      local res = assert(client:sms_add_phones_with_variables(book, {
        ["380501234569"] = { name = "Merry" },
        ["380501234567"] = { name = "Frodo" },
        ["380501234568"] = { name = "Sam" },
      }, { chunk = 2, concurrency = 1 }))
      assert.equal(2, res.chunks)
      assert.same({ added = 3, exceptions = 0, exists = 0 }, res.counters)
      local sent = sandbox.requests("POST /sms/numbers/variables")
      assert.equal(2, #sent)
      -- the map is walked in phone order, so the last phone is alone in chunk 2
      assert.same({ ["380501234569"] = { { { name = "name", type = "string",
                                              value = "Merry" } } } },
                  json.decode(sent[2].body).phones)
    end)

    it("checks variables before sending anything", function()
      refuses("'contacts[1].variables.vip' to sms_add_phones_with_variables",
              function()
                client:sms_add_phones_with_variables(book, {
                  { phone = "380501234567", variables = { vip = true } } })
              end)
      refuses("'contacts[1].variables.birthday.value' to sms_add_phones_with_variables",
              function()
                client:sms_add_phones_with_variables(book, {
                  { phone = "380501234567",
                    variables = { birthday = { type = "date", value = "1968-09-22 10:00:00" } } } })
              end)
      refuses("'contacts[1].phone' to sms_add_phones_with_variables",
              function()
                client:sms_add_phones_with_variables(book, { { variables = { a = "b" } } })
              end)
      refuses("'contacts' to sms_add_phones_with_variables (must not be empty)",
              function() client:sms_add_phones_with_variables(book, {}) end)
    end)

    it("updates variables with a PUT and unwraps the answer", function()
      assert(client:sms_add_phones(book, { "380501234567", "380501234568" }))
      local res = assert(client:sms_update_phones(book, { "380501234567", "380509999999" },
                                                  { city = "Bree", since = { type = "date",
                                                    value = "2018-10-10" } }))
      assert.same({ result = true, counters = { updated = 1 } }, res)
      local req = sandbox.last("PUT /sms/numbers")
      assert.same({ addressBookId = book, phones = { "380501234567", "380509999999" },
                    variables = { { name = "city", type = "string", value = "Bree" },
                                  { name = "since", type = "date", value = "2018-10-10" } } },
                  json.decode(req.body))
      assert.equal("Bree", assert(client:sms_phone(book, "380501234567")).data.variables.city)
      assert(client:sms_update_phones(book, { "380501234568" },
                                      { { name = "visits", value = 4 },
                                        { name = "since", type = "date", value = "2019-01-01" } }))
      assert.same({ { name = "visits", type = "number", value = 4 },
                    { name = "since", type = "date", value = "2019-01-01" } },
                  sandbox.last_body("PUT /sms/numbers").variables)
      refuses("'variables[1].value' to sms_update_phones",
              function()
                client:sms_update_phones(book, { "380501234567" }, { { name = "x", value = true } })
              end)
      refuses("'variables' to sms_update_phones (must not be empty)",
              function() client:sms_update_phones(book, { "380501234567" }, {}) end)
    end)

    it("deletes numbers with a DELETE carrying a JSON body", function()
      assert(client:sms_add_phones(book, { "380501234567", "380501234568" }))
      local res = assert(client:sms_delete_phones(book, { "380501234567" }))
      assert.same({ deleted = 1 }, res.counters)
      local req = sandbox.last("DELETE /sms/numbers")
      assert.equal("application/json", req.content_type)
      assert.same({ addressBookId = book, phones = { "380501234567" } }, json.decode(req.body))
      local gone, err = client:sms_phone(book, "380501234567")
      assert.is_nil(gone)
      assert.equal(404, err.status)
      assert(client:sms_phone(book, "+380501234568"))
    end)
  end)

  describe("blacklist", function()
    it("adds with a description, lists, looks up and removes", function()
      local res = assert(client:sms_blacklist_add({ "380501234567", "380501234568" },
                                                  { description = "asked to stop", chunk = 1,
                                                    concurrency = 1 }))   -- (in order)
      assert.equal(2, res.chunks)
      assert.same({ added = 2, exists = 0 }, res.counters)
      local adds = sandbox.requests("POST /sms/black_list")
      assert.same({ phones = { "380501234568" }, description = "asked to stop" },
                  json.decode(adds[2].body))

      local list = assert(client:sms_blacklist())
      assert.is_true(list.result)
      assert.equal(2, #list.data)
      assert.equal(380501234567, list.data[1].phone)   -- a number, as the API sends it
      assert.equal("asked to stop", list.data[1].description)

      local found = assert(client:sms_blacklist_by_numbers{ "380501234568", "380509999999" })
      assert.equal(1, #found.data)
      assert.equal(380501234568, found.data[1].phone)
      assert.equal("phones=[380501234568,380509999999]",
                   sandbox.unescape(sandbox.last("GET /sms/black_list/by_numbers").query))

      local removed = assert(client:sms_blacklist_remove{ "380501234567" })
      assert.same({ removed = 1 }, removed.counters)
      assert.same({ phones = { "380501234567" } },
                  sandbox.last_body("DELETE /sms/black_list"))
      assert.equal(1, #assert(client:sms_blacklist()).data)
    end)

    it("checks its arguments", function()
      refuses("'opts.description' to sms_blacklist_add",
              function() client:sms_blacklist_add({ "380501234567" }, { description = 1 }) end)
      refuses("'phones[1]' to sms_blacklist_by_numbers",
              function() client:sms_blacklist_by_numbers{ "abc" } end)
      refuses("'phones' to sms_blacklist_remove", function() client:sms_blacklist_remove() end)
    end)
  end)

  describe("campaigns", function()
    it("sms_send_to_book refuses a sender name longer than the spec's 11 characters", function()
      refuses("'message.sender' to sms_send_to_book (at most 11 characters expected, got 12)",
              function()
                client:sms_send_to_book(1, { sender = "Twelve chars", body = "hi" })
              end)
    end)

    it("sms_send refuses a message without sender, body or phones", function()
      refuses("'message.sender' to sms_send",
              function() client:sms_send{ phones = { "380501234567" }, body = "hi" } end)
      refuses("'message.body' to sms_send",
              function() client:sms_send{ sender = "iQA", phones = { "380501234567" } } end)
      refuses("'message.phones' to sms_send",
              function() client:sms_send{ sender = "iQA", body = "hi" } end)
      refuses("'message.phones[1]' to sms_send",
              function() client:sms_send{ sender = "iQA", body = "hi", phones = { "x1" } } end)
      refuses("'message' to sms_send (unknown field 'text')",
              function()
                client:sms_send{ sender = "iQA", body = "hi", phones = { "380501234567" },
                                 text = "hi" }
              end)
      refuses("'message.route.UA' to sms_send",
              function()
                client:sms_send{ sender = "iQA", body = "hi", phones = { "380501234567" },
                                 route = { UA = "local" } }
              end)
      refuses("'message.transliterate' to sms_send",
              function()
                client:sms_send{ sender = "iQA", body = "hi", phones = { "380501234567" },
                                 transliterate = "yes" }
              end)
    end)

    it("sms_send sends phones as strings, transliterate as 0/1, emulate as a boolean, "
       .. "the date formatted", function()
      assert(client:sms_blacklist_add{ "380501234569" })
      local date = os.time{ year = 2030, month = 1, day = 2, hour = 3, min = 4, sec = 5 }
      local res = assert(client:sms_send{
        sender = "iQA", body = "Your code is 1234",
        phones = { 380501234567, "+380501234568", "380501234569" },
        transliterate = true, emulate = false, route = { UA = "national" }, date = date,
      })
      assert.is_true(res.result)
      assert.same({ sends = 2, exceptions = 1 }, res.counters)   -- one is blacklisted
      local sent = sandbox.last_body("POST /sms/send")
      assert.same({ sender = "iQA", body = "Your code is 1234",
                    phones = { "380501234567", "380501234568", "380501234569" },
                    transliterate = 1, emulate = false, route = { UA = "national" },
                    date = "2030-01-02 03:04:05" }, sent)
      local info = assert(client:sms_campaign(res.campaign_id)).data
      assert.equal(res.campaign_id, info.id)
      assert.equal(2, #info.task_phones_info)
    end)

    it("walks the campaigns of a date range window by window", function()
      assert(client:sms_add_phones(book, { "380501234567" }))
      local ids = {}
      for i, date in ipairs{ "2030-01-15 10:00:00", "2030-03-10 10:00:00",
                             "2030-06-20 10:00:00" } do
        ids[i] = assert(client:sms_send_to_book(book, { sender = "iQA", body = "b" .. i,
                                                        date = date })).campaign_id
      end
      local before = #sandbox.requests("GET /sms/campaigns/list")
      local seen = {}
      -- windows of 60 days: Jan 1 - Mar 1, Mar 2 - Apr 30, May 1 - Jun 29
      for c, err in client:each_sms_campaign("2030-01-01 00:00:00", "2030-06-29 23:59:59",
                                             { window = 60 }) do
        assert(c, err)
        seen[#seen + 1] = c.id
      end
      assert.same(ids, seen)
      local asked = sandbox.requests("GET /sms/campaigns/list")
      assert.equal(3, #asked - before)         -- three windows, no extra request
      assert.equal("dateFrom=2030-05-01 00:00:00&dateTo=2030-06-29 23:59:59",
                   sandbox.unescape(asked[#asked].query))
      seen = {}
      for c in client:each_sms_campaign(os.time{ year = 2030, month = 1, day = 1, hour = 0 },
                                        "2030-12-31 00:00:00", { max = 2 }) do
        seen[#seen + 1] = c.id
      end
      assert.same({ ids[1], ids[2] }, seen)
      refuses("'date_to' to each_sms_campaign (is before date_from)",
              function() client:each_sms_campaign("2030-02-01", "2030-01-01") end)
    end)

    it("reports a sender that does not exist", function()
      local res, err = client:sms_send{ sender = "Nobody", body = "hi",
                                        phones = { "380501234567" } }
      assert.is_nil(res)
      assert.equal(1003, err.code)
    end)

    it("sends to a mailing list, lists, shows, cancels and deletes campaigns", function()
      assert(client:sms_add_phones(book, { "380501234567", "380501234568" }))
      local scheduled = assert(client:sms_send_to_book(book, {
        sender = "iQA", body = "Sale tomorrow", date = "2030-03-01 09:00:00" })).campaign_id
      assert.same({ addressBookId = book, sender = "iQA", body = "Sale tomorrow",
                    date = "2030-03-01 09:00:00" },
                  sandbox.last_body("POST /sms/campaigns"))
      local sent = assert(client:sms_send_to_book(book, { sender = "iQA", body = "Hi",
                                                          date = "2020-03-01 09:00:00" }))
      assert.is_number(sent.campaign_id)

      local list = assert(client:sms_campaigns("2030-01-01 00:00:00",
        os.time{ year = 2030, month = 12, day = 31, hour = 0 }))
      assert.equal(1, #list.data)
      local c = list.data[1]
      assert.equal(scheduled, c.id)
      assert.equal(book, c.address_book_id)
      assert.equal("0.54", c.company_price)                 -- a string, as sent
      assert.equal("dateFrom=2030-01-01 00:00:00&dateTo=2030-12-31 00:00:00",
                   sandbox.unescape(sandbox.last("GET /sms/campaigns/list").query))
      assert.equal(2, #assert(client:sms_campaigns("2000-01-01 00:00:00",
                                                   "2099-01-01 00:00:00")).data)

      -- info: the API's one-element data array comes back as the object
      local info = assert(client:sms_campaign(scheduled))
      assert.is_true(info.result)
      assert.equal(scheduled, info.data.id)
      assert.equal("iQA", info.data.sender_name)
      assert.equal(380501234567, info.data.task_phones_info[1].phone)

      assert.same({ result = true }, assert(client:sms_cancel_campaign(scheduled)))
      assert.equal("PUT", sandbox.last("PUT /sms/campaigns/cancel/" .. scheduled).method)
      local again, err = client:sms_cancel_campaign(scheduled)
      assert.is_nil(again)
      assert.equal(602, err.code)
      local _, err2 = client:sms_cancel_campaign(sent.campaign_id)
      assert.equal(602, err2.code)

      assert.same({ result = true }, assert(client:sms_delete_campaign(scheduled)))
      local del = sandbox.last("DELETE /sms/campaigns")
      assert.same({ id = scheduled }, json.decode(del.body))
      assert.equal(0, #assert(client:sms_campaigns("2030-01-01 00:00:00",
                                                   "2030-12-31 00:00:00")).data)
      local gone, err3 = client:sms_delete_campaign(scheduled)
      assert.is_nil(gone)
      assert.equal(802, err3.code)
      local _, err4 = client:sms_campaign(scheduled)
      assert.equal(802, err4.code)
    end)

    it("answers 211 for a mailing list without numbers", function()
      local res, err = client:sms_send_to_book(book, { sender = "iQA", body = "hi" })
      assert.is_nil(res)
      assert.equal(211, err.code)
      refuses("'message.body' to sms_send_to_book",
              function() client:sms_send_to_book(book, { sender = "iQA" }) end)
      refuses("'message.date' to sms_send_to_book",
              function() client:sms_send_to_book(book, { sender = "iQA", body = "hi",
                                                         date = "2030-01-01" }) end)
    end)

    it("asks the cost with phones or a list, as JSON text in the query", function()
      local cost = assert(client:sms_campaign_cost{ sender = "iQA", body = "Hello",
        phones = { "380501234567", "+380501234568" }, route = { UA = "national" } })
      assert.is_true(cost.result)
      assert.equal("USD", cost.data.currency)
      assert.is_true(math.abs(cost.data.price - 0.54) < 1e-9)
      assert.equal('body=Hello&phones=[380501234567,380501234568]&route={"UA":"national"}'
                   .. "&sender=iQA",
                   sandbox.unescape(sandbox.last("GET /sms/campaigns/cost").query))

      assert(client:sms_add_phones(book, { "380501234567" }))
      local by_book = assert(client:sms_campaign_cost{ sender = "iQA", body = "Hello",
                                                       book_id = book })
      assert.is_true(math.abs(by_book.data.price - 0.27) < 1e-9)
      assert.equal("addressBookId=" .. book .. "&body=Hello&sender=iQA",
                   sandbox.last("GET /sms/campaigns/cost").query)

      refuses("'message' to sms_campaign_cost (either book_id or phones expected)",
              function() client:sms_campaign_cost{ sender = "iQA", body = "Hello" } end)
      refuses("'message' to sms_campaign_cost (either book_id or phones expected)",
              function()
                client:sms_campaign_cost{ sender = "iQA", body = "Hello", book_id = book,
                                          phones = { "380501234567" } }
              end)
    end)

    it("checks campaign ids and dates", function()
      refuses("'date_to' to sms_campaigns",
              function() client:sms_campaigns("2030-01-01 00:00:00") end)
      refuses("'id' to sms_campaign", function() client:sms_campaign(nil) end)
      refuses("'id' to sms_delete_campaign", function() client:sms_delete_campaign(1.5) end)
      refuses("'id' to sms_cancel_campaign", function() client:sms_cancel_campaign("7") end)
    end)
  end)

  it("unwraps the one-element arrays some API versions answer, and only those", function()
    local info = '{"status":1,"variables":{"name":"Frodo"},"added":"2017-02-10 10:00:00"}'
    sandbox.fault{ path = "/sms/numbers/info/" .. book .. "/380501234567", status = 200,
                   body = '[{"result":true,"data":' .. info .. '}]' }
    assert.same({ result = true, data = json.decode(info) },
                assert(client:sms_phone(book, "380501234567")))

    sandbox.fault{ path = "/sms/numbers", method = "DELETE", status = 200,
                   body = '[{"result":true,"counters":{"deleted":2}}]' }
    local deleted = assert(client:sms_delete_phones(book, { "380501234567" }))
    assert.same({ result = true, counters = { deleted = 2 } }, deleted.results[1])
    assert.same({ deleted = 2 }, deleted.counters)

    -- campaign info whose data is already an object (another documented form)
    sandbox.fault{ path = "/sms/campaigns/info/5", status = 200,
                   body = '{"result":true,"data":{"id":5,"task_phones_info":[]}}' }
    local c = assert(client:sms_campaign(5))
    assert.equal(5, c.data.id)
    assert.same({}, c.data.task_phones_info)

    -- an array of two is not a wrapped object: it stays as it is
    sandbox.fault{ path = "/sms/numbers", method = "POST", status = 200,
                   body = '[{"result":true},{"result":false}]' }
    local two = assert(client:sms_add_phones(book, { "380501234567" }))
    assert.same({ { result = true }, { result = false } }, two.results[1])
    assert.same({}, two.counters)
  end)

  it("lists the SMS senders", function()
    local senders = assert(client:sms_senders())
    assert.equal(3, #senders)
    assert.same({ id = 4786, sender = "iQA", country = "Ukraine", country_code = "UA",
                  status = 1, status_explain = "Active" }, senders[2])
    assert.equal("GET", sandbox.last("GET /sms/senders").method)
  end)
end)
