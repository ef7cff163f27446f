-- Inside nginx, what goes wrong in a cosocket must end as an error object
-- and leave nothing held: certificates that must be refused, through the
-- README's configuration (spec/support/ngx_app.lua), with the shared-dict
-- store whose lock a token fetch takes. Debian 12's lua-resty-core 0.1.25
-- raises an assertion inside sslhandshake for some of them instead of
-- returning an error; the worker used to stay wedged for 125 s after it.
local sandbox = require "support.sandbox"
local app = require "support.ngx_app"
local json = require("sendpulse").json

local LISTENERS = { "UNKNOWN_CA", "SELF_SIGNED", "WRONG_HOST", "EXPIRED" }

describe("inside nginx, faults nobody scripted #ngx #sandbox", function()
  after_each(function()
    app.stop()
  end)

  it("refuses every bad certificate as libcurl does, and the worker goes on", function()
    sandbox.reset()
    app.start(1)      -- one worker: the next request surely lands on it
    for _, name in ipairs(LISTENERS) do
      local url = os.getenv("SENDPULSE_SANDBOX_URL_" .. name)
      assert(url, "no SENDPULSE_SANDBOX_URL_" .. name)
      local curl = sandbox.client{ base_url = url, max_retries = 0 }
      local _, expected = curl:user_info()
      for round = 1, 2 do
        local status, body = app.get("/t/tls?url=" .. url)
        assert.equal(200, status, body .. app.error_lines())
        local out = json.decode(body)
        assert.is_false(out.ok, name)
        assert.equal("tls", out.kind, name .. ": " .. tostring(out.message))
        assert.equal(expected.code, out.code, name .. ": " .. tostring(out.message))
        assert.equal("no", out.sent, name)
        assert.is_false(out.lock_left, name .. ": the store's lock was left behind")
        if round == 2 then
          print(("\n  [ngx] %s: kind=%s code=%d; the next request on that worker "
                 .. "took %.3f s"):format(name, out.kind, out.code, out.seconds))
        end
      end
    end
    -- and the worker still serves real calls
    local status, body = app.get("/t/call/user_info")
    assert.equal(200, status, body .. app.error_lines())
    assert.is_nil(app.error_log():find("assertion failed", 1, true))
  end)
end)
