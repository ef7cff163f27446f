-- The in-memory resource store of the generated layer (sandbox.generic)
-- and of the areas layered on it (crm, chatbots, popups, courses, files).
--
-- A collection is named by a concrete path: "/crm/v1/deals",
-- "/crm/v1/pipelines/5/steps", "/telegram/contacts". It holds objects
-- (plain Lua tables, as the client sent them plus an id) by id, in the
-- order they were stored. Ids are kept as text ("5"), so that an id read
-- from a path and one read from a JSON body find the same object.
--
-- New ids come from one counter per service (unique across its
-- collections), in the form the spec gives the object's id: integers from
-- 1, 24 hex digits (chatbot channels) or UUIDs (pop-ups).
-- POST /__sandbox/reset empties everything.

local ipairs = ipairs
local tostring = tostring
local str_format = string.format
local table_remove = table.remove

local util = require "sandbox.util"

local _M = {}

local collections   -- name -> { by_id = { id text -> object }, order = { id text } }
local counters      -- service -> last id issued

function _M.reset()
    collections, counters = {}, {}
end

_M.reset()

local function collection(name)
    local c = collections[name]
    if not c then
        c = { by_id = {}, order = {} }
        collections[name] = c
    end
    return c
end

--- A new id for an object of `service`: `kind` is "integer" (default),
-- "hex" (24 hex digits) or "uuid".
function _M.new_id(service, kind)
    local n = (counters[service] or 0) + 1
    counters[service] = n
    if kind == "hex" then
        return str_format("65a1%020x", n)
    elseif kind == "uuid" then
        return str_format("5a4db0c1-0000-4000-8000-%012x", n)
    end
    return n
end

--- Stores obj in the collection under obj.id (replacing an object of that
-- id, which keeps its place). Returns obj.
function _M.put(name, obj)
    local c = collection(name)
    local key = tostring(obj.id)
    if c.by_id[key] == nil then
        c.order[#c.order + 1] = key
    end
    c.by_id[key] = obj
    return obj
end

--- The object of that id, or nil.
function _M.get(name, id)
    local c = collections[name]
    return c and id ~= nil and c.by_id[tostring(id)] or nil
end

--- Removes the object of that id; returns it, or nil when there was none.
function _M.remove(name, id)
    local c = collections[name]
    local key = tostring(id)
    local obj = c and c.by_id[key]
    if not obj then
        return nil
    end
    c.by_id[key] = nil
    for i, k in ipairs(c.order) do
        if k == key then
            table_remove(c.order, i)
            break
        end
    end
    return obj
end

--- The collection's objects in the order they were stored (a new list;
-- the objects themselves are the stored ones). With a filter, only those
-- for which filter(obj) is true.
function _M.list(name, filter)
    local out = util.array()
    local c = collections[name]
    if not c then
        return out
    end
    for _, key in ipairs(c.order) do
        local obj = c.by_id[key]
        if filter == nil or filter(obj) then
            out[#out + 1] = obj
        end
    end
    return out
end

--- Finds the first object of the collection with obj[field] == value.
function _M.find(name, field, value)
    local c = collections[name]
    if not c then
        return nil
    end
    for _, key in ipairs(c.order) do
        local obj = c.by_id[key]
        if obj[field] == value then
            return obj
        end
    end
    return nil
end

return _M
