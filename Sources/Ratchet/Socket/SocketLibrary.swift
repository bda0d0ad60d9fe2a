import CLua
import Glibc

/// `ratchet.socket`: constructors, address preparation, multi_recv, byte order, hostname.
enum SocketLibrary {
    static func open(_ lua: Lua) -> Int32 {
        SocketMethods.register(lua)
        SocketAddress.registerMetatable(lua)
        lua.pushLibrary([
            ("new", new), ("new_pair", newPair), ("from_fd", fromFD),
            ("prepare_tcp", prepareTCP), ("prepare_udp", prepareUDP), ("prepare_unix", prepareUnix),
            ("multi_recv", multiRecv), ("gethostname", gethostname),
        ])
        lua.setFunctions(ByteOrder.functions)
        return 1
    }

    /// An optional int32 argument; nil (with the error code in `err`) when it is not one.
    private static func optInt32(_ lua: Lua, _ i: Int32, _ def: Int32, _ err: inout Int32) -> Int32? {
        if lua.isNoneOrNil(i) { return def }
        guard let n = lua.integer(i), let v = Int32(exactly: n) else {
            err = lua.typeError(i, "number")
            return nil
        }
        return v
    }

    private static let flags = Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)

    /// new(family = AF_INET, socktype = SOCK_STREAM, protocol = 0) → socket
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        var err: Int32 = 0
        guard let family = optInt32(lua, 1, AF_INET, &err),
              let type = optInt32(lua, 2, Int32(SOCK_STREAM.rawValue), &err),
              let proto = optInt32(lua, 3, 0, &err) else { return err }
        let fd = socket(family, type | flags, proto)
        if fd < 0 { return lua.raiseErrno("ratchet.socket.new()", "socket", errno) }
        Socket.push(lua, fd: fd)
        return 1
    }

    /// new_pair(family = AF_UNIX, socktype = SOCK_STREAM, protocol = 0) → sock_a, sock_b
    static let newPair: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        var err: Int32 = 0
        guard let family = optInt32(lua, 1, AF_UNIX, &err),
              let type = optInt32(lua, 2, Int32(SOCK_STREAM.rawValue), &err),
              let proto = optInt32(lua, 3, 0, &err) else { return err }
        var fds: (Int32, Int32) = (-1, -1)
        let r = withUnsafeMutableBytes(of: &fds) {
            socketpair(family, type | flags, proto, $0.baseAddress!.assumingMemoryBound(to: Int32.self))
        }
        if r != 0 { return lua.raiseErrno("ratchet.socket.new_pair()", "socketpair", errno) }
        Socket.push(lua, fd: fds.0)
        Socket.push(lua, fd: fds.1)
        return 2
    }

    /// from_fd(fd) → socket that owns fd (made non-blocking and close-on-exec).
    static let fromFD: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let n = lua.integer(1) else { return lua.typeError(1, "number") }
        guard n >= 0, let fd = Int32(exactly: n) else {
            return lua.raiseError("ratchet.socket.from_fd()", "EBADF", "Invalid file descriptor.")
        }
        let fl = fcntl(fd, F_GETFL)
        if fl < 0 { return lua.raiseErrno("ratchet.socket.from_fd()", "fcntl", errno) }
        if fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 { return lua.raiseErrno("ratchet.socket.from_fd()", "fcntl", errno) }
        let fdfl = fcntl(fd, F_GETFD)
        if fdfl >= 0 { _ = fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) }
        Socket.push(lua, fd: fd)
        return 1
    }

    // MARK: addresses

    /// prepare_tcp(host, port, family) → {family, socktype, protocol, host, addr}
    static let prepareTCP: LuaImpl = { L, status, ctx in
        prepare(Lua(L), status, ctx, socktype: Int32(SOCK_STREAM.rawValue), udp: false)
    }

    /// prepare_udp(host, port, family) → record, or nothing when the host has no address.
    static let prepareUDP: LuaImpl = { L, status, ctx in
        prepare(Lua(L), status, ctx, socktype: Int32(SOCK_DGRAM.rawValue), udp: true)
    }

    private static func prepare(_ lua: Lua, _ status: Int32, _ ctx: Int, socktype: Int32, udp: Bool) -> Int32 {
        // The lookup parks its state above the arguments; the argument checks that run
        // again on resumption must find arguments 1-3, not that state.
        lua.arguments(3, status)
        guard let host = lua.string(1) else { return lua.typeError(1, "string") }
        var portValue: Int? = lua.integer(2)
        if portValue == nil, let s = lua.string(2) { portValue = Int(s) }
        guard let p = portValue else { return lua.typeError(2, "number") }
        guard let port = UInt16(exactly: p) else { return lua.argError(2, "port must be an integer from 0 to 65535") }
        var wantV6 = true, wantV4 = true
        if !lua.isNoneOrNil(3) {
            switch lua.string(3) {
            case "AF_UNSPEC": break
            case "AF_INET": wantV6 = false
            case "AF_INET6": wantV4 = false
            default: return lua.argError(3, "Unknown socket address family.")
            }
        }
        let req = HostResolution.Request(host: host, port: port, socktype: socktype,
                                         wantV6: wantV6, wantV4: wantV4, nothingIfEmpty: udp)
        return HostResolution.resolve(lua, status: status, ctx: ctx, req,
                                      function: udp ? "ratchet.socket.prepare_udp()" : "ratchet.socket.prepare_tcp()")
    }

    /// prepare_unix(path) → {family=AF_UNIX, socktype=SOCK_STREAM, protocol=0, addr}
    static let prepareUnix: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let path = lua.bytes(1) else { return lua.typeError(1, "string") }
        lua.newTable(nrec: 4)
        lua.push(AF_UNIX); lua.setField(-2, "family")
        lua.push(Int32(SOCK_STREAM.rawValue)); lua.setField(-2, "socktype")
        lua.push(0); lua.setField(-2, "protocol")
        SocketAddress.push(lua, SocketAddress(unixPath: path)); lua.setField(-2, "addr")
        return 1
    }

    // MARK: multi_recv

    /// multi_recv(sockets, timeout) → data, socket (the first in list order with data or
    /// EOF), or nil on timeout.
    static let multiRecv: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "table") }
        var timeout = -1.0
        if !lua.isNoneOrNil(2) {
            guard let s = lua.number(2), !s.isNaN else { return lua.typeError(2, "number") }
            timeout = s
        }
        if Kernel.timedOut(lua, status) {
            lua.pushNil()
            return 1
        }
        let n = lua.rawLen(1)
        guard n > 0 else { lua.pushNil(); return 1 }
        var waits: [(Socket, Bool)] = []
        for i in 1...n {
            lua.rawGet(1, i)
            guard let s = Socket.get(lua, -1) else { return lua.argError(1, "item \(i) is not a ratchet.socket") }
            switch SocketMethods.readOnce(lua, s, maxlen: ReceiveBuffer.defaultSize) {
            case .pushed:
                lua.insert(-2)  // data, socket
                guard s.trace(lua, -1, s.encryption == nil ? "recv" : "encrypted recv", arg: -2) else { return Status.raise }
                return 2
            case .wouldBlock(let write):
                lua.pop()
                waits.append((s, write))
            case .raised:
                return Status.raise
            }
        }
        guard let t = Kernel.thread(lua) else { return Kernel.notInThread(lua, "ratchet.socket.multi_recv()") }
        for (i, (s, write)) in waits.enumerated() {
            t.kernel.watcher(fd: s.fd, slot: &s.watcher).add(t, write: write, token: i)
        }
        t.kernel.park(t, timeout: timeout)
        return Status.yield()
    }

    static let gethostname: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        var buf = [CChar](repeating: 0, count: 256)
        if Glibc.gethostname(&buf, buf.count - 1) != 0 {
            return lua.raiseErrno("ratchet.socket.gethostname()", "gethostname", errno)
        }
        lua_pushstring(L, buf)
        return 1
    }
}
