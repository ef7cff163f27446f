-- Small helpers shared by every sandbox module: JSON encoding that keeps
-- empty arrays as "[]", JSON/form body decoding, a FIFO deque for sliding
-- time windows, the canonical error bodies, and the request parsing the
-- API areas have in common (paging, ids, phones, addresses, dates). The
-- seed document's error codes and texts are in sandbox.seed_errors.

local cjson = require "cjson.safe"

local ngx = ngx
local type = type
local pairs = pairs
local next = next
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local getmetatable = getmetatable
local math_floor = math.floor
local math_huge = math.huge
local str_format = string.format
local table_concat = table.concat
local table_sort = table.sort
local str_find = string.find
local str_lower = string.lower
local str_sub = string.sub
local str_match = string.match
local str_gsub = string.gsub

local _M = {}

-- Debian's lua-cjson 2.1.0 has no encode_empty_table_as_object switch; set it
-- when a newer cjson provides it, but do not rely on it: encode() below
-- decides arrays and objects itself.
if cjson.encode_empty_table_as_object then
    cjson.encode_empty_table_as_object(true)
end

_M.null = cjson.null

-- Tables carrying this metatable always encode as JSON arrays, even empty.
local array_mt = { __name = "sandbox.array" }
_M.array_mt = array_mt

--- Marks a Lua list as a JSON array (so an empty one encodes as `[]`).
function _M.array(list)
    return setmetatable(list or {}, array_mt)
end

-- true when t has exactly the keys 1..n (n >= 1)
local function is_sequence(t)
    local n = 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k ~= math_floor(k) then
            return false
        end
        n = n + 1
    end
    return n > 0 and n == #t
end

local function encode_string(s)
    -- cjson 2.1.0 escapes "/" as "\/"; valid JSON, but the real API sends
    -- plain slashes and logs read better without the escapes. In cjson's
    -- output a backslash followed by "/" is always that escape.
    return (str_gsub(cjson.encode(s), "\\/", "/"))
end

local encode_value

local function encode_table(t, depth)
    if depth > 100 then
        return nil, "nesting too deep"
    end
    local out = {}
    if getmetatable(t) == array_mt or is_sequence(t) then
        for i = 1, #t do
            local v, err = encode_value(t[i], depth + 1)
            if not v then
                return nil, err
            end
            out[i] = v
        end
        return "[" .. table_concat(out, ",") .. "]"
    end

    -- objects: keys sorted so that responses are deterministic
    local keys = {}
    for k in pairs(t) do
        keys[#keys + 1] = tostring(k)
    end
    table_sort(keys)
    for i, k in ipairs(keys) do
        local v = t[k]
        if v == nil then
            v = t[tonumber(k)]
        end
        local enc, err = encode_value(v, depth + 1)
        if not enc then
            return nil, err
        end
        out[i] = encode_string(k) .. ":" .. enc
    end
    return "{" .. table_concat(out, ",") .. "}"
end

encode_value = function(v, depth)
    local tv = type(v)
    if tv == "table" then
        return encode_table(v, depth)
    elseif tv == "string" then
        return encode_string(v)
    elseif tv == "number" then
        if v ~= v or v == math_huge or v == -math_huge then
            return nil, "cannot encode NaN or infinity"
        end
        if v == math_floor(v) and v > -1e15 and v < 1e15 then
            -- integers without cjson's 14-significant-digit rounding
            return ("%d"):format(v)
        end
        return cjson.encode(v)
    elseif tv == "boolean" then
        return v and "true" or "false"
    elseif v == nil or v == cjson.null then
        return "null"
    end
    return nil, "cannot encode a " .. tv
end

--- Encodes a Lua value as JSON text.
-- Arrays: tables marked with util.array() or with keys exactly 1..n.
-- Every other table, including an unmarked empty one, is an object.
function _M.encode(v)
    return encode_value(v, 0)
end

-- Debian's cjson decodes "[]" and "{}" to the same empty table. To keep
-- the difference, decode() first replaces every empty array outside strings
-- with a one-element array holding a marker string, then turns those back
-- into util.array() tables.
local EMPTY_ARRAY_MARKER = "\0sandbox:empty-array"
local EMPTY_ARRAY_JSON = '["\\u0000sandbox:empty-array"]'

local function mark_empty_arrays(text)
    if not str_find(text, "%[%s*%]") then
        return text
    end
    local out, pos, len = {}, 1, #text
    while true do
        local i = str_find(text, '["%[]', pos)
        if not i then
            break
        end
        if str_sub(text, i, i) == '"' then
            -- copy the whole string literal, escapes included
            local j = i + 1
            while true do
                local k = str_find(text, '["\\]', j)
                if not k then
                    j = len + 1 -- unterminated: cjson will report it
                    break
                end
                if str_sub(text, k, k) == "\\" then
                    j = k + 2
                else
                    j = k + 1
                    break
                end
            end
            out[#out + 1] = str_sub(text, pos, j - 1)
            pos = j
        else
            local after = str_match(text, "^%[%s*%]()", i)
            if after then
                out[#out + 1] = str_sub(text, pos, i - 1) .. EMPTY_ARRAY_JSON
                pos = after
            else
                out[#out + 1] = str_sub(text, pos, i)
                pos = i + 1
            end
        end
    end
    out[#out + 1] = str_sub(text, pos)
    return table_concat(out)
end

local function restore_empty_arrays(v)
    if type(v) ~= "table" then
        return v
    end
    if v[1] == EMPTY_ARRAY_MARKER and #v == 1 and next(v, 1) == nil then
        return _M.array()
    end
    for k, item in pairs(v) do
        v[k] = restore_empty_arrays(item)
    end
    return v
end

--- Decodes JSON text; returns nil, err on malformed input. Empty arrays
-- come back marked with util.array(), so they re-encode as "[]".
function _M.decode(text)
    if type(text) ~= "string" then
        return nil, "not a string"
    end
    local value, err = cjson.decode(mark_empty_arrays(text))
    if value == nil then
        return nil, err
    end
    return restore_empty_arrays(value)
end

function _M.is_array(v)
    return type(v) == "table" and (getmetatable(v) == array_mt or is_sequence(v)
                                   or next(v) == nil)
end

function _M.is_object(v)
    return type(v) == "table" and getmetatable(v) ~= array_mt
           and (next(v) == nil or not is_sequence(v))
end

--- Decodes a request body according to its Content-Type.
-- JSON by default; application/x-www-form-urlencoded as form fields; a body
-- without a Content-Type is tried as JSON first, then as a form.
-- An empty body gives an empty table.
-- Returns a table, or nil and an error message.
function _M.decode_body(body, content_type)
    if body == nil or body == "" then
        return {}
    end
    local ct = str_lower(content_type or "")
    if str_find(ct, "application/x-www-form-urlencoded", 1, true) then
        return ngx.decode_args(body, 0)
    end
    local value, err = _M.decode(body)
    if type(value) == "table" then
        return value
    end
    if ct == "" and str_find(body, "=", 1, true) then
        return ngx.decode_args(body, 0)
    end
    return nil, value ~= nil and "the body must be a JSON object or array"
                or ("malformed JSON: " .. tostring(err))
end

--- The SendPulse error body `{"error_code": code, "message": text}`.
function _M.api_error(status, code, message)
    return status, { error_code = code, message = message }
end

--- The real API's answer to data it cannot use: 422, error_code 999.
function _M.badly_formed()
    return _M.api_error(422, 999, "Badly formed incoming data")
end

-- The sandbox's own answers where no code of the seed's table fits: the
-- HTTP status doubles as the error code.

--- 400 "Invalid <what>", for a malformed field or query argument.
function _M.invalid(what)
    return _M.api_error(400, 400, "Invalid " .. what)
end

--- 404 "<What> not found", for an unknown object.
function _M.not_found(what)
    return _M.api_error(404, 404, what .. " not found")
end

--- The request body decoded by decode_body(), or nil plus the API's answer
-- to a body it cannot parse (badly_formed()).
function _M.request_params(req)
    local params = _M.decode_body(req.body, req.content_type)
    if params == nil then
        return nil, _M.badly_formed()
    end
    return params
end

--- Parses a non-negative integer from a query argument.
-- Returns the default when absent, nil when invalid.
function _M.parse_count(value, default)
    if value == nil then
        return default
    end
    if type(value) ~= "string" or not value:match("^%d+$") then
        return nil
    end
    return tonumber(value)
end

--- The page size and offset of a list request: the query arguments
-- `limit` and `offset` (or the names given), the size capped at
-- max_limit (also its default). Returns limit, offset; or nil, nil plus
-- the answer to an argument that is not a whole number ("Invalid limit").
function _M.pagination(args, max_limit, limit_key, offset_key)
    limit_key, offset_key = limit_key or "limit", offset_key or "offset"
    local limit = _M.parse_count(args[limit_key], max_limit)
    if not limit then
        return nil, nil, _M.invalid(limit_key)
    end
    local offset = _M.parse_count(args[offset_key], 0)
    if not offset then
        return nil, nil, _M.invalid(offset_key)
    end
    if limit > max_limit then
        limit = max_limit
    end
    return limit, offset
end

--- The page [offset+1 .. offset+limit] of a list, as a JSON array; each
-- item passed through view(item) when a view is given.
function _M.slice(list, offset, limit, view)
    local out = _M.array()
    for i = offset + 1, offset + limit do
        local v = list[i]
        if v == nil then
            break
        end
        if view then
            v = view(v)
        end
        out[#out + 1] = v
    end
    return out
end

--- Trims surrounding white space.
function _M.trim(s)
    return (str_gsub(s, "^%s*(.-)%s*$", "%1"))
end

--- true for a string holding more than white space.
function _M.non_blank(v)
    return type(v) == "string" and _M.trim(v) ~= ""
end

--- A non-empty list from a request field: a JSON array, or a string
-- holding one (older wrappers send lists JSON-encoded). nil when absent,
-- empty or not a list.
function _M.json_list(value)
    if type(value) == "string" then
        value = _M.decode(value)
    end
    if type(value) ~= "table" or not _M.is_array(value) or #value == 0 then
        return nil
    end
    return value
end

--- An id from a path capture or a JSON value: a whole number, or a string
-- of digits. nil for anything else.
function _M.parse_id(v)
    if type(v) == "number" and v == math_floor(v) then
        return v
    end
    if type(v) == "string" and str_match(v, "^%d+$") then
        return tonumber(v)
    end
    return nil
end

--- A phone number as stored: its digits (a leading "+" dropped), from a
-- string or a whole positive JSON number; nil for anything else.
function _M.phone_digits(value)
    if type(value) == "number" and value == math_floor(value) and value > 0 then
        value = ("%d"):format(value)
    end
    if type(value) ~= "string" then
        return nil
    end
    return str_match(value, "^%+?(%d+)$")
end

--- true when s looks like an address: one "@" with text on both sides,
-- and no white space.
function _M.valid_email(s)
    return type(s) == "string" and str_match(s, "^[^@%s]+@[^@%s]+$") ~= nil
end

--- true for a "YYYY-MM-DD HH:MM:SS" string (the shape only: digits in
-- plausible ranges, not a calendar check).
function _M.is_datetime(v)
    return type(v) == "string"
           and str_match(v, "^%d%d%d%d%-[01]%d%-[0-3]%d [0-2]%d:[0-5]%d:[0-5]%d$") ~= nil
end

-- Days since 1970-01-01 of a civil date (proleptic Gregorian), so that
-- dates convert to epoch seconds without the server's time zone.
local function days_from_civil(y, m, d)
    if m <= 2 then
        y = y - 1
    end
    local era = math_floor(y / 400)
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = math_floor((153 * mp + 2) / 5) + d - 1
    local doe = yoe * 365 + math_floor(yoe / 4) - math_floor(yoe / 100) + doy
    return era * 146097 + doe - 719468
end

--- "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DD", midnight) read as UTC:
-- seconds since the epoch; nil when malformed.
function _M.epoch(text)
    if type(text) ~= "string" then
        return nil
    end
    local y, mo, d, rest = str_match(text, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
    if not y then
        return nil
    end
    local h, mi, s = 0, 0, 0
    if rest ~= "" then
        h, mi, s = str_match(rest, "^ (%d%d):(%d%d):(%d%d)$")
        if not h then
            return nil
        end
    end
    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    h, mi, s = tonumber(h), tonumber(mi), tonumber(s)
    if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then
        return nil
    end
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
end

--- Seconds since the epoch (fractions dropped) as "YYYY-MM-DD HH:MM:SS"
-- in UTC: the inverse of epoch().
function _M.format_epoch(t)
    t = math_floor(t)
    local days = math_floor(t / 86400)
    local secs = t - days * 86400
    -- civil_from_days
    local z = days + 719468
    local era = math_floor(z / 146097)
    local doe = z - era * 146097
    local yoe = math_floor((doe - math_floor(doe / 1460) + math_floor(doe / 36524)
                            - math_floor(doe / 146096)) / 365)
    local y = yoe + era * 400
    local doy = doe - (365 * yoe + math_floor(yoe / 4) - math_floor(yoe / 100))
    local mp = math_floor((5 * doy + 2) / 153)
    local d = doy - math_floor((153 * mp + 2) / 5) + 1
    local m = mp < 10 and mp + 3 or mp - 9
    if m <= 2 then
        y = y + 1
    end
    return str_format("%04d-%02d-%02d %02d:%02d:%02d", y, m, d,
                      math_floor(secs / 3600), math_floor(secs % 3600 / 60), secs % 60)
end

--- Reads a whole file; nil, err on failure.
function _M.read_file(path)
    local f, err = io.open(path, "rb")
    if not f then
        return nil, err
    end
    local data = f:read("*a")
    f:close()
    return data
end

-- Deque: a FIFO queue for sliding time windows (push at the back, drop from
-- the front), O(1) amortized per operation.
local Deque = {}
Deque.__index = Deque

function _M.deque()
    return setmetatable({ first = 1, last = 0 }, Deque)
end

function Deque:push(v)
    local last = self.last + 1
    self.last = last
    self[last] = v
end

function Deque:peek()
    return self[self.first]
end

function Deque:pop()
    local first = self.first
    if first > self.last then
        return nil
    end
    local v = self[first]
    self[first] = nil
    self.first = first + 1
    return v
end

function Deque:size()
    return self.last - self.first + 1
end

--- Drops the values <= limit from the front (values pushed in order).
function Deque:drop_until(limit)
    while self.first <= self.last and self[self.first] <= limit do
        self:pop()
    end
end


return _M
