-- The command-line tool run inside this process (sendpulse.cli.main),
-- with its streams and environment replaced, against the sandbox:
-- output formats, --all printed as it arrives, --dry-run, -v, profiles,
-- configure.
local sendpulse = require "sendpulse"
local cli = require "sendpulse.cli"
local sandbox = require "support.sandbox"

local json = sendpulse.json

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function spit(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function read_back(f)
  f:seek("set")
  local s = f:read("*a")
  f:close()
  return s
end

-- The default environment: OAuth credentials, the sandbox, no
-- configuration file.
local function default_env()
  return {
    SENDPULSE_CLIENT_ID = sandbox.client_id,
    SENDPULSE_CLIENT_SECRET = sandbox.client_secret,
    SENDPULSE_BASE_URL = sandbox.url,
    SENDPULSE_CA_FILE = sandbox.ca,
    SENDPULSE_CONFIG = "/nonexistent/sendpulse-config",
  }
end

-- Runs the tool: {code, out, err, json}. opts.env changes the
-- environment (false removes), opts.stdin is its input, opts.stdout a
-- file to write to, opts.terminal / opts.registry as sendpulse.cli.main.
local function run(argv, opts)
  opts = opts or {}
  local env = default_env()
  for k, v in pairs(opts.env or {}) do
    env[k] = v or nil
  end
  local stdin = io.tmpfile()
  stdin:write(opts.stdin or "")
  stdin:seek("set")
  local out, err = opts.stdout or io.tmpfile(), io.tmpfile()
  local code = cli.main(argv, { env = env, stdin = stdin, stdout = out, stderr = err,
                                terminal = opts.terminal, registry = opts.registry })
  stdin:close()
  local r = { code = code, err = read_back(err) }
  if not opts.stdout then
    r.out = read_back(out)
    r.json = r.out ~= "" and json.decode(r.out) or nil
  end
  return r
end

local function show(r)
  return ("exit %s\n--- stdout\n%s--- stderr\n%s"):format(tostring(r.code), r.out or "", r.err)
end

local function ok(argv, opts)
  local r = run(argv, opts)
  assert(r.code == 0, show(r))
  return r
end

local function has(s, part)
  return s:find(part, 1, true) ~= nil
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do
    out[#out + 1] = l
  end
  return out
end

local function new_books(n)
  for i = 1, n do
    ok{ "address-books", "create", "Book " .. i }
  end
end

describe("sendpulse.cli.main #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  describe("--output", function()
    it("json (the default), ndjson, table and csv", function()
      new_books(2)
      local r = ok{ "address-books", "list" }
      assert.equal("Book 1", r.json[1].name)
      local nd = lines(ok{ "address-books", "list", "--output", "ndjson" }.out)
      assert.equal(2, #nd)
      assert.equal("Book 2", json.decode(nd[2]).name)
      local t = lines(ok{ "address-books", "list", "-o", "table" }.out)
      assert.equal(3, #t)
      assert.truthy(t[1]:find("^id +name +active_email_qty"), t[1])
      assert.truthy(t[2]:find("^1000001  Book 1  "), t[2])
      local c = ok{ "address-books", "list", "--output=csv" }.out
      assert.truthy(c:find("^id,name,active_email_qty,[%w_,]+\r\n1000001,Book 1,"), c)
      -- an object: key/value lines; ndjson: one line
      assert.truthy(ok{ "user-info", "-o", "table" }.out:find("\nname +Frodo Baggins\n"))
      assert.equal(1, #lines(ok{ "user-info", "-o", "ndjson" }.out))
    end)

    it("comes from SENDPULSE_OUTPUT too, the option winning; a bad one is a usage error",
       function()
      new_books(1)
      assert.equal(1, #lines(ok({ "address-books", "list" },
                                { env = { SENDPULSE_OUTPUT = "ndjson" } }).out))
      assert.equal("Book 1", ok({ "address-books", "list", "-o", "json" },
                                { env = { SENDPULSE_OUTPUT = "csv" } }).json[1].name)
      local r = run({ "address-books", "list" }, { env = { SENDPULSE_OUTPUT = "yaml" } })
      assert.equal(2, r.code)
      assert.equal("sendpulse: SENDPULSE_OUTPUT: one of json, ndjson, table, csv expected, "
                   .. "got 'yaml'\n", r.err)
      r = run{ "user-info", "-o", "yaml" }
      assert.equal("sendpulse: --output: one of json, ndjson, table, csv expected, got "
                   .. "'yaml'\n", r.err)
    end)
  end)

  describe("--all", function()
    it("prints each item as it arrives, before the next page is asked for", function()
      new_books(3)
      -- a standard output that notes how many pages were asked for when
      -- each piece arrived
      local out = { parts = {} }
      function out:write(s)
        self.parts[#self.parts + 1] = { s, sandbox.count("GET /addressbooks") }
      end
      function out.flush() end
      local r = run({ "address-books", "list", "--all", "--limit", "1", "-o", "ndjson" },
                    { stdout = out })
      assert.equal(0, r.code, r.err)
      assert.equal(3, #out.parts)
      assert.equal("Book 1", json.decode(out.parts[1][1]).name)
      assert.equal(1, out.parts[1][2])
      assert.equal(2, out.parts[2][2])
      assert.is_true(out.parts[3][2] >= 3)
    end)

    it("prints the same JSON as the whole list would be", function()
      new_books(3)
      local whole = ok{ "address-books", "list" }.out
      assert.equal(whole, ok{ "address-books", "list", "--all", "--limit", "1" }.out)
      assert.equal(ok{ "address-books", "list", "--raw" }.out,
                   ok{ "address-books", "list", "--all", "--limit", "2", "--raw" }.out)
    end)

    it("keeps what was printed when a page fails, the JSON left open, and exits 1", function()
      new_books(3)
      sandbox.fault{ path = "/addressbooks", method = "GET", action = "pass" }
      sandbox.fault{ path = "/addressbooks", method = "GET", status = 500, times = -1,
                     body = { error_code = 500, message = "Internal error" } }
      local r = run{ "address-books", "list", "--all", "--limit", "1" }
      assert.equal(1, r.code)
      assert.truthy(r.out:find('^%[\n  {\n.-"name": "Book 1"'), r.out)
      assert.is_nil(json.decode(r.out))
      assert.truthy(r.err:find("^sendpulse http error") or r.err:find("^sendpulse api error"),
                    r.err)
      assert.equal(1, #lines(r.err))
    end)

    it("counts the items on standard error when it is a terminal", function()
      new_books(2)
      local r = ok({ "address-books", "list", "--all", "--limit", "1" },
                   { terminal = { [2] = true } })
      assert.truthy(r.err:find("^\rfetched 1 item"), r.err)
      assert.truthy(r.err:find("\r\27%[K$"), r.err)
      assert.equal(2, #r.json)
      assert.equal("", ok{ "address-books", "list", "--all", "--limit", "1" }.err)
    end)
  end)

  describe("--dry-run", function()
    it("prints the requests that would be made and sends nothing", function()
      local r = ok{ "campaigns", "create", "--sender-name", "Shire Post", "--sender-email",
                    "post@shire.me", "--subject", "News", "--html", "<h1>News</h1>", "--book",
                    "1000001", "--dry-run" }
      assert.equal(1, #r.json)
      local req = r.json[1]
      assert.equal("POST", req.method)
      assert.equal("/campaigns", req.path)
      assert.equal("News", req.body.subject)
      assert.equal(1000001, req.body.list_id)
      r = ok{ "smtp", "send", "--from", "shop@shire.me", "--to", "frodo@shire.me", "--subject",
              "S", "--text", "hi", "--dry-run", "-o", "ndjson" }
      req = json.decode(r.out)
      assert.same({ "POST", "/smtp/emails", "hi" }, { req.method, req.path, req.body.email.text })
      r = ok{ "sms", "send", "--sender", "Shop", "--body", "Code 1234", "--to", "380501234567",
              "--dry-run" }
      assert.equal("/sms/send", r.json[1].path)
      r = ok{ "delete", "/senders", "email=post@shire.me", "--dry-run" }
      assert.same({ { method = "DELETE", path = "/senders", body = { email = "post@shire.me" } } },
                  r.json)
      r = ok{ "get", "/addressbooks", "limit=5", "--dry-run" }
      assert.same({ { method = "GET", path = "/addressbooks", query = { limit = "5" } } }, r.json)
      assert.equal(0, sandbox.stats().total)
      assert.equal(0, sandbox.token_requests())
    end)

    it("needs no credentials and never prints any", function()
      local r = ok({ "address-books", "add", "1000001", "frodo@shire.me", "--dry-run" },
                   { env = { SENDPULSE_CLIENT_ID = false, SENDPULSE_CLIENT_SECRET = false } })
      assert.equal("/addressbooks/1000001/emails", r.json[1].path)
      r = ok{ "address-books", "add", "1000001", "frodo@shire.me", "--dry-run" }
      assert.falsy(has(r.out .. r.err, sandbox.client_secret))
      assert.falsy(has(r.out .. r.err, sandbox.client_id))
      assert.equal(0, sandbox.stats().total)
    end)

    it("still refuses a bad command line", function()
      local r = run{ "campaigns", "create", "--subject", "x", "--dry-run" }
      assert.equal(2, r.code)
      assert.equal("sendpulse: missing --sender-name\n", r.err)
    end)
  end)

  describe("-v", function()
    it("shows each request on standard error, without secrets", function()
      local r = ok{ "user-info", "-v" }
      assert.equal("Frodo Baggins", r.json.name)
      -- one line per HTTP request: the token fetch, then the call
      local shown = lines(r.err)
      assert.equal(2, #shown, r.err)
      assert.truthy(shown[1]:find("^sendpulse: POST /oauth/access_token %(token%): 200, "
                                  .. "[%d.]+ ms, attempt 1$"), shown[1])
      assert.truthy(shown[2]:find("^sendpulse: GET /user/info: 200, [%d.]+ ms, attempt 1$"),
                    shown[2])
      r = run({ "address-books", "get", "999" }, { env = { SENDPULSE_DEBUG = "http" } })
      assert.equal(1, r.code)
      shown = lines(r.err)
      assert.truthy(shown[#shown - 1]:find("^sendpulse: GET /addressbooks/999: 404, "
                                           .. "[%d.]+ ms, attempt 1$"), shown[#shown - 1])
      assert.truthy(shown[#shown]:find("^sendpulse api error 213"), shown[#shown])
      -- each attempt of a retried request has its line
      sandbox.fault{ path = "/user/info", status = 503 }
      r = ok({ "user-info", "-v" })
      shown = lines(r.err)
      assert.truthy(shown[#shown - 1]:find("^sendpulse: GET /user/info: 503, .*attempt 1$"),
                    r.err)
      assert.truthy(shown[#shown]:find("^sendpulse: GET /user/info: 200, .*attempt 2$"), r.err)
      for _, secret in ipairs{ sandbox.client_secret, "SANDBOXTOKEN", "Bearer" } do
        assert.falsy(has(r.err, secret), secret)
      end
    end)

    it("formats what the client's hook reports", function()
      local line = require("sendpulse.cli.session").request_line
      assert.equal("sendpulse: POST /oauth/access_token (token): 200, 12.5 ms, attempt 1\n",
                   line{ method = "POST", path = "/oauth/access_token", status = 200,
                         seconds = 0.0125, attempt = 1, token = true })
      assert.equal("sendpulse: GET /x: 503 (http error), 1.0 ms, attempt 3\n",
                   line{ method = "GET", path = "/x", status = 503, kind = "http", code = 503,
                         seconds = 0.001, attempt = 3 })
      assert.equal("sendpulse: GET /x: no response (timeout error 28), 500.0 ms, attempt 1\n",
                   line{ method = "GET", path = "/x", kind = "timeout", code = 28,
                         seconds = 0.5, attempt = 1 })
    end)
  end)

  describe("profiles", function()
    local dir, path
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -m 700 '" .. dir .. "'"))
      path = dir .. "/config"
    end)
    after_each(function()
      os.execute("rm -rf '" .. dir .. "'")
    end)

    local function write_config(text, mode)
      spit(path, text)
      os.execute("chmod " .. (mode or "600") .. " '" .. path .. "'")
    end

    local NO_ENV = { SENDPULSE_CLIENT_ID = false, SENDPULSE_CLIENT_SECRET = false,
                     SENDPULSE_BASE_URL = false, SENDPULSE_CA_FILE = false }

    local function env(extra)
      local e = { SENDPULSE_CONFIG = path }
      for k, v in pairs(NO_ENV) do
        e[k] = v
      end
      for k, v in pairs(extra or {}) do
        e[k] = v
      end
      return e
    end

    local function profile(name, fields)
      local out = { "[" .. name .. "]" }
      for k, v in pairs(fields) do
        out[#out + 1] = k .. " = " .. v
      end
      return table.concat(out, "\n") .. "\n"
    end

    local GOOD = { client_id = sandbox.client_id, client_secret = sandbox.client_secret,
                   base_url = sandbox.url, ca_file = sandbox.ca }

    it("the default profile, another by --profile or SENDPULSE_PROFILE", function()
      write_config(profile("default", GOOD) .. profile("key", { api_key = sandbox.api_key,
                                                                base_url = sandbox.url,
                                                                ca_file = sandbox.ca }))
      assert.equal("Frodo Baggins", ok({ "user-info" }, { env = env() }).json.name)
      assert.equal(1, sandbox.token_requests())
      ok({ "--profile", "key", "user-info" }, { env = env() })
      ok({ "user-info" }, { env = env{ SENDPULSE_PROFILE = "key" } })
      assert.equal(1, sandbox.token_requests())    -- the API key needs no token
      local r = run({ "user-info", "--profile", "nope" }, { env = env() })
      assert.equal(2, r.code)
      assert.equal("sendpulse: --profile: no profile 'nope' in " .. path .. " (sendpulse "
                   .. "configure --profile nope creates it)\n", r.err)
    end)

    it("the command line, then the environment, then the profile", function()
      write_config(profile("default", GOOD))
      -- the environment's base URL wins over the default profile's...
      local r = run({ "user-info" }, { env = env{ SENDPULSE_BASE_URL = "https://127.0.0.1:1" } })
      assert.equal(1, r.code)
      assert.truthy(r.err:find("^sendpulse transport error 7"), r.err)
      -- ... and --base-url over both
      ok({ "user-info", "--base-url", sandbox.url },
         { env = env{ SENDPULSE_BASE_URL = "https://127.0.0.1:1" } })
      -- the environment's credentials, taken whole, over the profile's
      r = run({ "user-info" }, { env = env{ SENDPULSE_CLIENT_ID = sandbox.client_id,
                                            SENDPULSE_CLIENT_SECRET = "wrong-secret" } })
      assert.equal(1, r.code)
      assert.truthy(r.err:find("^sendpulse auth error"), r.err)
      -- a profile named on the command line wins over the environment
      ok({ "user-info", "--profile", "default" },
         { env = env{ SENDPULSE_CLIENT_ID = sandbox.client_id,
                      SENDPULSE_CLIENT_SECRET = "wrong-secret",
                      SENDPULSE_BASE_URL = "https://127.0.0.1:1" } })
    end)

    it("output, timeout and token_dir from a profile", function()
      local tokens = dir .. "/tokens"
      local fields = { output = "ndjson", timeout = "10", token_dir = tokens }
      for k, v in pairs(GOOD) do
        fields[k] = v
      end
      write_config(profile("default", fields))
      new_books(2)
      local before = sandbox.token_requests()
      assert.equal(2, #lines(ok({ "address-books", "list" }, { env = env() }).out))
      ok({ "user-info" }, { env = env() })
      -- one token, kept in token_dir between runs
      assert.equal(before + 1, sandbox.token_requests())
      write_config(profile("default", { timeout = "soon", api_key = "profile-key" }))
      local r = run({ "user-info" }, { env = env() })
      assert.equal(2, r.code)
      assert.equal("sendpulse: timeout in profile 'default' (" .. path .. "): a number of "
                   .. "seconds expected, got 'soon'\n", r.err)
    end)

    it("refuses a file others may read, and half credentials", function()
      write_config(profile("default", GOOD), "644")
      local r = run({ "user-info" }, { env = env() })
      assert.equal(2, r.code)
      assert.equal("sendpulse: " .. path .. ": refused: other users may read it (mode "
                   .. "rw-r--r--); it holds credentials: run 'chmod 600 " .. path .. "'\n",
                   r.err)
      assert.equal(0, sandbox.stats().total)
      write_config("[default]\nclient_id = x\n")
      r = run({ "user-info" }, { env = env() })
      assert.equal("sendpulse: profile 'default' (" .. path .. ") has client_id but no "
                   .. "client_secret\n", r.err)
      -- help and usage errors do not read it
      write_config("garbage\n", "644")
      ok({ "address-books", "--help" }, { env = env() })
    end)
  end)

  describe("configure", function()
    local dir, path
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      path = dir .. "/sendpulse/config"
    end)
    after_each(function()
      os.execute("rm -rf '" .. dir .. "'")
    end)

    it("writes a profile from standard input, mode 0600, and it works", function()
      local env = { XDG_CONFIG_HOME = dir, SENDPULSE_CONFIG = false, SENDPULSE_CLIENT_ID = false,
                    SENDPULSE_CLIENT_SECRET = false, SENDPULSE_BASE_URL = false,
                    SENDPULSE_CA_FILE = false }
      local r = ok({ "configure", "--base-url", sandbox.url, "--ca-file", sandbox.ca },
                   { env = env,
                     stdin = sandbox.client_id .. "\n" .. sandbox.client_secret .. "\n" })
      assert.equal("", r.out)
      assert.equal("profile 'default' written to " .. path .. " (mode 0600)\n", r.err)
      local p = io.popen("stat -c %a '" .. path .. "' '" .. dir .. "/sendpulse'")
      assert.equal("600\n700\n", p:read("*a"))
      p:close()
      assert.truthy(has(slurp(path), "client_secret = " .. sandbox.client_secret))
      assert.equal("Frodo Baggins", ok({ "user-info" }, { env = env }).json.name)
      -- another profile, by API key; the first one is kept; empty answers keep values
      ok({ "configure", "--profile", "key", "--auth", "api-key" },
         { env = env, stdin = "some-key\n" })
      ok({ "configure" }, { env = env, stdin = "\n\n" })
      local text = slurp(path)
      assert.truthy(has(text, "[key]\napi_key = some-key\n"), text)
      assert.truthy(has(text, "client_id = " .. sandbox.client_id), text)
      assert.equal("Frodo Baggins", ok({ "user-info" }, { env = env }).json.name)
    end)

    it("refuses missing answers and a file others may read", function()
      local env = { SENDPULSE_CONFIG = dir .. "/config" }
      local r = run({ "configure" }, { env = env, stdin = "only-an-id\n" })
      assert.equal(2, r.code)
      assert.equal("sendpulse: configure: standard input ended before line 2 (SendPulse client "
                   .. "secret (not shown))\n", r.err)
      assert.is_nil(io.open(dir .. "/config"))
      os.execute("mkdir -p '" .. dir .. "' && touch '" .. dir .. "/config' && chmod 664 '"
                 .. dir .. "/config'")
      r = run({ "configure" }, { env = env, stdin = "a\nb\n" })
      assert.equal(2, r.code)
      assert.truthy(r.err:find("refused: other users may read it", 1, true), r.err)
    end)

    it("does not echo the secret typed on a terminal", function()
      if not os.execute("command -v script >/dev/null 2>&1") then
        pending("script(1) is not installed")
        return
      end
      os.execute("mkdir -m 700 '" .. dir .. "'")
      local fifo, out = dir .. "/in", dir .. "/out"
      assert(os.execute("mkfifo '" .. fifo .. "'"))
      -- script(1) runs the command on a pseudo-terminal fed from the fifo
      os.execute("SENDPULSE_CONFIG='" .. dir .. "/config' timeout 20 script -qec "
                 .. "'exec lua5.4 bin/sendpulse configure' /dev/null <'" .. fifo .. "' >'"
                 .. out .. "' 2>&1 &")
      local input = assert(io.open(fifo, "w"))
      local core = require "sendpulse.core"
      local function wait_for(text)
        for _ = 1, 400 do          -- at most 20 s
          local f = io.open(out, "rb")
          local s = f and f:read("*a") or ""
          if f then
            f:close()
          end
          if has(s, text) then
            return s
          end
          core.sleep(0.05)
        end
        error("no '" .. text .. "' in: " .. (slurp(out)))
      end
      wait_for("client id (Settings > API): ")
      input:write("tty-client-id\n")
      input:flush()
      -- the echo is off once the second prompt shows
      wait_for("client secret (not shown): ")
      input:write("tty-typed-secret\n")
      input:flush()
      local s = wait_for("written to")
      input:close()
      assert.truthy(has(s, "tty-client-id"), s)         -- the id is echoed
      assert.falsy(has(s, "tty-typed-secret"), s)       -- the secret is not
      assert.truthy(has(slurp(dir .. "/config"), "client_secret = tty-typed-secret"))
    end)
  end)
end)
