-- CRM (client.crm): the flows that need more than the generated layer
-- (sandbox.generic, which routes and checks all 191 operations and keeps
-- every other CRM object in its store).
--
-- Pipelines hold steps ("/crm/v1/pipelines/{id}/steps"); a pipeline is
-- shown with its steps. A deal lives on a step of a pipeline: creating,
-- updating or moving one (PUT /deals/{id}, POST /deals/{id}/change-pipeline)
-- to a pipeline or step that does not exist, or to a step of another
-- pipeline, is refused (404 for the pipeline, 422 for the step), and a
-- step with deals on it cannot be deleted (422). POST /deals/get-list
-- filters by pipelineIds, stepId and name; POST /contacts/get-list by
-- ids, names, email (of the contact's emails) and responsibleIds; both
-- page with limit/offset. A contact can be found by its externalContactId,
-- and lists the deals it was added to (POST /deals/{id}/contacts/{id}) or
-- created with (the deal's `contact`).

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local str_find = string.find
local str_lower = string.lower

local store = require "sandbox.store"

local _M = {}

_M.service = "crm"

local PIPELINES = "/crm/v1/pipelines"
local DEALS = "/crm/v1/deals"
local CONTACTS = "/crm/v1/contacts"

local function steps_of(pipeline_id)
    return PIPELINES .. "/" .. tostring(pipeline_id) .. "/steps"
end

-- the pipeline as the API shows it: with its steps
local function pipeline_view(p)
    local out = {}
    for k, v in pairs(p) do
        out[k] = v
    end
    out.steps = store.list(steps_of(p.id))
    return out
end

local function contains(list, v)
    if type(list) ~= "table" then
        return false
    end
    for _, x in ipairs(list) do
        if x == v then
            return true
        end
    end
    return false
end

local function matches(text, part)
    return part == nil or (type(text) == "string"
                           and str_find(str_lower(text), str_lower(part), 1, true) ~= nil)
end

-- nil, or the refusal of a pipeline/step pair
local function check_place(ctx, pipeline_id, step_id)
    if pipeline_id ~= nil and not store.get(PIPELINES, pipeline_id) then
        return ctx:not_found("pipelineId", pipeline_id)
    end
    if step_id ~= nil then
        local step
        if pipeline_id ~= nil then
            step = store.get(steps_of(pipeline_id), step_id)
        end
        if not step then
            return ctx:invalid("stepId", "no step " .. tostring(step_id) .. " in pipeline "
                               .. tostring(pipeline_id))
        end
    end
    return nil
end

local function with_pipeline(handler)
    return function(ctx)
        if not store.get(PIPELINES, ctx.args.pipelineId) then
            return ctx:not_found("pipelineId", ctx.args.pipelineId)
        end
        return handler(ctx)
    end
end

local function default(ctx)
    return ctx:default()
end

_M.ops = {
    get_pipeline_by_id = function(ctx)
        local p = store.get(PIPELINES, ctx.args.pipelineId)
        if not p then
            return ctx:not_found("pipelineId", ctx.args.pipelineId)
        end
        return ctx:item(pipeline_view(p))
    end,
    get_pipelines = function(ctx)
        local list = {}
        for i, p in ipairs(store.list(PIPELINES)) do
            list[i] = pipeline_view(p)
        end
        return ctx:list(list)
    end,
    create_pipeline_step = with_pipeline(default),
    get_pipeline_steps = with_pipeline(default),
    update_pipeline_step = with_pipeline(default),
    delete_pipeline_step = with_pipeline(function(ctx)
        local a = ctx.args
        local on_it = store.list(DEALS, function(d)
            return d.pipelineId == a.pipelineId and d.stepId == a.stepId
        end)
        if #on_it > 0 and store.get(ctx.collection, a.stepId) then
            return ctx:invalid("stepId", "the step has " .. #on_it .. " deal(s): move them first")
        end
        return ctx:default()
    end),

    create_deal = function(ctx)
        local status, body = check_place(ctx, ctx.args.pipelineId, ctx.args.stepId)
        if status then
            return status, body
        end
        return ctx:default()
    end,
    update_deal_by_id = function(ctx)
        local a = ctx.args
        local deal = store.get(DEALS, a.dealId)
        if not deal then
            return ctx:not_found("dealId", a.dealId)
        end
        local pipeline = a.pipelineId or deal.pipelineId
        local status, body = check_place(ctx, pipeline, a.stepId or (a.pipelineId and deal.stepId))
        if status then
            return status, body
        end
        return ctx:default()
    end,
    change_deal_pipeline = function(ctx)
        local a = ctx.args
        local deal = store.get(DEALS, a.dealId)
        if not deal then
            return ctx:not_found("dealId", a.dealId)
        end
        local pipeline = a.pipelineId or deal.pipelineId
        local step = a.stepId
        if step == nil and a.pipelineId ~= nil then
            -- to another pipeline without a step: its first one
            local first = store.list(steps_of(a.pipelineId))[1]
            step = first and first.id
            if step == nil then
                return ctx:invalid("stepId", "pipeline " .. tostring(a.pipelineId)
                                   .. " has no step")
            end
        end
        local status, body = check_place(ctx, pipeline, step)
        if status then
            return status, body
        end
        deal.pipelineId, deal.stepId = pipeline, step or deal.stepId
        return ctx:ok()
    end,
    get_deals_list = function(ctx)
        local a = ctx.args
        local deals = store.list(DEALS, function(d)
            return (a.pipelineIds == nil or #a.pipelineIds == 0
                    or contains(a.pipelineIds, d.pipelineId))
                   and matches(d.name, a.name)
        end)
        local page, total = ctx:page(deals)
        return ctx:list(page, total)
    end,

    get_contacts_list = function(ctx)
        local a = ctx.args
        local contacts = store.list(CONTACTS, function(c)
            if a.ids and #a.ids > 0 and not contains(a.ids, c.id) then
                return false
            end
            if a.responsibleIds and #a.responsibleIds > 0
               and not contains(a.responsibleIds, c.responsibleId) then
                return false
            end
            if a.email then
                local found = false
                for _, e in ipairs(c.emails or {}) do
                    found = found or matches(type(e) == "table" and e.email or e, a.email)
                end
                for _, e in ipairs(store.list(CONTACTS .. "/" .. tostring(c.id) .. "/emails")) do
                    found = found or matches(e.email, a.email)
                end
                if not found then
                    return false
                end
            end
            return matches(c.firstName, a.firstName) and matches(c.lastName, a.lastName)
        end)
        local page, total = ctx:page(contacts)
        return ctx:list(page, total)
    end,
    get_contact_by_external_id = function(ctx)
        -- a string when created, an integer in this path (so the spec has them)
        local want = tostring(ctx.args.externalContactId)
        local c = store.list(CONTACTS, function(x)
            return x.externalContactId ~= nil and tostring(x.externalContactId) == want
        end)[1]
        if not c then
            return ctx:not_found("externalContactId", ctx.args.externalContactId)
        end
        return ctx:item(c)
    end,
    get_contact_deals = function(ctx)
        local id = ctx.args.contactId
        if not store.get(CONTACTS, id) then
            return ctx:not_found("contactId", id)
        end
        local deals = store.list(DEALS, function(d)
            return contains(d.contact, id)
                   or store.get(DEALS .. "/" .. tostring(d.id) .. "/contacts", id) ~= nil
        end)
        return ctx:list(deals)
    end,
}

return _M
