-- The web page's mail viewer: one SMTP email or email campaign with its
-- headers, its HTML rendered safely, its text, its HTML source and its
-- attachments.
--
-- The HTML is the test's own, so it is never trusted:
--   * the viewer shows it in an <iframe sandbox> without allow-scripts
--     (and without allow-same-origin, forms, popups or top navigation);
--   * the HTML itself is served with a Content-Security-Policy that has
--     the `sandbox` directive too, so opening its URL directly runs
--     nothing either, and that allows no script, no connection, no
--     remote style or font, and images only from data: URLs;
--   * remote images (http:, https:) are allowed only when the viewer
--     asks with a click ("Load remote images", ?images=remote).
-- Attachments are served as downloads (Content-Disposition: attachment)
-- with their file name, a content type from their extension, nosniff
-- and a sandboxing CSP, so an .html or .svg attachment opened by
-- mistake runs nothing either.
--
-- A mail kind is a row of KINDS: how to find one by its id, and how to
-- view it ({subject, fields, html, text, attachments, extra}).

local ngx = ngx
local type = type
local pairs = pairs
local tonumber = tonumber
local ipairs = ipairs
local tostring = tostring
local str_format = string.format
local str_gsub = string.gsub
local str_lower = string.lower
local str_match = string.match
local table_concat = table.concat
local table_sort = table.sort

local html = require "sandbox.page_html"
local smtp = require "sandbox.areas.smtp"
local campaigns = require "sandbox.areas.campaigns"

local escape = html.escape

local _M = {}

-- Content types by file name extension; anything else is
-- application/octet-stream.
_M.CONTENT_TYPES = {
    txt = "text/plain", log = "text/plain", md = "text/markdown", csv = "text/csv",
    htm = "text/html", html = "text/html", ics = "text/calendar", css = "text/css",
    xml = "application/xml", json = "application/json", pdf = "application/pdf",
    rtf = "application/rtf", zip = "application/zip", gz = "application/gzip",
    png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif",
    webp = "image/webp", svg = "image/svg+xml", bmp = "image/bmp", ico = "image/x-icon",
    mp3 = "audio/mpeg", wav = "audio/wav", mp4 = "video/mp4", eml = "message/rfc822",
    doc = "application/msword", xls = "application/vnd.ms-excel",
    ppt = "application/vnd.ms-powerpoint",
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    odt = "application/vnd.oasis.opendocument.text",
    ods = "application/vnd.oasis.opendocument.spreadsheet",
}

--- The content type of an attachment, from its file name.
function _M.content_type(name)
    local ext = str_match(name, "%.([%w]+)$")
    return ext and _M.CONTENT_TYPES[str_lower(ext)] or "application/octet-stream"
end

--- The Content-Disposition of a download named `name` (any bytes): an
-- ASCII fallback name, and the exact name in RFC 5987 form.
function _M.disposition(name)
    local fallback = str_gsub(name, "[^%w%.%-_ ()+,]", "_")
    if fallback == "" then
        fallback = "attachment"
    end
    local exact = str_gsub(name, "[^%w!#%$&%+%-%.%^_`|~]", function(c)
        return str_format("%%%02X", c:byte())
    end)
    return 'attachment; filename="' .. fallback .. "\"; filename*=UTF-8''" .. exact
end

-- "Name <address>", or the address alone.
local function person(p)
    if type(p) ~= "table" then
        return p
    end
    if type(p.name) == "string" and p.name ~= "" then
        return p.name .. " <" .. tostring(p.email) .. ">"
    end
    return tostring(p.email)
end

local function people(list)
    if type(list) ~= "table" or #list == 0 then
        return nil
    end
    local out = {}
    for i, p in ipairs(list) do
        out[i] = person(p)
    end
    return table_concat(out, ", ")
end

local function smtp_view(m)
    local delivery = {}
    for i, r in ipairs(m.records) do
        delivery[i] = {
            r.recipient, html.styled("mono", r.id),
            html.styled(r.code == 250 and "ok" or "bad",
                        r.code .. (r.subcode ~= "0" and (" " .. r.subcode) or "")),
            r.data,
        }
    end
    return {
        subject = m.subject,
        fields = {
            { "From", person(m.from) },
            { "To", people(m.to) },
            { "Cc", people(m.cc) },
            { "Bcc", people(m.bcc) },
            { "Sent", html.time(m.time) .. " UTC" },
            { "Message id", html.styled("mono", m.id) },
            { "Template", m.template_id and tostring(m.template_id) },
        },
        html = m.html,
        text = m.text,
        attachments = m.attachments,
        extra = "<h2>Delivery</h2>"
                .. html.table({ "Recipient", "Id", "SMTP answer", "Details" }, delivery),
    }
end

local CAMPAIGN_STATUS = {
    [campaigns.SENT] = "sent", [campaigns.SCHEDULED] = "scheduled",
    [campaigns.CANCELLED] = "cancelled",
}

--- The status of a campaign as a word ("sent", "scheduled", "cancelled").
function _M.campaign_status(c)
    return CAMPAIGN_STATUS[c.status] or tostring(c.status)
end

--- The audience of a campaign as text.
function _M.campaign_audience(c)
    if c.list_id then
        return "mailing list " .. c.list_id
    elseif c.segment_id then
        return "segment " .. c.segment_id
    end
    return nil
end

-- A campaign's attachments (name -> content, base64 for the binary ones)
-- as a list sorted by name, text ones first, binary ones decoded.
local function campaign_attachments(c)
    local out = {}
    for _, part in ipairs({ { c.attachments, false }, { c.attachments_binary, true } }) do
        local list = {}
        for name, content in pairs(part[1] or {}) do
            list[#list + 1] = { name = name,
                                content = part[2] and ngx.decode_base64(content) or content }
        end
        table_sort(list, function(a, b) return a.name < b.name end)
        for _, a in ipairs(list) do
            out[#out + 1] = a
        end
    end
    return out
end

local function campaign_view(c)
    local recipients = ""
    if c.recipients then
        local rows = {}
        for i, address in ipairs(c.recipients) do
            rows[i] = { address }
        end
        recipients = "<h2>Recipients</h2>" .. html.table({ "Recipient" }, rows)
    end
    return {
        subject = c.subject,
        fields = {
            { "Campaign id", html.styled("mono", tostring(c.id)) },
            { "Name", c.name },
            { "From", person({ name = c.sender_name, email = c.sender_email }) },
            { "To", _M.campaign_audience(c) },
            { "Status", _M.campaign_status(c) },
            { "Send date", c.send_date and (c.send_date .. " UTC") },
            { "Template", c.template_id and tostring(c.template_id) },
        },
        html = c.html,
        amp = c.amp,
        attachments = campaign_attachments(c),
        extra = recipients,
    }
end

-- The mail kinds: the {kind} of /__sandbox/ui/mail/{kind}/{id}.
local KINDS = {
    smtp = { title = "SMTP email", find = smtp.message, view = smtp_view },
    campaign = { title = "Email campaign", find = campaigns.find, view = campaign_view },
}

--- The viewer's URL of a mail (kind a key of KINDS).
function _M.url(kind, id)
    return html.UI .. "/mail/" .. html.segment(kind) .. "/" .. html.segment(id)
end

local function find(params)
    local kind = KINDS[params.kind]
    local item = kind and kind.find(params.id)
    if not item then
        return nil
    end
    return kind, kind.view(item)
end

-- The policy of the HTML part: nothing runs, nothing is fetched except
-- data: images, and remote images when asked for.
local function html_csp(remote_images)
    return "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
           .. (remote_images and " http: https:" or "")
           .. "; font-src data:; media-src data:; base-uri 'none'; form-action 'none'; "
           .. "frame-ancestors 'self'"
end

local function attachment_rows(base, attachments)
    local rows = {}
    for i, a in ipairs(attachments) do
        rows[i] = {
            html.link(base .. "/attachments/" .. i, a.name ~= "" and a.name or "(no name)"),
            html.styled("mono", _M.content_type(a.name)),
            html.styled("num", html.size(#a.content)),
        }
    end
    return rows
end

-- GET /__sandbox/ui/mail/{kind}/{id}[?images=remote]
local function show(req, params)
    local kind, m = find(params)
    if not kind then
        return html.not_found("No " .. params.kind .. " mail " .. params.id
                              .. " (a reset forgets them; SMTP keeps the newest "
                              .. smtp.MAX_MESSAGES .. ")")
    end
    local base = _M.url(params.kind, params.id)
    local remote = req.args().images == "remote"
    local out = {
        "<h1>", escape(m.subject or "(no subject)"), "</h1>",
        '<p class="muted">', escape(kind.title), "</p>",
        html.fields(m.fields),
        '<h2 id="html">HTML</h2>',
    }
    if m.html and m.html ~= "" then
        local src = base .. "/html" .. (remote and "?images=remote" or "")
        if remote then
            out[#out + 1] = '<p class="images">Remote images are shown. '
                            .. '<a id="block-images" href="' .. escape(base)
                            .. '#html">Block them again</a></p>'
        else
            out[#out + 1] = '<p class="images">Remote images are blocked. '
                            .. '<a id="load-images" href="' .. escape(base)
                            .. '?images=remote#html">Load remote images</a></p>'
        end
        -- sandbox="": no scripts, no same origin, no forms, no popups
        out[#out + 1] = '<iframe id="mail-html" class="mail" sandbox=""'
                        .. ' referrerpolicy="no-referrer" title="HTML part" src="'
                        .. escape(src) .. '"></iframe>'
        out[#out + 1] = '<details><summary>HTML source</summary>' .. html.pre(m.html)
                        .. "</details>"
    else
        out[#out + 1] = '<p class="muted">No HTML part.</p>'
    end
    if m.amp then
        out[#out + 1] = '<details><summary>AMP source</summary>' .. html.pre(m.amp) .. "</details>"
    end
    out[#out + 1] = '<h2 id="text">Text</h2>'
    if m.text and m.text ~= "" then
        out[#out + 1] = html.pre(m.text)
    else
        out[#out + 1] = '<p class="muted">No text part.</p>'
    end
    out[#out + 1] = '<h2 id="attachments">Attachments</h2>'
    if #m.attachments > 0 then
        out[#out + 1] = html.table({ "File", "Content type", "Size" },
                                   attachment_rows(base, m.attachments), "attachments")
    else
        out[#out + 1] = '<p class="muted">None.</p>'
    end
    out[#out + 1] = m.extra
    return html.respond(m.subject or kind.title, table_concat(out))
end

-- GET /__sandbox/ui/mail/{kind}/{id}/html[?images=remote]
local function show_html(req, params)
    local kind, m = find(params)
    if not kind or not m.html then
        return html.not_found("No HTML part here")
    end
    return 200, m.html, {
        ["Content-Type"] = "text/html; charset=utf-8",
        ["Content-Security-Policy"] = html_csp(req.args().images == "remote"),
        ["X-Content-Type-Options"] = "nosniff",
        ["Referrer-Policy"] = "no-referrer",
        ["Cache-Control"] = "no-store",
    }
end

-- GET /__sandbox/ui/mail/{kind}/{id}/attachments/{n}
local function download(_, params)
    local kind, m = find(params)
    local n = str_match(params.n, "^%d+$") and tonumber(params.n)
    local a = kind and n and m.attachments[n]
    if not a then
        return html.not_found("No such attachment")
    end
    return 200, a.content, {
        ["Content-Type"] = _M.content_type(a.name),
        ["Content-Disposition"] = _M.disposition(a.name),
        ["Content-Security-Policy"] = "sandbox; default-src 'none'",
        ["X-Content-Type-Options"] = "nosniff",
        ["Cache-Control"] = "no-store",
    }
end

local UI = html.UI
_M.routes = {
    { "GET", UI .. "/mail/{kind}/{id}", show },
    { "GET", UI .. "/mail/{kind}/{id}/html", show_html },
    { "GET", UI .. "/mail/{kind}/{id}/attachments/{n}", download },
}

return _M
