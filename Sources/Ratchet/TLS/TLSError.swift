import CLua
import COpenSSL
import Glibc

/// Turns a failed OpenSSL call into a ratchet error. This is the one place that reads the
/// OpenSSL error queue, so every failure carries the real reason (ERR_error_string of the
/// queued error), never the reference's "Unknown SSL error".
///
/// Codes: EVERIFY (certificate verification failed while it was required), SSLEOF (the peer
/// closed the connection without close_notify, or sent close_notify mid-handshake), an errno
/// code (ECONNRESET, EPIPE, … from the transport), SSLERROR (everything else).
enum TLSError {
    /// Pushes the error for `sslError` (SSL_get_error's answer). `savedErrno` is errno right
    /// after the call. Clears the queue.
    static func push(_ lua: Lua, ssl: OpaquePointer, sslError: Int32, savedErrno: Int32,
                     function: StaticString, syscall: StaticString) {
        defer { ERR_clear_error() }
        let queued = ERR_peek_error()
        switch sslError {
        case SSL_ERROR_ZERO_RETURN:
            RatchetError.push(lua, description: "Connection closed by the peer (close_notify).",
                              code: "SSLEOF", function: "\(function)")
        case SSL_ERROR_SYSCALL where queued == 0:
            if savedErrno != 0 && savedErrno != EAGAIN {
                _ = lua.raiseErrno(function, syscall, savedErrno)
            } else {
                RatchetError.push(lua, description: "Unexpected EOF received.", code: "SSLEOF",
                                  function: "\(function)")
            }
        case SSL_ERROR_SSL, SSL_ERROR_SYSCALL:
            let reason = ERR_GET_REASON(queued)
            let verify = SSL_get_verify_result(ssl)
            if reason == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != Int(X509_V_OK) {
                let why = String(cString: X509_verify_cert_error_string(verify))
                RatchetError.push(lua, description: "certificate verify failed: \(why)",
                                  code: "EVERIFY", function: "\(function)")
            } else if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING {
                RatchetError.push(lua, description: "Unexpected EOF received (the peer closed without close_notify).",
                                  code: "SSLEOF", function: "\(function)")
            } else {
                RatchetError.push(lua, description: describe(queued), code: "SSLERROR", function: "\(function)")
            }
        default:
            RatchetError.push(lua, description: queued != 0 ? describe(queued) : "SSL_get_error() returned \(sslError).",
                              code: "SSLERROR", function: "\(function)")
        }
    }

    /// ERR_error_string_n of one queued error, e.g.
    /// "error:0A00010B:SSL routines::wrong version number".
    static func describe(_ e: UInt) -> String {
        guard e != 0 else { return "SSL error (no reason queued)." }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(e, &buf, buf.count)
        return String(cString: buf)
    }

    /// The reason of the most recent queued error, for plain errors of context setup.
    static func lastReason() -> String {
        let e = ERR_peek_last_error()
        ERR_clear_error()
        return e == 0 ? "" : " (\(describe(e)))"
    }
}
