-- Table-driven router.
--
-- A route is { method, pattern, handler, public = bool }. A pattern is a
-- path whose segments are literals or `{name}` captures, e.g.
-- "/addressbooks/{id}/emails/{email}". Captures match one non-empty path
-- segment and are percent-decoded before reaching the handler, so an email
-- such as "a%40b.com" arrives as "a@b.com".
--
-- When several patterns match a path, the one with the most literal
-- segments wins ("/addressbooks/{id}/emails/total" beats
-- "/addressbooks/{id}/emails/{email}"), then the one registered first.
--
-- Matching is done on the raw request path (before nginx's decoding and
-- slash merging), so "//user/info" or "/user/info/" do not match
-- "/user/info": a client that builds such URLs gets a 404 here too.

local ipairs = ipairs
local setmetatable = setmetatable
local str_find = string.find
local str_sub = string.sub
local str_match = string.match
local str_upper = string.upper
local str_gsub = string.gsub
local str_char = string.char
local tonumber = tonumber
local table_sort = table.sort
local table_concat = table.concat

local _M = {}
local mt = { __index = _M }

-- Splits "/a/b/c" into {"a", "b", "c"}, keeping empty segments
-- ("/a//b/" gives {"a", "", "b", ""}).
local function split_path(path)
    local segments = {}
    local pos = 2 -- skip the leading "/"
    while true do
        local slash = str_find(path, "/", pos, true)
        if not slash then
            segments[#segments + 1] = str_sub(path, pos)
            return segments
        end
        segments[#segments + 1] = str_sub(path, pos, slash - 1)
        pos = slash + 1
    end
end

-- Percent-decodes a path segment. Not ngx.unescape_uri: that one turns "+"
-- into a space, but in a path "+" is itself ("b+tag@example.com").
local function decode_segment(seg)
    return (str_gsub(seg, "%%(%x%x)", function(hex)
        return str_char(tonumber(hex, 16))
    end))
end

local function compile(pattern)
    local segments = {}
    local literals = 0
    for i, seg in ipairs(split_path(pattern)) do
        local name = str_match(seg, "^{([%w_]+)}$")
        if name then
            segments[i] = { capture = name }
        else
            segments[i] = { literal = seg }
            literals = literals + 1
        end
    end
    return segments, literals
end

function _M.new()
    -- buckets: "<number of segments> <first segment>" -> routes, so that a
    -- request is matched against the few routes of its shape only (the
    -- generated layer adds some 500); "<n> *" holds the routes whose first
    -- segment is a capture
    return setmetatable({ routes = {}, buckets = {}, shapes = {} }, mt)
end

local function bucket_of(self, key)
    local b = self.buckets[key]
    if not b then
        b = {}
        self.buckets[key] = b
    end
    return b
end

-- "GET /a/{}/b": the method and the pattern with its capture names left
-- out (two patterns of one shape match the same paths)
local function shape(method, segments)
    local parts = {}
    for i, seg in ipairs(segments) do
        parts[i] = seg.literal or "{}"
    end
    return method .. " /" .. table_concat(parts, "/")
end

--- Registers a route.
-- @param method  "GET", "POST", ...
-- @param pattern path pattern with {name} captures
-- @param handler function(req, params) -> status, body, headers
-- @param opts    optional { public = true } (no Authorization required),
--                { operation = "crm:get_deal" } (named in the request log)
function _M.add(self, method, pattern, handler, opts)
    local segments, literals = compile(pattern)
    local routes = self.routes
    local route = {
        method = str_upper(method),
        pattern = pattern,
        handler = handler,
        public = opts and opts.public or false,
        operation = opts and opts.operation or nil,
        segments = segments,
        literals = literals,
        order = #routes + 1,
    }
    routes[#routes + 1] = route
    local first = segments[1].literal
    local b = bucket_of(self, #segments .. " " .. (first or "*"))
    b[#b + 1] = route
    self.shapes[shape(route.method, segments)] = true
end

--- True when a route of this method already matches exactly the paths
-- of pattern (whatever its capture names).
function _M.has(self, method, pattern)
    return self.shapes[shape(str_upper(method), (compile(pattern)))] == true
end

--- Registers a list of routes: { {method, pattern, handler, public=...}, ... }
function _M.add_all(self, routes)
    for _, r in ipairs(routes) do
        self:add(r[1], r[2], r[3], r)
    end
end

local function match(route, segments)
    local pattern = route.segments
    if #pattern ~= #segments then
        return nil
    end
    local params = {}
    for i, seg in ipairs(pattern) do
        local actual = segments[i]
        if seg.literal then
            if seg.literal ~= actual then
                return nil
            end
        else
            if actual == "" then
                return nil
            end
            params[seg.capture] = decode_segment(actual)
        end
    end
    return params
end

local function more_specific(a, b)
    if a.route.literals ~= b.route.literals then
        return a.route.literals > b.route.literals
    end
    return a.route.order < b.route.order
end

--- Finds the route for a request.
-- Returns route, params on success. Otherwise returns nil, status (404 for
-- an unknown path, 405 when the path exists with other methods), the
-- "Allow" header value for a 405, and whether the path belongs to a public
-- route (so that the caller can skip authentication for it).
function _M.resolve(self, method, path)
    if str_sub(path, 1, 1) ~= "/" then
        return nil, 404, nil, false
    end
    local segments = split_path(path)
    local candidates = {}
    local n = #segments
    for _, key in ipairs({ n .. " " .. segments[1], n .. " *" }) do
        for _, route in ipairs(self.buckets[key] or {}) do
            local params = match(route, segments)
            if params then
                candidates[#candidates + 1] = { route = route, params = params }
            end
        end
    end
    if #candidates == 0 then
        return nil, 404, nil, false
    end
    table_sort(candidates, more_specific)

    local public, allowed, seen = false, {}, {}
    for _, c in ipairs(candidates) do
        if c.route.method == method then
            return c.route, c.params
        end
        public = public or c.route.public
        if not seen[c.route.method] then
            seen[c.route.method] = true
            allowed[#allowed + 1] = c.route.method
        end
    end
    return nil, 405, table_concat(allowed, ", "), public
end

return _M
