import CLua
import CZMQ
import Glibc

/// `ratchet.zmqsocket`: ZeroMQ sockets whose send and recv yield the calling thread.
enum ZMQLibrary {
    static func open(_ lua: Lua) -> Int32 {
        ZMQSocket.registerMetatable(lua, methods: [
            ("get_fd", getFD), ("get_timeout", getTimeout), ("set_timeout", setTimeout),
            ("bind", bind), ("connect", connect), ("send", send), ("recv", recv),
            ("recv_all", recvAll), ("getsockopt", ZMQOptions.getsockopt),
            ("setsockopt", ZMQOptions.setsockopt), ("close", close),
            ("is_readable", isReadable), ("is_writable", isWritable), ("is_rcvmore", isRcvmore),
        ])
        ZMQContextUser.registerMetatable(lua, methods: [])
        ZMQContextUser.push(lua, ZMQContextUser())
        lua_setfield(lua.L, LUA_REGISTRYINDEX, "ratchet.zmqsocket.context")
        return lua.pushLibrary([("new", new), ("prepare_uri", prepareURI)])
    }

    /// LINGER of new sockets, in milliseconds. libzmq's default (wait forever) would make a
    /// process with an undeliverable message hang at exit, and keep a closed socket alive.
    static let defaultLinger: Int32 = 1000

    /// Socket types by name; XREQ and XREP are the reference's names for DEALER and ROUTER.
    static let types: [String: Int32] = [
        "PAIR": ZMQ_PAIR, "PUB": ZMQ_PUB, "SUB": ZMQ_SUB, "REQ": ZMQ_REQ, "REP": ZMQ_REP,
        "DEALER": ZMQ_DEALER, "ROUTER": ZMQ_ROUTER, "PULL": ZMQ_PULL, "PUSH": ZMQ_PUSH,
        "XPUB": ZMQ_XPUB, "XSUB": ZMQ_XSUB, "STREAM": ZMQ_STREAM,
        "XREQ": ZMQ_DEALER, "XREP": ZMQ_ROUTER,
    ]

    static func typeName(_ type: Int32) -> String {
        let names = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM"]
        return type >= 0 && Int(type) < names.count ? names[Int(type)] : "\(type)"
    }

    static func closedError(_ lua: Lua, _ function: String) -> Int32 {
        lua.raiseError(function, "EBADF", "The ZeroMQ socket is closed.")
    }

    private static func socket(_ lua: Lua) -> ZMQSocket? { ZMQSocket.get(lua, 1) }
    private static func notSocket(_ lua: Lua) -> Int32 { lua.typeError(1, "ratchet.zmqsocket") }

    /// new([type]) → socket; type is a name such as "REQ" (default "PAIR").
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        var name = "PAIR"
        if !lua.isNoneOrNil(1) {
            guard let s = lua.string(1) else { return lua.typeError(1, "string") }
            name = s
        }
        guard let type = types[name.uppercased()] else {
            return lua.raiseError("ratchet.zmqsocket.new()", "EINVAL", "Unknown ZeroMQ socket type: \(name)")
        }
        let ctx: UnsafeMutableRawPointer
        switch ZMQContext.shared() {
        case .success(let c): ctx = c
        case .failure(let e): return lua.raiseZMQUnavailable("ratchet.zmqsocket.new()", e)
        }
        guard ZMQContext.claimSocket() else {
            return lua.raiseError("ratchet.zmqsocket.new()", "EMFILE",
                                  "ZeroMQ allows \(ZMQContext.socketLimit) sockets at once (ZMQ_MAX_SOCKETS); close one first.")
        }
        guard let h = ZMQContext.socket(ctx, type) else {
            let e = zmq.errno()
            ZMQContext.releaseSocket()
            return lua.raiseZMQ("ratchet.zmqsocket.new()", "zmq_socket", e)
        }
        var linger = defaultLinger
        _ = zmq.setsockopt(h, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        ZMQSocket.push(lua, ZMQSocket(handle: h, type: type))
        return 1
    }

    /// prepare_uri("type:endpoint") → {type=, endpoint=}. The manual's "zmq:type:endpoint"
    /// works too; a bare endpoint ("tcp://…", or no colon at all) has no type.
    static let prepareURI: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let uri = lua.string(1) else { return lua.typeError(1, "string") }
        var type: Substring? = nil
        var endpoint = Substring(uri)
        func splitType() {
            guard let colon = endpoint.firstIndex(of: ":") else { return }
            let rest = endpoint[endpoint.index(after: colon)...]
            if rest.hasPrefix("//") { return }  // "tcp://…": a transport, not a type
            type = endpoint[..<colon]
            endpoint = rest
        }
        splitType()
        if let t = type, t.lowercased() == "zmq", endpoint.contains(":") {
            type = nil
            splitType()
        }
        lua.newTable(nrec: 2)
        if let type { lua.push(type.uppercased()); lua.setField(-2, "type") }
        lua.push(String(endpoint)); lua.setField(-2, "endpoint")
        return 1
    }

    static let getFD: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = socket(lua) else { return notSocket(lua) }
        lua.push(s.fd)
        return 1
    }

    static let getTimeout: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = socket(lua) else { return notSocket(lua) }
        lua.push(s.timeout)
        return 1
    }

    /// set_timeout(seconds): negative or math.huge means none; 0 fails at once.
    static let setTimeout: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = socket(lua) else { return notSocket(lua) }
        guard let v = lua.number(2) else { return lua.typeError(2, "number") }
        guard !v.isNaN else { return lua.argError(2, "number has no valid value (NaN)") }
        s.timeout = v < 0 || v.isInfinite ? -1 : v
        return 0
    }

    private static func attach(_ lua: Lua, _ bind: Bool) -> Int32 {
        let function: StaticString = bind ? "ratchet.zmqsocket.bind()" : "ratchet.zmqsocket.connect()"
        guard let s = socket(lua) else { return notSocket(lua) }
        guard let endpoint = lua.string(2) else { return lua.typeError(2, "string") }
        guard let h = s.handle else { return closedError(lua, "\(function)") }
        let (rc, e) = InprocConnections.isInproc(endpoint)
            ? InprocConnections.attach(s, h, endpoint, bind: bind)
            : (bind ? zmq.bind(h, endpoint) : zmq.connect(h, endpoint), zmq.errno())
        s.settle()
        guard rc == 0 else {
            return lua.raiseZMQ(function, bind ? "zmq_bind" : "zmq_connect", e, detail: "\"\(endpoint)\"")
        }
        lua.push(true)
        return 1
    }

    static let bind: LuaImpl = { L, _, _ in attach(Lua(L), true) }
    static let connect: LuaImpl = { L, _, _ in attach(Lua(L), false) }

    /// send(data[, more]) → true. Stack while it waits: 1 socket, 2 data, 3 more, 4 deadline.
    static let send: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(3, status)
        return ZMQSocket.with(lua, 1) { send(lua, $0, status) } ?? notSocket(lua)
    }

    @inline(__always)
    private static func send(_ lua: Lua, _ s: ZMQSocket, _ status: Int32) -> Int32 {
        var count = 0
        // nil unless a string or a number, which it converts in place (the reference sent
        // numbers as text).
        guard let data = lua_tolstring(lua.L, 2, &count) else { return lua.typeError(2, "string") }
        guard let h = s.handle else { return closedError(lua, "ratchet.zmqsocket.send()") }
        // A timeout ends the call with ETIMEDOUT (the reference returned nothing).
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.zmqsocket.send()", "send") }
        let more = lua.toBool(3)
        let flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)
        for _ in 0..<3 {
            if zmq.send(h, data, count, flags) >= 0 {
                s.settle()
                lua.push(true)
                return 1
            }
            let e = zmq.errno()
            if e == EINTR { continue }
            guard e == EAGAIN else { return lua.raiseZMQ("ratchet.zmqsocket.send()", "zmq_send", e) }
            if !s.readyAfterAgain(ZMQ_POLLOUT) { break }
        }
        return s.park(lua, ZMQ_POLLOUT, deadlineSlot: 4, "ratchet.zmqsocket.send()")
    }

    /// Receives one message part without waiting into the socket's message; returns its
    /// size, or the error negated (-EAGAIN when nothing is there; EINTR is retried).
    ///
    /// The size comes from zmq_msg_recv's result (a zmq_msg_size call less), which libzmq
    /// caps at INT_MAX: only then is the message asked.
    @inline(__always)
    private static func receivePart(_ h: UnsafeMutableRawPointer, _ msg: UnsafeMutablePointer<zmq_msg_t>) -> Int {
        while true {
            let n = zmq.msg_recv(msg, h, ZMQ_DONTWAIT)
            if n >= 0 { return n == Int32.max ? zmq.msg_size(msg) : Int(n) }
            let e = zmq.errno()
            if e != EINTR { return -Int(e > 0 ? e : EIO) }  // never 0: that would read as a size
        }
    }

    /// recv() → data, more. Stack while it waits: 1 socket, 2 deadline.
    ///
    /// zmq_msg_recv rather than zmq_recv into a buffer: the part is copied once (into the Lua
    /// string), and its more flag comes from the message instead of a ZMQ_RCVMORE getsockopt.
    static let recv: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        return ZMQSocket.with(lua, 1) { recv(lua, $0, status) } ?? notSocket(lua)
    }

    @inline(__always)
    private static func recv(_ lua: Lua, _ s: ZMQSocket, _ status: Int32) -> Int32 {
        guard let h = s.handle else { return closedError(lua, "ratchet.zmqsocket.recv()") }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.zmqsocket.recv()", "recv") }
        let msg = s.msg
        for _ in 0..<3 {
            let size = receivePart(h, msg)
            if size >= 0 {
                lua.push(bytes: zmq.msg_data(msg), count: size)
                lua.push(zmq.msg_more(msg) != 0)
                s.releaseLarge(size)
                s.settle()
                return 2
            }
            guard size == -Int(EAGAIN) else { return lua.raiseZMQ("ratchet.zmqsocket.recv()", "zmq_msg_recv", Int32(-size)) }
            if !s.readyAfterAgain(ZMQ_POLLIN, processed: true) { break }
        }
        if status != LUA_YIELD { lua.setTop(1) }
        return s.park(lua, ZMQ_POLLIN, deadlineSlot: 2, "ratchet.zmqsocket.recv()")
    }

    /// recv_all() → every part of one message, concatenated. Stack while it waits:
    /// 1 socket, 2 the parts received so far (a string, or nil), 3 deadline.
    static let recvAll: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        return ZMQSocket.with(lua, 1) { recvAll(lua, $0, status) } ?? notSocket(lua)
    }

    @inline(__always)
    private static func recvAll(_ lua: Lua, _ s: ZMQSocket, _ status: Int32) -> Int32 {
        if status != LUA_YIELD { lua.setTop(1); lua.pushNil() }
        guard let h = s.handle else { return closedError(lua, "ratchet.zmqsocket.recv_all()") }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.zmqsocket.recv_all()", "recv") }
        var parts: [UInt8] = []
        var started = false
        if let prefix = lua.bytes(2) { parts.append(contentsOf: prefix); started = true }
        let msg = s.msg
        var tries = 0
        while tries < 3 {
            let size = receivePart(h, msg)
            if size >= 0 {
                tries = 0
                let data = UnsafeRawBufferPointer(start: zmq.msg_data(msg), count: size)
                let more = zmq.msg_more(msg) != 0
                if !more && !started {
                    // A one-part message (the usual case) goes to Lua without an extra copy.
                    lua.push(bytes: data.baseAddress, count: data.count)
                    s.releaseLarge(data.count)
                    s.settle()
                    return 1
                }
                parts.append(contentsOf: data)
                s.releaseLarge(data.count)
                started = true
                if !more {
                    parts.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
                    s.settle()
                    return 1
                }
                continue
            }
            guard size == -Int(EAGAIN) else { return lua.raiseZMQ("ratchet.zmqsocket.recv_all()", "zmq_msg_recv", Int32(-size)) }
            tries += 1
            if !s.readyAfterAgain(ZMQ_POLLIN, processed: true) { break }
        }
        if started {
            parts.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
            lua.replace(2)
        }
        return s.park(lua, ZMQ_POLLIN, deadlineSlot: 3, "ratchet.zmqsocket.recv_all()")
    }

    private static func eventFlag(_ lua: Lua, _ flag: Int32) -> Int32 {
        guard let s = socket(lua) else { return notSocket(lua) }
        let ev = s.events()
        s.settle(ev)
        lua.push(ev & flag != 0)
        return 1
    }

    static let isReadable: LuaImpl = { L, _, _ in eventFlag(Lua(L), ZMQ_POLLIN) }
    static let isWritable: LuaImpl = { L, _, _ in eventFlag(Lua(L), ZMQ_POLLOUT) }

    static let isRcvmore: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = socket(lua), let h = s.handle else { lua.push(false); return 1 }
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        let rc = zmq.getsockopt(h, ZMQ_RCVMORE, &v, &size)
        s.settle()
        lua.push(rc == 0 && v != 0)
        return 1
    }

    /// close() → true the first time, nothing afterwards.
    static let close: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = socket(lua) else { return notSocket(lua) }
        guard s.closeSocket() else { return 0 }
        lua.push(true)
        return 1
    }
}
