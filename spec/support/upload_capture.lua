-- The nginx side of spec/upload_spec.lua (one worker; runs in nginx's
-- LuaJIT):
--   /capture/...   stores what it received (dir/captured/N.body, the raw
--                  body; N.head, the request line and headers as JSON) and
--                  answers {"captured": N}
--   /t/upload?case=NAME[&limited=1]   runs the upload case NAME of
--                  spec/support/upload_cases.lua with a client inside
--                  nginx (cosockets) against /capture; answers the
--                  client's result or error as JSON, 200 either way
local json = require("sendpulse").json
local ngx = ngx   -- luacheck: ignore 113 (the spec runs this module inside nginx)

local M = {}

local count = 0

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function M.capture(dir)
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body == nil then
    local file = ngx.req.get_body_file()
    body = file and read(file) or ""
  end
  count = count + 1
  local headers = {}
  for k, v in pairs(ngx.req.get_headers(100, true)) do
    headers[k:lower()] = type(v) == "table" and table.concat(v, ", ") or v
  end
  write(dir .. "/captured/" .. count .. ".body", body)
  write(dir .. "/captured/" .. count .. ".head", json.encode{
    method = ngx.req.get_method(), uri = ngx.var.request_uri, headers = headers,
    http = ngx.req.http_version(),
  })
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode{ captured = count })
end

function M.upload(dir, port)
  local cases = require "support.upload_cases"
  local case = cases.cases(dir)[ngx.var.arg_case]
  local client = cases.client(("http://127.0.0.1:%d/capture"):format(port),
                              ngx.var.arg_limited and cases.limited or nil)
  ngx.header["Content-Type"] = "application/json"
  ngx.header["X-Transport"] = client._transport and client._transport.name or "?"
  local ok, res, err = pcall(case.call, client)
  if not ok then
    return ngx.say(json.encode{ raised = tostring(res) })
  end
  if res == nil then
    return ngx.say(json.encode{ err = tostring(err), kind = err and err.kind })
  end
  ngx.say(json.encode{ res = res })
end

return M
