import CLua
import CZMQ

/// The socket options `getsockopt`/`setsockopt` know, by their ZeroMQ name without "ZMQ_".
/// Timeouts are not among them: ratchet's `set_timeout` governs every wait.
enum ZMQOptions {
    enum Kind { case int, int64, bool, bytes, text, typeName }
    struct Option {
        let id: Int32
        let kind: Kind
        let get: Bool
        let set: Bool
    }

    static let table: [String: Option] = [
        "SUBSCRIBE": Option(id: ZMQ_SUBSCRIBE, kind: .bytes, get: false, set: true),
        "UNSUBSCRIBE": Option(id: ZMQ_UNSUBSCRIBE, kind: .bytes, get: false, set: true),
        "ROUTING_ID": Option(id: ZMQ_ROUTING_ID, kind: .bytes, get: true, set: true),
        "IDENTITY": Option(id: ZMQ_ROUTING_ID, kind: .bytes, get: true, set: true),
        "CONNECT_ROUTING_ID": Option(id: ZMQ_CONNECT_ROUTING_ID, kind: .bytes, get: false, set: true),
        "LINGER": Option(id: ZMQ_LINGER, kind: .int, get: true, set: true),
        "SNDHWM": Option(id: ZMQ_SNDHWM, kind: .int, get: true, set: true),
        "RCVHWM": Option(id: ZMQ_RCVHWM, kind: .int, get: true, set: true),
        "SNDBUF": Option(id: ZMQ_SNDBUF, kind: .int, get: true, set: true),
        "RCVBUF": Option(id: ZMQ_RCVBUF, kind: .int, get: true, set: true),
        "RECONNECT_IVL": Option(id: ZMQ_RECONNECT_IVL, kind: .int, get: true, set: true),
        "RECONNECT_IVL_MAX": Option(id: ZMQ_RECONNECT_IVL_MAX, kind: .int, get: true, set: true),
        "BACKLOG": Option(id: ZMQ_BACKLOG, kind: .int, get: true, set: true),
        "TCP_KEEPALIVE": Option(id: ZMQ_TCP_KEEPALIVE, kind: .int, get: true, set: true),
        "MAXMSGSIZE": Option(id: ZMQ_MAXMSGSIZE, kind: .int64, get: true, set: true),
        "IMMEDIATE": Option(id: ZMQ_IMMEDIATE, kind: .bool, get: true, set: true),
        "IPV6": Option(id: ZMQ_IPV6, kind: .bool, get: true, set: true),
        "ROUTER_MANDATORY": Option(id: ZMQ_ROUTER_MANDATORY, kind: .bool, get: false, set: true),
        "XPUB_VERBOSE": Option(id: ZMQ_XPUB_VERBOSE, kind: .bool, get: false, set: true),
        "PROBE_ROUTER": Option(id: ZMQ_PROBE_ROUTER, kind: .bool, get: false, set: true),
        "REQ_CORRELATE": Option(id: ZMQ_REQ_CORRELATE, kind: .bool, get: false, set: true),
        "REQ_RELAXED": Option(id: ZMQ_REQ_RELAXED, kind: .bool, get: false, set: true),
        "TYPE": Option(id: ZMQ_TYPE, kind: .typeName, get: true, set: false),
        "RCVMORE": Option(id: ZMQ_RCVMORE, kind: .bool, get: true, set: false),
        "EVENTS": Option(id: ZMQ_EVENTS, kind: .int, get: true, set: false),
        "FD": Option(id: ZMQ_FD, kind: .int, get: true, set: false),
        "LAST_ENDPOINT": Option(id: ZMQ_LAST_ENDPOINT, kind: .text, get: true, set: false),
    ]

    /// The option named at stack index 2 ("LINGER", "zmq_linger", …), or nil with an error
    /// (argument or ratchet error) already described by the returned status.
    static func lookup(_ lua: Lua, _ function: String, forSet: Bool) -> (Option?, Int32) {
        guard let raw = lua.string(2) else { return (nil, lua.typeError(2, "string")) }
        var name = raw.uppercased()
        if name.hasPrefix("ZMQ_") { name.removeFirst(4) }
        if name == "RCVTIMEO" || name == "SNDTIMEO" {
            return (nil, lua.raiseError(function, "EINVAL",
                "ZeroMQ option \(raw) is not used by ratchet: use set_timeout() on the socket."))
        }
        guard let opt = table[name] else {
            return (nil, lua.raiseError(function, "EINVAL", "Unknown ZeroMQ socket option: \(raw)"))
        }
        guard forSet ? opt.set : opt.get else {
            return (nil, lua.raiseError(function, "EINVAL",
                "ZeroMQ socket option \(raw) cannot be \(forSet ? "set" : "read")."))
        }
        return (opt, 0)
    }

    static let getsockopt: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        let function = "ratchet.zmqsocket.getsockopt()"
        guard let s = ZMQSocket.get(lua, 1) else { return lua.typeError(1, "ratchet.zmqsocket") }
        let (found, err) = lookup(lua, function, forSet: false)
        guard let opt = found else { return err }
        guard let h = s.handle else { return ZMQLibrary.closedError(lua, function) }
        defer { s.settle() }
        var rc: Int32
        switch opt.kind {
        case .int, .bool, .typeName:
            var v: Int32 = 0
            var size = MemoryLayout<Int32>.size
            rc = zmq.getsockopt(h, opt.id, &v, &size)
            if rc == 0 {
                switch opt.kind {
                case .bool: lua.push(v != 0)
                case .typeName: lua.push(ZMQLibrary.typeName(v))
                default: lua.push(Int(v))
                }
            }
        case .int64:
            var v: Int64 = 0
            var size = MemoryLayout<Int64>.size
            rc = zmq.getsockopt(h, opt.id, &v, &size)
            if rc == 0 { lua.push(Int(v)) }
        case .bytes, .text:
            var buf = [UInt8](repeating: 0, count: 1024)
            var size = buf.count
            rc = zmq.getsockopt(h, opt.id, &buf, &size)
            if rc == 0 {
                // Text options count their terminating NUL.
                if opt.kind == .text, size > 0, buf[size - 1] == 0 { size -= 1 }
                buf.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: size) }
            }
        }
        guard rc == 0 else { return lua.raiseZMQ("ratchet.zmqsocket.getsockopt()", "zmq_getsockopt", zmq.errno()) }
        return 1
    }

    /// setsockopt(name, value) → nothing, like the sockets' setsockopt.
    static let setsockopt: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        let function = "ratchet.zmqsocket.setsockopt()"
        guard let s = ZMQSocket.get(lua, 1) else { return lua.typeError(1, "ratchet.zmqsocket") }
        let (found, err) = lookup(lua, function, forSet: true)
        guard let opt = found else { return err }
        var rc: Int32 = 0
        switch opt.kind {
        case .int, .bool, .typeName:
            var v: Int32
            if opt.kind == .bool, lua.type(3) == LUA_TBOOLEAN {
                v = lua.toBool(3) ? 1 : 0
            } else {
                guard let n = lua.integer(3) else { return lua.typeError(3, opt.kind == .bool ? "boolean" : "integer") }
                guard let n32 = Int32(exactly: n) else { return lua.argError(3, "value out of range") }
                v = n32
            }
            guard let h = s.handle else { return ZMQLibrary.closedError(lua, function) }
            rc = zmq.setsockopt(h, opt.id, &v, MemoryLayout<Int32>.size)
        case .int64:
            guard let n = lua.integer(3) else { return lua.typeError(3, "integer") }
            var v = Int64(n)
            guard let h = s.handle else { return ZMQLibrary.closedError(lua, function) }
            rc = zmq.setsockopt(h, opt.id, &v, MemoryLayout<Int64>.size)
        case .bytes, .text:
            if lua.type(3) == LUA_TNUMBER { _ = lua_tolstring(L, 3, nil) }
            guard let b = lua.bytes(3) else { return lua.typeError(3, "string") }
            guard let h = s.handle else { return ZMQLibrary.closedError(lua, function) }
            rc = zmq.setsockopt(h, opt.id, b.baseAddress, b.count)
        }
        s.settle()
        guard rc == 0 else { return lua.raiseZMQ("ratchet.zmqsocket.setsockopt()", "zmq_setsockopt", zmq.errno()) }
        return 0
    }
}
