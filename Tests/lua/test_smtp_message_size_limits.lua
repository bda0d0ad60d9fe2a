-- Message size (issue 19): by default the server advertises SIZE 36700160 (35 MiB) and
-- refuses a bigger message with 552 after reading and dropping it; with a DATA_CHUNK
-- handler the message streams to it (no limit: max_message_size = 0) instead of being
-- buffered. Either way the server's peak RSS stays far below the message size, over
-- DATA and over BDAT. The client is a separate Python process (peers/big_message.py).
local helper = require "helper"
local peer = require "smtp_peer"
local server = require "ratchet.smtp.server"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
local MB = 1024 * 1024
local SIZE = 40 * MB

local function peak_rss_kb()
    for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmHWM:%s+(%d+)")
        if kb then return tonumber(kb) end
    end
end

helper.run(function()
    local streamed, chunks, delivered = 0, 0, {}
    local function listen(handlers, options)
        local listener, port = helper.listen()
        peer.serve(listener, function(conn) return server.new(conn, handlers, nil, nil, options) end)
        return listener, port
    end
    local default_listener, default_port = listen({
        HAVE_DATA = function(_, reply, data, err) delivered[#delivered + 1] = err and err.code or #data end,
    })
    local stream_listener, stream_port = listen({
        DATA_CHUNK = function(_, piece) streamed = streamed + #piece; chunks = chunks + 1 end,
        HAVE_DATA = function(_, reply, data, err)
            delivered[#delivered + 1] = err and err.code or (data == nil and "streamed")
        end,
    }, { max_message_size = 0 })

    -- What each message leaves behind is garbage until Lua's collector gets to it; collected
    -- before each message, so that the peak measured is one message's, not how far the
    -- incremental collector lagged behind the previous one (35 MiB of dropped pieces).
    local function send(port, mode)
        collectgarbage()
        local rc, out = helper.spawn(("python3 %s/peers/big_message.py %d %s %d"):format(here, port, mode, SIZE))
            :wait(100)
        helper.eq(rc, 0, "big_message.py\n" .. out)
        local result = {}
        for k, v in out:gmatch("(%a+) ([^\n]*)") do result[k] = v end
        return result
    end

    -- Streamed first: the peak stays far below one message.
    collectgarbage()
    local before = peak_rss_kb()
    for _, mode in ipairs({ "DATA", "BDAT" }) do
        streamed, chunks = 0, 0
        local got = send(stream_port, mode)
        helper.eq(got.size, "-", "no SIZE with max_message_size 0")
        helper.eq(got.final, "250", mode .. ": streamed message accepted")
        helper.eq(delivered[#delivered], "streamed", mode .. ": HAVE_DATA gets no data")
        -- SIZE is not a multiple of the line length: the message ends in the middle of a
        -- line, and over DATA the CRLF before the "." is the final line ending.
        helper.eq(streamed, SIZE, mode .. ": octets streamed")
        assert(chunks > 10, mode .. ": streamed in pieces, got " .. chunks)
    end
    local grew = (peak_rss_kb() - before) // 1024
    assert(grew < 25, "peak RSS grew by " .. grew .. " MiB for streamed 40 MiB messages")

    -- The default: buffered up to 35 MiB, then read and dropped.
    for _, mode in ipairs({ "DATA", "BDAT" }) do
        local got = send(default_port, mode)
        helper.eq(got.size, "SIZE 36700160", "default SIZE advertised")
        helper.eq(got.final, "552", mode .. ": a message over 35 MiB")
        helper.eq(got.quit, "221", mode .. ": the session goes on")
        -- (over BDAT the client gives up at the first 552 chunk reply: no LAST, no HAVE_DATA)
        if mode == "DATA" then helper.eq(delivered[#delivered], "MSGTOOBIG", "HAVE_DATA gets MSGTOOBIG") end
    end
    grew = (peak_rss_kb() - before) // 1024
    assert(grew < 35 + 25, "peak RSS grew by " .. grew .. " MiB for 40 MiB messages over the limit")
    default_listener:close()
    stream_listener:close()
end)
print("ok")
