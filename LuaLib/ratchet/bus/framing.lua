-- The socket bus wire format, the same in both directions: a 2-byte big-endian part count,
-- then for each part a 4-byte big-endian length and the bytes. Part 1 is the message, the
-- others its attachments.
local pack, unpack = string.pack, string.unpack
local concat = table.concat

local framing = {}

--- encode(part1, attachments) → the frame as one string.
function framing.encode(part1, attachments)
    local n = attachments and #attachments or 0
    local out = {pack(">I2", n + 1)}
    local p1 = tostring(part1)
    out[2] = pack(">I4", #p1)
    out[3] = p1
    for i = 1, n do
        local part = tostring(attachments[i])
        out[#out + 1] = pack(">I4", #part)
        out[#out + 1] = part
    end
    return concat(out)
end

--- decode(buffer) → part1, {attachments}, bytes used; or nil while the frame is incomplete.
function framing.decode(buf)
    if #buf < 2 then return nil end
    local count, pos = unpack(">I2", buf)
    local parts = {}
    for i = 1, count do
        if #buf < pos + 3 then return nil end
        local len
        len, pos = unpack(">I4", buf, pos)
        if #buf < pos + len - 1 then return nil end
        parts[i] = buf:sub(pos, pos + len - 1)
        pos = pos + len
    end
    local part1 = table.remove(parts, 1) or ""
    return part1, parts, pos - 1
end

--- read(pad) → part1, {attachments}; nothing if the peer closed before the frame ended.
function framing.read(pad)
    local head, incomplete = pad:recv(2)
    if incomplete or not head then return end
    local count = unpack(">I2", head)
    local parts = {}
    for i = 1, count do
        local size
        size, incomplete = pad:recv(4)
        if incomplete or not size then return end
        local len = unpack(">I4", size)
        parts[i], incomplete = pad:recv(len)
        if incomplete or not parts[i] then return end
    end
    local part1 = table.remove(parts, 1) or ""
    return part1, parts
end

return framing
