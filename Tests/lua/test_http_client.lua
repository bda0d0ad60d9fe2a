-- The HTTP client against Python's http.server: Content-Length, chunked (with a trailer) and
-- close-delimited responses, a kept-alive connection reused for several requests, HEAD,
-- 204, string and streamed (chunked) request bodies, Host, redirects (off by default), the
-- reference's new(socket):query(...), and fetch(url) errors.
require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"
local t = require "httptest"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local portfile = h.tmpname("peer")
local peer = h.spawn(string.format("python3 %shttp_peer.py %s 60", here, portfile))

h.run(function()
    local port = h.wait_until(function() return tonumber((h.read_file(portfile) or ""):match("^%d+")) end, 10)
    assert(port, "python http.server did not start:\n" .. peer:output())
    local base = "http://127.0.0.1:" .. port
    local ok, err = pcall(function()
        -- Content-Length, multi-value headers
        local code, message, headers, data = http_client.fetch(base .. "/cl")
        h.eq(code, 200, "cl code")
        h.eq(message, "OK", "cl message")
        h.eq(data, "content-length body", "cl body")
        h.eq(headers["Content-Type"][1], "text/plain", "header lookup")
        h.eq(table.concat(headers["x-multi"], ","), "a,b", "repeated header")
        h.eq(#headers["x-nothing"], 0, "missing header")

        -- chunked, trailer merged into the headers
        code, _, headers, data = http_client.fetch(base .. "/chunked")
        h.eq(code, 200, "chunked code")
        h.eq(data, "first second third", "chunked body")
        h.eq(headers["x-trailer"][1], "done", "trailer")

        -- body delimited by the end of the connection
        code, _, _, data = http_client.fetch(base .. "/eof")
        h.eq(code, 200, "eof code")
        h.eq(data, "body until close", "eof body")

        -- Host is added
        _, _, _, data = http_client.fetch(base .. "/host")
        h.eq(data, "127.0.0.1:" .. port, "Host header")

        -- 2 MiB
        _, _, _, data = http_client.fetch(base .. "/big")
        h.eq(#data, 2 * 1024 * 1024, "big body")
        assert(data == ("0123456789abcdef"):rep(131072), "big body content")

        -- one kept-alive connection for several requests (the peer reports our port)
        local c = http_client.connect(base)
        local p1 = select(4, c:query("GET", "/conn"))
        code, _, _, data = c:query("HEAD", "/cl")
        h.eq(code, 200, "HEAD code")
        h.eq(data, "", "HEAD has no body")
        code, _, _, data = c:query("GET", "/204")
        h.eq(code, 204, "204 code")
        h.eq(data, "", "204 has no body")
        code, _, headers, data = c:query("POST", "/echo", {["X-A"] = "1"}, "posted data")
        h.eq(data, "posted data", "POST body")
        h.eq(headers["x-framing"][1], "length", "POST sent with Content-Length")
        local pieces = {"stream", "ed ", "upload"}
        code, _, headers, data = c:query("PUT", "/echo", nil, function() return table.remove(pieces, 1) end)
        h.eq(data, "streamed upload", "chunked upload")
        h.eq(headers["x-framing"][1], "chunked", "PUT sent chunked")
        h.eq(headers["x-method"][1], "PUT", "method")
        local p2 = select(4, c:query("GET", "/conn"))
        h.eq(p2, p1, "the same connection served every request")
        c:close()
        h.eq(c.socket:get_fd(), -1, "close closed the socket")

        -- redirects: returned as they are by default, followed on request
        code, _, headers = http_client.fetch(base .. "/redirect")
        h.eq(code, 302, "redirect not followed by default")
        h.eq(headers.location[1], "/cl", "Location")
        code, _, _, data = http_client.fetch(base .. "/redirect", {redirects = 3})
        h.eq(code, 200, "redirect followed")
        h.eq(data, "content-length body", "redirect target body")

        -- the reference form: new(socket):query(...) then the socket is closed
        local sock = h.connect(port)
        local rc = http_client.new(sock)
        code, message, headers, data = rc:query("post", "/echo", {["Content-Length"] = {4}}, "abcd")
        h.eq(code, 200, "reference query code")
        h.eq(data, "abcd", "reference query body")
        h.eq(sock:get_fd(), -1, "reference query closed the socket")

        -- IPv6 literal URL against our own server: the Host header keeps the brackets
        local v6port, v6stats = t.serve({GET = function(_, uri, headers)
            return {data = headers.host[1] .. " " .. uri}
        end}, nil, "::1")
        code, _, _, data = http_client.fetch("http://[::1]:" .. v6port .. "/six?q=1#frag")
        h.eq(code, 200, "IPv6 fetch")
        h.eq(data, "[::1]:" .. v6port .. " /six?q=1", "IPv6 Host header and path without fragment")
        v6stats.stop()

        -- errors: nothing listening; a URL that is not http(s)
        local listener, free = h.listen()
        listener:close()
        h.raises("ECONNREFUSED", http_client.fetch, "http://127.0.0.1:" .. free .. "/")
        h.raises_msg("unsupported URL scheme", http_client.fetch, "ftp://127.0.0.1/")
    end)
    peer:stop()
    os.remove(portfile)
    if not ok then error(err, 0) end
end)
print("http client ok")
