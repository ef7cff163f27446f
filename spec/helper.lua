-- Loaded before every spec (.busted `helper`). When SENDPULSE_CAPTURE
-- names a file, it records every message the client produces during the
-- whole suite: each error object returned (tostring and every field) and
-- each error raised through pcall. tools/run-tests then searches that
-- file, and the suite's output, for the sandbox's credentials and tokens:
-- there must be none.

-- Under the sanitizer run (make test-asan) the interpreter runs with the
-- ASan and UBSan runtimes preloaded. Programs the specs start (curl, sh,
-- nginx, other interpreters) are not ours to check, and one of them under
-- a preloaded runtime can hang at exit (curl did, in a futex): every
-- command a spec runs gets a clean environment for them.
if (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true) then
  local clean = "env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS "
  local popen, execute = io.popen, os.execute
  io.popen = function(cmd, ...) -- luacheck: ignore 122
    return popen(clean .. "sh -c '" .. tostring(cmd):gsub("'", "'\\''") .. "'", ...)
  end
  os.execute = function(cmd, ...) -- luacheck: ignore 122
    if cmd == nil then
      return execute()
    end
    return execute(clean .. "sh -c '" .. tostring(cmd):gsub("'", "'\\''") .. "'", ...)
  end
end

local path = os.getenv("SENDPULSE_CAPTURE")
if not path then
  return
end

local capture = assert(io.open(path, "a"))
capture:setvbuf("line")

local function record(v)
  if v == nil then
    return
  end
  local ok, s = pcall(tostring, v)
  if ok and s then
    capture:write((s:gsub("\n", "\\n")), "\n")
  end
end

local function record_error(err)
  record(err)
  if type(err) == "table" then
    for _, v in pairs(err) do
      if type(v) ~= "table" then
        record(v)
      end
    end
  end
end

-- Every named method and generic verb returns through request or batch.
-- The wrappers are compiled under the library's own directory name: the
-- library raises argument errors at the first frame outside itself (the
-- caller's line), and a recording wrapper must not become that frame.
local Client = require "sendpulse.client"
local bulk = require "sendpulse.bulk"
local library_dir = debug.getinfo(Client.request, "S").source:match("^(@.*[/\\])[^/\\]*$")
local wrappers = assert(load([[
local record_error, request, batch, bulk_run = ...
local ipairs, pairs, select, type = ipairs, pairs, select, type
local unpack = table.unpack or unpack
-- every value returned is passed on, however many there are
local function pack(...)
  return { n = select("#", ...), ... }
end
local function wrapped_request(...)
  local r = pack(request(...))
  if r[1] == nil then
    record_error(r[2])
  end
  return unpack(r, 1, r.n)
end
local function wrapped_batch(...)
  local r = pack(batch(...))
  if type(r[1]) == "table" then
    for _, result in ipairs(r[1]) do
      if result[1] == nil then
        record_error(result[2])
      end
    end
  end
  if r[2] ~= nil then
    record_error(r[2])
  end
  return unpack(r, 1, r.n)
end
-- Chunked bulk methods send on the transport's stream, not through request.
local function wrapped_bulk_run(...)
  local r = pack(bulk_run(...))
  if r[1] == nil and type(r[2]) == "table" then
    record_error(r[2])
    for _, e in pairs(r[2].chunk_errors or {}) do
      record_error(e)
    end
  end
  return unpack(r, 1, r.n)
end
return wrapped_request, wrapped_batch, wrapped_bulk_run
]], library_dir .. "spec-helper-recorders.lua", "t"))
Client.request, Client.batch, bulk.run =
  wrappers(record_error, Client.request, Client.batch, bulk.run)
local tostring_client = Client.__tostring
function Client.__tostring(self)
  local s = tostring_client(self)
  record(s)
  return s
end

-- Errors raised by the client (argument checks, options) end in a pcall.
local raw_pcall = pcall
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

local function pack(...)
  return { n = select("#", ...), ... }
end

_G.pcall = function(f, ...)
  local results = pack(raw_pcall(f, ...))
  if not results[1] then
    record(results[2])
  end
  return unpack(results, 1, results.n)
end
