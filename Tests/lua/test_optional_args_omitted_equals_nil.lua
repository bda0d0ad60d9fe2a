-- Every function and method of every native module: omitting a trailing optional argument
-- and passing nil in its place behave the same (the same results, or the same error).
-- For a function with optional parameters p1..pn, for every k in 0..n the call with
-- p1..pk given is compared with the same call plus one explicit nil, and plus nils for
-- every remaining parameter. Each call runs in its own ratchet thread on fresh objects;
-- a call still blocked after a while counts as the outcome "blocked".
local ratchet = require "ratchet"
local h = require "helper"
local tls = require "tls_helper"

local socket, dns, ssl, zmq, exec, timerfd =
    ratchet.socket, ratchet.dns, ratchet.ssl, ratchet.zmqsocket, ratchet.exec, ratchet.timerfd

-- MARK: describing an outcome so that two calls on different objects compare equal

local function text(v)
    local ok, s = pcall(tostring, v)
    if not ok then s = type(v) end
    -- Addresses and descriptor numbers differ between fresh objects.
    return (s:gsub("0x%x+", "ADDR"):gsub("%x%x%x%x%x%x+", "ADDR"):gsub("%d+", "N"))
end

local function shape(v, depth)
    local t = type(v)
    if t == "string" then return string.format("%q", v) end
    if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
    if t == "table" then
        if rawget(v, "type") == "ratchet_error" then
            return "ratchet_error{" .. tostring(rawget(v, "code")) .. ": " .. tostring(rawget(v, "description")) .. "}"
        end
        if (depth or 0) >= 3 then return "table" end
        local keys = {}
        for k, x in pairs(v) do keys[#keys + 1] = shape(k, 3) .. "=" .. shape(x, (depth or 0) + 1) end
        table.sort(keys)
        return "{" .. table.concat(keys, ", ") .. "}"
    end
    if t == "userdata" then return "userdata " .. text(v) end
    return t
end

local function error_shape(err)
    if type(err) == "table" and err.type == "ratchet_error" then
        return "error " .. tostring(err.code) .. " from " .. tostring(err["function"])
    end
    return "error " .. text(err)
end

--- Closes what a call returned (sockets, kernels, …) so nothing outlives its comparison.
local function release(r)
    for i = 1, r.n do
        local v = r[i]
        if type(v) == "userdata" then
            local ok, close = pcall(function() return v.close end)
            if ok and type(close) == "function" then pcall(close, v) end
        end
    end
end

local BLOCKED = 0.15

--- Runs f(args[1..n]) in a new thread (after make() built the arguments there) and
--- describes the outcome.
local function outcome(case, k, extra)
    local result
    local worker = ratchet.thread.attach(function()
        local f, args, after = case.make()
        local n = case.nreq + k
        local call = {}
        for i = 1, n do call[i] = args[i] end
        local r = table.pack(pcall(f, table.unpack(call, 1, n + extra)))
        if r[1] then
            local parts = {}
            for i = 2, r.n do parts[#parts + 1] = shape(r[i]) end
            while parts[#parts] == "nil" do parts[#parts] = nil end -- a trailing nil is no value
            result = "returns " .. table.concat(parts, ", ")
            release(table.pack(table.unpack(r, 2, r.n)))
        else
            result = error_shape(r[2])
        end
        if after then after() end
    end)
    local watchdog = ratchet.thread.attach(function()
        ratchet.thread.timer(BLOCKED)
        ratchet.thread.kill(worker)
        result = result or "blocked"
    end)
    ratchet.thread.wait_all({ worker })
    ratchet.thread.kill(watchdog)
    return result or "blocked"
end

local checked, compared = 0, 0

local function check(case)
    for k = 0, case.nopt do
        local given = outcome(case, k, 0)
        local variants = { 1 }
        if case.nopt - k > 1 then variants[2] = case.nopt - k end
        for _, extra in ipairs(variants) do
            local with_nil = outcome(case, k, extra)
            compared = compared + 1
            if given ~= with_nil then
                error(string.format("%s with %d optional argument(s): omitted gives\n  %s\nbut %d explicit nil(s) give\n  %s",
                    case.name, k, given, extra, with_nil), 0)
            end
        end
    end
    checked = checked + 1
end

-- MARK: fixtures (each call gets fresh ones)

local dir = h.tmpname("optargs")
os.execute("mkdir -p " .. dir)
local function write(name, data)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(data)
    f:close()
    return dir .. "/" .. name
end
local resolv_path = write("resolv.conf", "nameserver 127.0.0.1\n")
local hosts_path = write("hosts", "127.0.0.5 optargs.test\n")
local certs = tls.selfsigned()

local function pair_with_data(data)
    local a, b = socket.new_pair()
    if data then a:send(data) end
    return a, b
end

local function listener()
    local l = socket.new()
    l:setsockopt("SO_REUSEADDR", true)
    l:bind(socket.prepare_tcp("127.0.0.1", 0).addr)
    l:listen()
    local _, port = l:getsockname()
    return l, socket.prepare_tcp("127.0.0.1", port).addr
end

local function udp_pair()
    local a, b = socket.new(2, 2), socket.new(2, 2)
    a:bind(socket.prepare_udp("127.0.0.1", 0).addr)
    b:bind(socket.prepare_udp("127.0.0.1", 0).addr)
    local _, port = b:getsockname()
    return a, b, socket.prepare_udp("127.0.0.1", port).addr
end

local function session(timeout)
    local a, b = socket.new_pair()
    a:set_timeout(timeout or 0.02)
    local ctx = ssl.new(ssl.TLSv1_client)
    return ctx:create_session(a), b
end

local zmq_n = 0
local function zmq_pair()
    zmq_n = zmq_n + 1
    local uri = "inproc://optargs-" .. zmq_n
    local a, b = zmq.new("PAIR"), zmq.new("PAIR")
    a:bind(uri)
    b:connect(uri)
    a:set_timeout(0.02)
    b:set_timeout(0.02)
    return a, b
end

local function started(argv)
    local p = exec.new(argv)
    p:start()
    return p, function() pcall(p.kill, p, "SIGKILL"); pcall(p.wait, p) end
end

local function paused_thread()
    local t = ratchet.thread.attach(function() ratchet.thread.pause() end)
    ratchet.thread.yield()
    return t
end

local function noop() end

-- MARK: the cases: name, required argument count (self included), optional count, and
-- make() → function, the full argument list (required then optional values), cleanup.

local function method(obj, name) return function(...) return obj[name](...) end end

local cases = {
    -- ratchet and the kernel object
    { "ratchet.new", 0, 2, function() return ratchet.new, { noop, noop } end },
    { "ratchet.now", 0, 0, function() return function(...) return type(ratchet.now(...)) end, {} end },
    { "kernel:loop", 1, 0, function() local k = ratchet.new(noop); return k.loop, { k } end },
    { "kernel:loop_once", 1, 1, function() local k = ratchet.new(noop); return k.loop_once, { k, true } end },
    { "kernel:break", 1, 0, function() local k = ratchet.new(); return k["break"], { k } end },
    { "kernel:get_num_threads", 1, 0, function() local k = ratchet.new(); return k.get_num_threads, { k } end },
    { "kernel:get_method", 1, 0, function() local k = ratchet.new(); return k.get_method, { k } end },
    { "kernel:get_space", 2, 1, function()
        local k = ratchet.new()
        return k.get_space, { k, coroutine.create(noop), { premade = true } }
    end },
    { "kernel:close", 1, 0, function() local k = ratchet.new(); return k.close, { k } end },
    -- ratchet.thread
    { "thread.attach", 1, 0, function() return ratchet.thread.attach, { noop } end },
    { "thread.attach_background", 1, 0, function() return ratchet.thread.attach_background, { noop } end },
    { "thread.wait_all", 1, 0, function() return ratchet.thread.wait_all, { {} } end },
    { "thread.space", 0, 1, function() return ratchet.thread.space, { { premade = true } } end },
    { "thread.self", 0, 0, function() return function(...) return type(ratchet.thread.self(...)) end, {} end },
    { "thread.timer", 1, 0, function() return ratchet.thread.timer, { 0 } end },
    { "thread.yield", 0, 0, function() return ratchet.thread.yield, {} end },
    { "thread.alarm", 1, 1, function() return ratchet.thread.alarm, { 10, noop } end },
    { "thread.pause", 0, 1, function() return ratchet.thread.pause, { 0.01 } end },
    { "thread.kernel_space", 0, 1, function() return ratchet.thread.kernel_space, { { premade = true } } end },
    { "thread.unpause", 1, 0, function() return ratchet.thread.unpause, { paused_thread() } end },
    { "thread.block_on", 1, 2, function()
        local a, b = pair_with_data("x")
        return ratchet.thread.block_on, { { b }, {}, 0.01 }
    end },
    { "thread.sigwait", 1, 1, function() return ratchet.thread.sigwait, { "SIGUSR2", 0.01 } end },
    { "thread.kill", 1, 0, function() return ratchet.thread.kill, { paused_thread() } end },
    { "thread.kill_all", 1, 0, function() return ratchet.thread.kill_all, { { paused_thread() } } end },
    -- ratchet.error
    { "error.new", 1, 6, function()
        return ratchet.error.new, { "only a description", "ECODE", "f()", "file.lua", 3, "read", 5 }
    end },
    { "error.is", 1, 1, function() return ratchet.error.is, { ratchet.error.new("d", "X"), "X" } end },
    { "error.is on a string", 1, 1, function() return ratchet.error.is, { "X", "X" } end },
    { "err:is", 1, 1, function() local e = ratchet.error.new("d", "X"); return e.is, { e, "X" } end },
    { "err:get_string", 1, 0, function() local e = ratchet.error.new("d", "X"); return e.get_string, { e } end },
    -- ratchet.socket
    { "socket.new", 0, 3, function() return socket.new, { 2, 1, 0 } end },
    { "socket.new_pair", 0, 3, function() return socket.new_pair, { 1, 1, 0 } end },
    { "socket.from_fd", 1, 0, function() return socket.from_fd, { -1 } end },
    { "socket.prepare_tcp", 2, 1, function() return socket.prepare_tcp, { "127.0.0.1", 80, "AF_INET" } end },
    { "socket.prepare_udp", 2, 1, function() return socket.prepare_udp, { "localhost", 53, "AF_INET" } end },
    { "socket.prepare_unix", 1, 0, function() return socket.prepare_unix, { dir .. "/sock" } end },
    { "socket.multi_recv", 1, 1, function()
        local a, b = pair_with_data("data")
        return socket.multi_recv, { { b }, 0.01 }
    end },
    { "socket.multi_recv without data", 1, 1, function()
        local a, b = pair_with_data()
        return socket.multi_recv, { { b }, 0.01 }
    end },
    { "socket.gethostname", 0, 0, function() return socket.gethostname, {} end },
    { "socket.ntoh", 1, 0, function() return socket.ntoh, { "\0\0\0\1" } end },
    { "socket.ntoh16", 1, 0, function() return socket.ntoh16, { "\0\1" } end },
    { "socket.hton", 1, 0, function() return socket.hton, { 1 } end },
    { "socket.hton16", 1, 0, function() return socket.hton16, { 1 } end },
    { "socket:get_fd", 1, 0, function() local s = socket.new(); return function(...) return type(s.get_fd(...)) end, { s } end },
    { "socket:get_timeout", 1, 0, function() local s = socket.new(); return s.get_timeout, { s } end },
    { "socket:set_timeout", 2, 0, function() local s = socket.new(); return s.set_timeout, { s, 1 } end },
    { "socket:bind", 2, 0, function()
        local s = socket.new()
        return s.bind, { s, socket.prepare_tcp("127.0.0.1", 0).addr }
    end },
    { "socket:listen", 1, 1, function()
        local s = socket.new()
        s:bind(socket.prepare_tcp("127.0.0.1", 0).addr)
        return s.listen, { s, 5 }
    end },
    { "socket:accept", 1, 0, function()
        local l, addr = listener()
        local c = socket.new()
        c:connect(addr)
        return function(...) local s = l.accept(...); return s, l:close(), c:close() end, { l }
    end },
    { "socket:connect", 2, 0, function()
        local l, addr = listener()
        local s = socket.new()
        return s.connect, { s, addr }, function() l:close(); s:close() end
    end },
    { "socket:send", 2, 0, function() local a = pair_with_data(); return a.send, { a, "x" } end },
    { "socket:recv", 1, 1, function() local a, b = pair_with_data("hello"); return b.recv, { b, 3 } end },
    { "socket:recv with a timeout", 1, 1, function()
        local a, b = pair_with_data()
        b:set_timeout(0.01)
        return b.recv, { b, 3 }
    end },
    { "socket:shutdown", 1, 1, function() local a = pair_with_data(); return a.shutdown, { a, "write" } end },
    { "socket:close", 1, 0, function() local s = socket.new(); return s.close, { s } end },
    { "socket:check_errors", 1, 0, function() local s = socket.new(); return s.check_errors, { s } end },
    { "socket:set_tracer", 1, 1, function() local s = socket.new(); return s.set_tracer, { s, noop } end },
    { "socket:getsockopt", 2, 0, function() local s = socket.new(); return s.getsockopt, { s, "SO_REUSEADDR" } end },
    { "socket:setsockopt", 3, 0, function() local s = socket.new(); return s.setsockopt, { s, "SO_REUSEADDR", true } end },
    { "socket:setsockopt without a value", 2, 1, function()
        local s = socket.new()
        return s.setsockopt, { s, "SO_REUSEADDR", true }
    end },
    { "socket:get_encryption", 1, 0, function() local s = socket.new(); return s.get_encryption, { s } end },
    { "socket:getsockname", 1, 0, function() local s = socket.new(); return s.getsockname, { s } end },
    { "socket:getpeername", 1, 0, function() local a = pair_with_data(); return a.getpeername, { a } end },
    { "socket:sendto", 3, 0, function()
        local a, b, addr = udp_pair()
        return a.sendto, { a, "x", addr }, function() a:close(); b:close() end
    end },
    { "socket:recvfrom", 1, 1, function()
        local a, b, addr = udp_pair()
        a:sendto("datagram", addr)
        return b.recvfrom, { b, 4 }, function() a:close(); b:close() end
    end },
    { "socket:encrypt", 2, 1, function()
        local s = socket.new()
        return s.encrypt, { s, ssl.new(ssl.TLSv1_client), "pending" }
    end },
    -- ratchet.dns (local answers only: no network)
    { "dns.query", 2, 3, function()
        return dns.query, { "localhost", "a", dns.resolv_conf.new({ resolv_path }), dns.hosts.new({ hosts_path }), 1 }
    end },
    { "dns.query from hosts", 2, 3, function()
        return dns.query, { "optargs.test", "a", dns.resolv_conf.new({ resolv_path }), dns.hosts.new({ hosts_path }), 0.05 }
    end },
    { "dns.query_all", 2, 3, function()
        return dns.query_all, { "localhost", { "a", "aaaa" }, dns.resolv_conf.new({ resolv_path }), dns.hosts.new({ hosts_path }), 1 }
    end },
    { "dns.new", 0, 3, function()
        return dns.new, { dns.resolv_conf.new({ resolv_path }), dns.hosts.new({ hosts_path }), 1 }
    end },
    { "dns.set_default", 0, 1, function() return dns.set_default, { dns.new({ nameservers = { "127.0.0.1" } }) } end,
    },
    { "dns.get_default", 0, 0, function() return function(...) return type(dns.get_default(...)) end, {} end },
    { "resolver:query", 3, 1, function()
        local r = dns.new({ nameservers = { "127.0.0.1" } })
        return r.query, { r, "localhost", "a", 1 }
    end },
    { "resolver:query_all", 3, 1, function()
        local r = dns.new({ nameservers = { "127.0.0.1" } })
        return r.query_all, { r, "localhost", { "a" }, 1 }
    end },
    { "resolver:get_nameservers", 1, 0, function()
        local r = dns.new({ nameservers = { "127.0.0.1" } })
        return r.get_nameservers, { r }
    end },
    { "dns.resolv_conf.new", 0, 1, function() return dns.resolv_conf.new, { { resolv_path } } end },
    { "dns.hosts.new", 0, 1, function() return dns.hosts.new, { { hosts_path } } end },
    -- ratchet.ssl
    { "ssl.new", 0, 2, function() return ssl.new, { ssl.TLSv1, "password" } end },
    { "ctx:set_verify_mode", 1, 1, function() local c = ssl.new(); return c.set_verify_mode, { c, "none" } end },
    { "ctx:set_verify", 2, 0, function() local c = ssl.new(); return c.set_verify, { c, false } end },
    { "ctx:load_certs", 2, 2, function() local c = ssl.new(); return c.load_certs, { c, certs, certs, "pw" } end },
    { "ctx:load_cas", 1, 3, function() local c = ssl.new(); return c.load_cas, { c, dir, certs, 3 } end },
    { "ctx:load_default_verify_paths", 1, 0, function() local c = ssl.new(); return c.load_default_verify_paths, { c } end },
    { "ctx:load_randomness", 1, 2, function() local c = ssl.new(); return c.load_randomness, { c, "/dev/urandom", 32 } end },
    { "ctx:load_dh_params", 2, 0, function() local c = ssl.new(); return c.load_dh_params, { c, dir .. "/none.pem" } end },
    { "ctx:generate_tmp_rsa", 1, 0, function() local c = ssl.new(); return c.generate_tmp_rsa, { c } end },
    { "ctx:set_alpn", 2, 0, function() local c = ssl.new(); return c.set_alpn, { c, { "h2" } } end },
    { "ctx:set_servername_callback", 1, 1, function()
        local c = ssl.new()
        return c.set_servername_callback, { c, noop }
    end },
    { "ctx:set_protocols", 1, 2, function() local c = ssl.new(); return c.set_protocols, { c, "TLSv1.2", "TLSv1.3" } end },
    { "ctx:create_session", 2, 1, function()
        local c = ssl.new()
        return c.create_session, { c, socket.new(), "pending" }
    end },
    { "session:get_engine", 1, 0, function() local s = session(); return s.get_engine, { s } end },
    { "session:client_handshake", 1, 1, function() local s = session(); return s.client_handshake, { s, "localhost" } end },
    { "session:server_handshake", 1, 0, function() local s = session(); return s.server_handshake, { s } end },
    { "session:read", 1, 1, function() local s = session(); return s.read, { s, 10 } end },
    { "session:write", 2, 0, function() local s = session(); return s.write, { s, "x" } end },
    { "session:shutdown", 1, 1, function() local s = session(); return s.shutdown, { s, false } end },
    { "session:verify_certificate", 1, 1, function() local s = session(); return s.verify_certificate, { s, "localhost" } end },
    { "session:get_cipher", 1, 0, function() local s = session(); return s.get_cipher, { s } end },
    { "session:get_rfc2253", 1, 0, function() local s = session(); return s.get_rfc2253, { s } end },
    { "session:get_peer_certificate", 1, 0, function() local s = session(); return s.get_peer_certificate, { s } end },
    { "session:get_protocol", 1, 0, function() local s = session(); return s.get_protocol, { s } end },
    { "session:set_servername", 2, 0, function() local s = session(); return s.set_servername, { s, "localhost" } end },
    { "session:get_servername", 1, 0, function() local s = session(); return s.get_servername, { s } end },
    { "session:get_alpn", 1, 0, function() local s = session(); return s.get_alpn, { s } end },
    -- ratchet.zmqsocket
    { "zmqsocket.new", 0, 1, function() return zmq.new, { "PAIR" } end },
    { "zmqsocket.prepare_uri", 1, 0, function() return zmq.prepare_uri, { "PAIR:inproc://x" } end },
    { "zmqsocket:get_fd", 1, 0, function() local s = zmq.new(); return function(...) return type(s.get_fd(...)), s:close() end, { s } end },
    { "zmqsocket:get_timeout", 1, 0, function() local s = zmq.new(); return s.get_timeout, { s } end },
    { "zmqsocket:set_timeout", 2, 0, function() local s = zmq.new(); return s.set_timeout, { s, 1 } end },
    { "zmqsocket:bind", 2, 0, function() zmq_n = zmq_n + 1; local s = zmq.new(); return s.bind, { s, "inproc://optargs-b" .. zmq_n } end },
    { "zmqsocket:connect", 2, 0, function() local s = zmq.new(); return s.connect, { s, "inproc://optargs-nobody" } end },
    { "zmqsocket:send", 2, 1, function()
        local a, b = zmq_pair()
        return a.send, { a, "x", true }, function() a:close(); b:close() end
    end },
    { "zmqsocket:recv", 1, 0, function()
        local a, b = zmq_pair()
        a:send("x")
        return b.recv, { b }, function() a:close(); b:close() end
    end },
    { "zmqsocket:recv_all", 1, 0, function()
        local a, b = zmq_pair()
        a:send("x", true); a:send("y")
        return b.recv_all, { b }, function() a:close(); b:close() end
    end },
    { "zmqsocket:is_readable", 1, 0, function() local s = zmq.new(); return s.is_readable, { s } end },
    { "zmqsocket:is_writable", 1, 0, function() local s = zmq.new(); return s.is_writable, { s } end },
    { "zmqsocket:is_rcvmore", 1, 0, function() local s = zmq.new(); return s.is_rcvmore, { s } end },
    { "zmqsocket:close", 1, 0, function() local s = zmq.new(); return s.close, { s } end },
    { "zmqsocket:getsockopt", 2, 0, function() local s = zmq.new(); return s.getsockopt, { s, "LINGER" } end },
    { "zmqsocket:setsockopt", 3, 0, function() local s = zmq.new(); return s.setsockopt, { s, "LINGER", 0 } end },
    { "zmqsocket:setsockopt without a value", 2, 1, function()
        local s = zmq.new()
        return s.setsockopt, { s, "LINGER", 0 }
    end },
    -- ratchet.exec
    { "exec.new", 1, 0, function() return exec.new, { { "true" } } end },
    { "exec:get_argv", 1, 0, function() local p = exec.new({ "true" }); return p.get_argv, { p } end },
    { "exec:start", 1, 0, function()
        local p = exec.new({ "true" })
        return function(...) return type(p.start(...)) end, { p }, function() p:wait() end
    end },
    { "exec:get_start_time", 1, 0, function() local p = exec.new({ "true" }); return p.get_start_time, { p } end },
    { "exec:stdin", 1, 0, function() local p, stop = started({ "cat" }); return p.stdin, { p }, stop end },
    { "exec:stdout", 1, 0, function() local p, stop = started({ "cat" }); return p.stdout, { p }, stop end },
    { "exec:stderr", 1, 0, function() local p, stop = started({ "cat" }); return p.stderr, { p }, stop end },
    { "exec:wait", 1, 1, function() local p = started({ "true" }); return p.wait, { p, 5 } end },
    { "exec:wait timing out", 1, 1, function() local p, stop = started({ "sleep", "5" }); return p.wait, { p, 0.01 }, stop end },
    { "exec:kill", 1, 1, function() local p, stop = started({ "sleep", "5" }); return p.kill, { p, "SIGTERM" }, stop end },
    { "exec:communicate", 1, 1, function() local p = exec.new({ "cat" }); return p.communicate, { p, "input" } end },
    { "reader:read", 1, 1, function()
        local p, stop = started({ "echo", "hello" })
        local r = p:stdout()
        return r.read, { r, 3 }, stop
    end },
    { "reader:get_fd", 1, 0, function()
        local p, stop = started({ "true" })
        local r = p:stdout()
        return function(...) return type(r.get_fd(...)) end, { r }, stop
    end },
    { "reader:close", 1, 0, function() local p, stop = started({ "true" }); local r = p:stdout(); return r.close, { r }, stop end },
    { "writer:write", 2, 0, function() local p, stop = started({ "cat" }); local w = p:stdin(); return w.write, { w, "x" }, stop end },
    { "writer:get_fd", 1, 0, function()
        local p, stop = started({ "cat" })
        local w = p:stdin()
        return function(...) return type(w.get_fd(...)) end, { w }, stop
    end },
    { "writer:close", 1, 0, function() local p, stop = started({ "cat" }); local w = p:stdin(); return w.close, { w }, stop end },
    -- ratchet.http2
    { "http2.new", 1, 1, function() return ratchet.http2.new, { "server", { max_headers = 10 } } end },
    { "http2:receive", 2, 0, function() local s = ratchet.http2.new("server"); return s.receive, { s, "x" } end },
    { "http2:output", 1, 0, function() local s = ratchet.http2.new("server"); return s.output, { s } end },
    { "http2:event", 1, 0, function() local s = ratchet.http2.new("server"); return s.event, { s } end },
    -- ratchet.httpwire
    { "httpwire.receive_body", 4, 2, function()
        local a, b = pair_with_data("defgh")
        return ratchet.httpwire.receive_body, { b, "HEADabc", 5, 8, ratchet.now() + 5, 2 }
    end },
    { "http2:request", 5, 3, function()
        local s = ratchet.http2.new("client")
        return s.request, { s, "GET", "https", "localhost", "/", { accept = "*/*" }, "body", false }
    end },
    { "http2:respond", 3, 4, function()
        local s = ratchet.http2.new("server")
        return s.respond, { s, 1, 200, { server = "x" }, "body", false, "today" }
    end },
    { "http2:send", 3, 1, function()
        local s = ratchet.http2.new("client")
        local id = s:request("POST", "https", "localhost", "/", {}, nil, true)
        return s.send, { s, id, "x", true }
    end },
    { "http2:buffered", 2, 0, function() local s = ratchet.http2.new("server"); return s.buffered, { s, 1 } end },
    { "http2:reset", 2, 1, function()
        local s = ratchet.http2.new("client")
        local id = s:request("GET", "https", "localhost", "/", {})
        return s.reset, { s, id, 2 }
    end },
    { "http2:shutdown", 1, 0, function() local s = ratchet.http2.new("server"); return s.shutdown, { s } end },
    { "http2:terminate", 1, 1, function() local s = ratchet.http2.new("server"); return s.terminate, { s, 2 } end },
    { "http2:want_read", 1, 0, function() local s = ratchet.http2.new("server"); return s.want_read, { s } end },
    { "http2:want_write", 1, 0, function() local s = ratchet.http2.new("server"); return s.want_write, { s } end },
    { "http2:close", 1, 0, function() local s = ratchet.http2.new("server"); return s.close, { s } end },
    -- ratchet.timerfd
    { "timerfd.new", 0, 1, function() return timerfd.new, { "monotonic" } end },
    { "timerfd:settime", 1, 3, function() local t = timerfd.new(); return t.settime, { t, 0.5, 0, "relative" } end },
    { "timerfd:gettime", 1, 0, function() local t = timerfd.new(); return t.gettime, { t } end },
    { "timerfd:read", 1, 0, function()
        local t = timerfd.new()
        t:settime(0.001)
        return t.read, { t }
    end },
    { "timerfd:get_fd", 1, 0, function() local t = timerfd.new(); return function(...) return type(t.get_fd(...)) end, { t } end },
    { "timerfd:close", 1, 0, function() local t = timerfd.new(); return t.close, { t } end },
    -- ratchet.http2
    { "http2.new", 1, 1, function() return function(...) return type(ratchet.http2.new(...)) end, { "server", {} } end },
    { "http2:respond", 3, 4, function() local s = ratchet.http2.new("server"); return s.respond, { s, 1, 200, {}, "x", false, "d" } end },
    { "http2:request", 5, 3, function() local s = ratchet.http2.new("client"); return s.request, { s, "GET", "http", "h", "/", {}, "b", false } end },
    { "http2:send", 3, 1, function() local s = ratchet.http2.new("client"); return s.send, { s, 1, "x", true } end },
    { "http2:reset", 2, 1, function() local s = ratchet.http2.new("server"); return s.reset, { s, 1, 0 } end },
    { "http2:terminate", 1, 1, function() local s = ratchet.http2.new("server"); return s.terminate, { s, 0 } end },
    { "http2:output", 1, 0, function() local s = ratchet.http2.new("server"); return s.output, { s } end },
    { "http2:event", 1, 0, function() local s = ratchet.http2.new("server"); return s.event, { s } end },
    -- ratchet.httpwire
    { "httpwire.receive_body", 4, 2, function()
        local a, b = pair_with_data("defgh")
        return ratchet.httpwire.receive_body, { b, "HEADabc", 5, 8, ratchet.now() + 5, 2 }
    end },
}

h.run(function()
    for _, c in ipairs(cases) do
        check({ name = c[1], nreq = c[2], nopt = c[3], make = c[4] })
    end
    dns.set_default(nil)
end)

-- The three defects this test was written for, stated directly.
local e = ratchet.error.new("only a description")
h.eq(rawget(e, "code"), nil, "error.new without a code has no code")
for _, f in ipairs({ "function", "file", "line", "syscall", "errno" }) do
    h.eq(rawget(e, f), nil, "error.new without " .. f)
end
assert(not ratchet.error.is(ratchet.error.new("d", "X")), "is(err) compares the code with nil")
assert(ratchet.error.is(ratchet.error.new("d")), "is(err) is true for an error without a code")
assert(not ratchet.error.new("d", "X"):is(), "err:is() compares the code with nil")
local k = ratchet.new()
local space = k:get_space(coroutine.create(noop))
h.eq(next(space), nil, "get_space without a default makes a new empty table")
k:close()

os.execute("rm -rf " .. dir)
print(string.format("%d functions and methods, %d comparisons", checked, compared))
