-- The file manager (client.files) on top of the generated layer
-- (sandbox.generic routes and checks its 9 operations): a directory tree
-- in memory, empty after every reset but for "/".
--
-- POST /file (multipart) stores each "content[]" file part under
-- pathToStore (directories are made as needed; a part that is no file is
-- refused, 422); POST /directory makes pathToStore/name. GET
-- /directory/{path} lists a directory (sub-directories first, then files,
-- by name; 404 for none), /directory/find finds files by name under a
-- path, POST /file/filter lists files under a path modified between
-- fromDate and toDate, /file/exist says whether a file is there, DELETE
-- /file removes one (404 when there is none), /directory the whole tree
-- and /directory/size the counts and megabytes used (of 1024). Paths are
-- read with or without their leading and trailing "/". File sizes are in
-- kilobytes, as the spec's examples suggest.

local type = type
local pairs = pairs
local tostring = tostring
local ipairs = ipairs
local str_find = string.find
local str_gsub = string.gsub
local str_lower = string.lower
local str_match = string.match
local str_sub = string.sub
local table_sort = table.sort

local shape = require "sandbox.shape"
local util = require "sandbox.util"

local _M = {}

_M.service = "files"

local dirs    -- path -> { path, created }
local files   -- path -> { path, name, dir, size, content_type, date }

function _M.reset()
    dirs = { ["/"] = { path = "/", created = shape.now() } }
    files = {}
end

_M.reset()

-- "/a/b", from "a/b/", "//a//b" ...
local function norm(path)
    path = str_gsub("/" .. (path or ""), "/+", "/")
    if #path > 1 then
        path = str_gsub(path, "/$", "")
    end
    return path
end

local function parent(path)
    local p = str_match(path, "^(.*)/[^/]*$")
    return (p == nil or p == "") and "/" or p
end

local function join(dir, name)
    return dir == "/" and ("/" .. name) or (dir .. "/" .. name)
end

local function mkdir(path)
    if path == "" or path == "/" then
        return
    end
    if not dirs[path] then
        mkdir(parent(path))
        dirs[path] = { path = path, created = shape.now() }
    end
end

local function under(path, dir)
    return dir == "/" or path == dir or str_sub(path, 1, #dir + 1) == dir .. "/"
end

local function kb(n)
    return math.floor(n / 1024 * 100 + 0.5) / 100
end

local function sorted(t, filter)
    local out = {}
    for _, v in pairs(t) do
        if filter(v) then
            out[#out + 1] = v
        end
    end
    table_sort(out, function(a, b) return a.path < b.path end)
    return out
end

local function done(message)
    return 200, { success = true, message = message }
end

_M.ops = {
    upload_file = function(ctx)
        local dir = norm(ctx.args.pathToStore)
        local stored = 0
        for _, part in ipairs(ctx.parts or {}) do
            if part.name == "content[]" then
                if not part.filename then
                    return ctx:invalid("content[]", "a file expected, got a text field")
                end
                mkdir(dir)
                local name = str_match(part.filename, "[^/\\]*$")
                local path = join(dir, name)
                files[path] = { path = path, name = name, dir = dir, size = #part.data,
                                content_type = part.content_type, date = shape.now() }
                stored = stored + 1
            end
        end
        return done(stored .. " file(s) uploaded to " .. dir)
    end,
    create_directory = function(ctx)
        local path = join(norm(ctx.args.pathToStore), ctx.args.name)
        path = norm(path)
        if dirs[path] then
            return ctx:invalid("name", "the directory " .. path .. " exists")
        end
        mkdir(path)
        return done("directory " .. path .. " created")
    end,
    get_directory_contents = function(ctx)
        local path = norm(ctx.args.path)
        if not dirs[path] then
            return ctx:not_found("directory", path)
        end
        local list = util.array()
        for _, d in ipairs(sorted(dirs, function(d)
            return d.path ~= "/" and parent(d.path) == path
        end)) do
            local n = 0
            for p in pairs(files) do
                if under(p, d.path) then
                    n = n + 1
                end
            end
            list[#list + 1] = { name = str_match(d.path, "[^/]*$"), path = d.path,
                                isFolder = true, filesCount = n, size = 0 }
        end
        for _, f in ipairs(sorted(files, function(f) return f.dir == path end)) do
            list[#list + 1] = { name = f.name, path = f.path, isFolder = false, filesCount = 0,
                                size = kb(f.size) }
        end
        return ctx:list(list)
    end,
    find_directory_files = function(ctx)
        local dir, search = norm(ctx.args.path or "/"), str_lower(ctx.args.search or "")
        local list = {}
        for _, f in ipairs(sorted(files, function(f)
            return under(f.path, dir) and str_find(str_lower(f.name), search, 1, true) ~= nil
        end)) do
            list[#list + 1] = { name = f.name, path = f.path, date = f.date,
                                extension = str_match(f.name, "%.([^.]+)$") or "",
                                size = tostring(kb(f.size)), thumb = "" }
        end
        return ctx:list(list)
    end,
    check_file_exist = function(ctx)
        return 200, { result = files[norm(ctx.args.path)] ~= nil }
    end,
    filter_files = function(ctx)
        local a = ctx.args
        local dir = norm(a.path)
        local from = type(a.fromDate) == "string" and a.fromDate or nil
        local to = type(a.toDate) == "string" and a.toDate or nil
        local list = sorted(files, function(f)
            local day = str_sub(f.date, 1, 10)
            return under(f.path, dir) and (from == nil or day >= from) and (to == nil or day <= to)
        end)
        if a.sort == "desc" then
            local rev = {}
            for i = #list, 1, -1 do
                rev[#rev + 1] = list[i]
            end
            list = rev
        end
        local out = {}
        for i, f in ipairs(list) do
            out[i] = { path = f.path, lastModified = f.date }
        end
        return ctx:list(out)
    end,
    delete_file = function(ctx)
        local path = norm(ctx.args.path)
        if not files[path] then
            return ctx:not_found("file", path)
        end
        files[path] = nil
        return 204, ""
    end,
    get_directory = function()
        local tree = {}
        for _, d in ipairs(sorted(dirs, function(d) return d.path ~= "/" end)) do
            local node = tree
            for name in d.path:gmatch("[^/]+") do
                node[name] = node[name] or {}
                node = node[name]
            end
        end
        return 200, { tree = tree }
    end,
    get_directory_size = function()
        local used, nfiles, ndirs = 0, 0, -1
        for _, f in pairs(files) do
            used, nfiles = used + f.size, nfiles + 1
        end
        for _ in pairs(dirs) do
            ndirs = ndirs + 1
        end
        local mb = math.floor(used / 1048576 * 1000 + 0.5) / 1000
        return 200, { fileCount = nfiles, directoryCount = ndirs, usedSpace = mb,
                      tariffStorageSpace = 1024, availableSpace = 1024 - mb }
    end,
}

return _M
