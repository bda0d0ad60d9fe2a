-- Shared by the TLS tests: certificates made with the openssl command for this test run,
-- and openssl s_server / s_client peers run as child processes.
local ratchet = require "ratchet"
local helper = require "helper"
local M = {}

local function run(cmd)
    local out, ok = helper.sh(cmd)
    if not ok then error("command failed: " .. cmd .. "\n" .. out, 2) end
    return out
end
M.run = run

local function write(path, text)
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
end

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
        local ext = p(name .. ".ext")
        write(ext, (sans and ("subjectAltName=" .. sans .. "\n") or "") .. "basicConstraints=CA:FALSE\n")
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

--- A listening TCP socket on 127.0.0.1 (or `host`), any free port: socket, port.
function M.listen(host)
    local rec = ratchet.socket.prepare_tcp(host or "127.0.0.1", 0)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:setsockopt("SO_REUSEADDR", true)
    s:bind(rec.addr)
    s:listen()
    local _, port = s:getsockname()
    return s, port
end

--- A socket connected to host:port.
function M.connect(host, port)
    local rec = ratchet.socket.prepare_tcp(host, port)
    local s = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
    s:connect(rec.addr)
    return s, rec
end

local children = {}

--- Starts `cmd` in the background (stdin from `input` or /dev/null, stdout and stderr to a
-- log) under a 90 s `timeout`, so it cannot outlive a failed test. Returns pid, log path.
function M.spawn(cmd, input)
    local log = helper.tmpname("peer.log")
    local p = io.popen(string.format("timeout 90 %s < %s > %s 2>&1 & echo $!", cmd, input or "/dev/null", log))
    local pid = tonumber(p:read("l"))
    p:close()
    assert(pid, "could not start " .. cmd)
    children[#children + 1] = pid
    return pid, log
end

function M.read_file(path)
    local f = io.open(path)
    if not f then return "" end
    local s = f:read("a")
    f:close()
    return s
end

--- Waits (in a ratchet thread) until `path` contains `pattern`; returns the first capture.
function M.wait_for(path, pattern, seconds)
    local deadline = os.time() + (seconds or 15)
    while os.time() <= deadline do
        local text = M.read_file(path)
        local cap = text:match(pattern)
        if cap then return cap end
        ratchet.thread.timer(0.02)
    end
    error("timed out waiting for '" .. pattern .. "' in:\n" .. M.read_file(path), 2)
end

--- Whether `pid` still runs (a zombie waiting for its new parent to reap it has exited).
function M.alive(pid)
    local f = io.open("/proc/" .. pid .. "/stat")
    if not f then return false end
    local stat = f:read("a")
    f:close()
    local state = stat:match("%) (%a)")
    return state ~= nil and state ~= "Z"
end

--- Waits (in a ratchet thread) until process `pid` has exited.
function M.wait_exit(pid, seconds)
    local deadline = os.time() + (seconds or 15)
    while M.alive(pid) do
        if os.time() > deadline then error("process " .. pid .. " did not exit", 2) end
        ratchet.thread.timer(0.02)
    end
end

--- Starts `openssl s_server` with `args` on a free port; returns port, pid, log.
function M.s_server(args)
    local pid, log = M.spawn("openssl s_server -accept 0 " .. args)
    local port = tonumber(M.wait_for(log, "ACCEPT [^\n]*:(%d+)"))
    return port, pid, log
end

--- Kills every child started by this test.
function M.cleanup()
    for _, pid in ipairs(children) do os.execute("kill " .. pid .. " 2>/dev/null") end
    children = {}
end

return M
