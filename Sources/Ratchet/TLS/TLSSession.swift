import CLua
import COpenSSL
import Glibc

/// A TLS session over a ratchet socket: one SSL object reading and writing the socket's
/// descriptor directly (SSL_set_fd, no memory BIOs on the data path).
///
/// Every operation is tried first; on WANT_READ/WANT_WRITE the calling thread parks on the
/// socket's watcher and the same call is retried when it wakes; the socket's timeout is a
/// deadline for the whole call, however many waits it takes.
/// A WANT_READ comes from a read that returned EAGAIN in that same call, so the next
/// readability edge is still to come and parking cannot miss it.
///
/// The userdata has three user values: 1 = the engine (socket), 2 = the context userdata
/// it was made from (its servername callback lives there), 3 = the context chosen by a
/// servername callback.
final class TLSSession: LuaHandle, SocketEncryption {
    static let metatableName: StaticString = "ratchet_ssl_session_meta"
    static let shownName: StaticString = "ratchet.ssl.session"
    static let engineSlot: Int32 = 1
    static let contextSlot: Int32 = 2
    static let chosenSlot: Int32 = 3

    /// nil once freed: when the socket closes (the descriptor number may be reused at once)
    /// or the session is collected.
    @exclusivity(unchecked) private(set) var ssl: OpaquePointer?
    /// The socket holds the session strongly (its `encryption`), so this one is weak.
    weak var socket: Socket?
    let context: TLSContext
    /// The context a servername callback switched to; kept alive while OpenSSL uses it.
    @exclusivity(unchecked) var chosen: TLSContext?
    /// Bytes received before `encrypt` (STARTTLS read-ahead): OpenSSL reads them from this
    /// memory BIO first, then the session switches to the descriptor.
    @exclusivity(unchecked) private var prefix: OpaquePointer?
    /// A handshake was begun (SSL_set_connect_state/accept_state must happen only once).
    @exclusivity(unchecked) var started = false
    /// A fatal error happened: OpenSSL forbids SSL_shutdown afterwards.
    @exclusivity(unchecked) var failed = false
    /// The name the client sends as SNI and checks the certificate against.
    @exclusivity(unchecked) var hostname: String?
    @exclusivity(unchecked) var hello: ServerName.HelloState = .waiting

    init(ssl: OpaquePointer, context: TLSContext, socket: Socket) {
        self.ssl = ssl
        self.context = context
        self.socket = socket
    }

    deinit { free() }

    private func free() {
        if let s = ssl {
            SSL_free(s)  // also frees the BIOs; BIO_NOCLOSE leaves the descriptor alone
            ssl = nil
            prefix = nil
        }
    }

    func close(_ lua: Lua) { free() }

    func socketClosing() { free() }

    // MARK: creating

    /// Makes a session for the socket at `sockIndex` from the context at `ctxIndex`, with
    /// optional read-ahead bytes at `pendingIndex`, and pushes it. Returns 1 or an error status.
    static func make(_ lua: Lua, sockIndex: Int32, ctxIndex: Int32, pendingIndex: Int32,
                     function: StaticString) -> (TLSSession?, Int32) {
        guard let sock = Socket.get(lua, sockIndex) else { return (nil, lua.typeError(sockIndex, "ratchet.socket")) }
        guard let c = TLSContext.get(lua, ctxIndex) else { return (nil, lua.typeError(ctxIndex, "ratchet.ssl context")) }
        var pending: UnsafeRawBufferPointer? = nil
        switch lua.type(pendingIndex) {
        case LUA_TNONE, LUA_TNIL: break
        case LUA_TSTRING: pending = lua.bytes(pendingIndex)
        case LUA_TLIGHTUSERDATA:
            return (nil, lua.argError(pendingIndex, "BIO arguments are not supported (the session uses the socket's descriptor)"))
        default: return (nil, lua.typeError(pendingIndex, "string"))
        }
        guard sock.fd >= 0 else { return (nil, lua.raiseErrno(function, "SSL_set_fd", EBADF)) }
        guard let ssl = SSL_new(c.ctx) else {
            return (nil, lua.raise("Could not create SSL object\(TLSError.lastReason())"))
        }
        let s = TLSSession(ssl: ssl, context: c, socket: sock)
        if let pending, pending.count > 0 {
            guard pending.count <= Int(Int32.max) else { return (nil, lua.argError(pendingIndex, "too many pending bytes")) }
            guard let mem = BIO_new(BIO_s_mem()) else {
                return (nil, lua.raise("Could not create a memory BIO\(TLSError.lastReason())"))
            }
            guard let sb = BIO_new_socket(sock.fd, BIO_NOCLOSE) else {
                BIO_free(mem)
                return (nil, lua.raise("Could not create a socket BIO\(TLSError.lastReason())"))
            }
            _ = BIO_write(mem, pending.baseAddress, Int32(pending.count))
            // An empty memory BIO then asks to retry instead of reporting EOF.
            _ = BIO_ctrl(mem, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, nil)
            SSL_set_bio(ssl, mem, sb)
            s.prefix = mem
        } else if SSL_set_fd(ssl, sock.fd) != 1 {
            return (nil, lua.raise("Could not attach the socket to the SSL object\(TLSError.lastReason())"))
        }
        _ = SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(s).toOpaque())
        let si = lua.absIndex(sockIndex), ci = lua.absIndex(ctxIndex)
        push(lua, s, uservalues: 3)
        lua.pushValue(si); lua_setiuservalue(lua.L, -2, engineSlot)
        lua.pushValue(ci); lua_setiuservalue(lua.L, -2, contextSlot)
        return (s, 1)
    }

    /// ctx:create_session(engine [, pending]) → session, not installed on the socket (its
    /// send/recv stay plain; use the session's read/write). `engine` must be a ratchet socket.
    static let createSession: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        return make(lua, sockIndex: 2, ctxIndex: 1, pendingIndex: 3, function: "ratchet.ssl.create_session()").1
    }

    /// socket:encrypt(ctx [, pending]) → session. `ctx` may also be a method constant (a
    /// default context is made, as slimta passes ratchet.ssl.TLSv1). `pending` (extension)
    /// holds bytes already received after a STARTTLS command. Does not handshake.
    static let encrypt: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard let sock = Socket.get(lua, 1) else { return lua.typeError(1, "ratchet.socket") }
        guard sock.encryption == nil else {
            return lua.raiseError("ratchet.socket.encrypt()", "EALREADY", "The socket is already encrypted.")
        }
        var ctxIndex: Int32 = 2
        if TLSContext.get(lua, 2) == nil {
            guard lua.type(2) == LUA_TLIGHTUSERDATA, let p = lua_touserdata(L, 2),
                  let m = TLSContext.Method(tag: p) else { return lua.typeError(2, "ratchet.ssl context") }
            guard let c = TLSContext.make(m) else { return lua.raise("Creation of SSL_CTX object failed") }
            TLSContext.push(lua, c)
            ctxIndex = lua.top
        }
        let (s, r) = make(lua, sockIndex: 1, ctxIndex: ctxIndex, pendingIndex: 3, function: "ratchet.socket.encrypt()")
        guard let s else { return r }
        Socket.setEncryption(lua, socketIndex: 1, sessionIndex: -1, s)
        return 1
    }

    // MARK: one attempt

    enum Outcome { case ok, closed, wantRead, wantWrite, wantHello, failed }

    /// Runs one OpenSSL call (`op` returns 1 on success) and classifies the result. On
    /// `.failed` the ratchet error is on top of the stack; `.closed` is a close_notify.
    @inline(__always)
    func attempt(_ lua: Lua, _ function: StaticString, _ syscall: StaticString,
                 _ op: (OpaquePointer) -> Int32) -> Outcome {
        guard let ssl, let sock = socket, sock.fd >= 0 else {
            _ = lua.raiseErrno(function, syscall, EBADF, description: "The TLS session is closed (its socket was closed).")
            return .failed
        }
        while true {
            ERR_clear_error()
            errno = 0
            let r = op(ssl)
            if r == 1 { return .ok }
            let saved = errno
            let e = SSL_get_error(ssl, r)
            switch e {
            case SSL_ERROR_WANT_READ:
                if let p = prefix, BIO_ctrl_pending(p) == 0 {
                    useDescriptor(ssl, sock.fd)
                    continue
                }
                return .wantRead
            case SSL_ERROR_WANT_WRITE: return .wantWrite
            case SSL_ERROR_WANT_CLIENT_HELLO_CB: return .wantHello
            case SSL_ERROR_ZERO_RETURN:
                ERR_clear_error()
                return .closed
            default:
                failed = true
                TLSError.push(lua, ssl: ssl, sslError: e, savedErrno: saved, function: function, syscall: syscall)
                return .failed
            }
        }
    }

    /// The read-ahead bytes are used up: read from the descriptor from now on.
    private func useDescriptor(_ ssl: OpaquePointer, _ fd: Int32) {
        prefix = nil
        if let b = BIO_new_socket(fd, BIO_NOCLOSE) { SSL_set0_rbio(ssl, b) }
    }

    /// Parks the caller on the socket (its watcher and timeout); the value to return. The
    /// timeout is a deadline for the whole call, kept at `deadlineSlot` (the first free index
    /// after the call's arguments): a peer trickling a record must not stretch one read.
    func park(_ lua: Lua, write: Bool, deadlineSlot: Int32, _ function: StaticString) -> Int32 {
        guard let sock = socket else { return lua.raiseErrno(function, "SSL", EBADF) }
        return SocketMethods.park(lua, sock, write: write, deadlineSlot: deadlineSlot, "\(function)")
    }

    // MARK: SocketEncryption (socket send/recv and the session's read/write)

    func read(_ lua: Lua, socket: Socket, maxlen: Int) -> TransferResult {
        if maxlen == 0 {
            lua.push("" as StaticString)
            return .done
        }
        let buf = ReceiveBuffer.pointer
        var n = 0
        switch attempt(lua, "ratchet.ssl.session.read()", "SSL_read", { SSL_read_ex($0, buf, maxlen, &n) }) {
        case .ok: lua.push(bytes: buf, count: n); return .done
        case .closed: lua.push("" as StaticString); return .done
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .wantHello, .failed: return .failed
        }
    }

    func write(_ lua: Lua, socket: Socket, data: UnsafeRawBufferPointer) -> TransferResult {
        if data.isEmpty { return .done }
        var n = 0
        switch attempt(lua, "ratchet.ssl.session.write()", "SSL_write", { SSL_write_ex($0, data.baseAddress, data.count, &n) }) {
        case .ok: return .done
        case .wantRead: return .wantRead
        case .wantWrite: return .wantWrite
        case .closed:
            RatchetError.push(lua, description: "The peer has closed the TLS session (close_notify).",
                              code: "SSLEOF", function: "ratchet.ssl.session.write()")
            return .failed
        case .wantHello, .failed: return .failed
        }
    }

    // MARK: handshake set-up

    /// Before the first client handshake: SNI (not for IP literals, as RFC 6066 requires),
    /// verification by default when the context has CAs and nobody chose, and the expected
    /// name checked during the handshake whenever verification is on.
    func prepareClient(host: String?) {
        guard let ssl, !started else { return }
        started = true
        if let host { hostname = host }
        if let h = hostname, !h.isEmpty {
            let (name, isIP) = HostnameVerification.normalize(h)
            if !isIP {
                name.withCString { _ = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0)) }
            }
        }
        if !context.verifyExplicit && context.hasCASource {
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        }
        if SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER != 0, let h = hostname, !h.isEmpty {
            HostnameVerification.expect(ssl, h)
        }
        SSL_set_connect_state(ssl)
    }

    func prepareServer() {
        guard let ssl, !started else { return }
        started = true
        SSL_set_accept_state(ssl)
    }

    /// Switches to the context a servername choice named (certificate, key, verification).
    func switchContext(_ ssl: OpaquePointer, _ other: TLSContext) {
        chosen = other
        _ = SSL_set_SSL_CTX(ssl, other.ctx)
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(other.ctx), nil)
    }
}
