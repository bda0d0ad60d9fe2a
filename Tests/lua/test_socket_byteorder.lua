-- The reference's test_socket_byteorder, plus the pass-through of extra arguments.
local ratchet = require "ratchet"
local helper = require "helper"
local socket = ratchet.socket

helper.eq(socket.hton(1), "\0\0\0\1", "hton(1)")
helper.eq(socket.hton16(258), "\1\2", "hton16(258)")
helper.eq(socket.ntoh16("\1\2"), 258, "ntoh16")
helper.eq(socket.ntoh("\255\255\255\255"), 4294967295, "ntoh unsigned")
helper.eq(socket.ntoh("abc"), nil, "wrong length gives nil")
local n, flag, extra = socket.ntoh("\0\0\0\2", true, "x")
helper.eq(n, 2, "ntoh"); helper.eq(flag, true, "passed-through flag"); helper.eq(extra, "x", "second extra")
local s, f = socket.hton(7, false)
helper.eq(s, "\0\0\0\7", "hton with extra"); helper.eq(f, false, "hton pass-through")
local s16, f16 = socket.hton16(1, "more")
helper.eq(s16, "\0\1", "hton16 with extra"); helper.eq(f16, "more", "hton16 pass-through")
helper.raises_msg("number expected", socket.hton, "12")
helper.raises_msg("string expected", socket.ntoh, {})

local checked = 0
helper.run(function()
    local rec = socket.prepare_tcp("localhost", 0, "AF_INET")
    local server = socket.new(rec.family, rec.socktype, rec.protocol)
    server:bind(rec.addr)
    server:listen()
    local _, port = server:getsockname()
    ratchet.thread.attach(function()
        local c = socket.new()
        c:connect(socket.prepare_tcp("localhost", port, "AF_INET").addr)
        c:send(socket.hton(1333337))
        local data = c:recv()
        helper.eq(#data, 4, "reply length")
        helper.eq(socket.ntoh(data), 73, "reply value")
        checked = checked + 1
        c:close()
    end)
    local conn = server:accept()
    local data = conn:recv()
    helper.eq(#data, 4, "request length")
    helper.eq(socket.ntoh(data), 1333337, "request value")
    conn:send(socket.hton(73))
    checked = checked + 1
    helper.eq(conn:recv(), "", "eof")
    conn:close(); server:close()
end)
helper.eq(checked, 2, "both ends checked")
print("ok")
