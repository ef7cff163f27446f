-- A child process of spec/memory_spec.lua: one call whose answer the
-- parent armed in the sandbox, then the peak RSS (VmHWM) before and after
-- it in KiB, and what the call returned: "<before> <after> <outcome>".
-- Run as `lua5.4 spec/support/rss_probe.lua PATH` from the repository.
package.path = "./lua/?.lua;./lua/?/init.lua;./spec/?.lua;" .. package.path
package.cpath = (rawget(_G, "jit") and "./build-jit/?.so;" or "./build/?.so;") .. package.cpath
local sandbox = require "support.sandbox"

local function hwm()
  local f = assert(io.open("/proc/self/status"))
  local kb = f:read("a"):match("VmHWM:%s*(%d+)")
  f:close()
  return tonumber(kb)
end

local c = sandbox.client{ api_key = sandbox.api_key, max_retries = 0 }
assert(c:get("/user/balance/detail"))
collectgarbage()
local before = hwm()
local ok, res, err = pcall(c.get, c, arg[1])
local outcome
if not ok then
  outcome = "raised: " .. tostring(res):gsub("%s+", " ")
elseif res == nil then
  outcome = err.kind .. " " .. tostring(err.code or err.status)
else
  outcome = "result"
end
io.write(before, " ", hwm(), " ", outcome, "\n")
