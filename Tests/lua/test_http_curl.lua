-- The HTTP server against curl: several URLs on one kept-alive connection, a chunked
-- upload, Expect: 100-continue, --http1.0, HEAD, a streamed (chunked) response and a large
-- body.
local ratchet = require "ratchet"
local h = require "helper"
local t = require "httptest"

-- A 300 KB upload file with varied bytes.
local upload = h.tmpname("upload")
do
    local parts = {}
    for i = 1, 30000 do parts[i] = string.format("%09d\n", i * 7919 % 1000003) end
    local f = assert(io.open(upload, "wb"))
    f:write(table.concat(parts))
    f:close()
end
local upload_data = io.open(upload, "rb"):read("a")
local big = ("0123456789abcdef"):rep(65536) -- 1 MiB

local uploads = {}
local handlers = {}
function handlers:GET(uri, headers)
    if uri == "/stream" then
        local i = 0
        return {code = 200, headers = {["Content-Type"] = "text/plain"}, data = function()
            i = i + 1
            if i > 5 then return nil end
            ratchet.thread.timer(0.01)
            return "part " .. i .. "\n"
        end}
    elseif uri == "/big" then
        return {code = 200, data = big}
    end
    return {code = 200, message = "OK", headers = {["Content-Type"] = {"text/plain"}},
        data = "path " .. uri .. "\n"}
end
function handlers:POST(uri, headers, data)
    uploads[#uploads + 1] = {uri = uri, data = data, te = headers["transfer-encoding"][1],
        expect = headers.expect[1]}
    return {code = 200, data = data}
end

local function curl(args)
    local rc, out = h.spawn("curl -sS -m 20 " .. args):wait(30)
    return out, rc
end

h.run(function()
    local port, stats = t.serve(handlers, {idle_timeout = 5, header_timeout = 5})
    local base = "http://127.0.0.1:" .. port

    -- keep-alive: three URLs, one connection
    local out, rc = curl("-v " .. base .. "/a " .. base .. "/b " .. base .. "/c")
    h.eq(rc, 0, "curl exit status")
    t.has(out, "path /a\n", "first URL")
    t.has(out, "path /b\n", "second URL")
    t.has(out, "path /c\n", "third URL")
    t.has(out, "Re-using existing connection", "curl reused the connection")
    h.eq(stats.connections, 1, "server saw one connection for three URLs")

    -- chunked upload, echoed back byte for byte
    local echoed = h.tmpname("echoed")
    out, rc = curl("-H 'Transfer-Encoding: chunked' --data-binary @" .. upload .. " -o " .. echoed ..
        " " .. base .. "/up")
    h.eq(rc, 0, "chunked upload exit status: " .. out)
    h.eq(uploads[1].te, "chunked", "upload was chunked")
    h.eq(#uploads[1].data, #upload_data, "upload length")
    assert(uploads[1].data == upload_data, "upload content")
    assert(io.open(echoed, "rb"):read("a") == upload_data, "echoed content")

    -- Expect: 100-continue with a Content-Length body
    out, rc = curl("-v -H 'Expect: 100-continue' --data-binary @" .. upload .. " -o /dev/null " .. base .. "/exp")
    h.eq(rc, 0, "expect exit status")
    t.has(out, "HTTP/1.1 100 Continue", "interim response")
    h.eq(uploads[2].expect, "100-continue", "expectation seen")
    assert(uploads[2].data == upload_data, "body after 100 Continue")

    -- HTTP/1.0: status line of the request's version, connection closed, Content-Length given
    out, rc = curl("-i --http1.0 " .. base .. "/old")
    h.eq(rc, 0, "http1.0 exit status")
    h.eq(out:match("^[^\r]*"), "HTTP/1.0 200 OK", "1.0 status line")
    t.has(out, "Connection: close", "1.0 connection closed")
    t.has(out, "Content-Length: 10", "computed Content-Length")
    t.has(out, "path /old", "1.0 body")

    -- HEAD: the GET handler, the same Content-Length, no body
    out, rc = curl("-I " .. base .. "/head")
    h.eq(rc, 0, "HEAD exit status")
    t.has(out, "HTTP/1.1 200 OK", "HEAD status")
    t.has(out, "Content-Length: 11", "HEAD Content-Length")
    t.lacks(out, "path /head", "HEAD has no body")

    -- a streamed response goes out chunked
    out, rc = curl("-i " .. base .. "/stream")
    h.eq(rc, 0, "stream exit status")
    t.has(out, "Transfer-Encoding: chunked", "streamed response is chunked")
    t.has(out, "part 1\npart 2\npart 3\npart 4\npart 5\n", "streamed body")

    -- a 1 MiB body
    local dl = h.tmpname("dl")
    out, rc = curl("-o " .. dl .. " " .. base .. "/big")
    h.eq(rc, 0, "big exit status")
    assert(io.open(dl, "rb"):read("a") == big, "1 MiB body intact")
    os.remove(dl); os.remove(echoed)
    stats.stop()
end)
os.remove(upload)
print("http curl ok")
