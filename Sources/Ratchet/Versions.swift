import CLibEvent
import COpenSSL
import Glibc

/// The versions of the libraries ratchet runs on, as loaded at run time (for `ratchet-lua
/// -v`): a bug report needs the library actually in the process, not the header's.
public enum LibraryVersions {
    /// Name and version of libevent, OpenSSL and libzmq ("not available" when libzmq
    /// cannot be loaded: ZeroMQ is optional).
    public static func all() -> [(name: String, version: String)] {
        [("libevent", String(cString: event_get_version())),
         ("OpenSSL", String(cString: OpenSSL_version(OPENSSL_VERSION_STRING))),
         ("libzmq", LibZMQ.version() ?? "not available")]
    }
}

extension LibZMQ {
    /// "4.3.4", from zmq_version of the library ratchet would load; nil when it cannot load.
    /// The handle stays open, as load() keeps it: libzmq is not safely unloadable.
    static func version() -> String? {
        guard let h = dlopen(libraryName, RTLD_NOW | RTLD_LOCAL), let p = dlsym(h, "zmq_version") else { return nil }
        typealias Fn = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Void
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        unsafeBitCast(p, to: Fn.self)(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
