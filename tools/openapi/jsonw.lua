-- JSON text for the developer tools: mappings read by tools/openapi/yaml.lua
-- keep their document order, other tables have their keys sorted, so the
-- output is the same on every run. Two-space indentation when `pretty`.
local yaml = require "openapi.yaml"

local M = {}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
                    ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f" }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end
M.quote = quote

local function number(v)
  if math.type(v) == "integer" then
    return ("%d"):format(v)
  end
  if v ~= v or v == math.huge or v == -math.huge then
    error("JSON has no NaN or infinity")
  end
  if v == math.floor(v) and math.abs(v) < 2^53 then
    return ("%.1f"):format(v)         -- keep it a float: 1.0
  end
  for prec = 15, 17 do
    local s = ("%." .. prec .. "g"):format(v)
    if tonumber(s) == v then
      return s
    end
  end
end

local function is_array(t)
  if yaml.is_seq(t) then
    return true
  end
  if yaml.is_map(t) then
    return false
  end
  local mt = getmetatable(t)
  if mt and mt.__jsontype then
    return mt.__jsontype == "array"
  end
  local n = 0
  for _ in pairs(t) do
    n = n + 1
  end
  return n > 0 and #t == n
end

local function keys_of(t)
  local keys = yaml.keys(t)
  if keys then
    return keys
  end
  keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

function M.encode(v, pretty)
  local out = {}
  local function put(x, ind)
    local tx = type(x)
    if x == yaml.null then
      out[#out + 1] = "null"
    elseif tx == "string" then
      out[#out + 1] = quote(x)
    elseif tx == "number" then
      out[#out + 1] = number(x)
    elseif tx == "boolean" then
      out[#out + 1] = tostring(x)
    elseif tx == "table" then
      local inner = pretty and ("\n" .. ind .. "  ") or ""
      local close = pretty and ("\n" .. ind) or ""
      local colon = pretty and ": " or ":"
      if is_array(x) then
        if #x == 0 then
          out[#out + 1] = "[]"
          return
        end
        out[#out + 1] = "["
        for i, item in ipairs(x) do
          out[#out + 1] = (i > 1 and "," or "") .. inner
          put(item, ind .. "  ")
        end
        out[#out + 1] = close .. "]"
      else
        local keys = keys_of(x)
        if #keys == 0 then
          out[#out + 1] = "{}"
          return
        end
        out[#out + 1] = "{"
        for i, k in ipairs(keys) do
          out[#out + 1] = (i > 1 and "," or "") .. inner .. quote(tostring(k)) .. colon
          put(x[k], ind .. "  ")
        end
        out[#out + 1] = close .. "}"
      end
    else
      error("cannot write a " .. tx .. " as JSON")
    end
  end
  put(v, "")
  return table.concat(out)
end

return M
