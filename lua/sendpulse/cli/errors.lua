--- Errors of the command-line tool and its exit statuses.
--
-- A usage error (a bad command line, a missing credential, an unreadable
-- file) is raised as an object carrying its exit status, caught by
-- `sendpulse.cli.main` and printed as one line. API and transport
-- failures are not raised: commands return them as `nil, err`.
-- @module sendpulse.cli.errors
-- @local
local error = error
local format = string.format
local getmetatable = getmetatable
local select = select
local setmetatable = setmetatable
local tostring = tostring
local type = type

local _M = {}

--- Exit statuses (listed in `sendpulse --help`).
_M.EXIT = {
  ok = 0,
  api = 1,        -- the API refused, the network or TLS failed
  usage = 2,      -- the command line, a file or the settings are wrong
  internal = 3,   -- the library cannot be loaded, or a bug
  rejected = 4,   -- input rows were rejected and nothing was imported
}

local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.message end

local function message(fmt, ...)
  if select("#", ...) > 0 then
    return format(fmt, ...)
  end
  return fmt
end

--- Raises a failure that exits with `status`, printed as "sendpulse: MESSAGE".
function _M.fail(status, fmt, ...)
  error(setmetatable({ message = message(fmt, ...), status = status }, Failure), 0)
end

--- Raises a usage error (exit status 2).
function _M.usage(fmt, ...)
  error(setmetatable({ message = message(fmt, ...), status = _M.EXIT.usage }, Failure), 0)
end

--- Whether `e` was raised by `fail` or `usage`.
function _M.is_failure(e)
  return getmetatable(e) == Failure
end

--- The message of an error the library raises on a bad argument or
-- option ("sendpulse: bad argument ...", "sendpulse.new: ..."), without
-- its position and prefix; nil for any other error.
function _M.library_error(e)
  if type(e) ~= "string" then
    return nil
  end
  local msg = e:match("^[^\n]-:%d+: (sendpulse[%.:].*)$") or e:match("^(sendpulse[%.:].*)$")
  return msg and (msg:gsub("^sendpulse[%.%w]*: ", ""))
end

--- `s` on one line: line breaks become spaces.
function _M.one_line(s)
  return (tostring(s):gsub("[\r\n]+", " "))
end

return _M
