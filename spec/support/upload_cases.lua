-- The uploads spec/upload_spec.lua sends over both transports: each case
-- makes one multipart request with a client and says which parts the
-- server must receive. Loaded by the spec (libcurl) and by the nginx
-- location of spec/support/upload_capture.lua (cosockets), so that both
-- send exactly the same thing.
local sendpulse = require "sendpulse"

local M = {}

-- Bytes no text encoding would leave alone: every byte value, CR LF and
-- what looks like a boundary line, several times over.
function M.binary(n)
  local chunk = {}
  for i = 0, 255 do
    chunk[#chunk + 1] = string.char(i)
  end
  chunk = table.concat(chunk) .. "\r\n--\r\n--boundary\r\n\r\n"
  local out = {}
  for i = 1, math.ceil(n / #chunk) do
    out[i] = chunk
  end
  return table.concat(out):sub(1, n)
end

-- The fixture files, in dir/files (written by the spec before any case
-- runs): name -> bytes.
function M.fixtures()
  return {
    ["photo.bin"] = M.binary(300 * 1024 + 7),
    ["notes.txt"] = "first line\r\nsecond line\n--not a boundary--\r\n",
    ["big.bin"] = M.binary(4096),
  }
end

local NOTE = "inline text\r\n\r\n--inline--\0after a NUL"

-- name -> { call = function(client, dir) -> res, err, parts = expected }.
-- parts: { name, data, filename (nil: a text field), content_type }, in
-- the order the server must see the parts of one name (the order of
-- different names is the body table's).
function M.cases(dir)
  local fixtures = M.fixtures()
  local files = dir .. "/files/"
  return {
    file_manager = {
      call = function(client)
        return client.files:upload_file{
          pathToStore = "/docs/2024",
          width = 1920,
          height = 1080,
          ["content[]"] = {
            sendpulse.file{ path = files .. "photo.bin", content_type = "image/png" },
            sendpulse.file{ data = NOTE, filename = "note.txt",
                            content_type = "text/plain; charset=utf-8" },
            sendpulse.file{ data = "", filename = "empty.txt" },
          },
        }
      end,
      parts = {
        { "pathToStore", "/docs/2024" },
        { "width", "1920" },
        { "height", "1080" },
        { "content[]", fixtures["photo.bin"], "photo.bin", "image/png" },
        { "content[]", NOTE, "note.txt", "text/plain; charset=utf-8" },
        { "content[]", "", "empty.txt", "application/octet-stream" },
      },
    },
    crm = {
      call = function(client)
        return client.crm:upload_files{
          ["files[]"] = {
            sendpulse.file{ path = files .. "notes.txt", filename = "renamed.txt" },
          },
        }
      end,
      parts = {
        { "files[]", fixtures["notes.txt"], "renamed.txt", "application/octet-stream" },
      },
    },
    -- quotes in a field name and a file name: sent as %22 inside the
    -- quoted parameters (what libcurl does, the WHATWG form encoding), so
    -- that no quote ends the parameter early
    quoted = {
      call = function(client)
        return client:request("POST", "/upload", nil, {
          ['say "hi"'] = "text",
          ["files[]"] = { sendpulse.file{ data = "q", filename = 'a "quoted" name.txt' } },
        }, { multipart = true })
      end,
      parts = {
        { "say %22hi%22", "text" },
        { "files[]", "q", "a %22quoted%22 name.txt", "application/octet-stream" },
      },
    },
    -- over the client's max_upload_size (1000 bytes: see M.limited)
    too_big = {
      call = function(client)
        return client.crm:upload_files{
          ["files[]"] = { sendpulse.file{ path = files .. "big.bin" } },
        }
      end,
    },
  }
end

-- The client of the cases, pointed at the capture location.
function M.client(base_url, opts)
  local o = { api_key = "upload-test-key", base_url = base_url, rate_limit = false,
              max_retries = 0 }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return sendpulse.new(o)
end

M.limited = { max_upload_size = 1000 }

return M
