import CZMQ
import Glibc

/// Connections to inproc endpoints that nobody has bound yet.
///
/// libzmq keeps such a connection in its context as "pending" until the endpoint is bound,
/// even after the connecting socket is closed, and that socket cannot finish closing while
/// the connection waits: it keeps its slot (ZMQ_MAX_SOCKETS, 1023) and its mailbox eventfd.
/// After 1023 of them `new` failed with EMFILE, and `zmq_ctx_term`, which binds a socket for
/// each pending connection while holding the lock that closing sockets need to give their
/// slots back, aborted the process ("Assertion failed: s (src/ctx.cpp:169)").
///
/// So when the last open socket connected to an inproc endpoint closes, the endpoint is
/// bound once by a throwaway socket (the context's spare slot) and that socket closed with
/// no linger: exactly what `zmq_ctx_term` does, one endpoint at a time. Pending connections
/// of closed sockets then end, and those sockets go. While another open socket is connected
/// to the endpoint, nothing is done: its connection must survive until a real bind. Inproc
/// connects, binds and these sweeps are serialised process-wide (states on other threads
/// share the context), so a sweep never takes a live socket's connection or an address a
/// concurrent bind wants.
enum InprocConnections {
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    /// Open sockets connected to each inproc endpoint.
    nonisolated(unsafe) private static var connected: [String: Int] = [:]

    static func isInproc(_ endpoint: String) -> Bool { endpoint.hasPrefix("inproc://") }

    /// zmq_bind or zmq_connect of `s` to inproc `endpoint`; the result and zmq_errno.
    static func attach(_ s: ZMQSocket, _ h: LibZMQ.Socket, _ endpoint: String, bind: Bool) -> (Int32, Int32) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let rc = bind ? zmq.bind(h, endpoint) : zmq.connect(h, endpoint)
        let e = zmq.errno()
        if rc == 0 && !bind {
            connected[endpoint, default: 0] += 1
            s.inprocEndpoints.append(endpoint)
        }
        return (rc, e)
    }

    /// After a socket connected to `endpoints` was closed.
    static func closed(_ endpoints: [String]) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        for endpoint in endpoints {
            let left = (connected[endpoint] ?? 1) - 1
            connected[endpoint] = left > 0 ? left : nil
            if left <= 0 { sweep(endpoint) }
        }
    }

    /// Binds `endpoint` with a throwaway socket and closes it, ending the pending
    /// connections of closed sockets. If the endpoint is bound, nothing is pending.
    private static func sweep(_ endpoint: String) {
        guard let ctx = ZMQContext.current else { return }
        guard let t = ZMQContext.socket(ctx, ZMQ_PAIR) else { return }
        var linger: Int32 = 0
        _ = zmq.setsockopt(t, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        _ = zmq.bind(t, endpoint)
        _ = zmq.close(t)
    }
}
