import CZMQ
import Glibc

/// A ZeroMQ socket and the threads waiting on it.
///
/// ZMQ_FD is edge-triggered and signals any change of the socket's state, not one
/// direction: a waiting thread wakes on its readability, retries, and re-parks if the
/// socket still is not ready. Any zmq call on the socket may consume the edge another
/// thread is waiting for, so after each one the socket wakes the waiters whose event
/// ZMQ_EVENTS now reports (`settle`).
final class ZMQSocket: LuaHandle, WaitSource {
    static let metatableName: StaticString = "ratchet_zmqsocket_meta"

    private(set) var handle: UnsafeMutableRawPointer?
    let type: Int32
    /// ZMQ_FD: owned by libzmq, never closed here.
    private(set) var fd: Int32 = -1
    /// Seconds, or -1 for none; applies to send and recv.
    var timeout: Double = -1
    var watcher: IOWatcher?
    private var waiters: [(thread: LuaThread, events: Int32)] = []

    init(handle: UnsafeMutableRawPointer, type: Int32) {
        self.handle = handle
        self.type = type
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

    /// Wakes the threads whose awaited event is ready now. Called after every zmq call.
    @inline(__always) func settle(_ known: Int32? = nil) {
        guard !waiters.isEmpty else { return }
        let ev = known ?? events()
        guard ev != 0 else { return }
        for w in waiters where w.events & ev != 0 { w.thread.kernel.wake(w.thread, .ready(0)) }
    }

    /// After EAGAIN: true when ZMQ_EVENTS says `wanted` is ready after all (retry at once).
    func readyAfterAgain(_ wanted: Int32) -> Bool {
        let ev = events()
        settle(ev)
        return ev & wanted != 0
    }

    /// Parks the calling thread (`thread`, when the call already looked it up) until the
    /// socket may be ready for `wanted` or the socket's timeout (kept as a deadline at stack
    /// index `deadlineSlot`) passes.
    func park(_ lua: Lua, _ thread: LuaThread?, _ wanted: Int32, deadlineSlot: Int32, _ function: String) -> Int32 {
        guard let t = thread ?? Kernel.thread(lua) else { return Kernel.notInThread(lua, function) }
        let k = t.kernel
        k.waitIO(t, fd: fd, write: false, timeout: lua.remaining(timeout: timeout, slot: deadlineSlot),
                 slot: &watcher)
        k.addSource(t, self)
        waiters.append((t, wanted))
        return Status.yield()
    }

    func removeWaiter(_ t: LuaThread) {
        if let i = waiters.firstIndex(where: { $0.thread === t }) { waiters.remove(at: i) }
    }

    /// Returns false when it was already closed. Waiting threads wake and see it closed.
    @discardableResult func closeSocket() -> Bool {
        guard let h = handle else { return false }
        watcher?.release()
        watcher = nil
        for w in waiters { w.thread.kernel.wake(w.thread, .ready(0)) }
        waiters.removeAll()
        handle = nil
        fd = -1
        _ = zmq.close(h)
        return true
    }

    func close(_ lua: Lua) { closeSocket() }

    deinit { closeSocket() }
}
