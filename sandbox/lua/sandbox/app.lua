-- The sandbox application: request pipeline and route registration.
--
-- Every API (non-admin) request goes through, in order:
--   1. stats.record_arrival   counters, request log, peak rate
--   2. faults.take/apply      an armed fault takes the request over
--   3. ratelimit.admit        429 when over a quota (config.per_day,
--                             per_minute) or config.rate_limit per second
--   4. public routes          POST /oauth/access_token needs no token
--   5. auth.is_authorized     401 without a valid Bearer token or API key
--   6. routing                404 unknown path, 405 wrong method, handler
--
-- To add an API area: write sandbox/lua/sandbox/areas/<area>.lua exposing
-- `_M.routes = { {METHOD, "/path/{capture}", handler}, ... }` (and
-- `_M.reset()` if it keeps state, `_M.init(sandbox_dir)` if it loads
-- files). Every module in that folder is loaded at start. Then
-- sandbox.generic routes every operation of the newer services from the
-- client's rows; an area takes some of them over with `_M.ops` (see
-- generic.lua).
-- A handler is function(req, params) returning status, body, headers,
-- where body is a string (sent as is) or a table (encoded as JSON; mark
-- lists with util.array() so that empty ones encode as []).

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local xpcall = xpcall
local error = error
local require = require
local tostring = tostring
local str_find = string.find
local str_sub = string.sub
local str_lower = string.lower
local debug_traceback = debug.traceback

local util = require "sandbox.util"
local router = require "sandbox.router"
local config = require "sandbox.config"
local stats = require "sandbox.stats"
local faults = require "sandbox.faults"
local ratelimit = require "sandbox.ratelimit"
local auth = require "sandbox.auth"
local admin = require "sandbox.admin"
local page = require "sandbox.page"
local generic = require "sandbox.generic"
local store = require "sandbox.store"

local _M = {}

-- modules whose state POST /__sandbox/reset clears
local STATEFUL = { config, stats, faults, ratelimit, store }

local api_routes = router.new()
local admin_routes = router.new()
admin_routes:add_all(admin.routes)
-- the web page for people (GET /__sandbox/ and /__sandbox/ui/...)
admin_routes:add_all(page.routes)

-- Bumped by every reset: a request still waiting out a fault's delay when
-- the sandbox is reset belongs to the state before it, and must not count
-- against (or be admitted by) the clean state a test has just asked for.
local generation = 0

local function reset_all()
    generation = generation + 1
    local seen = {}
    for _, module in ipairs(STATEFUL) do
        if module.reset and not seen[module] then
            seen[module] = true
            module.reset()
        end
    end
end
admin.reset_all = reset_all

-- The API areas: the token endpoint, then every module in areas/.
local function load_areas(sandbox_dir)
    local names = {}
    local ls = io.popen("ls '" .. sandbox_dir .. "/lua/sandbox/areas'")
    for file in ls:lines() do
        local name = file:match("^([%w_]+)%.lua$")
        if name then
            names[#names + 1] = "sandbox.areas." .. name
        end
    end
    ls:close()
    table.sort(names)
    table.insert(names, 1, "sandbox.auth")
    local areas = {}
    for _, name in ipairs(names) do
        local area = require(name)
        if area.init then
            area.init(sandbox_dir)
        end
        api_routes:add_all(area.routes or {})
        STATEFUL[#STATEFUL + 1] = area
        areas[#areas + 1] = area
    end
    -- then every operation of the newer services, from the client's rows
    -- (an area's ops take some over), and the older areas' operations
    -- that have a flat client method (client:email_tags()...) but no
    -- route above
    local index = require "sendpulse.api.index"
    local services, seen = {}, {}
    for svc in pairs(index.namespaces) do
        services[#services + 1], seen[svc] = svc, true
    end
    for _, entry in pairs(index.flat) do
        if not seen[entry[1]] then
            services[#services + 1], seen[entry[1]] = entry[1], true
        end
    end
    table.sort(services)
    generic.init(sandbox_dir .. "/..", services, api_routes, areas)
end

--- Called from init_by_lua (nginx master) with the sandbox directory:
-- blocking file access is fine there, and workers inherit the result.
function _M.init(sandbox_dir)
    load_areas(sandbox_dir)
    page.init(sandbox_dir)
end

--- Called from init_worker_by_lua.
function _M.init_worker()
    math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

-- Reads the whole request body (kept in memory by client_body_buffer_size,
-- but read the temp file if nginx spilled it to disk anyway).
local function read_body()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body == nil then
        local file = ngx.req.get_body_file()
        if file then
            body = util.read_file(file)
        end
    end
    return body
end

local function build_request()
    -- the raw path as sent (not ngx.var.uri, which nginx has percent-decoded
    -- and slash-merged); the router decodes captures itself
    local uri = ngx.var.request_uri
    local q = str_find(uri, "?", 1, true)
    local headers = ngx.req.get_headers()
    local arrived = ngx.now()   -- (handle() updated the clock) before the
                                -- body is read, which may yield
    return {
        method = ngx.req.get_method(),
        path = q and str_sub(uri, 1, q - 1) or uri,
        query = ngx.var.args,
        content_type = ngx.var.content_type,
        authorization = headers["authorization"],
        user_agent = headers["user-agent"],
        body = read_body(),
        time = arrived,
        args = function()
            return ngx.req.get_uri_args()
        end,
    }
end

local function serialize(body)
    if type(body) == "table" then
        local text, err = util.encode(body)
        if not text then
            error("cannot encode the response: " .. tostring(err))
        end
        return text
    end
    return body or ""
end

local function send_headers(status, length, headers)
    ngx.status = status
    local content_type_set = false
    if headers then
        for name, value in pairs(headers) do
            ngx.header[name] = value
            if str_lower(name) == "content-type" then
                content_type_set = true
            end
        end
    end
    if not content_type_set then
        ngx.header["Content-Type"] = "application/json"
    end
    -- an explicit length: no chunked encoding, as the real API
    ngx.header["Content-Length"] = length
    ngx.send_headers()
end

local function send(status, body, headers)
    local text = serialize(body)
    send_headers(status, #text, headers)
    if #text > 0 then
        ngx.print(text)
    end
    return status
end

local function not_found()
    return 404, { error_code = 404, message = "Not found" }
end

local function method_not_allowed(allow)
    return 405, { error_code = 405, message = "Method not allowed" }, { Allow = allow }
end

-- Runs a handler; a Lua error becomes a 500 (and a line in error.log).
local function call_handler(route, req, params)
    local results
    local ok, err = xpcall(function()
        results = { route.handler(req, params) }
    end, debug_traceback)
    if not ok then
        ngx.log(ngx.ERR, "sandbox: ", route.method, " ", route.pattern, ": ", err)
        return 500, { error_code = 500, message = "sandbox internal error (see error.log)" }
    end
    return results[1], results[2], results[3]
end

-- Steps 3 to 6 of the pipeline; returns status, body, headers.
local function process(req, delayed)
    if delayed then
        ngx.update_time()
        req.time = ngx.now() -- a fault's delay has passed since arrival
        if req.generation ~= generation then
            return 503, { error_code = 503,
                          message = "the sandbox was reset while this request waited" }
        end
    end

    local admitted, limit, retry_after = ratelimit.admit(req.time)
    if not admitted then
        stats.count_rejected_429()
        return ratelimit.too_many_requests(limit, retry_after)
    end

    local route, params, allow, public = api_routes:resolve(req.method, req.path)
    if route then
        public = route.public
        if route.operation and req.entry then
            req.entry.operation = route.operation
        end
    end
    if not public and not auth.is_authorized(req) then
        return auth.unauthorized()
    end
    if not route then
        if params == 405 then
            return method_not_allowed(allow)
        end
        return not_found()
    end
    return call_handler(route, req, params)
end

local function handle_admin(req)
    local route, params, allow = admin_routes:resolve(req.method, req.path)
    if not route then
        if params == 405 then
            return send(method_not_allowed(allow))
        end
        return send(not_found())
    end
    return send(call_handler(route, req, params))
end

local function is_admin_path(path)
    local prefix = admin.PREFIX
    return str_sub(path, 1, #prefix) == prefix
           and (#path == #prefix or str_sub(path, #prefix + 1, #prefix + 1) == "/")
end

--- content_by_lua entry point for every request.
function _M.handle()
    ngx.update_time()
    local req = build_request()
    req.generation = generation

    if is_admin_path(req.path) then
        return handle_admin(req)
    end

    local entry = stats.record_arrival(req)
    req.entry = entry

    local fault = faults.take(req.method, req.path)
    if fault then
        stats.count_fault()
        entry.fault = fault.action
        entry.status = faults.apply(fault, {
            entry = entry,
            process = function() return process(req, fault.delay) end,
            send = send,
            send_headers = send_headers,
            serialize = serialize,
        })
        return
    end

    entry.status = send(process(req))
end

return _M
