-- Multipart uploads as the server receives them, over both transports:
-- libcurl (this process) and cosockets (a client inside nginx, whose
-- request the core's wire encoder builds). One nginx of our own (one
-- worker, build/ngx-upload) stores every body it gets byte for byte; the
-- spec parses it strictly (boundary, part heads, the bytes of each part)
-- and compares the parts with what spec/support/upload_cases.lua sent.
-- Tagged "ngx": run once, from the Lua 5.4 busted run.
local cases = require "support.upload_cases"
local json = require("sendpulse").json

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, ok == true or code == 0
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function free_port()
  for port = 30000 + math.random(0, 400), 30999 do
    local _, busy = sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. port .. "'")
    if not busy then
      return port
    end
  end
  error("no free port")
end

local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
USER_LINE
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path DIR/tmp/body;
    proxy_temp_path DIR/tmp/proxy;
    fastcgi_temp_path DIR/tmp/fastcgi;
    uwsgi_temp_path DIR/tmp/uwsgi;
    scgi_temp_path DIR/tmp/scgi;
    lua_package_path "ROOT/lua/?.lua;ROOT/lua/?/init.lua;ROOT/spec/?.lua;;";
    lua_package_cpath "ROOT/build-jit/?.so;;";
    client_max_body_size 64m;
    client_body_buffer_size 64m;
    server {
        listen 127.0.0.1:PORT;
        location /capture/ {
            content_by_lua_block { require("support.upload_capture").capture("DIR") }
        }
        location = /t/upload {
            content_by_lua_block { require("support.upload_capture").upload("DIR", PORT) }
        }
    }
}
]]

-- The parts of a multipart/form-data body, read strictly: nil and why
-- when it is not well formed.
local function parse_multipart(content_type, body)
  local boundary = content_type and content_type:match("^multipart/form%-data;%s*boundary=(%S+)$")
  if not boundary then
    return nil, "Content-Type " .. tostring(content_type)
  end
  boundary = boundary:gsub('^"(.*)"$', "%1")
  if #boundary > 70 or not boundary:find("^[%w'()+_,./:=?-]+$") then
    return nil, "bad boundary " .. boundary
  end
  local delim = "--" .. boundary
  if body:sub(1, #delim + 2) ~= delim .. "\r\n" then
    return nil, "the body does not start with the boundary"
  end
  local closing = "\r\n" .. delim .. "--\r\n"
  if body:sub(-#closing) ~= closing then
    return nil, "the body does not end with the closing boundary"
  end
  local parts, at = {}, #delim + 3
  local inner = body:sub(1, #body - #closing) .. "\r\n" .. delim
  while at <= #inner do
    local stop = inner:find("\r\n" .. delim, at, true)
    local raw = inner:sub(at, stop - 1)
    local head, data = raw:match("^(.-)\r\n\r\n(.*)$")
    if not head then
      return nil, "a part without a head: " .. raw:sub(1, 60)
    end
    local part = { data = data }
    for line in (head .. "\r\n"):gmatch("(.-)\r\n") do
      local name, value = line:match("^([%w-]+): (.*)$")
      if not name then
        return nil, "bad head line " .. line
      end
      name = name:lower()
      if name == "content-disposition" then
        part.name = value:match('^form%-data; name="([^"]*)"')
        part.filename = value:match('; filename="([^"]*)"$')
        if not part.name then
          return nil, "bad Content-Disposition " .. value
        end
      elseif name == "content-type" then
        part.content_type = value
      else
        return nil, "unexpected head " .. line
      end
    end
    parts[#parts + 1] = part
    local after = stop + 2 + #delim
    if after <= #inner and inner:sub(after, after + 1) ~= "\r\n" then
      return nil, "a boundary line with more after it"
    end
    at = after + 2
  end
  return parts, boundary
end

-- Compares received parts with the expected ones: parts of one name in
-- order, any order between names. Returns a list of problems.
local function compare(got, want)
  local problems = {}
  local by_name = {}
  for _, p in ipairs(got) do
    by_name[p.name] = by_name[p.name] or {}
    table.insert(by_name[p.name], p)
  end
  local seen = {}
  for _, w in ipairs(want) do
    local name, data, filename, ctype = w[1], w[2], w[3], w[4]
    seen[name] = (seen[name] or 0) + 1
    local p = (by_name[name] or {})[seen[name]]
    local label = name .. "#" .. seen[name]
    if not p then
      problems[#problems + 1] = label .. ": missing"
    else
      if p.data ~= data then
        problems[#problems + 1] = ("%s: %d bytes received, %d sent%s"):format(label, #p.data,
          #data, #p.data == #data and " (different bytes)" or "")
      end
      if p.filename ~= filename then
        problems[#problems + 1] = label .. ": filename " .. tostring(p.filename)
      end
      if p.content_type ~= ctype then
        problems[#problems + 1] = label .. ": Content-Type " .. tostring(p.content_type)
      end
    end
  end
  for name, list in pairs(by_name) do
    if #list ~= (seen[name] or 0) then
      problems[#problems + 1] = name .. ": " .. #list .. " parts received"
    end
  end
  return problems
end

describe("multipart uploads on the wire #ngx", function()
  local root = sh("pwd"):gsub("%s+$", "")
  local dir = root .. "/build/ngx-upload"
  local port, base

  local function captured_count()
    local out = sh("ls '" .. dir .. "/captured' | grep -c '\\.body$'")
    return tonumber(out:match("%d+"))
  end

  local function received(n)
    local head = assert(json.decode(assert(read(dir .. "/captured/" .. n .. ".head"))))
    return head, assert(read(dir .. "/captured/" .. n .. ".body"))
  end

  local function check_received(n, case)
    local head, body = received(n)
    assert.equal("POST", head.method)
    local parts, why = parse_multipart(head.headers["content-type"], body)
    assert(parts, why)
    assert.equal(tostring(#body), head.headers["content-length"])
    assert.is_nil(head.headers["transfer-encoding"])
    assert.same({}, compare(parts, case.parts))
    return head, why
  end

  setup(function()
    sh("test -s '" .. dir .. "/nginx.pid' && kill -QUIT \"$(cat '" .. dir
       .. "/nginx.pid')\" && sleep 0.3")
    sh("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "/conf' '" .. dir .. "/tmp' '"
       .. dir .. "/captured' '" .. dir .. "/files'")
    for name, bytes in pairs(cases.fixtures()) do
      write(dir .. "/files/" .. name, bytes)
    end
    port = free_port()
    base = "http://127.0.0.1:" .. port
    -- as root, nginx's workers would run as nobody, who cannot write in dir
    local user = sh("id -u"):match("%d+") == "0"
      and ("user %s %s;"):format(sh("id -un"):match("%S+"), sh("id -gn"):match("%S+")) or ""
    local conf = CONF:gsub("USER_LINE", user):gsub("DIR", dir):gsub("ROOT", root)
      :gsub("PORT", tostring(port))
    write(dir .. "/conf/nginx.conf", conf)
    local out, ok = sh(("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT nginx -p %s -c "
      .. "%s/conf/nginx.conf -e %s/error.log"):format(dir, dir, dir))
    assert(ok, "nginx did not start: " .. out)
    for _ = 1, 100 do
      if select(2, sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. port .. "'")) then
        return
      end
      sh("sleep 0.05")
    end
    error("nginx did not listen: " .. tostring(read(dir .. "/error.log")))
  end)

  teardown(function()
    local pid = (read(dir .. "/nginx.pid") or ""):match("%d+")
    if pid then
      sh("kill -QUIT " .. pid)
      for _ = 1, 100 do
        if not select(2, sh("kill -0 " .. pid)) then
          break
        end
        sh("sleep 0.05")
      end
    end
  end)

  -- GET /t/upload?case=NAME in nginx; returns the decoded answer and the
  -- transport the client inside nginx used
  local function in_nginx(name, limited)
    local out = sh(("curl -sS --noproxy '*' -m 20 -D - '%s/t/upload?case=%s%s'")
      :format(base, name, limited and "&limited=1" or ""))
    local head, body = out:match("^(.-)\r\n\r\n(.*)$")
    assert(head, out)
    assert.matches("^HTTP/1%.1 200", head)
    return assert(json.decode(body), body), head:match("\n[Xx]%-[Tt]ransport: (%S+)")
  end

  for _, name in ipairs{ "file_manager", "crm", "quoted" } do
    it("libcurl sends " .. name .. "'s upload as a well-formed multipart body", function()
      local case = cases.cases(dir)[name]
      local client = cases.client(base .. "/capture")
      assert.equal("curl", client._transport.name)
      local res, err = case.call(client)
      client:close()
      assert(res, tostring(err))
      local head, boundary = check_received(res.captured, case)
      assert.matches("^/capture/", head.uri)
      assert.matches("application/json", head.headers.accept, 1, true)
      assert.truthy(boundary)
    end)

    it("cosockets send " .. name .. "'s upload as a well-formed multipart body", function()
      local case = cases.cases(dir)[name]
      local answer, transport = in_nginx(name)
      assert.equal("ngx", transport)
      assert(answer.res, answer.err or answer.raised)
      local head = check_received(answer.res.captured, case)
      assert.matches("^/capture/", head.uri)
    end)
  end

  for _, name in ipairs{ "file_manager", "quoted" } do
  it("both transports send the same parts (" .. name .. ")", function()
    local case = cases.cases(dir)[name]
    local client = cases.client(base .. "/capture")
    local a = assert(case.call(client)).captured
    client:close()
    local b = assert(in_nginx(name).res).captured
    local pa = assert(parse_multipart(received(a).headers["content-type"], select(2, received(a))))
    local pb = assert(parse_multipart(received(b).headers["content-type"], select(2, received(b))))
    local function key(list)
      local out = {}
      for i, p in ipairs(list) do
        out[i] = table.concat({ p.name, p.filename or "", p.content_type or "", p.data }, "\0")
      end
      table.sort(out)
      return out
    end
    assert.same(key(pa), key(pb))
  end)
  end

  it("a file over max_upload_size raises before anything is sent, over both transports",
     function()
    local case = cases.cases(dir).too_big
    local before = captured_count()
    local client = cases.client(base .. "/capture", cases.limited)
    local ok, e = pcall(case.call, client)
    client:close()
    assert.is_false(ok)
    assert.matches("4096 bytes to upload, more than max_upload_size", tostring(e), 1, true)
    local answer = in_nginx("too_big", true)
    assert.matches("4096 bytes to upload, more than max_upload_size", answer.raised or "", 1, true)
    assert.equal(before, captured_count())
    -- the same call under the default limit does reach the server
    local res = assert(in_nginx("too_big").res)
    assert.equal(before + 1, res.captured)
  end)

  it("logged no error in nginx", function()
    assert.is_nil((read(dir .. "/error.log") or ""):find("%[error%]"))
  end)
end)

-- No server needed: the part heads are checked when the call is made,
-- before any transport sees it.
describe("multipart part heads", function()
  local sendpulse = require "sendpulse"
  local client

  before_each(function()
    client = cases.client("http://127.0.0.1:9")
  end)

  after_each(function()
    client:close()
  end)

  local function refused(body, text)
    local ok, err = pcall(client.request, client, "POST", "/upload", nil, body,
                          { multipart = true })
    assert.is_false(ok)
    assert.matches(text, tostring(err), 1, true)
  end

  it("refuse CR, LF and NUL in a field name, a file name and a content type", function()
    for _, bad in ipairs{ "a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b" } do
      refused({ [bad] = "v" }, "(a multipart field name: not empty, without CR, LF or NUL)")
      refused({ f = sendpulse.file{ data = "x", filename = bad } },
              "bad argument 'body.f' (a file name without CR, LF or NUL expected)")
      refused({ f = sendpulse.file{ data = "x", content_type = bad } },
              "bad argument 'body.f' (a content type without CR, LF or NUL expected)")
    end
    refused({ [""] = "v" }, "multipart field name")
  end)
end)
