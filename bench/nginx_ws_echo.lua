-- A minimal WebSocket echo for nginx's content_by_lua_file, written for the benchmark in the
-- style of lua-resty-websocket (which Debian does not package): our own small frame reader
-- and writer over the raw request cosocket (ngx.req.socket(true)), the way
-- resty.websocket.server does it — the 101 through ngx.send_headers, then frames read with
-- sock:receive(n), unmasked byte by byte with LuaJIT's bit library. It echoes text and
-- binary frames (fragments as they come), answers pings, and answers a close frame. No
-- extensions, no UTF-8 check: the bare protocol, a fast baseline. Not part of ratchet.
-- Served by bench/nginx_lua.sh at /ws.
local bit = require "bit"
local bxor = bit.bxor
local byte, char, sub, concat = string.byte, string.char, string.sub, table.concat
local unpack = unpack

local key = ngx.var.http_sec_websocket_key
if not key or (ngx.var.http_upgrade or ""):lower() ~= "websocket" then return ngx.exit(400) end
ngx.header["Upgrade"] = "websocket"
ngx.header["Sec-WebSocket-Accept"] = ngx.encode_base64(ngx.sha1_bin(key .. "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
ngx.header["Content-Type"] = nil
ngx.status = 101
ngx.send_headers()
ngx.flush(true)
local sock = assert(ngx.req.socket(true))
sock:settimeout(60000)

local function frame(fin, opcode, payload)
    local n, b0 = #payload, (fin and 128 or 0) + opcode
    if n < 126 then return char(b0, n) .. payload end
    if n < 65536 then return char(b0, 126, math.floor(n / 256), n % 256) .. payload end
    local head = {b0, 127}
    for i = 7, 0, -1 do head[#head + 1] = math.floor(n / 2 ^ (8 * i)) % 256 end
    return char(unpack(head)) .. payload
end

local out = {}
while true do
    local h = sock:receive(2)
    if not h then break end
    local b0, b1 = byte(h, 1, 2)
    local fin, opcode, len = b0 >= 128, b0 % 16, b1 % 128
    if len == 126 then
        local x = sock:receive(2); if not x then break end
        len = byte(x, 1) * 256 + byte(x, 2)
    elseif len == 127 then
        local x = sock:receive(8); if not x then break end
        len = 0
        for i = 1, 8 do len = len * 256 + byte(x, i) end
    end
    local m = sock:receive(4)
    if not m then break end
    local m1, m2, m3, m4 = byte(m, 1, 4)
    local mask = {m1, m2, m3, m4}
    local data = len > 0 and sock:receive(len) or ""
    if not data then break end
    for i = 1, len do out[i] = bxor(byte(data, i), mask[(i - 1) % 4 + 1]) end
    local parts = {}
    for i = 1, len, 4096 do parts[#parts + 1] = char(unpack(out, i, math.min(i + 4095, len))) end
    local payload = concat(parts)
    if opcode == 8 then
        sock:send(frame(true, 8, sub(payload, 1, 2)))
        break
    elseif opcode == 9 then
        sock:send(frame(true, 10, payload))
    elseif opcode ~= 10 then
        local ok = sock:send(frame(fin, opcode, payload))
        if not ok then break end
    end
end
