-- Fault injection: armed through POST /__sandbox/faults, matched against
-- API requests in arming order (first armed, first matched), each for a
-- number of matching requests (`times`, -1 = until cleared).
--
-- Actions:
--   respond    answer `status` (500) with `body` ("") and `headers`
--   html       answer `status` (502) with an HTML error page
--   malformed  answer `status` (200) with broken JSON
--   drop       read the request, close the connection without a byte
--   truncated  announce a Content-Length, send part of the body, close
--   drip       send the body a few bytes at a time, `interval` s apart
--   pass       handle the request normally (useful with `delay`)
--   big        answer `status` (200) with valid JSON of `size` bytes
--   deep       answer `status` (200) with JSON arrays nested `depth` deep
--   pattern    answer `status` (200) with `prefix`, `unit` repeated
--              `count` times, `suffix` (large bodies of a chosen shape,
--              e.g. 16 MiB of "[]," without a 16 MiB admin request)
-- `delay` seconds (ngx.sleep, never blocking the worker) apply before any
-- action.

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local math_floor = math.floor
local math_ceil = math.ceil
local math_max = math.max
local str_upper = string.upper
local str_lower = string.lower
local str_sub = string.sub
local table_remove = table.remove
local table_concat = table.concat

local util = require "sandbox.util"

local _M = {}

local ACTIONS = {
    respond = true, html = true, malformed = true, drop = true,
    truncated = true, drip = true, pass = true, big = true, deep = true,
    pattern = true,
}

local DEFAULT_STATUS = { respond = 500, html = 502, malformed = 200, truncated = 200,
                         drip = 200, big = 200, deep = 200, pattern = 200 }

_M.MALFORMED_BODY = '{"id": 1, "name": "bro'
_M.TRUNCATED_BODY = '{"id": 1, "name": "truncated response", "items": [1, 2, 3, 4, 5]}'
_M.DRIP_PIECES = 5        -- default number of pieces for drip
_M.DEFAULT_INTERVAL = 0.2 -- seconds between drip pieces

local REASONS = {
    [200] = "OK", [201] = "Created", [204] = "No Content", [400] = "Bad Request",
    [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
    [422] = "Unprocessable Entity", [429] = "Too Many Requests",
    [500] = "Internal Server Error", [502] = "Bad Gateway",
    [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local armed -- list of faults, in arming order

function _M.reset()
    armed = {}
end

_M.reset()

local function is_integer(v)
    return type(v) == "number" and v == math_floor(v)
end

local function fail(message)
    return nil, message
end

-- Validates an admin fault description; returns the fault or nil, err.
local function build(spec)
    if type(spec.path) ~= "string" or str_sub(spec.path, 1, 1) ~= "/" then
        return fail('"path" is required: the exact request path, e.g. "/user/info"')
    end
    local fault = { path = spec.path }

    if spec.method ~= nil then
        if type(spec.method) ~= "string" or spec.method == "" then
            return fail('"method" must be a string such as "GET"')
        end
        fault.method = str_upper(spec.method)
    end

    local times = spec.times == nil and 1 or spec.times
    if not is_integer(times) or (times < 1 and times ~= -1) then
        return fail('"times" must be a positive integer, or -1 for "until cleared"')
    end
    fault.times = times

    local action = spec.action == nil and "respond" or spec.action
    if not ACTIONS[action] then
        return fail('"action" must be one of respond, html, malformed, drop, '
                    .. 'truncated, drip, pass, big, deep, pattern')
    end
    fault.action = action

    if spec.status ~= nil then
        if not is_integer(spec.status) or spec.status < 100 or spec.status > 599 then
            return fail('"status" must be an integer HTTP status (100-599)')
        end
        fault.status = spec.status
    else
        fault.status = DEFAULT_STATUS[action]
    end

    local body = spec.body
    if spec.body_base64 ~= nil then
        -- bytes a JSON admin request cannot carry (invalid UTF-8...)
        body = type(spec.body_base64) == "string" and ngx.decode_base64(spec.body_base64)
        if not body then
            return fail('"body_base64" must be base64')
        end
    elseif type(body) == "table" then
        body = util.encode(body) -- a JSON value given inline
    elseif type(body) == "number" or type(body) == "boolean" then
        body = tostring(body)
    elseif body ~= nil and type(body) ~= "string" then
        return fail('"body" must be a string or a JSON value')
    end
    fault.body = body

    if spec.headers ~= nil then
        if not util.is_object(spec.headers) then
            return fail('"headers" must be an object of header name to value')
        end
        fault.headers = {}
        for name, value in pairs(spec.headers) do
            if type(value) ~= "string" and type(value) ~= "number" then
                return fail('header values must be strings or numbers')
            end
            fault.headers[name] = tostring(value)
        end
    end

    for _, field in ipairs({ "delay", "interval" }) do
        local v = spec[field]
        if v ~= nil and (type(v) ~= "number" or v < 0) then
            return fail('"' .. field .. '" must be a number of seconds >= 0')
        end
        fault[field] = v
    end
    for _, field in ipairs({ "size", "depth" }) do
        local v = spec[field]
        if v ~= nil and (not is_integer(v) or v < 16 or v > 256 * 1024 * 1024) then
            return fail('"' .. field .. '" must be an integer from 16 to 268435456')
        end
        fault[field] = v
    end
    if action == "pattern" then
        for _, field in ipairs({ "prefix", "unit", "suffix" }) do
            if spec[field] ~= nil and type(spec[field]) ~= "string" then
                return fail('"' .. field .. '" must be a string')
            end
            fault[field] = spec[field] or ""
        end
        if not is_integer(spec.count) or spec.count < 1
                or #fault.unit * spec.count > 256 * 1024 * 1024 then
            return fail('"count" must be a positive integer (at most 256 MiB in all)')
        end
        fault.count = spec.count
    end
    if spec.chunk_size ~= nil then
        if not is_integer(spec.chunk_size) or spec.chunk_size < 1 then
            return fail('"chunk_size" must be a positive integer (bytes)')
        end
        fault.chunk_size = spec.chunk_size
    end
    return fault
end

--- Arms a fault; returns the number of armed faults, or nil, err.
function _M.arm(spec)
    local fault, err = build(spec)
    if not fault then
        return nil, err
    end
    armed[#armed + 1] = fault
    return #armed
end

function _M.clear()
    local n = #armed
    armed = {}
    return n
end

--- The armed faults as JSON-ready tables.
function _M.list()
    local out = util.array()
    for i, f in ipairs(armed) do
        local copy = {}
        for k, v in pairs(f) do
            copy[k] = v
        end
        out[i] = copy
    end
    return out
end

--- Finds the first armed fault matching the request and consumes one of
-- its uses. Returns the fault or nil.
function _M.take(method, path)
    for i, fault in ipairs(armed) do
        if fault.path == path and (fault.method == nil or fault.method == method) then
            if fault.times > 0 then
                fault.times = fault.times - 1
                if fault.times == 0 then
                    table_remove(armed, i)
                end
            end
            return fault
        end
    end
    return nil
end

local function with_headers(base, extra)
    local out = {}
    for k, v in pairs(base) do
        out[k] = v
    end
    if extra then
        -- header names are case-insensitive: an override replaces the default
        for k, v in pairs(extra) do
            for existing in pairs(out) do
                if str_lower(existing) == str_lower(k) then
                    out[existing] = nil
                end
            end
            out[k] = v
        end
    end
    return out
end

-- Writes the status line and headers ourselves on the raw request socket,
-- then half of the body, then returns: nginx closes the connection (a raw
-- socket turns keep-alive off), so the client sees fewer bytes than the
-- announced Content-Length.
local function send_truncated(fault)
    local body = fault.body or _M.TRUNCATED_BODY
    local status = fault.status
    local headers = with_headers({ ["Content-Type"] = "application/json" }, fault.headers)
    local lines = { ("HTTP/1.1 %d %s"):format(status, REASONS[status] or "Unknown") }
    for name, value in pairs(headers) do
        lines[#lines + 1] = name .. ": " .. value
    end
    -- always announce more than we send, even for an empty body
    local announced = #body > 0 and #body or 16
    lines[#lines + 1] = "Content-Length: " .. announced
    local head = table_concat(lines, "\r\n") .. "\r\n\r\n"
    local part = str_sub(body, 1, math_floor(#body / 2))

    local sock, err = ngx.req.socket(true)
    if not sock then
        ngx.log(ngx.ERR, "sandbox: truncated fault: no raw request socket: ", err)
        return ngx.exit(444)
    end
    local ok, send_err = sock:send(head .. part)
    if not ok then
        ngx.log(ngx.INFO, "sandbox: truncated fault: send failed: ", send_err)
    end
    return status
end

-- Sends the body in pieces with ngx.flush(true) between them. Content-Length
-- is set, so the client gets a complete, valid response, only slowly.
local function send_dripping(fault, status, body, headers, send_headers)
    local interval = fault.interval or _M.DEFAULT_INTERVAL
    local size = fault.chunk_size or math_max(1, math_ceil(#body / _M.DRIP_PIECES))
    send_headers(status, #body, headers)
    local pos = 1
    while pos <= #body do
        if pos > 1 and interval > 0 then
            ngx.sleep(interval)
        end
        ngx.print(str_sub(body, pos, pos + size - 1))
        local ok = ngx.flush(true)
        if not ok then
            return status -- client went away
        end
        pos = pos + size
    end
    return status
end

local HTML_PAGE = [[<!DOCTYPE html>
<html>
<head><title>%d %s</title></head>
<body>
<h1>%d %s</h1>
<p>Whoops, looks like something went wrong.</p>
<hr><center>nginx</center>
</body>
</html>
]]

--- Carries out a fault. `ctx` provides:
--   ctx.process()                         -> status, body, headers (normal handling)
--   ctx.send(status, body, headers)       -> sends a complete answer
--   ctx.send_headers(status, length, headers) -> sends only the head
--   ctx.serialize(body)                   -> body as text (tables as JSON)
--   ctx.entry                             -> the request's log entry
-- Returns the status recorded in the request log (444 for drop).
function _M.apply(fault, ctx)
    if fault.delay and fault.delay > 0 then
        ngx.sleep(fault.delay)
    end

    local action = fault.action
    if action == "pass" then
        local status, body, headers = ctx.process()
        return ctx.send(status, body, headers)

    elseif action == "respond" then
        return ctx.send(fault.status, fault.body or "", fault.headers)

    elseif action == "html" then
        local reason = REASONS[fault.status] or "Error"
        local page = fault.body or HTML_PAGE:format(fault.status, reason, fault.status, reason)
        return ctx.send(fault.status, page,
                        with_headers({ ["Content-Type"] = "text/html; charset=UTF-8" },
                                     fault.headers))

    elseif action == "malformed" then
        return ctx.send(fault.status, fault.body or _M.MALFORMED_BODY, fault.headers)

    elseif action == "drop" then
        -- ngx.exit does not return: record the outcome first
        ctx.entry.status = 444
        return ngx.exit(444) -- nginx closes the connection without answering

    elseif action == "truncated" then
        return send_truncated(fault)

    elseif action == "big" then
        -- {"data":"xxx...x"}: exactly `size` bytes of valid JSON
        local size = fault.size or 1024 * 1024
        local body = '{"data":"' .. string.rep("x", size - 11) .. '"}'
        return ctx.send(fault.status, body, fault.headers)

    elseif action == "pattern" then
        return ctx.send(fault.status, fault.prefix .. string.rep(fault.unit, fault.count)
                        .. fault.suffix, fault.headers)

    elseif action == "deep" then
        local depth = fault.depth or 10000
        return ctx.send(fault.status, string.rep("[", depth) .. string.rep("]", depth),
                        fault.headers)

    elseif action == "drip" then
        local status, body, headers
        if fault.body then
            status, body, headers = fault.status, fault.body, fault.headers
        else
            -- no body given: drip the real answer to this request
            local s, b, h = ctx.process()
            status, body, headers = s, ctx.serialize(b), with_headers(h or {}, fault.headers)
        end
        return send_dripping(fault, status, body, headers, ctx.send_headers)
    end
end

return _M
