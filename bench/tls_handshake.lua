-- TLS handshake rate: full handshakes over loopback TCP with both ends (ratchet client and
-- ratchet server) in this one process, so one core does all the work of both sides.
-- Each connection: connect, client_handshake (chain and name verified), one 4-byte round
-- trip, close. No session resumption. Certificates are made with the openssl command.
--
-- usage: lua5.4 bench/tls_handshake.lua [n = 2000] [kinds = "ec,rsa"] [protocol = "TLSv1.3"]
-- (pin to one core with `taskset -c 0` for a one-core figure on a busy machine)
local ratchet = require "ratchet"
local ssl = ratchet.ssl

local n = tonumber(arg[1]) or 2000
local kinds = arg[2] or "ec,rsa"
local protocol = arg[3] or "TLSv1.3"
local CONCURRENCY = 8

local function sh(cmd)
    local p = io.popen(cmd .. " 2>&1")
    local out = p:read("a")
    if not p:close() then error(cmd .. "\n" .. out) end
    return out
end

local function now()
    local p = io.popen("date +%s.%N")
    local t = tonumber(p:read("l"))
    p:close()
    return t
end

local dir = sh("mktemp -d"):gsub("%s+$", "")

local function certs(kind)
    local key = kind == "rsa" and "-newkey rsa:2048" or "-newkey ec -pkeyopt ec_paramgen_curve:P-256"
    local p = function(f) return dir .. "/" .. kind .. "-" .. f end
    sh(string.format("openssl req -x509 %s -nodes -keyout %s -out %s -subj /CN=bench-ca -days 2", key, p("ca.key"), p("ca.pem")))
    sh(string.format("openssl req %s -nodes -keyout %s -out %s -subj /CN=localhost", key, p("srv.key"), p("srv.csr")))
    local ext = io.open(p("srv.ext"), "w"); ext:write("subjectAltName=DNS:localhost\n"); ext:close()
    sh(string.format("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 2 -extfile %s -out %s",
        p("srv.csr"), p("ca.pem"), p("ca.key"), p("srv.ext"), p("srv.pem")))
    return p("ca.pem"), p("srv.pem"), p("srv.key")
end

local function run(kind)
    local ca, cert, key = certs(kind)
    local sctx = ssl.new(ssl.TLS_server)
    sctx:load_certs(cert, key)
    sctx:set_protocols(protocol, protocol)
    local cctx = ssl.new(ssl.TLS_client)
    cctx:load_cas(nil, ca)
    local result
    ratchet.new(function()
        local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0)
        local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        listener:setsockopt("SO_REUSEADDR", true)
        listener:bind(rec.addr)
        listener:listen(1024)
        local _, port = listener:getsockname()
        local addr = ratchet.socket.prepare_tcp("127.0.0.1", port).addr
        ratchet.thread.attach_background(function()
            while true do
                local ok, conn = pcall(listener.accept, listener)
                if not ok then return end  -- the listener was closed
                ratchet.thread.attach(function()
                    local enc = conn:encrypt(sctx)
                    enc:server_handshake()
                    local d = conn:recv()
                    if d ~= "" then conn:send(d) end
                    conn:close()
                end)
            end
        end)
        local left = n
        local function client()
            while left > 0 do
                left = left - 1
                local s = ratchet.socket.new()
                s:connect(addr)
                s:encrypt(cctx):client_handshake("localhost")
                s:send("ping")
                assert(s:recv() == "ping")
                s:close()
            end
        end
        local t0, c0 = now(), os.clock()
        local threads = {}
        for i = 1, CONCURRENCY do threads[i] = ratchet.thread.attach(client) end
        ratchet.thread.wait_all(threads)
        local wall, cpu = now() - t0, os.clock() - c0
        result = string.format("%-5s %s: %d handshakes in %.2f s wall (%.2f s CPU): %.0f handshakes/s wall, %.0f per CPU-second",
            kind == "ec" and "ECDSA" or "RSA", protocol, n, wall, cpu, n / wall, n / cpu)
        listener:close()
    end):loop()
    return result
end

for kind in kinds:gmatch("[^,]+") do print(run(kind)) end
sh("rm -rf " .. dir)
