-- `require "sendpulse"` with a C core built for another Lua: each
-- interpreter is given another one's build through package.cpath, and
-- must say which Lua that build is for and how to make the one it needs.
-- The builds are the checkout's (make, make jit, make lua53: make test
-- makes all three); a missing build fails, a missing interpreter is
-- pending.
local build = require "sendpulse.build"

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Runs LUA with package.cpath = ./DIR/?.so only; returns whether the
-- require succeeded and what it raised.
local function require_with(lua, dir)
  local code = ([[
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./%s/?.so"
local ok, err = pcall(require, "sendpulse")
io.write(ok and "loaded" or tostring(err))
os.exit(ok and 0 or 1)]]):format(dir)
  local p = assert(io.popen("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u LD_PRELOAD " .. lua
                            .. " -e " .. q(code) .. " 2>&1"))
  local out = p:read("*a")
  p:close()      -- (whose status LuaJIT does not report)
  return out == "loaded", out
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

local CASES = {
  -- interpreter, another Lua's build, the Lua that build is for (as the
  -- symbol dlopen names tells it), the build this interpreter needs
  { "luajit", "build", "Lua 5.3 or 5.4", "LuaJIT", "`make jit` (build-jit/)" },
  { "luajit", "build-53", "Lua 5.3 or 5.4", "LuaJIT", "`make jit` (build-jit/)" },
  { "lua5.4", "build-jit", "LuaJIT or Lua 5.1", "Lua 5.4", "`make` (build/)" },
  { "lua5.4", "build-53", "Lua 5.2 or 5.3", "Lua 5.4", "`make` (build/)" },
  { "lua5.3", "build", "Lua 5.4", "Lua 5.3", "`make lua53` (build-53/)" },
  { "lua5.3", "build-jit", "LuaJIT or Lua 5.1", "Lua 5.3", "`make lua53` (build-53/)" },
  { "lua5.1", "build", "Lua 5.3 or 5.4", "Lua 5.1", "`make jit` (build-jit/, as for LuaJIT)" },
}

describe("a C core built for another Lua", function()
  for _, case in ipairs(CASES) do
    local lua, dir, built_for, running, make = case[1], case[2], case[3], case[4], case[5]
    if not installed(lua) then
      pending(lua .. ": not installed")
    else
      it(lua .. " given " .. dir .. "/ names the build it needs", function()
        assert.is_true(readable(dir .. "/sendpulse/core.so"), dir .. "/ is not built (make test)")
        local loaded, msg = require_with(lua, dir)
        assert.is_false(loaded, msg)
        local head = "sendpulse: ./" .. dir .. "/sendpulse/core.so was built for " .. built_for
                     .. ", not for "
        assert.equal(head, msg:sub(1, #head), msg)
        assert.truthy(msg:find(running, 1, true), msg)
        assert.truthy(msg:find("(undefined symbol: lua", 1, true), msg)
        assert.truthy(msg:find("build it for " .. running, 1, true), msg)
        assert.truthy(msg:find(" with " .. make .. ", install it with `make install", 1, true), msg)
        assert.truthy(msg:find("or with LuaRocks: `", 1, true), msg)
      end)
    end
  end

  it("each interpreter loads its own build", function()
    for _, pair in ipairs{ { "luajit", "build-jit" }, { "lua5.1", "build-jit" },
                           { "lua5.3", "build-53" }, { "lua5.4", "build" } } do
      if installed(pair[1]) then
        local loaded, msg = require_with(pair[1], pair[2])
        assert.is_true(loaded, pair[1] .. ": " .. msg)
      end
    end
  end)

  it("with no core on package.cpath, says how to build it and keeps Lua's search list", function()
    local loaded, msg = require_with("lua5.4", "build/nonexistent")
    assert.is_false(loaded)
    assert.truthy(msg:find("^sendpulse: the C module sendpulse.core is not on package.cpath: "
                           .. "build it for Lua 5.4 with `make` %(build/%)"), msg)
    assert.truthy(msg:find("\nmodule 'sendpulse.core' not found:", 1, true), msg)
    assert.truthy(msg:find("build/nonexistent/sendpulse/core.so", 1, true), msg)
  end)

  it("leaves other load failures as they are", function()
    assert.is_nil(build.load_error("error loading module 'sendpulse.core' from file "
      .. "'./build/sendpulse/core.so':\n\tlibcurl.so.4: cannot open shared object file"))
    assert.is_nil(build.load_error("./core.so: undefined symbol: curl_easy_init"))
  end)
end)
