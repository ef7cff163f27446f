-- The configuration file of the command-line tool (sendpulse.cli.config):
-- its format, its updates, and the refusal of a file others may read. In
-- this process, on temporary files: no sandbox.
local config = require "sendpulse.cli.config"
local errors = require "sendpulse.cli.errors"
local sys = require "sendpulse.cli.sys"

local function refused(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected a usage error")
  assert(errors.is_failure(e), tostring(e))
  return e.message
end

local function spit(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function mode_bits(path)
  local p = io.popen("stat -c %a '" .. path .. "'")
  local m = p:read("*l")
  p:close()
  return m
end

describe("cli config: format", function()
  it("reads profiles, comments, spaces, CRLF and values holding = or #", function()
    local profiles, order = config.parse(table.concat({
      "# a comment", "; another", "", "[default]", "client_id = abc",
      "  client_secret=s=e#c;r  ", "[ prod ]\r", "api_key =   k\r", "base_url = https://x.test",
      "ca_file =", "",
    }, "\n"), "cfg")
    assert.same({ "default", "prod" }, order)
    assert.same({ client_id = "abc", client_secret = "s=e#c;r" }, profiles.default)
    assert.same({ api_key = "k", base_url = "https://x.test" }, profiles.prod)
  end)

  it("refuses what it cannot read, naming the line", function()
    assert.equal("cfg:2: unknown key 'clientid' (known: client_id, client_secret, api_key, "
                 .. "base_url, ca_file, timeout, output, token_dir); did you mean 'client_id'?",
                 refused(config.parse, "[a]\nclientid = x\n", "cfg"))
    assert.equal("cfg:1: 'api_key' comes before any [PROFILE] line",
                 refused(config.parse, "api_key = x\n", "cfg"))
    assert.equal("cfg:2: expected [PROFILE], key = value or a # comment",
                 refused(config.parse, "[a]\njust words\n", "cfg"))
    assert.equal("cfg:3: profile 'a' appears twice", refused(config.parse, "[a]\n\n[a]\n", "cfg"))
  end)
end)

describe("cli config: updates", function()
  it("starts a file with a comment and the profile", function()
    assert.equal("# lua-sendpulse profiles, written by 'sendpulse configure'; keep it mode 0600\n"
                 .. "\n[default]\nclient_id = id\nclient_secret = s\n",
                 config.update(nil, "default", { client_id = "id", client_secret = "s",
                                                 api_key = false }))
  end)

  it("replaces a profile's keys in place and keeps everything else", function()
    local text = "# mine\n[default]\nclient_id = old\n# keep me\nclient_secret = old\n"
      .. "timeout = 5\n\n[prod]\napi_key = p\n"
    local new = config.update(text, "default", { client_id = "new", client_secret = "s2",
                                                 api_key = false, base_url = "https://b.test" })
    assert.equal("# mine\n[default]\nclient_id = new\n# keep me\nclient_secret = s2\n"
                 .. "timeout = 5\nbase_url = https://b.test\n\n[prod]\napi_key = p\n", new)
    local profiles = config.parse(new, "cfg")
    assert.same({ api_key = "p" }, profiles.prod)
  end)

  it("removes keys given as false, and adds a new profile at the end", function()
    local text = "[prod]\napi_key = p\noutput = table\n"
    -- new keys go after the profile's other lines
    assert.equal("[prod]\noutput = table\nclient_id = i\nclient_secret = s\n",
                 config.update(text, "prod", { api_key = false, client_id = "i",
                                               client_secret = "s" }))
    assert.equal(text .. "\n[ci]\napi_key = k\n", config.update(text, "ci", { api_key = "k" }))
  end)
end)

describe("cli config: files", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 '" .. dir .. "'"))
  end)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
    sys.setup()
  end)

  it("is looked for in SENDPULSE_CONFIG, XDG_CONFIG_HOME, then ~/.config", function()
    sys.setup{ env = { SENDPULSE_CONFIG = "/x/cfg", HOME = "/home/u" } }
    assert.equal("/x/cfg", config.path())
    sys.setup{ env = { XDG_CONFIG_HOME = "/x/xdg", HOME = "/home/u" } }
    assert.same({ "/x/xdg/sendpulse/config", "/x/xdg/sendpulse" }, { config.path() })
    sys.setup{ env = { HOME = "/home/u" } }
    assert.same({ "/home/u/.config/sendpulse/config", "/home/u/.config/sendpulse" },
                { config.path() })
    sys.setup{ env = {} }
    assert.is_nil(config.path())
  end)

  it("is read only when no one else may read it", function()
    local path = dir .. "/config"
    assert.is_nil(config.load(path))
    spit(path, "[default]\napi_key = k\n")
    os.execute("chmod 644 '" .. path .. "'")
    assert.equal(path .. ": refused: other users may read it (mode rw-r--r--); it holds "
                 .. "credentials: run 'chmod 600 " .. path .. "'", refused(config.load, path))
    os.execute("chmod 640 '" .. path .. "'")
    assert.truthy(refused(config.load, path):find("(mode rw-r-----)", 1, true))
    os.execute("chmod 600 '" .. path .. "'")
    assert.same({ api_key = "k" }, config.load(path).default)
  end)

  it("is written mode 0600, its directory 0700", function()
    local sub = dir .. "/sendpulse"
    config.write(sub .. "/config", "[default]\napi_key = k\n", sub)
    assert.equal("700", mode_bits(sub))
    assert.equal("600", mode_bits(sub .. "/config"))
    assert.equal("[default]\napi_key = k\n", slurp(sub .. "/config"))
    config.write(sub .. "/config", "[default]\napi_key = k2\n")
    assert.equal("600", mode_bits(sub .. "/config"))
    assert.truthy(refused(config.write, dir .. "/missing/config", "x")
                  :find("^cannot write " .. dir .. "/missing/config: "))
  end)
end)
