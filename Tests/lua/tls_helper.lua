-- Shared by the TLS tests: certificates made with the openssl command for this test run,
-- openssl s_server peers run as child processes (helper.spawn jobs), and a bystander
-- connection that must keep talking while a test breaks others.
local ratchet = require "ratchet"
local helper = require "helper"
local M = {}

local run = helper.sh_ok

local function keyopt(kind)
    if kind == "rsa" then return "-newkey rsa:2048" end
    return "-newkey ec -pkeyopt ec_paramgen_curve:P-256"
end

--- Makes a certificate set in a fresh directory and returns the paths:
--  ca, ca_key                  a test CA
--  server, server_key          signed by the CA, SANs localhost, 127.0.0.1, ::1
--  expired, expired_key        signed by the CA for localhost, expired yesterday
--  wrong, wrong_key            signed by the CA for wrong.example only
--  other, other_key            signed by the CA for other.example (SNI tests)
--  untrusted, untrusted_key    self-signed for localhost, not from the CA
--  client, client_key          a client certificate signed by the CA
--  selfsigned                  the reference's cert.pem: CN=localhost, key in the same file
-- `kind` is "ec" (P-256, the default: fast to make) or "rsa" (2048 bits).
function M.certs(kind)
    kind = kind or "ec"
    local dir = helper.tmpname("tls-" .. kind)
    run("mkdir -p " .. dir)
    local p = function(name) return dir .. "/" .. name end
    local c = { dir = dir }
    run(string.format("openssl req -x509 %s -nodes -keyout %s -out %s -subj /CN=Ratchet-Test-CA -days 30",
        keyopt(kind), p("ca.key"), p("ca.pem")))
    c.ca, c.ca_key = p("ca.pem"), p("ca.key")
    local function issue(name, cn, sans, days)
        local ext = helper.write_tmp((sans and ("subjectAltName=" .. sans .. "\n") or "")
            .. "basicConstraints=CA:FALSE\n", "ext")
        run(string.format("openssl req %s -nodes -keyout %s -out %s -subj /CN=%s",
            keyopt(kind), p(name .. ".key"), p(name .. ".csr"), cn))
        run(string.format("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days %d -extfile %s -out %s",
            p(name .. ".csr"), c.ca, c.ca_key, days or 30, ext, p(name .. ".pem")))
        c[name], c[name .. "_key"] = p(name .. ".pem"), p(name .. ".key")
    end
    issue("server", "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1")
    issue("expired", "localhost", "DNS:localhost,IP:127.0.0.1", -1)
    issue("wrong", "wrong.example", "DNS:wrong.example")
    issue("other", "other.example", "DNS:other.example")
    issue("client", "ratchet-client", nil)
    run(string.format("openssl req -x509 %s -nodes -keyout %s -out %s -subj /CN=localhost -days 30 -addext subjectAltName=DNS:localhost",
        keyopt(kind), p("untrusted.key"), p("untrusted.pem")))
    c.untrusted, c.untrusted_key = p("untrusted.pem"), p("untrusted.key")
    -- The reference's certificate: one file holding the key and a self-signed CN=localhost.
    run(string.format("openssl req -x509 %s -nodes -subj /CN=localhost -keyout %s -out %s -days 30",
        keyopt(kind), p("cert.pem"), p("cert.pem")))
    c.selfsigned = p("cert.pem")
    return c
end

--- Only the reference's cert.pem (key and self-signed CN=localhost in one file): its path.
function M.selfsigned(kind)
    local dir = helper.tmpname("tls-self")
    run("mkdir -p " .. dir)
    local path = dir .. "/cert.pem"
    run(string.format("openssl req -x509 %s -nodes -subj /CN=localhost -keyout %s -out %s -days 30",
        keyopt(kind or "ec"), path, path))
    return path
end

--- Starts `openssl s_server` with `args` on a free port; returns the port and the job.
function M.s_server(args)
    local job = helper.spawn("openssl s_server -accept 0 " .. args, {limit = 90})
    return tonumber(job:wait_for("ACCEPT [^\n]*:(%d+)")), job
end

--- A TLS conversation over a socket pair that keeps echoing in its own threads while a
-- test breaks other connections. `alive()` asserts that a few more round trips happen
-- within 5 s; `stop()` ends it (close_notify both ways) and returns how many round trips
-- there were.
function M.bystander(server_ctx, client_ctx, servername)
    local rounds, stopping = 0, false
    local a, b = ratchet.socket.new_pair()
    local ea, eb = a:encrypt(server_ctx), b:encrypt(client_ctx)
    local echo = ratchet.thread.attach(function()
        ea:server_handshake()
        while true do
            local d = a:recv()
            if d == "" then break end
            a:send(d)
        end
        ea:shutdown()
        a:close()
    end)
    local talker = ratchet.thread.attach(function()
        eb:client_handshake(servername)
        while not stopping do
            b:send("tick")
            helper.eq(b:recv(), "tick", "bystander echo")
            rounds = rounds + 1
            ratchet.thread.timer(0.005)
        end
        helper.eq(eb:shutdown(), true, "bystander shutdown answered")
        b:close()
    end)
    local function alive()
        local r0, deadline = rounds, os.time() + 5
        while rounds < r0 + 3 do
            assert(os.time() <= deadline, "the bystander connection stalled")
            ratchet.thread.timer(0.005)
        end
    end
    local function stop()
        stopping = true
        ratchet.thread.wait_all({ talker, echo })
        return rounds
    end
    return { alive = alive, stop = stop }
end

return M
