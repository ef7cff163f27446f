--- Iterators over paginated endpoints.
--
-- Every iterator yields one item per step and stops after the last page
-- without asking for an empty one. On a failure it yields `false, err`
-- once and then stops, so a loop can see the error:
--
--    for book, err in client:each_address_book() do
--      if not book then print(err) break end
--      print(book.name)
--    end
--
-- Options common to all: `limit` (items per request, default 100), `max`
-- (stop after that many items), and `offset`/`start`/`skip` (where to
-- begin).
-- @module sendpulse.paging
-- @local
local core = require "sendpulse.core"
local util = require "sendpulse.util"

local getmetatable = getmetatable
local pairs = pairs
local setmetatable = setmetatable
local type = type

local _M = {}

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do
    c[k] = v
  end
  return c
end

-- A page is a JSON array: decoded, it carries the array marker; built in
-- Lua, it is a non-empty sequence. An object where a page belongs (the
-- decoder's plain table) is a failure, not an empty last page.
local function is_page(t)
  if type(t) ~= "table" then
    return false
  end
  if getmetatable(t) == core.array_mt then
    return true
  end
  if t[1] == nil then
    return false
  end
  for k in pairs(t) do
    if type(k) ~= "number" then
      return false
    end
  end
  return true
end

-- A page that is not a list is reported like any other failure.
local function decode_failure(method, path)
  return setmetatable({
    kind = "decode", method = method, path = path,
    message = "a page of results was not a list",
  }, core.error_mt)
end

--[[
  spec = {
    client, path, query,            the request (query is copied)
    limit_key, offset_key,          parameter names ("limit"/"offset",
                                    "count"/"start", "size"/"skip")
    limit, max, offset,             from the user's options
    page_max,                       the endpoint's largest page (100)
    extract = function(res) -> list, total|nil
    fetch = function(limit, offset) -> res, err   (optional: how a page
                                    is asked for; GET path?query otherwise)
    method,                         for messages with fetch (default GET)
  }
  limit_key = false: the server decides how many items a page has; the
  walk then stops on the total the response gives, or on an empty page.
  Without a total in the response, each request asks for one item more
  than it yields: a page with that extra item proves another page exists,
  so the walk never ends with a request that comes back empty.
]]
-- The walk's settings and state, from a spec (see above).
local function new_walk(spec)
  local limit_key = spec.limit_key
  if limit_key == nil then
    limit_key = "limit"
  end
  local page_max = spec.page_max or 100
  local page = spec.limit or page_max
  if page > page_max then
    page = page_max
  end
  return {
    spec = spec,
    limit_key = limit_key,
    offset_key = spec.offset_key or "offset",
    method = spec.method or "GET",
    page_max = page_max,
    page = page,
    max = spec.max,
    offset = spec.offset or 0,
    extract = spec.extract or function(res)
      return res
    end,
    buf = nil, n = 0, i = 0,  -- the page being yielded: n of its items
    yielded = 0,
    finished = false,
  }
end

-- How many items the next page should yield (want; nil: the server's page
-- size) and how many to ask for (ask: one more, the probe item, when the
-- page is below the endpoint's largest).
local function page_size(w)
  local want = w.page
  if w.max and w.max - w.yielded < want then
    want = w.max - w.yielded
  end
  local ask = want
  if not w.limit_key then
    want = nil
  elseif ask < w.page_max then
    ask = ask + 1
  elseif want > 1 then
    want = want - 1
  end
  return want, ask
end

local function fetch_page(w, ask)
  local spec = w.spec
  if spec.fetch then
    return spec.fetch(w.limit_key and ask or nil, w.offset)
  end
  local q = copy(spec.query)
  q[w.limit_key] = ask
  q[w.offset_key] = w.offset
  return spec.client:request("GET", spec.path, q)
end

-- Takes a page in: how many of its items to yield, and whether it is the
-- last one.
local function take_page(w, list, total, want, ask)
  local got = #list
  if w.limit_key and got > ask then
    -- more than asked for: the server ignores the page size and sent
    -- the whole list (GET /blacklist's spec has no limit/offset)
    w.finished = true
    want = got
  elseif type(total) == "number" then
    w.finished = got == 0 or w.offset + got >= total
    want = got
  elseif want == nil then
    w.finished = got == 0
    want = got
  elseif got <= want then
    w.finished = true
    want = got
  end
  if w.max and want > w.max - w.yielded then
    want = w.max - w.yielded
  end
  w.buf, w.n, w.i = list, want, 0
  w.offset = w.offset + want
  if want == 0 then
    w.finished = true
  end
  return want
end

-- The next page, or nil, err: a failure ends the walk.
local function next_page(w)
  local want, ask = page_size(w)
  local res, err = fetch_page(w, ask)
  if res == nil then
    w.finished, w.n, w.i = true, 0, 0
    return nil, err
  end
  local list, total = w.extract(res)
  if not is_page(list) then
    w.finished, w.n, w.i = true, 0, 0
    return nil, decode_failure(w.method, w.spec.path)
  end
  return take_page(w, list, total, want, ask)
end

function _M.iterate(spec)
  local w = new_walk(spec)
  return function()
    if w.max and w.yielded >= w.max then
      return nil
    end
    if w.i >= w.n then
      if w.finished then
        return nil
      end
      local got, err = next_page(w)
      if got == nil then
        return false, err
      end
      if got == 0 then
        return nil
      end
    end
    w.i = w.i + 1
    w.yielded = w.yielded + 1
    return w.buf[w.i]
  end
end

--- The query of a one-page list method: `opts` may hold `limit` and
-- `offset` (checked, raising naming them); `extra` adds more allowed
-- query keys (a set) copied as they are; `max_limit` bounds `limit`.
function _M.query(method, opts, extra, max_limit)
  local allowed = { limit = true, offset = true }
  for k in pairs(extra or {}) do
    allowed[k] = true
  end
  opts = util.options(method, opts, allowed)
  local q = {}
  for k, v in pairs(opts) do
    q[k] = v
  end
  util.integer(method, "opts.limit", q.limit, true, 1)
  util.integer(method, "opts.offset", q.offset, true, 0)
  if max_limit and q.limit and q.limit > max_limit then
    util.fail(method, "opts.limit", "at most " .. max_limit .. " expected, got " .. q.limit)
  end
  return q
end

--- An iterator over a limit/offset endpoint whose pages are bare lists:
-- checks `opts` (`limit`, `max`, `offset`, plus the query keys in the set
-- `extra`) and walks `path`.
function _M.each(client, method, path, opts, extra)
  opts = _M.options(method, opts, extra)
  local query = {}
  for k in pairs(extra or {}) do
    query[k] = opts[k]
  end
  return _M.iterate{ client = client, path = path, query = query,
                     limit = opts.limit, max = opts.max, offset = opts.offset }
end

--- Checks the common iterator options and returns them.
function _M.options(method, opts, extra)
  local allowed = { limit = true, max = true, offset = true }
  for k in pairs(extra or {}) do
    allowed[k] = true
  end
  opts = util.options(method, opts, allowed)
  util.integer(method, "opts.limit", opts.limit, true, 1)
  util.integer(method, "opts.max", opts.max, true, 0)
  util.integer(method, "opts.offset", opts.offset, true, 0)
  return opts
end

return _M
