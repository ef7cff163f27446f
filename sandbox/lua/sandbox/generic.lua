-- The generated layer: every operation of the newer services (the
-- client's namespaces: crm, chatbots, the chatbot channels, popups,
-- courses, files) routed from the client's own rows
-- (lua/sendpulse/api/<service>.lua, made by tools/gen-api from
-- api/openapi/*.json) and answered in the shape of its success response
-- (api/responses/<service>.lua).
--
-- Each request is first checked against its row with the validator the
-- client uses before it sends (sendpulse.schema): path and query values
-- read as their types, the body's required fields, types, enums, formats
-- and bounds. A bad path or query value gets 400, a bad body 422:
--   {"success":false,"error_code":422,"message":"The request is invalid: name: required",
--    "errors":{"name":["required"]}}
-- (undeclared query parameters and body fields are let through, as the API
-- does). Then, by the operation's kind, read from its verb, path and name:
--   create  POST to a collection (create_*/add_*, .../create): stores the
--           body with a new id (an integer, 24 hex digits or a UUID, as the
--           spec types the object's id) and answers the object
--   list    GET of a collection, POST .../list|get-list|all|filter: the
--           stored objects, paged by the row's limit/offset keys, with
--           their total where the spec has one
--   get, update, delete   GET, PUT/PATCH, DELETE of .../{id}: 404 when the
--           collection has no such id (so after a delete)
--   put     POST to .../{id}: stores (or merges into) the object of that id
--   action  anything else: the spec's example answer, or one made from
--           the response schema
-- A collection is the path up to the id, with the values of earlier path
-- parameters in it ("/crm/v1/pipelines/5/steps"). Objects are shown
-- through the response schema: its example values, overlaid with the
-- stored fields that fit it (sandbox.shape).
--
-- An area module may take an operation over: `_M.service = "crm"` (or
-- `_M.services = {...}`) and `_M.ops = { name = handler | { kind = ...,
-- collection = ..., handler = ..., as_list = true (a list where the spec
-- types one object) } }`. A handler is function(ctx) -> status, body,
-- headers, called once the request is valid; ctx has req, service, op,
-- row, args (typed: path, query and body fields), body, parts (multipart),
-- params, collection, and the answers ctx:item(obj), ctx:list(objs,
-- total), ctx:page(objs), ctx:ok(), ctx:not_found(what, id),
-- ctx:invalid(field, why), ctx:default() (what the layer would answer).

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local require = require
local setmetatable = setmetatable
local str_match = string.match
local str_gsub = string.gsub
local str_find = string.find
local table_sort = table.sort

local util = require "sandbox.util"
local store = require "sandbox.store"
local shape = require "sandbox.shape"
local multipart = require "sandbox.multipart"
local schema = require "sendpulse.schema"

local _M = {}

--- service -> { op name -> info }, filled by init
_M.operations = {}

local LIST_WORDS = { list = true, ["get-list"] = true, all = true, filter = true,
                     ["short-data"] = true }
local TIMESTAMPS = { createdAt = true, created_at = true, updatedAt = true, updated_at = true }

local function is_json_type(ct)
    return ct == nil or str_find(ct, "json", 1, true) ~= nil
end

-- "/a/{x}/b/{y}" -> "/a/{x}/b", "y"; or nil when the last segment is literal
local function split_last(path)
    local parent, last = str_match(path, "^(.*)/([^/]+)$")
    return parent, last
end

local function classify(name, row, loc)
    local verb, path = row[1], row[2]
    local parent, last = split_last(path)
    local id = str_match(last, "^{([^}]+)}$")
    if id then
        if verb == "GET" and loc.item then
            return "get", parent, id
        elseif verb == "GET" and loc.list then
            return "list", path
        elseif verb == "PUT" or verb == "PATCH" then
            return "update", parent, id
        elseif verb == "DELETE" then
            return "delete", parent, id
        elseif verb == "POST" then
            return "put", parent, id
        end
    elseif verb == "GET" and loc.list then
        return "list", path
    elseif verb == "POST" and LIST_WORDS[last] and loc.list then
        return "list", parent
    elseif verb == "POST" and last == "create" then
        return "create", parent
    elseif verb == "POST" and (str_find(name, "^create_") or str_find(name, "^add_"))
           and not str_find(last, "batch", 1, true) then
        return "create", path
    end
    return "action"
end

-- the kind of id an item schema gives its objects
local function id_kind(item_schema, id_schema)
    local s = (item_schema and item_schema.p and item_schema.p.id) or id_schema
    if s then
        if s.f == "uuid" or s.f == "UUID" then
            return "uuid"
        end
        local t = type(s.t) == "table" and s.t[1] or s.t
        if t == "string" then
            return "hex"
        end
    end
    return "integer"
end

-- a path template with its capture names left out
local function shape_of(template)
    return (str_gsub(template, "{[^}]+}", "{}"))
end

local function relaxed(a)
    local out = {}
    for k, v in pairs(a) do
        if k ~= "ap" then
            out[k] = v
        end
    end
    return out
end

-- ---- answers ----------------------------------------------------------

local function error_body(status, message, errors)
    return status, { success = false, error_code = status, message = message, errors = errors }
end

local function field_of(where)
    return (str_gsub(where, "^args%.?", ""))
end

local Ctx = {}
Ctx.__index = Ctx

local function status_of(info)
    return info.resp and info.resp.status or 200
end

local function finish(info, body)
    local status = status_of(info)
    if status == 204 then
        return 204, ""
    end
    local resp = info.resp
    if resp and not is_json_type(resp.type) then
        local text = type(body) == "string" and body or ""
        return status, text, { ["Content-Type"] = resp.type }
    end
    return status, body
end

--- The operation's answer without a stored object: the spec's example,
-- or one made from the schema.
function Ctx:ok()
    local resp = self.info.resp
    if not resp then
        return 200, { success = true }
    end
    if resp.x ~= nil and (resp.s == nil or schema.check(resp.s, resp.x)) then
        return finish(self.info, shape.copy(resp.x))
    end
    if resp.s == nil then
        return finish(self.info, is_json_type(resp.type) and { success = true } or "")
    end
    return finish(self.info, shape.sample(resp.s))
end

--- The answer holding one object, shown through the response schema.
function Ctx:item(obj)
    local info = self.info
    local loc = info.loc
    if loc.item then
        local body = shape.sample(info.resp.s)
        return finish(info, shape.put(body, loc.item, shape.view(loc.item_schema, obj)))
    elseif loc.list then
        return self:list({ obj }, 1)
    end
    return self:ok()
end

--- The answer holding a list of objects (and their total, where the
-- spec's answer has one).
function Ctx:list(objs, total)
    local info = self.info
    local loc = info.loc
    if not loc.list then
        return self:ok()
    end
    local items = util.array()
    for i, obj in ipairs(objs) do
        items[i] = shape.view(loc.list_item, obj)
    end
    local body = shape.put(shape.sample(info.resp.s), loc.list, items)
    if loc.total then
        shape.put(body, loc.total, total or #objs)
    end
    return finish(info, body)
end

--- The page of objs the request asks for (the row's limit and offset
-- keys), and their total.
function Ctx:page(objs)
    local pg = self.row.pg
    local limit, offset = #objs, 0
    if pg then
        if pg.limit and type(self.args[pg.limit]) == "number" then
            limit = self.args[pg.limit]
        end
        if pg.offset and type(self.args[pg.offset]) == "number" then
            offset = self.args[pg.offset]
        end
    end
    return util.slice(objs, offset, limit), #objs
end

function Ctx.not_found(_, what, id)
    return error_body(404, tostring(what) .. " " .. tostring(id) .. " not found")
end

--- 422 (or status) naming a field of the request.
function Ctx.invalid(_, field, why, status)
    return error_body(status or 422, "The request is invalid: " .. field .. ": " .. why,
                      { [field] = util.array{ why } })
end

local function stamp(obj, item_schema, created)
    local p = item_schema and item_schema.p
    if not p then
        return
    end
    for k in pairs(TIMESTAMPS) do
        if p[k] and (created or str_find(k, "^updated")) then
            obj[k] = shape.now(p[k].f == "date" and "date" or nil)
        end
    end
end

local function merge(obj, body)
    if type(body) == "table" and util.is_object(body) then
        for k, v in pairs(body) do
            if k ~= "id" then
                obj[k] = v
            end
        end
    end
    return obj
end

-- the fields of a body: {"data": {...}} holds them where the object itself
-- has no `data` (the CRM's company emails, phones, messengers)
local function fields_of(body, item_schema)
    if type(body) == "table" and type(body.data) == "table" and util.is_object(body.data)
       and next(body, next(body)) == nil
       and not (item_schema and item_schema.p and item_schema.p.data) then
        return body.data
    end
    return body
end

--- What the generated layer answers (an area's handler may call it).
function Ctx:default()
    local info, kind = self.info, self.kind
    local key = self.collection
    local body = fields_of(self.body, info.loc.item_schema or info.loc.list_item)
    if kind == "create" then
        local obj = merge({}, body)
        obj.id = store.new_id(self.service, info.id_kind)
        local item_schema = info.loc.item_schema or info.loc.list_item
        stamp(obj, item_schema, true)
        -- the parent's id ("pipelineId" of a step), where the object has it
        for _, p in ipairs(self.row.pp or {}) do
            if item_schema and item_schema.p and item_schema.p[p] then
                obj[p] = self.args[p]
            end
        end
        store.put(key, obj)
        return self:item(obj)
    elseif kind == "list" then
        local page, total = self:page(store.list(key))
        return self:list(page, total)
    elseif kind == "get" or kind == "update" or kind == "delete" then
        local id = self.args[info.id_param]
        local obj = store.get(key, id)
        if not obj then
            return self:not_found(info.id_param, id)
        end
        if kind == "get" then
            return self:item(obj)
        elseif kind == "update" then
            merge(obj, body)
            stamp(obj, info.loc.item_schema, false)
            return self:item(obj)
        end
        store.remove(key, id)
        return self:ok()
    elseif kind == "put" then
        local id = self.args[info.id_param]
        local obj = store.get(key, id) or { id = id }
        merge(obj, body)
        store.put(key, obj)
        return self:item(obj)
    end
    return self:ok()
end

-- ---- the request, checked against its row --------------------------------

-- the multipart body as fields: text parts read as their schema's type,
-- files as their bytes; a field whose schema is a list collects its parts
local function multipart_fields(req, b)
    local boundary = multipart.boundary(req.content_type)
    if not boundary then
        return nil, nil, "a multipart/form-data body expected"
    end
    local parts, why = multipart.parse(req.body, boundary)
    if not parts then
        return nil, nil, why
    end
    local fields = {}
    local props = b and b.p or {}
    for _, part in ipairs(parts) do
        local s = props[part.name] or {}
        local list = s.t == "array" or (s.t == nil and s.i)
        local item_s = list and (s.i or {}) or s
        local v = part.data
        if not part.filename and item_s.f ~= "binary" then
            v = schema.from_string(item_s, v) or v
        end
        if list then
            fields[part.name] = fields[part.name] or util.array()
            local l = fields[part.name]
            l[#l + 1] = v
        else
            fields[part.name] = v
        end
    end
    return fields, parts
end

local function check(info, req, params)
    local row = info.row
    local a = row.a
    local args = {}
    local where_of = {}
    for _, name in ipairs(row.pp or {}) do
        local v, why = schema.from_string(a.p[name] or {}, params[name])
        if v == nil then
            return nil, error_body(400, "The request is invalid: " .. name .. ": " .. why,
                                   { [name] = util.array{ why } })
        end
        args[name] = v
        where_of[name] = 400
    end
    if row.q then
        local q = req.args()
        for _, name in ipairs(row.q) do
            where_of[name] = 400
            local text = q[name]
            if text ~= nil then
                if type(text) == "table" then
                    return nil, error_body(400, "The request is invalid: " .. name
                                           .. ": one value expected",
                                           { [name] = util.array{ "one value expected" } })
                end
                if text == true then
                    text = ""
                end
                local v, why = schema.from_string(a.p[name] or {}, text)
                if v == nil then
                    return nil, error_body(400, "The request is invalid: " .. name .. ": " .. why,
                                           { [name] = util.array{ why } })
                end
                args[name] = v
            end
        end
    end
    local body, parts
    if row.mp then
        local why
        body, parts, why = multipart_fields(req, row.b)
        if not body then
            return nil, error_body(422, "The request is invalid: " .. why)
        end
    elseif req.body ~= nil and req.body ~= "" then
        body = util.decode_body(req.body, req.content_type)
        if body == nil then
            return nil, util.badly_formed()
        end
    end
    if body == nil and row.br then
        return nil, error_body(422, "The request is invalid: a request body is required")
    end
    if body ~= nil and row.b then
        if row.bw then
            args.body = body
        elseif not util.is_object(body) then
            return nil, error_body(422, "The request is invalid: a JSON object expected "
                                   .. "as the body")
        else
            local inv = info.renamed
            for k, v in pairs(body) do
                local name = inv[k] or k
                if args[name] == nil then
                    args[name] = v
                end
            end
        end
    end
    local ok, where, why = schema.check(info.a, args, "args")
    if ok and body ~= nil and row.b and not row.bw then
        ok, where, why = schema.check(row.b, body, "args")
    end
    if not ok then
        local field = field_of(where)
        local top = str_match(field, "^[^.%[]+") or field
        local status = where_of[top] or 422
        return nil, error_body(status, "The request is invalid: "
                               .. (field ~= "" and (field .. ": ") or "") .. why,
                               field ~= "" and { [field] = util.array{ why } } or nil)
    end
    return args, body, parts
end

local function instantiate(template, params)
    return (str_gsub(template, "{([^}]+)}", function(name)
        return params[name] or ""
    end))
end

local function dispatch(info, req, params)
    local args, body, parts = check(info, req, params)
    if not args then
        return body, parts      -- the status and body of the refusal
    end
    local ctx = setmetatable({
        req = req, info = info, service = info.service, op = info.name, row = info.row,
        kind = info.kind, args = args, body = body, parts = parts, params = params,
        collection = info.collection and instantiate(info.collection, params) or nil,
    }, Ctx)
    if info.handler then
        return info.handler(ctx)
    end
    return ctx:default()
end

-- ---- loading ------------------------------------------------------------

local function overrides_of(areas)
    local out = {}
    for _, area in ipairs(areas) do
        if area.ops then
            local list = area.services or { area.service }
            for _, svc in ipairs(list) do
                out[svc] = out[svc] or {}
                for name, o in pairs(area.ops) do
                    out[svc][name] = o
                end
            end
        end
    end
    return out
end

--- Registers a route for every operation of the services in `router`,
-- except those whose paths a route there already serves (an area's
-- hand-written route, checked before any of these is added). `root` is
-- the repository (for api/responses), areas the loaded area modules.
function _M.init(root, services, router, areas)
    local overrides = overrides_of(areas or {})
    local taken = {}
    for _, svc in ipairs(services) do
        for name, row in pairs(require("sendpulse.api." .. svc).ops) do
            local path = str_gsub(row[2], "{[^}]+}", "1")
            if router:resolve(row[1], path) then
                taken[svc .. ":" .. name] = true
            end
        end
    end
    for _, svc in ipairs(services) do
        local rows = require("sendpulse.api." .. svc).ops
        local responses = dofile(root .. "/api/responses/" .. svc .. ".lua")(util.null,
                                                                            util.array)
        local names = {}
        for name in pairs(rows) do
            names[#names + 1] = name
        end
        table_sort(names)
        local served = {}
        _M.operations[svc] = served
        local infos, storable = {}, {}
        for _, name in ipairs(names) do
            local row = rows[name]
            if not taken[svc .. ":" .. name] and not router:has(row[1], row[2]) then
                local resp = responses[name]
                local loc = shape.locate(resp and resp.s, row.pg)
                local kind, collection, id_param = classify(name, row, loc)
                local renamed = {}
                for arg_name, field in pairs(row.rn or {}) do
                    renamed[field] = arg_name
                end
                infos[#infos + 1] = {
                    service = svc, name = name, row = row, resp = resp, loc = loc,
                    kind = kind, collection = collection, id_param = id_param,
                    a = relaxed(row.a), renamed = renamed,
                    label = svc .. ":" .. name,
                }
                if kind == "create" or kind == "put" then
                    storable[shape_of(collection)] = true
                end
            end
        end
        for _, info in ipairs(infos) do
            local name, row, loc = info.name, info.row, info.loc
            local stored = info.collection and storable[shape_of(info.collection)]
            if (info.kind == "get" or info.kind == "update" or info.kind == "delete")
               and not stored then
                -- nothing can be stored there: the spec's answer
                info.kind = "action"
            elseif info.kind == "action" and row[1] == "GET" and loc.item == "data"
                   and not str_find(row[2], "}$") and storable[shape_of(row[2])] then
                -- a collection whose list the spec types as one object
                -- (CRM): answered as a list of such objects
                info.kind, info.collection = "list", row[2]
                info.loc = { list = "data", list_item = loc.item_schema,
                             item = loc.item, item_schema = loc.item_schema }
                info.list_not_in_spec = true
            end
            local o = overrides[svc] and overrides[svc][name]
            if type(o) == "table" then
                for k, v in pairs(o) do
                    info[k] = v
                end
            elseif o then
                info.handler = o
            end
            if info.as_list and not info.loc.list and info.loc.item == "data" then
                -- an area lists what the spec types as one object
                info.loc = { list = "data", list_item = info.loc.item_schema,
                             item = "data", item_schema = info.loc.item_schema }
                info.list_not_in_spec = true
            end
            local id_param = info.id_param
            info.id_kind = info.id_kind or id_kind(loc.item_schema or loc.list_item,
                                                   id_param and row.a.p[id_param])
            served[name] = info
            router:add(row[1], row[2], function(req, params)
                return dispatch(info, req, params)
            end, { operation = info.label })
        end
    end
end

--- What is served: service -> { operations = n, hand_written = n,
-- kinds = { create = n, ... }, ops = { name = { kind, hand_written,
-- list_not_in_spec } } }.
function _M.summary()
    local out = {}
    for svc, ops in pairs(_M.operations) do
        local s = { operations = 0, hand_written = 0, kinds = {}, ops = {} }
        for name, info in pairs(ops) do
            s.operations = s.operations + 1
            if info.handler then
                s.hand_written = s.hand_written + 1
            end
            s.kinds[info.kind] = (s.kinds[info.kind] or 0) + 1
            s.ops[name] = { kind = info.kind, hand_written = info.handler ~= nil,
                            list_not_in_spec = info.list_not_in_spec or nil }
        end
        out[svc] = s
    end
    return out
end

return _M
