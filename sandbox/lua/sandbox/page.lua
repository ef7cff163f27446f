-- The sandbox's web page, for people: GET /__sandbox/ in a browser lists
-- what the sandbox received, newest first, one section per row of
-- sandbox.page_sections (SMTP emails, email campaigns, SMS, Viber
-- campaigns, tokens issued, requests), with pages for one email
-- (sandbox.page_mail) and one request (sandbox.page_requests).
--
-- Server-rendered HTML that works without JavaScript; page.js only adds
-- an auto-refresh switch. The stylesheet and the script are files of
-- sandbox/page/, read at start and served from /__sandbox/ui/: nothing
-- comes from elsewhere. Like the rest of /__sandbox, the page needs no
-- credentials and is neither logged nor counted.

local pairs = pairs
local ipairs = ipairs
local error = error
local math_max = math.max
local table_concat = table.concat

local html = require "sandbox.page_html"
local sections = require "sandbox.page_sections"
local mail = require "sandbox.page_mail"
local requests = require "sandbox.page_requests"
local util = require "sandbox.util"
local stats = require "sandbox.stats"

local escape = html.escape

local _M = {}

_M.MAX_ROWS = 500

-- sandbox/page/ files served under /__sandbox/ui/: name -> {type, body}
local ASSETS = {
    ["page.css"] = { type = "text/css; charset=utf-8" },
    ["page.js"] = { type = "text/javascript; charset=utf-8" },
    -- the page names its icon, or browsers would ask for /favicon.ico, an
    -- API path: a 401 in the request log after every page view
    ["favicon.svg"] = { type = "image/svg+xml" },
}

--- Called from app.init (nginx master, blocking reads are fine there).
function _M.init(sandbox_dir)
    for name, asset in pairs(ASSETS) do
        local path = sandbox_dir .. "/page/" .. name
        asset.body = util.read_file(path)
        if not asset.body then
            error("sandbox page: cannot read " .. path)
        end
    end
end

local function render_section(s)
    local items = s.items()
    local n = #items
    local out = {
        '<section id="', escape(s.id), '"><h2>', escape(s.title),
        ' <span class="count">', n, "</span></h2>",
        '<p class="source">', escape(s.source), "</p>",
    }
    if n == 0 then
        out[#out + 1] = '<p class="empty">' .. escape(s.empty) .. "</p>"
    else
        local head, rows = {}, {}
        for i, c in ipairs(s.columns) do
            head[i] = c[1]
        end
        for i = n, math_max(1, n - _M.MAX_ROWS + 1), -1 do
            local item, row = items[i], {}
            for j, c in ipairs(s.columns) do
                row[j] = c[2](item)
            end
            rows[#rows + 1] = row
        end
        out[#out + 1] = html.table(head, rows, "list")
        if n > _M.MAX_ROWS then
            out[#out + 1] = '<p class="muted">The ' .. _M.MAX_ROWS .. " newest of " .. n
                            .. " are shown.</p>"
        end
    end
    out[#out + 1] = "</section>"
    return table_concat(out), n
end

-- GET /__sandbox/
local function index()
    local nav, body = {}, {}
    for _, s in ipairs(sections) do
        local text, n = render_section(s)
        body[#body + 1] = text
        nav[#nav + 1] = '<a href="#' .. escape(s.id) .. '">' .. escape(s.title)
                        .. ' <span class="count">' .. n .. "</span></a>"
    end
    return html.respond("Inbox", table_concat({
        '<header><h1>SendPulse sandbox</h1>',
        '<p class="muted">What the sandbox received since its last reset, newest first. ',
        'Times are UTC. <a id="refresh" href="', html.PREFIX, '/" data-total="',
        stats.snapshot().total, '">Refresh</a></p>',
        '<nav>', table_concat(nav, " "), "</nav></header>",
        table_concat(body),
    }), true)
end

-- GET /__sandbox: the page lives at /__sandbox/
local function to_index()
    return 302, "", { Location = html.PREFIX .. "/", ["Content-Type"] = "text/plain" }
end

local function asset(name)
    return function()
        local a = ASSETS[name]
        return 200, a.body, {
            ["Content-Type"] = a.type,
            ["X-Content-Type-Options"] = "nosniff",
            ["Cache-Control"] = "no-cache",
        }
    end
end

_M.routes = {
    { "GET", html.PREFIX, to_index },
    { "GET", html.PREFIX .. "/", index },
}
for name in pairs(ASSETS) do
    _M.routes[#_M.routes + 1] = { "GET", html.UI .. "/" .. name, asset(name) }
end
for _, module in ipairs({ mail, requests }) do
    for _, r in ipairs(module.routes) do
        _M.routes[#_M.routes + 1] = r
    end
end

return _M
