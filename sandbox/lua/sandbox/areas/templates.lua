-- Email templates: the account's own ("owner": "me") and SendPulse's
-- gallery ("owner": "sendpulse", two seeded ones).
--
-- A template has a hash id (32 hex digits, a string) and an integer
-- real_id; GET /template/{id} accepts either. Bodies arrive base64-encoded
-- and are served base64-encoded, as the real API does. Like the real API
-- (PHP underneath), an empty object is served as `[]`: the account's own
-- templates have `"category_info": []` and `"tags": []`.

local ngx = ngx
local type = type
local ipairs = ipairs
local tonumber = tonumber
local str_lower = string.lower
local str_match = string.match
local str_gsub = string.gsub

local util = require "sandbox.util"
local seed_errors = require "sandbox.seed_errors"

local _M = {}

_M.FIRST_ID = 1200001
_M.MAX_LIMIT = 100

local PREVIEW = "https://login.sendpulse.com/files/emailservice/userfiles/templates/preview/"

local templates -- list, by real_id ascending
local by_id     -- real_id and hash id -> template
local next_id

local function slug(name)
    local s = str_lower(name)
    s = str_gsub(s, "[^%w]+", "-")
    s = str_gsub(s, "^%-+", "")
    return (str_gsub(s, "%-+$", ""))
end

local function add(t)
    templates[#templates + 1] = t
    by_id[t.real_id] = t
    by_id[t.id] = t
end

-- SendPulse's gallery: structure templates with a category and tags.
local function seed()
    local gallery = {
        { real_id = 1153017, name = "Offline conference", created = "2020-09-04 13:54:21",
          html = "<h1>Join us at the conference</h1>" },
        { real_id = 1153018, name = "Webinar Speakers", created = "2020-09-04 13:54:30",
          html = "<h1>Meet the webinar speakers</h1>" },
    }
    for _, g in ipairs(gallery) do
        local id = ngx.md5("sendpulse-gallery-" .. g.real_id)
        add({
            id = id,
            real_id = g.real_id,
            name = g.name,
            name_slug = slug(g.name),
            lang = "en",
            body = ngx.encode_base64(g.html),
            html = g.html,
            owner = "sendpulse",
            created = g.created,
            category = "education",
            category_info = {
                id = 109, name = "Education", code = "education", sort = 6,
                meta_description = "Free education email templates by SendPulse.",
                full_description = "",
            },
            tags = { webinar = "webinar", study = "study" },
            full_description = "Use this template to invite your subscribers to an event.",
            is_structure = true,
        })
    end
end

function _M.reset()
    templates = {}
    by_id = {}
    next_id = _M.FIRST_ID
    seed()
end

_M.reset()

--- For other areas (campaigns, SMTP): the template with this real_id (a
-- number or a decimal string) or hash id, or nil. Its `html` field holds
-- the decoded body.
function _M.find(id)
    if type(id) == "string" and str_match(id, "^%d+$") then
        id = tonumber(id)
    end
    if id == nil then
        return nil
    end
    return by_id[id]
end

-- The object served; `full` adds the body (GET /template/{id}).
local function view(t, full)
    local v = {
        id = t.id,
        real_id = t.real_id,
        name = t.name,
        name_slug = t.name_slug,
        lang = t.lang,
        owner = t.owner,
        created = t.created,
        preview = PREVIEW .. t.id .. "_thumbnail_300.png",
        is_structure = t.is_structure,
        category = t.category,
        full_description = t.full_description or util.null,
        -- the real API's PHP serializer sends an empty map as []
        category_info = t.category_info or util.array(),
        tags = t.tags or util.array(),
    }
    if full then
        v.body = t.body
        v.meta_description = util.null
        v.mark = util.null
        v.mark_count = util.null
    end
    return v
end

-- A base64 body from a request: the decoded HTML, or nil plus the answer.
local function decode_body(value)
    if value == nil or value == "" then
        return nil, seed_errors.answer(400, 8)
    end
    if type(value) ~= "string" then
        return nil, util.badly_formed()
    end
    local html = ngx.decode_base64(value)
    if html == nil or html == "" then
        return nil, util.badly_formed()
    end
    return html
end

-- POST /template
local function create(req)
    local params, status, body = util.request_params(req)
    if not params then
        return status, body
    end
    local html, s, b = decode_body(params.body)
    if not html then
        return s, b
    end
    local real_id = next_id
    next_id = next_id + 1
    local name = type(params.name) == "string" and util.trim(params.name) or ""
    if name == "" then
        name = "Template " .. real_id
    end
    add({
        id = ngx.md5("template-" .. real_id .. "-" .. req.time),
        real_id = real_id,
        name = name,
        name_slug = slug(name),
        lang = type(params.lang) == "string" and params.lang ~= "" and params.lang or "en",
        body = params.body,
        html = html,
        owner = "me",
        created = ngx.utctime(),
        category = "",
        is_structure = false,
    })
    return 200, { result = true, real_id = real_id }
end

-- POST /template/edit/{id}
local function edit(req, params)
    local t = _M.find(params.id)
    if not t then
        return util.not_found("Template")
    end
    if t.owner ~= "me" then
        return seed_errors.answer(403, 800)
    end
    local body_params, status, body = util.request_params(req)
    if not body_params then
        return status, body
    end
    local html, s, b = decode_body(body_params.body)
    if not html then
        return s, b
    end
    t.body, t.html = body_params.body, html
    if type(body_params.lang) == "string" and body_params.lang ~= "" then
        t.lang = body_params.lang
    end
    return 200, { result = true }
end

-- GET /template/{id}
local function get(_, params)
    local t = _M.find(params.id)
    if not t then
        return util.not_found("Template")
    end
    return 200, view(t, true)
end

-- GET /templates?limit=&offset=&owner=
local function list(req)
    local args = req.args()
    local limit, offset, status, body = util.pagination(args, _M.MAX_LIMIT)
    if not limit then
        return status, body
    end
    local owner = args.owner
    if owner ~= nil and owner ~= "me" and owner ~= "sendpulse" then
        return util.invalid("owner")
    end
    local matching = {}
    for _, t in ipairs(templates) do
        if owner == nil or t.owner == owner then
            matching[#matching + 1] = t
        end
    end
    return 200, util.slice(matching, offset, limit, function(t)
        return view(t, false)
    end)
end

_M.routes = {
    { "POST", "/template", create },
    { "POST", "/template/edit/{id}", edit },
    { "GET",  "/template/{id}", get },
    { "GET",  "/templates", list },
}

return _M
