-- ratchet.http.common: header tables (lower-cased names, each an array of values, a missing
-- one reads as {}), header strings, reason phrases and the Date header.
local lower, find, byte, match = string.lower, string.find, string.byte, string.match
local concat = table.concat

local common = {}

-- Lower-cased names of header names seen before: most requests repeat the same few names,
-- so lower() (a new string each time) is skipped for them. Bounded so that a client sending
-- endless distinct names cannot grow it.
local lowered, nlowered = {}, 0
local function lower_name(name)
    local l = lowered[name]
    if l then return l end
    l = lower(name)
    if nlowered < 1024 then
        lowered[name] = l
        nlowered = nlowered + 1
    end
    return l
end
common.lower_name = lower_name
common.lowered = lowered

common.headers_metatable = {
    -- Lookups are case-insensitive, and a header that is absent reads as an empty table.
    __index = function(headers, key)
        if type(key) == "string" then
            local v = rawget(headers, lower_name(key))
            if v then return v end
        end
        return {}
    end,
}
local headers_metatable = common.headers_metatable

--- A new, empty header table.
function common.new_headers()
    return setmetatable({}, headers_metatable)
end

--- Appends `value` under the lower-cased `name`.
function common.add_header(headers, name, value)
    local key = lower_name(name)
    local list = rawget(headers, key)
    if list then list[#list + 1] = value else headers[key] = {value} end
end

-- Characters allowed in a header name or method (RFC 9110 token).
common.TOKEN = "[%w!#$%%&'*+%-%.^_`|~]"
local FIELD = "^(" .. common.TOKEN .. "+):[ \t]*([^\r\n]*)\r\n()"
local LENIENT_FIELD = "^([^:\r\n]+):[ \t]*([^\r\n]*)\r\n()"

--- Parses header lines "Name: value\r\n" of `buf` from `pos` up to (not including) `stop`
-- into `headers`. Returns the number of fields, or nil and an HTTP status (400, or 431 past
-- `max_fields`) for a malformed or excessive header block. `lenient` accepts any name
-- without a colon (what a client takes from servers).
function common.parse_fields(buf, pos, stop, headers, max_fields, lenient)
    local n = 0
    while pos < stop do
        local _, _, name, value, nxt = find(buf, FIELD, pos)
        if not nxt and lenient then _, _, name, value, nxt = find(buf, LENIENT_FIELD, pos) end
        if not nxt or nxt > stop + 2 then return nil, 400 end
        local last = byte(value, -1)
        if last == 32 or last == 9 then value = match(value, "^(.-)[ \t]+$") end
        n = n + 1
        if max_fields and n > max_fields then return nil, 431 end
        local key = lowered[name] or lower_name(name)
        local list = rawget(headers, key)
        if list then list[#list + 1] = value else headers[key] = {value} end
        pos = nxt
    end
    return n
end

--- The reference helper: "Name: value\r\n" for every value of every header.
function common.build_header_string(headers)
    local out = {}
    for name, values in pairs(headers) do
        if type(values) == "table" then
            for _, v in ipairs(values) do out[#out + 1] = name .. ": " .. tostring(v) .. "\r\n" end
        else
            out[#out + 1] = name .. ": " .. tostring(values) .. "\r\n"
        end
    end
    return concat(out)
end

--- The reference helper: parses header lines of `data` from `start` until a line that is not
-- a header; returns the header table and the position after the last header line.
function common.parse_header_string(data, start)
    local headers = setmetatable({}, headers_metatable)
    start = start or 1
    while true do
        local _, _, name, value, nxt = find(data, "^([^:\r\n]+):[ \t]*([^\r\n]-)[ \t]*\r\n()", start)
        if not nxt then break end
        common.add_header(headers, name, value)
        start = nxt
    end
    return headers, start
end

--- True if the comma-separated values of header list `values` contain `token`
-- (case-insensitive), e.g. has_token(headers.connection, "close").
function common.has_token(values, token)
    if not values then return false end
    for i = 1, #values do
        local v = lower(values[i])
        if v == token then return true end
        if find(v, ",", 1, true) then
            for item in v:gmatch("[^,]+") do
                if match(item, "^%s*(.-)%s*$") == token then return true end
            end
        end
    end
    return false
end

common.reasons = {
    [100] = "Continue", [101] = "Switching Protocols",
    [200] = "OK", [201] = "Created", [202] = "Accepted", [203] = "Non-Authoritative Information",
    [204] = "No Content", [205] = "Reset Content", [206] = "Partial Content",
    [300] = "Multiple Choices", [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
    [304] = "Not Modified", [307] = "Temporary Redirect", [308] = "Permanent Redirect",
    [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
    [405] = "Method Not Allowed", [406] = "Not Acceptable", [408] = "Request Timeout",
    [409] = "Conflict", [410] = "Gone", [411] = "Length Required", [412] = "Precondition Failed",
    [413] = "Content Too Large", [414] = "URI Too Long", [415] = "Unsupported Media Type",
    [416] = "Range Not Satisfiable", [417] = "Expectation Failed", [422] = "Unprocessable Content",
    [426] = "Upgrade Required", [429] = "Too Many Requests",
    [431] = "Request Header Fields Too Large",
    [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
    [503] = "Service Unavailable", [504] = "Gateway Timeout", [505] = "HTTP Version Not Supported",
}

-- The Date header line, "Date: <IMF-fixdate>\r\n" for now: formatted natively, the same code
-- the response-head builder uses (Sources/Ratchet/HTTP/HTTPDate.swift).
local date_line = require("ratchet").httpwire.date_line
common.date_line = date_line

--- The Date header's value (HTTP/2 sends fields, not lines).
function common.http_date()
    return string.sub(date_line(), 7, -3)
end

--- fill(obj, need, recv) → true once `need` unread bytes are in obj.buf from obj.pos (what
-- was read is appended with one concatenation), reading with recv(obj) (a string, "" at
-- EOF); false when the connection ended first. For the client and ratchet.websocket.
function common.fill(obj, need, recv)
    local buf, pos = obj.buf, obj.pos
    local have = #buf - pos + 1
    if have >= need then return true end
    local parts, n = {string.sub(buf, pos)}, 1
    while have < need do
        local d = recv(obj)
        if d == "" then
            obj.buf, obj.pos = concat(parts, "", 1, n), 1
            return false
        end
        n = n + 1; parts[n] = d
        have = have + #d
    end
    obj.buf, obj.pos = concat(parts, "", 1, n), 1
    return true
end

--- Is `err` a failure of the connection itself (peer gone, timeout, TLS failure), as opposed
-- to a bug?
function common.is_connection_error(err)
    if type(err) == "table" and err.type == "ratchet_error" then
        local code = err.code
        return code == "ETIMEDOUT" or code == "ECONNRESET" or code == "EPIPE" or code == "ENOTCONN"
            or code == "ECONNREFUSED" or code == "ECONNABORTED" or code == "EBADF"
            or code == "SSLERROR" or code == "SSLEOF" or code == "EVERIFY" or code == "ENETUNREACH"
            or code == "EHOSTUNREACH" or code == nil and err.errno ~= nil
    end
    return false
end

return common
