import CLua
import COpenSSL
import Glibc

/// Application-Layer Protocol Negotiation on both sides (extension). One list per context:
/// a client offers it, a server picks the first of its own protocols the client offered.
enum ALPN {
    /// ctx:set_alpn{"h2", "http/1.1"}: the protocols, most preferred first ({} clears).
    static let setALPN: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let c = TLSContext.get(lua, 1) else { return TLSContextMethods.notContext(lua) }
        guard lua.type(2) == LUA_TTABLE else { return lua.typeError(2, "table") }
        var wire: [UInt8] = []
        for i in stride(from: 1, through: lua.rawLen(2), by: 1) {
            lua.rawGet(2, i)
            guard let b = lua.bytes(-1), (1...255).contains(b.count) else {
                lua.pop()
                return lua.argError(2, "protocol names must be strings of 1 to 255 bytes")
            }
            wire.append(UInt8(b.count))
            wire.append(contentsOf: b)
            lua.pop()
        }
        // The client's offer (OpenSSL copies it; this call returns 0 on success).
        if SSL_CTX_set_alpn_protos(c.ctx, wire, UInt32(wire.count)) != 0 {
            return lua.raise("Could not set the ALPN protocols\(TLSError.lastReason())")
        }
        c.setALPNWire(wire)
        SSL_CTX_set_alpn_select_cb(c.ctx, wire.isEmpty ? nil : selectCallback, Unmanaged.passUnretained(c).toOpaque())
        return 0
    }

    /// session:get_alpn() → the negotiated protocol, or nil.
    static let getSelected: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = TLSSession.get(lua, 1) else { return TLSSessionMethods.notSession(lua) }
        var p: UnsafePointer<UInt8>? = nil
        var n: UInt32 = 0
        if let ssl = s.ssl { SSL_get0_alpn_selected(ssl, &p, &n) }
        if let p, n > 0 { lua.push(bytes: p, count: Int(n)) } else { lua.pushNil() }
        return 1
    }
}

extension TLSContext {
    /// Keeps the server's list in malloc'd memory: the selection callback returns a pointer
    /// into it, which OpenSSL copies after the callback returns.
    func setALPNWire(_ wire: [UInt8]) {
        if let old = alpn { old.deallocate() }
        alpn = nil
        guard !wire.isEmpty else { return }
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: wire.count)
        _ = b.initialize(from: wire)
        alpn = b
    }
}

/// Runs inside OpenSSL (Swift only): the first of the server's protocols the client offers.
/// No overlap: no ALPN (NOACK) rather than a fatal alert, so such clients still connect.
private let selectCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
                                            UnsafeMutablePointer<UInt8>?, UnsafePointer<UInt8>?, UInt32,
                                            UnsafeMutableRawPointer?) -> Int32 = { _, out, outlen, offered, offeredLen, arg in
    guard let arg, let out, let outlen, let offered else { return SSL_TLSEXT_ERR_NOACK }
    let c = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
    guard let mine = c.alpn else { return SSL_TLSEXT_ERR_NOACK }
    var sel: UnsafeMutablePointer<UInt8>? = nil
    var selLen: UInt8 = 0
    guard SSL_select_next_proto(&sel, &selLen, mine.baseAddress, UInt32(mine.count), offered, offeredLen) == OPENSSL_NPN_NEGOTIATED,
          let sel else { return SSL_TLSEXT_ERR_NOACK }
    out.pointee = UnsafePointer(sel)
    outlen.pointee = selLen
    return SSL_TLSEXT_ERR_OK
}
