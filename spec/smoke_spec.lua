-- The smoke run of the library (spec/support/smoke.lua) under the Luas the
-- rockspec claims beside the two full suites (Lua 5.4 and LuaJIT): PUC
-- Lua 5.1 (Debian's lua5.1, with the LuaJIT-header build, as bin/sendpulse
-- uses it), Lua 5.3 (build-53/, make lua53) and LuaJIT. The CLI gets its
-- run under each of them in spec/cli_interpreters_spec.lua. A missing
-- interpreter is pending, a missing build fails: make test installs and
-- builds them all.
local sandbox = require "support.sandbox"

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function readable(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
  end
  return f ~= nil
end

local function installed(name)
  local p = io.popen("command -v " .. name .. " 2>/dev/null")
  local where = p:read("*l")
  p:close()
  return where ~= nil and where ~= ""
end

local RUNS = {
  { "lua5.1", "build-jit", "Lua 5.1" },
  { "lua5.3", "build-53", "Lua 5.3" },
  { "luajit", "build-jit", "LuaJIT 2" },
}

describe("smoke run #smoke #sandbox", function()
  before_each(function()
    sandbox.reset()
  end)

  for _, r in ipairs(RUNS) do
    local lua, dir, name = r[1], r[2], r[3]
    if not installed(lua) then
      pending(lua .. ": not installed")
    else
      it(lua .. ": require, calls to the sandbox, an error object", function()
        assert.is_true(readable(dir .. "/sendpulse/core.so"), dir .. "/ is not built (make test)")
        local p = assert(io.popen("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u LD_PRELOAD "
          .. "SENDPULSE_SANDBOX_URL=" .. q(sandbox.url) .. " SENDPULSE_SANDBOX_CA=" .. q(sandbox.ca)
          .. " " .. lua .. " spec/support/smoke.lua " .. dir .. " 2>&1"))
        local out = p:read("*a")
        p:close()
        local n, on = out:match("\nsmoke: (%d+) checks passed on ([^\n]+)\n$")
        assert.truthy(n, out)
        assert.equal(10, tonumber(n), out)
        assert.equal(name, on:sub(1, #name), out)
        assert.is_nil(out:find("failed", 1, true), out)
      end)
    end
  end
end)
