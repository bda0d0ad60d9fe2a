-- HTTPS through ratchet.ssl on both sides: curl with the test CA against the server
-- (several URLs on one kept-alive TLS connection), the client's fetch and connect against
-- the server (verified by default when given a CA; refused with an untrusted CA or the
-- system store; accepted with verify = false), and plain text sent to the TLS port.
local ratchet = require "ratchet"
local http_client = require "ratchet.http.client"
local h = require "helper"
local t = require "httptest"

local ssl = ratchet.ssl
assert(ssl and ssl.new, "ratchet.ssl is missing")

-- A test CA and a server certificate for localhost / 127.0.0.1 signed by it; `untrusted`
-- (self-signed) stands for a CA that did not sign the server's certificate.
local certs = require("tls_helper").certs("ec")

local handlers = {}
function handlers:GET(uri)
    return {code = 200, headers = {["Content-Type"] = {"text/plain"}}, data = "secure " .. uri .. "\n"}
end
function handlers:POST(uri, headers, data)
    return {code = 200, data = data}
end

h.run(function()
    local sctx = ssl.new(ssl.TLSv1_server)   -- the reference's name
    sctx:load_certs(certs.server, certs.server_key)
    local port, stats = t.serve(handlers, {tls = sctx, idle_timeout = 5, header_timeout = 5})
    local base = "https://localhost:" .. port

    -- curl, verifying with the test CA: two URLs, one TLS connection
    local rc, out = h.spawn(("curl -sS -v -m 20 --cacert %s --resolve localhost:%d:127.0.0.1 %s/a %s/b")
        :format(certs.ca, port, base, base)):wait(30)
    h.eq(rc, 0, "curl over TLS: " .. out)
    t.has(out, "secure /a\n", "first URL over TLS")
    t.has(out, "secure /b\n", "second URL over TLS")
    t.has(out, "Re-using existing connection", "TLS connection reused")
    t.has(out, "SSL certificate verify ok", "curl verified the server")
    h.eq(stats.connections, 1, "one TLS connection for two URLs")

    -- curl chunked upload over TLS
    rc, out = h.spawn(("curl -sS -m 20 --cacert %s --resolve localhost:%d:127.0.0.1 " ..
        "-H 'Transfer-Encoding: chunked' --data-binary 'tls upload' %s/up"):format(certs.ca, port, base)):wait(30)
    h.eq(rc, 0, "curl upload over TLS: " .. out)
    h.eq(out, "tls upload", "upload echoed over TLS")

    -- our client, given the CA: verified, by name and by address
    local code, _, _, data = http_client.fetch(base .. "/fetched", {ca_file = certs.ca})
    h.eq(code, 200, "fetch over TLS")
    h.eq(data, "secure /fetched\n", "fetch body over TLS")
    code = http_client.fetch("https://127.0.0.1:" .. port .. "/ip", {ca_file = certs.ca})
    h.eq(code, 200, "fetch by IP address over TLS")

    -- one kept-alive TLS connection for several requests
    local before = stats.connections
    local c = http_client.connect(base, {ca_file = certs.ca})
    for i = 1, 3 do
        code, _, _, data = c:query("GET", "/k" .. i)
        h.eq(data, "secure /k" .. i .. "\n", "kept-alive TLS request " .. i)
    end
    c:close()
    h.eq(stats.connections - before, 1, "three requests, one TLS connection")

    -- an untrusted server certificate is refused; verify = false accepts it
    h.raises("EVERIFY", http_client.fetch, base .. "/x", {ca_file = certs.untrusted})
    h.raises("EVERIFY", http_client.fetch, base .. "/x")   -- the system store
    code = http_client.fetch(base .. "/x", {ca_file = certs.untrusted, verify = false})
    h.eq(code, 200, "verify = false")

    -- fetch pools TLS connections per host and TLS settings: the same CA reuses one, another
    -- CA or verify = false gets its own; an idle TLS connection the server closed is noticed
    local pool = http_client.pool()
    before = stats.connections
    for i = 1, 3 do
        h.eq(select(4, http_client.fetch(base .. "/p" .. i, {ca_file = certs.ca, pool = pool})),
            "secure /p" .. i .. "\n", "pooled TLS fetch " .. i)
    end
    h.eq(stats.connections - before, 1, "three pooled TLS fetches, one connection")
    h.raises("EVERIFY", http_client.fetch, base .. "/x", {ca_file = certs.untrusted, pool = pool})
    http_client.fetch(base .. "/x", {ca_file = certs.ca, verify = false, pool = pool})
    h.eq(stats.connections - before, 3, "other TLS settings, other connections")
    h.eq(pool:count(), 2, "two idle TLS connections")
    pool:close()
    -- a server that closes idle TLS connections after 0.2 s
    local qport, quick = t.serve(handlers, {tls = sctx, idle_timeout = 0.2})
    local qbase = "https://localhost:" .. qport
    http_client.fetch(qbase .. "/1", {ca_file = certs.ca, pool = pool})
    h.sleep(0.5)
    h.eq(select(4, http_client.fetch(qbase .. "/2", {ca_file = certs.ca, pool = pool})),
        "secure /2\n", "fetch after the server closed the pooled TLS connection")
    h.eq(quick.connections, 2, "the closed TLS connection was not reused")
    pool:close()
    quick.stop()

    -- plain text to the TLS port: that connection fails, the server goes on
    t.raw(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    code = http_client.fetch(base .. "/after", {ca_file = certs.ca})
    h.eq(code, 200, "still serving TLS after a plain-text client")
    stats.stop()
end)
print("http https ok")
