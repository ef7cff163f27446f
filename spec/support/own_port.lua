-- Whether the nginx answering on a port is the one a spec started. The
-- test apps listen with reuseport (as the README's configuration does), so
-- an nginx of another run that took the same port at the same moment would
-- silently share it, and each would serve some of the other's requests.
local M = {}

-- true when 8 answers in a row came from workers of the master whose pid
-- is in `pid_file`; `worker_pid()` asks the port once and returns the pid
-- of the worker that answered (or nil).
function M.check(pid_file, worker_pid)
  local f = assert(io.open(pid_file, "rb"))
  local master = f:read("*a"):match("%d+")
  f:close()
  for _ = 1, 8 do
    local pid = worker_pid()
    local stat_file = pid and io.open("/proc/" .. pid .. "/stat", "rb")
    local stat = stat_file and stat_file:read("*a")
    if stat_file then
      stat_file:close()
    end
    -- /proc/PID/stat: pid (comm) state ppid ...
    if not (stat and stat:match("^%d+ %b() %S+ (%d+)") == master) then
      return false
    end
  end
  return true
end

return M
