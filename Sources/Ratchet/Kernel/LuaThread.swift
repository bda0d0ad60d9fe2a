import CLua
import CLibEvent

/// One ratchet thread: a Lua coroutine plus what the kernel knows about it.
public final class LuaThread {
    public enum State { case ready, running, waiting, paused, joining, dead }
    /// Why a waiting thread was woken; read by the Swift function that parked it.
    public enum Wake: Equatable { case none, ready(Int), timeout, signal }

    // Fields are grouped by size so the object packs tightly: every idle connection has one.
    /// Unmanaged so blocking calls borrow the kernel without reference counting.
    let kernelRef: Unmanaged<Kernel>
    var kernel: Kernel { kernelRef.takeUnretainedValue() }
    public let co: OpaquePointer
    /// What the thread is parked on; each is told to forget it when it wakes. The first I/O
    /// watcher has its own unowned slot (watchers outlive their waits), the rest an array.
    var ioSource: Unmanaged<IOWatcher>?
    var sources: [WaitSource] = []
    /// The per-thread timeout timer and alarm, created on first use.
    var timer: OpaquePointer?
    var alarm: OpaquePointer?
    /// wait_all: who waits for this one.
    var joiners: [LuaThread] = []
    public internal(set) var wake: Wake = .none
    var ref: Int32
    /// Values pushed on the coroutine's stack for the next resume.
    var nargs: Int32 = 0
    var alarmCallbackRef: Int32 = LUA_NOREF
    /// Bumped on every park, so a stale zero-timeout entry cannot wake a later wait.
    var waitGeneration: UInt32 = 0
    /// wait_all: how many threads this one still waits for.
    var joinPending: Int32 = 0
    var state: State = .ready
    var background: Bool
    var queued = false
    /// Counts toward deadlock detection: a thread parked on something that can fire.
    var countsAsPending = false
    var alarmFired = false
    var killRequested = false
    var timerArmed = false

    init(kernel: Kernel, co: OpaquePointer, ref: Int32, background: Bool) {
        self.kernelRef = .passUnretained(kernel)
        self.co = co
        self.ref = ref
        self.background = background
    }

    func freeEvents() {
        if let t = timer { event_free(t); timer = nil }
        if let a = alarm { event_free(a); alarm = nil }
    }
}

/// Anything a thread can be parked on. When the thread wakes for any reason, every source
/// it was registered with is told to drop it; this is the one wait primitive's contract.
public protocol WaitSource: AnyObject {
    func removeWaiter(_ t: LuaThread)
}
