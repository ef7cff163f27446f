-- Helpers of spec/contract_spec.lua: Prism on loopback for the facts-only
-- copy of the specs, and valid arguments for each operation, taken from
-- the spec's examples where it has them and built from the schema
-- otherwise.
local sendpulse = require "sendpulse"

local M = {}

M.SERVICES = { "email", "smtp", "sms", "viber", "push", "verifier", "automation",
               "crm", "chatbots", "messenger", "instagram", "telegram", "whatsapp",
               "viber_bots", "tiktok", "live_chat", "popups", "courses", "files" }

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

--- The request violations Prism logged since byte `from` of its log, and
-- where the log ends now: { "Request body property emulate must be boolean", ... }.
function M.violations(dir, from)
  local f = io.open(dir .. "/log", "rb")
  if not f then
    return {}, from
  end
  f:seek("set", from or 0)
  local text = f:read("*a")
  local size = f:seek("end")
  f:close()
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local v = line:match("%[VALIDATOR%] ✖  error%s+(Request .*)$")
    if v then
      out[#out + 1] = (v:gsub("%s+$", ""))
    end
  end
  return out, size
end

--- Starts Prism for the given services' files (merged when several);
-- returns its URL and a function that stops it.
function M.prism(dir, services)
  local files = {}
  for i, s in ipairs(services) do
    files[i] = "api/openapi/" .. s .. ".json"
  end
  local out, ok = sh("tools/prism start " .. dir .. " " .. table.concat(files, " ") .. " 2>&1")
  assert(ok, "Prism did not start:\n" .. out)
  local url = assert(out:match("(http://127%.0%.0%.1:%d+)"), out)
  return url, function()
    sh("tools/prism stop " .. dir)
  end
end

--- Starts Prism for the multipart uploads: the given services' documents,
-- each multipart/form-data array property given an explicit encoding
-- (style form, exploded, reserved characters allowed). That is what
-- OpenAPI 3.0 means for such a property without one (one part per item),
-- but Prism 5.16 reads a multipart field as a single string unless the
-- document names a style, and then reports every upload's array as "must
-- be array". With the style it wraps the field in a list (of its last
-- part: Prism keeps one part per name), so it checks names, required
-- fields and types; spec/upload_spec.lua checks the parts themselves.
-- Returns the URL and a stop function.
function M.prism_uploads(dir, services)
  local json = sendpulse.json
  sh("mkdir -p '" .. dir .. "'")
  local files = {}
  for i, s in ipairs(services) do
    local doc = assert(json.decode(read("api/openapi/" .. s .. ".json")))
    for _, item in pairs(doc.paths) do
      for _, op in pairs(item) do
        local media = type(op) == "table" and op.requestBody
                      and op.requestBody.content
                      and op.requestBody.content["multipart/form-data"]
        local schema = media and M.deref(doc, media.schema)
        if schema and schema.properties then
          media.encoding = media.encoding or {}
          for name, prop in pairs(schema.properties) do
            if M.deref(doc, prop).type == "array" then
              media.encoding[name] = { style = "form", explode = true, allowReserved = true }
            end
          end
        end
      end
    end
    files[i] = dir .. "/" .. s .. ".json"
    local f = assert(io.open(files[i], "wb"))
    f:write(json.encode(doc))
    f:close()
  end
  local out, ok = sh("tools/prism start " .. dir .. " " .. table.concat(files, " ") .. " 2>&1")
  assert(ok, "Prism did not start:\n" .. out)
  local url = assert(out:match("(http://127%.0%.0%.1:%d+)"), out)
  return url, function()
    sh("tools/prism stop " .. dir)
  end
end

local docs = {}
function M.doc(service)
  local d = docs[service]
  if not d then
    d = assert(sendpulse.json.decode(read("api/openapi/" .. service .. ".json")))
    docs[service] = d
  end
  return d
end

local function deref(doc, node)
  while type(node) == "table" and node["$ref"] do
    local target = doc
    for part in node["$ref"]:sub(3):gmatch("[^/]+") do
      target = target[part:gsub("~1", "/"):gsub("~0", "~")]
    end
    node = target
  end
  return node
end
M.deref = deref

local null = sendpulse.null

local function first_type(t)
  if type(t) == "table" then
    for _, x in ipairs(t) do
      if x ~= "null" then
        return x
      end
    end
    return "null"
  end
  return t
end

local STRINGS = {
  ["date-time"] = "2024-01-15T10:00:00Z", date = "2024-01-15", time = "10:00:00",
  email = "frodo@shire.example", uuid = "0e9f1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
  UUID = "0e9f1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f", uri = "https://shire.example/page",
  hostname = "shire.example", ["Y-m-d H:i"] = "2024-01-15 10:00",
}

local function copy(v)
  if type(v) ~= "table" then
    return v
  end
  local t = {}
  for k, x in pairs(v) do
    t[k] = copy(x)
  end
  return setmetatable(t, getmetatable(v))
end

--- A value the schema accepts: its example, default, first enum value, or
-- one built from its type (required properties only, one array item).
function M.value(doc, node, depth)
  depth = depth or 0
  node = deref(doc, node) or {}
  if node.example ~= nil and node.example ~= null then
    return copy(node.example)
  end
  if type(node.examples) == "table" and node.examples[1] ~= nil then
    return copy(node.examples[1])
  end
  if node.default ~= nil and node.default ~= null then
    return copy(node.default)
  end
  if node.const ~= nil then
    return node.const
  end
  if type(node.enum) == "table" then
    for _, v in ipairs(node.enum) do
      if v ~= null then
        return v
      end
    end
  end
  local alts = node.oneOf or node.anyOf
  if alts and alts[1] then
    local first = deref(doc, alts[1])
    if node.properties or node.required then
      -- an object whose alternatives add requirements: the object, with
      -- what the first alternative requires
      local base, req = {}, {}
      for k, x in pairs(node) do
        if k ~= "oneOf" and k ~= "anyOf" then
          base[k] = x
        end
      end
      for _, r in ipairs(node.required or {}) do
        req[#req + 1] = r
      end
      for _, r in ipairs(first.required or {}) do
        req[#req + 1] = r
      end
      base.required = req
      base.properties = base.properties or first.properties
      return M.value(doc, base, depth + 1)
    end
    return M.value(doc, first, depth + 1)
  end
  local t = first_type(node.type)
  if t == nil then
    t = node.properties and "object" or node.items and "array" or "string"
  end
  if t == "object" then
    local out = {}
    for _, name in ipairs(node.required or {}) do
      local prop = node.properties and node.properties[name]
      out[name] = depth < 12 and M.value(doc, prop or {}, depth + 1) or "text"
    end
    return out
  elseif t == "array" then
    local n = math.max(node.minItems or 1, 1)
    local out = sendpulse.array()
    for i = 1, n do
      out[i] = M.value(doc, node.items or {}, depth + 1)
    end
    return out
  elseif t == "string" then
    local s = STRINGS[node.format] or "text"
    if node.format == "binary" then
      s = "file content"
    end
    if node.minLength and #s < node.minLength then
      s = s .. ("x"):rep(node.minLength - #s)
    end
    if node.maxLength and #s > node.maxLength then
      s = s:sub(1, node.maxLength)
    end
    return s
  elseif t == "integer" or t == "number" then
    local v = 1
    if node.minimum and v < node.minimum then
      v = node.minimum
    end
    if node.exclusiveMinimum and v <= node.exclusiveMinimum then
      v = node.exclusiveMinimum + 1
    end
    if node.maximum and v > node.maximum then
      v = node.maximum
    end
    return (math.tointeger and math.tointeger(v)) or v
  elseif t == "boolean" then
    return true
  elseif t == "null" then
    return null
  end
  return "text"
end

--- The operation object of `verb path` in a service's document.
function M.operation(service, verb, path)
  local doc = M.doc(service)
  local item = doc.paths[path]
  return item and item[verb:lower()], item, doc
end

--- Arguments for a generated method: every path parameter and required
-- query parameter, and the body from the media type's example (or the
-- first of its examples) when it has one, else built from its schema.
-- `from_schema` = true ignores the body's examples.
function M.args(service, row, from_schema)
  local op, item, doc = M.operation(service, row[1], row[2])
  assert(op, service .. " " .. row[1] .. " " .. row[2] .. " not in its document")
  local args = {}
  local params = {}
  for _, list in ipairs{ item.parameters or {}, op.parameters or {} } do
    for _, p in ipairs(list) do
      p = deref(doc, p)
      params[p["in"] .. ":" .. p.name] = p
    end
  end
  for _, p in pairs(params) do
    if p["in"] == "path" or p.required == true then
      local v = p.example
      if v == nil then
        v = M.value(doc, p.schema or {})
      end
      args[p.name] = v
    end
  end
  local rb = op.requestBody and deref(doc, op.requestBody)
  if rb then
    local _, media = next(rb.content)
    local body
    if not from_schema then
      if media.example ~= nil then
        body = copy(media.example)
      elseif media.examples then
        local names = {}
        for k in pairs(media.examples) do
          names[#names + 1] = k
        end
        table.sort(names)
        local ex = names[1] and deref(doc, media.examples[names[1]])
        body = ex and copy(ex.value)
      end
    end
    if body == nil then
      body = M.value(doc, media.schema or {})
    end
    if row.bw then
      args.body = body
    elseif type(body) == "table" then
      for k, v in pairs(body) do
        args[row.rn and row.rn["body_" .. k] and ("body_" .. k) or k] = v
      end
    end
  end
  return args
end

-- Fields a value has that its (compact) schema does not declare, where
-- it declares some: Prism lets them through (JSON Schema allows other
-- properties unless told otherwise), the API may ignore them silently.
function M.undeclared(s, v, where, out)
  out = out or {}
  if type(v) ~= "table" or type(s) ~= "table" then
    return out
  end
  local alts = s.one or s.any
  if alts then
    -- declared by the alternative that declares the most of v's keys
    local best, best_n = nil, -1
    for _, a in ipairs(alts) do
      local n = 0
      for k in pairs(a.p or {}) do
        if v[k] ~= nil then
          n = n + 1
        end
      end
      if n > best_n then
        best, best_n = a, n
      end
    end
    if best and best.p then
      local merged = { p = {} }
      for k, x in pairs(s.p or {}) do
        merged.p[k] = x
      end
      for k, x in pairs(best.p) do
        merged.p[k] = x
      end
      return M.undeclared(merged, v, where, out)
    end
  end
  if s.p and next(s.p) ~= nil and v[1] == nil then
    for k, x in pairs(v) do
      local sub = s.p[k]
      if sub == nil and s.ap == nil then
        out[#out + 1] = where .. "." .. tostring(k)
      elseif sub then
        M.undeclared(sub, x, where .. "." .. tostring(k), out)
      end
    end
  elseif s.i and v[1] ~= nil then
    for i, x in ipairs(v) do
      M.undeclared(s.i, x, where .. "[" .. i .. "]", out)
    end
  end
  return out
end

return M
