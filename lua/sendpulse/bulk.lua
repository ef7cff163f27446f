--- Chunked bulk requests: large lists go out in pieces, several at once,
-- progress is reported, and a failure says exactly what happened to every
-- item.
--
-- The chunks run on the transport's stream (the engine of batches):
-- `concurrency` of them in flight (by default a second's worth of the
-- client's rate limit, 10: the pacer's whole window in flight, so the
-- budget stays full up to a round trip of about a second; 4 without a
-- rate limit), each built only when it starts, so a million contacts are
-- never held twice. The first failure
-- stops new chunks from starting; those in flight finish.
--
-- On a failure the result is `nil, err`, `err` being the first failed
-- chunk's error with:
--
-- * `chunk`: that chunk's number (1-based), `chunks`: how many there are,
--   `chunks_done`: how many the server accepted
-- * `done`: items the server accepted (their chunks answered 2xx)
-- * `not_sent`: items that surely never reached the server (chunks not
--   started, or refused before sending): safe to send again
-- * `maybe_processed`: items of chunks that may have been processed (no
--   answer after sending, or a 5xx): look before sending them again
-- * `refused`: items of chunks the server answered with a refusal (a 4xx
--   other than a rate limit): fix the cause before sending them again
-- * `not_done`: every item not in `done`, in order (the three lists above
--   together)
-- * `chunk_errors`: each failed chunk's own error, by chunk number
-- @module sendpulse.bulk
-- @local
local util = require "sendpulse.util"

local ceil = math.ceil
local min = math.min
local next = next
local pairs = pairs
local string_format = string.format
local type = type

local _M = {}

-- Items first..last of items, as a new list.
local function slice(items, first, last)
  local out = {}
  for i = first, last do
    out[i - first + 1] = items[i]
  end
  return out
end

local function append_range(list, items, first, last)
  for i = first, last do
    list[#list + 1] = items[i]
  end
end

-- The error the bulk call returns: the first failed chunk's, with the
-- fate of every item attached.
local function report(items, size, nchunks, results, errors, aborted, done_items)
  local total = #items
  local first_failed, err
  for c = 1, nchunks do
    if errors[c] then
      first_failed, err = c, errors[c]
      break
    end
  end
  if not err then
    err = aborted
    for c = 1, nchunks do
      if results[c] == nil then
        first_failed = c
        break
      end
    end
  end
  local not_sent, maybe, refused, not_done = {}, {}, {}, {}
  local chunks_done = 0
  for c = 1, nchunks do
    if results[c] ~= nil then
      chunks_done = chunks_done + 1
    else
      local first, last = (c - 1) * size + 1, min(c * size, total)
      local e = errors[c]
      local fate = e and e.sent or "no"
      if fate == "maybe" then
        append_range(maybe, items, first, last)
      elseif fate == "yes" then
        append_range(refused, items, first, last)
      else
        append_range(not_sent, items, first, last)
      end
      append_range(not_done, items, first, last)
    end
  end
  local first, last = (first_failed - 1) * size + 1, min(first_failed * size, total)
  err.chunk, err.chunks, err.done = first_failed, nchunks, done_items
  err.chunks_done = chunks_done
  err.not_sent, err.maybe_processed, err.refused = not_sent, maybe, refused
  err.not_done, err.chunk_errors = not_done, errors
  err.message = string_format("chunk %d of %d (items %d-%d) failed, %d of %d "
                              .. "done: %s", first_failed, nchunks, first,
                              last, done_items, total, err.message)
  return nil, err
end

--[[
  Sends items in chunks. build(chunk) -> method, path, query, body[, opts]
  is the request for one chunk; post(result) (optional) turns a chunk's
  answer into its entry of `results`. opts: chunk (items per request),
  concurrency, on_progress(done, total) (called as chunks complete, done
  counting items). Returns { done = n, chunks = k, results = {...} } (one
  result per chunk, in chunk order), or nil and the error described in the
  module's doc.
]]
function _M.run(client, items, opts, default_chunk, build, post)
  local total = #items
  local size = opts.chunk or default_chunk
  local nchunks = ceil(total / size)
  local on_progress = opts.on_progress
  local results, errors = {}, {}
  local done_items = 0

  if client._dry_run then
    -- nothing goes out: describe each chunk's request in turn
    for c = 1, nchunks do
      local first, last = (c - 1) * size + 1, min(c * size, total)
      local res = client:request(build(slice(items, first, last)))
      results[c] = post and post(res) or res
      done_items = last
      if on_progress then
        on_progress(done_items, total)
      end
    end
    return { done = done_items, chunks = nchunks, results = results }
  end

  local cc = client._core
  local started, stopped = 0, false
  local function next_call()
    if stopped or started >= nchunks then
      return nil
    end
    started = started + 1
    local first, last = (started - 1) * size + 1, min(started * size, total)
    local method, path, query, body, ropts = build(slice(items, first, last))
    return cc:call(method, path, query, body, ropts)
  end
  -- (the stream numbers calls in the order next_call gave them: chunks)
  local function on_done(c, action, value)
    if action == "done" then
      results[c] = post and post(value) or value
      done_items = done_items + min(c * size, total) - (c - 1) * size
      if on_progress then
        on_progress(done_items, total)
      end
    else
      errors[c] = value
      stopped = true        -- no new chunk starts after a failure
    end
  end
  local aborted = client._transport.stream(client, next_call,
                                           opts.concurrency or client._bulk_concurrency,
                                           on_done)
  if aborted or next(errors) ~= nil then
    return report(items, size, nchunks, results, errors, aborted, done_items)
  end
  return { done = done_items, chunks = nchunks, results = results }
end

--- Checks the chunking options.
function _M.options(method, opts, extra)
  local allowed = { chunk = true, on_progress = true, concurrency = true }
  for k in pairs(extra or {}) do
    allowed[k] = true
  end
  opts = util.options(method, opts, allowed)
  util.integer(method, "opts.chunk", opts.chunk, true, 1)
  util.integer(method, "opts.concurrency", opts.concurrency, true, 1)
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    util.fail(method, "opts.on_progress", "a function expected")
  end
  return opts
end

return _M
