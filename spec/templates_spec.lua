-- Templates against the sandbox: base64 bodies, both ids, the `[]` for an
-- empty object, paging with the owner filter, errors, argument checks.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local sandbox = require "support.sandbox"

local json = sendpulse.json

-- fn must raise an error holding `text`, and send nothing.
local raises = sandbox.raises

describe("templates #sandbox", function()
  local client

  before_each(function()
    client = sandbox.fresh_client()
  end)

  after_each(function()
    client:close()
  end)

  it("create_template sends the HTML base64-encoded to /template", function()
    local html = "<h1>Hello {{name}}</h1><p>Привіт</p>"
    local res = assert(client:create_template{ body = html, lang = "ua", name = "Welcome" })
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/template", req.path)
    local sent = json.decode(req.body)
    assert.same({ body = core.base64_encode(html), lang = "ua", name = "Welcome" }, sent)
    assert.equal(html, core.base64_decode(sent.body))
    assert.is_true(res.result)
    assert.is_number(res.real_id)
  end)

  it("template answers by real_id and by hash id; body stays base64 and "
     .. "an empty category_info is the API's []", function()
    local html = "<p>Body</p>"
    local real_id = assert(client:create_template{ body = html, name = "Mine" }).real_id
    local t = assert(client:template(real_id))
    assert.equal("GET", sandbox.last().method)
    assert.equal("/template/" .. real_id, sandbox.last().path)
    assert.equal(real_id, t.real_id)
    assert.is_string(t.id)
    assert.equal("Mine", t.name)
    assert.equal("me", t.owner)
    assert.equal("en", t.lang)
    assert.equal(core.base64_encode(html), t.body)
    assert.same({}, t.category_info)
    assert.is_nil(next(t.category_info))
    assert.equal("[]", json.encode(t.category_info))
    assert.same({}, t.tags)
    assert.equal(sendpulse.null, t.meta_description)

    local same = assert(client:template(t.id))
    assert.equal("/template/" .. t.id, sandbox.last().path)
    assert.equal(real_id, same.real_id)

    local gallery = assert(client:templates{ owner = "sendpulse" })[1]
    local full = assert(client:template(gallery.real_id))
    assert.equal("Education", full.category_info.name)
    assert.equal("sendpulse", full.owner)
  end)

  it("update_template posts the new body to /template/edit/{id}", function()
    local real_id = assert(client:create_template{ body = "<p>old</p>" }).real_id
    assert.same({ result = true },
                assert(client:update_template(real_id, { body = "<p>new</p>", lang = "es" })))
    local req = sandbox.last()
    assert.equal("POST", req.method)
    assert.equal("/template/edit/" .. real_id, req.path)
    assert.same({ body = core.base64_encode("<p>new</p>"), lang = "es" }, json.decode(req.body))
    local t = assert(client:template(real_id))
    assert.equal("<p>new</p>", core.base64_decode(t.body))
    assert.equal("es", t.lang)
  end)

  it("templates lists a page with limit, offset and owner", function()
    local mine = {}
    for i = 1, 3 do
      mine[i] = assert(client:create_template{ body = "<p>" .. i .. "</p>",
                                               name = "t" .. i }).real_id
    end
    local page = assert(client:templates{ owner = "me", limit = 2, offset = 1 })
    assert.equal("limit=2&offset=1&owner=me", sandbox.last().query)
    assert.equal(2, #page)
    assert.equal(mine[2], page[1].real_id)
    assert.equal(mine[3], page[2].real_id)
    assert.is_nil(page[1].body)

    local gallery = assert(client:templates{ owner = "sendpulse" })
    assert.equal(2, #gallery)
    assert.equal("sendpulse", gallery[1].owner)
    assert.equal(5, #assert(client:templates()))
    assert.equal("", sandbox.last().query or "")
  end)

  it("each_template walks the pages with the owner filter, without an empty request", function()
    local mine = {}
    for i = 1, 5 do
      mine[i] = assert(client:create_template{ body = "<p>" .. i .. "</p>" }).real_id
    end
    local before = sandbox.count("GET /templates")
    local seen = {}
    for t, err in client:each_template{ owner = "me", limit = 2 } do
      assert(t, err)
      seen[#seen + 1] = t.real_id
    end
    assert.same(mine, seen)
    -- pages of 2, 2 and 1: the short last page ends the walk
    assert.equal(3, sandbox.count("GET /templates") - before)
    assert.truthy(sandbox.last().query:find("owner=me", 1, true))
  end)

  it("answers errors: unknown template, gallery edits, bodies that are not base64", function()
    local res, err = client:template(999)
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal(404, err.status)
    assert.equal("Template not found", err.message)

    local gallery = assert(client:templates{ owner = "sendpulse" })[1]
    res, err = client:update_template(gallery.real_id, { body = "<p>mine now</p>" })
    assert.is_nil(res)
    assert.equal(403, err.status)
    assert.equal(800, err.code)

    res, err = client:update_template(999, { body = "<p>x</p>" })
    assert.is_nil(res)
    assert.equal(404, err.status)

    -- what the method prevents: a body that is not base64
    res, err = client:post("/template", { body = "<p>not base64</p>" })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.equal(999, err.code)
  end)

  it("checks arguments before sending anything", function()
    raises("'template.body' to create_template (a string expected", function()
      client:create_template{ lang = "en" }
    end)
    raises("'template' to create_template (a table expected", function()
      client:create_template("<p>x</p>")
    end)
    raises("unknown field 'html'", function()
      client:create_template{ html = "<p>x</p>" }
    end)
    raises("unknown field 'name'", function()
      client:update_template(1, { body = "<p>x</p>", name = "renamed" })
    end)
    raises("'template.lang' to update_template", function()
      client:update_template(1, { body = "<p>x</p>", lang = 5 })
    end)
    raises('\'template.lang\' to create_template ("en", "ru", "ua", "tr", "es" or "pt" expected',
           function() client:create_template{ body = "<p>x</p>", lang = "de" } end)
    raises("'opts.limit' to templates (at most 100 expected, got 101)", function()
      client:templates{ limit = 101 }
    end)
    raises("'id' to update_template (an integer expected", function()
      client:update_template("abc", { body = "<p>x</p>" })
    end)
    raises("'id' to template (must be at least 1", function()
      client:template(0)
    end)
    raises("'id' to template (an integer expected", function()
      client:template({})
    end)
    raises("'opts.owner' to templates", function()
      client:templates{ owner = "them" }
    end)
    raises("'opts.owner' to each_template", function()
      client:each_template{ owner = "you" }
    end)
    raises("unknown option 'sort'", function()
      client:templates{ sort = "name" }
    end)
  end)
end)
