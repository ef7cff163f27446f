-- The sandbox's web page (GET /__sandbox/): what it answers over HTTP
-- (escaping, security headers, downloads, hidden secrets, the admin API
-- left as it was), and, #browser, what a headless Chromium makes of it:
-- an email sent with the client appears, its HTML renders in a sandboxed
-- iframe without running its script or loading its remote image until
-- asked, and its attachments download with their names and bytes.
-- The #browser part is skipped when Chromium is not installed; it keeps
-- screenshots in build/sandbox-page.png and build/sandbox-page-email.png.
local sandbox = require "support.sandbox"
local cdp = require "support.cdp"

local PAGE = sandbox.url .. "/__sandbox/"

-- A probe path on the sandbox itself: any request for it lands in the
-- request log (as a 401), so the log tells whether the browser asked.
local REMOTE_IMAGE = "/probe/remote-image.png"
local SCRIPT_PROBE = "/probe/script-ran"

local SUBJECT = "Order <script>document.title='subject ran'</script> & \"co\""
local GREETING = "Hello from the sandbox page spec"
local EMAIL_HTML = table.concat({
  "<!DOCTYPE html><html><head><style>h1 { color: #0b5cad; }</style></head><body>",
  '<h1 id="greeting">', GREETING, "</h1>",
  "<p>Your order <b>42</b> has shipped.</p>",
  '<p><img id="remote" alt="remote image" width="40" height="40" src="', sandbox.url,
  REMOTE_IMAGE, '"></p>',
  "<script>document.body.setAttribute('data-script-ran', 'yes');",
  "new Image().src = '", sandbox.url, SCRIPT_PROBE, "';</script>",
  '<img src="missing.png" onerror="document.body.setAttribute(\'data-onerror-ran\', \'yes\')">',
  "</body></html>",
})

-- Every byte value, so that a download that is not byte-exact shows.
local function all_bytes()
  local t = {}
  for i = 0, 255 do
    t[#t + 1] = string.char(i)
  end
  return table.concat(t):rep(4)
end

local ATTACHMENTS = {
  { name = "Zusammenfassung März.txt", content = "Grüße aus dem Auenland\n",
    type = "text/plain" },
}
local BINARY = { name = "invoice 42.pdf", content = "%PDF-1.4\n" .. all_bytes(),
                 type = "application/pdf" }

local function send_email(client)
  local res = assert(client:smtp_send{
    subject = SUBJECT,
    from = { name = "Shire <Post>", email = "post@shire.me" },
    to = { { name = "Frodo", email = "frodo@shire.me" }, "sam@garden.invalid" },
    html = EMAIL_HTML,
    text = "Your order 42 has shipped. <not a tag>",
    attachments = { [ATTACHMENTS[1].name] = ATTACHMENTS[1].content },
    attachments_binary = { [BINARY.name] = BINARY.content },
  })
  return res.id
end

-- An email campaign, an SMS and a Viber campaign, markup in their texts.
-- Returns the campaign and its mailing list's id.
local function send_the_rest(client)
  local book = assert(client:post("/addressbooks", { bookName = "readers" })).id
  assert(client:post("/addressbooks/" .. book .. "/emails", { emails = { "frodo@shire.me" } }))
  local campaign = assert(client:create_campaign{
    sender_name = "Shire Post", sender_email = "post@shire.me", list_id = book,
    subject = "News <b>bold</b>", body = "<h1>Campaign body</h1><script>x()</script>",
  })
  assert(client:sms_send{ sender = "iQA", phones = { "380501234567" },
                          body = "Code <i>1234</i>" })
  assert(client:create_viber_campaign{
    task_name = "Promo <u>", message_type = 2, sender_id = 2222, message_live_time = 3600,
    message = "Viber <em>hello</em>", recipients = { "380931111111" },
  })
  return campaign, book
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- GET (or another method) with curl: status, lower-cased headers, body.
local function http(path, method)
  local dir = cdp.temp_dir("sandbox-page-http")
  local cmd = "curl -sS --noproxy '*' --max-time 10 --cacert " .. shell_quote(sandbox.ca)
              .. " -X " .. (method or "GET") .. " -D " .. shell_quote(dir .. "/h")
              .. " -o " .. shell_quote(dir .. "/b") .. " " .. shell_quote(sandbox.url .. path)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  local head = cdp.read_file(dir .. "/h") or ""
  local body = cdp.read_file(dir .. "/b") or ""
  cdp.remove_dir(dir)
  local status = tonumber(head:match("^HTTP/%S+ (%d+)"))
  assert(status, "curl " .. path .. ": " .. out)
  local headers = {}
  for name, value in head:gmatch("([%w%-]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  return status, headers, body
end

local function logged(path)
  for _, e in ipairs(sandbox.log()) do
    if e.path == path then
      return true
    end
  end
  return false
end

describe("the sandbox page #sandbox", function()
  local client, id

  setup(function()
    sandbox.reset()
    client = sandbox.client()
    id = send_email(client)
  end)

  teardown(function()
    client:close()
  end)

  it("lists the email on the overview, every piece of it escaped", function()
    local status, headers, body = http("/__sandbox/")
    assert.equal(200, status)
    assert.equal("text/html; charset=utf-8", headers["content-type"])
    assert.truthy(headers["content-security-policy"]:find("script-src 'self'", 1, true))
    assert.equal("nosniff", headers["x-content-type-options"])
    local escaped = "Order &lt;script&gt;document.title=&#39;subject ran&#39;&lt;/script&gt;"
                    .. " &amp; &quot;co&quot;"
    assert.truthy(body:find(escaped, 1, true))
    assert.falsy(body:find("<script>document.title", 1, true))
    assert.truthy(body:find('href="/__sandbox/ui/mail/smtp/' .. id .. '"', 1, true))
    assert.truthy(body:find(ATTACHMENTS[1].name, 1, true))
    -- the only script of the page is its own file
    local scripts = {}
    for tag in body:gmatch("<script[^>]*>") do
      scripts[#scripts + 1] = tag
    end
    assert.same({ '<script src="/__sandbox/ui/page.js" defer>' }, scripts)
  end)

  it("serves the HTML part under a sandboxing policy, remote images only when asked",
     function()
    local status, headers, body = http("/__sandbox/ui/mail/smtp/" .. id .. "/html")
    assert.equal(200, status)
    assert.equal(EMAIL_HTML, body)
    local csp = headers["content-security-policy"]
    assert.truthy(csp:find("^sandbox;"))
    assert.truthy(csp:find("default-src 'none'", 1, true))
    assert.truthy(csp:find("img-src data:;", 1, true))
    assert.falsy(csp:find("script-src", 1, true))
    local _, remote = http("/__sandbox/ui/mail/smtp/" .. id .. "/html?images=remote")
    assert.truthy(remote["content-security-policy"]:find("img-src data: http: https:;", 1, true))
    local _, _, view = http("/__sandbox/ui/mail/smtp/" .. id)
    assert.truthy(view:find('<iframe id="mail-html" class="mail" sandbox=""', 1, true))
    assert.truthy(view:find("&lt;h1 id=&quot;greeting&quot;&gt;", 1, true)) -- the source
    assert.truthy(view:find("Your order 42 has shipped. &lt;not a tag&gt;", 1, true))
  end)

  it("serves the attachments as downloads with their names, types and bytes", function()
    for n, a in ipairs({ ATTACHMENTS[1], BINARY }) do
      local status, headers, body = http("/__sandbox/ui/mail/smtp/" .. id .. "/attachments/" .. n)
      assert.equal(200, status)
      assert.equal(a.content, body)
      assert.equal(a.type, headers["content-type"])
      local exact = a.name:gsub("[^%w%.%-_]", function(c) return ("%%%02X"):format(c:byte()) end)
      assert.truthy(headers["content-disposition"]:find("^attachment; filename=\""))
      assert.truthy(headers["content-disposition"]:find("filename*=UTF-8''" .. exact, 1, true))
      assert.equal("nosniff", headers["x-content-type-options"])
    end
    assert.equal(404, (http("/__sandbox/ui/mail/smtp/" .. id .. "/attachments/3")))
    assert.equal(404, (http("/__sandbox/ui/mail/smtp/nope/attachments/1")))
  end)

  it("never shows a client secret, an Authorization value or a token", function()
    local form = sandbox.client_secret
    os.execute("curl -sS --noproxy '*' --max-time 10 -o /dev/null --cacert "
               .. shell_quote(sandbox.ca) .. " -d " .. shell_quote(
                 "grant_type=client_credentials&client_id=" .. sandbox.client_id
                 .. "&client_secret=" .. form) .. " " .. shell_quote(sandbox.url
                 .. "/oauth/access_token?client_secret=" .. form))
    local keyed = sandbox.client{ api_key = sandbox.api_key }
    assert(keyed:get("/user/info"))
    keyed:close()
    local pages = { "/__sandbox/" }
    for _, e in ipairs(sandbox.log()) do
      pages[#pages + 1] = "/__sandbox/ui/requests/" .. e.index
    end
    assert.is_true(#pages >= 5) -- two token requests, the email, the curl one, user/info
    for _, path in ipairs(pages) do
      local status, _, body = http(path)
      assert.equal(200, status)
      assert.is_nil(body:find(sandbox.client_secret, 1, true), path)
      assert.is_nil(body:find(sandbox.api_key, 1, true), path)
      assert.is_nil(body:find("SANDBOXTOKEN", 1, true), path)
    end
    local _, _, overview = http("/__sandbox/")
    assert.truthy(overview:find("client_secret=(hidden)", 1, true))
    assert.truthy(overview:find('<section id="tokens"><h2>Tokens issued <span class="count">2',
                                1, true))
  end)

  it("lists email campaigns, SMS and Viber campaigns, escaped", function()
    local campaign, book = send_the_rest(client)
    local _, _, body = http("/__sandbox/")
    local function section(name)
      return body:match('<section id="' .. name .. '">(.-)</section>')
    end
    assert.truthy(section("campaigns"):find("News &lt;b&gt;bold&lt;/b&gt;", 1, true))
    assert.truthy(section("campaigns"):find("mailing list " .. book, 1, true))
    assert.truthy(section("sms"):find("Code &lt;i&gt;1234&lt;/i&gt;", 1, true))
    assert.truthy(section("sms"):find("+380501234567", 1, true))
    assert.truthy(section("sms"):find("POST /sms/send", 1, true))
    assert.truthy(section("viber"):find("Promo &lt;u&gt;", 1, true))
    assert.truthy(section("viber"):find("Viber &lt;em&gt;hello&lt;/em&gt;", 1, true))
    assert.falsy(body:find("<b>bold", 1, true))
    -- a campaign opens in the same viewer as an SMTP email
    local status, _, view = http("/__sandbox/ui/mail/campaign/" .. campaign.id)
    assert.equal(200, status)
    assert.truthy(view:find('sandbox=""', 1, true))
    local _, headers, html = http("/__sandbox/ui/mail/campaign/" .. campaign.id .. "/html")
    assert.equal("<h1>Campaign body</h1><script>x()</script>", html)
    assert.truthy(headers["content-security-policy"]:find("^sandbox;"))
  end)

  it("leaves the admin API as it was, and is not logged or counted", function()
    local before = sandbox.stats().total
    assert.equal(200, (http("/__sandbox/")))
    assert.equal(200, (http("/__sandbox/ui/page.css")))
    local _, _, health = http("/__sandbox/health")
    assert.equal('{"ok":true}', health)
    local status, headers = http("/__sandbox")
    assert.equal(302, status)
    assert.equal("/__sandbox/", headers["location"])
    assert.equal(404, (http("/__sandbox/nope")))
    assert.equal(405, (http("/__sandbox/", "POST")))
    assert.equal(before, sandbox.stats().total)
    local log = sandbox.admin("GET", "/log")
    assert.is_number(log.last_index)
  end)
end)

describe("the sandbox page in a browser #browser #sandbox", function()
  if not cdp.available() then
    pending("Chromium is not installed (" .. cdp.EXECUTABLE .. "; apt-get install chromium): "
            .. "the page was not checked in a browser")
    return
  end

  local client, browser, page, downloads, id

  setup(function()
    sandbox.reset()
    client = sandbox.client()
    send_the_rest(client) -- for the screenshot
    id = send_email(client)
    downloads = cdp.temp_dir("sandbox-page-downloads")
    local dir = sandbox.ca:match("^(.*)/[^/]+$")
    browser = cdp.launch{ lifetime = 120, pin = dir .. "/server.pem", downloads = downloads }
    page = browser:open(PAGE)
  end)

  teardown(function()
    if browser then
      browser:close()
    end
    cdp.remove_dir(downloads)
    client:close()
  end)

  local function save(name, png)
    os.execute("mkdir -p build")
    local f = assert(io.open("build/" .. name, "wb"))
    f:write(png)
    f:close()
  end

  it("shows the email on the overview, its subject as text", function()
    assert.equal("Inbox - SendPulse sandbox", page:eval("document.title"))
    local link = "document.querySelector('#emails tbody tr a')"
    assert.equal(SUBJECT, page:eval(link .. ".textContent"))
    assert.equal(PAGE .. "ui/mail/smtp/" .. id, page:eval(link .. ".href"))
    -- the page's own script ran (its switch is there), the subject's did not
    assert.is_true(page:eval("!!document.getElementById('auto-refresh')"))
    assert.equal(1, page:eval("document.scripts.length"))
    save("sandbox-page.png", page:screenshot(true))
  end)

  local function open_email()
    local doc = page:call("DOM.getDocument").root
    local link = page:call("DOM.querySelector", { nodeId = doc.nodeId,
                                                  selector = "#emails tbody tr a" }).nodeId
    page.browser.events = {}
    page:click(link)
    page:wait("Page.loadEventFired", nil, 30)
    assert.equal(PAGE .. "ui/mail/smtp/" .. id, page:eval("location.href"))
  end

  -- The email's document, from the iframe's own session (a sandboxed
  -- iframe lives in another process).
  local function email_document()
    local frame = page:frame()
    local root = frame:call("DOM.getDocument", { depth = -1 }).root
    return frame, root
  end

  it("renders the HTML in a sandboxed iframe: no script, no remote image", function()
    open_email()
    assert.equal("", page:eval("document.getElementById('mail-html').getAttribute('sandbox')"))
    local frame, root = email_document()
    local h1 = frame:call("DOM.querySelector", { nodeId = root.nodeId,
                                                 selector = "#greeting" }).nodeId
    assert.is_true(h1 > 0)
    local box = frame:call("DOM.getBoxModel", { nodeId = h1 }).model
    assert.is_true(box.width > 100 and box.height > 10)
    local text = frame:call("DOM.getOuterHTML", { nodeId = h1 }).outerHTML
    assert.truthy(text:find(GREETING, 1, true))
    local body = frame:call("DOM.querySelector", { nodeId = root.nodeId,
                                                   selector = "body" }).nodeId
    local attrs = frame:call("DOM.getAttributes", { nodeId = body }).attributes
    assert.same({}, attrs) -- neither data-script-ran nor data-onerror-ran
    assert.is_false(logged(REMOTE_IMAGE))
    assert.is_false(logged(SCRIPT_PROBE))
    save("sandbox-page-email.png", page:screenshot(true))
  end)

  it("loads the remote image once asked, with a click, and still runs no script", function()
    local doc = page:call("DOM.getDocument").root
    local button = page:call("DOM.querySelector", { nodeId = doc.nodeId,
                                                    selector = "#load-images" }).nodeId
    page.browser.events = {}
    page:click(button)
    page:wait("Page.loadEventFired", nil, 30)
    local deadline = os.time() + 5
    while not logged(REMOTE_IMAGE) and os.time() < deadline do
      require("socket").sleep(0.1)
    end
    assert.is_true(logged(REMOTE_IMAGE))
    assert.is_false(logged(SCRIPT_PROBE))
  end)

  it("downloads each attachment with its name and its bytes", function()
    local doc = page:call("DOM.getDocument", { depth = -1 }).root
    local links = page:call("DOM.querySelectorAll", { nodeId = doc.nodeId,
                                                      selector = "table.attachments a" }).nodeIds
    assert.equal(2, #links)
    for i, a in ipairs({ ATTACHMENTS[1], BINARY }) do
      page:click(links[i])
      local begin = browser:wait("Browser.downloadWillBegin", nil, nil, 20)
      assert.equal(a.name, begin.suggestedFilename)
      browser:wait("Browser.downloadProgress", function(p)
        return p.guid == begin.guid and p.state ~= "inProgress"
      end, nil, 20)
      local got = cdp.read_file(downloads .. "/" .. a.name)
      assert.equal(#a.content, got and #got)
      assert.is_true(got == a.content)
    end
  end)

  it("reloads the overview when a request arrives, with auto-refresh on", function()
    page:go(PAGE)
    local count = "document.querySelector('#requests .count').textContent"
    local before = tonumber(page:eval(count))
    local doc = page:call("DOM.getDocument").root
    page:click(page:call("DOM.querySelector", { nodeId = doc.nodeId,
                                                selector = "#auto-refresh" }).nodeId)
    assert.is_true(page:eval("document.getElementById('auto-refresh').checked"))
    page.browser.events = {}
    assert(client:user_info())
    page:wait("Page.loadEventFired", nil, 10)
    assert.equal(before + 1, tonumber(page:eval(count)))
    assert.is_true(page:eval("document.getElementById('auto-refresh').checked"))
    -- looking at the page adds nothing to the log (the page names its icon)
    assert.is_false(logged("/favicon.ico"))
  end)
end)
