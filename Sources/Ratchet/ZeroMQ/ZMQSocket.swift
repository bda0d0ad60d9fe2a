import CZMQ
import Glibc

/// A ZeroMQ socket and the threads waiting on it.
///
/// ZMQ_FD is edge-triggered and signals any change of the socket's state, not one
/// direction: a waiting thread wakes on its readability, retries, and re-parks if the
/// socket still is not ready. Any zmq call on the socket may consume the edge another
/// thread is waiting for, so after each one, if a thread waits on the socket, the socket
/// wakes the waiters whose event ZMQ_EVENTS now reports (`settle`). With nobody waiting
/// (the usual case while messages flow) a call costs no ZMQ_EVENTS.
///
/// Waiting threads are the read waiters of the ZMQ_FD watcher, with their awaited event
/// (ZMQ_POLLIN or ZMQ_POLLOUT, tagged) as token.
final class ZMQSocket: LuaHandle {
    static let metatableName: StaticString = "ratchet_zmqsocket_meta"
    static let shownName: StaticString = "ratchet.zmqsocket"

    @exclusivity(unchecked) private(set) var handle: UnsafeMutableRawPointer?
    let type: Int32
    /// ZMQ_FD: owned by libzmq, never closed here.
    @exclusivity(unchecked) private(set) var fd: Int32 = -1
    /// Seconds, or -1 for none; applies to send and recv.
    @exclusivity(unchecked) var timeout: Double = -1
    @exclusivity(unchecked) var watcher: IOWatcher?
    /// The inproc endpoints it connected to (see InprocConnections).
    var inprocEndpoints: [String] = []
    /// The message recv and recv_all receive into: initialized once, so a receive costs no
    /// zmq_msg_init/zmq_msg_close (zmq_msg_recv releases the previous part itself, as
    /// libzmq's own perf tools rely on). It keeps the last part received until the next
    /// receive or close, or not at all when that part is large (`releaseLarge`).
    let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)

    /// Parts larger than this are released as soon as they are copied to Lua, rather than
    /// kept until the next receive. Smaller ones are kept: a zero-copy part pins libzmq's
    /// decoder buffer (8 KiB by default) anyway, and releasing costs two calls per message.
    static let keptPartLimit = 8192

    /// Marks a watcher token as a zmq wait (block_on may wait on the same descriptor).
    private static let tokenTag = 1 << 40

    init(handle: UnsafeMutableRawPointer, type: Int32) {
        self.handle = handle
        self.type = type
        _ = zmq.msg_init(msg)
        var f: Int32 = -1
        var size = MemoryLayout<Int32>.size
        if zmq.getsockopt(handle, ZMQ_FD, &f, &size) == 0 { fd = f }
    }

    /// ZMQ_EVENTS (ZMQ_POLLIN | ZMQ_POLLOUT); reading it also processes pending commands.
    func events() -> Int32 {
        guard let h = handle else { return 0 }
        var ev: Int32 = 0
        var size = MemoryLayout<Int32>.size
        return zmq.getsockopt(h, ZMQ_EVENTS, &ev, &size) == 0 ? ev : 0
    }

    private var hasWaiters: Bool {
        @inline(__always) get {
            guard let w = watcher else { return false }
            return w.hasReaders
        }
    }

    /// Wakes the threads whose awaited event is ready now. Called after every zmq call.
    @inline(__always) func settle(_ known: Int32? = nil) {
        guard hasWaiters else { return }
        wakeReady(known ?? events())
    }

    private func wakeReady(_ ev: Int32) {
        guard ev != 0, let w = watcher else { return }
        w.wakeReaders { $0 & ZMQSocket.tokenTag != 0 && Int32(truncatingIfNeeded: $0) & ev != 0 }
    }

    /// After EAGAIN: true when ZMQ_EVENTS says `wanted` is ready after all (retry at once).
    ///
    /// A non-blocking zmq_msg_recv that fails with EAGAIN has just processed the socket's
    /// pending commands, which re-arms ZMQ_FD, so with nobody else waiting (`processed`)
    /// the caller parks without asking ZMQ_EVENTS (a poll(2) less per wait). zmq_send
    /// processes commands only now and then, so after a send it is always asked.
    func readyAfterAgain(_ wanted: Int32, processed: Bool = false) -> Bool {
        if processed && !hasWaiters { return false }
        let ev = events()
        settle(ev)
        return ev & wanted != 0
    }

    /// Parks the calling thread until the socket may be ready for `wanted` or the socket's
    /// timeout (kept as a deadline at stack index `deadlineSlot`) passes. The thread and
    /// its kernel are borrowed (a wait per message in request/reply traffic).
    func park(_ lua: Lua, _ wanted: Int32, deadlineSlot: Int32, _ function: String) -> Int32 {
        Kernel.withThread(lua) { t in
            let left = lua.remaining(timeout: self.timeout, slot: deadlineSlot)
            t.kernelRef._withUnsafeGuaranteedRef {
                $0.waitIO(t, fd: fd, write: false, timeout: left, slot: &watcher,
                          token: ZMQSocket.tokenTag | Int(wanted))
            }
            return Status.yield()
        } ?? Kernel.notInThread(lua, function)
    }

    /// After a part of `size` bytes was copied out of `msg`: releases it if it is large.
    @inline(__always) func releaseLarge(_ size: Int) {
        if size > ZMQSocket.keptPartLimit { releaseMessage() }
    }

    private func releaseMessage() {
        _ = zmq.msg_close(msg)
        _ = zmq.msg_init(msg)
    }

    /// Returns false when it was already closed. Waiting threads wake and see it closed.
    @discardableResult func closeSocket() -> Bool {
        guard let h = handle else { return false }
        watcher?.release()
        watcher = nil
        handle = nil
        fd = -1
        releaseMessage()
        _ = zmq.close(h)
        ZMQContext.releaseSocket()
        if !inprocEndpoints.isEmpty {
            InprocConnections.closed(inprocEndpoints)
            inprocEndpoints = []
        }
        return true
    }

    func close(_ lua: Lua) { closeSocket() }

    deinit {
        closeSocket()
        _ = zmq.msg_close(msg)
        msg.deallocate()
    }
}
