-- The web page's view of the request log (sandbox.stats): the query and
-- body of a logged request with their secrets hidden, and the page of
-- one request (GET /__sandbox/ui/requests/{index}).
--
-- The log never holds an Authorization header value (only its scheme),
-- but it holds the bodies as sent, and the body of a token request holds
-- a client secret. The page hides every `client_secret` value: in a
-- query string and in a form or JSON body, at any depth. A body that
-- cannot be parsed is shown only when it does not mention "secret" at
-- all; a token request's body only when it could be parsed. (The admin
-- API's GET /__sandbox/log is unchanged: it is for tests.)

local ngx = ngx
local type = type
local pairs = pairs
local tostring = tostring
local tonumber = tonumber
local str_find = string.find
local str_gsub = string.gsub
local str_lower = string.lower
local str_match = string.match
local table_concat = table.concat
local table_sort = table.sort

local util = require "sandbox.util"
local stats = require "sandbox.stats"
local html = require "sandbox.page_html"

local escape = html.escape

local _M = {}

_M.SECRET_FIELDS = { client_secret = true }
_M.HIDDEN = "(hidden)"

local function is_secret(key)
    return _M.SECRET_FIELDS[str_lower(key)] == true
end

--- A query string or form body with the value of every secret field
-- replaced by "(hidden)" (keys compared percent-decoded); the rest is
-- kept byte for byte. Returns the text and whether anything was hidden.
function _M.redact_form(text)
    local hidden = false
    local out = str_gsub(text, "([^&]*)", function(pair)
        local key = str_match(pair, "^([^=]*)")
        if is_secret(ngx.unescape_uri(key)) then
            hidden = true
            return key .. "=" .. _M.HIDDEN
        end
        return pair
    end)
    return out, hidden
end

-- Replaces secret values in a decoded JSON value, at any depth; true
-- when it replaced one.
local function redact_value(v)
    local hidden = false
    if type(v) == "table" then
        for k, item in pairs(v) do
            if type(k) == "string" and is_secret(k) then
                v[k] = _M.HIDDEN
                hidden = true
            elseif redact_value(item) then
                hidden = true
            end
        end
    end
    return hidden
end

--- A logged request's body as the page may show it. Returns the text
-- (nil when it must not be shown) and a note about what was changed
-- (nil when nothing was).
function _M.redact_body(entry)
    local body = entry.body
    if body == nil or body == "" then
        return body
    end
    local ct = str_lower(entry.content_type or "")
    if str_find(ct, "application/x-www-form-urlencoded", 1, true) then
        local text, hidden = _M.redact_form(body)
        return text, hidden and "the client_secret value is hidden" or nil
    end
    local value = util.decode(body)
    if type(value) == "table" then
        if redact_value(value) then
            return util.encode(value),
                   "the client_secret value is hidden (the JSON is re-encoded, keys sorted)"
        end
        return body
    end
    if ct == "" and str_find(body, "=", 1, true) then
        local text, hidden = _M.redact_form(body)
        return text, hidden and "the client_secret value is hidden" or nil
    end
    if entry.path == stats.TOKEN_PATH or str_find(str_lower(body), "secret", 1, true) then
        return nil, "not shown: it could not be parsed and may hold a client secret"
    end
    return body
end

--- A logged request's query string, secrets hidden (nil when none).
function _M.redact_query(entry)
    if entry.query == nil or entry.query == "" then
        return nil
    end
    return (_M.redact_form(entry.query))
end

--- The page's URL of the logged request with this index.
function _M.url(index)
    return html.UI .. "/requests/" .. html.segment(index)
end

--- The class of a status cell: ok (2xx), warn (4xx), bad (5xx, dropped).
function _M.status_class(status)
    if type(status) ~= "number" then
        return "muted"
    elseif status < 300 then
        return "ok"
    elseif status < 500 then
        return "warn"
    end
    return "bad"
end

local function find(index)
    local n = str_match(index, "^%d+$") and tonumber(index)
    if not n or n < 1 then
        return nil
    end
    local entries = stats.log(n - 1)
    local e = entries[1]
    if e and e.index == n then
        return e
    end
    return nil
end

-- GET /__sandbox/ui/requests/{index}
local function show(_, params)
    local e = find(params.index)
    if not e then
        return html.not_found("No request " .. params.index .. " in the log (it keeps the last "
                              .. stats.LOG_SIZE .. " since the last reset)")
    end
    local body, note = _M.redact_body(e)
    local args = {}
    if e.query and e.query ~= "" then
        local decoded = ngx.decode_args(_M.redact_query(e), 0)
        for k, v in pairs(decoded) do
            if type(v) == "table" then
                v = table_concat(v, ", ")
            elseif v == true then
                v = ""
            end
            args[#args + 1] = { tostring(k), tostring(v) }
        end
        table_sort(args, function(a, b) return a[1] < b[1] end)
    end
    local status = e.status
    local out = {
        "<h1>", escape(e.method), " ", escape(e.path), "</h1>",
        html.fields({
            { "Request", html.styled("mono", "#" .. e.index) },
            { "Received", html.time(e.time) .. " UTC" },
            { "Method", e.method },
            { "Path", html.styled("mono", e.path) },
            { "Query", e.query and html.styled("mono", _M.redact_query(e)) },
            { "Status", html.styled(_M.status_class(status),
                                    status and tostring(status) or "(no answer yet)") },
            { "Fault", e.fault },
            { "Content-Type", e.content_type },
            { "Authorization", e.authorization_scheme
                               and (e.authorization_scheme .. " (the value is never kept)") },
            { "User-Agent", e.user_agent },
            { "Body size", e.body_size and (html.size(e.body_size)
                            .. (e.body_truncated and ", cut in the log" or "")) },
        }),
    }
    if #args > 0 then
        out[#out + 1] = "<h2>Query arguments</h2>"
        out[#out + 1] = html.table({ "Name", "Value" }, args)
    end
    out[#out + 1] = "<h2>Body</h2>"
    if note then
        out[#out + 1] = '<p class="muted">' .. escape(note) .. "</p>"
    end
    if body and body ~= "" then
        out[#out + 1] = html.pre(body)
    elseif not note then
        out[#out + 1] = '<p class="muted">No body.</p>'
    end
    return html.respond(e.method .. " " .. e.path, table_concat(out))
end

_M.routes = {
    { "GET", html.UI .. "/requests/{index}", show },
}

return _M
