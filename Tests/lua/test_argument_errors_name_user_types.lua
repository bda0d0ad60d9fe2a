-- An argument of the wrong kind is named as users know it: a method called with '.'
-- instead of ':' says "ratchet.socket expected, got sockaddr", not the metatable's registry
-- name. The registry names (__name) stay those the reference documents.
local ratchet = require "ratchet"
local h = require "helper"

local addr = ratchet.socket.prepare_tcp("127.0.0.1", 1).addr
local sock = ratchet.socket.new()
h.raises_msg("ratchet.socket expected, got sockaddr", sock.connect, addr)
h.raises_msg("sockaddr expected, got ratchet.socket", sock.connect, sock, sock)
h.raises_msg("sockaddr expected, got ratchet.error", sock.bind, sock, ratchet.error.new("x"))
h.raises_msg("ratchet.socket expected, got ratchet kernel", sock.close, ratchet.new())
local ctx = ratchet.ssl.new()
h.raises_msg("ratchet.ssl context expected, got ratchet.socket", ctx.set_verify_mode, sock)
h.raises_msg("ratchet.socket expected, got ratchet.ssl context", sock.get_fd, ctx)
local session = ctx:create_session(sock)
h.raises_msg("ratchet.ssl context expected, got ratchet.ssl.session", ctx.load_certs, session, "x")
local z = ratchet.zmqsocket.new()
h.raises_msg("ratchet.socket expected, got ratchet.zmqsocket", sock.recv, z)
local p = ratchet.exec.new({ "true" })
h.raises_msg("ratchet.zmqsocket expected, got ratchet.exec", z.recv, p)
local t = ratchet.timerfd.new()
h.raises_msg("ratchet.exec expected, got ratchet.timerfd", p.start, t)
local r = ratchet.dns.new({ nameservers = { "127.0.0.1" } })
h.raises_msg("ratchet.timerfd expected, got ratchet.dns resolver", t.read, r)
local hosts = ratchet.dns.hosts.new({ "/dev/null" })
h.raises_msg("ratchet.dns resolver expected, got ratchet.dns.hosts", r.get_nameservers, hosts)
h.raises_msg("ratchet.timerfd expected, got ratchet.dns.resolv_conf", t.close, ratchet.dns.resolv_conf.new({ "/dev/null" }))
local a = ratchet.dns.query("127.0.0.1", "a")[1]
h.raises_msg("ratchet.socket expected, got ratchet.dns address", sock.close, a)
h.raises_msg("ratchet.socket expected, got number", sock.close, 1)
h.raises_msg("ratchet.socket expected, got no value", sock.close)
h.raises_msg("ratchet.socket expected, got light userdata", sock.close, ratchet.ssl.TLSv1)
-- A stock-Lua check names the same way as before (the reference's registry name).
h.eq(getmetatable(addr).__name, "ratchet_socket_sockaddr_meta", "sockaddr __name")
h.eq(getmetatable(sock).__name, "ratchet_socket_meta", "socket __name")
h.eq(getmetatable(ratchet.error.new("x")).__name, "ratchet_error_meta", "error __name")
sock:close(); z:close(); t:close()
