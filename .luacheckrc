-- luacheck configuration (`make lint`).
std = "max"
max_line_length = 100
exclude_files = { "build", "build-jit", "tree", ".luarocks" }

files["spec"] = { std = "+busted" }
files["sandbox/lua"] = { std = "+ngx_lua" }
files["lua/sendpulse/transport/ngx.lua"] = { std = "+ngx_lua" }
files["lua/sendpulse/stores.lua"] = { read_globals = { "ngx" } }
