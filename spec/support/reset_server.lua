-- A TCP server that resets every connection as soon as it is accepted:
-- the request never reaches anything. Counts the connections.
-- usage: lua5.4 reset_server.lua PORT_FILE COUNT_FILE
local socket = require "socket"

local port_file, count_file = arg[1], arg[2]

local function write(path, value)
  local f = assert(io.open(path .. ".tmp", "w"))
  f:write(tostring(value))
  f:close()
  assert(os.rename(path .. ".tmp", path))
end

local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
write(count_file, 0)
write(port_file, port)
local accepted = 0
while true do
  local conn = server:accept()
  if conn then
    accepted = accepted + 1
    write(count_file, accepted)
    conn:setoption("linger", { on = true, timeout = 0 })   -- RST, not FIN
    conn:close()
  end
end
