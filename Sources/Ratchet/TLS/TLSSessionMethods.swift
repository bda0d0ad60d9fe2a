import CLua
import COpenSSL
import Glibc

/// The Lua methods of sessions. Blocking ones follow the socket pattern: on resumption a
/// timeout raises ETIMEDOUT, anything else retries the OpenSSL call. The socket's timeout
/// bounds the whole call: its deadline sits in the first free index after the arguments.
enum TLSSessionMethods {
    static let methods: [(StaticString, LuaImpl)] = [
        ("get_engine", getEngine),
        ("client_handshake", clientHandshake), ("connect", clientHandshake),
        ("server_handshake", serverHandshake), ("accept", serverHandshake),
        ("read", read), ("write", write), ("shutdown", shutdown),
        ("verify_certificate", verifyCertificate), ("get_cipher", getCipher), ("get_rfc2253", getRFC2253),
        // Extensions beyond the reference:
        ("get_peer_certificate", getPeerCertificate), ("get_protocol", getProtocol),
        ("set_servername", setServername), ("get_servername", getServername), ("get_alpn", ALPN.getSelected),
    ]

    @inline(__always) static func notSession(_ lua: Lua) -> Int32 { lua.typeError(1, "ratchet.ssl.session") }

    static let getEngine: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard TLSSession.get(lua, 1) != nil else { return notSession(lua) }
        lua_getiuservalue(L, 1, TLSSession.engineSlot)
        return 1
    }

    // MARK: handshakes

    /// client_handshake([host]) → nothing. `host` (extension; or set_servername) is sent as
    /// SNI and, when verification is on, checked against the certificate in the handshake.
    static let clientHandshake: LuaImpl = { L, status, _ in
        handshake(Lua(L), status, client: true)
    }

    static let serverHandshake: LuaImpl = { L, status, _ in
        handshake(Lua(L), status, client: false)
    }

    private static func handshake(_ lua: Lua, _ status: Int32, client: Bool) -> Int32 {
        let nargs: Int32 = client ? 2 : 1
        lua.arguments(nargs, status)
        let fn: StaticString = client ? "ratchet.ssl.session.client_handshake()" : "ratchet.ssl.session.server_handshake()"
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        if Kernel.timedOut(lua, status) {
            return lua.raiseTimeout("\(fn)", client ? "client_handshake" : "server_handshake")
        }
        if client {
            let (host, err) = TLSContextMethods.optHostName(lua, 2)
            if let err { return err }
            s.prepareClient(host: host)
        } else {
            s.prepareServer()
        }
        while true {
            switch s.attempt(lua, fn, "SSL_do_handshake", { SSL_do_handshake($0) }) {
            case .ok: return 0
            case .wantRead: return s.park(lua, write: false, deadlineSlot: nargs + 1, fn)
            case .wantWrite: return s.park(lua, write: true, deadlineSlot: nargs + 1, fn)
            case .wantHello:
                if let r = ServerName.resolve(lua, s, sessionIndex: 1) { return r }
            case .closed:
                s.failed = true
                RatchetError.push(lua, description: "The peer closed the TLS session during the handshake.",
                                  code: "SSLEOF", function: "\(fn)")
                return Status.raise
            case .failed: return Status.raise
            }
        }
    }

    // MARK: data

    /// read([maxlen]) → string, "" after the peer's close_notify. maxlen as for socket recv.
    static let read: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        let (max, err) = SocketMethods.maxlen(lua, 2)
        if let err { return err }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.ssl.session.read()", "read") }
        guard let sock = s.socket else { return lua.raiseErrno("ratchet.ssl.session.read()", "SSL_read", EBADF) }
        switch s.read(lua, socket: sock, maxlen: max) {
        case .done: return 1
        case .wantRead: return s.park(lua, write: false, deadlineSlot: 3, "ratchet.ssl.session.read()")
        case .wantWrite: return s.park(lua, write: true, deadlineSlot: 3, "ratchet.ssl.session.read()")
        case .failed: return Status.raise
        }
    }

    /// write(data) → nothing, once all of it is written.
    static let write: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard let data = lua.bytes(2) else { return lua.typeError(2, "string") }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.ssl.session.write()", "write") }
        guard let sock = s.socket else { return lua.raiseErrno("ratchet.ssl.session.write()", "SSL_write", EBADF) }
        switch s.write(lua, socket: sock, data: data) {
        case .done: return 0
        case .wantRead: return s.park(lua, write: false, deadlineSlot: 3, "ratchet.ssl.session.write()")
        case .wantWrite: return s.park(lua, write: true, deadlineSlot: 3, "ratchet.ssl.session.write()")
        case .failed: return Status.raise
        }
    }

    /// shutdown([wait = true]) → true, or false when the session cannot be shut down
    /// cleanly (the peer is gone or closed without close_notify, the handshake never
    /// finished, an earlier fatal error). Sends close_notify and, unless `wait` is false
    /// (extension), waits for the peer's. Only a timeout raises.
    static let shutdown: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        let wait = lua.isNoneOrNil(2) || lua.toBool(2)
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.ssl.session.shutdown()", "shutdown") }
        guard let ssl = s.ssl, !s.failed, let sock = s.socket, sock.fd >= 0, SSL_is_init_finished(ssl) == 1 else {
            lua.push(false)
            return 1
        }
        // The first call sends close_notify (0: not received yet); the next ones read.
        for _ in 0..<3 {
            ERR_clear_error()
            let r = SSL_shutdown(ssl)
            if r == 1 || (r == 0 && !wait) {
                lua.push(true)
                return 1
            }
            if r == 0 { continue }
            switch SSL_get_error(ssl, r) {
            case SSL_ERROR_WANT_READ:
                if !wait && SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN != 0 {
                    lua.push(true)
                    return 1
                }
                return s.park(lua, write: false, deadlineSlot: 3, "ratchet.ssl.session.shutdown()")
            case SSL_ERROR_WANT_WRITE:
                return s.park(lua, write: true, deadlineSlot: 3, "ratchet.ssl.session.shutdown()")
            default:
                ERR_clear_error()
                s.failed = true
                lua.push(false)
                return 1
            }
        }
        return s.park(lua, write: false, deadlineSlot: 3, "ratchet.ssl.session.shutdown()")
    }

    // MARK: the peer

    /// verify_certificate([host]) → got_cert, verified, host_matched. Always three values:
    /// false, false, false without a peer certificate; host_matched is nil when no host is
    /// given. The host is matched like a browser does (subjectAltName DNS and IP entries,
    /// wildcards; the Common Name only when the certificate has no DNS names).
    static let verifyCertificate: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        let (host, err) = TLSContextMethods.optHostName(lua, 2)
        if let err { return err }
        guard let ssl = s.ssl, let cert = SSL_get0_peer_certificate(ssl) else {
            lua.push(false); lua.push(false); lua.push(false)
            return 3
        }
        lua.push(true)
        lua.push(SSL_get_verify_result(ssl) == Int(X509_V_OK))
        if let host { lua.push(HostnameVerification.matches(cert, host)) } else { lua.pushNil() }
        return 3
    }

    /// get_cipher() → the negotiated cipher's name ("(NONE)" before the handshake), or nil
    /// once the session is freed.
    static let getCipher: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard let ssl = s.ssl, let name = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)) else {
            lua.pushNil()
            return 1
        }
        lua_pushstring(L, name)
        return 1
    }

    /// get_rfc2253() → the peer certificate's subject ("CN=localhost"), or nil.
    static let getRFC2253: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard let ssl = s.ssl, let cert = SSL_get0_peer_certificate(ssl) else { lua.pushNil(); return 1 }
        Certificate.pushName(lua, X509_get_subject_name(cert))
        return 1
    }

    /// get_peer_certificate() → {subject=, issuer=, sans={...}, not_before=, not_after=,
    /// serial=} or nil (extension).
    static let getPeerCertificate: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard let ssl = s.ssl, let cert = SSL_get0_peer_certificate(ssl) else { lua.pushNil(); return 1 }
        Certificate.push(lua, cert)
        return 1
    }

    /// get_protocol() → "TLSv1.2", "TLSv1.3" (extension); nil until a handshake finished.
    static let getProtocol: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard let ssl = s.ssl, SSL_is_init_finished(ssl) == 1, let v = SSL_get_version(ssl) else {
            lua.pushNil()
            return 1
        }
        lua_pushstring(L, v)
        return 1
    }

    /// set_servername(host) (extension): the name a client sends as SNI and verifies; like
    /// the argument of client_handshake.
    static let setServername: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard !lua.isNoneOrNil(2) else { return lua.typeError(2, "string") }
        let (host, err) = TLSContextMethods.optHostName(lua, 2)
        if let err { return err }
        s.hostname = host
        return 0
    }

    /// get_servername() → the SNI name (what a server received, what a client sent), or nil.
    static let getServername: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = TLSSession.get(lua, 1) else { return notSession(lua) }
        guard let ssl = s.ssl, let name = SSL_get_servername(ssl, Int32(TLSEXT_NAMETYPE_host_name)) else {
            lua.pushNil()
            return 1
        }
        lua_pushstring(L, name)
        return 1
    }
}
