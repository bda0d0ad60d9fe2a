import CLua
import Glibc

/// `getsockopt(name)` / `setsockopt(name, value)`: the reference's SOL_SOCKET table with its
/// value types, plus (extensions) TCP_NODELAY, SO_REUSEPORT, IPV6_V6ONLY and the TCP
/// keep-alive timers. An unknown name is an argument error.
enum SocketOptions {
    enum Kind { case bool, int, string, linger, timeval, peercred }
    struct Option {
        let level: Int32
        let name: Int32
        let kind: Kind
    }

    static let table: [String: Option] = {
        let sol = SOL_SOCKET
        let tcp = Int32(IPPROTO_TCP)
        var t: [String: Option] = [
            "SO_ACCEPTCONN": Option(level: sol, name: SO_ACCEPTCONN, kind: .bool),
            "SO_BSDCOMPAT": Option(level: sol, name: SO_BSDCOMPAT, kind: .bool),
            "SO_DEBUG": Option(level: sol, name: SO_DEBUG, kind: .bool),
            "SO_DONTROUTE": Option(level: sol, name: SO_DONTROUTE, kind: .bool),
            "SO_KEEPALIVE": Option(level: sol, name: SO_KEEPALIVE, kind: .bool),
            "SO_OOBINLINE": Option(level: sol, name: SO_OOBINLINE, kind: .bool),
            "SO_PASSCRED": Option(level: sol, name: SO_PASSCRED, kind: .bool),
            "SO_REUSEADDR": Option(level: sol, name: SO_REUSEADDR, kind: .bool),
            "SO_TIMESTAMP": Option(level: sol, name: SO_TIMESTAMP, kind: .bool),
            "SO_BROADCAST": Option(level: sol, name: SO_BROADCAST, kind: .int),
            "SO_DOMAIN": Option(level: sol, name: SO_DOMAIN, kind: .int),
            "SO_ERROR": Option(level: sol, name: SO_ERROR, kind: .int),
            "SO_PRIORITY": Option(level: sol, name: SO_PRIORITY, kind: .int),
            "SO_PROTOCOL": Option(level: sol, name: SO_PROTOCOL, kind: .int),
            "SO_RCVBUF": Option(level: sol, name: SO_RCVBUF, kind: .int),
            "SO_RCVBUFFORCE": Option(level: sol, name: SO_RCVBUFFORCE, kind: .int),
            "SO_RCVLOWAT": Option(level: sol, name: SO_RCVLOWAT, kind: .int),
            "SO_SNDLOWAT": Option(level: sol, name: SO_SNDLOWAT, kind: .int),
            "SO_SNDBUF": Option(level: sol, name: SO_SNDBUF, kind: .int),
            "SO_SNDBUFFORCE": Option(level: sol, name: SO_SNDBUFFORCE, kind: .int),
            "SO_TYPE": Option(level: sol, name: SO_TYPE, kind: .int),
            "SO_BINDTODEVICE": Option(level: sol, name: SO_BINDTODEVICE, kind: .string),
            "SO_LINGER": Option(level: sol, name: SO_LINGER, kind: .linger),
            "SO_RCVTIMEO": Option(level: sol, name: SO_RCVTIMEO, kind: .timeval),
            "SO_SNDTIMEO": Option(level: sol, name: SO_SNDTIMEO, kind: .timeval),
            "SO_PEERCRED": Option(level: sol, name: SO_PEERCRED, kind: .peercred),
        ]
        // Extensions.
        t["SO_REUSEPORT"] = Option(level: sol, name: SO_REUSEPORT, kind: .bool)
        t["TCP_NODELAY"] = Option(level: tcp, name: TCP_NODELAY, kind: .bool)
        t["TCP_KEEPIDLE"] = Option(level: tcp, name: TCP_KEEPIDLE, kind: .int)
        t["TCP_KEEPINTVL"] = Option(level: tcp, name: TCP_KEEPINTVL, kind: .int)
        t["TCP_KEEPCNT"] = Option(level: tcp, name: TCP_KEEPCNT, kind: .int)
        t["IPV6_V6ONLY"] = Option(level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, kind: .bool)
        return t
    }()

    private static func option(_ lua: Lua, _ i: Int32) -> (Option?, Int32) {
        guard let b = lua.bytes(i) else { return (nil, lua.typeError(i, "string")) }
        let name = String(decoding: b, as: UTF8.self)
        guard let o = table[name] else { return (nil, lua.argError(i, "unknown socket option '\(name)'")) }
        return (o, 0)
    }

    private static func fetchOption<T: BitwiseCopyable>(_ fd: Int32, _ o: Option, _ value: inout T) -> Bool {
        var len = socklen_t(MemoryLayout<T>.size)
        return withUnsafeMutableBytes(of: &value) { getsockopt(fd, o.level, o.name, $0.baseAddress, &len) } == 0
    }

    private static func storeOption<T: BitwiseCopyable>(_ fd: Int32, _ o: Option, _ value: T) -> Bool {
        withUnsafeBytes(of: value) { setsockopt(fd, o.level, o.name, $0.baseAddress, socklen_t($0.count)) } == 0
    }

    // MARK: getsockopt

    static let get: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = Socket.get(lua, 1) else { return lua.typeError(1, "ratchet.socket") }
        let (opt, err) = option(lua, 2)
        guard let o = opt else { return err }
        let failed: Bool
        switch o.kind {
        case .bool, .int:
            var v: Int32 = 0
            failed = !fetchOption(s.fd, o, &v)
            if !failed { if o.kind == .bool { lua.push(v != 0) } else { lua.push(v) } }
        case .string:
            var buf = [CChar](repeating: 0, count: Int(IFNAMSIZ) + 1)
            var len = socklen_t(IFNAMSIZ)
            failed = getsockopt(s.fd, o.level, o.name, &buf, &len) != 0
            if !failed { buf.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: strnlen($0.baseAddress!.assumingMemoryBound(to: CChar.self), Int(len))) } }
        case .linger:
            var v = linger()
            failed = !fetchOption(s.fd, o, &v)
            if !failed {
                lua.newTable(nrec: 2)
                lua.push(v.l_onoff != 0); lua.setField(-2, "l_onoff")
                lua.push(v.l_linger); lua.setField(-2, "l_linger")
            }
        case .timeval:
            var v = Glibc.timeval()
            failed = !fetchOption(s.fd, o, &v)
            if !failed {
                lua.newTable(nrec: 2)
                lua.push(v.tv_sec); lua.setField(-2, "tv_sec")
                lua.push(v.tv_usec); lua.setField(-2, "tv_usec")
            }
        case .peercred:
            // struct ucred {pid_t pid; uid_t uid; gid_t gid;} (hidden behind _GNU_SOURCE)
            var v: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
            failed = !fetchOption(s.fd, o, &v)
            if !failed {
                lua.newTable(nrec: 3)
                lua.push(v.pid); lua.setField(-2, "pid")
                lua.push(Int(v.uid)); lua.setField(-2, "uid")
                lua.push(Int(v.gid)); lua.setField(-2, "gid")
            }
        }
        if failed { return lua.raiseErrno("ratchet.socket.getsockopt()", "getsockopt", errno) }
        return 1
    }

    // MARK: setsockopt

    /// An int field of the table at `t`, validated (nil when missing or not an Int32).
    private static func intField(_ lua: Lua, _ t: Int32, _ key: StaticString) -> Int? {
        lua.getField(t, key)
        defer { lua.pop() }
        if lua.type(-1) == LUA_TBOOLEAN { return lua.toBool(-1) ? 1 : 0 }
        return lua.integer(-1)
    }

    static let set: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard let s = Socket.get(lua, 1) else { return lua.typeError(1, "ratchet.socket") }
        let (opt, err) = option(lua, 2)
        guard let o = opt else { return err }
        let ok: Bool
        switch o.kind {
        case .bool, .int:
            let v: Int
            if lua.type(3) == LUA_TBOOLEAN {
                v = lua.toBool(3) ? 1 : 0
            } else if let n = lua.integer(3), let n32 = Int32(exactly: n) {
                v = o.kind == .bool ? (n != 0 ? 1 : 0) : Int(n32)
            } else {
                return lua.typeError(3, o.kind == .bool ? "boolean" : "integer")
            }
            ok = storeOption(s.fd, o, Int32(v))
        case .string:
            guard let b = lua.bytes(3) else { return lua.typeError(3, "string") }
            guard b.count < Int(IFNAMSIZ) else { return lua.argError(3, "device name longer than \(IFNAMSIZ - 1) bytes") }
            ok = setsockopt(s.fd, o.level, o.name, b.baseAddress, socklen_t(b.count)) == 0
        case .linger:
            guard lua.type(3) == LUA_TTABLE, let on = intField(lua, 3, "l_onoff"),
                  let secs = intField(lua, 3, "l_linger"), let secs32 = Int32(exactly: secs) else {
                return lua.argError(3, "table {l_onoff=boolean, l_linger=integer} expected")
            }
            ok = storeOption(s.fd, o, linger(l_onoff: on != 0 ? 1 : 0, l_linger: secs32))
        case .timeval:
            guard lua.type(3) == LUA_TTABLE, let sec = intField(lua, 3, "tv_sec"),
                  let usec = intField(lua, 3, "tv_usec"), sec >= 0, (0..<1_000_000).contains(usec) else {
                return lua.argError(3, "table {tv_sec=integer, tv_usec=integer} expected")
            }
            ok = storeOption(s.fd, o, Glibc.timeval(tv_sec: sec, tv_usec: usec))
        case .peercred:
            return lua.argError(2, "SO_PEERCRED is read-only")
        }
        if !ok { return lua.raiseErrno("ratchet.socket.setsockopt()", "setsockopt", errno) }
        return 0
    }
}
