-- Loaded before every spec (.busted `helper`). When SENDPULSE_CAPTURE
-- names a file, it records every message the client produces during the
-- whole suite: each error object returned (tostring and every field) and
-- each error raised through pcall. tools/run-tests then searches that
-- file, and the suite's output, for the sandbox's credentials and tokens:
-- there must be none.
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
local Client = require "sendpulse.client"
local request, batch = Client.request, Client.batch
function Client.request(...)
  local res, err = request(...)
  if res == nil then
    record_error(err)
  end
  return res, err
end
function Client.batch(...)
  local results = batch(...)
  for _, r in ipairs(results) do
    if r[1] == nil then
      record_error(r[2])
    end
  end
  return results
end
-- Chunked bulk methods send on the transport's stream, not through request.
local bulk = require "sendpulse.bulk"
local bulk_run = bulk.run
function bulk.run(...)
  local res, err = bulk_run(...)
  if res == nil then
    record_error(err)
    for _, e in pairs(err.chunk_errors or {}) do
      record_error(e)
    end
  end
  return res, err
end
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
