-- The core's call protocol, as a Lua transport or driver sees it.
local sandbox = require "support.sandbox"

describe("the core's calls #sandbox", function()
  it("leave the I/O to the driver: next() never does any, run() does", function()
    local c = sandbox.client{ api_key = sandbox.api_key, base_url = "http://127.0.0.1:9" }
    local cc = c._core
    local call = cc:call("GET", "/user/info", nil, nil)
    assert.equal("send", (call:next()))
    call = cc:call("GET", "/user/info", nil, nil, { multipart = false })
    assert.equal("send", (call:next()))
    -- the inline driver connects by itself (and fails here)
    call = cc:call("GET", "/user/info")
    local action, err = call:run()
    assert.equal("fail", action)
    assert.equal(7, err.code)
    assert.equal("no", err.sent)
  end)

  it("report what a Lua transport tells them", function()
    local c = sandbox.client{ api_key = sandbox.api_key, base_url = "http://127.0.0.1:9",
                              max_retries = 0 }
    local call = c._core:call("GET", "/user/info")
    assert.equal("send", (call:next()))
    assert.matches("^GET /user/info HTTP/1%.1\r\nHost: 127%.0%.0%.1:9\r\n", call:wire())
    call:set_response(200, '{"ok":true}')
    local action, res = call:next()
    assert.equal("done", action)
    assert.is_true(res.ok)

    call = c._core:call("POST", "/addressbooks", nil, { bookName = "x" })
    assert.equal("send", (call:next()))
    assert.is_true(call:request().send_once)
    call:set_failure(52, "closed without answering", true)
    local _, err = call:next()
    assert.equal("transport", err.kind)
    assert.equal(52, err.code)
    assert.equal(1, err.attempts)
    assert.equal("maybe", err.sent)
  end)
end)
