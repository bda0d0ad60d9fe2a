import CLua
import COpenSSL
import Glibc

/// Peer certificate details as Lua values.
enum Certificate {
    /// Pushes {subject=, issuer=, sans={...}, not_before=, not_after=, serial=}: names in
    /// RFC 2253 form, subjectAltName DNS names and IP addresses (as text) in order, times as
    /// Unix seconds, the serial number in hex.
    static func push(_ lua: Lua, _ cert: OpaquePointer) {
        lua.newTable(nrec: 6)
        pushName(lua, X509_get_subject_name(cert)); lua.setField(-2, "subject")
        pushName(lua, X509_get_issuer_name(cert)); lua.setField(-2, "issuer")
        pushSANs(lua, cert); lua.setField(-2, "sans")
        if let t = epoch(X509_get0_notBefore(cert)) { lua.push(t); lua.setField(-2, "not_before") }
        if let t = epoch(X509_get0_notAfter(cert)) { lua.push(t); lua.setField(-2, "not_after") }
        if let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nil) {
            if let hex = BN_bn2hex(bn) {
                lua_pushstring(lua.L, hex)
                lua.setField(-2, "serial")
                CRYPTO_free(hex, nil, 0)
            }
            BN_free(bn)
        }
    }

    /// XN_FLAG_RFC2253, spelled out: Swift does not import that macro.
    static let rfc2253 = UInt(ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_ESC_MSB
                              | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_DUMP_UNKNOWN | ASN1_STRFLGS_DUMP_DER)
        | UInt(XN_FLAG_SEP_COMMA_PLUS) | UInt(XN_FLAG_DN_REV) | UInt(XN_FLAG_FN_SN) | UInt(XN_FLAG_DUMP_UNKNOWN_FIELDS)

    /// Pushes a distinguished name in RFC 2253 form ("CN=localhost,O=Test"), or nil.
    static func pushName(_ lua: Lua, _ name: OpaquePointer?) {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { lua.pushNil(); return }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, rfc2253) >= 0 else { lua.pushNil(); return }
        var p: UnsafeMutablePointer<CChar>? = nil
        let n = withUnsafeMutablePointer(to: &p) { BIO_ctrl(bio, BIO_CTRL_INFO, 0, $0) }
        lua.push(bytes: p, count: max(0, n))
    }

    /// Pushes the subjectAltName DNS and IP entries as an array of strings.
    static func pushSANs(_ lua: Lua, _ cert: OpaquePointer) {
        lua.newTable()
        guard let raw = X509_get_ext_d2i(cert, NID_subject_alt_name, nil, nil) else { return }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var k = 1
        for i in 0..<OPENSSL_sk_num(names) {
            guard let g = OPENSSL_sk_value(names, i)?.assumingMemoryBound(to: GENERAL_NAME.self) else { continue }
            switch g.pointee.type {
            case GEN_DNS:
                guard let s = g.pointee.d.dNSName else { continue }
                lua.push(bytes: ASN1_STRING_get0_data(s), count: Int(ASN1_STRING_length(s)))
            case GEN_IPADD:
                guard let s = g.pointee.d.iPAddress, let text = ipText(s) else { continue }
                lua.push(text)
            default:
                continue
            }
            lua.rawSet(-2, k)
            k += 1
        }
    }

    /// An iPAddress entry (4 or 16 bytes) as text.
    static func ipText(_ s: UnsafeMutablePointer<ASN1_OCTET_STRING>) -> String? {
        let n = Int(ASN1_STRING_length(s))
        guard let p = ASN1_STRING_get0_data(s), n == 4 || n == 16 else { return nil }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(n == 4 ? AF_INET : AF_INET6, p, &buf, socklen_t(buf.count)) != nil else { return nil }
        return String(cString: buf)
    }

    static func epoch(_ t: UnsafePointer<ASN1_TIME>?) -> Int? {
        guard let t else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(t, &parts) == 1 else { return nil }
        return timegm(&parts)
    }
}
