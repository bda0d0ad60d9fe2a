-- permessage-deflate pieces on their own: ratchet.deflate's streams (round trips, context
-- takeover and reset, the flush tail left off, a zip bomb stopped at the limit with
-- bounded memory, data that is not DEFLATE, argument errors, closed streams), the
-- negotiation of ratchet.websocket.deflate (offers accepted, adjusted or declined;
-- answers a client must refuse; settings out of range), and on a socket pair: compressed
-- messages both ways, fragmented, RSV1 on a control frame, RSV2/RSV3 -> 1002.
local ratchet = require "ratchet"
local websocket = require "ratchet.websocket"
local pmd = require "ratchet.websocket.deflate"
local frame = require "ratchet.websocket.frame"
local h = require "helper"
local zlib = ratchet.deflate

-- Streams
local d, i = zlib.deflater(), zlib.inflater()
local msg = string.rep("hello, compressed world. ", 40)
local c1 = d:compress(msg)
assert(#c1 < #msg // 5, "compressed " .. #c1)
h.eq(i:decompress(c1, #msg, true), msg, "round trip")
local c2 = d:compress(msg)
assert(#c2 < #c1 // 2, "context takeover: the second copy refers to the first (" .. #c2 .. " bytes)")
h.eq(i:decompress(c2, #msg, true), msg, "round trip with context")
d:reset(); i:reset()
h.eq(d:compress(msg), c1, "after reset the stream starts afresh")
h.eq(i:decompress(c1, #msg, true), msg, "inflater after reset")
local tail = zlib.deflater():compress("x")
assert(tail:sub(-4) ~= "\0\0\255\255", "the sync flush's 00 00 ff ff is left off")
h.eq(zlib.inflater():decompress(zlib.deflater():compress(""), 10, true), "", "empty message")
-- a message split in two frames: only the last gets the tail
local whole = zlib.deflater(10):compress(msg)
local i2 = zlib.inflater(10)
h.eq(i2:decompress(whole:sub(1, 10), 1000, false) .. i2:decompress(whole:sub(11), 1000, true), msg, "in two pieces")
h.eq(select(2, zlib.inflater():decompress(c1, #msg - 1, true)), "limit", "one byte over the limit")
local none, why, detail = zlib.inflater():decompress("\255\255\255\255", 100, true)
h.eq(none, nil, "not DEFLATE"); h.eq(why, "data", "not DEFLATE: reason")
assert(type(detail) == "string" and #detail > 0, "zlib's message")

-- A zip bomb: 64 MiB of zeros in 64 KiB; decompression stops at the limit, so the peak
-- memory of the process grows by far less than the bomb.
local bomb_parts, zeros, bd = {}, string.rep("\0", 1 << 20), zlib.deflater(15, 1)
-- (each piece gets back the tail compress left off: a message ends only after the last)
for k = 1, 64 do bomb_parts[k] = bd:compress(zeros) .. "\0\0\255\255" end
local bomb = table.concat(bomb_parts)
bomb_parts, zeros = nil, nil
collectgarbage()
local function peak_kb()
    return tonumber(h.read_file("/proc/self/status"):match("VmHWM:%s*(%d+)"))
end
local before = peak_kb()
h.eq(select(2, zlib.inflater():decompress(bomb, 1 << 20, true)), "limit", "zip bomb over the limit")
local grew = peak_kb() - before
assert(grew < 16 * 1024, "the zip bomb was inflated: peak memory grew by " .. grew .. " KiB")

h.raises_msg("window_bits must be 9 to 15", zlib.deflater, 8)
h.raises_msg("window_bits must be 8 to 15", zlib.inflater, 16)
h.raises_msg("level must be -1 to 9", zlib.deflater, 15, 10)
h.raises_msg("mem_level must be 1 to 9", zlib.deflater, 15, 6, 0)
h.raises_msg("integer expected", zlib.deflater, "15")
h.raises_msg("string expected", d.compress, d, 42)
h.raises_msg("ratchet.deflate.inflater expected", i.decompress, d, "x", 1)
h.raises_msg("integer expected", i.decompress, i, "x")
h.raises_msg("limit must be 0 or more", i.decompress, i, "x", -1)
h.eq(zlib.deflater(nil, nil, nil) ~= nil, true, "nil arguments are the defaults")
d:close(); d:close()
h.raises("EBADF", d.compress, d, "x")
h.raises("EBADF", d.reset, d)
i:close()
h.raises("EBADF", i.decompress, i, "x", 1)

-- Negotiation: the server's answer to offers
local server = pmd.config(true, "server")
local function answer(offer, config)
    return (pmd.accept({offer}, config or server))
end
h.eq(answer("permessage-deflate"), "permessage-deflate; server_max_window_bits=12", "plain offer")
h.eq(answer("permessage-deflate; client_max_window_bits"),
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", "client lets us choose its window")
h.eq(answer("permessage-deflate; server_max_window_bits=10; client_max_window_bits=14"),
    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", "smaller windows win")
h.eq(answer("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12",
    "no context takeover offered both ways")
h.eq(answer("permessage-deflate; client_max_window_bits=10", {}), "permessage-deflate; client_max_window_bits=10",
    "unconfigured: the client's own limit is echoed")
h.eq(answer('permessage-deflate; server_max_window_bits="9"'),
    "permessage-deflate; server_max_window_bits=9", "a quoted value")
h.eq(answer("permessage-deflate; server_max_window_bits=8"),
    "permessage-deflate; server_max_window_bits=8", "8 bits agreed (we then send uncompressed)")
for _, bad in ipairs({
    "permessage-deflate; x_unknown", "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=010", "permessage-deflate; client_max_window_bits=abc",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "x-webkit-deflate-frame", "",
}) do
    h.eq(answer(bad), nil, "declined: " .. bad)
end
h.eq(pmd.accept({"foo, permessage-deflate; bad=1", "permessage-deflate; server_max_window_bits=11"}, server),
    "permessage-deflate; server_max_window_bits=11", "the first acceptable offer")

-- Negotiation: the client's offer and its checks of the answer
local client = pmd.config(true, "client")
h.eq(pmd.offer(client), "permessage-deflate; client_max_window_bits", "the default offer")
local strict = pmd.config({server_no_context_takeover = true, server_max_window_bits = 10, client_max_window_bits = 11}, "client")
h.eq(pmd.offer(strict), "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    "an offer with every parameter")
local a = pmd.agree({"permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"}, client)
h.eq(a.server_max_window_bits .. " " .. a.client_max_window_bits, "12 12", "agreed windows")
for _, bad in ipairs({
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",   -- over ours
    "permessage-deflate; server_max_window_bits=10",                               -- ignored snct
    "permessage-deflate; server_no_context_takeover",                              -- ignored smwb
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=12",
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; x=1",
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=9, permessage-deflate",
    "other-extension",
}) do
    h.eq(pmd.agree({bad}, strict), nil, "refused answer: " .. bad)
end
h.eq(pmd.agree({"permessage-deflate; client_max_window_bits"}, client), nil, "client_max_window_bits without a value")
h.raises_msg("server_max_window_bits must be 8 to 15", pmd.config, {server_max_window_bits = 16}, "server")
h.raises_msg("unknown compression setting", pmd.config, {window = 10}, "client")
h.raises_msg("level must be", pmd.config, {level = 11}, "client")
h.raises_msg("true, false or a table", pmd.config, "yes", "client")
h.eq(pmd.config(false, "server"), nil, "compression = false")

-- On a socket pair
h.run(function()
    local function pair(agreed, copts, sopts)
        local a, b = ratchet.socket.new_pair()
        local cl = websocket.new(a, setmetatable({deflate = agreed}, {__index = copts or {}}), "client")
        local sv = websocket.new(b, setmetatable({deflate = agreed}, {__index = sopts or {}}), "server")
        return cl, sv
    end
    local cl, sv = pair({server_no_context_takeover = true, client_max_window_bits = 10}, {fragment_size = 100})
    local big = string.rep("abcdefghij", 10000)
    local sender = ratchet.thread.attach(function()
        cl:send(big, "binary")
        for k = 1, 50 do cl:send("message " .. k) end
    end)
    h.eq(sv:recv(), big, "fragmented compressed message")
    for k = 1, 50 do h.eq(sv:recv(), "message " .. k, "compressed message " .. k) end
    ratchet.thread.wait_all({sender})
    sv:send(big)
    h.eq(cl:recv(), big, "server to client, no context takeover")
    sv:send(big)
    h.eq(cl:recv(), big, "again")

    -- what arrives on the wire is compressed: RSV1 on the first frame only
    local raw_a, raw_b = ratchet.socket.new_pair()
    local s2 = websocket.new(raw_b, {deflate = {}}, "server")
    s2:send(big)
    local head = raw_a:recv(2)
    h.eq(head:byte(1), 0xC1, "FIN RSV1 text")
    local len = head:byte(2) & 127
    if len == 126 then len = string.unpack(">I2", raw_a:recv(2)) end
    assert(len < 1000, "a 100 KB message compressed to " .. len .. " bytes")

    -- The server's close code for what `send(client)` writes; the client reads meanwhile,
    -- so it answers the server's close frame and the server need not wait for it.
    local function server_code(send, sopts)
        local c3, s3 = pair({}, {}, sopts or {})
        local reader = ratchet.thread.attach(function() pcall(c3.recv, c3) end)
        send(c3)
        local _, code, reason = s3:recv()
        ratchet.thread.wait_all({reader})
        return code, reason
    end
    for _, case in ipairs({
        {"RSV1 on a ping", string.char(0xC9, 0x80) .. "\0\0\0\0"},
        {"RSV2", string.char(0xA1, 0x81) .. "\0\0\0\0x"},
        {"RSV3", string.char(0x91, 0x81) .. "\0\0\0\0x"},
    }) do
        local code, reason = server_code(function(c) c.socket:send(case[2]) end)
        h.eq(code, 1002, case[1] .. " (" .. tostring(reason) .. ")")
    end
    h.eq(server_code(function(c) c:send(string.rep("z", 100001)) end, {max_message = 100000}), 1009,
        "decompressed message one byte over max_message")
    local c3, s3 = pair({}, {}, {max_message = 100000})
    c3:send(string.rep("z", 100000))
    h.eq(#s3:recv(), 100000, "decompressed message at max_message")
    h.eq(server_code(function(c)
        c.socket:send(frame.encode(true, 1, zlib.deflater():compress("\255\254"), true, true))
    end), 1007, "compressed text that is not UTF-8")
end)
print("websocket deflate ok")
