-- Responses whose head (and body, gathered with it in one sendmsg) the server sends at once
-- from native code arrive whole when the socket takes only part of them: the server's send
-- buffer is made tiny and the client reads slowly, so the direct send is cut short in the
-- head, in the gathered body and past it, and the rest goes through the ordinary send path.
-- Bodies of 14 B (copied into the head), 2 KB and 60 KB (gathered), 200 KB (sent on its
-- own), HEAD answers, one request at a time and pipelined.
local ratchet = require "ratchet"
local server = require "ratchet.http.server"
local h = require "helper"
local t = require "httptest"
local thread = ratchet.thread

local sizes = {["/a"] = 14, ["/b"] = 2048, ["/c"] = 60000, ["/d"] = 200000}
-- numbered pieces: a byte out of place anywhere changes the text
local bodies = {}
local function body_for(uri)
    if not bodies[uri] then
        local n, parts, have = sizes[uri], {}, 0
        for i = 1, math.huge do
            if have >= n then break end
            parts[i] = uri .. i .. ";"
            have = have + #parts[i]
        end
        bodies[uri] = table.concat(parts):sub(1, n)
    end
    return bodies[uri]
end
local handlers = {}
function handlers:GET(uri) return {code = 200, message = "OK", headers = {["X-Uri"] = uri}, data = body_for(uri)} end

h.run(function()
    local listener, port = h.listen()
    local acceptor = thread.attach(function()
        while true do
            local client, from = listener:accept()
            client:setsockopt("SO_SNDBUF", 4096)   -- the kernel doubles it: ~8 KB in flight
            thread.attach(server.new(client, from, handlers))
        end
    end)
    local order = {"/a", "/b", "/c", "/d", "/c", "/b", "/a"}
    -- one request at a time, read slowly in small pieces
    local s = h.connect(port)
    s:setsockopt("SO_RCVBUF", 4096)
    for _, uri in ipairs(order) do
        t.send_all(s, "GET " .. uri .. " HTTP/1.1\r\nHost: x\r\n\r\n")
        local want = sizes[uri]
        local head = t.read_head(s)
        t.has(head, "HTTP/1.1 200 OK\r\n", uri)
        t.has(head, "X-Uri: " .. uri .. "\r\n", uri)
        t.has(head, "Content-Length: " .. want .. "\r\n", uri)
        local parts, got = {}, 0
        while got < want do
            thread.timer(0.001)
            local d = s:recv(math.min(1500, want - got))
            assert(d ~= "", "connection closed early on " .. uri)
            parts[#parts + 1] = d
            got = got + #d
        end
        h.eq(table.concat(parts), body_for(uri), "body of " .. uri)
    end
    -- HEAD: the head only
    t.send_all(s, "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n")
    local head = t.read_head(s)
    t.has(head, "Content-Length: 60000\r\n", "HEAD")
    s:close()
    -- pipelined: every request in one send, the responses in order
    s = h.connect(port)
    local batch = {}
    for _, uri in ipairs(order) do batch[#batch + 1] = "GET " .. uri .. " HTTP/1.1\r\nHost: x\r\n\r\n" end
    t.send_all(s, table.concat(batch))
    local responses = t.read_responses(s, #order, 10)
    h.eq(#responses, #order, "pipelined responses")
    for i, uri in ipairs(order) do h.eq(responses[i].body, body_for(uri), "pipelined body " .. i) end
    s:close()
    thread.kill(acceptor)
    listener:close()
end)
print("ok")
