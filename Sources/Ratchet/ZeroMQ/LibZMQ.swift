import CZMQ
import Glibc

/// The libzmq functions ratchet calls, resolved with dlopen/dlsym on the first
/// `ratchet.zmqsocket.new`. Linking libzmq would load it and its dependency chain
/// (libsodium, libpgm, libnorm, krb5, …) at every `require "ratchet"`, ~2 ms of load time
/// even for programs that never use ZeroMQ. CZMQ provides only zmq.h's types and constants;
/// no code may call a zmq_* function directly (the module would then need libzmq to load).
struct LibZMQ {
    typealias Socket = UnsafeMutableRawPointer
    typealias Msg = UnsafeMutablePointer<zmq_msg_t>

    let ctx_new: @convention(c) () -> UnsafeMutableRawPointer?
    let ctx_term: @convention(c) (UnsafeMutableRawPointer?) -> Int32
    let ctx_set: @convention(c) (UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    let socket: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Socket?
    let close: @convention(c) (Socket?) -> Int32
    let bind: @convention(c) (Socket?, UnsafePointer<CChar>?) -> Int32
    let connect: @convention(c) (Socket?, UnsafePointer<CChar>?) -> Int32
    let setsockopt: @convention(c) (Socket?, Int32, UnsafeRawPointer?, Int) -> Int32
    let getsockopt: @convention(c) (Socket?, Int32, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Int32
    let send: @convention(c) (Socket?, UnsafeRawPointer?, Int, Int32) -> Int32
    let msg_init: @convention(c) (Msg?) -> Int32
    let msg_recv: @convention(c) (Msg?, Socket?, Int32) -> Int32
    let msg_data: @convention(c) (Msg?) -> UnsafeMutableRawPointer?
    let msg_size: @convention(c) (Msg?) -> Int
    let msg_more: @convention(c) (Msg?) -> Int32
    let msg_close: @convention(c) (Msg?) -> Int32
    let errno: @convention(c) () -> Int32
    let strerror: @convention(c) (Int32) -> UnsafePointer<CChar>?

    /// The soname ratchet loads; RATCHET_LIBZMQ (a path or another soname) overrides it.
    static var libraryName: String {
        if let p = getenv("RATCHET_LIBZMQ"), p.pointee != 0 { return String(cString: p) }
        return "libzmq.so.5"
    }

    /// Why loading failed: the error code (ENOENT: no library, ENOSYS: a function missing),
    /// the call that failed and a description naming the library.
    struct LoadError: Error {
        let code: String
        let errno: Int32
        let syscall: String
        let description: String
    }

    /// Loads the library and resolves every function, or says why it cannot.
    static func load() -> Result<LibZMQ, LoadError> {
        let name = libraryName
        guard let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "not found"
            return .failure(LoadError(code: "ENOENT", errno: ENOENT, syscall: "dlopen",
                description: "ZeroMQ is not available: \(name) cannot be loaded (\(why))."))
        }
        var missing: String?
        func fn<T>(_ symbol: String, _: T.Type = T.self) -> T {
            guard let p = dlsym(h, symbol) else {
                if missing == nil { missing = symbol }
                return unsafeBitCast(placeholder, to: T.self)
            }
            return unsafeBitCast(p, to: T.self)
        }
        let lib = LibZMQ(
            ctx_new: fn("zmq_ctx_new"), ctx_term: fn("zmq_ctx_term"), ctx_set: fn("zmq_ctx_set"), socket: fn("zmq_socket"),
            close: fn("zmq_close"), bind: fn("zmq_bind"), connect: fn("zmq_connect"),
            setsockopt: fn("zmq_setsockopt"), getsockopt: fn("zmq_getsockopt"), send: fn("zmq_send"),
            msg_init: fn("zmq_msg_init"), msg_recv: fn("zmq_msg_recv"), msg_data: fn("zmq_msg_data"),
            msg_size: fn("zmq_msg_size"), msg_more: fn("zmq_msg_more"), msg_close: fn("zmq_msg_close"),
            errno: fn("zmq_errno"), strerror: fn("zmq_strerror"))
        if let missing {
            // Nothing from it is kept: the handle stays open (libzmq cannot be unloaded safely
            // once its static constructors ran), which costs nothing more.
            return .failure(LoadError(code: "ENOSYS", errno: ENOSYS, syscall: "dlsym",
                description: "ZeroMQ is not available: \(name) has no \(missing)."))
        }
        return .success(lib)
    }

    /// Stands in for a missing symbol until load() fails; never called.
    private static let placeholder: UnsafeRawPointer = UnsafeRawPointer(bitPattern: 1)!
}

/// The loaded library. Only read after `ZMQContext.load` succeeded: every socket, and the
/// context, exist only after it.
nonisolated(unsafe) private(set) var zmqLoaded: LibZMQ?

/// libzmq's functions, for code that runs once a socket or the context exists.
var zmq: LibZMQ {
    @inline(__always) get { zmqLoaded.unsafelyUnwrapped }
}

extension LibZMQ {
    /// Loads libzmq once per process (the caller holds the context lock); a failure is
    /// retried at the next call.
    static func ensureLoaded() -> LoadError? {
        if zmqLoaded != nil { return nil }
        switch load() {
        case .success(let lib): zmqLoaded = lib; return nil
        case .failure(let e): return e
        }
    }
}
