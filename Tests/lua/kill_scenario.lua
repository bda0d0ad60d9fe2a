-- Shared by the kill-and-close regression tests (issue 19): a kernel whose threads wait on
-- every kind of event source at once, killed in rounds by another thread, then closed
-- explicitly, by a <close> variable or by garbage collection. Before the fix, dropping
-- such a kernel aborted the process (double free in the kernel's __gc); the tests pass when
-- the process survives, valgrind/ASan report nothing and no descriptor is left behind.
local ratchet = require "ratchet"
local tls = require "tls_helper"
local helper = require "helper"
local M = {}

local socket, thread = ratchet.socket, ratchet.thread

local contexts
local function tls_contexts()
    if not contexts then
        local cert = tls.selfsigned("ec")
        local server = ratchet.ssl.new(ratchet.ssl.TLS_server)
        server:load_certs(cert)
        local client = ratchet.ssl.new(ratchet.ssl.TLS_client)
        client:load_cas(nil, cert)
        contexts = {server = server, client = client}
    end
    return contexts
end

-- A UDP socket nobody reads: a nameserver that never answers (closed by `close_silent`).
local silent_ns
local function silent_nameserver()
    if not silent_ns then
        local rec = socket.prepare_udp("127.0.0.1", 0)
        silent_ns = socket.new(rec.family, rec.socktype, rec.protocol)
        silent_ns:bind(rec.addr)
    end
    local _, port = silent_ns:getsockname()
    return "127.0.0.1:" .. port
end

--- Waits that never end by themselves within the test (each body blocks on its source).
M.sources = {
    tls_client = function()
        local a, b = socket.new_pair()
        local enc = a:encrypt(tls_contexts().client)
        enc:client_handshake("localhost")   -- nobody answers on b
        b:close()
    end,
    tls_server = function()
        local a, b = socket.new_pair()
        local enc = a:encrypt(tls_contexts().server)
        enc:server_handshake()              -- no ClientHello ever comes
        b:close()
    end,
    dns = function()
        local r = ratchet.dns.new{nameservers = {silent_nameserver()}, timeout = 20, attempts = 1}
        r:query("host.test", "a")
    end,
    exec = function()
        -- cat echoes the input; communicate feeds and drains 200 KB at once
        ratchet.exec.new({"cat"}):communicate(string.rep("x", 200000))
    end,
    exec_wait = function()
        -- waits for SIGCHLD after the output is read
        ratchet.exec.new({"sh", "-c", "cat >/dev/null; sleep 0.5"}):communicate(string.rep("y", 200000))
    end,
    sigwait = function()
        thread.sigwait("SIGUSR2", 20)
    end,
    zmq = function()
        local z = ratchet.zmqsocket.new("REQ")
        -- nobody ever binds it: closing (or collecting) the socket must end its pending
        -- connection (test_zmq_inproc_unbound_connects.lua)
        z:connect("inproc://nobody-binds-" .. math.random(1, 1e9))
        z:send("hello")
        z:recv()                            -- no REP ever answers
    end,
}
M.source_names = {}
for name in pairs(M.sources) do M.source_names[#M.source_names + 1] = name end
table.sort(M.source_names)

--- One kernel: `plan.threads` is a list of source names (one thread each), `plan.order`
--- the order in which they are killed, `plan.per_round` how many per round, `plan.gap`
--- the timer between rounds. Threads not in `order` are still waiting when loop() returns
--- (the entry breaks the loop): disposing of the kernel kills them. Returns the kernel,
--- after loop() returned (under pcall).
function M.run_kernel(plan)
    local k
    k = ratchet.new(function()
        local ts = {}
        for i, name in ipairs(plan.threads) do ts[i] = thread.attach(M.sources[name]) end
        thread.timer(plan.settle or 0.05)
        local killed = 0
        while killed < #plan.order do
            for _ = 1, plan.per_round do
                killed = killed + 1
                local t = ts[plan.order[killed]]
                if t then thread.kill(t) end
                if killed == #plan.order then break end
            end
            thread.timer(plan.gap)
        end
        if #plan.order < #plan.threads then k["break"](k) end
    end)
    local ok, err = pcall(k.loop, k)
    if not ok and plan.expect_ok then error("loop failed: " .. tostring(err)) end
    return k
end

--- Drops the kernel the way `how` says: "close" (k:close()), "tbc" (a <close> variable)
--- or "gc" (the last reference dropped, then a full collection).
function M.dispose(k, how)
    if how == "close" then
        k:close()
    elseif how == "tbc" then
        local _ <close> = k
    end
    k = nil
    collectgarbage(); collectgarbage()
end

--- Open descriptors, with the ZeroMQ context (created by the first socket; its own
--- descriptors stay until the state closes) already in the count. The socket that creates
--- it stays open: libzmq closes a closed socket's descriptors later, in its own thread, so
--- a socket closed just before each count made the counts differ by one at random.
local anchor
function M.fd_count()
    anchor = anchor or ratchet.zmqsocket.new("PAIR")
    return helper.fd_count()
end

function M.close_silent()
    if silent_ns then silent_ns:close(); silent_ns = nil end
end

return M
