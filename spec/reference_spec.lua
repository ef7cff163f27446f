-- The HTML reference (`make docs`, LDoc with discount) as a user gets it.
-- The spec builds it into build/docs exactly as `make docs` does, then:
--   * reads every page: no raw backtick in prose, every local link (a page
--     or an anchor) resolves, methods named as they are called, the
--     options of sendpulse.new all in its table, the README the first
--     topic with its method table linking to the entries;
--   * #browser: a headless Chromium renders the index, the README, an
--     area's and a service's page and sendpulse's, and checks what it
--     shows: formatted code where the source had backticks and no
--     backtick left in the text, the method index, and that every link on
--     those pages leads to a page and an anchor that exist there. It keeps
--     build/docs-reference.png.
local cdp = require "support.cdp"
local socket = require "socket"

local ROOT_DIR = "build/docs"

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local s = f:read("*a")
  f:close()
  return s
end

-- a/b/../c -> a/c
local function normalize(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      table.remove(parts)
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return table.concat(parts, "/")
end

-- The anchors of a page: name= and id= attributes.
local function anchors_of(html)
  local a = {}
  for n in html:gmatch('%sname%s*=%s*"([^"]*)"') do
    a[n] = true
  end
  for n in html:gmatch('%sid%s*=%s*"([^"]*)"') do
    a[n] = true
  end
  return a
end

local function unescape(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&amp;", "&"))
end

-- The text of html outside <pre> and <code>, tags removed.
local function prose(html)
  return (html:gsub("<pre.-</pre>", ""):gsub("<code.-</code>", ""):gsub("<[^>]*>", ""))
end

local built, build_seconds, pages = false, nil, {}

local function build()
  if built then
    return
  end
  sh("rm -rf " .. ROOT_DIR)
  local t0 = socket.gettime()
  local out, ok = sh("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT ldoc .")
  assert(ok, out)
  -- what run-tests' docs check rejects: a warning, an error, a missing
  -- reference or tag, a Markdown processor LDoc fell back from
  for line in out:gmatch("[^\n]+") do
    assert.is_nil(line:lower():find("warning", 1, true), line)
    assert.is_nil(line:lower():find("error", 1, true), line)
    assert.is_nil(line:find("not found", 1, true), line)
    assert.is_nil(line:find("^format:"), line)
  end
  build_seconds = socket.gettime() - t0
  for p in sh("cd " .. ROOT_DIR .. " && find . -name '*.html' | sort"):gmatch("[^\n]+") do
    local name = p:sub(3)
    pages[name] = assert(read(ROOT_DIR .. "/" .. name))
  end
  built = true
  local n = 0
  for _ in pairs(pages) do
    n = n + 1
  end
  print(("\n  [docs] ldoc built %d pages in %.1f s"):format(n, build_seconds))
end

describe("the reference #docs", function()
  setup(build)

  it("has every kind of page", function()
    for _, p in ipairs{ "index.html", "topics/README.md.html", "modules/sendpulse.html",
                        "classes/sendpulse.Client.html", "areas/sendpulse.addressbooks.html",
                        "services/client.crm.html" } do
      assert.truthy(pages[p], p)
    end
    local n = 0
    for _ in pairs(pages) do
      n = n + 1
    end
    assert.is_true(n >= 40, n .. " pages")
  end)

  it("shows no raw backtick in prose, on any page", function()
    local found = {}
    for name, html in pairs(pages) do
      for line in prose(html):gmatch("[^\n]*`[^\n]*") do
        found[#found + 1] = name .. ": " .. line:sub(1, 120)
      end
    end
    table.sort(found)
    assert.same({}, found)
  end)

  it("has only local links that resolve, to a page and to an anchor on it", function()
    local anchors = {}
    for name, html in pairs(pages) do
      anchors[name] = anchors_of(html)
    end
    local links, broken = 0, {}
    for name, html in pairs(pages) do
      local dir = name:match("^(.*)/[^/]*$")
      for href in html:gmatch('href%s*=%s*"([^"]*)"') do
        href = unescape(href)
        if not href:match("^%a[%w+.-]*:") then
          links = links + 1
          local file, anchor = href:match("^([^#]*)#?(.*)$")
          local target = file == "" and name or normalize((dir and dir .. "/" or "") .. file)
          if not pages[target] then
            if not read(ROOT_DIR .. "/" .. target) then
              broken[#broken + 1] = name .. ": " .. href .. " (no such file)"
            end
          elseif anchor ~= "" and not anchors[target][anchor] then
            broken[#broken + 1] = name .. ": " .. href .. " (no such anchor)"
          end
        end
      end
    end
    table.sort(broken)
    assert.same({}, broken)
    assert.is_true(links > 3000, links .. " links")
    print(("\n  [docs] %d local links checked"):format(links))
  end)

  it("names methods as they are called", function()
    local index = pages["areas/sendpulse.addressbooks.html"]
    assert.matches('<a href="#add_emails">client:add_emails%(id, contacts, opts%)</a>', index)
    local crm = pages["services/client.crm.html"]
    assert.matches(">client%.crm:create_deal%(args%)</a>", crm)
    local cls = pages["classes/sendpulse.Client.html"]
    assert.matches(">client:get%(path, query%)</a>", cls)
    assert.matches(">sendpulse%.new%(opts%)</a>", cls)
    -- every entry of an area or service page, in its method index
    for name, html in pairs(pages) do
      local prefix = name:match("^areas/") and "client:"
                     or name:match("^services/(client%.[%w_]+)%.html$")
      if prefix then
        prefix = prefix == "client:" and prefix or prefix .. ":"
        local n = 0
        for label in html:gmatch('<td class="name"[^>]*><a href="#[^"]+">([^<]+)</a>') do
          n = n + 1
          assert.equal(prefix, label:sub(1, #prefix), name .. ": " .. label)
        end
        assert.is_true(n > 0, name)
      end
    end
  end)

  it("describes the generic verbs' parameters", function()
    local cls = pages["classes/sendpulse.Client.html"]
    local get = cls:match('<a name = "sendpulse%.Client:get"></a>(.-)<dt>')
    assert.truthy(get)
    assert.matches('<span class="parameter">path</span>%s*<span class="types">.-</span>%s*the '
                   .. "endpoint", get)
    assert.matches('<span class="parameter">query</span>%s*<span class="types">.-</span>%s*the '
                   .. "query parameters", get)
  end)

  it("lists every option of sendpulse.new in its table", function()
    local names = {}
    for name in read("csrc/core.c"):gmatch('\n%s*{ "([%w_]+)", OPT_') do
      names[#names + 1] = name
    end
    local lua_opts = read("lua/sendpulse/client.lua"):match("local LUA_OPTIONS = (%b{})")
    for name in lua_opts:gmatch("([%w_]+) = true") do
      names[#names + 1] = name
    end
    assert.is_true(#names >= 27, #names .. " options")
    local html = pages["modules/sendpulse.html"]
    local table_html = html:match('<a name = "new"></a>.-(<table>.-</table>)')
    assert.truthy(table_html, "no options table in sendpulse.new")
    local rows = {}
    for first in table_html:gmatch("<tr>%s*<td>(.-)</td>") do
      for name in first:gmatch("<code>([%w_]+)</code>") do
        rows[name] = true
      end
    end
    local missing = {}
    for _, name in ipairs(names) do
      if not rows[name] then
        missing[#missing + 1] = name
      end
    end
    assert.same({}, missing)
  end)

  it("has the README as its first topic, its method table linking to the entries", function()
    local index = pages["index.html"]
    local topics = index:match("<h2>Topics</h2>%s*<ul[^>]*>(.-)</ul>")
    assert.matches('^%s*<li><a href="topics/README%.md%.html">', topics)
    local readme = pages["topics/README.md.html"]
    assert.matches('<table>', readme)
    local linked = 0
    for href in readme:gmatch('<a href="(%.%./[^"]+)"><code>client[%w_.]*:') do
      linked = linked + 1
      assert.matches("^%.%./%a+/[%w_.]+%.html#", href)
    end
    assert.is_true(linked > 700, linked .. " methods linked")
    -- its links to sections, with GitHub's anchors
    assert.matches('id="token%-stores"', readme)
  end)
end)

describe("the reference in a browser #browser #docs", function()
  if not cdp.available() then
    pending("Chromium is not installed (" .. cdp.EXECUTABLE .. "; apt-get install chromium): "
            .. "the reference was not looked at in a browser")
    return
  end

  local browser, page, base
  local root = sh("pwd"):gsub("%s+$", "")

  setup(function()
    build()
    base = "file://" .. root .. "/" .. ROOT_DIR .. "/"
    browser = cdp.launch{ lifetime = 120 }
    page = browser:open()
  end)

  teardown(function()
    if browser then
      browser:close()
    end
  end)

  -- What the page shows, read in the browser.
  local LOOK = [[(() => {
    const content = document.getElementById('content');
    const raw = [];
    const walk = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walk.nextNode())) {
      if (n.nodeValue.includes('`') && !n.parentElement.closest('pre, code'))
        raw.push(n.nodeValue.trim().slice(0, 120));
    }
    const code = [...content.querySelectorAll('code')];
    const mono = code.filter(c => /mono/i.test(getComputedStyle(c).fontFamily)).length;
    const visible = code.filter(c => c.getBoundingClientRect().width > 0).length;
    const index = [...content.querySelectorAll('table.function_list td.name a')]
      .map(a => a.textContent);
    const links = [...document.querySelectorAll('a[href]')].map(a => a.href)
      .filter(h => h.startsWith('file:'));
    return { raw, code: code.length, mono, visible, pre: content.querySelectorAll('pre').length,
             index, links, title: document.title,
             tables: content.querySelectorAll('table').length };
  })()]]

  local ANCHORS = [[[...document.querySelectorAll('[id], [name]')]
    .map(e => e.id || e.getAttribute('name'))]]

  local looked = {}
  local function look(path)
    if not looked[path] then
      page:go(base .. path)
      looked[path] = page:eval(LOOK)
    end
    return looked[path]
  end

  local function formatted(path)
    local v = look(path)
    assert.same({}, v.raw, path .. ": raw backticks")
    assert.is_true(v.code > 0, path .. ": no <code>")
    assert.equal(v.code, v.mono, path .. ": code not in a monospace font")
    return v
  end

  it("shows the index with its kinds of pages and formatted code", function()
    local v = formatted("index.html")
    assert.equal("lua-sendpulse reference", v.title)
    local kinds = page:eval("[...document.querySelectorAll('#content h2')].map(h => h.textContent)")
    for _, k in ipairs{ "Topics", "Modules", "Classes", "Areas", "Services" } do
      local found = false
      for _, h in ipairs(kinds) do
        found = found or h == k
      end
      assert.is_true(found, k)
    end
  end)

  it("shows the README as a page: tables, code blocks, code", function()
    local v = formatted("topics/README.md.html")
    assert.is_true(v.pre >= 10, v.pre .. " code blocks")
    assert.is_true(v.tables >= 5, v.tables .. " tables")
    -- a table cell shows code, not pipes
    local cell = page:eval("document.querySelector('#content table td code').textContent")
    assert.truthy(cell and #cell > 0)
    assert.is_false(page:eval("document.getElementById('content').innerText.includes('|---|')"))
  end)

  it("shows an area's method index: client:... methods, each an entry of the page", function()
    local v = formatted("areas/sendpulse.addressbooks.html")
    assert.is_true(#v.index >= 20, #v.index .. " methods")
    for _, name in ipairs(v.index) do
      assert.matches("^client:[%w_]+%(", name)
    end
    assert.is_true(page:eval("[...document.querySelectorAll('table.function_list td.name a')]"
      .. ".every(a => document.getElementsByName(a.hash.slice(1)).length === 1)"))
    local png = page:screenshot(true)
    local f = assert(io.open("build/docs-reference.png", "wb"))
    f:write(png)
    f:close()
  end)

  it("shows a service's method index: client.crm:... methods", function()
    local v = formatted("services/client.crm.html")
    assert.is_true(#v.index >= 190, #v.index .. " methods")
    for _, name in ipairs(v.index) do
      assert.matches("^client%.crm:[%w_]+%(args[%w_, ]*%)$", name)
    end
  end)

  it("shows sendpulse.new's options as a table", function()
    formatted("modules/sendpulse.html")
    local rows = page:eval("[...document.querySelectorAll('#content table:not(.function_list) tr')]"
      .. ".map(r => r.cells[0].innerText)")
    local names = table.concat(rows, " ")
    for _, o in ipairs{ "client_id", "api_key", "call_timeout", "max_upload_size", "fleet_size",
                        "plan", "quota_per_minute", "quota_per_day", "on_request", "dry_run" } do
      assert.truthy(names:find(o, 1, true), o)
    end
  end)

  it("has working links on every page it looked at", function()
    local pages_to_check, links = {}, 0
    for path in pairs(looked) do
      for _, href in ipairs(looked[path].links) do
        local file, anchor = href:match("^file://([^#]*)#?(.*)$")
        links = links + 1
        pages_to_check[file] = pages_to_check[file] or {}
        if anchor ~= "" then
          pages_to_check[file][anchor] = path
        end
      end
    end
    local broken, targets = {}, 0
    for file, wanted in pairs(pages_to_check) do
      targets = targets + 1
      assert.truthy(read(file), "a link to a missing page: " .. file)
      if next(wanted) then
        page:go("file://" .. file)
        local have = {}
        for _, a in ipairs(page:eval(ANCHORS)) do
          have[a] = true
        end
        for anchor, from in pairs(wanted) do
          -- the browser gives the fragment percent-encoded
          local name = anchor:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
          if not have[name] then
            broken[#broken + 1] = from .. " -> " .. file:sub(#root + 2) .. "#" .. name
          end
        end
      end
    end
    table.sort(broken)
    assert.same({}, broken)
    print(("\n  [docs] browser: %d links from %d rendered pages, to %d pages"):format(links,
      (function() local n = 0 for _ in pairs(looked) do n = n + 1 end return n end)(), targets))
  end)
end)
