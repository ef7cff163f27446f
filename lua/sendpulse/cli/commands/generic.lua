-- The generic verbs (top-level): get, post, put, patch, delete on any path.
local args = require "sendpulse.cli.args"
local errors = require "sendpulse.cli.errors"

local insert = table.insert
local ipairs = ipairs
local string_char = string.char
local next = next
local tonumber = tonumber
local type = type

local param = args.param
local usage = errors.usage

local function percent_decode(s)
  return (s:gsub("%+", " "):gsub("%%(%x%x)", function(h)
    return string_char(tonumber(h, 16))
  end))
end

-- PATH (with an optional ?query) and NAME=VALUE pairs: path, query table.
local function api_path(p, pairs_list)
  local path, qs = p:match("^([^?#]*)%??([^#]*)")
  if path:find("^https?://") then
    usage("PATH: an API path such as /addressbooks expected, not a URL "
          .. "(use --base-url for the address)")
  end
  if path:sub(1, 1) ~= "/" then
    path = "/" .. path
  end
  local q = {}
  local function add(k, v)
    if q[k] == nil then
      q[k] = v
    elseif type(q[k]) == "table" then
      insert(q[k], v)
    else
      q[k] = { q[k], v }
    end
  end
  for part in qs:gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=(.*)$")
    add(percent_decode(k or part), percent_decode(v or ""))
  end
  for _, kv in ipairs(pairs_list or {}) do
    add(kv[1], kv[2])
  end
  return path, next(q) and q or nil
end

-- BODY...: one @FILE, - or JSON text, or NAME=VALUE / NAME:=JSON pairs.
local function verb_body(list)
  if not list or #list == 0 then
    return nil
  end
  local first = list[1]
  if #list == 1 and (first == "-" or first:sub(1, 1) == "@" or first:find("^%s*[%[{]")) then
    return args.json_body(first, "BODY")
  end
  local body = {}
  for _, s in ipairs(list) do
    local kv = args.TYPES.pair(s, "BODY")
    body[kv[1]] = kv[2]
  end
  return body
end

local BODY_HELP = "the JSON body: @FILE, - for standard input, the JSON text, "
  .. "or NAME=VALUE (a string) and NAME:=JSON pairs that make an object"

local function verb(method)
  local lower = method:lower()
  return {
    lower,
    summary = method .. " any API path, with a JSON body.",
    description = "The body is optional. Paths are sent as given (a missing leading "
      .. "/ is added); put values into paths percent-encoded.",
    args = { param("PATH", "string", "an API path such as /addressbooks"),
             param("BODY...", "string", BODY_HELP, { optional = true, key = "body" }) },
    usage = "PATH [@FILE | - | JSON | NAME=VALUE ... | NAME:=JSON ...]",
    example = {
      "sendpulse " .. lower .. " /addressbooks/1000001 @changes.json",
      "echo '{\"name\": \"VIP\"}' | sendpulse " .. lower .. " /addressbooks/1000001 -",
    },
    run = function(c, a)
      local path, q = api_path(a.path)
      if q then
        usage("PATH: a query string goes with 'get' only")
      end
      return c[lower](c, path, verb_body(a.body))
    end,
  }
end

return {
  commands = {
    { "get",
      summary = "GET any API path, with query parameters.",
      description = "Query parameters come as NAME=VALUE arguments, or in the path "
        .. "after a ?; a name given twice makes a list (name[]=a&name[]=b).",
      args = { param("PATH", "string", "an API path such as /addressbooks"),
               param("NAME=VALUE...", "pair", "query parameters",
                     { optional = true, key = "query" }) },
      example = { "sendpulse get /addressbooks limit=10 offset=20",
                  "sendpulse get '/smtp/emails?limit=5&recipient=frodo@shire.me'" },
      run = function(c, a)
        local path, q = api_path(a.path, a.query)
        return c:get(path, q)
      end },
    verb("POST"),
    verb("PUT"),
    verb("PATCH"),
    verb("DELETE"),
  },
}
