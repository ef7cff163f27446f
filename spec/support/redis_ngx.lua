-- An nginx whose workers use the Redis store and pacer over cosockets
-- (lua-nginx-redis), for spec/redis_ngx_spec.lua: the same Redis, keys and
-- scripts as the plain Lua processes of the spec.
local support = require "support.redis"
local own_port = require "support.own_port"

local M = {}

local sh = support.sh

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function free_port()
  for port = 29500 + math.random(0, 400), 29999 do
    local _, busy = sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. port .. "'")
    if not busy then
      return port
    end
  end
  error("no free port")
end

-- The locations: each builds its store or pacer from the query (the URLs
-- come from the environment nginx was started with).
local LOCATIONS = [[
        location = /t/pid {
            content_by_lua_block { ngx.say(ngx.worker.pid()) }
        }
        location = /t/reserve {
            content_by_lua_block {
                local spec = require "spec_redis"
                local p = spec.pacer()
                local args = ngx.req.get_uri_args()
                local out = {}
                for i = 1, tonumber(args.n) do
                    local d, err = p:reserve(args.key, 10, 1.02, spec.limits)
                    out[i] = d and string.format("%.6f", d) or ("fail " .. tostring(err))
                end
                out[#out + 1] = "c-client " .. tostring(p.redis._conn ~= nil)
                ngx.say(table.concat(out, "\n"))
            }
        }
        location = /t/store {
            content_by_lua_block {
                local spec = require "spec_redis"
                local args = ngx.req.get_uri_args()
                local s = spec.store()
                local ok, a, b = pcall(s[args.op], s, args.key, args.token,
                                       args.expires_at and tonumber(args.expires_at))
                ngx.say(ok and "ok" or "error", " ", tostring(a), " ", tostring(b))
            }
        }
        location = /t/fleet {
            content_by_lua_block {
                -- n calls of a sendpulse client on the sandbox, with the
                -- Redis store and pacer under the prefix given (one client
                -- per worker and prefix), from `start` (core.monotime)
                local core = require "sendpulse.core"
                local spec = require "spec_redis"
                local args = ngx.req.get_uri_args()
                local client = spec.fleet_client(args.prefix)
                local start = tonumber(args.start) or 0
                while core.monotime() < start do
                    ngx.sleep(0.002)
                end
                local out = { "worker " .. ngx.worker.pid() }
                for _ = 1, tonumber(args.n) do
                    local res, err = client:get("/user/info")
                    if res then
                        out[#out + 1] = string.format("ok %.6f", core.monotime())
                    else
                        out[#out + 1] = string.format("fail %s %s %s %.6f %s", err.kind,
                            tostring(err.retry_after), tostring(err.quota), core.monotime(),
                            tostring(err.message))
                    end
                end
                ngx.say(table.concat(out, "\n"))
            }
        }
        location = /t/sleep {
            content_by_lua_block {
                -- the transport's and the Redis modules' sleeps, of s seconds
                local core = require "sendpulse.core"
                local s = tonumber(ngx.var.arg_s)
                local t = core.monotime()
                require("sendpulse.transport.ngx").sleep(s)
                local a = core.monotime() - t
                t = core.monotime()
                require("sendpulse.redis").sleep(s)
                ngx.say(string.format("%.6f %.6f", a, core.monotime() - t))
            }
        }
        location = /t/log-phase {
            content_by_lua_block { ngx.say("logged") }
            log_by_lua_block {
                -- no cosockets here: the C client does it
                local spec = require "spec_redis"
                local p = spec.pacer()
                local d = p:reserve(ngx.var.arg_key, 10, 1.02)
                ngx.log(ngx.WARN, "log phase reservation: ", tostring(d),
                        " c-client ", tostring(p.redis._conn ~= nil))
            }
        }
]]

local INIT = [[
    init_by_lua_block {
        local stores_redis = require "sendpulse.stores.redis"
        local pacers_redis = require "sendpulse.pacers.redis"
        local M = {}
        M.limits = { { count = 10, window = 1.02 }, { count = 1000, window = 3600 } }
        local function url()
            local v = ngx.var and ngx.var.arg_server
            if v == "tls" then return os.getenv("SENDPULSE_REDIS_TLS_URL") end
            if v == "private" then return os.getenv("SPEC_REDIS_PRIVATE_URL") end
            if v == "wrong" then
                return (os.getenv("SENDPULSE_REDIS_URL"):gsub("//:[^@]+@", "//:not-the-password@"))
            end
            return os.getenv("SENDPULSE_REDIS_URL")
        end
        -- one object per server and options, kept per worker
        local cache = {}
        local function get(kind, make)
            local k = kind .. (ngx.var.arg_server or "") .. (ngx.var.arg_name or "")
                      .. (ngx.var.arg_lock_timeout or "")
            if not cache[k] then cache[k] = make() end
            return cache[k]
        end
        function M.pacer()
            return get("p", function()
                return pacers_redis.new{ url = url(), prefix = "spec:",
                                         server_name = ngx.var.arg_name,
                                         reserve_ahead = 3600 }
            end)
        end
        function M.store()
            return get("s", function()
                return stores_redis.new{ url = url(), prefix = "spec:",
                                         server_name = ngx.var.arg_name,
                                         lock_timeout = tonumber(ngx.var.arg_lock_timeout) }
            end)
        end
        local clients = {}
        function M.fleet_client(prefix)
            if not clients[prefix] then
                local sendpulse = require "sendpulse"
                local url = os.getenv("SENDPULSE_REDIS_URL")
                clients[prefix] = sendpulse.new{
                    client_id = "sandbox-client-id", client_secret = "sandbox-client-secret",
                    base_url = os.getenv("SENDPULSE_SANDBOX_URL"), retry_delay = 0.05,
                    token_store = sendpulse.stores.redis{ url = url, prefix = prefix },
                    pacer = sendpulse.pacers.redis{ url = url, prefix = prefix },
                }
            end
            return clients[prefix]
        end
        package.loaded.spec_redis = M
    }
]]

function M.start(workers, private_url, attempt)
  local root = sh("pwd"):gsub("%s+$", "")
  local dir = root .. "/build/redis-ngx"
  local servers = support.servers()
  sh("test -s '" .. dir .. "/nginx.pid' && kill -QUIT \"$(cat '" .. dir
     .. "/nginx.pid')\" && sleep 0.3")
  sh("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "/conf' '" .. dir .. "/tmp'")
  local port = free_port()
  local conf = table.concat({
    "load_module /usr/lib/nginx/modules/ndk_http_module.so;",
    "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;",
    ("worker_processes %d;"):format(workers),
    ("pid %s/nginx.pid;"):format(dir),
    ("error_log %s/error.log warn;"):format(dir),
    "env SENDPULSE_REDIS_URL;", "env SENDPULSE_REDIS_TLS_URL;", "env SPEC_REDIS_PRIVATE_URL;",
    "env SENDPULSE_SANDBOX_URL;",
    "events { worker_connections 256; }",
    "http {",
    "    access_log off;",
    ("    client_body_temp_path %s/tmp/body; proxy_temp_path %s/tmp/proxy;")
      :format(dir, dir),
    ("    fastcgi_temp_path %s/tmp/fastcgi; uwsgi_temp_path %s/tmp/uwsgi;"):format(dir, dir),
    ("    scgi_temp_path %s/tmp/scgi;"):format(dir),
    ('    lua_package_path "%s/lua/?.lua;%s/lua/?/init.lua;;";'):format(root, root),
    ('    lua_package_cpath "%s/build-jit/?.so;;";'):format(root),
    ("    lua_ssl_trusted_certificate %s/conf/ca-bundle.pem;"):format(dir),
    INIT,
    -- (reuseport: the kernel spreads connections over the workers)
    ("    server {\n        listen 127.0.0.1:%d reuseport;"):format(port),
    LOCATIONS,
    "    }",
    "}",
  }, "\n")
  local f = assert(io.open(dir .. "/conf/nginx.conf", "wb"))
  f:write(conf)
  f:close()
  -- the TLS Redis's CA, and the sandbox's when there is one (/t/fleet)
  local sandbox_ca = os.getenv("SENDPULSE_SANDBOX_CA")
  f = assert(io.open(dir .. "/conf/ca-bundle.pem", "wb"))
  f:write(read(servers.ca), "\n", sandbox_ca and read(sandbox_ca) or "")
  f:close()
  local out, ok = sh(("env -u LUA_PATH -u LUA_CPATH -u LUA_INIT SENDPULSE_REDIS_URL='%s' "
    .. "SENDPULSE_REDIS_TLS_URL='%s' SPEC_REDIS_PRIVATE_URL='%s' SENDPULSE_SANDBOX_URL='%s' "
    .. "nginx -p %s -c %s/conf/nginx.conf -e %s/error.log")
    :format(servers.url, servers.tls_url, private_url or "",
            os.getenv("SENDPULSE_SANDBOX_URL") or "", dir, dir, dir))
  assert(ok, "nginx did not start: " .. out)
  M.dir, M.base = dir, ("http://127.0.0.1:%d"):format(port)
  for _ = 1, 100 do
    local _, up = sh("curl -fsS --noproxy '*' -o /dev/null '" .. M.base
                     .. "/t/store?op=get&key=warmup'")
    if up then
      if own_port.check(dir .. "/nginx.pid", function()
        return sh("curl -sS --noproxy '*' '" .. M.base .. "/t/pid'"):match("^(%d+)")
      end) then
        return M
      end
      M.stop()          -- another run's nginx shares the port: take another
      if (attempt or 1) >= 5 then
        error("nginx did not get a port of its own in 5 tries")
      end
      return M.start(workers, private_url, (attempt or 1) + 1)
    end
    sh("sleep 0.05")
  end
  error("nginx did not answer: " .. read(dir .. "/error.log"))
end

function M.stop()
  if not M.dir then
    return
  end
  local pid = read(M.dir .. "/nginx.pid"):match("%d+")
  sh("kill -QUIT " .. pid)
  for _ = 1, 100 do
    local _, alive = sh("kill -0 " .. pid)
    if not alive then
      break
    end
    sh("sleep 0.05")
  end
  M.dir = nil
end

-- GET path; returns the status and the body.
function M.get(path)
  local out = sh("curl -sS --noproxy '*' -w '\\n%{http_code}' '" .. M.base .. path .. "'")
  local body, status = out:match("^(.*)\n(%d+)$")
  return tonumber(status), body
end

-- n GETs at once; returns their bodies.
function M.parallel(path, n)
  local files, cmds = {}, {}
  for i = 1, n do
    files[i] = os.tmpname()
    cmds[i] = ("curl -sS --noproxy '*' -o %s '%s%s'"):format(files[i], M.base, path)
  end
  sh("(" .. table.concat(cmds, " & ") .. " & wait)")
  local bodies = {}
  for i, file in ipairs(files) do
    bodies[i] = read(file)
    os.remove(file)
  end
  return bodies
end

function M.error_log()
  return read(M.dir .. "/error.log")
end

return M
