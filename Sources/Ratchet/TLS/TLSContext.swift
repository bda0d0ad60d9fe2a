import CLua
import COpenSSL
import Glibc

/// A `ratchet.ssl` context: one SSL_CTX plus what ratchet decides on top of OpenSSL
/// (whether verification was chosen explicitly, the ALPN list, the servername choices).
///
/// The SSL_CTX is freed in `deinit`, not when the Lua userdata is collected: sessions hold
/// this object strongly, and OpenSSL callbacks receive it as their argument, so it must
/// live as long as any SSL made from it.
///
/// The userdata has one user value: the servername callback (function or table).
final class TLSContext: LuaHandle {
    static let metatableName: StaticString = "ratchet_ssl_ctx_meta"
    static let shownName: StaticString = "ratchet.ssl context"
    static let servernameSlot: Int32 = 1

    enum Role { case any, server, client }

    let ctx: OpaquePointer
    let role: Role
    /// set_verify / set_verify_mode was called: the default (verify clients' peers when a
    /// CA source is loaded) no longer applies.
    var verifyExplicit = false
    /// load_cas or load_default_verify_paths succeeded.
    var hasCASource = false
    /// The password for encrypted private keys (malloc'd, given to OpenSSL's callback).
    var password: UnsafeMutablePointer<CChar>?
    /// This context's ALPN protocols in wire format, for the server's selection callback.
    var alpn: UnsafeMutableBufferPointer<UInt8>?
    /// set_servername_callback: a function in the user value, or names resolved ahead.
    var servernameFunction = false
    var servernameTable: [String: TLSContext] = [:]

    init(ctx: OpaquePointer, role: Role) {
        self.ctx = ctx
        self.role = role
    }

    deinit {
        SSL_CTX_free(ctx)
        if let p = password { free(p) }
        alpn?.deallocate()
    }

    func close(_ lua: Lua) {}

    func setPassword(_ pw: String) {
        if let old = password { free(old) }
        password = strdup(pw)
        SSL_CTX_set_default_passwd_cb_userdata(ctx, password)
    }

    /// The methods of the reference (all version-flexible now) and the TLS_* names added.
    enum Method: Int, CaseIterable {
        case sslv3, sslv3Server, sslv3Client, tlsv1, tlsv1Server, tlsv1Client, tls, tlsServer, tlsClient

        var name: StaticString {
            switch self {
            case .sslv3: return "SSLv3"
            case .sslv3Server: return "SSLv3_server"
            case .sslv3Client: return "SSLv3_client"
            case .tlsv1: return "TLSv1"
            case .tlsv1Server: return "TLSv1_server"
            case .tlsv1Client: return "TLSv1_client"
            case .tls: return "TLS"
            case .tlsServer: return "TLS_server"
            case .tlsClient: return "TLS_client"
            }
        }

        var role: Role {
            switch self {
            case .sslv3, .tlsv1, .tls: return .any
            case .sslv3Server, .tlsv1Server, .tlsServer: return .server
            case .sslv3Client, .tlsv1Client, .tlsClient: return .client
            }
        }

        /// The constants are light userdata, as in the reference: addresses in one block.
        static let tags = UnsafeMutableRawPointer.allocate(byteCount: allCases.count, alignment: 1)
        var tag: UnsafeMutableRawPointer { Method.tags + rawValue }

        init?(tag p: UnsafeRawPointer) {
            guard let m = Method(rawValue: Int(bitPattern: p) &- Int(bitPattern: Method.tags)) else { return nil }
            self = m
        }
    }

    /// A new context for `method`: TLS 1.2 at least, the write buffer may move between
    /// retries (a Lua string is the same bytes, but not always the same address), and the
    /// password callback never prompts on a terminal.
    static func make(_ method: Method) -> TLSContext? {
        let m: OpaquePointer?
        switch method.role {
        case .any: m = TLS_method()
        case .server: m = TLS_server_method()
        case .client: m = TLS_client_method()
        }
        guard let ctx = SSL_CTX_new(m) else { ERR_clear_error(); return nil }
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        CipherPolicy.applyDefault(ctx)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        // Without a session id context, a server that verifies client certificates fails
        // every resumption attempt.
        _ = SSL_CTX_set_session_id_context(ctx, "ratchet", 7)
        SSL_CTX_set_default_passwd_cb(ctx, passwordCallback)
        return TLSContext(ctx: ctx, role: method.role)
    }

    /// Pushes a new context userdata (used by `ratchet.ssl.new` and `encrypt(method)`).
    static func push(_ lua: Lua, _ c: TLSContext) {
        push(lua, c, uservalues: 1)
    }
}

/// OpenSSL's default password callback reads from the terminal; this one answers with the
/// password given to load_certs, or with nothing (the key then fails to load).
private let passwordCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { buf, size, _, userdata in
    guard let buf, let pw = userdata?.assumingMemoryBound(to: CChar.self) else { return 0 }
    let n = strlen(pw)
    guard n < Int(size) else { return 0 }
    memcpy(buf, pw, n)
    return Int32(n)
}

/// The Lua methods of contexts.
enum TLSContextMethods {
    static let methods: [(StaticString, LuaImpl)] = [
        ("create_session", TLSSession.createSession),
        ("set_verify_mode", setVerifyMode), ("load_certs", loadCerts), ("load_cas", loadCAs),
        ("load_randomness", loadRandomness), ("load_dh_params", loadDHParams),
        ("generate_tmp_rsa", generateTmpRSA),
        // Extensions beyond the reference:
        ("set_verify", setVerify), ("load_default_verify_paths", loadDefaultVerifyPaths),
        ("set_alpn", ALPN.setALPN), ("set_servername_callback", ServerName.setCallback),
        ("set_protocols", setProtocols), ("set_ciphers", CipherPolicy.setCiphers),
    ]

    @inline(__always) static func notContext(_ lua: Lua) -> Int32 { lua.typeError(1, "ratchet.ssl context") }

    /// An optional string argument: (value, nil), or (nil, error status) when not a string.
    static func optString(_ lua: Lua, _ i: Int32) -> (String?, Int32?) {
        if lua.isNoneOrNil(i) { return (nil, nil) }
        guard let s = lua.stringOrNumber(i) else { return (nil, lua.typeError(i, "string")) }
        return (s, nil)
    }

    /// An optional host name argument (SNI, certificate matching). A NUL byte is refused:
    /// OpenSSL takes names as C strings, so "localhost\0.evil.example" would be sent and
    /// verified as "localhost".
    static func optHostName(_ lua: Lua, _ i: Int32) -> (String?, Int32?) {
        let (name, err) = optString(lua, i)
        if let name, name.utf8.contains(0) { return (nil, lua.argError(i, "host name contains a NUL byte")) }
        return (name, err)
    }

    /// set_verify_mode([mode]): "none", "peer" (default), "fail" (peer, and fail without a
    /// peer certificate) or "once" (peer, client certificate asked once).
    static let setVerifyMode: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        let (name, err) = optString(lua, 2)
        if let err { return err }
        let mode: Int32
        switch name ?? "peer" {
        case "none": mode = SSL_VERIFY_NONE
        case "peer": mode = SSL_VERIFY_PEER
        case "fail": mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        case "once": mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE
        case let other: return lua.argError(2, "invalid option '\(other)'")
        }
        SSL_CTX_set_verify(c.ctx, mode, nil)
        c.verifyExplicit = true
        return 0
    }

    /// set_verify(on) (extension): true requires a verified peer certificate (a client
    /// checks the server's chain and name; a server requires a client certificate);
    /// false turns verification off, also the client default described in docs/ssl.md.
    static let setVerify: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        guard lua.type(2) == LUA_TBOOLEAN else { return lua.typeError(2, "boolean") }
        let mode = lua.toBool(2) ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE
        SSL_CTX_set_verify(c.ctx, mode, nil)
        c.verifyExplicit = true
        return 0
    }

    /// load_certs(chainfile [, keyfile = chainfile [, password]]): a PEM chain and its key.
    static let loadCerts: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        guard let chain = lua.stringOrNumber(2) else { return lua.typeError(2, "string") }
        let (keyArg, e3) = optString(lua, 3)
        if let e3 { return e3 }
        let (password, e4) = optString(lua, 4)
        if let e4 { return e4 }
        let key = keyArg ?? chain
        if SSL_CTX_use_certificate_chain_file(c.ctx, chain) != 1 {
            ERR_clear_error()
            return lua.raise("Could not read certificate chain file: \(chain)")
        }
        if let password { c.setPassword(password) }
        // Also fails when the key does not belong to the certificate.
        if SSL_CTX_use_PrivateKey_file(c.ctx, key, SSL_FILETYPE_PEM) != 1 {
            ERR_clear_error()
            return lua.raise("Could not read key file: \(key)")
        }
        return 0
    }

    /// load_cas(ca_path, ca_file [, depth]): trusted CAs from a hashed directory and/or a
    /// PEM file. The reference always set the verify depth (default 1, which rejects any
    /// chain with an intermediate CA); here the depth changes only when it is given.
    static let loadCAs: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        let (path, e2) = optString(lua, 2)
        if let e2 { return e2 }
        let (file, e3) = optString(lua, 3)
        if let e3 { return e3 }
        guard path != nil || file != nil else { return lua.argError(2, "Path to trusted CAs required.") }
        var depth: Int32? = nil
        if !lua.isNoneOrNil(4) {
            guard let d = lua.integer(4) else { return lua.typeError(4, "number") }
            depth = Int32(clamping: max(0, d))
        }
        if SSL_CTX_load_verify_locations(c.ctx, file, path) != 1 {
            ERR_clear_error()
            switch (path, file) {
            case let (p?, f?): return lua.raise("Could not read CA locations: \(f) \(p)")
            case let (p?, nil): return lua.raise("Could not read CA path: \(p)")
            default: return lua.raise("Could not read CA file: \(file ?? "")")
            }
        }
        if let depth { SSL_CTX_set_verify_depth(c.ctx, depth) }
        c.hasCASource = true
        return 0
    }

    /// load_default_verify_paths() (extension): the system CA store (on Debian
    /// /etc/ssl/certs; the SSL_CERT_FILE and SSL_CERT_DIR environment variables override).
    static let loadDefaultVerifyPaths: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        if SSL_CTX_set_default_verify_paths(c.ctx) != 1 {
            return lua.raise("Could not load the system CA store\(TLSError.lastReason())")
        }
        c.hasCASource = true
        return 0
    }

    /// load_randomness([file [, max_bytes = 1048576]]): seeds OpenSSL's generator (which
    /// seeds itself from the OS today, so this is rarely useful).
    static let loadRandomness: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard TLSContext.get(lua, 1) != nil else { return notContext(lua) }
        let (fileArg, e2) = optString(lua, 2)
        if let e2 { return e2 }
        var maxBytes = 1_048_576
        if !lua.isNoneOrNil(3) {
            guard let n = lua.integer(3) else { return lua.typeError(3, "number") }
            maxBytes = n
        }
        var file = fileArg
        if file == nil {
            var buf = [CChar](repeating: 0, count: 4096)
            guard RAND_file_name(&buf, buf.count) != nil else {
                return lua.argError(2, "Could not find default random file")
            }
            file = String(cString: buf)
        }
        if RAND_load_file(file!, Int(clamping: maxBytes)) <= 0 {
            ERR_clear_error()
            return lua.raise("Could not load randomness: \(file!)")
        }
        return 0
    }

    /// load_dh_params(pemfile): parameters for the finite-field DHE cipher suites.
    static let loadDHParams: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        guard let file = lua.stringOrNumber(2) else { return lua.typeError(2, "string") }
        guard let bio = BIO_new_file(file, "r") else {
            ERR_clear_error()
            return lua.raise("Could not open DH params file: \(file)")
        }
        let pkey = PEM_read_bio_Parameters(bio, nil)
        BIO_free(bio)
        guard let pkey else {
            ERR_clear_error()
            return lua.raise("Could not read DH params file: \(file)")
        }
        // On success the context owns the key.
        if SSL_CTX_set0_tmp_dh_pkey(c.ctx, pkey) != 1 {
            EVP_PKEY_free(pkey)
            return lua.raise("Could not set DH params: \(file)\(TLSError.lastReason())")
        }
        return 0
    }

    /// generate_tmp_rsa(): temporary RSA keys belong to export cipher suites, which no
    /// longer exist; kept so old code runs.
    static let generateTmpRSA: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard TLSContext.get(lua, 1) != nil else { return notContext(lua) }
        return 0
    }

    /// set_protocols(min [, max]) (extension): the TLS versions allowed, as "TLSv1.2" or
    /// "TLSv1.3". The minimum cannot go below TLS 1.2.
    static let setProtocols: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard let c = TLSContext.get(lua, 1) else { return notContext(lua) }
        func version(_ i: Int32) -> (Int, Int32?) {
            if lua.isNoneOrNil(i) { return (0, nil) }
            switch lua.string(i) {
            case "TLSv1.2": return (Int(TLS1_2_VERSION), nil)
            case "TLSv1.3": return (Int(TLS1_3_VERSION), nil)
            case nil: return (0, lua.typeError(i, "string"))
            case let s?: return (0, lua.argError(i, "unknown protocol '\(s)' (use \"TLSv1.2\" or \"TLSv1.3\")"))
            }
        }
        let (lo, e2) = version(2)
        if let e2 { return e2 }
        let (hi, e3) = version(3)
        if let e3 { return e3 }
        _ = SSL_CTX_ctrl(c.ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, lo == 0 ? Int(TLS1_2_VERSION) : lo, nil)
        _ = SSL_CTX_ctrl(c.ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, hi, nil)
        return 0
    }
}
