-- An HTTP/2 stream whose handler finished while the connection thread waited for more input
-- is answered even when the client's half-close comes before the stream's batched flush:
-- the request goes in, the server runs it, and only then does the client shut down its
-- side (found by the http2_frames fuzz target once its pieces arrived on their own: the
-- connection ended with the response still queued in the session).
local ratchet = require "ratchet"
local http_server = require "ratchet.http.server"
local h = require "helper"

local handlers = {}
function handlers:GET(uri) return {code = 200, message = "OK", data = "ok " .. uri} end

-- a prior-knowledge h2c session: preface, SETTINGS, HEADERS for GET / (made with Python h2)
local here = debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/")
local f = assert(io.open(here .. "/Tests/fuzz/corpus/http2_frames/get.bin", "rb"))
local request = f:read("a")
f:close()

h.run(function()
    -- the client's half-close after 0 to 5 turns of the scheduler: one of them falls between
    -- the end of the stream and its flush
    for round = 0, 5 do
        local a, b = ratchet.socket.new_pair()
        local server = ratchet.thread.attach(http_server.new(a, "test", handlers, {idle_timeout = 2}))
        ratchet.thread.attach(function()
            b:send(request)
            for _ = 1, round do ratchet.thread.yield() end
            b:shutdown("write")
        end)
        b:set_timeout(3)
        local parts = {}
        while true do
            local d = b:recv(65536)
            if d == "" then break end
            parts[#parts + 1] = d
        end
        local out = table.concat(parts)
        assert(out:find("ok /", 1, true), ("round %d: the response body never came (%d bytes)"):format(round, #out))
        h.eq(coroutine.status(server), "dead", "the connection ended")
        b:close()
    end
end)
