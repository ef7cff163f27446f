-- bin/sendpulse under every Lua it supports, against the sandbox: Lua 5.4
-- (build/), LuaJIT and Lua 5.1 (build-jit/, `make jit`), and Lua 5.3 when
-- a module was built for it in build-53/:
--   mkdir -p build-53/sendpulse && cc -std=gnu99 -O2 -fPIC -shared \
--     -I/usr/include/lua5.3 -o build-53/sendpulse/core.so csrc/*.c -lcurl
-- An interpreter that is missing, or whose module is not built, is
-- reported as pending.
local sandbox = require "support.sandbox"
local json = require("sendpulse").json

local INTERPRETERS = {
  { "lua5.4", "build" }, { "luajit", "build-jit" }, { "lua5.1", "build-jit" },
  { "lua5.3", "build-53" },
}

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function installed(name)
  local p = io.popen("command -v " .. name .. " 2>/dev/null")
  local where = p:read("*l")
  p:close()
  return where ~= nil and where ~= ""
end

local function built(dir)
  local f = io.open(dir .. "/sendpulse/core.so", "rb")
  if f then
    f:close()
    return true
  end
  return false
end

-- Runs `LUA bin/sendpulse ARGS...` with the sandbox's credentials (in a
-- private file, not on the command line): code, stdout, stderr.
local function run(lua, args)
  local envfile, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(envfile, "wb"))
  f:write("unset SENDPULSE_API_KEY SENDPULSE_TOKEN_DIR SENDPULSE_PROFILE LD_PRELOAD\n",
          "export SENDPULSE_CONFIG=/nonexistent/sendpulse-config\n",
          "export SENDPULSE_CLIENT_ID=", q(sandbox.client_id), "\n",
          "export SENDPULSE_CLIENT_SECRET=", q(sandbox.client_secret), "\n",
          "export SENDPULSE_BASE_URL=", q(sandbox.url), "\n",
          "export SENDPULSE_CA_FILE=", q(sandbox.ca), "\n")
  f:close()
  local words = {}
  for i, a in ipairs(args) do
    words[i] = q(a)
  end
  local p = io.popen("(. " .. envfile .. " && exec " .. lua .. " bin/sendpulse "
                     .. table.concat(words, " ") .. ") </dev/null >" .. out .. " 2>" .. err
                     .. "; echo $?")
  local code = tonumber(p:read("*a"))
  p:close()
  local function slurp(path)
    local h = assert(io.open(path, "rb"))
    local s = h:read("*a")
    h:close()
    os.remove(path)
    return s
  end
  os.remove(envfile)
  return code, slurp(out), slurp(err)
end

describe("bin/sendpulse under each interpreter #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  for _, it_ in ipairs(INTERPRETERS) do
    local lua, dir = it_[1], it_[2]
    if not installed(lua) then
      pending(lua .. ": not installed")
    elseif not built(dir) then
      pending(lua .. ": no module in " .. dir .. "/")
    else
      it(lua .. ": a call, a list of every page, a usage error", function()
        local code, out, err = run(lua, { "user-info", "--raw" })
        assert.equal(0, code, err)
        assert.equal("Frodo Baggins", json.decode(out).name)
        code, out, err = run(lua, { "address-books", "create", "Interpreted", "--raw" })
        assert.equal(0, code, err)
        local id = json.decode(out).id
        code, out, err = run(lua, { "address-books", "list", "--all", "--limit", "1" })
        assert.equal(0, code, err)
        assert.equal(id, json.decode(out)[1].id)
        code, out, err = run(lua, { "address-books", "get", "x" })
        assert.equal(2, code)
        assert.equal("", out)
        assert.equal("sendpulse: ID: a positive integer expected, got 'x'\n", err)
      end)
    end
  end
end)
