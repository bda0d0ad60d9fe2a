import CLua
import COpenSSL

/// Which suites and key-exchange groups a context offers, and `ctx:set_ciphers`.
///
/// The default is Mozilla's "intermediate" server profile (Server Side TLS 5.7): TLS 1.2 and
/// 1.3, forward-secret AEAD suites only (no RSA key exchange, no CBC with SHA-1), the TLS 1.3
/// suites OpenSSL offers, and the groups X25519, P-256, P-384. Clients use it too: every
/// current server supports it.
enum CipherPolicy {
    static let intermediateCiphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
        + "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
    static let intermediateGroups = "X25519:prime256v1:secp384r1"

    /// Applies the default to a new context.
    static func applyDefault(_ ctx: OpaquePointer) {
        _ = SSL_CTX_set_cipher_list(ctx, intermediateCiphers)
        _ = setGroups(ctx, intermediateGroups)
    }

    /// SSL_CTX_set1_groups_list, a macro Swift cannot import. The string is only valid inside
    /// withCString (an implicit String-to-pointer conversion would dangle).
    private static func setGroups(_ ctx: OpaquePointer, _ list: String) -> Bool {
        list.withCString { SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, UnsafeMutableRawPointer(mutating: $0)) == 1 }
    }

    /// ctx:set_ciphers(ciphers [, ciphersuites [, groups]]) (extension): OpenSSL cipher
    /// strings for TLS 1.2 (`SSL_CTX_set_cipher_list`), for TLS 1.3 (`SSL_CTX_set_ciphersuites`)
    /// and the key-exchange groups (`SSL_CTX_set1_groups_list`). nil leaves that part as it
    /// is. A string OpenSSL rejects (nothing it knows in it) raises; the context is unchanged
    /// for that part.
    static let setCiphers: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard let c = TLSContext.get(lua, 1) else { return TLSContextMethods.notContext(lua) }
        var specs: [String?] = []
        for i: Int32 in 2...4 {
            let (s, err) = TLSContextMethods.optString(lua, i)
            if let err { return err }
            if let s, s.utf8.contains(0) { return lua.argError(i, "contains a NUL byte") }
            specs.append(s)
        }
        let what = ["cipher list", "TLS 1.3 cipher suites", "groups"]
        for (k, spec) in specs.enumerated() {
            guard let spec else { continue }
            let ok: Bool
            switch k {
            case 0: ok = SSL_CTX_set_cipher_list(c.ctx, spec) == 1
            case 1: ok = SSL_CTX_set_ciphersuites(c.ctx, spec) == 1
            default: ok = setGroups(c.ctx, spec)
            }
            if !ok { return lua.raise("Invalid \(what[k]) '\(spec)'\(TLSError.lastReason())") }
        }
        return 0
    }
}
