-- Before `make install` copies anything: does the interpreter that will
-- run the installed command load this checkout's module for it?
--   LUA tools/load-check.lua LUA_VER BUILD_DIR
-- Exits 2 with a message saying what to run when it does not.
local want, dir = arg[1], arg[2]
local have = _VERSION:match("%d+%.%d+")
if have ~= want then
  local jit = rawget(_G, "jit")
  io.stderr:write("make install: ", arg[-1] or "this interpreter", " is ",
                  jit and jit.version or _VERSION, ", not Lua ", want, ": ",
                  jit and "for LuaJIT, make install-jit" or "give LUA_VER=" .. have,
                  ", or LUA=lua", want, "\n")
  os.exit(2)
end
package.path = "./lua/?.lua;./lua/?/init.lua"
package.cpath = "./" .. dir .. "/?.so"
local ok, err = pcall(require, "sendpulse")
if not ok then
  io.stderr:write("make install: ", tostring(err), "\n")
  os.exit(2)
end
