-- Dot-stuffing and un-stuffing (RFC 5321 4.5.2) on every line, the first included,
-- whatever the read sizes; line endings; the size limit while streaming; BDAT chunks.
local helper = require "helper"
local fake = require "fake_socket"
local data_reader = require "ratchet.smtp.data_reader"
local data_sender = require "ratchet.smtp.data_sender"
local smtp_io = require "ratchet.smtp.smtp_io"

local cases = {
    "", "x", ".", "..", "...", ".\r\n.", ".\r\n..\r\n...", "a\r\n.\r\nb", "\r\n", "x\r\n",
    ".x\r\n..y\r\n.", "line1\r\n..dotted", "a\r\n.", "a\r\n\r\n", "a\r\n.\r\n", ". \r\n .",
    ".\r", "a\r\n.\rb", "\r\n.\r\n\r\n.", "end with cr\r", (".x"):rep(200), ("z"):rep(3000),
    "tab\t.\r\nutf8 \xc3\xa9\r\n\0nul", "Subject: t\r\n\r\n.\r\n..\r\n...\r\n",
}

-- Every case, every read size: what the sender puts on the wire the reader gives back
-- (without the data's own final CRLF: the sender adds one only when it is missing).
for _, c in ipairs(cases) do
    local wire = data_sender.encode(c)
    helper.eq(wire:sub(-5), "\r\n.\r\n", "wire ends with CRLF.CRLF")
    assert(not wire:sub(1, -4):find("\n.\r\n", 1, true) or c:find("\n.\r\n", 1, true) == nil,
        "no early terminator")
    local sizes = #wire < 60 and #wire + 6 or 17
    for n = 1, sizes do
        local io = smtp_io.new(fake.new(fake.split(wire .. "NEXT\r\n", n)))
        local got, err = data_reader.new(io):recv()
        if got ~= c:gsub("\r\n$", "") then
            error(("case %q, read size %d: got %q (%s)"):format(c, n, tostring(got), tostring(err)))
        end
        helper.eq(io:recv_line(), "NEXT", "command after the message")
    end
end

-- The first line is stuffed too, and a lone "." line is doubled.
helper.eq(data_sender.encode(".lead"), "..lead\r\n.\r\n", "first line stuffed")
helper.eq(data_sender.encode("a\r\n.\r\nb"), "a\r\n..\r\nb\r\n.\r\n", "dot line stuffed")
-- Bare LF goes out as CRLF (RFC 5321 2.3.8); a lone CR is left alone.
helper.eq(data_sender.encode("a\nb\r\nc\rd"), "a\r\nb\r\nc\rd\r\n.\r\n", "bare LF")
helper.eq(data_sender.encode("x\n.y"), "x\r\n..y\r\n.\r\n", "stuffing after a bare LF")

-- Only CRLF "." CRLF ends a message (SMTP smuggling): the other end-of-data shapes are
-- data, kept as received, and a dot is un-stuffed only at the start of a CRLF line.
-- Every read size.
do
    local shapes = {
        { "\n.\n", "\n.\n" }, { "\n.\r\n", "\n.\r\n" }, { "\r.\r\n", "\r.\r\n" }, { "\r.\r", "\r.\r" },
        { "\n..\n", "\n..\n" }, { "\r\n.\n", "\r\n\n" }, { "\r\n.\r\r\n", "\r\n\r\r\n" },
        { "\r\n..\r\n", "\r\n.\r\n" },
    }
    for _, shape in ipairs(shapes) do
        local sent = "a" .. shape[1] .. "MAIL FROM:<evil@x>\r\nRCPT TO:<v@x>\r\nDATA\r\nsmuggled"
        local want = "a" .. shape[2] .. "MAIL FROM:<evil@x>\r\nRCPT TO:<v@x>\r\nDATA\r\nsmuggled"
        local wire = sent .. "\r\n.\r\nQUIT\r\n"
        for n = 1, #wire do
            local io = smtp_io.new(fake.new(fake.split(wire, n)))
            local got = data_reader.new(io):recv()
            if got ~= want then error(("shape %q, read size %d: got %q"):format(shape[1], n, tostring(got))) end
            helper.eq(io:recv_line(), "QUIT", "command after the message")
        end
    end
end

-- The original's example from the reference.
do
    local io = smtp_io.new(fake.new({ "line1\r\n..dotted\r\n.\r\n" }))
    helper.eq(data_reader.new(io):recv(), "line1\r\n.dotted", "reference example")
end

-- Over the limit: read to the end, nothing kept, MSGTOOBIG, the session goes on.
do
    local msg = ("0123456789abcdef\r\n"):rep(5000) -- 90 000 bytes
    for _, n in ipairs({ 1000, 4096, 65536 }) do
        local io = smtp_io.new(fake.new(fake.split(data_sender.encode(msg) .. "QUIT\r\n", n)))
        local reader = data_reader.new(io, 50000)
        local got, err = reader:recv()
        helper.eq(got, nil, "oversized data")
        helper.eq(err and err.code, "MSGTOOBIG", "oversized error")
        helper.eq(#reader.pieces, 0, "nothing kept of an oversized message")
        helper.eq(io:recv_line(), "QUIT", "the session goes on")
    end
    -- Exactly at the limit (counted with line endings, as RFC 1870 does) is fine. The
    -- message ends in CRLF, so the sender adds none; the reader removes that last CRLF.
    local io = smtp_io.new(fake.new({ data_sender.encode(msg) }))
    helper.eq(data_reader.new(io, #msg):recv(), msg:sub(1, -3), "message at the limit")
    io = smtp_io.new(fake.new({ data_sender.encode(msg) }))
    helper.eq(select(2, data_reader.new(io, #msg - 1):recv()).code, "MSGTOOBIG", "one over the limit")
end

-- EOF in the middle of a message is ECONNCLOSED.
helper.raises("ECONNCLOSED", function()
    data_reader.new(smtp_io.new(fake.new({ "half a mess" }))):recv()
end)

-- BDAT chunks: exact byte counts whatever the read sizes; the rest stays buffered.
do
    local body = "a\r\n.b\r\n.\r\n"
    for n = 1, 12 do
        local io = smtp_io.new(fake.new(fake.split(body .. "xyz\r\nBDAT 0 LAST\r\n", n)))
        local reader = data_reader.new(io)
        reader:recv_chunk(#body)
        reader:recv_chunk(5)
        helper.eq(io:recv_line(), "BDAT 0 LAST", "command after the chunks")
        helper.eq(reader:finish_chunks(), body .. "xyz", "BDAT data, final line ending removed")
    end
end
print("ok")
