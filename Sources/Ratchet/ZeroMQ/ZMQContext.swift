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

    /// The context, created on first use; nil if libzmq cannot make one.
    static var shared: UnsafeMutableRawPointer? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if context == nil { context = zmq_ctx_new() }
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
        if let c = ending { zmq_ctx_term(c) }
    }
}

/// Held in the registry of each Lua state that opened the module.
final class ZMQContextUser: LuaHandle {
    static let metatableName: StaticString = "ratchet_zmqcontext_meta"
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
        let text = String(cString: zmq_strerror(e))
        RatchetError.push(self, description: detail.map { "\(text): \($0)" } ?? text,
                          code: ZMQErrno.name(e), function: "\(function)", syscall: "\(syscall)", errno: e)
        return Status.raise
    }
}
