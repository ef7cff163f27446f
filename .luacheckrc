-- luacheck configuration (`make lint`).
-- The library runs on Lua 5.1 to 5.4 and LuaJIT: only the globals common
-- to all of them, plus those it guards (read through rawget or checked
-- before use) and nginx's where the code runs inside nginx.
std = "min"
read_globals = {
  "jit",                        -- LuaJIT, tested with rawget
  table = { fields = { "unpack" } },   -- 5.2+, guarded: `table.unpack or unpack`
  math = { fields = { "type" } },      -- 5.3+, guarded: `math.type or ...`
  utf8 = {},                    -- 5.3+
}
globals = {}
max_line_length = 100
exclude_files = { "build", "build-jit", "build-53", "build-asan", "tree", ".luarocks" }

files["spec"] = {
  std = "+busted",
  globals = { "pcall" },        -- helper.lua records raises
  -- 5.3+ integer helpers, used behind version checks
  read_globals = { math = { fields = { "maxinteger", "mininteger", "tointeger" } } },
}
files["sandbox/lua"] = { std = "+ngx_lua" }
files["spec/support/ngx_*.lua"] = { std = "+ngx_lua" }
files["lua/sendpulse/transport/ngx.lua"] = { std = "+ngx_lua" }
files["lua/sendpulse/stores/ngx_shared.lua"] = { read_globals = { "ngx" } }
files["lua/sendpulse/pacers/ngx_shared.lua"] = { read_globals = { "ngx" } }
-- tools and the benchmark run on Lua 5.4 only
files["tools"] = { std = "lua54" }
files["bench"] = { std = "lua54" }
