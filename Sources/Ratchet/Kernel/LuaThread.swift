import CLua
import CLibEvent

/// One ratchet thread: a Lua coroutine plus what the kernel knows about it.
public final class LuaThread {
    public enum State { case ready, running, waiting, paused, joining, dead }
    /// Why a waiting thread was woken; read by the Swift function that parked it.
    public enum Wake: Equatable { case none, ready(Int), timeout, signal }

    // Every idle connection has one of these, so the object is kept at 88 bytes (a 96-byte
    // malloc chunk): rarely used state lives in `rare`, created on first use, and `wake` is
    // packed into one word.
    /// Unmanaged so blocking calls borrow the kernel without reference counting.
    let kernelRef: Unmanaged<Kernel>
    var kernel: Kernel { kernelRef.takeUnretainedValue() }
    public let co: OpaquePointer
    /// The I/O watcher the thread is parked on (the usual wait), unretained: watchers
    /// outlive their waits. Other sources are in `rare.sources`.
    @exclusivity(unchecked) var ioSource: Unmanaged<IOWatcher>?
    /// The per-thread timeout timer, created on the first wait with a timeout (Kernel.armTimer).
    @exclusivity(unchecked) var timer: UnsafeMutablePointer<WaitTimer>?
    @exclusivity(unchecked) private var rare: RareState?
    /// `wake`, packed: a token (>= 0) for .ready, or one of the negative codes below.
    @exclusivity(unchecked) private var wakeWord = LuaThread.wakeNone
    @exclusivity(unchecked) var ref: Int32
    /// Values pushed on the coroutine's stack for the next resume.
    @exclusivity(unchecked) var nargs: Int32 = 0
    /// Bumped on every park, so a stale zero-timeout entry cannot wake a later wait.
    @exclusivity(unchecked) var waitGeneration: UInt32 = 0
    @exclusivity(unchecked) var state: State = .ready
    @exclusivity(unchecked) var background: Bool
    @exclusivity(unchecked) var queued = false
    /// Counts toward deadlock detection: a thread parked on something that can fire.
    @exclusivity(unchecked) var countsAsPending = false
    @exclusivity(unchecked) var killRequested = false

    init(kernel: Kernel, co: OpaquePointer, ref: Int32, background: Bool) {
        self.kernelRef = .passUnretained(kernel)
        self.co = co
        self.ref = ref
        self.background = background
    }

    private static let wakeNone = -1, wakeTimeout = -2, wakeSignal = -3

    /// Why the thread last woke. Tokens of `.ready` are never negative.
    public internal(set) var wake: Wake {
        @inline(__always) get {
            switch wakeWord {
            case LuaThread.wakeNone: return .none
            case LuaThread.wakeTimeout: return .timeout
            case LuaThread.wakeSignal: return .signal
            default: return .ready(wakeWord)
            }
        }
        @inline(__always) set {
            switch newValue {
            case .none: wakeWord = LuaThread.wakeNone
            case .timeout: wakeWord = LuaThread.wakeTimeout
            case .signal: wakeWord = LuaThread.wakeSignal
            case .ready(let token): wakeWord = max(0, token)
            }
        }
    }

    /// Alarm, wait_all and multi-source state: few threads ever use it.
    private final class RareState {
        var sources: [WaitSource] = []
        var alarm: OpaquePointer?
        var alarmCallbackRef: Int32 = LUA_NOREF
        var alarmFired = false
        /// Set while the alarm event is added (counted in the kernel's armed alarms).
        var alarmArmed = false
        var joiners: [LuaThread] = []
        var joinPending: Int32 = 0
    }

    private var rareState: RareState {
        if let r = rare { return r }
        let r = RareState()
        rare = r
        return r
    }

    /// What the thread is parked on besides `ioSource`; each is told to forget it on wake.
    var sources: [WaitSource] {
        get { rare?.sources ?? [] }
        _modify { yield &rareState.sources }
    }
    var hasSources: Bool { @inline(__always) get { rare.map { !$0.sources.isEmpty } ?? false } }
    var alarm: OpaquePointer? {
        get { rare?.alarm }
        set { if newValue != nil || rare != nil { rareState.alarm = newValue } }
    }
    var alarmCallbackRef: Int32 {
        get { rare?.alarmCallbackRef ?? LUA_NOREF }
        set { if newValue != LUA_NOREF || rare != nil { rareState.alarmCallbackRef = newValue } }
    }
    var alarmFired: Bool {
        @inline(__always) get { rare?.alarmFired ?? false }
        set { if newValue || rare != nil { rareState.alarmFired = newValue } }
    }
    var alarmArmed: Bool {
        @inline(__always) get { rare?.alarmArmed ?? false }
        set { if newValue || rare != nil { rareState.alarmArmed = newValue } }
    }
    /// wait_all: who waits for this one.
    var joiners: [LuaThread] {
        get { rare?.joiners ?? [] }
        _modify { yield &rareState.joiners }
    }
    /// wait_all: how many threads this one still waits for.
    var joinPending: Int32 {
        get { rare?.joinPending ?? 0 }
        set { if newValue != 0 || rare != nil { rareState.joinPending = newValue } }
    }

    func freeEvents() {
        if let t = timer { event_free(t.pointee.event); t.deallocate(); timer = nil }
        if let a = alarm { event_free(a); alarm = nil }
    }
}

/// A thread's timeout timer, kept lazily across waits (see Kernel.armTimer); allocated on
/// the thread's first wait with a timeout, so threads that never use one do not pay for it.
struct WaitTimer {
    let event: OpaquePointer
    /// Whether the event is pending, and when it fires (monotonicSeconds()).
    var armed = false
    var due: Double = 0
    /// When the current wait times out; infinity when it has no timeout or has ended.
    var deadline: Double = .infinity
}

/// Anything a thread can be parked on. When the thread wakes for any reason, every source
/// it was registered with is told to drop it; this is the one wait primitive's contract.
public protocol WaitSource: AnyObject {
    func removeWaiter(_ t: LuaThread)
}
