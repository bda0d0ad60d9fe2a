import Glibc

/// Symbolic names for errno values, as the reference's table gives them. Where Linux has
/// two names for one number, the reference's later name wins (EWOULDBLOCK, ENOTSUP).
enum Errno {
    static func name(_ e: Int32) -> StaticString? {
        switch e {
        case EACCES: return "EACCES"
        case EAFNOSUPPORT: return "EAFNOSUPPORT"
        case EINVAL: return "EINVAL"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case ENOBUFS: return "ENOBUFS"
        case ENOMEM: return "ENOMEM"
        case EPROTONOSUPPORT: return "EPROTONOSUPPORT"
        case EAGAIN: return "EWOULDBLOCK"
        case EBADF: return "EBADF"
        case ECONNABORTED: return "ECONNABORTED"
        case EFAULT: return "EFAULT"
        case EINTR: return "EINTR"
        case ENOTSOCK: return "ENOTSOCK"
        case EOPNOTSUPP: return "ENOTSUP"
        case EPROTO: return "EPROTO"
        case EPERM: return "EPERM"
        case EADDRINUSE: return "EADDRINUSE"
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case ELOOP: return "ELOOP"
        case ENAMETOOLONG: return "ENAMETOOLONG"
        case ENOENT: return "ENOENT"
        case ENOTDIR: return "ENOTDIR"
        case EROFS: return "EROFS"
        case EALREADY: return "EALREADY"
        case ECONNREFUSED: return "ECONNREFUSED"
        case EINPROGRESS: return "EINPROGRESS"
        case EISCONN: return "EISCONN"
        case ENETUNREACH: return "ENETUNREACH"
        case ETIMEDOUT: return "ETIMEDOUT"
        case ECONNRESET: return "ECONNRESET"
        case EDESTADDRREQ: return "EDESTADDRREQ"
        case EMSGSIZE: return "EMSGSIZE"
        case ENOTCONN: return "ENOTCONN"
        case EPIPE: return "EPIPE"
        case ENODEV: return "ENODEV"
        // Beyond the reference's table: a code is more useful than nil for these.
        case EHOSTUNREACH: return "EHOSTUNREACH"
        case ECHILD: return "ECHILD"
        case ESRCH: return "ESRCH"
        case EEXIST: return "EEXIST"
        case ENOTEMPTY: return "ENOTEMPTY"
        case EISDIR: return "EISDIR"
        case ENOEXEC: return "ENOEXEC"
        case E2BIG: return "E2BIG"
        case ENOSPC: return "ENOSPC"
        case EPROTOTYPE: return "EPROTOTYPE"
        case ENOPROTOOPT: return "ENOPROTOOPT"
        case ENETDOWN: return "ENETDOWN"
        case EHOSTDOWN: return "EHOSTDOWN"
        case EFBIG: return "EFBIG"
        case EIO: return "EIO"
        default: return nil
        }
    }

    static func description(_ e: Int32) -> String {
        String(cString: strerror(e))
    }
}
