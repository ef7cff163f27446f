-- A LuaRocks configuration for `luarocks test` offline on Debian: the
-- lua-busted package stands for the busted rock of test_dependencies.
--   LUAROCKS_CONFIG=rockspec/config-offline.lua luarocks --lua-version 5.4 \
--     test rockspec/sendpulse-scm-1.rockspec
-- (LUAROCKS_CONFIG stands for your own ~/.luarocks/config-5.x.lua.)
rocks_provided = {
  busted = "2.1.1-1",
}
