import CLibEvent
import Glibc

/// Readiness of one file descriptor on one kernel, shared by every object using that fd.
///
/// Reads use one persistent edge-triggered event, added at the first wait and kept while the
/// descriptor lives: a thread tries its operation first and waits only on EAGAIN, so an edge
/// that arrives while nobody waits is harmless, and no epoll_ctl is paid per message.
/// Writes wait rarely (only on a full buffer), so their edge-triggered event is one-shot.
public final class IOWatcher: WaitSource {
    // Every idle connection has one: the object is kept at 64 bytes (an 80-byte malloc
    // chunk) by moving write waits and extra waiters, which are rare, to `more`.
    public let fd: Int32
    @exclusivity(unchecked) var detached = false
    /// Not owned by a ratchet handle (block_on on a foreign object): freed after its wait.
    @exclusivity(unchecked) var temporary = false
    /// False once a read came back short (the buffer is drained) until the next read edge.
    /// Lets a reader park without a recv that would only say EAGAIN: one syscall saved per
    /// message. Only meaningful while the read event is registered (`readArmed`).
    @exclusivity(unchecked) public var readReady = true
    /// The peer shut down (EPOLLRDHUP) or the connection was reset or hung up (the kernel's
    /// HangupMonitor), or that cannot be learnt: sticky, since no further edge will come, and
    /// a reader must always ask the kernel.
    @exclusivity(unchecked) public private(set) var peerClosed = false
    /// Whether the kernel's HangupMonitor reports this descriptor's resets and hang-ups,
    /// which the read event does not (libevent maps EPOLLERR to a plain EV_READ).
    @exclusivity(unchecked) private var hangupsWatched = false
    /// Unmanaged so the wake-up path borrows the kernel without reference counting.
    let kernelRef: Unmanaged<Kernel>
    var kernel: Kernel { kernelRef.takeUnretainedValue() }
    @exclusivity(unchecked) private var readEvent: OpaquePointer?
    /// The usual single reader lives in a slot (no array traffic or reference counting per
    /// message). Unretained: a thread leaves every watcher (clearWait) before it can go
    /// away. Unmanaged rather than unowned(unsafe), whose every read retains and releases.
    @exclusivity(unchecked) private var reader: Unmanaged<LuaThread>?
    @exclusivity(unchecked) private var readerToken = 0
    @exclusivity(unchecked) private var more: Overflow?

    /// Writers (a thread waits to write only on a full buffer) and further readers
    /// (block_on beside a recv).
    private final class Overflow {
        @exclusivity(unchecked) var writeEvent: OpaquePointer?
        @exclusivity(unchecked) var writer: Unmanaged<LuaThread>?
        @exclusivity(unchecked) var writerToken = 0
        @exclusivity(unchecked) var readers: [(LuaThread, Int)] = []
        @exclusivity(unchecked) var writers: [(LuaThread, Int)] = []
        var idle: Bool { writer == nil && readers.isEmpty && writers.isEmpty }
    }

    private var overflow: Overflow {
        if let o = more { return o }
        let o = Overflow()
        more = o
        return o
    }

    public var readArmed: Bool { readEvent != nil && !detached }

    init(kernel: Kernel, fd: Int32) {
        self.kernelRef = .passUnretained(kernel)
        self.fd = fd
    }

    /// Registers `t` for readability (or writability) with `token`, reported as `.ready(token)`.
    public func add(_ t: LuaThread, write: Bool, token: Int = 0) {
        guard !detached else { return }
        let me = Unmanaged.passUnretained(self).toOpaque()
        if write {
            let o = overflow
            if o.writeEvent == nil {
                o.writeEvent = event_new(kernel.base, fd, Int16(EV_WRITE | EV_ET), ioWatcherFired, me)
            }
            if o.writer == nil && o.writers.isEmpty { event_add(o.writeEvent, nil) }
            if o.writer == nil { o.writer = .passUnretained(t); o.writerToken = token } else { o.writers.append((t, token)) }
        } else {
            if readEvent == nil {
                readEvent = event_new(kernel.base, fd, Int16(EV_READ | EV_ET | EV_PERSIST | EV_CLOSED), ioWatcherFired, me)
                event_add(readEvent, nil)
            }
            if reader == nil { reader = .passUnretained(t); readerToken = token } else { overflow.readers.append((t, token)) }
        }
        kernelRef._withUnsafeGuaranteedRef { $0.addIOSource(t, self) }
    }

    /// Whether a socket's cached watcher can still be used by kernel `k`.
    @inline(__always) func serves(_ k: Kernel) -> Bool { !detached && kernelRef.toOpaque() == Unmanaged.passUnretained(k).toOpaque() }

    /// Wakes `t` (borrowed: no reference counting on the hot path).
    @inline(__always) private func wake(_ t: Unmanaged<LuaThread>, _ token: Int) {
        kernelRef._withUnsafeGuaranteedRef { k in t._withUnsafeGuaranteedRef { k.wake($0, .ready(token)) } }
    }

    private var idle: Bool { reader == nil && (more?.idle ?? true) }

    /// Whether a thread waits for readability.
    public var hasReaders: Bool { reader != nil || !(more?.readers.isEmpty ?? true) }

    /// Wakes the readers whose token passes `ready`. For a descriptor whose readability stands
    /// for several conditions (ZMQ_FD), the owner wakes the threads whose condition holds.
    public func wakeReaders(where ready: (Int) -> Bool) {
        if let t = reader, ready(readerToken) { reader = nil; wake(t, readerToken) }
        guard let o = more else { return }
        var i = o.readers.count
        while i > 0 {
            i -= 1
            guard i < o.readers.count, ready(o.readers[i].1) else { continue }
            let (t, token) = o.readers.remove(at: i)
            kernel.wake(t, .ready(token))
        }
    }

    public func removeWaiter(_ t: LuaThread) {
        let me = Unmanaged.passUnretained(t).toOpaque()
        if reader?.toOpaque() == me { reader = nil }
        if let o = more {
            if !o.readers.isEmpty, let i = o.readers.firstIndex(where: { $0.0 === t }) { o.readers.remove(at: i) }
            var wrote = false
            if o.writer?.toOpaque() == me { o.writer = nil; wrote = true }
            else if !o.writers.isEmpty, let i = o.writers.firstIndex(where: { $0.0 === t }) { o.writers.remove(at: i); wrote = true }
            if wrote && o.writer == nil && o.writers.isEmpty, let w = o.writeEvent { event_del(w) }
        }
        // Freed after the poll returns: this may run inside the event's own callback.
        if temporary && idle { kernel.retire(self) }
    }

    /// Whether a reader may park without a recv after a short one: the buffer is drained and
    /// any reset or hang-up will still be reported. The first time, the descriptor joins the
    /// kernel's HangupMonitor (one epoll_ctl per connection).
    @inline(__always) public var mayParkWithoutRead: Bool {
        guard readArmed, !readReady, !peerClosed else { return false }
        if hangupsWatched { return true }
        hangupsWatched = kernel.watchHangups(fd)
        if !hangupsWatched { peerClosed = true }
        return hangupsWatched
    }

    /// The HangupMonitor saw a reset or hang-up: readers must read (and see the error or
    /// EOF) from now on.
    func hungUp() {
        guard !detached else { return }
        peerClosed = true
        readReady = true
        wakeReaders()
    }

    fileprivate func fired(_ what: Int32) {
        if what & Int32(EV_CLOSED) != 0 { peerClosed = true }
        if what & Int32(EV_READ | EV_CLOSED) != 0 {
            readReady = true
            wakeReaders()
        }
        if what & Int32(EV_WRITE) != 0 { wakeWriters() }
    }

    private func wakeReaders() {
        if let t = reader { reader = nil; wake(t, readerToken) }
        guard let o = more else { return }
        while let (t, token) = o.readers.popLast() { kernel.wake(t, .ready(token)) }
    }

    private func wakeWriters() {
        guard let o = more else { return }
        if let t = o.writer { o.writer = nil; wake(t, o.writerToken) }
        while let (t, token) = o.writers.popLast() { kernel.wake(t, .ready(token)) }
    }

    /// Wakes every waiter (so they retry and see the descriptor is gone), frees the events
    /// and forgets this watcher. Called before the descriptor is closed.
    public func release() {
        guard !detached else { return }
        wakeReaders()
        wakeWriters()
        if kernel.watchers[fd] === self { kernel.watchers[fd] = nil }
        detach()
    }

    /// Frees the events without touching the kernel (the kernel is closing).
    func detach() {
        guard !detached else { return }
        detached = true
        if let e = readEvent { event_free(e); readEvent = nil }
        if let e = more?.writeEvent { event_free(e); more?.writeEvent = nil }
    }
}

private let ioWatcherFired: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, what, arg in
    Unmanaged<IOWatcher>.fromOpaque(arg!)._withUnsafeGuaranteedRef { $0.fired(Int32(what)) }
}

extension Kernel {
    /// Called by every handle before it closes `fd`: releases the handle's own watcher and
    /// any other watcher the running kernel keeps for that number (a block_on's), so their
    /// events leave epoll and their waiters wake while the number is still this handle's.
    public static func forgetDescriptor(_ fd: Int32, watcher: inout IOWatcher?, lua: Lua?) {
        watcher?.release()
        watcher = nil
        if let lua, let k = Kernel.running(lua), let w = k.watchers[fd] { w.release() }
    }

    /// The watcher for `fd` on this kernel, created on first use.
    public func watcher(fd: Int32) -> IOWatcher {
        if let w = watchers[fd] { w.temporary = false; return w }
        let w = IOWatcher(kernel: self, fd: fd)
        watchers[fd] = w
        return w
    }

    /// Parks `t` until `fd` is readable (or writable) or `timeout` seconds pass. The handle
    /// keeps the watcher in `slot` so that it can release it before closing the descriptor.
    /// The thread wakes with `.ready(token)`.
    public func waitIO(_ t: LuaThread, fd: Int32, write: Bool, timeout: Double, slot: inout IOWatcher?,
                       token: Int = 0) {
        // Optional chaining borrows the cached watcher: no retain/release per wait.
        if slot?.serves(self) != true { slot = watcher(fd: fd) }
        slot?.add(t, write: write, token: token)
        park(t, timeout: timeout)
    }

    /// The handle's watcher in `slot` if it belongs to this kernel, else this kernel's
    /// watcher for `fd`, stored in `slot`. For handles that wait on several fds at once.
    public func watcher(fd: Int32, slot: inout IOWatcher?) -> IOWatcher {
        if let s = slot, s.serves(self) { return s }
        let w = watcher(fd: fd)
        slot = w
        return w
    }
}

/// A kernel's watchers by descriptor. Descriptors are small dense integers, so an array
/// indexed by fd is smaller and cheaper than a dictionary (one entry per connection).
struct WatcherTable {
    private var byFD: [IOWatcher?] = []

    subscript(fd: Int32) -> IOWatcher? {
        get { fd >= 0 && Int(fd) < byFD.count ? byFD[Int(fd)] : nil }
        set {
            guard fd >= 0 else { return }
            let i = Int(fd)
            if i >= byFD.count {
                guard newValue != nil else { return }
                byFD.append(contentsOf: repeatElement(nil, count: max(i + 1 - byFD.count, byFD.count)))
            }
            byFD[i] = newValue
        }
    }

    var values: [IOWatcher] { byFD.compactMap { $0 } }

    mutating func removeAll() { byFD.removeAll() }
}
