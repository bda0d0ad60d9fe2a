-- Peak RSS of an SMTP server receiving one big message, over DATA and over BDAT, in the
-- three ways a server can take it: the default (35 MiB limit: buffered up to it, then
-- read and dropped, 552), no limit and buffered (max_message_size = 0), and streamed to a
-- DATA_CHUNK handler. The client is Tests/lua/peers/big_message.py in its own process.
--   lua5.4 bench/smtp_message_rss.lua [MiB]     (default 100; LUA_PATH/LUA_CPATH as
--   scripts/test sets them, run from the repository root)
-- Each case runs in a fresh process so its peak is its own.
local ratchet = require "ratchet"
require "ratchet.smtp.server"

local size = math.floor((tonumber(arg[1]) or 100) * 1024 * 1024)
local mode, kind = arg[2], arg[3]
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "bench"
local peer = here .. "/../Tests/lua/peers/big_message.py"

local function peak_mib()
    for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmHWM:%s+(%d+)")
        if kb then return tonumber(kb) // 1024 end
    end
end

if not mode then
    print(("message of %d MiB; peak RSS of the whole server process (MiB)"):format(size // 1048576))
    print("| way | DATA | BDAT |")
    print("|---|---:|---:|")
    for _, k in ipairs({ "default", "buffered", "streamed" }) do
        local row = { k }
        for _, m in ipairs({ "DATA", "BDAT" }) do
            local p = io.popen(("lua5.4 %q %s %s %s"):format(arg[0], arg[1] or "100", m, k))
            row[#row + 1] = p:read("a"):gsub("%s+$", "")
            p:close()
        end
        print("| " .. table.concat(row, " | ") .. " |")
    end
    return
end

local handlers, options = { HAVE_DATA = function() end }, nil
if kind ~= "default" then options = { max_message_size = 0 } end
if kind == "streamed" then handlers.DATA_CHUNK = function() end end

ratchet.new(function()
    local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0)
    local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    listener:bind(rec.addr)
    listener:listen()
    local _, port = listener:getsockname()
    ratchet.thread.attach(function()
        local conn = listener:accept()
        ratchet.smtp.server.new(conn, handlers, nil, nil, options):handle()
    end)
    local out = ratchet.exec.new({ "python3", peer, tostring(port), mode, tostring(size) }):communicate()
    local final = out:match("final (%d+)") or "?"
    print(("%d (%s)"):format(peak_mib(), final))
    listener:close()
end):loop()
