-- client.popups against the sandbox: the seeded project and its pop-ups,
-- a project created with its draft pop-up, pop-ups turned on, deleted
-- (then 404), paging with first/offset; what the client refuses before
-- sending and the sandbox when sent.
local sandbox = require "support.sandbox"

local UUID = "^%x+%-%x+%-%x+%-%x+%-%x+$"

describe("popups #sandbox", function()
  local client, popups

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 0 }
    popups = client.popups
  end)

  after_each(function()
    client:close()
  end)

  it("lists the seeded project and its pop-ups, page by page", function()
    local projects = assert(popups:list_widgets())
    assert.is_true(projects.result)
    assert.equal(1, projects.pageInfo.total)
    local shop = projects.data[1]
    assert.equal("Sandbox shop", shop.name)
    assert.matches(UUID, shop.id)
    assert.same({ "shop.example" }, shop.domains)

    local list = assert(popups:list_popups_by_project_id{ projectId = shop.id })
    assert.equal(2, list.pageInfo.total)
    assert.equal("Welcome", list.data[1].name)
    assert.is_true(list.data[1].isEnabled)
    assert.equal(shop.id, list.data[1].widgetId)
    local page = assert(popups:list_popups_by_project_id{ projectId = shop.id, first = 1,
                                                          offset = 1 })
    assert.equal(1, #page.data)
    assert.equal("Exit offer", page.data[1].name)
    assert.equal(2, page.pageInfo.total)
    assert.equal(1, page.pageInfo.offset)
    local quiz = assert(popups:list_quiz_popups_by_project{ projectId = shop.id }).data
    assert.equal(1, #quiz)
    assert.equal("Exit offer", quiz[1].name)
  end)

  it("creates a project, turns its pop-up on, deletes it", function()
    local created = assert(popups:create_widget{ name = "Blog", url = "https://blog.example/" })
    assert.equal(201, sandbox.last().status)
    local project = created.data
    assert.matches(UUID, project.id)
    assert.equal("Blog", project.name)
    assert.same({ "https://blog.example/" }, project.urls)
    assert.equal(2, assert(popups:list_widgets()).pageInfo.total)

    local draft = assert(popups:list_popups_by_project_id{ projectId = project.id }).data[1]
    assert.equal("Draft", draft.name)
    assert.is_false(draft.isEnabled)
    local on = assert(popups:set_popup_state{ popupId = draft.id, is_enabled = true })
    assert.is_true(on.result)
    assert.is_true(on.data.isEnabled)
    assert.is_true(assert(popups:list_popups_by_project_id{ projectId = project.id })
      .data[1].isEnabled)
    assert(popups:get_popup_statistics{ popupId = draft.id })

    assert.is_true(assert(popups:delete_popup{ popupId = draft.id }).result)
    assert.same({}, assert(popups:list_popups_by_project_id{ projectId = project.id }).data)
    for _, call in ipairs{
      function() return popups:set_popup_state{ popupId = draft.id, is_enabled = false } end,
      function() return popups:get_popup_statistics{ popupId = draft.id } end,
      function() return popups:delete_popup{ popupId = draft.id } end,
      function()
        return popups:list_popups_by_project_id{
          projectId = "00000000-0000-4000-8000-000000000000" }
      end,
    } do
      local res, err = call()
      assert.is_nil(res)
      assert.equal(404, err.status)
    end
  end)

  it("refuses a bad argument before sending; the sandbox refuses it when sent", function()
    sandbox.bad_argument("args.popupId", function()
      popups:set_popup_state{ popupId = "not-a-uuid", is_enabled = true }
    end, true)
    sandbox.bad_argument("args.is_enabled", function()
      popups:set_popup_state{ popupId = "00000000-0000-4000-8000-000000000000", is_enabled = "yes" }
    end)
    local res, err = client:request("POST", "/v2/pop-ups/public/api/popups/not-a-uuid/set-state",
                                    nil, { is_enabled = true })
    assert.is_nil(res)
    assert.equal(400, err.status)
    assert.matches("popupId: a UUID expected", err.message, 1, true)
    res, err = client:request("POST", "/v2/pop-ups/public/api/popups/"
                              .. "00000000-0000-4000-8000-000000000000/set-state", nil,
                              { is_enabled = "yes" })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.matches("is_enabled: a boolean expected", err.message, 1, true)
    res, err = client:request("GET", "/v2/pop-ups/public/api/widgets/list", { first = "ten" })
    assert.is_nil(res)
    assert.equal(400, err.status)
  end)
end)
