import CLua
import CRatchetShims
import Glibc

/// The methods of socket objects. Every blocking method tries its syscall first and parks
/// the thread only on EAGAIN; on resumption it checks for a timeout and tries again.
enum SocketMethods {
    static let methods: [(StaticString, LuaImpl)] = [
        ("get_fd", getFD), ("get_timeout", getTimeout), ("set_timeout", setTimeout),
        ("bind", bind), ("listen", listen), ("accept", accept), ("connect", connect),
        ("send", send), ("recv", recv), ("shutdown", shutdown), ("close", close),
        ("check_errors", checkErrors), ("set_tracer", setTracer),
        ("getsockopt", SocketOptions.get), ("setsockopt", SocketOptions.set),
        ("get_encryption", getEncryption),
        // Extensions beyond the reference:
        ("getsockname", getsockname), ("getpeername", getpeername),
        ("sendto", sendto), ("recvfrom", recvfrom),
    ]

    static func register(_ lua: Lua) {
        Socket.registerMetatable(lua, methods: methods, tostring: toString, metamethods: [("__eq", equal)])
    }

    @inline(__always) static func notSocket(_ lua: Lua) -> Int32 { lua.typeError(1, "ratchet.socket") }

    /// Parks the caller on the socket; the value to return from the implementation. A call
    /// that may park several times before it completes (through TLS: a record comes in many
    /// reads, a handshake in many flights) passes `deadlineSlot`, the first free index after
    /// its arguments, so that the socket's timeout bounds the whole call, not each wait.
    @inline(__always)
    static func park(_ lua: Lua, _ sock: Socket, write: Bool, deadlineSlot: Int32 = 0, ctx: Int = 0,
                     _ function: String) -> Int32 {
        Kernel.withThread(lua) { t in
            let timeout = deadlineSlot == 0 ? sock.timeout : lua.remaining(timeout: sock.timeout, slot: deadlineSlot)
            sock.wait(t, write: write, timeout: timeout)
            return Status.yield(ctx)
        } ?? Kernel.notInThread(lua, function)
    }

    /// `park` for a read whose wait is bounded further by `within` seconds (negative: none),
    /// for a caller that keeps a deadline of its own (the HTTP server's request body:
    /// RequestBody). Apart from `park`: a parameter there cost the echo round trip 45–90
    /// instructions (bench/echo_instructions.sh).
    static func parkReading(_ lua: Lua, _ sock: Socket, within: Double, _ function: String) -> Int32 {
        Kernel.withThread(lua) { t in
            let timeout = within >= 0 && (sock.timeout < 0 || within < sock.timeout) ? within : sock.timeout
            sock.wait(t, write: false, timeout: timeout)
            return Status.yield()
        } ?? Kernel.notInThread(lua, function)
    }

    // MARK: simple accessors

    static let getFD: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        lua.push(s.fd)
        return 1
    }

    static let getTimeout: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        lua.push(s.timeout)
        return 1
    }

    /// Negative or infinite means no timeout (stored as −1).
    static let setTimeout: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        guard let v = lua.number(2), !v.isNaN else { return lua.typeError(2, "number") }
        s.timeout = (v < 0 || v.isInfinite) ? -1 : v
        return 0
    }

    static let setTracer: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        let t = lua.type(2)
        guard t == LUA_TFUNCTION || t <= LUA_TNIL else { return lua.typeError(2, "function") }
        lua_setiuservalue(L, 1, Socket.tracerSlot)
        s.hasTracer = t == LUA_TFUNCTION
        return 0
    }

    static let getEncryption: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard Socket.get(lua, 1) != nil else { return notSocket(lua) }
        lua_getiuservalue(L, 1, Socket.encryptionSlot)
        return 1
    }

    static let toString: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        lua.push("ratchet.socket (fd \(s.fd))")
        return 1
    }

    /// `__eq` compares descriptors, like the reference.
    static let equal: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let a = Socket.get(lua, 1), let b = Socket.get(lua, 2) else { lua.push(false); return 1 }
        lua.push(a.fd == b.fd)
        return 1
    }

    // MARK: setting up

    /// bind(addr) → true. An AF_UNIX path is unlinked first (a stale socket file would
    /// otherwise make bind fail with EADDRINUSE).
    static let bind: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        guard let a = SocketAddress.get(lua, 2) else { return lua.typeError(2, "sockaddr") }
        if a.family == AF_UNIX {
            withUnsafeBytes(of: a.storage) { raw in
                let off = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
                let p = (raw.baseAddress! + off).assumingMemoryBound(to: CChar.self)
                if p.pointee != 0 { _ = unlink(p) }
            }
        }
        if WorkerChannel.fd >= 0 && (a.family == AF_INET || a.family == AF_INET6) && s.isStream {
            // a worker under `ratchet-lua -w N`: the listener is the supervisor's, shared
            let e = WorkerChannel.adoptListener(onto: s.fd, address: a)
            if e != 0 { return lua.raiseErrno("ratchet.socket.bind()", "bind", e) }
        } else {
            let r = a.withSockaddr { Glibc.bind(s.fd, $0, $1) }
            if r != 0 { return lua.raiseErrno("ratchet.socket.bind()", "bind", errno) }
        }
        guard s.trace(lua, 1, "bind", arg: 2) else { return Status.raise }
        lua.push(true)
        return 1
    }

    static let listen: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        var backlog = SOMAXCONN
        if !lua.isNoneOrNil(2) {
            guard let n = lua.integer(2) else { return lua.typeError(2, "number") }
            backlog = Int32(clamping: n)
        }
        if Glibc.listen(s.fd, backlog) != 0 { return lua.raiseErrno("ratchet.socket.listen()", "listen", errno) }
        // TCP_NODELAY for what it accepts, as nginx does: with Nagle a reply written right
        // after a TLS 1.3 handshake waits ~40 ms for the client's delayed ACK. Linux copies a
        // listener's TCP options to accepted sockets, so one call here costs nothing per
        // connection; it fails harmlessly (EOPNOTSUPP) on a non-TCP socket.
        var on: Int32 = 1
        _ = setsockopt(s.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        guard s.trace(lua, 1, "listen") else { return Status.raise }
        lua.push(true)
        return 1
    }

    /// accept() → client socket (non-blocking, close-on-exec, timeout −1), peer sockaddr.
    static let accept: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.accept()", "accept") }
        var addr = SocketAddress()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let fd = withUnsafeMutablePointer(to: &addr.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    ratchet_accept4(s.fd, $0, &len)
                }
            }
            if fd >= 0 {
                addr.length = len
                Socket.push(lua, fd: fd)
                SocketAddress.push(lua, addr)
                if s.hasTracer {
                    addr.pushText(lua)
                    guard s.trace(lua, 1, "accept", arg: -1) else { return Status.raise }
                    lua.pop()
                }
                return 2
            }
            let e = errno
            switch e {
            case EINTR, ECONNABORTED: continue
            case EAGAIN: return park(lua, s, write: false, "ratchet.socket.accept()")
            default: return lua.raiseErrno("ratchet.socket.accept()", "accept", e)
            }
        }
    }

    /// connect(addr) → nothing. Non-blocking: waits for writability, then reads SO_ERROR.
    static let connect: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        guard let a = SocketAddress.get(lua, 2) else { return lua.typeError(2, "sockaddr") }
        if status == LUA_YIELD {
            if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.connect()", "connect") }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 {
                return lua.raiseErrno("ratchet.socket.connect()", "connect", errno)
            }
            if err != 0 { return lua.raiseErrno("ratchet.socket.connect()", "connect", err) }
        }
        while true {
            if a.withSockaddr({ Glibc.connect(s.fd, $0, $1) }) == 0 { break }
            let e = errno
            if e == EISCONN && status == LUA_YIELD { break }
            switch e {
            case EINPROGRESS, EALREADY, EINTR:
                return park(lua, s, write: true, "ratchet.socket.connect()")
            default:
                return lua.raiseErrno("ratchet.socket.connect()", "connect", e)
            }
        }
        if s.hasTracer {
            a.pushText(lua)
            guard s.trace(lua, 1, "connect", arg: -1) else { return Status.raise }
            lua.pop()
        }
        return 0
    }

    // MARK: data

    enum ReadOutcome { case pushed, wouldBlock(write: Bool), raised }

    /// One read attempt (through the encryption when set). Pushes the data or the error.
    @inline(__always)
    static func readOnce(_ lua: Lua, _ s: Socket, maxlen: Int) -> ReadOutcome {
        if let enc = s.encryption {
            switch enc.read(lua, socket: s, maxlen: maxlen) {
            case .done: return .pushed
            case .wantRead: return .wouldBlock(write: false)
            case .wantWrite: return .wouldBlock(write: true)
            case .failed: return .raised
            }
        }
        // A short read drained a stream socket; until the next read edge (or a reset or
        // hang-up, which the watcher learns of) a recv would only say EAGAIN, so park at
        // once (one syscall per message saved). Not for datagrams (a short read says
        // nothing about the next one) nor after the peer closed. (readPlain is the same
        // read for callers that take the bytes where they land; sharing it cost this, the
        // hottest call, about 130 instructions: callgrind, bench/echo_instructions.sh.)
        let stream = s.isStream
        if stream, let w = s.watcher, w.mayParkWithoutRead {
            return .wouldBlock(write: false)
        }
        let buf = ReceiveBuffer.pointer
        while true {
            let n = Glibc.recv(s.fd, buf, maxlen, 0)
            if n >= 0 {
                if stream && n > 0 && n < maxlen, let w = s.watcher { w.readReady = false }
                lua.push(bytes: buf, count: n)
                return .pushed
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN { s.watcher?.readReady = false; return .wouldBlock(write: false) }
            _ = lua.raiseErrno("ratchet.socket.recv()", "recv", e)
            return .raised
        }
    }

    /// One recv(2) of a plain socket into `buf` (EINTR retried): the bytes read (0: the peer
    /// closed), or −errno (−EAGAIN: park). Also the HTTP server's native request loop
    /// (HTTP/ConnectionLoop), which parses the bytes where they land, and its body reader
    /// (HTTP/RequestBody), which reads a body into its own buffer.
    @inline(__always)
    static func readPlain(_ s: Socket, _ buf: UnsafeMutableRawPointer, maxlen: Int) -> Int {
        // A short read drained a stream socket; until the next read edge (or a reset or
        // hang-up, which the watcher learns of) a recv would only say EAGAIN, so park at
        // once (one syscall per message saved). Not for datagrams (a short read says
        // nothing about the next one) nor after the peer closed.
        let stream = s.isStream
        if stream, let w = s.watcher, w.mayParkWithoutRead { return -Int(EAGAIN) }
        while true {
            let n = Glibc.recv(s.fd, buf, maxlen, 0)
            if n >= 0 {
                if stream && n > 0 && n < maxlen, let w = s.watcher { w.readReady = false }
                return n
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN { s.watcher?.readReady = false }
            return -Int(e)
        }
    }

    /// The `maxlen` argument at `i`: default 8192, at most ReceiveBuffer.capacity.
    @inline(__always)
    static func maxlen(_ lua: Lua, _ i: Int32) -> (Int, Int32?) {
        if lua.isNoneOrNil(i) { return (ReceiveBuffer.defaultSize, nil) }
        guard let n = lua.integer(i) else { return (0, lua.typeError(i, "number")) }
        guard n >= 0 else { return (0, lua.argError(i, "size must not be negative")) }
        guard n <= ReceiveBuffer.capacity else {
            return (0, lua.raise("Cannot recv more than \(ReceiveBuffer.capacity) bytes, \(n) requested"))
        }
        return (n, nil)
    }

    /// recv(maxlen) → string, "" when the peer has shut down or closed.
    static let recv: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        // `with` lends the socket without a retain/release pair: this is the hottest call.
        return Socket.with(lua, 1) { s in recv(lua, s, status) } ?? notSocket(lua)
    }

    @inline(__always) private static func recv(_ lua: Lua, _ s: Socket, _ status: Int32) -> Int32 {
        let (max, err) = maxlen(lua, 2)
        if let err { return err }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.recv()", "recv") }
        switch readOnce(lua, s, maxlen: max) {
        case .pushed:
            guard s.trace(lua, 1, s.encryption == nil ? "recv" : "encrypted recv", arg: -1) else { return Status.raise }
            return 1
        case .wouldBlock(let write):
            return park(lua, s, write: write, deadlineSlot: s.encryption == nil ? 0 : 3, "ratchet.socket.recv()")
        case .raised:
            return Status.raise
        }
    }

    /// send(data) → nothing, or the unsent tail after a partial write. One attempt once the
    /// socket is writable; MSG_NOSIGNAL so a closed peer is EPIPE, not a signal.
    static let send: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        return Socket.with(lua, 1) { s in send(lua, s, status) } ?? notSocket(lua)
    }

    @inline(__always) private static func send(_ lua: Lua, _ s: Socket, _ status: Int32) -> Int32 {
        guard let data = lua.bytes(2) else { return lua.typeError(2, "string") }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.send()", "send") }
        if let enc = s.encryption {
            switch enc.write(lua, socket: s, data: data) {
            case .done:
                guard s.trace(lua, 1, "encrypted send", arg: 2) else { return Status.raise }
                return 0
            case .wantRead: return park(lua, s, write: false, deadlineSlot: 3, "ratchet.socket.send()")
            case .wantWrite: return park(lua, s, write: true, deadlineSlot: 3, "ratchet.socket.send()")
            case .failed: return Status.raise
            }
        }
        let n = sendOnce(s, data)
        if n >= 0 {
            if n == data.count {
                guard s.trace(lua, 1, "send", arg: 2) else { return Status.raise }
                return 0
            }
            if s.hasTracer {
                lua.push(bytes: data.baseAddress, count: n)
                guard s.trace(lua, 1, "send", arg: -1) else { return Status.raise }
                lua.pop()
            }
            lua.push(bytes: data.baseAddress! + n, count: data.count - n)
            return 1
        }
        if n == -Int(EAGAIN) { return park(lua, s, write: true, "ratchet.socket.send()") }
        return lua.raiseErrno("ratchet.socket.send()", "send", Int32(-n))
    }

    /// One send(2) on a plain socket (EINTR retried): the bytes sent, or −errno. Also used by
    /// the HTTP server's response heads (ResponseHead), sent without becoming a Lua string.
    @inline(__always) static func sendOnce(_ s: Socket, _ data: UnsafeRawBufferPointer) -> Int {
        while true {
            let n = Glibc.send(s.fd, data.baseAddress, data.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            let e = errno
            if e != EINTR { return -Int(e) }
        }
    }

    /// sendOnce of `first` then `second` in one sendmsg (gathered: neither is copied).
    static func sendOnce(_ s: Socket, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> Int {
        guard second.count > 0 else { return sendOnce(s, first) }
        var iov = (iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
                   iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count))
        return withUnsafeMutableBytes(of: &iov) { raw in
            var msg = msghdr()
            msg.msg_iov = raw.baseAddress!.assumingMemoryBound(to: iovec.self)
            msg.msg_iovlen = 2
            while true {
                let n = sendmsg(s.fd, &msg, Int32(MSG_NOSIGNAL))
                if n >= 0 { return n }
                let e = errno
                if e != EINTR { return -Int(e) }
            }
        }
    }

    // MARK: ending

    static let shutdown: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        var how = Int32(SHUT_RDWR)
        if !lua.isNoneOrNil(2) {
            guard let b = lua.bytes(2) else { return lua.typeError(2, "string") }
            switch String(decoding: b, as: UTF8.self) {
            case "read": how = Int32(SHUT_RD)
            case "write": how = Int32(SHUT_WR)
            case "both": how = Int32(SHUT_RDWR)
            case let other: return lua.argError(2, "invalid option '\(other)'")
            }
        }
        if Glibc.shutdown(s.fd, how) != 0 { return lua.raiseErrno("ratchet.socket.shutdown()", "shutdown", errno) }
        guard s.trace(lua, 1, "shutdown", arg: 2) else { return Status.raise }
        lua.push(true)
        return 1
    }

    /// close() → true, or nothing when already closed.
    static let close: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        guard s.fd >= 0 else { return 0 }
        guard s.trace(lua, 1, "close") else { return Status.raise }
        s.closeDescriptor(lua)
        lua.push(true)
        return 1
    }

    /// check_errors() → true, or raises the pending SO_ERROR (syscall "<unknown>").
    static let checkErrors: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 {
            return lua.raiseErrno("ratchet.socket.check_errors()", "getsockopt", errno)
        }
        if err != 0 { return lua.raiseErrno("ratchet.socket.check_errors()", "<unknown>", err) }
        lua.push(true)
        return 1
    }

    // MARK: extensions

    /// Pushes ip, port (or the AF_UNIX path alone) for an address; returns the count.
    static func pushEndpoint(_ lua: Lua, _ a: SocketAddress) -> Int32 {
        a.pushText(lua)
        guard let port = a.port else { return 1 }
        lua.push(port)
        return 2
    }

    static let getsockname: LuaImpl = { L, _, _ in
        endpoint(Lua(L), "ratchet.socket.getsockname()", "getsockname") { Glibc.getsockname($0, $1, $2) }
    }

    static let getpeername: LuaImpl = { L, _, _ in
        endpoint(Lua(L), "ratchet.socket.getpeername()", "getpeername") { Glibc.getpeername($0, $1, $2) }
    }

    /// Pushes ip, port (or the path) of the address `query` fills in for socket argument 1.
    private static func endpoint(_ lua: Lua, _ function: StaticString, _ syscall: StaticString,
                                 _ query: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> Int32 {
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        var a = SocketAddress()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &a.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { query(s.fd, $0, &len) }
        }
        if r != 0 { return lua.raiseErrno(function, syscall, errno) }
        a.length = len
        return pushEndpoint(lua, a)
    }

    /// sendto(data, addr) → nothing (datagram sockets).
    static let sendto: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(3, status)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        guard let data = lua.bytes(2) else { return lua.typeError(2, "string") }
        guard let a = SocketAddress.get(lua, 3) else { return lua.typeError(3, "sockaddr") }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.sendto()", "sendto") }
        while true {
            let n = a.withSockaddr { Glibc.sendto(s.fd, data.baseAddress, data.count, Int32(MSG_NOSIGNAL), $0, $1) }
            if n >= 0 {
                guard s.trace(lua, 1, "send", arg: 2) else { return Status.raise }
                return 0
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN { return park(lua, s, write: true, "ratchet.socket.sendto()") }
            return lua.raiseErrno("ratchet.socket.sendto()", "sendto", e)
        }
    }

    /// recvfrom(maxlen) → data, sender sockaddr.
    static let recvfrom: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let s = Socket.get(lua, 1) else { return notSocket(lua) }
        let (max, err) = maxlen(lua, 2)
        if let err { return err }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.recvfrom()", "recvfrom") }
        let buf = ReceiveBuffer.pointer
        var a = SocketAddress()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let n = withUnsafeMutablePointer(to: &a.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.recvfrom(s.fd, buf, max, 0, $0, &len) }
            }
            if n >= 0 {
                a.length = len
                lua.push(bytes: buf, count: n)
                SocketAddress.push(lua, a)
                guard s.trace(lua, 1, "recv", arg: -2) else { return Status.raise }
                return 2
            }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN { return park(lua, s, write: false, "ratchet.socket.recvfrom()") }
            return lua.raiseErrno("ratchet.socket.recvfrom()", "recvfrom", e)
        }
    }
}
