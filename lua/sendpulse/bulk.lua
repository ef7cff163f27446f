--- Chunked bulk requests: large lists go out in pieces, progress is
-- reported, and a failure says exactly what was and was not done.
-- @module sendpulse.bulk
-- @local
local util = require "sendpulse.util"

local ceil = math.ceil
local string_format = string.format

local _M = {}

--[[
  Sends items in chunks with send(chunk) -> result | nil, err.
  opts: chunk (items per request), on_progress(done, total).
  Returns { done = n, chunks = k, results = {...} }, or nil and the
  failing chunk's error with extra fields:
    chunk      the number of the chunk that failed (1-based)
    chunks     how many chunks there were
    done       items sent successfully before it
    not_done   the items not sent (the failed chunk and every later one)
]]
function _M.run(items, opts, default_chunk, send)
  local total = #items
  local size = opts.chunk or default_chunk
  local chunks = ceil(total / size)
  local on_progress = opts.on_progress
  local results = {}
  local done = 0
  for c = 1, chunks do
    local first = (c - 1) * size + 1
    local last = c * size
    if last > total then
      last = total
    end
    local chunk = {}
    for i = first, last do
      chunk[i - first + 1] = items[i]
    end
    local res, err = send(chunk)
    if res == nil then
      local not_done = {}
      for i = first, total do
        not_done[i - first + 1] = items[i]
      end
      err.chunk, err.chunks, err.done, err.not_done = c, chunks, done, not_done
      err.message = string_format("chunk %d of %d (items %d-%d) failed, %d "
                                  .. "of %d done: %s", c, chunks, first, last,
                                  done, total, err.message)
      return nil, err
    end
    results[c] = res
    done = last
    if on_progress then
      on_progress(done, total)
    end
  end
  return { done = done, chunks = chunks, results = results }
end

--- Checks the chunking options.
function _M.options(method, opts, extra)
  local allowed = { chunk = true, on_progress = true }
  for k in pairs(extra or {}) do
    allowed[k] = true
  end
  opts = util.options(method, opts, allowed)
  util.integer(method, "opts.chunk", opts.chunk, true, 1)
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    util.fail(method, "opts.on_progress", "a function expected")
  end
  return opts
end

return _M
