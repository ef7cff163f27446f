--- Which build of the C core (sendpulse.core) the running Lua needs, and
-- what to say when the one found cannot load. A module built against
-- another Lua's headers fails in dlopen with an undefined Lua API symbol
-- (`lua_newuserdatauv` from a 5.4 build in LuaJIT, `lua_tonumber` from a
-- LuaJIT build in 5.4): the symbol tells which Lua it was built for.
-- @module sendpulse.build
-- @local
local _G = _G
local _VERSION = _VERSION
local rawget = rawget
local tostring = tostring

local _M = {}

-- Symbols only one family of Lua ABIs exports (functions there, macros or
-- absent elsewhere), and the Lua a module needing them was built for.
local BUILT_FOR = {
  lua_newuserdatauv = "Lua 5.4", lua_setiuservalue = "Lua 5.4",
  lua_getiuservalue = "Lua 5.4", lua_resetthread = "Lua 5.4",
  lua_toclose = "Lua 5.4", lua_closeslot = "Lua 5.4",
  lua_setuservalue = "Lua 5.2 or 5.3", lua_getuservalue = "Lua 5.2 or 5.3",
  lua_newuserdata = "Lua 5.1 to 5.3",
  lua_rotate = "Lua 5.3 or 5.4", lua_geti = "Lua 5.3 or 5.4",
  lua_seti = "Lua 5.3 or 5.4", lua_stringtonumber = "Lua 5.3 or 5.4",
  lua_isyieldable = "Lua 5.3 or 5.4", luaL_checkversion_ = "Lua 5.2 or later",
  lua_tonumber = "LuaJIT or Lua 5.1", lua_tointeger = "LuaJIT or Lua 5.1",
  lua_replace = "LuaJIT or Lua 5.1", lua_insert = "LuaJIT or Lua 5.1",
  lua_remove = "LuaJIT or Lua 5.1", lua_objlen = "LuaJIT or Lua 5.1",
  lua_setfenv = "LuaJIT or Lua 5.1", lua_getfenv = "LuaJIT or Lua 5.1",
  lua_call = "LuaJIT or Lua 5.1", lua_pcall = "LuaJIT or Lua 5.1",
  luaL_register = "LuaJIT or Lua 5.1", lua_equal = "LuaJIT or Lua 5.1",
  lua_lessthan = "LuaJIT or Lua 5.1",
}

--- The running Lua and how to build the core for it:
-- `{ name =, make =, dir =, install =, luarocks = }`, or nil for a Lua this
-- project does not build for.
function _M.needed()
  local jit = rawget(_G, "jit")
  if jit then
    return {
      name = jit.version or "LuaJIT",
      make = "make jit", dir = "build-jit/",
      install = "make install-jit PREFIX=DIR",
      luarocks = "LUAROCKS_CONFIG=rockspec/config-luajit.lua luarocks --lua-version 5.1 make",
    }
  end
  local v = _VERSION:match("%d+%.%d+")
  local make = { ["5.4"] = { "make", "build/" }, ["5.3"] = { "make lua53", "build-53/" },
                 ["5.1"] = { "make jit", "build-jit/, as for LuaJIT" } }
  if not make[v] then
    return nil
  end
  return {
    name = _VERSION,
    make = make[v][1], dir = make[v][2],
    install = "make install LUA_VER=" .. v .. " PREFIX=DIR",
    luarocks = "luarocks --lua-version " .. v .. " make",
  }
end

--- The message for a failed `require "sendpulse.core"`, or nil when the
-- failure is not about the build (then the original error stands).
-- @tparam string err what require raised
-- @treturn ?string
function _M.load_error(err)
  err = tostring(err)
  local need = _M.needed()
  local how = ("lua-sendpulse builds for Lua 5.4, 5.3, 5.1 and LuaJIT, not for " .. _VERSION)
  if need then
    how = ("build it for %s with `%s` (%s), install it with `%s`, or with LuaRocks: `%s`"
           .. " (README, Install)"):format(need.name, need.make, need.dir, need.install,
                                           need.luarocks)
  end
  local symbol = err:match("undefined symbol: ([%w_]+)")
  if symbol and symbol:find("^luaL?_") then
    local file = err:match("from file '([^']+)'") or "sendpulse.core"
    local built = BUILT_FOR[symbol]
    return ("sendpulse: %s was built for %s, not for %s (undefined symbol: %s): %s")
      :format(file, built or "another Lua", need and need.name or _VERSION, symbol, how)
  end
  if err:find("module 'sendpulse.core' not found", 1, true) then
    return "sendpulse: the C module sendpulse.core is not on package.cpath: " .. how
           .. "\n" .. err
  end
  return nil
end

return _M
