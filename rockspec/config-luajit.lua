-- A LuaRocks configuration for a LuaJIT tree (OpenResty, luajit):
--   LUAROCKS_CONFIG=rockspec/config-luajit.lua luarocks --lua-version 5.1 \
--     make --tree /opt/lua-sendpulse rockspec/sendpulse-scm-1.rockspec
-- builds the C module against LuaJIT's headers (Debian's
-- libluajit2-5.1-dev) and makes the installed `sendpulse` command run
-- luajit; plain `--lua-version 5.1` would use lua5.1 and its headers.
-- LUAROCKS_CONFIG stands for your own ~/.luarocks/config-5.1.lua.
lua_interpreter = "luajit"
variables = {
  LUA_INCDIR = "/usr/include/luajit-2.1",
}
-- Offline on Debian: the lua-busted package stands for the busted rock
-- that `luarocks test` wants (test_dependencies).
rocks_provided = {
  busted = "2.1.1-1",
}
