import CLua
import CLibEvent
import CRatchetShims
import Glibc

/// The kernel: owns the libevent base, the live threads and the FIFO run queue.
///
/// libevent callbacks only mark threads ready (`wake`); the kernel resumes them after the
/// poll returns, in FIFO order, so Lua code never runs inside a libevent callback. Nothing
/// here knows what a socket is: event sources park threads through `park` and wake them
/// through `wake`.
public final class Kernel: LuaHandle {
    public static let metatableName: StaticString = "ratchet_meta"
    public static let shownName: StaticString = "ratchet kernel"

    @exclusivity(unchecked) public private(set) var base: OpaquePointer?
    /// The live threads (they are kept alive by this table).
    @exclusivity(unchecked) private var threads = ThreadTable()
    public var liveThreadCount: Int { threads.count }
    /// Unretained: every queued thread is alive, in `threads` or (once finished) in
    /// `finished`, so the run queue costs no reference counting per wake-up.
    @exclusivity(unchecked) private var runQueue: [Unmanaged<LuaThread>] = []
    @exclusivity(unchecked) private var runHead = 0
    /// Threads that ended, kept alive until no queue entry or running `step` can name them.
    @exclusivity(unchecked) private var finished: [LuaThread] = []
    /// The thread being resumed right now (kept alive by `threads` or `finished`).
    public var current: LuaThread? { currentRef?.takeUnretainedValue() }
    @exclusivity(unchecked) private var currentRef: Unmanaged<LuaThread>?
    /// Threads parked on something that can fire (I/O, timer, signal, DNS, child).
    @exclusivity(unchecked) private var pendingCount = 0
    /// Armed alarms: each will end its thread, so it is a pending event too (a thread that
    /// pauses with an alarm set is not deadlocked).
    @exclusivity(unchecked) private var armedAlarms = 0
    @exclusivity(unchecked) private var foregroundCount = 0
    @exclusivity(unchecked) var errorHandlerRef: Int32 = LUA_NOREF
    @exclusivity(unchecked) var spaceRef: Int32 = LUA_NOREF
    @exclusivity(unchecked) var breakRequested = false
    @exclusivity(unchecked) var running = false
    /// Whether `loop`/`loop_once` was ever called, and whether `ratchet.new` got an entry
    /// function: a kernel with an entry that never ran is a forgotten `loop()` (warned about).
    @exclusivity(unchecked) private var everRan = false
    @exclusivity(unchecked) var hasEntry = false
    /// Every I/O watcher on this base, by descriptor, so block_on and the handles share one.
    @exclusivity(unchecked) var watchers = WatcherTable()
    @exclusivity(unchecked) var signalWatchers: [Int32: SignalWatcher] = [:]
    /// This kernel's slot in the process-wide SignalRelay, once it has waited for a signal.
    @exclusivity(unchecked) var existingSignalReceiver: SignalReceiver?
    /// Threads parked with a zero timeout: they time out after the next non-blocking poll,
    /// without a libevent timer (sleep(0) is common and 100,000 timers in a heap are not free).
    @exclusivity(unchecked) private var zeroWaiters: [(LuaThread, UInt32)] = []
    /// Temporary watchers whose wait ended, freed once the poll has returned.
    @exclusivity(unchecked) private var retired: [IOWatcher] = []
    /// Resets and hang-ups of stream sockets whose readers skip recvs (created on first use).
    @exclusivity(unchecked) private var hangups: HangupMonitor?
    /// Extensions (DNS resolver, …) keep per-kernel state here, released on close.
    @exclusivity(unchecked) public var extensions: [ObjectIdentifier: KernelExtension] = [:]

    init?() {
        guard let b = event_base_new() else { return nil }
        base = b
        runQueue.reserveCapacity(64)
    }

    public var isClosed: Bool { base == nil }

    // MARK: finding the kernel and thread of a call

    private static let runningKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// The kernel whose loop is running in this Lua state, if any.
    public static func running(_ lua: Lua) -> Kernel? {
        lua_rawgetp(lua.L, LUA_REGISTRYINDEX, runningKey)
        let p = lua_touserdata(lua.L, -1)
        lua.pop()
        guard let p else { return nil }
        return Unmanaged<Kernel>.fromOpaque(p).takeUnretainedValue()
    }

    private static func setRunning(_ lua: Lua, _ p: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        lua_rawgetp(lua.L, LUA_REGISTRYINDEX, runningKey)
        let old = lua_touserdata(lua.L, -1)
        lua.pop()
        lua.push(lightUserdata: p)
        lua_rawsetp(lua.L, LUA_REGISTRYINDEX, runningKey)
        return old
    }

    /// The ratchet thread that is making this call, or nil on the main state, in a plain
    /// coroutine, or when no kernel runs. Blocking calls need one to park.
    @inline(__always) public static func thread(_ lua: Lua) -> LuaThread? {
        guard let p = ratchet_resumed(lua.L) else { return nil }
        return Unmanaged<LuaThread>.fromOpaque(p).takeUnretainedValue()
    }

    /// On resumption of a blocking call (`status` LUA_YIELD): true when its wait ended by
    /// timeout. Every blocking call checks this first and raises ETIMEDOUT.
    @inline(__always) public static func timedOut(_ lua: Lua, _ status: Int32) -> Bool {
        status == LUA_YIELD && withThread(lua, { $0.wake == .timeout }) == true
    }

    /// `body(the calling thread)`, borrowed without reference counting (for per-message
    /// calls), or nil where `thread` is nil.
    @inline(__always) public static func withThread<R>(_ lua: Lua, _ body: (LuaThread) -> R) -> R? {
        guard let p = ratchet_resumed(lua.L) else { return nil }
        return Unmanaged<LuaThread>.fromOpaque(p)._withUnsafeGuaranteedRef(body)
    }

    /// Runs `body` with `t` marked as the thread being resumed (this kernel's `current`, and
    /// the per-OS-thread mark `Kernel.thread` reads), then restores both, so a kernel run
    /// from inside another kernel's thread leaves the outer marks as they were.
    @inline(__always) private func asCurrent<R>(_ t: LuaThread, _ body: () -> R) -> R {
        let savedCurrent = currentRef
        let savedCo = ratchet_resumed_co()
        let savedMark = ratchet_resumed_any()
        currentRef = .passUnretained(t)
        ratchet_set_resumed(t.co, Unmanaged.passUnretained(t).toOpaque())
        // Lua code runs now: a host's memory limit applies again; its watchdog sees `t`.
        let inSwift = ratchet_enter_swift(0)
        let watched = ratchet_watch_enter(t.co)
        let r = body()
        ratchet_watch_leave(watched)
        _ = ratchet_enter_swift(inSwift)
        currentRef = savedCurrent
        ratchet_set_resumed(savedCo, savedMark)
        return r
    }

    /// The error every blocking call raises when it is not made from a ratchet thread.
    public static func notInThread(_ lua: Lua, _ function: String) -> Int32 {
        lua.raiseError(function, "EPERM", "\(function) must be called from inside a ratchet thread (see ratchet.new and ratchet.thread.attach).")
    }

    // MARK: threads

    /// Creates a thread running the function at `first` with the values above it as
    /// arguments (all are moved off the stack). Pushes nothing.
    @discardableResult
    func spawn(_ lua: Lua, first: Int32, background: Bool) -> LuaThread {
        let n = lua.top - first + 1
        let co = lua_newthread(lua.L)!
        let ref = lua.ref()
        lua_xmove(lua.L, co, n)
        let t = LuaThread(kernel: self, co: co, ref: ref, background: background)
        t.nargs = n - 1
        threads.insert(t)
        if !background { foregroundCount += 1 }
        enqueue(t)
        return t
    }

    @inline(__always) func enqueue(_ t: LuaThread) {
        guard !t.queued else { return }
        t.queued = true
        runQueue.append(.passUnretained(t))
    }

    /// The live thread of this kernel for the coroutine value at index `i`, if any.
    func thread(_ lua: Lua, at i: Int32) -> LuaThread? {
        guard let co = lua_tothread(lua.L, i) else { return nil }
        return threads.find(co)
    }

    // MARK: the one wait primitive

    /// Parks the running thread `t`. The caller has registered `t` with its sources (see
    /// `addSource`); `timeout` (seconds, nil or negative for none) arms the thread's timer.
    /// The caller then returns `Status.yield(ctx)`; on resumption `t.wake` says why.
    public func park(_ t: LuaThread, timeout: Double?, pending: Bool = true) {
        t.state = .waiting
        t.wake = .none
        t.countsAsPending = pending || (timeout ?? -1) >= 0
        if t.countsAsPending { pendingCount += 1 }
        t.waitGeneration &+= 1
        t.timer?.pointee.deadline = .infinity
        if let s = timeout, s >= 0 {
            if s == 0 { zeroWaiters.append((t, t.waitGeneration)) } else { armTimer(t, s) }
        }
    }

    /// Registers `source` as something `t` waits on; it is told to forget `t` on wake.
    @inline(__always) public func addSource(_ t: LuaThread, _ source: WaitSource) {
        t.sources.append(source)
    }

    /// The I/O watcher variant of `addSource`, without reference counting on the hot path.
    @inline(__always) func addIOSource(_ t: LuaThread, _ w: IOWatcher) {
        if t.ioSource == nil { t.ioSource = .passUnretained(w) } else { t.sources.append(w) }
    }

    /// Makes a waiting thread ready. Called from libevent callbacks and event sources.
    public func wake(_ t: LuaThread, _ why: LuaThread.Wake) {
        // A paused thread wakes only by unpause, or by the timer of a pause with a timeout.
        guard t.state == .waiting || (t.state == .paused && why == .timeout) else { return }
        clearWait(t)
        t.wake = why
        t.state = .ready
        enqueue(t)
    }

    /// Forgets everything a thread waits on (sources, timer, pending count).
    private func clearWait(_ t: LuaThread) {
        if let w = t.ioSource { t.ioSource = nil; w._withUnsafeGuaranteedRef { $0.removeWaiter(t) } }
        if t.hasSources {
            for s in t.sources { s.removeWaiter(t) }
            t.sources.removeAll(keepingCapacity: true)
        }
        t.timer?.pointee.deadline = .infinity   // the timer stays armed (lazily): see armTimer
        if t.countsAsPending { pendingCount -= 1; t.countsAsPending = false }
    }

    /// Arms the thread's timer for a wait of `seconds`. Lazily, as nginx does: a wait that
    /// ends before its timeout leaves the timer armed, and the next wait keeps it when it
    /// fires at most half a timeout early (it then re-arms for the rest, see timerFired):
    /// a connection that waits with the same timeout for every message pays an event_add
    /// and event_del per timeout instead of per message.
    private func armTimer(_ t: LuaThread, _ seconds: Double) {
        let due = monotonicSeconds() + seconds
        let timer: UnsafeMutablePointer<WaitTimer>
        if let existing = t.timer {
            timer = existing
        } else {
            timer = .allocate(capacity: 1)
            timer.initialize(to: WaitTimer(event: event_new(base, -1, 0, threadTimerFired, Unmanaged.passUnretained(t).toOpaque())))
            t.timer = timer
        }
        timer.pointee.deadline = due
        if timer.pointee.armed && timer.pointee.due <= due && due - timer.pointee.due <= seconds * 0.5 { return }
        var tv = timeval(seconds)
        event_add(timer.pointee.event, &tv)
        timer.pointee.due = due
        timer.pointee.armed = true
    }

    /// The thread's timer fired: a timeout if the thread still waits with this deadline,
    /// nothing for a timer left from an earlier wait, a re-arm when the wait's deadline is
    /// later than the timer kept for it (measured from the timer's own due time, so a wait
    /// times out exactly when a timer armed for it alone would have).
    fileprivate func timerFired(_ t: LuaThread) {
        guard let timer = t.timer else { return }
        timer.pointee.armed = false
        let deadline = timer.pointee.deadline
        guard t.state == .waiting || t.state == .paused, deadline != .infinity else { return }
        let rest = deadline - timer.pointee.due
        if rest <= 0 { wake(t, .timeout); return }
        var tv = timeval(rest)
        event_add(timer.pointee.event, &tv)
        timer.pointee.due = deadline
        timer.pointee.armed = true
    }

    /// pause(): waits with nothing registered; only `unpause` (or kill, alarm) ends it, or
    /// with a `timeout` (seconds; negative: none) the thread's timer, as for every timed wait.
    func pause(_ t: LuaThread, timeout: Double = -1) {
        if timeout >= 0 {
            park(t, timeout: timeout)
        } else {
            t.waitGeneration &+= 1  // a stale zero-timeout entry must not end this pause
            t.timer?.pointee.deadline = .infinity   // nor a timer kept from an earlier wait
        }
        t.state = .paused
        t.wake = .none
    }

    func unpause(_ t: LuaThread, from lua: Lua, values n: Int32) {
        clearWait(t)  // a pause with a timeout: its timer
        lua_xmove(lua.L, t.co, n)
        t.nargs = n
        t.state = .ready
        enqueue(t)
    }

    // MARK: running

    enum Step { case idle, ran, failed }

    /// One pass of the scheduler (the reference's loop_once). Returns false when no thread
    /// is left; on `.failed` the error to raise is on top of `lua`'s stack.
    func runOnce(_ lua: Lua, noblock: Bool) -> (more: Bool, failed: Bool) {
        if runHead < runQueue.count {
            return (true, !drain(lua))
        }
        if foregroundCount == 0 {
            killAll(lua)
            if runHead >= runQueue.count { finished.removeAll() }  // nothing can name them now
            return (false, false)
        }
        if pendingCount == 0 && armedAlarms == 0 {
            RatchetError.push(lua, description: "Non-IO deadlock detected.", code: "DEADLOCK",
                              function: "ratchet.loop_once()", callerLevel: 0)
            return (true, true)
        }
        let zero = !zeroWaiters.isEmpty
        let flags = EVLOOP_ONCE | (noblock || zero ? EVLOOP_NONBLOCK : 0)
        if event_base_loop(base, flags) < 0 {
            lua.push("libevent internal error." as StaticString)
            return (true, true)
        }
        if zero {
            let due = zeroWaiters
            zeroWaiters.removeAll(keepingCapacity: true)
            for (t, gen) in due where t.waitGeneration == gen { wake(t, .timeout) }
        }
        if !retired.isEmpty {
            for w in retired { w.detach() }
            retired.removeAll()
        }
        return (true, !drain(lua))
    }

    /// Resumes every ready thread in FIFO order, including those made ready meanwhile.
    /// Returns false with the error on top of `lua` if one must leave the loop.
    private func drain(_ lua: Lua) -> Bool {
        while runHead < runQueue.count {
            let ok = runQueue[runHead]._withUnsafeGuaranteedRef { t -> Bool in
                runHead += 1
                t.queued = false
                if t.state == .dead { return true }
                return step(t, lua)
            }
            if !ok {
                compactQueue()
                return false
            }
            // Threads that keep waking each other never let the queue empty: bound it.
            if runHead >= 4096 && runHead * 2 >= runQueue.count { compactQueue() }
        }
        runQueue.removeAll(keepingCapacity: true)
        runHead = 0
        if !finished.isEmpty { finished.removeAll(keepingCapacity: true) }
        return true
    }

    /// Drops the consumed part of the queue and its finished threads. Only between steps:
    /// then queue entries are the only references to finished threads.
    private func compactQueue() {
        if runHead > 0 {
            runQueue.removeFirst(runHead)
            runHead = 0
        }
        if !finished.isEmpty {
            runQueue.removeAll { $0._withUnsafeGuaranteedRef { $0.state == .dead } }
            finished.removeAll(keepingCapacity: true)
        }
    }

    /// Resumes one thread. Returns false when an error must leave the loop.
    private func step(_ t: LuaThread, _ lua: Lua) -> Bool {
        if t.alarmFired { return deliverAlarm(t, lua) }
        t.state = .running
        var nres: Int32 = 0
        let st = asCurrent(t) { lua_resume(t.co, lua.L, t.nargs, &nres) }
        t.nargs = 0
        switch st {
        case LUA_OK:
            // A coroutine that returned has closed its to-be-closed variables already; it
            // needs no lua_resetthread (which reallocates the stack), only its anchor dropped.
            lua_settop(t.co, 0)
            finish(t, lua, reset: false)
            lua.unref(t.ref)
            return true
        case LUA_YIELD:
            if nres > 0 { lua_settop(t.co, -nres - 1) }
            if t.killRequested {
                kill(t, lua)
                return true
            }
            if t.state == .running {
                kill(t, lua)
                lua.push("Illegal yield of a ratchet thread." as StaticString)
                return false
            }
            return true
        default:
            lua.pushRef(t.ref)
            lua_xmove(t.co, lua.L, 1)
            return failed(t, lua)
        }
    }

    /// A thread ended with an error: stack of `lua` is [..., thread, err]. Hands it to the
    /// error handler, or leaves err on top to be raised out of loop(). The handler sees the
    /// thread's stack as the error left it (`debug.traceback(thread)`); without one, the
    /// traceback is recorded for whoever prints the error (see ThreadFailure).
    private func failed(_ t: LuaThread, _ lua: Lua) -> Bool {
        finish(t, lua, reset: false)
        if errorHandlerRef != LUA_NOREF {
            lua.pushRef(errorHandlerRef)
            lua.pushValue(-2)  // err
            lua.pushValue(-4)  // thread
            let st = ThreadFailure.handling(lua, thread: -1) { lua.pcall(2, 0) }
            resetFailed(t)
            lua.unref(t.ref)
            if st != LUA_OK {
                lua.remove(-2); lua.remove(-2)
                return false
            }
            lua.pop(2)
            return true
        }
        ThreadFailure.record(lua, thread: -2, co: t.co, error: -1)
        resetFailed(t)
        lua.unref(t.ref)
        lua.remove(-2)
        return false
    }

    /// Closes a failed thread's to-be-closed variables and empties its stack: the reset
    /// leaves the error value there, and a coroutine with a value on its stack reads as
    /// "suspended"; a failed one must read "dead" for as long as anyone holds it.
    private func resetFailed(_ t: LuaThread) {
        lua_resetthread(t.co)
        lua_settop(t.co, 0)
    }

    /// Removes a thread from the live set: cancels what it waits on, its alarm, and tells
    /// its wait_all waiters. With `reset`, closes its pending to-be-closed variables and
    /// drops the registry anchor (the caller does it otherwise, when done with the stack).
    func finish(_ t: LuaThread, _ lua: Lua, reset: Bool = true) {
        guard t.state != .dead else { return }
        let wasQueued = t.queued
        if t.state == .waiting || t.state == .paused { clearWait(t) }
        t.state = .dead
        if wasQueued { t.queued = true }  // the queue skips dead threads
        if let a = t.alarm { event_del(a) }
        disarmAlarm(t)
        t.freeEvents()
        lua.unref(t.alarmCallbackRef); t.alarmCallbackRef = LUA_NOREF
        finished.append(t)
        threads.remove(t)
        if !t.background { foregroundCount -= 1 }
        if !t.joiners.isEmpty {
            for j in t.joiners where j.state == .joining {
                j.joinPending -= 1
                if j.joinPending == 0 { j.state = .ready; enqueue(j) }
            }
            t.joiners = []
        }
        if reset {
            _ = asCurrent(t) { lua_resetthread(t.co) }
            lua_settop(t.co, 0)  // an error of a __close stays there otherwise: "dead", not "suspended"
            lua.unref(t.ref)
        }
    }

    /// Stops a thread that is not running (or asked to stop itself), cancelling all its events.
    func kill(_ t: LuaThread, _ lua: Lua) {
        finish(t, lua)
    }

    func killAll(_ lua: Lua) {
        for t in threads.all { kill(t, lua) }
    }

    // MARK: alarms

    func setAlarm(_ t: LuaThread, seconds: Double, callback: Int32, lua: Lua) {
        if t.alarm == nil {
            t.alarm = event_new(base, -1, 0, threadAlarmFired, Unmanaged.passUnretained(t).toOpaque())
        } else {
            event_del(t.alarm)
        }
        lua.unref(t.alarmCallbackRef)
        t.alarmCallbackRef = callback
        t.alarmFired = false
        var tv = timeval(max(0, seconds))
        event_add(t.alarm, &tv)
        if !t.alarmArmed { t.alarmArmed = true; armedAlarms += 1 }
    }

    private func disarmAlarm(_ t: LuaThread) {
        if t.alarmArmed { t.alarmArmed = false; armedAlarms -= 1 }
    }

    func alarmFired(_ t: LuaThread) {
        disarmAlarm(t)
        guard t.state != .dead, t.state != .running else { return }
        if t.state == .waiting || t.state == .paused { clearWait(t) }
        t.alarmFired = true
        t.state = .ready
        enqueue(t)
    }

    /// Runs the alarm callback in the thread's context and ends the thread with ALARM (or
    /// the callback's error), which goes to the error handler like any thread error.
    private func deliverAlarm(_ t: LuaThread, _ lua: Lua) -> Bool {
        lua_resetthread(t.co)
        let co = Lua(t.co)
        var errorOnCo = false
        if t.alarmCallbackRef != LUA_NOREF {
            co.pushRef(t.alarmCallbackRef)
            errorOnCo = asCurrent(t) { co.pcall(0, 0) } != LUA_OK
        }
        if !errorOnCo {
            RatchetError.push(co, description: "Thread alarm!", code: "ALARM",
                              function: "ratchet.thread.alarm()", callerLevel: 0)
        }
        lua.pushRef(t.ref)
        lua_xmove(t.co, lua.L, 1)
        return failed(t, lua)
    }

    /// Forgets a temporary watcher whose wait ended. `retired` takes its reference before
    /// the table drops its own: the caller (its event callback, which borrows it) is still
    /// running on it.
    func retire(_ w: IOWatcher) {
        retired.append(w)
        if watchers[w.fd] === w { watchers[w.fd] = nil }
    }

    /// Starts telling `fd`'s watcher about a reset or hang-up (see HangupMonitor). False
    /// when that cannot be done: then its reader must always ask the kernel.
    func watchHangups(_ fd: Int32) -> Bool {
        if hangups == nil { hangups = HangupMonitor(kernel: self) }
        return hangups?.watch(fd) ?? false
    }

    // MARK: embedding

    private static let observerKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// Sets (nil: removes) the observer told about every kernel loop started in `lua`'s
    /// state. Unretained: the caller keeps it alive while it is set.
    public static func setObserver(_ lua: Lua, _ o: KernelObserver?) {
        if let o { lua.push(lightUserdata: Unmanaged.passUnretained(o as AnyObject).toOpaque()) } else { lua.pushNil() }
        lua_rawsetp(lua.L, LUA_REGISTRYINDEX, observerKey)
    }

    private static func observer(_ lua: Lua) -> KernelObserver? {
        lua_rawgetp(lua.L, LUA_REGISTRYINDEX, observerKey)
        let p = lua_touserdata(lua.L, -1)
        lua.pop()
        guard let p else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue() as? KernelObserver
    }

    /// Makes loop() return after the current step (what `kernel:break()` does), from the
    /// kernel's own thread (e.g. a libevent callback).
    public func requestBreak() { breakRequested = true }

    // MARK: closing

    /// `__gc` and `__close`: a kernel whose threads never ran is a script that forgot to
    /// call `loop()`, which would otherwise exit 0 having done nothing.
    public func close(_ lua: Lua) {
        if !isClosed && !everRan && hasEntry && liveThreadCount > 0 {
            Stderr.write("Lua warning: ratchet kernel closed with \(liveThreadCount) thread(s) that never ran (was loop() called?)\n")
        }
        closeKernel(lua)
    }

    /// `kernel:close()`: closing explicitly is the caller's decision, so no warning.
    func closeKernel(_ lua: Lua) {
        guard let b = base, !running else { return }
        killAll(lua)
        for w in watchers.values { w.detach() }
        hangups?.close()
        hangups = nil
        for w in retired { w.detach() }
        retired.removeAll()
        watchers.removeAll()
        for s in signalWatchers.values { s.detach() }
        signalWatchers.removeAll()
        existingSignalReceiver?.close()
        existingSignalReceiver = nil
        for e in extensions.values { e.kernelClosing() }
        extensions.removeAll()
        lua.unref(errorHandlerRef); errorHandlerRef = LUA_NOREF
        lua.unref(spaceRef); spaceRef = LUA_NOREF
        runQueue.removeAll()
        finished.removeAll()
        zeroWaiters.removeAll()
        runHead = 0
        base = nil
        event_base_free(b)
    }

    // MARK: loop entry points (used by the Lua methods)

    /// loop() / loop_once(): runs with this kernel marked as the running one.
    func run(_ lua: Lua, once: Bool, noblock: Bool) -> Int32 {
        guard !isClosed else { return lua.raise("ratchet kernel is closed") }
        guard !running else { return lua.raise("ratchet kernel is already running") }
        if let o = Kernel.observer(lua) { o.kernelWillRun(self, lua) }
        running = true
        everRan = true
        let saved = Kernel.setRunning(lua, Unmanaged.passUnretained(self).toOpaque())
        defer {
            running = false
            _ = Kernel.setRunning(lua, saved)
        }
        if once {
            let (more, failed) = runOnce(lua, noblock: noblock)
            if failed { return Status.raise }
            lua.push(more)
            return 1
        }
        while true {
            if breakRequested { breakRequested = false; break }
            let (more, failed) = runOnce(lua, noblock: false)
            if failed { return Status.raise }
            if !more { break }
        }
        return 0
    }
}

/// Told when a kernel's loop starts in a Lua state (see `Kernel.setObserver`): how an
/// embedding host attaches its own event sources to every kernel its scripts create.
public protocol KernelObserver: AnyObject {
    func kernelWillRun(_ kernel: Kernel, _ lua: Lua)
}

/// Per-kernel state of an event source (e.g. the DNS resolver's evdns base).
public protocol KernelExtension: AnyObject {
    func kernelClosing()
}

func timeval(_ seconds: Double) -> Glibc.timeval {
    let s = max(0, min(seconds, 1e9))
    let whole = s.rounded(.down)
    return Glibc.timeval(tv_sec: Int(whole), tv_usec: Int((s - whole) * 1e6))
}

private let threadTimerFired: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    let t = Unmanaged<LuaThread>.fromOpaque(arg!).takeUnretainedValue()
    t.kernel.timerFired(t)
}

private let threadAlarmFired: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    let t = Unmanaged<LuaThread>.fromOpaque(arg!).takeUnretainedValue()
    t.kernel.alarmFired(t)
}
