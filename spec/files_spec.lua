-- client.files against the sandbox: multipart uploads into a directory
-- tree, listed, found, filtered, checked and deleted (then 404); a file
-- name with quotes arrives whole; what the client refuses before sending
-- and the sandbox when sent.
local sendpulse = require "sendpulse"
local sandbox = require "support.sandbox"

describe("files #sandbox", function()
  local client, files

  before_each(function()
    client = sandbox.fresh_client{ max_retries = 0 }
    files = client.files
  end)

  after_each(function()
    client:close()
  end)

  local function upload(dir, list)
    local content = {}
    for i, f in ipairs(list) do
      content[i] = sendpulse.file{ data = f[2], filename = f[1], content_type = f[3] }
    end
    return files:upload_file{ pathToStore = dir, ["content[]"] = content }
  end

  local function names(list)
    local out = {}
    for i, x in ipairs(list) do
      out[i] = x.name or x.path
    end
    return out
  end

  it("uploads, lists, finds, filters and deletes files", function()
    local res = assert(upload("/docs/2024", { { "map.txt", "There and back again" },
                                              { "ring.png", ("\0\1\2"):rep(700), "image/png" } }))
    assert.is_true(res.success)
    local sent = sandbox.last("POST /fm/public/v1/file")
    assert.matches("^multipart/form%-data; boundary=", sent.content_type)
    assert.equal("files:upload_file", sent.operation)

    local top = assert(files:get_directory_contents{ path = "/docs" })
    assert.equal(1, #top)
    assert.is_true(top[1].isFolder)
    assert.equal("2024", top[1].name)
    assert.equal(2, top[1].filesCount)
    local inner = assert(files:get_directory_contents{ path = "/docs/2024" })
    assert.same({ "map.txt", "ring.png" }, names(inner))
    assert.equal(2.05, inner[2].size)          -- kilobytes

    assert.is_true(assert(files:check_file_exist{ path = "/docs/2024/map.txt" }).result)
    assert.is_false(assert(files:check_file_exist{ path = "/docs/2024/none.txt" }).result)
    assert.same({ "map.txt" }, names(assert(files:find_directory_files{ path = "/",
                                                                        search = "MAP" }).data))
    assert.same({ "/docs/2024/ring.png", "/docs/2024/map.txt" },
                names(assert(files:filter_files{ path = "/docs", sort = "desc" })))

    assert(files:create_directory{ pathToStore = "/docs", name = "old" })
    local again, err = files:create_directory{ pathToStore = "/docs", name = "old" }
    assert.is_nil(again)
    assert.equal(422, err.status)
    assert.same({ "2024", "old" }, names(assert(files:get_directory_contents{ path = "/docs" })))
    assert.is_table(assert(files:get_directory()).tree.docs["2024"])
    local size = assert(files:get_directory_size())
    assert.equal(2, size.fileCount)
    assert.equal(3, size.directoryCount)

    assert.is_true(files:delete_file{ path = "/docs/2024/map.txt" })
    assert.equal(204, sandbox.last().status)
    assert.is_false(assert(files:check_file_exist{ path = "/docs/2024/map.txt" }).result)
    local gone
    gone, err = files:delete_file{ path = "/docs/2024/map.txt" }
    assert.is_nil(gone)
    assert.equal(404, err.status)
    gone, err = files:get_directory_contents{ path = "/nowhere" }
    assert.is_nil(gone)
    assert.equal(404, err.status)
  end)

  it("keeps a file name with quotes whole (sent as %22)", function()
    assert(upload("/q", { { 'say "friend".txt', "mellon" } }))
    assert.matches('filename="say %%22friend%%22.txt"', sandbox.last().body)
    assert.same({ 'say "friend".txt' }, names(assert(files:get_directory_contents{ path = "/q" })))
  end)

  it("refuses a missing field before sending; the sandbox refuses it when sent", function()
    sandbox.bad_argument("args.pathToStore", function()
      files:upload_file{ ["content[]"] = { sendpulse.file{ data = "x", filename = "a.txt" } } }
    end, true)
    sandbox.bad_argument("args.path", function() files:check_file_exist{} end)
    local file = sendpulse.file{ data = "x", filename = "a" }
    local res, err = client:request("POST", "/fm/public/v1/file", nil, { ["content[]"] = file },
                                    { multipart = true })
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.equal("The request is invalid: pathToStore: required", err.message)
    res, err = client:request("POST", "/fm/public/v1/file/exist", nil, { path = 5 })
    assert.is_nil(res)
    assert.equal(422, err.status)
    res, err = client:request("POST", "/fm/public/v1/file/exist")
    assert.is_nil(res)
    assert.equal(422, err.status)
    assert.equal("The request is invalid: a request body is required", err.message)
  end)
end)
