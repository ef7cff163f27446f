-- HTML building blocks of the sandbox's web page: escaping, links, cells,
-- tables, times, sizes and the page frame with its security headers.
--
-- Everything the page shows comes from requests a test sent, so it is
-- attacker-controlled by design: every piece of data goes through
-- escape() (text and attribute values alike), and every URL the page
-- links to is built here from the sandbox's own ids, percent-encoded.

local type = type
local ipairs = ipairs
local tostring = tostring
local math_floor = math.floor
local str_format = string.format
local str_gsub = string.gsub
local table_concat = table.concat

local util = require "sandbox.util"

local _M = {}

_M.PREFIX = "/__sandbox"
_M.UI = _M.PREFIX .. "/ui"

local ESCAPES = {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;",
}

--- Text as HTML text or as a quoted attribute value: & < > " ' escaped.
function _M.escape(s)
    return (str_gsub(tostring(s), "[&<>\"']", ESCAPES))
end
local escape = _M.escape

--- A value as one path segment of a URL (every byte outside the
-- unreserved set percent-encoded).
function _M.segment(s)
    return (str_gsub(tostring(s), "[^%w%-%._~]", function(c)
        return str_format("%%%02X", c:byte())
    end))
end

--- A link cell: rendered as <a href> with both parts escaped. `href` must
-- be a URL built by the page (see segment()).
function _M.link(href, text)
    return { href = href, text = text }
end

-- Cell classes the stylesheet knows.
local CLASSES = {
    mono = true, num = true, time = true, ok = true, warn = true, bad = true, muted = true,
}

--- A cell with a class of the stylesheet ("mono", "num", "time", "ok",
-- "warn", "bad", "muted"), around text or a link.
function _M.styled(class, value)
    return { class = CLASSES[class] and class or nil, value = value }
end

--- One cell value as HTML: nil as an empty cell, a link() as a link, a
-- styled() value with its class, anything else as escaped text.
function _M.cell(v)
    if v == nil then
        return ""
    end
    if type(v) == "table" then
        if v.href then
            return '<a href="' .. escape(v.href) .. '">' .. escape(v.text) .. "</a>"
        end
        if v.value ~= nil then
            local inner = _M.cell(v.value)
            if v.class then
                return '<span class="' .. v.class .. '">' .. inner .. "</span>"
            end
            return inner
        end
        return ""
    end
    return escape(v)
end

--- Seconds since the epoch as "YYYY-MM-DD HH:MM:SS.mmm" (UTC); other
-- values (dates the API areas keep as text) as they are.
function _M.time(t)
    if type(t) ~= "number" then
        return t
    end
    local whole = math_floor(t)
    local ms = math_floor((t - whole) * 1000 + 0.5)
    if ms == 1000 then
        whole, ms = whole + 1, 0
    end
    return util.format_epoch(whole) .. str_format(".%03d", ms)
end

--- A time cell: time(t), kept on one line.
function _M.time_cell(t)
    return _M.styled("time", _M.time(t))
end

--- A byte count for people: "512 B", "1.5 KiB", "3.2 MiB".
function _M.size(n)
    if type(n) ~= "number" then
        return nil
    end
    if n < 1024 then
        return str_format("%d B", n)
    elseif n < 1024 * 1024 then
        return str_format("%.1f KiB", n / 1024)
    end
    return str_format("%.1f MiB", n / (1024 * 1024))
end

--- An HTML table: `head` a list of titles, `rows` a list of lists of
-- cell values (see cell()).
function _M.table(head, rows, class)
    local out = { '<table', class and (' class="' .. class .. '"') or "", "><thead><tr>" }
    for _, title in ipairs(head) do
        out[#out + 1] = "<th>" .. escape(title) .. "</th>"
    end
    out[#out + 1] = "</tr></thead><tbody>"
    for _, row in ipairs(rows) do
        out[#out + 1] = "<tr>"
        for i = 1, #head do
            out[#out + 1] = "<td>" .. _M.cell(row[i]) .. "</td>"
        end
        out[#out + 1] = "</tr>"
    end
    out[#out + 1] = "</tbody></table>"
    return table_concat(out)
end

--- A two-column table of {label, value} pairs (values as cell()).
function _M.fields(pairs_list)
    local out = { '<table class="fields"><tbody>' }
    for _, p in ipairs(pairs_list) do
        if p[2] ~= nil then
            out[#out + 1] = "<tr><th>" .. escape(p[1]) .. "</th><td>" .. _M.cell(p[2])
                            .. "</td></tr>"
        end
    end
    out[#out + 1] = "</tbody></table>"
    return table_concat(out)
end

--- Text in a <pre> block, escaped.
function _M.pre(text)
    return '<pre>' .. escape(text) .. "</pre>"
end

-- The page's own documents: scripts and styles only from the sandbox, no
-- plugin, no framing by other sites, frames only from the sandbox (the
-- email viewer), nothing sent to another site.
local PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; "
                 .. "img-src 'self' data:; connect-src 'self'; frame-src 'self'; "
                 .. "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

--- Response headers of a page document.
function _M.page_headers()
    return {
        ["Content-Type"] = "text/html; charset=utf-8",
        ["Content-Security-Policy"] = PAGE_CSP,
        ["X-Content-Type-Options"] = "nosniff",
        ["Referrer-Policy"] = "no-referrer",
        ["Cache-Control"] = "no-store",
    }
end

--- A whole page: the title (text), the body (HTML), and a back link to
-- the overview unless `home` is set.
function _M.document(title, body, home)
    local nav = home and "" or ('<p class="back"><a href="' .. _M.PREFIX
                               .. '/">&larr; all sections</a></p>')
    return table_concat({
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>", escape(title), " - SendPulse sandbox</title>",
        '<link rel="icon" href="', _M.UI, '/favicon.svg" type="image/svg+xml">',
        '<link rel="stylesheet" href="', _M.UI, '/page.css">',
        '<script src="', _M.UI, '/page.js" defer></script>',
        "</head><body>", nav, body, "</body></html>\n",
    })
end

--- The answer for a page: 200 (or `status`) with the page headers.
function _M.respond(title, body, home, status)
    return status or 200, _M.document(title, body, home), _M.page_headers()
end

--- A page saying what was not found (a 404).
function _M.not_found(what)
    return _M.respond("Not found", "<h1>Not found</h1><p>" .. escape(what) .. "</p>", false, 404)
end

return _M
