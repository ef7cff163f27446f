-- Pop-ups (client.popups): projects (the API's "widgets") and their
-- pop-ups, on top of the generated layer (sandbox.generic routes and
-- checks all 15 operations).
--
-- The API creates projects, not pop-ups (those are made in the editor),
-- so: every reset seeds the project "Sandbox shop" with two pop-ups
-- ("Welcome", enabled, and "Exit offer", a quiz); a project created with
-- POST /widgets starts with one disabled pop-up "Draft". Ids are UUIDs.
-- GET /widgets/list and /popups/list[/quiz]/{projectId} page with
-- first/offset (pageInfo.total); set-state turns a pop-up on or off; a
-- deleted pop-up leaves its project's list, and its statistics, state and
-- subscribers answer 404, as do those of an unknown project.

local type = type
local str_match = string.match

local store = require "sandbox.store"
local shape = require "sandbox.shape"
local util = require "sandbox.util"

local _M = {}

_M.service = "popups"

local WIDGETS = "/v2/pop-ups/public/api/widgets"
local POPUPS = "/v2/pop-ups/public/api/popups"

local function add_popup(project, name, enabled, quiz)
    return store.put(POPUPS, {
        id = store.new_id("popups", "uuid"), widgetId = project.id, name = name,
        isEnabled = enabled, createdAt = shape.now(), updatedAt = shape.now(),
        type = quiz and 8 or 1, quiz = quiz or nil,
    })
end

local function new_project(name, url)
    local host = url and str_match(url, "^%a[%w+.-]*://([^/:?#]+)")
    local project = store.put(WIDGETS, {
        id = store.new_id("popups", "uuid"), name = name,
        urls = util.array{ url }, domains = util.array{ host },
        integrationCode = "<script src=\"https://sandbox.invalid/popups.js\"></script>",
        createdAt = shape.now(), updatedAt = shape.now(),
    })
    return project
end

function _M.reset()
    local shop = new_project("Sandbox shop", "https://shop.example/")
    add_popup(shop, "Welcome", true)
    add_popup(shop, "Exit offer", false, true)
end

_M.reset()

-- the first/offset page of list (first: the page size)
local function paged(ctx, list)
    local a = ctx.args
    local offset, first = a.offset or 0, a.first or #list
    local page = util.slice(list, offset, first)
    local status, body = ctx:list(page, #list)
    if type(body) == "table" and type(body.pageInfo) == "table" then
        body.pageInfo.first, body.pageInfo.offset = first, offset
    end
    return status, body
end

local function popups_of(ctx, quiz)
    local id = ctx.args.projectId
    if not store.get(WIDGETS, id) then
        return ctx:not_found("project", id)
    end
    return paged(ctx, store.list(POPUPS, function(p)
        return p.widgetId == id and (not quiz or p.quiz == true)
    end))
end

-- the handler, once the pop-up of the path exists
local function with_popup(fn)
    return function(ctx)
        local p = store.get(POPUPS, ctx.args.popupId)
        if not p then
            return ctx:not_found("popup", ctx.args.popupId)
        end
        return fn(ctx, p)
    end
end

local function ok(ctx)
    return ctx:ok()
end

_M.ops = {
    create_widget = function(ctx)
        local project = new_project(ctx.args.name or "Project", ctx.args.url)
        add_popup(project, "Draft", false)
        return ctx:item(project)
    end,
    list_widgets = function(ctx)
        return paged(ctx, store.list(WIDGETS))
    end,
    list_popups_by_project_id = function(ctx)
        return popups_of(ctx, false)
    end,
    list_quiz_popups_by_project = function(ctx)
        return popups_of(ctx, true)
    end,
    set_popup_state = with_popup(function(ctx, p)
        if ctx.args.is_enabled ~= nil then
            p.isEnabled = ctx.args.is_enabled
        end
        p.updatedAt = shape.now()
        return ctx:item(p)
    end),
    delete_popup = with_popup(function(ctx, p)
        store.remove(POPUPS, p.id)
        return ctx:ok()
    end),
    get_popup_statistics = with_popup(ok),
    get_nps_statistics_by_popup_id = with_popup(ok),
    get_popup_aggregated_nps_statistics = with_popup(ok),
    get_subscribers_by_popup = with_popup(ok),
    get_project_widget_statistics = function(ctx)
        if not store.get(WIDGETS, ctx.args.projectId) then
            return ctx:not_found("project", ctx.args.projectId)
        end
        return ctx:ok()
    end,
}

return _M
