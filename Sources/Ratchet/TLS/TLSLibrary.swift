import CLua
import COpenSSL

/// `ratchet.ssl`: contexts (`new`), the method constants, and `socket:encrypt`.
/// OpenSSL 3 initialises itself on first use, so opening the module needs no global set-up.
enum TLSLibrary {
    static func open(_ lua: Lua) -> Int32 {
        TLSContext.registerMetatable(lua, methods: TLSContextMethods.methods)
        TLSSession.registerMetatable(lua, methods: TLSSessionMethods.methods)
        // socket:encrypt joins the socket's own method table (get_encryption is already
        // there): the socket module knows nothing of TLS beyond `SocketEncryption`.
        SocketMethods.register(lua)
        Socket.addMethods(lua, [("encrypt", TLSSession.encrypt)])

        lua.pushLibrary([("new", new)])
        for m in TLSContext.Method.allCases {
            lua.push(lightUserdata: m.tag)
            lua.setField(-2, m.name)
        }
        return 1
    }

    /// new([method = SSLv3 [, password]]) → context. Every method is version-flexible with
    /// TLS 1.2 as the floor; *_server and *_client restrict the role. The password (unused
    /// in the reference) is the default for encrypted keys in load_certs.
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        var method = TLSContext.Method.sslv3
        if !lua.isNoneOrNil(1) {
            guard lua.type(1) == LUA_TLIGHTUSERDATA else { return lua.typeError(1, "light userdata") }
            guard let p = lua_touserdata(L, 1), let m = TLSContext.Method(tag: p) else {
                return lua.argError(1, "unknown SSL method")
            }
            method = m
        }
        let (password, err) = TLSContextMethods.optString(lua, 2)
        if let err { return err }
        guard let c = TLSContext.make(method) else { return lua.raise("Creation of SSL_CTX object failed") }
        if let password { c.setPassword(password) }
        TLSContext.push(lua, c)
        return 1
    }
}
