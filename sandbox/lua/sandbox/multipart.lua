-- multipart/form-data request bodies (the uploads of the file manager and
-- of the CRM), read into parts: { name, filename (nil for a text field),
-- content_type, data }.
--
-- Names and file names are quoted strings. A quote inside arrives as %22
-- (what browsers and libcurl send, and the client too) or backslash-escaped
-- (RFC 2616's quoted-pair); both are read back as '"'. Nothing else is
-- percent-decoded, as the WHATWG form encoding does no other escape.

local str_find = string.find
local str_sub = string.sub
local str_match = string.match
local str_lower = string.lower
local str_gsub = string.gsub
local str_gmatch = string.gmatch

local _M = {}

--- The boundary of a multipart/form-data Content-Type, or nil.
function _M.boundary(content_type)
    if not content_type then
        return nil
    end
    local ct = str_lower(content_type)
    if not str_find(ct, "^%s*multipart/form%-data") then
        return nil
    end
    local b = str_match(content_type, "[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=\"([^\"]+)\"")
              or str_match(content_type, "[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]=([^;%s]+)")
    return b
end

-- the value of parameter `name` in a Content-Disposition value
local function param(value, name)
    local pos = 1
    while true do
        local s, e, key = str_find(value, ";%s*([%w%-_*]+)=", pos)
        if not s then
            return nil
        end
        pos = e + 1
        local v
        if str_sub(value, pos, pos) == '"' then
            local out, i = {}, pos + 1
            while i <= #value do
                local c = str_sub(value, i, i)
                if c == "\\" and i < #value then
                    out[#out + 1] = str_sub(value, i + 1, i + 1)
                    i = i + 2
                elseif c == '"' then
                    break
                else
                    out[#out + 1] = c
                    i = i + 1
                end
            end
            v = table.concat(out)
            pos = i + 1
        else
            v = str_match(value, "^[^;]*", pos)
            pos = pos + #v
        end
        if str_lower(key) == name then
            return (str_gsub(v, "%%22", '"'))
        end
    end
end

--- The parts of body, or nil and why it is not a multipart body of that
-- boundary.
function _M.parse(body, boundary)
    local delim = "--" .. boundary
    body = body or ""
    local start = str_find(body, delim, 1, true)
    if start ~= 1 then
        return nil, "the body does not start with its boundary"
    end
    local parts = {}
    local pos = #delim + 1
    while true do
        if str_sub(body, pos, pos + 1) == "--" then
            return parts
        end
        if str_sub(body, pos, pos + 1) ~= "\r\n" then
            return nil, "a boundary line with more after it"
        end
        pos = pos + 2
        local head_end = str_find(body, "\r\n\r\n", pos, true)
        if not head_end then
            return nil, "a part without a head"
        end
        local head = str_sub(body, pos, head_end - 1)
        local next_delim = str_find(body, "\r\n" .. delim, head_end + 4, true)
        if not next_delim then
            return nil, "a part without its closing boundary"
        end
        local part = { data = str_sub(body, head_end + 4, next_delim - 1) }
        for line in str_gmatch(head .. "\r\n", "(.-)\r\n") do
            local key, value = str_match(line, "^([%w%-]+):%s*(.*)$")
            if not key then
                return nil, "a bad line in a part's head"
            end
            key = str_lower(key)
            if key == "content-disposition" then
                part.name = param(value, "name")
                part.filename = param(value, "filename")
            elseif key == "content-type" then
                part.content_type = value
            end
        end
        if not part.name then
            return nil, "a part without a name"
        end
        parts[#parts + 1] = part
        pos = next_delim + 2 + #delim
    end
end

return _M
