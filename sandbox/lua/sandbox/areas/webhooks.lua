-- Email-service webhooks managed through the API (/v2/email-service/webhook).
--
-- Unlike the rest of the email API, answers use the `{success, data}`
-- envelope. One webhook exists per (url, action): creating with several
-- actions creates one webhook each. Ids are integers from FIRST_ID, and
-- every webhook belongs to the seed account (user_id USER_ID).
-- Errors: 404 `{"success":false,"error_code":404,"message":"Webhook not
-- found"}`; 422 `{"success":false,"message":"The given data was
-- invalid.","errors":{field:[texts]}}` for a bad url or action.

local type = type
local ipairs = ipairs
local tonumber = tonumber
local str_match = string.match
local table_remove = table.remove

local util = require "sandbox.util"

local _M = {}

_M.FIRST_ID = 162241
_M.USER_ID = 7043663 -- the seed account (sandbox/data/user_info.json)

-- The events of the knowledge base's list: spam, open, link click, new
-- subscriber, unsubscribe, deletion, delivery, campaign status, bounces.
_M.ACTIONS = {
    spam = true, open = true, redirect = true, new_emails = true,
    unsubscribe = true, delete = true, delivered = true,
    campaign_status = true, soft_bounces = true, hard_bounces = true,
}

local webhooks -- list in creation order
local next_id

function _M.reset()
    webhooks = {}
    next_id = _M.FIRST_ID
end

_M.reset()

local function not_found()
    return 404, { success = false, error_code = 404, message = "Webhook not found" }
end

local function invalid(errors)
    return 422, { success = false, message = "The given data was invalid.", errors = errors }
end

local function valid_url(url)
    return type(url) == "string" and #url <= 2048
           and str_match(url, "^https?://[^%s/?#]+[^%s]*$") ~= nil
end

local function find_index(id_text)
    local id = type(id_text) == "string" and str_match(id_text, "^%d+$") and tonumber(id_text)
    if not id then
        return nil
    end
    for i, w in ipairs(webhooks) do
        if w.id == id then
            return i
        end
    end
    return nil
end

local function view(w)
    return { id = w.id, user_id = _M.USER_ID, url = w.url, action = w.action }
end

-- GET /v2/email-service/webhook
local function list()
    local data = util.array()
    for i, w in ipairs(webhooks) do
        data[i] = view(w)
    end
    return 200, { success = true, data = data }
end

-- GET /v2/email-service/webhook/{id}
local function get(_, params)
    local i = find_index(params.id)
    if not i then
        return not_found()
    end
    return 200, { success = true, data = view(webhooks[i]) }
end

-- POST /v2/email-service/webhook
local function create(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local errors = {}
    if not valid_url(params.url) then
        errors.url = util.array({ "The url format is invalid." })
    end
    local actions = params.actions
    if type(actions) ~= "table" or not util.is_array(actions) or #actions == 0 then
        errors.actions = util.array({ "The actions field is required." })
    else
        for _, a in ipairs(actions) do
            if not _M.ACTIONS[a] then
                errors.actions = util.array({ "The selected actions is invalid." })
                break
            end
        end
    end
    if errors.url or errors.actions then
        return invalid(errors)
    end
    local data = util.array()
    for _, action in ipairs(actions) do
        local existing
        for _, w in ipairs(webhooks) do
            if w.url == params.url and w.action == action then
                existing = w
                break
            end
        end
        if not existing then
            existing = { id = next_id, url = params.url, action = action }
            next_id = next_id + 1
            webhooks[#webhooks + 1] = existing
        end
        data[#data + 1] = view(existing)
    end
    return 200, { success = true, data = data }
end

-- PUT /v2/email-service/webhook/{id}
local function update(req, params)
    local i = find_index(params.id)
    if not i then
        return not_found()
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    if not valid_url(body_params.url) then
        return invalid({ url = util.array({ "The url format is invalid." }) })
    end
    webhooks[i].url = body_params.url
    return 200, { success = true, data = util.array({ true }) }
end

-- DELETE /v2/email-service/webhook/{id}
local function delete(_, params)
    local i = find_index(params.id)
    if not i then
        return not_found()
    end
    table_remove(webhooks, i)
    return 200, { success = true, data = util.array({ true }) }
end

_M.routes = {
    { "GET",    "/v2/email-service/webhook", list },
    { "POST",   "/v2/email-service/webhook", create },
    { "GET",    "/v2/email-service/webhook/{id}", get },
    { "PUT",    "/v2/email-service/webhook/{id}", update },
    { "DELETE", "/v2/email-service/webhook/{id}", delete },
}

return _M
