-- Bad input to every public function: a clear error that names the
-- problem, or a safely encoded request; never a stray Lua error, a crash,
-- or something malformed on the wire.
local sendpulse = require "sendpulse"
local core = require "sendpulse.core"
local Client = require "sendpulse.client"
local sandbox = require "support.sandbox"

local HUGE_STRING = string.rep("x", 1000000)
local JUNK = {
  false, true, {}, { {} }, 0 / 0, math.huge, -1, 0, 1.5, 1e308,
  9007199254740993, "", "\0", "a\r\nX-Injected: 1", "../../etc/passwd",
  "a?b#c", "a/b", "%00", "not-an-email", "x@y.z", "+380501234567",
  HUGE_STRING, print, coroutine.create(print), { email = "a@b.c" },
  { "a@b.c", 7 }, { ["\0"] = "\r\n" },
}

-- A raised error is fine when it is clear: ours say "sendpulse", Lua's
-- own argument checks in the C core say "bad argument".
local function acceptable_raise(msg)
  return type(msg) == "string" and (msg:find("sendpulse", 1, true) ~= nil
                                    or msg:find("bad argument", 1, true) ~= nil)
end

local function methods()
  local names = {}
  for name, fn in pairs(Client) do
    if type(fn) == "function" and not name:find("^_") and name ~= "new"
       and name ~= "mixin" and name ~= "close" then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

describe("bad input #sandbox", function()
  local client

  setup(function()
    client = sandbox.fresh_client{ max_retries = 0 }
    assert(client:user_info())
  end)

  it("to every client method raises our error or is encoded safely", function()
    local tried, raised, answered = 0, 0, 0
    for _, name in ipairs(methods()) do
      for _, a in ipairs(JUNK) do
        for _, args in ipairs{ { a }, { 1, a }, { 1, "x@y.z", a }, { a, a, a } } do
          tried = tried + 1
          local ok, res, err = pcall(client[name], client, args[1], args[2], args[3])
          if not ok then
            assert.is_true(acceptable_raise(res), name .. ": " .. tostring(res))
            raised = raised + 1
          else
            if type(res) == "function" then       -- an iterator: take a step
              ok, res, err = pcall(res)
              assert.is_true(ok or acceptable_raise(res), name .. ": " .. tostring(res))
            end
            if res == nil and err ~= nil then
              assert.is_string(err.kind, name)
            end
            answered = answered + 1
          end
        end
      end
    end
    print(("\n  [bad input] %d calls over %d methods: %d raised, %d answered")
          :format(tried, #methods(), raised, answered))
  end)

  it("never put anything malformed on the wire", function()
    for _, e in ipairs(sandbox.log()) do
      assert.is_true(core.check_path(e.path), e.path)
      assert.is_nil((e.query or ""):find("[%c ]"), e.query)
      if e.body and e.content_type == "application/json" then
        assert.is_table(sendpulse.json.decode(e.body), e.path)
      end
    end
  end)

  it("to the module functions raises our error", function()
    for _, a in ipairs(JUNK) do
      -- (stores.file is left out: a junk string is a valid directory name)
      for _, f in ipairs{ sendpulse.path, sendpulse.stores.ngx_shared,
                          sendpulse.pacers.ngx_shared, sendpulse.json.decode,
                          sendpulse.new, sendpulse.array } do
        local ok, msg = pcall(f, a)
        assert.is_true(ok or acceptable_raise(msg), tostring(msg))
      end
      local ok, msg = pcall(sendpulse.json.encode, a)
      assert.is_true(ok or acceptable_raise(msg), tostring(msg))
    end
  end)
end)
