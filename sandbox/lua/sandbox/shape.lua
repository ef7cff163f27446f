-- Answers in the shape the specs give them: values built from the success
-- response schemas of api/responses/<service>.lua (made by tools/gen-api
-- from api/openapi/*.json), used by sandbox.generic and the areas layered
-- on it.
--
--   sample(s)        a value schema s accepts: the spec's example where it
--                    has a valid one, else one made from the type (format,
--                    enum, bounds); booleans named success/result are true
--   view(s, obj)     sample(s) with obj's fields laid over it, each one that
--                    fits the schema (a stored object as the spec shows it)
--   locate(resp, pg) where an answer keeps its item ("data" or the top)
--                    or its list ("data", "data.list", the top) and the
--                    list's total, with the schemas of the item and list
--   put(t, at, v)    sets a dotted path ("data.list") of t
--
-- The schemas are in sendpulse.schema's compact form; schema.null and
-- schema.array_mt are set here to the sandbox's (cjson's null, util.array).

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local setmetatable = setmetatable
local getmetatable = getmetatable
local os_date = os.date
local str_rep = string.rep
local str_gmatch = string.gmatch

local util = require "sandbox.util"
local schema = require "sendpulse.schema"

schema.null = util.null
schema.array_mt = util.array_mt

local _M = {}

local MAX_DEPTH = 6

local function copy(v)
    if type(v) ~= "table" then
        return v
    end
    local t = {}
    for k, x in pairs(v) do
        t[k] = copy(x)
    end
    return setmetatable(t, getmetatable(v))
end
_M.copy = copy

--- The current time as the specs write it ("2024-01-15T10:00:00Z"), or
-- in the form of a format ("date", "time", "Y-m-d H:i").
function _M.now(format)
    local t = ngx and ngx.time() or os.time()
    if format == "date" then
        return os_date("!%Y-%m-%d", t)
    elseif format == "time" then
        return os_date("!%H:%M:%S", t)
    elseif format == "Y-m-d H:i" then
        return os_date("!%Y-%m-%d %H:%M", t)
    end
    return os_date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local STRINGS = {
    email = "user@example.com", uri = "https://example.com/", hostname = "example.com",
    uuid = "00000000-0000-4000-8000-000000000000",
    UUID = "00000000-0000-4000-8000-000000000000",
}

local function first_type(t)
    if type(t) == "table" then
        for _, x in ipairs(t) do
            if x ~= "null" then
                return x
            end
        end
        return "null"
    end
    return t
end

local sample

local function sample_object(s, depth)
    local out = {}
    if s.p and depth < MAX_DEPTH then
        for k, sub in pairs(s.p) do
            if (k == "success" or k == "result") and first_type(sub.t) == "boolean" then
                out[k] = true
            else
                out[k] = sample(sub, depth + 1)
            end
        end
    end
    return out
end

function sample(s, depth)
    depth = depth or 0
    if type(s) ~= "table" then
        return util.null
    end
    if s.x ~= nil and schema.check(s, s.x) then
        return copy(s.x)
    end
    if s.k ~= nil then
        return s.k
    end
    if s.e then
        for _, v in ipairs(s.e) do
            if v ~= util.null then
                return v
            end
        end
        return util.null
    end
    local alts = s.one or s.any
    if alts then
        for _, a in ipairs(alts) do
            local v = sample(a, depth + 1)
            if schema.check(s, v) then
                return v
            end
        end
    end
    if s.all then
        local out = sample_object(s, depth)
        for _, a in ipairs(s.all) do
            local v = sample(a, depth + 1)
            if type(v) == "table" then
                for k, x in pairs(v) do
                    out[k] = x
                end
            end
        end
        return out
    end
    local t = first_type(s.t)
    if t == nil then
        t = s.p and "object" or s.i and "array" or nil
    end
    if t == "object" then
        return sample_object(s, depth)
    elseif t == "array" then
        local out = util.array()
        for i = 1, s.mini or 0 do
            out[i] = sample(s.i, depth + 1)
        end
        return out
    elseif t == "string" then
        local v = STRINGS[s.f]
        if s.f == "date-time" or s.f == "date" or s.f == "time" or s.f == "Y-m-d H:i" then
            v = _M.now(s.f)
        end
        v = v or ""
        if s.minl and #v < s.minl then
            v = v .. str_rep("x", s.minl - #v)
        end
        return v
    elseif t == "integer" or t == "number" then
        local v = 0
        if s.min and v < s.min then
            v = s.min
        end
        if s.xmin and v <= s.xmin then
            v = s.xmin + 1
        end
        if s.max and v > s.max then
            v = s.max
        end
        return v
    elseif t == "boolean" then
        return false
    end
    return util.null
end
_M.sample = sample

--- sample(s) with the fields of obj laid over it: each field s declares
-- when its value fits the field's schema, and the fields s does not
-- declare (unless s forbids others).
function _M.view(s, obj)
    local out = sample(s)
    if type(out) ~= "table" or type(obj) ~= "table" then
        return out
    end
    local p = s and s.p
    for k, v in pairs(obj) do
        local sub = p and p[k]
        if sub then
            if schema.check(sub, v) then
                out[k] = copy(v)
            end
        elseif not (s and s.ap == false) then
            out[k] = copy(v)
        end
    end
    return out
end

local function at(s, path)
    for key in str_gmatch(path, "[^.]+") do
        if type(s) ~= "table" or not s.p then
            return nil
        end
        s = s.p[key]
    end
    return s
end

local function is_array(s)
    return type(s) == "table" and (first_type(s.t) == "array" or (s.t == nil and s.i ~= nil))
end

local function is_object(s)
    return type(s) == "table" and (first_type(s.t) == "object" or (s.t == nil and s.p ~= nil))
end

--- Where the response of schema s keeps a list and an item:
-- { list = "data" | "data.list" | "" | nil, total = "meta.total" | nil,
--   list_item = schema of the list's items, item = "data" | "" | nil,
--   item_schema = its schema }. pg is the row's paging (its list and
-- total win).
function _M.locate(s, pg)
    local out = {}
    if type(s) ~= "table" then
        return out
    end
    local candidates = { "", "data", "data.list", "data.items", "list" }
    if pg and pg.list then
        table.insert(candidates, 1, pg.list)
    end
    for _, path in ipairs(candidates) do
        local sub = path == "" and s or at(s, path)
        if is_array(sub) then
            out.list, out.list_item = path, sub.i
            break
        end
    end
    if pg and pg.total then
        out.total = pg.total
    elseif out.list then
        for _, path in ipairs{ "data.total", "total", "meta.total", "metadata.total",
                               "pageInfo.total" } do
            local sub = at(s, path)
            if sub and (first_type(sub.t) == "integer" or first_type(sub.t) == "number") then
                out.total = path
                break
            end
        end
    end
    local data = at(s, "data")
    if is_object(s) and s.p and s.p.id and not s.p.success and not s.p.result then
        -- the object itself, whose `data` is one of its fields (a message)
        out.item, out.item_schema = "", s
    elseif is_object(data) then
        out.item, out.item_schema = "data", data
    elseif is_object(s) and s.p and next(s.p) and not (s.p.data or s.p.success) then
        out.item, out.item_schema = "", s
    end
    return out
end

--- Sets the dotted path of t to v ("" replaces nothing: returns v).
function _M.put(t, path, v)
    if path == "" then
        return v
    end
    local keys = {}
    for key in str_gmatch(path, "[^.]+") do
        keys[#keys + 1] = key
    end
    local node = t
    for i = 1, #keys - 1 do
        if type(node[keys[i]]) ~= "table" then
            node[keys[i]] = {}
        end
        node = node[keys[i]]
    end
    node[keys[#keys]] = v
    return t
end

return _M
