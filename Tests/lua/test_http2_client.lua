-- The HTTP client speaks HTTP/2: against nghttp2's own nghttpd (ALPN over TLS, and prior
-- knowledge on cleartext) and against the ratchet server. Requests of many threads share one
-- connection; options.http2 = false keeps to HTTP/1.1; 1 MiB both ways and a streamed
-- request body; a failing handler is a 500 and the connection goes on.
local ratchet = require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"
local t = require "httptest"

local certs = require("tls_helper").certs("ec")
local big = ("0123456789abcdef"):rep(65536)   -- 1 MiB

local www = h.tmpname("www")
h.sh_ok("mkdir -p " .. www)
do
    local f = assert(io.open(www .. "/hello.txt", "wb")); f:write("hello from nghttpd\n"); f:close()
    f = assert(io.open(www .. "/big.bin", "wb")); f:write(big); f:close()
end

-- A port the OS says is free, for a peer that cannot be told to pick one itself.
local function free_port()
    local s, port = h.listen()
    s:close()
    return port
end

-- Starts nghttpd (-v: it logs every frame) and waits until it accepts connections.
local function nghttpd(args)
    local port = free_port()
    local job = h.spawn(("nghttpd -v -d %s %s %d %s"):format(www, args.tls and "" or "--no-tls", port,
        args.tls and (certs.server_key .. " " .. certs.server) or ""), {limit = 60})
    assert(h.wait_until(function()
        return pcall(function() h.connect(port):close() end)
    end, 10), "nghttpd did not start: " .. job:output())
    return port, job
end

-- Runs `n` fetches at once, each in its own thread; returns their results in order.
local function concurrent(n, url, options)
    local results, done = {}, 0
    local threads = {}
    for i = 1, n do
        threads[i] = ratchet.thread.attach(function()
            local ok, code, _, headers, body = pcall(http_client.fetch, url .. "?n=" .. i, options)
            results[i] = {ok = ok, code = code, headers = headers, body = body}
            done = done + 1
        end)
    end
    ratchet.thread.wait_all(threads)
    h.eq(done, n, "all fetches finished")
    return results
end

local handlers = {}
function handlers:GET(uri)
    if uri == "/big" then return {code = 200, data = big} end
    if uri == "/slow" then ratchet.thread.timer(0.3) end
    if uri == "/switch" then return {code = 101} end
    if uri == "/fail" then error("handler failure on purpose") end
    return {code = 200, headers = {["Content-Type"] = "text/plain", ["X-Multi"] = {"a", "b"}},
            data = "ratchet " .. uri .. "\n"}
end
function handlers:POST(uri, headers, data)
    return {code = 201, data = data}
end

h.run(function()
    -- nghttpd over TLS: h2 by ALPN, 20 threads on one connection
    local port, job = nghttpd({tls = true})
    local base = "https://localhost:" .. port
    local tls = {ca_file = certs.ca}
    local code, message, headers, body = http_client.fetch(base .. "/hello.txt", tls)
    h.eq(code, 200, "fetch from nghttpd over TLS")
    h.eq(message, "OK", "reason phrase from the status code")
    h.eq(body, "hello from nghttpd\n", "body from nghttpd")
    h.eq(headers["content-length"][1], "19", "lower-cased multi-value headers")
    local results = concurrent(20, base .. "/hello.txt", tls)
    for i, r in ipairs(results) do
        assert(r.ok and r.code == 200 and r.body == "hello from nghttpd\n", "concurrent fetch " .. i .. ": " .. tostring(r.code))
    end
    code, _, _, body = http_client.fetch(base .. "/big.bin", tls)
    assert(code == 200 and body == big, "1 MiB from nghttpd")
    job:stop()
    local log = job:output()
    local _, connections = log:gsub("recv SETTINGS frame <length=%d+, flags=0x00", "")
    h.eq(connections, 1, "one connection for 22 requests from 21 threads")
    local _, requests = log:gsub("recv HEADERS frame", "")
    h.eq(requests, 22, "nghttpd saw every request")

    -- nghttpd on cleartext: h2c with prior knowledge, only when asked for
    port, job = nghttpd({tls = false})
    code, _, _, body = http_client.fetch("http://127.0.0.1:" .. port .. "/hello.txt", {http2 = "prior_knowledge"})
    h.eq(code, 200, "h2c prior knowledge to nghttpd")
    h.eq(body, "hello from nghttpd\n", "h2c body")
    h.raises("ECONNCLOSED", http_client.fetch, "http://127.0.0.1:" .. port .. "/hello.txt")   -- HTTP/1.1 to an h2-only server
    job:stop()

    -- the ratchet server over TLS, h2 and HTTP/1.1 by ALPN
    local sctx = ratchet.ssl.new(ratchet.ssl.TLS_server)
    sctx:load_certs(certs.server, certs.server_key)
    sctx:set_alpn{"h2", "http/1.1"}
    local errors = 0
    local stats
    port, stats = t.serve(handlers, {tls = sctx, idle_timeout = 5, header_timeout = 5,
                                     on_error = function() errors = errors + 1 end})
    base = "https://localhost:" .. port
    results = concurrent(30, base .. "/many", tls)
    for i, r in ipairs(results) do
        assert(r.ok and r.code == 200 and r.body == "ratchet /many?n=" .. i .. "\n", "concurrent fetch " .. i)
    end
    h.eq(table.concat(results[1].headers["x-multi"], ","), "a,b", "multi-value header")
    h.eq(stats.connections, 1, "30 threads, one HTTP/2 connection")
    code, _, _, body = http_client.fetch(base .. "/big", tls)
    assert(code == 200 and body == big, "1 MiB download from the ratchet server")
    code, _, _, body = http_client.fetch(base .. "/up", {ca_file = certs.ca, method = "POST", data = big})
    assert(code == 201 and body == big, "1 MiB upload to the ratchet server")
    local pieces = 0
    code, _, _, body = http_client.fetch(base .. "/streamed", {ca_file = certs.ca, method = "POST", data = function()
        pieces = pieces + 1
        if pieces > 40 then return nil end
        return ("%05d"):format(pieces):rep(10000)
    end})
    h.eq(code, 201, "streamed request body")
    h.eq(#body, 40 * 50000, "streamed request body length")
    code = http_client.fetch(base .. "/fail", tls)
    h.eq(code, 500, "failing handler")
    h.eq(errors, 1, "the handler error was reported")
    code = http_client.fetch(base .. "/switch", tls)
    h.eq(code, 500, "a 1xx from a handler cannot be an HTTP/2 response")
    h.eq(errors, 2, "and is reported")
    code, _, _, body = http_client.fetch(base .. "/after", tls)
    h.eq(body, "ratchet /after\n", "the connection goes on after a failed handler")
    h.eq(stats.connections, 1, "every HTTP/2 request on the one connection")

    -- a thread killed while it waits for its response: the others go on, nothing waits on
    -- it (else the connection's reader would keep this test's kernel running)
    local victim = ratchet.thread.attach(http_client.fetch, base .. "/slow", tls)
    ratchet.thread.timer(0.05)
    ratchet.thread.kill(victim)
    code, _, _, body = http_client.fetch(base .. "/after-kill", tls)
    h.eq(body, "ratchet /after-kill\n", "a fetch after another thread's was killed")

    -- http2 = false: HTTP/1.1, a connection per fetch
    for i = 1, 3 do
        code, _, _, body = http_client.fetch(base .. "/h1", {ca_file = certs.ca, http2 = false})
        h.eq(body, "ratchet /h1\n", "HTTP/1.1 fetch " .. i)
    end
    h.eq(stats.connections, 2, "HTTP/1.1 fetches share one pooled connection, not the HTTP/2 one")
    stats.stop()

    -- the ratchet server on cleartext, prior knowledge
    port, stats = t.serve(handlers, {idle_timeout = 5, header_timeout = 5})
    results = concurrent(10, "http://127.0.0.1:" .. port .. "/plain", {http2 = "prior_knowledge"})
    for i, r in ipairs(results) do
        assert(r.ok and r.code == 200 and r.body == "ratchet /plain?n=" .. i .. "\n", "h2c fetch " .. i)
    end
    h.eq(stats.connections, 1, "h2c: one connection")
    require("ratchet.http.h2_client").close_all()
    stats.stop()
end)
