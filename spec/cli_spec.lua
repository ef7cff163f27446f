-- The `sendpulse` command (bin/sendpulse) against the sandbox. Every case
-- runs the command as a user would, `lua5.4 bin/sendpulse ...` from the
-- repository root, with its own environment, and looks at the exit
-- status, standard output, standard error and what reached the sandbox.
-- (Under LuaJIT too the command itself runs on lua5.4.)
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local sandbox = require "support.sandbox"

local json = sendpulse.json
local DATA = "spec/data/cli/"

local VARS = {
  "SENDPULSE_CLIENT_ID", "SENDPULSE_CLIENT_SECRET", "SENDPULSE_API_KEY",
  "SENDPULSE_BASE_URL", "SENDPULSE_CA_FILE", "SENDPULSE_TOKEN_DIR", "SENDPULSE_DEBUG",
  "SENDPULSE_CONFIG", "SENDPULSE_PROFILE", "SENDPULSE_OUTPUT", "XDG_CONFIG_HOME",
  -- the sanitizer run (make test-asan) must not leak into the command
  "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS",
}

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function spit(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- The default environment: OAuth credentials and the sandbox, and no
-- configuration file (not the one of whoever runs the specs).
local function default_env()
  return {
    SENDPULSE_CONFIG = "/nonexistent/sendpulse-config",
    SENDPULSE_CLIENT_ID = sandbox.client_id,
    SENDPULSE_CLIENT_SECRET = sandbox.client_secret,
    SENDPULSE_BASE_URL = sandbox.url,
    SENDPULSE_CA_FILE = sandbox.ca,
  }
end

-- Runs `lua5.4 bin/sendpulse ARGS...`. opts.env overrides the default
-- environment (false removes a variable), opts.stdin is fed to it,
-- opts.cmd replaces "lua5.4 bin/sendpulse". The environment goes through
-- a private file, so that no credential shows on a command line.
-- Returns {code, out, err, json}.
local function run(args, opts)
  opts = opts or {}
  local env = default_env()
  for k, v in pairs(opts.env or {}) do
    env[k] = v
  end
  local envfile, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  local lines = {}
  for _, name in ipairs(VARS) do
    lines[#lines + 1] = "unset " .. name
  end
  for k, v in pairs(env) do
    if v then
      lines[#lines + 1] = "export " .. k .. "=" .. q(v)
    end
  end
  spit(envfile, table.concat(lines, "\n") .. "\n")
  local input = "/dev/null"
  if opts.stdin then
    input = os.tmpname()
    spit(input, opts.stdin)
  end
  local words = {}
  for i, a in ipairs(args) do
    words[i] = q(a)
  end
  local cmd = "(. " .. envfile .. " && " .. (opts.cmd or "exec lua5.4 bin/sendpulse") .. " "
    .. table.concat(words, " ") .. ") <" .. input .. " >" .. out .. " 2>" .. err
    .. "; echo $?"
  local p = assert(io.popen(cmd))
  local code = tonumber(p:read("*a"))
  p:close()
  local r = { code = code, out = slurp(out), err = slurp(err) }
  os.remove(envfile)
  os.remove(out)
  os.remove(err)
  if input ~= "/dev/null" then
    os.remove(input)
  end
  if r.out ~= "" then
    r.json = json.decode(r.out)
  end
  return r
end

local function show(r)
  return ("exit %s\n--- stdout\n%s--- stderr\n%s"):format(tostring(r.code), r.out, r.err)
end

-- A success: exit 0 and, unless opts.stderr, nothing on stderr.
local function ok(args, opts)
  local r = run(args, opts)
  assert(r.code == 0, show(r))
  if not (opts and opts.stderr) then
    assert(r.err == "", "expected nothing on stderr, " .. show(r))
  end
  return r
end

-- A failure: the status, nothing on stdout, and (for exit 1) exactly one
-- line on stderr; returns that line.
local function fails(code, args, opts)
  local r = run(args, opts)
  assert(r.code == code, "expected exit " .. code .. ", " .. show(r))
  assert(r.out == "", "stdout must be empty on failure, " .. show(r))
  local first = r.err:match("^([^\n]*)\n")
  assert(first and first ~= "", "expected an error line, " .. show(r))
  if code == 1 then
    assert(r.err == first .. "\n", "expected one line on stderr, " .. show(r))
  end
  return first, r
end

local function requests(key)
  local out = {}
  for _, e in ipairs(sandbox.log()) do
    if e.method .. " " .. e.path == key then
      out[#out + 1] = e
    end
  end
  return out
end

local function last_request(key)
  local list = requests(key)
  return list[#list]
end

local function has(haystack, needle)
  return haystack:find(needle, 1, true) ~= nil
end

local function new_book(name)
  return ok{ "address-books", "create", name or "Customers", "--raw" }.json.id
end

local function contacts_by_email(id)
  local out = {}
  for _, c in ipairs(assert(sandbox.client():address_book_emails(id))) do
    out[c.email] = c.variables
  end
  return out
end

describe("the sendpulse command #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  describe("help", function()
    it("--help, -h and help print the same page, with exit codes and credentials", function()
      local r = ok({ "--help" }, { env = { SENDPULSE_CLIENT_ID = false,
                                           SENDPULSE_CLIENT_SECRET = false } })
      assert.truthy(r.out:find("^sendpulse: the SendPulse REST API"))
      for _, s in ipairs{ "usage: sendpulse", "Exit status:", "SENDPULSE_CLIENT_ID",
                          "SENDPULSE_CLIENT_SECRET", "SENDPULSE_API_KEY", "--base-url URL",
                          "--ca-file FILE", "--raw", "--client-secret or --api-key are refused",
                          "  1  the API refused", "  2  usage error" } do
        assert(has(r.out, s), "missing '" .. s .. "' in the help")
      end
      for _, g in ipairs{ "address-books", "emails", "blacklist", "verifier", "campaigns",
                          "templates", "senders", "webhooks", "smtp", "push", "sms",
                          "viber", "automation" } do
        assert(r.out:find("\n  " .. g:gsub("%-", "%%-") .. " "), "group " .. g .. " not listed")
      end
      assert.equal(r.out, ok{ "-h" }.out)
      assert.equal(r.out, ok{ "help" }.out)
      assert.equal(0, sandbox.stats().total)
    end)

    it("every group has a help page listing its commands; a group alone is a usage error",
       function()
      local commands = {}
      for path in ok{ "commands" }.out:gmatch("[^\n]+") do
        local g, c = path:match("^(%S+) (%S+)$")
        if g then
          commands[g] = commands[g] or {}
          table.insert(commands[g], c)
        end
      end
      local groups = 0
      for g, list in pairs(commands) do
        groups = groups + 1
        local page = ok{ g, "--help" }.out
        assert(page:find("^usage: sendpulse " .. g:gsub("%-", "%%-") .. " COMMAND"), page)
        for _, c in ipairs(list) do
          -- a long name has a line of its own
          assert(page:find("\n  " .. c:gsub("%-", "%%-") .. "[ \n]"), g .. " help lacks " .. c)
        end
        assert.equal(page, ok{ "help", g }.out)
        local line, r = fails(2, { g })
        assert.equal("sendpulse: missing a command after '" .. g .. "'", line)
        assert(has(r.err, "Commands:"), r.err)
      end
      assert.equal(25, groups)     -- 13 of the tool's, 12 of the services
    end)

    it("every command has a help page: usage, arguments, options, example, exit status",
       function()
      -- the commands of the operation tables: spec/cli_operations_spec.lua
      -- checks all of their pages (in-process: there are hundreds), these
      -- runs a sample of them
      local generated, sample = {}, {}
      for _, c in ipairs(require("sendpulse.cli").registry():all_commands()) do
        if c.op then
          generated[c.path] = true
          local g = c.group.name
          if not sample[g] then
            sample[g] = true
            generated[c.path] = false
          end
        end
      end
      local list = {}
      for path in ok{ "commands" }.out:gmatch("[^\n]+") do
        if not generated[path] then
          list[#list + 1] = path
        end
      end
      assert.is_true(#list >= 100, #list .. " commands")
      local seen = {}
      for _, path in ipairs(list) do
        seen[path] = true
        local args = {}
        for w in path:gmatch("%S+") do
          args[#args + 1] = w
        end
        args[#args + 1] = "--help"
        -- no credentials needed for help
        local r = ok(args, { env = { SENDPULSE_CLIENT_ID = false,
                                     SENDPULSE_CLIENT_SECRET = false } })
        local page = r.out
        assert(page:find("^usage: sendpulse " .. path:gsub("%-", "%%-")), page)
        assert(page:find("\nExamples?:\n  sendpulse ", 1), path .. ": no example\n" .. page)
        assert(has(page, "Global options:"), path)
        assert(has(page, "Exit status: 0 success, 1 API or network error, 2 usage error"), path)
        for line in page:gmatch("[^\n]+") do
          assert(#line <= 79, path .. ": line longer than 79 columns: " .. line)
        end
        -- `help COMMAND` gives the same page; -h works after the arguments
        table.remove(args)
        table.insert(args, 1, "help")
        assert.equal(page, ok(args).out)
      end
      -- the commands the issue asks for, and at least one per group
      for _, path in ipairs{ "user-info", "balance", "invited-users", "get", "post", "put",
                             "patch", "delete", "address-books list", "address-books create",
                             "address-books import", "smtp send" } do
        assert(seen[path], "no command " .. path)
      end
      assert.equal(0, sandbox.stats().total)
    end)

    it("documents arguments and options of a command", function()
      local page = ok{ "address-books", "import", "--help" }.out
      assert(page:find("^usage: sendpulse address%-books import ID FILE %[%-%-chunk N%]"), page)
      assert(page:find("\nArguments:\n  ID +the mailing list's id\n  FILE +the CSV file"), page)
      assert(page:find("\n  %-%-chunk N +contacts per request"), page)
      assert(page:find("\n  %-%-raw +print compact JSON"), page)
      page = ok{ "smtp", "send", "-h" }.out
      assert(page:find("\n  %-%-to ADDR +a recipient %(required, may be repeated%)"), page)
      assert(page:find("\n  %-%-attach FILE +a file to attach %(may be repeated%)"), page)
    end)
  end)

  describe("usage errors exit 2 with one line on stderr and send nothing", function()
    local function usage_error(args, expected)
      local line = fails(2, args)
      assert(has(line, expected), "expected '" .. expected .. "' in: " .. line)
      assert(line:find("^sendpulse: "), line)
      return line
    end

    it("unknown commands and options, with a suggestion", function()
      usage_error({ "adress-books", "list" }, "unknown command 'adress-books'; did you mean "
                                              .. "'address-books'?")
      usage_error({ "address-books", "lst" }, "did you mean 'list'?")
      usage_error({ "address-books", "list", "--limt", "3" }, "unknown option '--limt' for "
                                                             .. "'sendpulse address-books "
                                                             .. "list'; did you mean '--limit'?")
      usage_error({ "user-info", "-x" }, "unknown option '-x'")
      -- an option before the command is an option, not a command
      usage_error({ "--frobnicate", "prod", "user-info" }, "unknown option '--frobnicate'")
      usage_error({ "address-books", "--limit", "3", "list" },
                  "unknown option '--limit' (options of a command go after it")
      local line, r = fails(2, {})
      assert.equal("sendpulse: missing a command", line)
      assert(has(r.err, "usage: sendpulse"))
      assert.equal(0, sandbox.stats().total)
    end)

    it("missing, extra and malformed arguments", function()
      usage_error({ "address-books", "get" }, "missing ID (usage: sendpulse address-books get ID)")
      usage_error({ "address-books", "get", "abc" }, "ID: a positive integer expected, got 'abc'")
      usage_error({ "address-books", "get", "0" }, "ID: a positive integer expected")
      usage_error({ "address-books", "get", "1", "2" }, "unexpected argument '2'")
      usage_error({ "address-books", "list", "--limit" }, "--limit needs a value (N)")
      usage_error({ "address-books", "list", "--all=yes" }, "--all takes no value")
      usage_error({ "address-books", "list", "--max", "5" }, "--max goes with --all")
      usage_error({ "emails", "info", "frodo.shire.me" }, "EMAIL: not an email address: "
                                                         .. "'frodo.shire.me' (no @)")
      usage_error({ "smtp", "send", "--from", "a@shire.me", "--to", "b@shire.me" },
                  "missing --subject")
      usage_error({ "smtp", "send", "--from", "a@shire.me", "--to", "b@shire.me",
                    "--subject", "Hi" }, "give --html, --text or --template")
      usage_error({ "balance", "EUR", "--detail" }, "--detail takes no CURRENCY")
      usage_error({ "push", "set-state", "1", "maybe" }, "STATE: on or off expected")
      assert.equal(0, sandbox.stats().total)
    end)

    it("argument checks of the library are usage errors too", function()
      local line = usage_error({ "balance", "EURO" }, "bad argument 'currency' to balance")
      assert.falsy(has(line, "sendpulse: sendpulse"), line)
      assert.falsy(line:find("%.lua:%d+"), line)
      assert.equal(0, sandbox.stats().total)
    end)
  end)

  describe("credentials", function()
    it("refuses secrets on the command line, without repeating them", function()
      local cases = {
        { "--client-secret", "s3cr3t-value", "user-info" },
        { "user-info", "--client-secret=s3cr3t-value" },
        { "--api-key", "s3cr3t-value", "user-info" },
        { "address-books", "list", "--api_key=s3cr3t-value" },
        { "user-info", "--secret", "s3cr3t-value" },
        { "user-info", "--token=s3cr3t-value" },
        { "user-info", "--password", "s3cr3t-value" },
        { "--help", "--api-key", "s3cr3t-value" },
      }
      for _, args in ipairs(cases) do
        local line = fails(2, args)
        assert(line:find("^sendpulse: %-%-[%w_-]+ is refused: a secret on the command line "
                         .. "can be read by other users"), line)
        assert(has(line, "(ps, /proc)"), line)
        assert(line:find("set SENDPULSE_[A-Z_]+ in the environment instead"), line)
        assert.falsy(has(line, "s3cr3t"), line)
      end
      local line = fails(2, { "--client-id", "x", "user-info" })
      assert(has(line, "--client-id is refused: credentials are read from the environment only"),
             line)
      assert.equal(0, sandbox.stats().total)
    end)

    it("says which variables are missing", function()
      local line = fails(2, { "user-info" }, { env = { SENDPULSE_CLIENT_ID = false,
                                                       SENDPULSE_CLIENT_SECRET = false } })
      assert.equal("sendpulse: no credentials: set SENDPULSE_CLIENT_ID and "
                   .. "SENDPULSE_CLIENT_SECRET (SendPulse: Settings > API), or "
                   .. "SENDPULSE_API_KEY, in the environment, or run 'sendpulse configure'",
                   line)
      line = fails(2, { "user-info" }, { env = { SENDPULSE_CLIENT_SECRET = false } })
      assert.equal("sendpulse: SENDPULSE_CLIENT_ID is set but SENDPULSE_CLIENT_SECRET is not: "
                   .. "set both (or SENDPULSE_API_KEY)", line)
      line = fails(2, { "user-info" }, { env = { SENDPULSE_CLIENT_ID = "" } })
      assert(has(line, "SENDPULSE_CLIENT_SECRET is set but SENDPULSE_CLIENT_ID is not"), line)
      line = fails(2, { "user-info" }, { env = { SENDPULSE_API_KEY = sandbox.api_key } })
      assert(has(line, "both SENDPULSE_API_KEY and SENDPULSE_CLIENT_ID"), line)
      assert.equal(0, sandbox.stats().total)
    end)

    it("uses an API key from SENDPULSE_API_KEY, without a token request", function()
      local r = ok({ "user-info" }, { env = { SENDPULSE_CLIENT_ID = false,
                                              SENDPULSE_CLIENT_SECRET = false,
                                              SENDPULSE_API_KEY = sandbox.api_key } })
      assert.equal("Frodo Baggins", r.json.name)
      assert.equal(0, sandbox.token_requests())
      assert.equal("Bearer", last_request("GET /user/info").authorization_scheme)
    end)

    it("wrong credentials: exit 1 with the auth error", function()
      local line = fails(1, { "user-info" }, { env = { SENDPULSE_CLIENT_SECRET = "wrong-secret" } })
      assert.equal("sendpulse auth error: Client authentication failed "
                   .. "(POST /oauth/access_token, HTTP 401)", line)
    end)

    it("keeps the token between runs in SENDPULSE_TOKEN_DIR", function()
      local dir = os.tmpname()
      os.remove(dir)
      for _ = 1, 3 do
        ok({ "user-info" }, { env = { SENDPULSE_TOKEN_DIR = dir } })
      end
      assert.equal(1, sandbox.token_requests())
      assert.equal(3, sandbox.count("GET /user/info"))
      local p = io.popen("stat -c %a " .. q(dir) .. " " .. q(dir) .. "/*.token")
      local modes = p:read("*a")
      p:close()
      assert.equal("700\n600\n", modes)
      os.execute("rm -rf " .. q(dir))
    end)
  end)

  describe("output", function()
    it("pretty JSON: sorted keys, 2-space indent, exact integers, null", function()
      assert.equal(slurp(DATA .. "user_info.pretty.json"), ok{ "user-info" }.out)
      assert.equal(slurp(DATA .. "invited_users.pretty.json"), ok{ "invited-users" }.out)
    end)

    it("--raw: the same, compact on one line, before or after the command", function()
      assert.equal(slurp(DATA .. "user_info.raw.json"), ok{ "user-info", "--raw" }.out)
      assert.equal(slurp(DATA .. "invited_users.raw.json"), ok{ "--raw", "invited-users" }.out)
    end)

    it("empty lists as [], empty objects as {}", function()
      assert.equal("[]\n", ok{ "address-books", "list" }.out)
      assert.equal('{"emails":[],"found":0,"request_limit":100,"total":0}\n',
                   ok{ "smtp", "bounces", "--raw" }.out)
      local out = ok{ "smtp", "bounces" }.out
      assert.equal('{\n  "emails": [],\n  "found": 0,\n  "request_limit": 100,\n'
                   .. '  "total": 0\n}\n', out)
    end)
  end)

  describe("failures", function()
    it("an API error: exit 1, its one line on stderr, nothing on stdout", function()
      local line = fails(1, { "address-books", "get", "999" })
      assert.equal("sendpulse api error 213: Mailing list not found "
                   .. "(GET /addressbooks/999, HTTP 404)", line)
    end)

    it("a server error without a JSON error", function()
      sandbox.fault{ path = "/addressbooks", method = "POST", action = "html" }
      local line = fails(1, { "address-books", "create", "Broken" })
      assert(line:find("^sendpulse http error"), line)
      assert(has(line, "(POST /addressbooks, HTTP 502)"), line)
    end)

    it("transport and TLS failures, --base-url and --ca-file", function()
      local line = fails(1, { "--base-url", "https://127.0.0.1:1", "user-info" })
      assert(line:find("^sendpulse transport error 7: "), line)
      line = fails(1, { "user-info", "--ca-file", "/etc/ssl/certs/ca-certificates.crt" })
      assert(line:find("^sendpulse tls error 60: "), line)
      line = fails(2, { "user-info", "--ca-file", DATA .. "missing.pem" })
      assert.equal("sendpulse: --ca-file: cannot read the CA file 'spec/data/cli/missing.pem'",
                   line)
      line = fails(2, { "--base-url", "http://example.com", "user-info" })
      assert(has(line, "option 'base_url' must use https"), line)
      -- the options win over the environment
      line = fails(1, { "user-info" }, { env = { SENDPULSE_BASE_URL = "https://127.0.0.1:1" } })
      assert(line:find("^sendpulse transport error 7: "), line)
      assert.equal("Frodo Baggins", ok({ "user-info", "--base-url", sandbox.url },
                                       { env = { SENDPULSE_BASE_URL = "https://127.0.0.1:1" } })
                                       .json.name)
    end)

    it("--timeout #timing", function()
      sandbox.fault{ path = "/addressbooks", method = "POST", action = "pass", delay = 2 }
      local t0 = os.time()
      local line = fails(1, { "post", "/addressbooks", "bookName=Slow", "--timeout", "0.5" })
      assert(line:find("^sendpulse timeout error 28: "), line)
      assert.is_true(os.time() - t0 <= 2)
      fails(2, { "user-info", "--timeout", "soon" })
    end)
  end)

  describe("top-level commands", function()
    it("user-info, invited-users", function()
      assert.equal(7043663, ok{ "user-info" }.json.id)
      assert.equal(3, #ok{ "invited-users" }.json)
    end)

    it("balance [CURRENCY], balance --detail", function()
      assert.equal("USD", ok{ "balance" }.json.currency)
      assert.equal("EUR", ok{ "balance", "eur" }.json.currency)
      assert.equal(1, sandbox.count("GET /balance/EUR"))
      assert.equal("9.36", ok{ "balance", "--detail" }.json.balance.main)
    end)

    it("get PATH with key=value query parameters, or a query string", function()
      for i = 1, 3 do
        new_book("Book " .. i)
      end
      local r = ok{ "get", "/addressbooks", "limit=1", "offset=1" }
      assert.equal(1, #r.json)
      assert.equal("Book 2", r.json[1].name)
      assert.equal("limit=1&offset=1", last_request("GET /addressbooks").query)
      r = ok{ "get", "addressbooks?limit=2&offset=1" }
      assert.equal(2, #r.json)
      assert.equal("limit=2&offset=1", last_request("GET /addressbooks").query)
      ok{ "get", "/addressbooks", "ids=1", "ids=2", "name=a b&c" }
      assert.equal("ids%5B%5D=1&ids%5B%5D=2&name=a%20b%26c",
                   last_request("GET /addressbooks").query)
      fails(2, { "get", "/addressbooks", "limit" })
      fails(2, { "get", "https://api.sendpulse.com/addressbooks" })
    end)

    it("post with a body from @file, from stdin (-), inline, or NAME=VALUE pairs", function()
      assert.equal(1000001, ok{ "post", "/addressbooks", "@" .. DATA .. "book.json" }.json.id)
      assert.equal('{"bookName":"From a file"}', last_request("POST /addressbooks").body)
      local r = ok({ "post", "/addressbooks", "-" }, { stdin = '{"bookName": "From stdin"}' })
      assert.equal(1000002, r.json.id)
      assert.equal('{"bookName":"From stdin"}', last_request("POST /addressbooks").body)
      ok{ "post", "/addressbooks", '{"bookName": "Inline"}' }
      ok{ "post", "/addressbooks", "bookName=Pairs" }
      local names = {}
      for _, b in ipairs(assert(sandbox.client():address_books())) do
        names[#names + 1] = b.name
      end
      assert.same({ "From a file", "From stdin", "Inline", "Pairs" }, names)
      ok{ "post", "/addressbooks/1000004/emails", 'emails:=[{"email":"a@shire.me"}]' }
      assert.equal('{"emails":[{"email":"a@shire.me"}]}',
                   last_request("POST /addressbooks/1000004/emails").body)
    end)

    it("put, patch and delete", function()
      local id = new_book("Old")
      ok{ "address-books", "add", tostring(id), "frodo@shire.me" }
      ok{ "put", "/addressbooks/" .. id, '{"name": "New"}' }
      assert.equal("New", assert(sandbox.client():address_book(id)).name)
      local c = ok{ "campaigns", "create", "--sender-name", "Shire Post", "--sender-email",
                    "post@shire.me", "--subject", "News", "--html", "<h1>News</h1>", "--book",
                    tostring(id), "--send-date", "2040-01-01 10:00:00", "--raw" }.json
      ok{ "patch", "/campaigns/" .. c.id, "subject=Later news" }
      assert.equal('{"subject":"Later news"}', last_request("PATCH /campaigns/" .. c.id).body)
      assert.is_true(ok{ "delete", "/addressbooks/" .. id }.json.result)
      ok{ "senders", "add", "Shire Post", "post@shire.me" }
      ok{ "delete", "/senders", "email=post@shire.me" }
      assert.equal('{"email":"post@shire.me"}', last_request("DELETE /senders").body)
    end)

    it("bad bodies are usage errors", function()
      local line = fails(2, { "post", "/addressbooks", "@" .. DATA .. "bad.json" })
      assert(line:find("^sendpulse: spec/data/cli/bad%.json: invalid JSON: "), line)
      line = fails(2, { "post", "/addressbooks", "@" .. DATA .. "none.json" })
      assert.equal("sendpulse: BODY: cannot read 'spec/data/cli/none.json': "
                   .. "No such file or directory", line)
      line = fails(2, { "post", "/addressbooks", "-" }, { stdin = "[1," })
      assert(has(line, "standard input: invalid JSON"), line)
      fails(2, { "post", "/addressbooks", "42" })
      fails(2, { "post", "/addressbooks?x=1", "{}" })
      assert.equal(0, sandbox.stats().total)
    end)

    it("runs from any directory, and as an executable", function()
      local r = run({ "user-info", "--raw" },
                    { cmd = "cd spec/data/cli && exec lua5.4 ../../../bin/sendpulse" })
      assert.equal(0, r.code, show(r))
      assert.equal(slurp(DATA .. "user_info.raw.json"), r.out)
      r = run({ "--version" }, { cmd = "exec bin/sendpulse" })
      assert.equal(0, r.code, show(r))
      assert(r.out:find("^sendpulse %(lua%-sendpulse [%w.%-]+%)\n$"), r.out)
    end)
  end)

  describe("groups", function()
    it("address-books: create, list, get, rename, add, contacts, count, delete", function()
      local id = new_book("Customers")
      new_book("Suppliers")
      new_book("Friends")
      local r = ok{ "address-books", "list", "--limit", "2" }
      assert.equal(2, #r.json)
      r = ok{ "address-books", "list", "--all", "--limit", "1" }
      assert.equal(3, #r.json)
      assert.is_true(#requests("GET /addressbooks") >= 3)
      assert.equal(2, #ok{ "address-books", "list", "--all", "--max", "2" }.json)
      ok{ "address-books", "rename", tostring(id), "Clients" }
      assert.equal("Clients", ok{ "address-books", "get", tostring(id) }.json.name)
      ok{ "address-books", "add", tostring(id), "frodo@shire.me", "sam@shire.me",
          "--var", "city=Hobbiton" }
      assert.same({ ["frodo@shire.me"] = { city = "Hobbiton" },
                    ["sam@shire.me"] = { city = "Hobbiton" } }, contacts_by_email(id))
      assert.equal(2, ok{ "address-books", "count", tostring(id) }.json.total)
      assert.equal(2, #ok{ "address-books", "contacts", tostring(id), "--all" }.json)
      ok{ "address-books", "delete", tostring(id) }
      fails(1, { "address-books", "get", tostring(id) })
    end)

    it("emails: info", function()
      local id = new_book()
      ok{ "address-books", "add", tostring(id), "frodo@shire.me" }
      local r = ok{ "emails", "info", "frodo@shire.me" }
      assert.equal(id, r.json[1].book_id)
      assert.equal(1, sandbox.count("GET /emails/frodo%40shire.me"))
    end)

    it("blacklist: add, list, remove", function()
      ok{ "blacklist", "add", "saruman@isengard.org", "--comment", "traitor" }
      assert.same({ "saruman@isengard.org" }, ok{ "blacklist", "list" }.json)
      ok{ "blacklist", "remove", "saruman@isengard.org" }
      assert.equal("[]\n", ok{ "blacklist", "list", "--all" }.out)
    end)

    it("verifier: verify-email, email-result", function()
      ok{ "verifier", "verify-email", "frodo@shire.me" }
      local r = ok{ "verifier", "email-result", "frodo@shire.me" }
      assert.equal("frodo@shire.me", r.json.data.email)
    end)

    it("campaigns: create with an HTML file and an attachment, list", function()
      local id = new_book()
      ok{ "address-books", "add", tostring(id), "frodo@shire.me" }
      local r = ok{ "campaigns", "create", "--sender-name", "Shire Post", "--sender-email",
                    "post@shire.me", "--subject", "News", "--html", "@" .. DATA .. "message.html",
                    "--book", tostring(id), "--attach", DATA .. "attachment.bin" }
      local body = json.decode(last_request("POST /campaigns").body)
      assert.equal(slurp(DATA .. "message.html"), core.base64_decode(body.body))
      assert.equal(slurp(DATA .. "attachment.bin"),
                   core.base64_decode(body.attachments_binary["attachment.bin"]))
      assert.equal(r.json.id, ok{ "campaigns", "list" }.json[1].id)
      fails(2, { "campaigns", "create", "--sender-name", "S", "--sender-email", "post@shire.me",
                 "--subject", "News", "--html", "x", "--template", "1", "--book", "1" })
    end)

    it("templates: create from a file, get", function()
      local r = ok{ "templates", "create", "--name", "Welcome", "--html",
                    "@" .. DATA .. "message.html", "--lang", "en" }
      local t = ok{ "templates", "get", tostring(r.json.real_id) }.json
      assert.equal("Welcome", t.name)
      assert.equal(slurp(DATA .. "message.html"), core.base64_decode(t.body))
    end)

    it("senders: add, list", function()
      ok{ "senders", "add", "Shire Post", "post@shire.me" }
      assert.equal("post@shire.me", ok{ "senders", "list" }.json[1].email)
    end)

    it("webhooks: create, list", function()
      local r = ok{ "webhooks", "create", "https://example.com/hook", "open", "spam" }
      assert.equal(2, #r.json.data)
      assert.equal(2, #ok{ "webhooks", "list" }.json.data)
    end)

    it("smtp: send with attachments, recipients and files; list", function()
      local r = ok{ "smtp", "send", "--from", "shop@shire.me", "--from-name", "Shire Shop",
                    "--to", "Frodo Baggins <frodo@shire.me>", "--to", "sam@shire.me",
                    "--bcc", "\"Bilbo\" <bilbo@shire.me>", "--subject", "Your order",
                    "--html", "@" .. DATA .. "message.html", "--text", "@" .. DATA .. "message.txt",
                    "--attach", DATA .. "attachment.bin", "--attach", DATA .. "book.json" }
      assert.is_true(r.json.result)
      assert.equal("string", type(r.json.id))
      local sent = json.decode(last_request("POST /smtp/emails").body).email
      -- the attachments went base64-encoded, named after the files
      assert.equal(core.base64_encode(slurp(DATA .. "attachment.bin")),
                   sent.attachments_binary["attachment.bin"])
      assert.equal(core.base64_encode(slurp(DATA .. "book.json")),
                   sent.attachments_binary["book.json"])
      assert.equal(slurp(DATA .. "attachment.bin"),
                   core.base64_decode(sent.attachments_binary["attachment.bin"]))
      assert.equal(slurp(DATA .. "message.html"), core.base64_decode(sent.html))
      assert.equal(slurp(DATA .. "message.txt"), sent.text)
      assert.same({ name = "Shire Shop", email = "shop@shire.me" }, sent.from)
      assert.same({ { name = "Frodo Baggins", email = "frodo@shire.me" },
                    { email = "sam@shire.me" } }, sent.to)
      assert.same({ { name = "Bilbo", email = "bilbo@shire.me" } }, sent.bcc)
      assert.equal("Your order", sent.subject)
      assert.equal(r.json.id, ok{ "smtp", "list" }.json[1].id)
      -- from stdin, and mistakes
      ok({ "smtp", "send", "--from", "shop@shire.me", "--to", "frodo@shire.me", "--subject",
           "S", "--html", "@-" }, { stdin = "<p>stdin</p>" })
      sent = json.decode(last_request("POST /smtp/emails").body).email
      assert.equal("<p>stdin</p>", core.base64_decode(sent.html))
      local line = fails(2, { "smtp", "send", "--from", "shop@shire.me", "--to", "frodo@shire.me",
                              "--subject", "S", "--text", "t", "--attach", DATA .. "nope.pdf" })
      assert.equal("sendpulse: --attach: cannot read 'spec/data/cli/nope.pdf': No such file or "
                   .. "directory", line)
      line = fails(2, { "smtp", "send", "--from", "shop@shire.me", "--to", "Frodo <frodo>",
                        "--subject", "S", "--text", "t" })
      assert.equal("sendpulse: --to: not an email address: 'frodo' (no @)", line)
      assert.equal(2, sandbox.count("POST /smtp/emails"))
    end)

    it("push: websites", function()
      assert.equal(53, ok{ "push", "websites" }.json[1].id)
    end)

    it("sms: add-phones, phone", function()
      local id = new_book()
      ok{ "sms", "add-phones", tostring(id), "380501234567" }
      assert.equal("table", type(ok{ "sms", "phone", tostring(id), "380501234567" }.json.data))
    end)

    it("viber: senders, sender", function()
      local s = ok{ "viber", "senders" }.json[1]
      assert.equal(s.name, ok{ "viber", "sender", tostring(s.id) }.json.name)
    end)

    it("automation: event with NAME=VALUE and NAME:=JSON variables", function()
      ok{ "automation", "event", "order_placed", "--email", "frodo@shire.me", "order_id:=1234",
          "product=Ring", "tags:=[\"gold\",\"one\"]" }
      local body = json.decode(last_request("POST /events/name/order_placed").body)
      assert.same({ email = "frodo@shire.me", order_id = 1234, product = "Ring",
                    tags = { "gold", "one" } }, body)
      fails(2, { "automation", "event", "order_placed", "x=1" })
    end)
  end)

  describe("address-books import", function()
    it("imports a CSV with quoted fields and reports rejected rows by line", function()
      local id = new_book()
      local r = run{ "address-books", "import", tostring(id), DATA .. "contacts.csv" }
      assert.equal(0, r.code, show(r))
      local f = DATA .. "contacts.csv"
      local expected_err = table.concat({
        f .. ":5: rejected: not a valid email address 'not-an-email': no @",
        f .. ":6: rejected: no email address",
        f .. ":8: rejected: 3 fields where the header has 4",
        f .. ":9: rejected: the same email address as line 2",
        f .. ":10: rejected: not a valid email address 'gandalf@valinor': no dot in the domain",
        "imported 4/4",
        "imported 4 of 9 rows into mailing list " .. id .. ", rejected 5 rows (lines 5-6, 8-10)",
      }, "\n") .. "\n"
      assert.equal(expected_err, r.err)
      assert.same({ address_book_id = id, rows = 9, imported = 4, requests = 1, rejected = {
        { line = 5, reason = "not a valid email address 'not-an-email': no @" },
        { line = 6, reason = "no email address" },
        { line = 8, reason = "3 fields where the header has 4" },
        { line = 9, reason = "the same email address as line 2" },
        { line = 10, reason = "not a valid email address 'gandalf@valinor': no dot in the domain" },
      } }, r.json)
      assert.same({
        ["frodo@shire.me"] = { Name = "Frodo Baggins", Note = 'has the ring, "precious"',
                               City = "Hobbiton" },
        ["sam@shire.me"] = { Name = "Sam", Note = "line one\nline two", City = "Hobbiton" },
        ["merry@shire.me"] = { Name = "Merry", City = "Buckland" },
        ["bilbo@shire.me"] = { Name = "Bilbo", Note = 'say "hi", then "bye"',
                               City = "Bag End, Hobbiton" },
      }, contacts_by_email(id))
      assert.equal(1, sandbox.count("POST /addressbooks/" .. id .. "/emails"))
    end)

    it("imports in chunks with progress lines when stderr is not a terminal", function()
      local id = new_book()
      local r = ok({ "address-books", "import", tostring(id), DATA .. "chunked.csv",
                     "--chunk", "2", "--concurrency", "1" }, { stderr = true })
      assert.equal("imported 2/5\nimported 4/5\nimported 5/5\nimported 5 of 5 rows into "
                   .. "mailing list " .. id .. ", rejected 0 rows\n", r.err)
      assert.equal(5, r.json.imported)
      assert.equal(3, r.json.requests)
      assert.equal(3, sandbox.count("POST /addressbooks/" .. id .. "/emails"))
      local chunks = requests("POST /addressbooks/" .. id .. "/emails")
      assert.same({ emails = { { email = "hobbit5@shire.me",
                                 variables = { name = "Hobbit 5" } } } },
                  json.decode(chunks[3].body))
      assert.equal(5, ok{ "address-books", "count", tostring(id) }.json.total)
    end)

    it("draws a progress bar with --progress bar (the default on a terminal)", function()
      local id = new_book()
      local r = ok({ "address-books", "import", tostring(id), DATA .. "chunked.csv",
                     "--chunk", "2", "--concurrency", "1", "--progress", "bar" }, { stderr = true })
      assert(has(r.err, "\rimporting [..............................]   0%  0/5"), r.err)
      assert(has(r.err, "\rimporting [############..................]  40%  2/5"), r.err)
      assert(has(r.err, "\rimporting [##############################] 100%  5/5\nimported 5 of 5"),
             r.err)
      r = ok({ "address-books", "import", tostring(id), DATA .. "chunked.csv", "--progress",
               "none" }, { stderr = true })
      assert.equal("imported 5 of 5 rows into mailing list " .. id .. ", rejected 0 rows\n",
                   r.err)
    end)

    it("reports the rows not imported when a request fails part-way", function()
      local id = new_book()
      local path = "/addressbooks/" .. id .. "/emails"
      sandbox.fault{ path = path, method = "POST", action = "pass" }
      sandbox.fault{ path = path, method = "POST", status = 500,
                     body = { error_code = 500, message = "Internal error" } }
      local failed = os.tmpname()
      local r = run{ "address-books", "import", tostring(id), DATA .. "chunked.csv", "--chunk",
                     "2", "--concurrency", "1", "--failed", failed }
      assert.equal(1, r.code, show(r))
      -- the report still says what was imported and what was not
      assert.same({ address_book_id = id, rows = 5, imported = 2, requests = 1,
                    not_imported = { 4, 5, 6 }, rejected = {},
                    error = { kind = "api", code = 500, status = 500,
                              message = "chunk 2 of 3 (items 3-4) failed, 2 of 5 done: "
                                        .. "Internal error" } }, r.json)
      local lines = {}
      for l in r.err:gmatch("[^\n]+") do
        lines[#lines + 1] = l
      end
      assert.equal("imported 2/5", lines[1])
      assert(lines[2]:find("^sendpulse api error 500: chunk 2 of 3 %(items 3%-4%) failed, 2 of 5 "
                           .. "done: Internal error %(POST " .. path .. ", HTTP 500%)$"), lines[2])
      assert.equal(DATA .. "chunked.csv: not imported: 3 rows (lines 4-6)", lines[3])
      -- a 500: the server may have added the failed chunk's two all the same
      assert.equal(DATA .. "chunked.csv: 2 rows of them may have been processed all the "
                   .. "same (no answer, or a server error): look before importing them again",
                   lines[4])
      assert.equal("rows not imported written to " .. failed, lines[5])
      assert.equal("imported 2 of 5 rows into mailing list " .. id .. ", 3 not imported, "
                   .. "rejected 0 rows", lines[6])
      assert.equal("email,name\r\nhobbit3@shire.me,Hobbit 3\r\nhobbit4@shire.me,Hobbit 4\r\n"
                   .. "hobbit5@shire.me,Hobbit 5\r\n", slurp(failed))
      os.remove(failed)
      assert.equal(2, ok{ "address-books", "count", tostring(id) }.json.total)
    end)

    it("with chunks in flight at once, lists the rows of every chunk not done", function()
      local id = new_book()
      local path = "/addressbooks/" .. id .. "/emails"
      -- every chunk answered 500, whichever arrives first
      sandbox.fault{ path = path, method = "POST", status = 500, times = -1,
                     body = { error_code = 500, message = "Internal error" } }
      local r = run{ "address-books", "import", tostring(id), DATA .. "chunked.csv", "--chunk",
                     "2", "--concurrency", "3" }
      sandbox.clear_faults()
      assert.equal(1, r.code, show(r))
      assert.equal(0, r.json.imported)
      assert.equal(0, r.json.requests)
      assert.same({ 2, 3, 4, 5, 6 }, r.json.not_imported)
      assert(has(r.err, "chunked.csv: not imported: 5 rows (lines 2-6)\n"), r.err)
      assert(has(r.err, "chunked.csv: 5 rows of them may have been processed"), r.err)
      -- three chunks, all three sent: the first failure stops only chunks not started
      local posts = 0
      for _, e in ipairs(sandbox.log()) do
        if e.method == "POST" and e.path == path then
          posts = posts + 1
        end
      end
      assert.equal(3, posts)
    end)

    it("--dry-run sends nothing, --strict refuses a file with rejected rows (exit 4)",
       function()
      local r = ok({ "address-books", "import", "1000001", DATA .. "contacts.csv", "--dry-run" },
                   { stderr = true })
      assert.equal(4, r.json.valid)
      assert.equal(5, #r.json.rejected)
      assert.is_true(r.json.dry_run)
      -- the request it would make, with the four valid contacts
      assert.equal(1, #r.json.requests)
      assert.equal("POST", r.json.requests[1].method)
      assert.equal("/addressbooks/1000001/emails", r.json.requests[1].path)
      assert.equal(4, #r.json.requests[1].body.emails)
      assert.equal("frodo@shire.me", r.json.requests[1].body.emails[1].email)
      -- nor needs credentials
      r = ok({ "address-books", "import", "1000001", DATA .. "contacts.csv", "--dry-run" },
             { stderr = true, env = { SENDPULSE_CLIENT_ID = false,
                                      SENDPULSE_CLIENT_SECRET = false } })
      assert.equal(4, r.json.valid)
      local _, res = fails(4, { "address-books", "import", "1000001", DATA .. "contacts.csv",
                                "--strict" })
      assert(has(res.err, "sendpulse: spec/data/cli/contacts.csv: rejected 5 rows (lines 5-6, "
                         .. "8-10); nothing imported (--strict)\n"), res.err)
      _, res = fails(4, { "address-books", "import", "1000001", "-" },
                     { stdin = "email\nnot-an-address\n" })
      assert(has(res.err, "sendpulse: (standard input): no valid rows to import, rejected 1 row "
                          .. "(line 2)\n"), res.err)
      assert.equal(0, sandbox.stats().total)
    end)

    it("reads standard input, another delimiter, a byte order mark", function()
      local id = new_book()
      local r = ok({ "address-books", "import", tostring(id), "-" },
                   { stdin = "email\nfrodo@shire.me\n", stderr = true })
      assert.equal(1, r.json.imported)
      r = ok({ "address-books", "import", tostring(id), DATA .. "semicolon.csv",
               "--delimiter", ";" }, { stderr = true })
      assert.equal(1, r.json.imported)
      assert.same({ Name = "Rosie Cotton", Town = "Bywater; the Shire" },
                  contacts_by_email(id)["rosie@shire.me"])
    end)

    it("refuses files it cannot use", function()
      local line = fails(2, { "address-books", "import", "1", DATA .. "no_email.csv" })
      assert.equal("sendpulse: spec/data/cli/no_email.csv:1: no 'email' column in the header "
                   .. "(name, mail)", line)
      line = fails(2, { "address-books", "import", "1", "-" }, { stdin = "" })
      assert(has(line, "empty: a header row with an email column is expected"), line)
      line = fails(2, { "address-books", "import", "1", "-" }, { stdin = "email,name,email\n" })
      assert(has(line, "column 'email' appears twice in the header"), line)
      line = fails(2, { "address-books", "import", "1", DATA .. "missing.csv" })
      assert.equal("sendpulse: FILE: cannot read 'spec/data/cli/missing.csv': No such file or "
                   .. "directory", line)
      line = fails(2, { "address-books", "import", "1", "-", "--delimiter", "::" },
                   { stdin = "email\n" })
      assert(has(line, "--delimiter: one character expected"), line)
      assert.equal(0, sandbox.stats().total)
    end)
  end)
end)
