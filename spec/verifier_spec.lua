-- Email verification against the sandbox: trailing slashes as the service
-- writes them, start/count paging, single addresses and reports.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise a "bad argument 'name'" error before sending anything,
-- pointing at the caller's line (this file) unless at_caller is false.
local function raises(name, fn, at_caller)
  sandbox.bad_argument(name, fn, at_caller ~= false)
end

describe("verifier #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  local function book_with(name, emails)
    local id = assert(client:create_address_book(name)).id
    assert(client:add_emails(id, emails))
    return id
  end

  it("verifies a mailing list: send, progress, result", function()
    local id = book_with("Fellowship", {
      "frodo@shire.me", "bcdfgh@shire.me", "temp@mailinator.com",
      "sam@nowhere.invalid", "legolas@gmail.com",
    })
    assert.same({ result = true }, assert(client:verify_address_book(id)))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/verifier-service/send-list-to-verify", req.path)
    assert.same({ id = id }, json.decode(req.body))

    local p = assert(client:verification_progress(id))
    req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/verifier-service/get-progress", req.path)
    assert.equal("id=" .. id, req.query)
    assert.is_true(p.result)
    assert.same({ total = 5, processed = 5 }, p.data)

    local r = assert(client:verification_result(id))
    req = sandbox.last()
    assert.equal("/verifier-service/check", req.path)
    assert.equal("id=" .. id, req.query)
    assert.equal(id, r.id)
    assert.equal("Fellowship", r.address_book_name)
    assert.equal(5, r.all_emails_quantity)
    -- per-status counts under string keys, as sent
    assert.same({ ["0"] = 0, ["1"] = 2, ["2"] = 1, ["3"] = 2 }, r.data)
    assert.is_true(r.is_garbage_in_book)
    assert.equal(5, r.email_addresses_total)
    assert.equal("frodo@shire.me", r.email_addresses[1].email_address)
    assert.equal(1, r.email_addresses[1].status)
    assert.equal(2, r.email_addresses[2].status)
    assert.equal(3, r.email_addresses[3].status)
    assert.equal("Invalid address", r.email_addresses[4].status_text)
  end)

  it("reports unknown lists (213), empty ones (211) and unverified ones (8)", function()
    local res, err = client:verify_address_book(999)
    assert.is_nil(res)
    assert.equal(213, err.code)
    local empty = assert(client:create_address_book("Empty")).id
    res, err = client:verify_address_book(empty)
    assert.is_nil(res)
    assert.equal(211, err.code)
    assert.equal("Mailing list empty", err.message)
    res, err = client:verification_progress(empty)
    assert.is_nil(res)
    assert.equal(8, err.code)
    res, err = client:verification_result(999)
    assert.is_nil(res)
    assert.equal(213, err.code)
  end)

  it("verified_address_books pages with start/count", function()
    for i = 1, 3 do
      local id = book_with("book " .. i, { ("a%d@shire.me"):format(i) })
      assert(client:verify_address_book(id))
    end
    local page = assert(client:verified_address_books{ start = 1, count = 1 })
    local req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/verifier-service/check-list", req.path)
    assert.equal("count=1&start=1", req.query)
    assert.equal(3, page.total)
    assert.equal(1, #page.list)
    assert.equal("book 2", page.list[1].address_book_name)
    assert.equal(1, page.list[1].all_emails_quantity)
    local all = assert(client:verified_address_books())
    assert.equal(3, #all.list)
  end)

  it("each_verified_address_book walks start/count pages and stops at total", function()
    local names = {}
    for i = 1, 7 do
      local id = book_with("book " .. i, { ("a%d@shire.me"):format(i) })
      assert(client:verify_address_book(id))
      names[i] = "book " .. i
    end
    local seen = {}
    for v, err in client:each_verified_address_book{ limit = 2 } do
      assert(v, err)
      seen[#seen + 1] = v.address_book_name
    end
    assert.same(names, seen)
    local pages = sandbox.requests("GET /verifier-service/check-list")
    -- the total in each page ends the walk: no request after the last
    -- item, none that comes back empty
    local start = 0
    for i, p in ipairs(pages) do
      local count, s = p.query:match("^count=(%d+)&start=(%d+)$")
      assert.truthy(count, p.query)
      assert.equal(start, tonumber(s))
      start = start + tonumber(count)
      if i < #pages then
        assert.is_true(start < 7)
      end
    end
    assert.is_true(start >= 7)
    assert.is_true(#pages <= 4)

    local n = 0
    for v in client:each_verified_address_book{ start = 5 } do
      assert.truthy(v)
      n = n + 1
    end
    assert.equal(2, n)
    assert.equal("count=100&start=5", sandbox.last().query)

    n = 0
    for v in client:each_verified_address_book{ max = 3, limit = 100 } do
      assert.truthy(v)
      n = n + 1
    end
    assert.equal(3, n)
  end)

  it("each_verified_address_book yields false, err once on failure", function()
    sandbox.fault{ path = "/verifier-service/check-list", status = 400,
                   body = { error_code = 400, message = "Invalid count" } }
    local got = {}
    for v, err in client:each_verified_address_book() do
      got[#got + 1] = { v, err }
    end
    assert.equal(1, #got)
    assert.is_false(got[1][1])
    assert.equal(400, got[1][2].code)
  end)

  it("verifies one address and reads the result", function()
    assert.same({ result = true }, assert(client:verify_email("sam+x@gmail.com")))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/verifier-service/send-single-to-verify", req.path)
    assert.same({ email = "sam+x@gmail.com" }, json.decode(req.body))

    local r = assert(client:email_verification_result("sam+x@gmail.com"))
    req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/verifier-service/get-single-result", req.path)
    assert.equal("email=sam%2Bx%40gmail.com", req.query)
    assert.is_true(r.result)
    assert.equal("sam+x@gmail.com", r.data.email)
    assert.same({ status = 1, valid_format = 1, disposable = 0, webmail = 1,
                  gibberish = 0, status_text = "Valid address" }, r.data.checks)

    local _, err = client:email_verification_result("nobody@shire.me")
    assert.equal(17, err.code)
  end)

  it("delete_email_verification_result is a GET with the address in the query", function()
    assert(client:verify_email("frodo@shire.me"))
    assert.same({ result = true },
                assert(client:delete_email_verification_result("frodo@shire.me")))
    local req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/verifier-service/delete-single-result", req.path)
    assert.equal("email=frodo%40shire.me", req.query)
    assert.is_nil(req.body)
    local _, err = client:email_verification_result("frodo@shire.me")
    assert.equal(17, err.code)
    _, err = client:delete_email_verification_result("frodo@shire.me")
    assert.equal(17, err.code)
  end)

  it("makes and reads a report", function()
    local id = book_with("Fellowship", { "frodo@shire.me", "x@nowhere.invalid",
                                         "y@nowhere.invalid" })
    local _, err = client:create_verification_report(id)
    assert.equal(8, err.code)          -- not verified yet
    assert(client:verify_address_book(id))
    _, err = client:verification_report(id)
    assert.equal(8, err.code)          -- no report asked for yet

    assert.same({ result = true }, assert(client:create_verification_report(id, {
      format = 2, status = { 3 }, lang = "en",
    })))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/verifier-service/make-report", req.path)
    assert.same({ id = id, format = 2, status = { 3 }, lang = "en" },
                json.decode(req.body))

    local report = assert(client:verification_report(id))
    req = sandbox.last()
    assert.equal("GET", req.method)
    assert.equal("/verifier-service/check-report", req.path)
    assert.equal("id=" .. id, req.query)
    assert.equal(2, report.email_addresses_total)
    assert.equal("x@nowhere.invalid", report.email_addresses[1].email_address)
    assert.equal(3, report.all_emails_quantity)

    assert(client:create_verification_report(id, { format = 4 }))
    assert.same({ id = id, format = 4 }, sandbox.last_body())
    assert.equal(3, assert(client:verification_report(id)).email_addresses_total)
  end)

  it("checks its arguments before sending anything", function()
    raises("id", function() client:verify_address_book("1") end)
    raises("id", function() client:verification_progress(nil) end)
    raises("id", function() client:verification_result(2.5) end)
    raises("opts", function() client:verified_address_books{ limit = 5 } end)
    raises("opts.count", function() client:verified_address_books{ count = 0 } end)
    raises("opts.start", function() client:verified_address_books{ start = -1 } end)
    raises("opts", function() client:each_verified_address_book{ offset = 5 } end)
    raises("opts.limit", function() client:each_verified_address_book{ limit = 0 } end)
    raises("opts.start", function() client:each_verified_address_book{ start = "5" } end)
    raises("email", function() client:verify_email("frodo") end)
    raises("email", function() client:email_verification_result(nil) end)
    raises("email", function() client:delete_email_verification_result("a b@c") end)
    raises("id", function() client:create_verification_report(nil) end)
    raises("opts", function() client:create_verification_report(1, { type = "csv" }) end)
    raises("opts.format", function() client:create_verification_report(1, { format = "" }) end)
    -- the spec's report formats are 2, 3 and 4
    raises("opts.format", function() client:create_verification_report(1, { format = "csv" }) end)
    raises("opts.format", function() client:create_verification_report(1, { format = 1 }) end)
    raises("opts.status", function() client:create_verification_report(1, { status = {} }) end)
    raises("opts.status[2]", function()
      client:create_verification_report(1, { status = { 1, 4 } })
    end)
    raises("opts.lang", function() client:create_verification_report(1, { lang = 1 }) end)
    raises("id", function() client:verification_report("x") end)
  end)
end)
