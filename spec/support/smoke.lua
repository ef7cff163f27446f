-- The smoke run of the library under one interpreter (Lua 5.1, 5.3,
-- LuaJIT: spec/smoke_spec.lua; `luarocks test` on 5.3 and 5.1): require,
-- calls to the sandbox (SENDPULSE_SANDBOX_URL/CA), an error object, an
-- argument error, the JSON codec.
--   LUA spec/support/smoke.lua BUILD_DIR
-- Prints one line per check, then "smoke: N checks passed on <Lua>";
-- exits 1 at the first check that fails.
local dir = assert(arg[1], "usage: LUA spec/support/smoke.lua BUILD_DIR")
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./" .. dir .. "/?.so;" .. package.cpath

local jit = rawget(_G, "jit")
local lua = jit and jit.version or _VERSION
local passed = 0

local function check(what, ok, detail)
  if not ok then
    io.stderr:write("smoke (", lua, "): ", what, " failed: ", tostring(detail), "\n")
    os.exit(1)
  end
  passed = passed + 1
  print("ok " .. what)
end

local loaded, sendpulse = pcall(require, "sendpulse")
check("require 'sendpulse' (" .. dir .. ")", loaded, sendpulse)
check("_VERSION", tostring(sendpulse._VERSION):find("^%d+%.%d+%.%d+$"), sendpulse._VERSION)

local url, ca = os.getenv("SENDPULSE_SANDBOX_URL"), os.getenv("SENDPULSE_SANDBOX_CA")
check("the sandbox's address in the environment", url and ca,
      "SENDPULSE_SANDBOX_URL/SENDPULSE_SANDBOX_CA are not set")
local client = sendpulse.new{
  client_id = "sandbox-client-id", client_secret = "sandbox-client-secret",
  base_url = url, ca_file = ca, rate_limit = false,
}

local me, err = client:user_info()
check("client:user_info() through the sandbox", me and me.name == "Frodo Baggins", err)

local book
book, err = client:create_address_book(("smoke %s %d"):format(lua, os.time()))
check("client:create_address_book()", book and type(book.id) == "number", err)
-- integers: Lua integers on 5.3+ (exact beyond 2^53), doubles on 5.1 and
-- LuaJIT, encoded without a fraction either way
local digits = math.type and "9007199254740993" or "9007199254740992"
local id = sendpulse.json.decode('{"id":' .. digits .. '}').id
local encoded = sendpulse.json.encode({ id = id })
check("integers through the core's JSON", encoded == '{"id":' .. digits .. '}', encoded)

local res
res, err = client:address_book(987654321)
check("an API error is nil and an error object",
      res == nil and getmetatable(err) == sendpulse.Error, err)
check("its fields", err.kind == "api" and err.status == 404 and err.code == 213, tostring(err))
check("its one-line tostring",
      tostring(err):find("^sendpulse api error 213: .*%(GET /addressbooks/987654321, HTTP 404%)$"),
      tostring(err))

local raised, msg = pcall(client.address_book, client, "x")
check("a mistyped argument raises, naming it",
      not raised and tostring(msg):find("bad argument 'id' to address_book", 1, true) ~= nil, msg)

client:close()
print(("smoke: %d checks passed on %s"):format(passed, lua))
