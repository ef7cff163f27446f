-- The commands made from the API's operation tables (sendpulse.cli.operations),
-- run inside this process (sendpulse.cli.main) against the sandbox.
--
-- The sandbox has no routes for the services' operations yet (nor for the
-- newer flat methods of the older areas): their samples below are sent for
-- real and checked in the sandbox's request log, which records every
-- request before routing, whatever it answers (404 today); each is also
-- run with --dry-run. Answers the tool must print come from armed faults,
-- which take over a path before routing.
local sendpulse = require "sendpulse"
local cli = require "sendpulse.cli"
local services = require "sendpulse.services"
local index = require "sendpulse.api.index"
local operations = require "sendpulse.cli.operations"
local sandbox = require "support.sandbox"

local json = sendpulse.json
local kebab = operations.kebab

local function read_back(f)
  f:seek("set")
  local s = f:read("*a")
  f:close()
  return s
end

local function env()
  return {
    SENDPULSE_CLIENT_ID = sandbox.client_id,
    SENDPULSE_CLIENT_SECRET = sandbox.client_secret,
    SENDPULSE_BASE_URL = sandbox.url,
    SENDPULSE_CA_FILE = sandbox.ca,
    SENDPULSE_CONFIG = "/nonexistent/sendpulse-config",
  }
end

-- One registry for the whole file: building the hundreds of commands once.
local REGISTRY = cli.registry()

-- Runs the tool: {code, out, err, json}.
local function run(argv, opts)
  opts = opts or {}
  local e = env()
  for k, v in pairs(opts.env or {}) do
    e[k] = v or nil
  end
  local stdin = io.tmpfile()
  local out, err = io.tmpfile(), io.tmpfile()
  local code = cli.main(argv, { env = e, stdin = stdin, stdout = out, stderr = err,
                                registry = opts.registry or REGISTRY })
  stdin:close()
  local r = { code = code, out = read_back(out), err = read_back(err) }
  if r.out ~= "" and r.out:find("^[%[{]") then
    r.json = json.decode(r.out)
  end
  return r
end

local function show(r)
  return ("exit %s\n--- stdout\n%s--- stderr\n%s"):format(tostring(r.code), r.out, r.err)
end

local function ok(argv, opts)
  local r = run(argv, opts)
  assert(r.code == 0, show(r))
  return r
end

local function refused(argv)
  local r = run(argv)
  assert(r.code == 2, show(r))
  return r.err
end

local function has(s, part)
  return s:find(part, 1, true) ~= nil
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do
    t[#t + 1] = l
  end
  return t
end

local function copy(list, ...)
  local t = {}
  for i, v in ipairs(list) do
    t[i] = v
  end
  for _, v in ipairs{ ... } do
    t[#t + 1] = v
  end
  return t
end

-- Words of an example command line (single quotes group words).
local function shell_words(text)
  local words, cur, quoted = {}, {}, false
  for ch in text:gmatch(".") do
    if ch == "'" then
      quoted = not quoted
    elseif ch == " " and not quoted then
      if #cur > 0 then
        words[#words + 1] = table.concat(cur)
        cur = {}
      end
    else
      cur[#cur + 1] = ch
    end
  end
  if #cur > 0 then
    words[#words + 1] = table.concat(cur)
  end
  return words
end

local function temp_file(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

describe("commands of the operation tables #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  it("one per operation of every service, named after its method, calling it", function()
    local expected = 0
    for _, ns in ipairs(services.names()) do
      local g = REGISTRY:expand(REGISTRY.group_by_name[kebab(ns)])
      local ops = services.operations(ns)
      assert.equal(#ops, #g.commands, ns)
      for _, op in ipairs(ops) do
        local c = REGISTRY.by_path[kebab(ns) .. " " .. kebab(op.name)]
        assert(c, "no command for " .. ns .. ":" .. op.name)
        assert.equal(op.name, c.method)
        assert.equal(op.path, c.op.path)
        assert.equal(op.each ~= nil, c.row.each ~= nil, c.path)
      end
      expected = expected + #ops
    end
    -- the flat methods of the older areas, in those areas' groups; their
    -- iterators are the --all of the method they walk
    local flat = 0
    for name, e in pairs(index.flat) do
      local found
      for _, c in ipairs(REGISTRY:all_commands()) do
        if c.method == name then
          found = c
        end
      end
      if e.each then
        assert.is_nil(found, name)
      else
        flat = flat + 1
        assert(found, "no command for the flat method " .. name)
        local place = operations.FLAT[name]
        assert(place, name .. ": not placed in sendpulse.cli.operations.FLAT")
        assert.equal(place[1] .. " " .. place[2], found.path)
      end
    end
    assert.equal(22, flat)
    assert.is_truthy(REGISTRY.by_path["automation flows"].row.each)
    -- `commands --count` says so
    local count = ok{ "commands", "--count" }.out
    local every = #REGISTRY:all_commands()
    assert(count:find("\ntotal +" .. every .. " %(" .. (expected + flat)
                      .. " from the operation tables%)\n$"), count)
    assert(count:find("\ncrm +" .. #services.operations("crm") .. " %("), count)
    assert.equal(every, #lines(ok{ "commands" }.out))
  end)

  -- a command line, the request it makes ("METHOD /path"), its query
  -- string as sent, its JSON body
  local SAMPLES = {
    { { "crm", "create-deal", "pipelineId=1", "stepId=2", "name=Ring", "contact=5",
        "contact=6" },
      "POST /crm/v1/deals", nil,
      { pipelineId = 1, stepId = 2, name = "Ring", contact = { 5, 6 } } },
    { { "chatbots", "get-bots" }, "GET /chatbots/bots" },
    { { "courses", "get-students-by-course", "7", "limit=10", "offset=0", "isPaid=true" },
      "POST /edu/public/v1/students/by-course/7", nil,
      { limit = 10, offset = 0, isPaid = true } },
    { { "files", "get-directory-contents", "docs/2024 q1" },
      "GET /fm/public/v1/directory/docs%2F2024%20q1" },
    { { "instagram", "set-contact-tag", "contact_id=66b0c1", "tags=vip", "tags=new" },
      "POST /instagram/contacts/setTag", nil,
      { contact_id = "66b0c1", tags = { "vip", "new" } } },
    { { "live-chat", "get-contact", "id=66b0aa" }, "GET /live-chat/contacts/get", "id=66b0aa" },
    { { "messenger", "send-text-to-contact", "contact_id=66b0c1", "message_type=RESPONSE",
        "message_tag=HUMAN_AGENT", "text=Hello there" },
      "POST /messenger/contacts/sendText", nil,
      { contact_id = "66b0c1", message_type = "RESPONSE", message_tag = "HUMAN_AGENT",
        text = "Hello there" } },
    { { "popups", "set-popup-state", "popupId=123e4567-e89b-12d3-a456-426614174000",
        "is_enabled=false" },
      "POST /v2/pop-ups/public/api/popups/123e4567-e89b-12d3-a456-426614174000/set-state",
      nil, { is_enabled = false } },
    { { "telegram", "get-chats", "bot_id=66b0b0", "size=5" }, "GET /telegram/chats",
      "bot_id=66b0b0&size=5" },
    { { "tiktok", "run-flow", "contact_id=66b0c1", "flow_id=66b0f1",
        'external_data:={"order": 42}' },
      "POST /tiktok/flows/run", nil,
      { contact_id = "66b0c1", flow_id = "66b0f1", external_data = { order = 42 } } },
    { { "viber-bots", "get-contacts-by-variable", "variable_name=city",
        "variable_value=Bree" },
      "GET /viber/chatbots/contacts/getByVariable", "variable_name=city&variable_value=Bree" },
    { { "whatsapp", "send-template-by-phone", "bot_id=66b0b0", "phone=380931234567",
        'template:={"name": "hello", "language": {"code": "en"}}' },
      "POST /whatsapp/contacts/sendTemplateByPhone", nil,
      { bot_id = "66b0b0", phone = "380931234567",
        template = { name = "hello", language = { code = "en" } } } },
    -- flat methods of the older areas
    { { "smtp", "emails-info", "emails=a1", "emails=b2" }, "POST /smtp/emails/info", nil,
      { emails = { "a1", "b2" } } },
    { { "automation", "flows", "limit=5" }, "GET /a360/autoresponders/list", "limit=5" },
    { { "templates", "get-by-slug", "spring-sale", "owner=me" },
      "GET /template/slug/spring-sale", "owner=me" },
    { { "address-books", "update-phone", "id=1000001", "email=frodo@shire.me",
        "phone=380931234567" },
      "PUT /addressbooks/1000001/phone", nil, { email = "frodo@shire.me",
                                                phone = "380931234567" } },
  }

  it("send what their parameters make: a sample per service and flat area", function()
    for _, s in ipairs(SAMPLES) do
      local argv, key, query, body = s[1], s[2], s[3], s[4]
      local label = table.concat(argv, " ")
      local r = run(argv)
      -- the sandbox answers (or has no route for it yet: an API error)
      assert(r.code == 0 or (r.code == 1 and r.err:find("^sendpulse api error")),
             label .. "\n" .. show(r))
      local sent = sandbox.last(key)
      assert.equal(query, sent.query, label)
      if body then
        assert.equal("application/json", sent.content_type, label)
        assert.same(body, json.decode(sent.body), label)
      else
        assert.is_nil(sent.body, label)
      end
      -- the dry run describes the same request
      local dry = ok(copy(argv, "--dry-run")).json
      assert.equal(1, #dry, label)
      assert.equal(key, dry[1].method .. " " .. dry[1].path, label)
      assert.same(body, dry[1].body, label)
    end
    -- the ids the service keeps as text stay text, numbers stay exact
    local sent = sandbox.last("POST /whatsapp/contacts/sendTemplateByPhone").body
    assert.truthy(has(sent, '"phone":"380931234567"'), sent)
  end)

  it("take --json, overridden by the parameters given", function()
    local path = temp_file('{"pipelineId": 1, "stepId": 2, "name": "From JSON", "price": 9.5}')
    local r = ok{ "crm", "create-deal", "--json", "@" .. path, "name=Given", "--dry-run" }
    os.remove(path)
    assert.same({ pipelineId = 1, stepId = 2, name = "Given", price = 9.5 }, r.json[1].body)
    assert.equal("sendpulse: --json: a JSON object expected, not an array\n",
                 refused{ "crm", "create-deal", "--json", "[1]" })
    -- what the method refuses in it, it refuses before sending
    local err = refused{ "crm", "create-deal", "--json", '{"pipelineId": 1, "bogus": 2}' }
    assert.equal("sendpulse: bad argument 'args.bogus' to crm:create_deal (unknown field) "
                 .. "(sendpulse crm create-deal --help lists the parameters)\n", err)
    assert.equal(0, sandbox.stats().total)
  end)

  it("read each value as its parameter's type, and refuse what cannot be", function()
    local function request(argv)
      return ok(copy(argv, "--dry-run")).json[1]
    end
    -- numbers, booleans, null, lists by repetition or as JSON, text
    assert.same({ 1, 2 }, request{ "crm", "create-deal", "pipelineId=1", "stepId=1",
                                   "contact:=[1, 2]" }.body.contact)
    assert.equal(10.5, request{ "crm", "create-deal", "pipelineId=1", "stepId=1",
                                "price=10.5" }.body.price)
    assert.equal(sendpulse.null, request{ "courses", "get-students-by-course", "7", "limit=1",
                                          "offset=0", "usedPromoCode=null" }.body.usedPromoCode)
    assert.same({ "registered", "failed" },
                request{ "courses", "get-students-by-course", "7", "limit=1", "offset=0",
                         "courseStatus=registered", "courseStatus=failed" }.body.courseStatus)
    assert.equal("42", request{ "live-chat", "get-contact", "id=42" }.query.id)
    -- a path parameter by name or alone, percent-encoded either way
    assert.equal("/crm/v1/deals/42", request{ "crm", "get-deal", "dealId=42" }.path)
    assert.equal("/crm/v1/deals/42", request{ "crm", "get-deal", "42" }.path)

    assert.equal("sendpulse: dealId: an integer expected, got \"abc\"\n",
                 refused{ "crm", "get-deal", "dealId=abc" })
    assert.equal("sendpulse: price: a number expected, got \"cheap\"\n",
                 refused{ "crm", "create-deal", "pipelineId=1", "stepId=1", "price=cheap" })
    assert.equal("sendpulse: isPaid: a boolean expected, got \"yes\"\n",
                 refused{ "courses", "get-students-by-course", "7", "limit=1", "offset=0",
                          "isPaid=yes" })
    assert.equal("sendpulse: template: object {components, language, name} expected: write "
                 .. "template:=JSON\n",
                 refused{ "whatsapp", "send-template-by-phone", "bot_id=b", "phone=1",
                          "template=hello" })
    assert.truthy(refused{ "tiktok", "run-flow", "contact_id=c", "flow_id=f",
                           "external_data:={x" }
                    :find("^sendpulse: external_data: invalid JSON '{x': "))
    assert.equal("sendpulse: unknown parameter 'stepid' for 'sendpulse crm create-deal'; "
                 .. "did you mean 'stepId'?\n",
                 refused{ "crm", "create-deal", "pipelineId=1", "stepid=2" })
    assert.equal("sendpulse: name is given twice\n",
                 refused{ "crm", "create-deal", "pipelineId=1", "stepId=1", "name=a", "name=b" })
    assert.equal("sendpulse: NAME=VALUE or NAME:=JSON expected, got '43' (usage: sendpulse crm "
                 .. "get-deal dealId=N [NAME=VALUE | NAME:=JSON ...])\n",
                 refused{ "crm", "get-deal", "42", "43" })
    -- the method's own checks: required, enum, bounds
    assert.equal("sendpulse: bad argument 'args.dealId' to crm:get_deal (required) (sendpulse "
                 .. "crm get-deal --help lists the parameters)\n", refused{ "crm", "get-deal" })
    assert.truthy(refused{ "telegram", "get-chat-messages", "contact_id=c", "order=up" }
                    :find("^sendpulse: bad argument 'args.order' to telegram:get_chat_messages "))
    assert.equal(0, sandbox.stats().total)
  end)

  it("--all walks every page, printing items as they arrive", function()
    -- a page of 2 asks for 3: the third item proves a next page exists
    sandbox.fault{ path = "/telegram/chats", status = 200,
                   body = { data = { { id = "a" }, { id = "b" }, { id = "c" } } } }
    sandbox.fault{ path = "/telegram/chats", status = 200, body = { data = { { id = "c" } } } }
    local r = ok{ "telegram", "get-chats", "bot_id=66b0b0", "size=2", "--all", "-o", "ndjson" }
    assert.same({ '{"id":"a"}', '{"id":"b"}', '{"id":"c"}' }, lines(r.out))
    local asked = sandbox.requests("GET /telegram/chats")
    assert.equal(2, #asked)
    assert.equal("bot_id=66b0b0&size=3&skip=0", asked[1].query)
    assert.equal("bot_id=66b0b0&size=3&skip=2", asked[2].query)
    -- --max stops the walk; a dry run shows the first page's request
    local dry = ok{ "telegram", "get-chats", "bot_id=66b0b0", "--all", "--max", "4",
                    "--dry-run" }.json
    assert.equal(1, #dry)
    assert.same({ bot_id = "66b0b0", size = 5, skip = 0 }, dry[1].query)
    -- the iterators of flat methods too
    dry = ok{ "automation", "flows", "--all", "--dry-run" }.json
    assert.equal("/a360/autoresponders/list", dry[1].path)
    assert.equal("sendpulse: --max goes with --all\n",
                 refused{ "telegram", "get-chats", "bot_id=b", "--max", "3" })
    assert.truthy(has(refused{ "crm", "get-deal", "1", "--all" }, "unknown option '--all'"))
  end)

  it("upload files as multipart/form-data from NAME=@PATH", function()
    local path = temp_file("hello from the CLI\n")
    local name = path:match("([^/]+)$")
    local r = run{ "files", "upload-file", "pathToStore=/docs",
                   "content=@" .. path .. ";type=text/plain" }
    assert(r.code == 0 or r.code == 1, show(r))
    local sent = sandbox.last("POST /fm/public/v1/file")
    assert.truthy(sent.content_type:find("^multipart/form%-data; boundary="), sent.content_type)
    assert.truthy(has(sent.body, 'name="content[]"; filename="' .. name .. '"'), sent.body)
    assert.truthy(has(sent.body, "Content-Type: text/plain"), sent.body)
    assert.truthy(has(sent.body, "hello from the CLI\n"), sent.body)
    assert.truthy(has(sent.body, 'name="pathToStore"'), sent.body)
    -- files[] is also files; several files make several parts
    r = run{ "crm", "upload-files", "files[]=@" .. path, "files=@" .. path }
    assert(r.code == 0 or r.code == 1, show(r))
    local _, parts = sandbox.last("POST /crm/v1/files/upload").body
      :gsub('name="files%[%]"; filename=', "")
    assert.equal(2, parts)
    os.remove(path)
    local before = sandbox.stats().total
    assert.equal("sendpulse: content[]: cannot read '/nonexistent/report.pdf': No such file "
                 .. "or directory\n",
                 refused{ "files", "upload-file", "pathToStore=/x",
                          "content=@/nonexistent/report.pdf" })
    assert.equal(before, sandbox.stats().total)
  end)

  it("print a file answer as it came", function()
    local bytes = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
    sandbox.fault{ path = "/verifier-service/get-report", status = 200, body = bytes,
                   headers = { ["Content-Type"] = "application/pdf" } }
    local r = ok{ "verifier", "download-report", "id=1000001" }
    assert.equal(bytes, r.out)
    assert.equal("id=1000001", sandbox.last("GET /verifier-service/get-report").query)
  end)

  it("-v shows their requests as any other's", function()
    local r = run{ "crm", "get-deal", "42", "-v" }
    assert.equal(1, r.code)
    local shown = lines(r.err)
    assert.truthy(shown[1]:find("^sendpulse: POST /oauth/access_token %(token%): 200, "),
                  r.err)
    assert.truthy(shown[2]:find("^sendpulse: GET /crm/v1/deals/42: 404, [%d.]+ ms, "
                                .. "attempt 1$"), r.err)
    assert.falsy(has(r.err, sandbox.client_secret))
  end)

  it("have help pages: the operations of a group, the parameters of each", function()
    for _, g in ipairs(REGISTRY.groups) do
      if g.service then
        local page = ok{ g.name, "--help" }.out
        for _, c in ipairs(g.commands) do
          assert(page:find("\n  " .. c.name:gsub("%-", "%%-") .. "[ \n]"), g.name .. ": " .. c.name)
        end
      end
    end
    local pages = 0
    for _, c in ipairs(REGISTRY:all_commands()) do
      if c.op then
        pages = pages + 1
        local words = lines(c.path:gsub(" ", "\n"))
        local page = ok(copy(words, "--help")).out
        assert(page:find("^usage: sendpulse " .. c.path:gsub("%-", "%%-") .. "[ \n]"), page)
        assert(has(page, "\nCalls client"), page)
        assert(page:find("\nExample:\n  sendpulse " .. c.path:gsub("%-", "%%-")), page)
        for _, p in ipairs(c.params) do
          local row = page:match("\n  (" .. p.name:gsub("%p", "%%%0") .. "[=:][^\n]*)")
          assert(row, c.path .. ": no parameter " .. p.name .. "\n" .. page)
        end
        for line in page:gmatch("[^\n]+") do
          assert(#line <= 79, c.path .. ": line longer than 79 columns: " .. line)
        end
        assert.equal(page, ok(copy({ "help" }, words[1], words[2])).out)
      end
    end
    assert.is_true(pages > 500, pages .. " pages")
    -- required ones marked, types, enum values
    local page = ok{ "crm", "create-deal", "--help" }.out
    assert.truthy(page:gsub("\n       ", " ")
                    :find("^usage: sendpulse crm create%-deal pipelineId=N stepId=N "
                          .. "%[NAME=VALUE | NAME:=JSON ...%] %[%-%-json BODY%]\n"), page)
    assert.truthy(page:find("\n  pipelineId=N +integer, in the body, required\n"), page)
    assert.truthy(page:find("\n  contact=N... +list of integer, in the body, may be "
                            .. "repeated\n"), page)
    assert.truthy(page:find("Calls client.crm:create_deal%(args%): POST /crm/v1/deals."), page)
    page = ok{ "help", "telegram", "get-chat-messages" }.out
    assert.truthy(page:find('\n  order=asc|desc +one of "asc" or "desc", in the query\n'), page)
    assert.truthy(page:find("\n  %-%-all +fetch every page"), page)
    page = ok{ "files", "upload-file", "--help" }.out
    assert.truthy(page:find("\n  content%[%]=@FILE +list of file or string, in the body, "
                            .. "required"), page)
    assert.truthy(page:find("multipart/form%-data"), page)
    assert.equal(0, sandbox.stats().total)
  end)

  it("have examples that make their requests", function()
    local report = temp_file("%PDF-1.4\n")
    local ran, with_json = 0, 0
    for _, c in ipairs(REGISTRY:all_commands()) do
      if c.op then
        local argv = shell_words(c.example)
        table.remove(argv, 1)
        if has(c.example, "--json @args.json") then
          with_json = with_json + 1     -- a body of objects: no sample for it
        else
          for i, w in ipairs(argv) do
            argv[i] = w:gsub("=@report%.pdf$", "=@" .. report)
          end
          local r = run(copy(argv, "--dry-run"))
          assert(r.code == 0, c.example .. "\n" .. show(r))
          assert.equal(1, #r.json, c.example)
          assert.equal(c.op.verb, r.json[1].method, c.example)
          local pattern = "^" .. c.op.path:gsub("%p", "%%%0"):gsub("%%{[^}]+%%}", "[^/]+") .. "$"
          assert(r.json[1].path:find(pattern), c.example .. ": " .. r.json[1].path)
          ran = ran + 1
        end
      end
    end
    os.remove(report)
    assert.is_true(ran > 10 * with_json, ran .. " run, " .. with_json .. " with --json")
  end)

  it("hint at the name meant", function()
    assert.equal("sendpulse: unknown command 'crm create-dael'; did you mean 'create-deal'? "
                 .. "(sendpulse crm --help lists them)\n", refused{ "crm", "create-dael" })
    -- the method's name, as in the library
    assert.equal("sendpulse: unknown command 'crm create_deal'; did you mean 'create-deal'? "
                 .. "(sendpulse crm --help lists them)\n", refused{ "crm", "create_deal" })
    assert.equal("sendpulse: unknown command 'smtp smtp_sender_domains'; did you mean "
                 .. "'sender-domains'? (sendpulse smtp --help lists them)\n",
                 refused{ "smtp", "smtp_sender_domains" })
    assert.equal("sendpulse: unknown command 'cmr'; did you mean 'crm'? (sendpulse --help "
                 .. "lists them)\n", refused{ "cmr", "create-deal" })
    assert.equal("sendpulse: unknown command 'viber-bot'; did you mean 'viber-bots'? "
                 .. "(sendpulse --help lists them)\n", refused{ "viber-bot" })
  end)

  it("are completed by the shell scripts", function()
    local bash = ok{ "completion", "bash" }.out
    assert.truthy(bash:find("\n    'crm'%) REPLY='[^']*create%-deal[^']*' ;;"), "crm words")
    assert.truthy(has(bash, "\n    'crm create-deal') REPLY='pipelineId= stepId= attachments= "
                            .. "attributes:= contact= currency= name= price= responsibleId= "
                            .. "sourceId=' ;;"), "crm create-deal parameters")
    assert.truthy(has(bash, "\n    'telegram get-chats') REPLY='--all --max' ;;"), "--all")
    assert.truthy(bash:find("\n    'smtp'%) REPLY='[^']*sender%-domains[^']*' ;;"), "flat")
    local fish = ok{ "completion", "fish" }.out
    assert.truthy(has(fish, "complete -c sendpulse -n '__sendpulse_at \\'whatsapp\\'' "
                            .. "-a 'send-template-by-phone' -d "), "fish")
    local zsh = ok{ "completion", "zsh" }.out
    assert.truthy(has(zsh, "'live-chat') reply=("), "zsh")
  end)

  it("load only the tables a command needs", function()
    -- a fresh interpreter per command line: which sendpulse.api.* it loaded
    local script = temp_file([[
      package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
      package.cpath = "./build/?.so;" .. package.cpath
      local out = io.tmpfile()
      require("sendpulse.cli").main(arg, { env = { SENDPULSE_CONFIG = "/nonexistent" },
                                           stdout = out, stderr = out, stdin = io.tmpfile() })
      local loaded = {}
      for name in pairs(package.loaded) do
        local t = name:match("^sendpulse%.api%.(.+)$")
        if t then
          loaded[#loaded + 1] = t
        end
      end
      table.sort(loaded)
      io.write(table.concat(loaded, " "))
    ]])
    local function tables(argv)
      local p = io.popen("lua5.4 " .. script .. " " .. table.concat(argv, " "))
      local s = p:read("*a")
      p:close()
      return s
    end
    assert.equal("index", tables{ "--version" })
    assert.equal("index", tables{ "user-info", "--dry-run" })
    assert.equal("index", tables{ "smtp", "send", "--help" })
    assert.equal("help index smtp", tables{ "smtp", "--help" })
    assert.equal("crm help index", tables{ "crm", "get-deal", "1", "--dry-run" })
    assert.equal("help index telegram", tables{ "telegram", "--help" })
    local every = tables{ "commands" }
    for _, ns in ipairs(services.names()) do
      assert.truthy(has(" " .. every .. " ", " " .. ns .. " "), ns)
    end
    os.remove(script)
  end)
end)
