-- Account endpoints: /user/info, /user/invited-users-list,
-- /user/balance/detail. They answer the seed document's sample responses,
-- byte for byte, from sandbox/data/*.json: the files are served as raw text
-- and never decoded and re-encoded (that would reorder keys and reformat
-- the big phone numbers).

local pairs = pairs
local error = error
local tostring = tostring

local util = require "sandbox.util"

local _M = {}

-- route path -> data file name
local FILES = {
    ["/user/info"] = "user_info.json",
    ["/user/invited-users-list"] = "invited_users.json",
    ["/user/balance/detail"] = "balance_detail.json",
}

local documents = {} -- route path -> raw JSON text

--- Loads the data files; called once from init_by_lua (nginx master), so a
-- missing file stops nginx from starting instead of failing later.
function _M.init(data_dir)
    for path, file in pairs(FILES) do
        local text, err = util.read_file(data_dir .. "/" .. file)
        if not text then
            error("sandbox: cannot read seed data " .. file .. ": " .. tostring(err))
        end
        documents[path] = text
    end
end

local function serve_document(req)
    return 200, documents[req.path]
end

_M.routes = {
    { "GET", "/user/info", serve_document },
    { "GET", "/user/invited-users-list", serve_document },
    { "GET", "/user/balance/detail", serve_document },
}

return _M
