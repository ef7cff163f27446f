-- Web push methods against the sandbox: the requests it received and the
-- results, including base64 images, dates, 711 and the iterators.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- Raises naming the argument, and sends nothing.
local refuses = sandbox.raises

-- A task at a given minute of 2030, so that tasks of one website keep the
-- service's pause between campaigns.
local function task(minute, extra)
  return sandbox.merge({ title = "Sale " .. minute, body = "Everything -50%", website_id = 53,
                         ttl = 3600, send_date = ("2030-05-01 10:%02d:00"):format(minute) },
                       extra)
end

describe("push #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  describe("create_push_task", function()
    it("sends the fields as JSON with image and icon data base64-encoded", function()
      local png = "\137PNG\r\n\26\n\0\0"           -- raw bytes, NULs included
      local res = assert(client:create_push_task{
        title = "Sale", website_id = 53, body = "Everything -50%", ttl = 3600,
        link = "https://shop.example.com/sale",
        image = { name = "banner.png", data = png },
        icon = { name = "icon.png", data = "hello" },
        buttons = { { text = "Buy", link = "https://shop.example.com/buy" } },
        filter_lang = "en",
        filter = { variable_name = "uname", operator = "or",
                   conditions = { { condition = "likewith", value = "fro" } } },
        stretch_time = 600,
      })
      assert.is_true(res.result)
      assert.equal(3000001, res.id)

      local req = sandbox.last("POST /push/tasks")
      assert.equal("application/json", req.content_type)
      local sent = json.decode(req.body)
      -- buttons, image and icon travel as JSON text, as the spec types them
      assert.equal("string", type(sent.image))
      assert.equal("string", type(sent.icon))
      assert.equal("string", type(sent.buttons))
      sent.image, sent.icon = json.decode(sent.image), json.decode(sent.icon)
      sent.buttons = json.decode(sent.buttons)
      assert.equal("iVBORw0KGgoAAA==", sent.image.data)
      assert.equal("banner.png", sent.image.name)
      assert.equal("aGVsbG8=", sent.icon.data)
      assert.equal("Sale", sent.title)
      assert.equal(53, sent.website_id)
      assert.equal(3600, sent.ttl)
      assert.equal(600, sent.stretch_time)
      assert.same({ { text = "Buy", link = "https://shop.example.com/buy" } }, sent.buttons)
      assert.equal("likewith", sent.filter.conditions[1].condition)

      local stats = assert(client:push_task(res.id))
      assert.equal("5", stats.send)                 -- a string, as the API sends it
      assert.equal(5, stats.delivered)
      assert.equal("Sale", stats.message.title)
      assert.equal("Everything -50%", stats.message.text)
      assert.equal("www.test-site.com", stats.website)
    end)

    it("formats dates given as os.time() numbers", function()
      local t = os.time{ year = 2030, month = 6, day = 2, hour = 9, min = 30, sec = 0 }
      assert(client:create_push_task{
        title = "Later", website_id = 54, body = "soon", ttl = 0, send_date = t,
        filter_subscription_date_from = t, filter_subscription_date_to = "2030-06-30",
      })
      local sent = sandbox.last_body("POST /push/tasks")
      assert.equal("2030-06-02 09:30:00", sent.send_date)
      assert.equal("2030-06-02", sent.filter_subscription_date_from)
      assert.equal("2030-06-30", sent.filter_subscription_date_to)
      assert.equal(0, sent.ttl)
      local listed = assert(client:push_tasks{ website_id = 54 })
      assert.equal(1, #listed)
      assert.equal("2030-06-02 09:30:00", listed[1].from)
    end)

    it("answers 711 to a second campaign for a website too soon", function()
      assert(client:create_push_task{ title = "a", body = "b", website_id = 53, ttl = 60 })
      local res, err = client:create_push_task{ title = "c", body = "d", website_id = 53,
                                                ttl = 60 }
      assert.is_nil(res)
      assert.equal("api", err.kind)
      assert.equal(711, err.code)
      assert.equal("Wait before create new push campaign by this website", err.message)
      -- another website, or the same one later, is fine
      assert(client:create_push_task{ title = "e", body = "f", website_id = 54, ttl = 60 })
      assert(client:create_push_task(task(5)))
      assert.equal(3, #assert(client:push_tasks()))
    end)

    it("reports an unknown website", function()
      local res, err = client:create_push_task(task(1, { website_id = 999 }))
      assert.is_nil(res)
      assert.equal(404, err.status)
    end)

    it("checks its arguments before sending anything", function()
      refuses("'task' to create_push_task (a table expected",
              function() client:create_push_task() end)
      refuses("'task.title' to create_push_task",
              function() client:create_push_task{ website_id = 53, body = "b", ttl = 1 } end)
      refuses("'task.ttl' to create_push_task",
              function() client:create_push_task{ title = "t", website_id = 53, body = "b" } end)
      refuses("'task.ttl' to create_push_task (must be at least 0)",
              function() client:create_push_task(task(1, { ttl = -1 })) end)
      refuses("'task.ttl' to create_push_task (at most 86400 seconds expected, got 86401)",
              function() client:create_push_task(task(1, { ttl = 86401 })) end)
      refuses("'task.website_id' to create_push_task (an integer expected, got a string)",
              function() client:create_push_task(task(1, { website_id = "53" })) end)
      refuses("'task' to create_push_task (unknown field 'titel')",
              function() client:create_push_task(task(1, { titel = "x" })) end)
      refuses("'task.image.data' to create_push_task",
              function() client:create_push_task(task(1, { image = { name = "a.png" } })) end)
      refuses("'task.send_date' to create_push_task",
              function() client:create_push_task(task(1, { send_date = "tomorrow" })) end)
      refuses("'task.filter_subscription_date_from' to create_push_task",
              function()
                client:create_push_task(task(1, {
                  filter_subscription_date_from = "2030-01-01 10:00:00" }))
              end)
      refuses("'task.buttons[1].link' to create_push_task",
              function() client:create_push_task(task(1, { buttons = { { text = "x" } } })) end)
      refuses("'task.filter.conditions' to create_push_task",
              function()
                client:create_push_task(task(1, { filter = { variable_name = "a",
                                                              operator = "or" } }))
              end)
    end)
  end)

  describe("tasks", function()
    it("push_tasks sends limit, offset and the filters", function()
      for minute = 0, 20, 5 do
        assert(client:create_push_task(task(minute)))
      end
      local page = assert(client:push_tasks{ limit = 2, offset = 1, website_id = 53,
                                             from = "2030-05-01 10:04:00", to = "2030-05-01" })
      assert.equal(2, #page)
      assert.equal("Sale 10", page[1].title)    -- Sale 0 is before `from`
      assert.equal("Sale 15", page[2].title)
      assert.equal(53, page[1].website_id)
      local req = sandbox.last("GET /push/tasks")
      assert.equal("from=2030-05-01 10:04:00&limit=2&offset=1&to=2030-05-01&website_id=53",
                   sandbox.unescape(req.query))
      assert.same({}, assert(client:push_tasks{ from = "2031-01-01" }))
    end)

    it("each_push_task walks every page without an empty last request", function()
      for minute = 0, 20, 5 do
        assert(client:create_push_task(task(minute)))
      end
      local before = sandbox.count("GET /push/tasks")
      local titles = {}
      for t, err in client:each_push_task{ limit = 2 } do
        assert(t, err)
        titles[#titles + 1] = t.title
      end
      assert.same({ "Sale 0", "Sale 5", "Sale 10", "Sale 15", "Sale 20" }, titles)
      assert.equal(3, sandbox.count("GET /push/tasks") - before)

      local n = 0
      for t in client:each_push_task{ limit = 2, max = 3, from = "2030-05-01 10:05:00" } do
        n = n + 1
        assert.not_equal("Sale 0", t.title)
      end
      assert.equal(3, n)
    end)

    it("each_push_task yields false and the error once on failure", function()
      sandbox.fault{ path = "/push/tasks", method = "GET", status = 400,
                     body = { error_code = 8, message = "No data" } }
      local results = {}
      for t, err in client:each_push_task() do
        results[#results + 1] = { t, err }
      end
      assert.equal(1, #results)
      assert.is_false(results[1][1])
      assert.equal(8, results[1][2].code)
    end)

    it("checks list options", function()
      refuses("'opts.from' to push_tasks", function() client:push_tasks{ from = "May" } end)
      refuses("'opts' to push_tasks (unknown option 'site')",
              function() client:push_tasks{ site = 53 } end)
      refuses("'opts.website_id' to each_push_task",
              function() client:each_push_task{ website_id = "x" } end)
      refuses("'id' to push_task", function() client:push_task("1") end)
    end)

    it("push_task reports an unknown campaign", function()
      local res, err = client:push_task(42)
      assert.is_nil(res)
      assert.equal(404, err.status)
      assert.equal("/push/tasks/42", sandbox.last("GET /push/tasks/42").path)
    end)
  end)

  describe("websites", function()
    it("lists one page, iterates and counts them", function()
      local page = assert(client:push_websites{ limit = 2 })
      assert.equal(2, #page)
      assert.same({ id = 53, url = "www.test-site.com", add_date = "2015-11-23 14:42:37",
                    status = 1 }, page[1])
      assert.equal("limit=2", sandbox.last("GET /push/websites").query)

      local before = sandbox.count("GET /push/websites")
      local ids = {}
      for site in client:each_push_website{ limit = 1 } do
        ids[#ids + 1] = site.id
      end
      assert.same({ 53, 54, 55 }, ids)
      assert.equal(3, sandbox.count("GET /push/websites") - before)

      assert.same({ total = 3 }, assert(client:push_websites_total()))
    end)

    it("gives variables, info and the integration code", function()
      local vars = assert(client:push_website_variables(53))
      assert.same({ id = 97, name = "uname", type = "string" }, vars[1])
      assert.equal(2, #vars)
      assert.same({}, assert(client:push_website_variables(55)))

      local info = assert(client:push_website_info(53))
      assert.equal("www.test-site.com", info.url)
      assert.equal(5, info.total_subscribers)
      assert.equal("/push/websites/info/53", sandbox.last("GET /push/websites/info/53").path)

      local code = assert(client:push_website_code(54))
      assert.matches('^<script charset="UTF%-8" src=".-%.js" async></script>$',
                     code.script_code)

      local res, err = client:push_website_variables(999)
      assert.is_nil(res)
      assert.equal(404, err.status)
    end)

    it("lists, iterates and counts subscriptions", function()
      local subs = assert(client:push_website_subscriptions(53, { limit = 2, offset = 1 }))
      assert.equal(2, #subs)
      assert.equal(700002, subs[1].id)
      assert.same({ { name = "uname", value = "sam" } }, subs[1].variables)

      local from = os.time{ year = 2019, month = 1, day = 1, hour = 0 }
      local recent = assert(client:push_website_subscriptions(53, { from = from,
                                                                    to = "2020-12-31" }))
      assert.equal(2, #recent)
      assert.equal("subscription_date_from=2019-01-01&subscription_date_to=2020-12-31",
                   sandbox.unescape(sandbox.last("GET /push/websites/53/subscriptions").query))

      local before = sandbox.count("GET /push/websites/53/subscriptions")
      local ids = {}
      for s in client:each_push_website_subscription(53, { limit = 2 }) do
        ids[#ids + 1] = s.id
      end
      assert.same({ 700001, 700002, 700003, 700004, 700005 }, ids)
      assert.equal(3, sandbox.count("GET /push/websites/53/subscriptions") - before)

      assert.same({ total = 5 }, assert(client:push_website_subscriptions_total(53)))
      assert.same({ total = 0 }, assert(client:push_website_subscriptions_total(55)))
    end)

    it("sets a subscription's state", function()
      assert.same({ result = true }, assert(client:set_push_subscription_state(700002, false)))
      assert.same({ id = 700002, state = 0 },
                  sandbox.last_body("POST /push/subscriptions/state"))
      assert.equal(0, assert(client:push_website_subscriptions(53))[2].status)
      assert.equal(4, assert(client:push_website_info(53)).active_subscribers)

      assert(client:set_push_subscription_state(700002, 1))
      assert.same({ id = 700002, state = 1 },
                  sandbox.last_body("POST /push/subscriptions/state"))
      assert.equal(5, assert(client:push_website_info(53)).active_subscribers)

      local res, err = client:set_push_subscription_state(1, true)
      assert.is_nil(res)
      assert.equal(404, err.status)
      refuses("'state' to set_push_subscription_state",
              function() client:set_push_subscription_state(700002, "on") end)
      refuses("'id' to push_website_subscriptions",
              function() client:push_website_subscriptions() end)
    end)
  end)
end)
