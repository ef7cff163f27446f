-- The README and the rockspec stay in step with the code.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function lines_of(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do
    out[#out + 1] = line
  end
  p:close()
  return out
end

describe("documentation and packaging", function()
  it("README's method table matches the doc comments", function()
    local out = lines_of("lua5.4 tools/api-table --check 2>&1")
    assert.matches(" 0 problems$", out[#out], table.concat(out, "\n"))
  end)

  it("every endpoint a named method calls has a sandbox route", function()
    -- "{...}" stands for any one segment; the query and a trailing slash
    -- do not take part
    local function segments(p)
      p = p:gsub("%?.*$", ""):gsub("/$", "")
      local out = {}
      for seg in p:gmatch("[^/]+") do
        out[#out + 1] = seg:find("^{.*}$") and "{}" or seg
      end
      return out
    end
    local function matches(route, endpoint)
      if #route ~= #endpoint then
        return false
      end
      for i = 1, #route do
        local a, b = route[i], endpoint[i]
        if a ~= "{}" and b ~= "{}" and a ~= b then
          return false
        end
      end
      return true
    end
    local routes = {}
    local areas = "ls sandbox/lua/sandbox/areas/*.lua sandbox/lua/sandbox/auth.lua"
    for _, f in ipairs(lines_of(areas)) do
      for m, p in read(f):gmatch('{%s*"(%u+)",%s*"(/[^"]*)"') do
        routes[#routes + 1] = { method = m, path = segments(p) }
      end
    end
    local endpoints = 0
    for _, f in ipairs(lines_of("ls lua/sendpulse/*.lua")) do
      for m, p in read(f):gmatch("@http%s+(%u+)%s+(%S+)") do
        endpoints = endpoints + 1
        local found = false
        for _, r in ipairs(routes) do
          if r.method == m and matches(r.path, segments(p)) then
            found = true
            break
          end
        end
        assert.is_true(found, "no sandbox route for " .. m .. " " .. p .. " (" .. f .. ")")
      end
    end
    assert.is_true(endpoints >= 124, endpoints .. " endpoints")
  end)

  it("README shows examples/openresty/nginx.conf verbatim", function()
    local readme = read("README.md")
    assert.truthy(readme:find(read("examples/openresty/nginx.conf"), 1, true))
  end)

  it("the rockspec lists every Lua module and C source", function()
    local rockspec = read("rockspec/sendpulse-scm-1.rockspec")
    for _, file in ipairs(lines_of("cd lua && find sendpulse -name '*.lua' | sort")) do
      local module = file:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      assert.truthy(rockspec:find('["' .. module .. '"] = "lua/' .. file .. '"', 1, true),
                    module .. " is missing from the rockspec")
    end
    for _, file in ipairs(lines_of("ls csrc/*.c")) do
      assert.truthy(rockspec:find('"' .. file .. '"', 1, true),
                    file .. " is missing from the rockspec")
    end
  end)
end)
