-- No leaks: 5,000 TLS handshakes over loopback TCP in a loop (with data, shutdown, close;
-- every fifth connection left to the garbage collector, every tenth a failed handshake)
-- leave the descriptor count exactly where it was and the resident memory flat.
local ratchet = require "ratchet"
local helper = require "helper"
local tls = require "tls_helper"
local ssl = ratchet.ssl

local N = 5000
local certs = tls.certs("ec")
local sctx = ssl.new(ssl.TLS_server)
sctx:load_certs(certs.server, certs.server_key)
local cctx = ssl.new(ssl.TLS_client)
cctx:load_cas(nil, certs.ca)

local function fds()
    local n = math.huge
    for _ = 1, 3 do n = math.min(n, helper.fd_count()) end
    return n
end

local fd_before = fds()
local samples = {}
local good, failed = 0, 0
helper.run(function()
    local listener, port = helper.listen()
    local addr = ratchet.socket.prepare_tcp("127.0.0.1", port).addr
    local server = ratchet.thread.attach(function()
        for _ = 1, N do
            local conn = listener:accept()
            conn:set_timeout(5)
            ratchet.thread.attach(function()
                local enc = conn:encrypt(sctx)
                if pcall(enc.server_handshake, enc) then
                    local d = conn:recv()
                    if d ~= "" then conn:send(d) end
                    -- Not waiting: some clients are dropped without a close_notify.
                    enc:shutdown(false)
                end
                conn:close()
            end)
        end
    end)
    for i = 1, N do
        local s = ratchet.socket.new()
        s:set_timeout(5)
        s:connect(addr)
        if i % 10 == 0 then
            s:send("\0not a client hello\r\n\r\n")
            -- The server closes with our junk unread: an EOF, or a reset.
            local ok, r = pcall(s.recv, s)
            assert((ok and r == "") or ratchet.error.is(r, "ECONNRESET"), tostring(r))
            failed = failed + 1
            s:close()
        else
            local enc = s:encrypt(cctx)
            enc:client_handshake("localhost")
            s:send("ping")
            helper.eq(s:recv(), "ping", "echo")
            if i % 5 == 0 then
                s = nil; enc = nil        -- dropped: the garbage collector closes it
            else
                enc:shutdown()
                s:close()
            end
            good = good + 1
        end
        if i % 500 == 0 then
            collectgarbage(); collectgarbage()
            samples[#samples + 1] = { i = i, rss = helper.rss_kb(), lua = collectgarbage("count") }
        end
    end
    ratchet.thread.wait_all({ server })
    listener:close()
end)
collectgarbage(); collectgarbage()
local fd_after = fds()
for _, s in ipairs(samples) do
    print(string.format("after %5d handshakes: RSS %6d KiB, Lua %7.0f KiB", s.i, s.rss, s.lua))
end
print(string.format("handshakes: %d good, %d failed; descriptors before %d, after %d", good, failed, fd_before, fd_after))
helper.eq(good + failed, N, "connections")
helper.eq(fd_after, fd_before, "descriptor count")
-- Flat memory: between the 1,000th and the last handshake RSS may wander by allocator noise,
-- not by a per-handshake leak (4,000 × even 1 KiB would be 4 MB).
local grow = samples[#samples].rss - samples[2].rss
print(string.format("RSS growth from 1,000 to %d handshakes: %d KiB", N, grow))
assert(grow < 1024, "RSS grew by " .. grow .. " KiB")
local lua_grow = samples[#samples].lua - samples[2].lua
assert(lua_grow < 256, "Lua memory grew by " .. lua_grow .. " KiB")
print("ok")
