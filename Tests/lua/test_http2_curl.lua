-- The HTTP server speaks HTTP/2 to curl: with prior knowledge on cleartext (HTTP/1.1 still
-- answered on the same port) and by ALPN over TLS with a test CA. Several URLs on one
-- connection, a 1 MiB upload and download, a failing handler (500, the connection goes
-- on), a streamed response, and 100 concurrent streams each served by its own thread.
local ratchet = require "ratchet"
local h = require "helper"
local t = require "httptest"

local ssl = ratchet.ssl
local certs = require("tls_helper").certs("ec")

local big = ("0123456789abcdef"):rep(65536)   -- 1 MiB
local upload = h.tmpname("upload")
do
    local parts = {}
    for i = 1, 104858 do parts[i] = string.format("%09d\n", i * 7919 % 1000003) end
    local f = assert(io.open(upload, "wb"))
    f:write(table.concat(parts))
    f:close()
end
local upload_data = h.read_file(upload)

local running, most = 0, 0
local handler_errors = 0
local function on_error() handler_errors = handler_errors + 1 end
local uploads = {}
local handlers = {}
function handlers:GET(uri, headers)
    if uri == "/big" then return {code = 200, data = big} end
    if uri == "/fail" then error("handler failure on purpose") end
    if uri == "/stream" then
        local i = 0
        return {code = 200, data = function()
            i = i + 1
            if i > 3 then return nil end
            ratchet.thread.timer(0.01)
            return "part " .. i .. "\n"
        end}
    end
    if uri:match("^/slow") then
        running = running + 1
        if running > most then most = running end
        ratchet.thread.timer(0.2)
        running = running - 1
    end
    return {code = 200, headers = {["Content-Type"] = "text/plain", ["X-Multi"] = {"a", "b"}},
            data = "path " .. uri .. " host " .. tostring(headers.host[1]) .. "\n"}
end
function handlers:POST(uri, headers, data)
    uploads[#uploads + 1] = data
    return {code = 200, data = data}
end

local function curl(args)
    local rc, out = h.spawn("curl -sS -m 30 " .. args):wait(40)
    return out, rc
end

h.run(function()
    -- cleartext, prior knowledge
    local port, stats = t.serve(handlers, {idle_timeout = 5, header_timeout = 5, on_error = on_error})
    local base = "http://127.0.0.1:" .. port
    -- (curl 7.88 cannot reuse a prior-knowledge connection: h2load sends several URLs)
    local out, rc = curl("-v --http2-prior-knowledge " .. base .. "/a")
    h.eq(rc, 0, "curl exit status: " .. out)
    t.has(out, "< HTTP/2 200", "answered in HTTP/2")
    t.has(out, "path /a host 127.0.0.1:" .. port .. "\n", ":authority as host")
    t.has(out, "< x-multi: a\r\n< x-multi: b", "multi-value header as two fields")
    rc, out = h.spawn(("h2load -n 40 -c 1 -m 4 %s/a %s/b %s/fail %s/c"):format(base, base, base, base)):wait(40)
    h.eq(rc, 0, "h2load: " .. out)
    t.has(out, "40 done, 30 succeeded, 10 failed, 0 errored", "40 requests on one connection")
    t.has(out, "status codes: 30 2xx, 0 3xx, 0 4xx, 10 5xx", "a failing handler is a 500, the others go on")
    h.eq(stats.connections, 2, "curl and h2load: one connection each")
    h.eq(handler_errors, 10, "handler errors reported to on_error")

    local got = h.tmpname("got")
    out, rc = curl("--http2-prior-knowledge -o " .. got .. " " .. base .. "/big")
    h.eq(rc, 0, "1 MiB download: " .. out)
    assert(h.read_file(got) == big, "1 MiB download content")

    out, rc = curl("--http2-prior-knowledge --data-binary @" .. upload .. " -o " .. got .. " " .. base .. "/up")
    h.eq(rc, 0, "1 MiB upload: " .. out)
    assert(uploads[1] == upload_data, "1 MiB upload content")
    assert(h.read_file(got) == upload_data, "1 MiB upload echoed")

    out, rc = curl("--http2-prior-knowledge " .. base .. "/stream")
    h.eq(out, "part 1\npart 2\npart 3\n", "streamed response")

    out, rc = curl("--http1.1 -w ' %{http_version}' " .. base .. "/old")
    h.eq(out, "path /old host 127.0.0.1:" .. port .. "\n 1.1", "HTTP/1.1 on the same port")
    stats.stop()

    -- TLS: h2 chosen by ALPN
    local sctx = ssl.new(ssl.TLS_server)
    sctx:load_certs(certs.server, certs.server_key)
    sctx:set_alpn{"h2", "http/1.1"}
    port, stats = t.serve(handlers, {tls = sctx, idle_timeout = 5, header_timeout = 5, on_error = on_error})
    local tls = ("--cacert %s --resolve localhost:%d:127.0.0.1 "):format(certs.ca, port)
    base = "https://localhost:" .. port
    out, rc = curl("-v " .. tls .. base .. "/a " .. base .. "/fail " .. base .. "/b")
    h.eq(rc, 0, "curl over TLS: " .. out)
    t.has(out, "< HTTP/2 500", "a failing handler is a 500")
    t.has(out, "ALPN: server accepted h2", "h2 by ALPN")
    t.has(out, "< HTTP/2 200", "HTTP/2 over TLS")
    t.has(out, "path /b host localhost:" .. port, "second URL over TLS")
    t.has(out, "Re-using existing connection", "TLS connection reused")

    out, rc = curl(tls .. "-o " .. got .. " " .. base .. "/big")
    h.eq(rc, 0, "1 MiB download over TLS: " .. out)
    assert(h.read_file(got) == big, "1 MiB download content over TLS")
    out, rc = curl(tls .. "--data-binary @" .. upload .. " -o " .. got .. " " .. base .. "/up")
    h.eq(rc, 0, "1 MiB upload over TLS: " .. out)
    assert(h.read_file(got) == upload_data, "1 MiB upload echoed over TLS")

    -- 100 concurrent streams on one connection, each handler asleep at the same time
    local before = stats.connections
    local urls = {}
    for i = 1, 100 do urls[i] = base .. "/slow" .. i end
    local started = ratchet.now()
    out, rc = curl(tls .. "--parallel --parallel-max 100 -w 'proto=%{http_version}\\n' " .. table.concat(urls, " "))
    local took = ratchet.now() - started
    h.eq(rc, 0, "100 streams: " .. out)
    local answered = 0
    for _ in out:gmatch("path /slow%d+ host") do answered = answered + 1 end
    h.eq(answered, 100, "100 streams answered")
    h.eq(select(2, out:gsub("proto=2\n", "")), 100, "all over HTTP/2")
    h.eq(stats.connections - before, 1, "one connection for 100 streams")
    assert(most >= 50, "handlers ran concurrently (at most " .. most .. " at once)")
    assert(took < 10, "100 streams of 0.2 s took " .. took .. " s")

    out, rc = curl("--http1.1 -w ' %{http_version}' " .. tls .. base .. "/old")
    h.eq(out, "path /old host localhost:" .. port .. "\n 1.1", "HTTP/1.1 by ALPN on the same port")
    stats.stop()
end)
