import CZMQ

/// The one ZeroMQ context of the process, hidden from Lua. It is created on the first
/// `ratchet.zmqsocket.new` (loading the module costs nothing) and never terminated: Lua
/// states on several OS threads may share it, and zmq_ctx_term would block until every
/// socket of every state is closed.
enum ZMQContext {
    static let shared: UnsafeMutableRawPointer? = zmq_ctx_new()
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
