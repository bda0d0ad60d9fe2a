import COpenSSL
import Glibc

/// Matching a certificate against the host a client meant to reach: subjectAltName DNS
/// names (with single-label wildcards, no partial ones like "w*.example.com") and IP
/// addresses; the subject's Common Name only when the certificate has no DNS names, the
/// rule of RFC 6125 that OpenSSL implements.
enum HostnameVerification {
    static let flags = UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)

    /// The host without IPv6 brackets, and whether it is an IP literal.
    static func normalize(_ host: String) -> (name: String, isIP: Bool) {
        var h = host
        if h.hasPrefix("[") && h.hasSuffix("]") && h.count >= 2 { h = String(h.dropFirst().dropLast()) }
        var buf = in6_addr()
        let isIP = inet_pton(AF_INET, h, &buf) == 1 || inet_pton(AF_INET6, h, &buf) == 1
        return (h, isIP)
    }

    static func matches(_ cert: OpaquePointer, _ host: String) -> Bool {
        let (name, isIP) = normalize(host)
        if isIP { return X509_check_ip_asc(cert, name, 0) == 1 }
        return X509_check_host(cert, name, name.utf8.count, flags, nil) == 1
    }

    /// Makes the handshake's own verification check `host` (X509_V_ERR_HOSTNAME_MISMATCH or
    /// X509_V_ERR_IP_ADDRESS_MISMATCH otherwise).
    static func expect(_ ssl: OpaquePointer, _ host: String) {
        let (name, isIP) = normalize(host)
        guard let param = SSL_get0_param(ssl) else { return }
        if isIP {
            _ = X509_VERIFY_PARAM_set1_ip_asc(param, name)
        } else {
            X509_VERIFY_PARAM_set_hostflags(param, flags)
            _ = X509_VERIFY_PARAM_set1_host(param, name, name.utf8.count)
        }
    }
}
