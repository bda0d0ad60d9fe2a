import CZMQ
import Glibc

/// The one ZeroMQ context of the process, hidden from Lua. Every Lua state that opens the
/// module holds a reference (`ZMQContextUser`, collected when the state closes); the
/// context is created with the first socket and terminated when the last state lets go,
/// so that messages still queued at a normal exit are delivered (within each socket's
/// LINGER) like the original's context termination at collection.
enum ZMQContext {
    nonisolated(unsafe) private static var context: UnsafeMutableRawPointer?
    nonisolated(unsafe) private static var users = 0
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    /// Loads libzmq (on first use) and creates the context; `.failure` when either fails.
    static func shared() -> Result<UnsafeMutableRawPointer, LibZMQ.LoadError> {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if let c = context { return .success(c) }
        if let e = LibZMQ.ensureLoaded() { return .failure(e) }
        guard let c = zmq.ctx_new() else {
            let e = zmq.errno()
            return .failure(LibZMQ.LoadError(code: ZMQErrno.name(e) ?? "EINVAL", errno: e, syscall: "zmq_ctx_new",
                                             description: zmq.strerror(e).map { String(cString: $0) } ?? "zmq_ctx_new failed"))
        }
        // One slot more than Lua may use: InprocConnections needs a socket of its own.
        _ = zmq.ctx_set(c, ZMQ_MAX_SOCKETS, socketLimit + 1)
        context = c
        return .success(c)
    }

    /// Sockets Lua may hold at once: libzmq's default ZMQ_MAX_SOCKETS.
    static let socketLimit: Int32 = 1023
    nonisolated(unsafe) private static var liveSockets: Int32 = 0

    /// Counts a new socket; false when `socketLimit` are open already.
    static func claimSocket() -> Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        guard liveSockets < socketLimit else { return false }
        liveSockets += 1
        return true
    }

    /// zmq_socket, waiting up to 0.2 s while libzmq says EMFILE: closed sockets give their
    /// slots back only once libzmq's reaper thread has collected them, which a loop that
    /// closes and opens sockets quickly can outrun (the count in `claimSocket` is below the
    /// limit, so the slots are coming back).
    static func socket(_ ctx: UnsafeMutableRawPointer, _ type: Int32) -> LibZMQ.Socket? {
        for _ in 0..<200 {
            if let h = zmq.socket(ctx, type) { return h }
            guard zmq.errno() == EMFILE else { return nil }
            usleep(1000)
        }
        return zmq.socket(ctx, type)
    }

    static func releaseSocket() {
        pthread_mutex_lock(lock)
        liveSockets -= 1
        pthread_mutex_unlock(lock)
    }

    /// The context if it exists (never creates one: a socket closed after its context
    /// ended must not start another).
    static var current: UnsafeMutableRawPointer? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return context
    }

    static func retain() {
        pthread_mutex_lock(lock)
        users += 1
        pthread_mutex_unlock(lock)
    }

    static func release() {
        pthread_mutex_lock(lock)
        users -= 1
        var ending: UnsafeMutableRawPointer? = nil
        if users == 0 { ending = context; context = nil }
        pthread_mutex_unlock(lock)
        // The state's sockets were collected before this (they were created after the
        // module opened, so lua_close finalizes them first); this waits only for LINGER.
        if let c = ending { _ = zmq.ctx_term(c) }
    }
}

/// Held in the registry of each Lua state that opened the module.
final class ZMQContextUser: LuaHandle {
    static let metatableName: StaticString = "ratchet_zmqcontext_meta"
    static let shownName: StaticString = "ratchet.zmqsocket context"
    private var held = true

    init() { ZMQContext.retain() }

    func close(_ lua: Lua) {
        guard held else { return }
        held = false
        ZMQContext.release()
    }
}

/// ZeroMQ's own error numbers, which have no errno name.
enum ZMQErrno {
    static func name(_ e: Int32) -> String? {
        if let n = Errno.name(e) { return "\(n)" }
        switch e {
        case EFSM: return "EFSM"
        case ENOCOMPATPROTO: return "ENOCOMPATPROTO"
        case ETERM: return "ETERM"
        case EMTHREAD: return "EMTHREAD"
        default: return nil
        }
    }
}

extension Lua {
    /// Raises a ratchet error for a failed zmq call: zmq_strerror's text (plus `detail`,
    /// e.g. the endpoint), the errno name as the code.
    func raiseZMQ(_ function: StaticString, _ syscall: StaticString, _ e: Int32, detail: String? = nil) -> Int32 {
        let text = zmq.strerror(e).map { String(cString: $0) } ?? "ZeroMQ error \(e)"
        RatchetError.push(self, description: detail.map { "\(text): \($0)" } ?? text,
                          code: ZMQErrno.name(e), function: "\(function)", syscall: "\(syscall)", errno: e)
        return Status.raise
    }

    /// Raises why ZeroMQ is unavailable (library or context).
    func raiseZMQUnavailable(_ function: StaticString, _ e: LibZMQ.LoadError) -> Int32 {
        RatchetError.push(self, description: e.description, code: e.code, function: "\(function)",
                          syscall: e.syscall, errno: e.errno)
        return Status.raise
    }
}
