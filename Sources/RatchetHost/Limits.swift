import CLua
import CRatchetShims
import Glibc

/// The instruction and time limits around one run/call (the memory limit is the state's
/// allocator, always on). The checks themselves are in the C shim: the count hook must
/// raise, which Swift must not.
enum Limits {
    static func running(_ host: LuaHost, _ body: () -> Int32) -> Int32 {
        let lim = host.limits
        lim.pointee.hit = 0
        lim.pointee.expired = 0
        lim.pointee.stopped = 0
        host.asyncCalls.mailbox.clearStop()
        if let n = host.configuration.instructionLimit {
            // The hook is per coroutine; coroutines copy it from their creator, so every
            // ratchet thread the run starts counts into the same budget (the extra space).
            let step = Int32(clamping: max(1, min(n, 1000)))
            lim.pointee.instruction_limited = 1
            lim.pointee.instructions_left = Int64(n)
            lim.pointee.count_step = step
            lua_sethook(host.L, ratchet_limit_hook, LUA_MASKCOUNT, step)
        }
        let oldSlot = ratchet_watch_install(host.watchSlot)
        if let seconds = host.configuration.timeLimit { host.watchdog?.arm(after: seconds, host) }
        let inSwift = ratchet_enter_swift(0)  // Lua code runs: the memory limit applies
        let status = body()
        _ = ratchet_enter_swift(inSwift)
        host.watchdog?.disarm()
        _ = ratchet_watch_install(oldSlot)
        lim.pointee.instruction_limited = 0
        lua_sethook(host.L, nil, 0, 0)
        return status
    }
}

extension LuaHost {
    /// Stops the run or call in progress from any thread: it throws LuaError with code
    /// "ESTOPPED". Lua code that is executing stops at its next instruction; a kernel idle
    /// in its poll is woken (the host's eventfd) and leaves its loop.
    public func stop() {
        limits.pointee.stopped = 1
        limits.pointee.expired = 1
        ratchet_watch_arm(watchSlot, L)
        asyncCalls.mailbox.postStop()  // a kernel idle in its poll wakes and leaves its loop
    }
}

/// A thread per host with a time limit: sleeps until the deadline of the run in progress,
/// then arms the count hook (on the main state and the coroutine the kernel is resuming)
/// and wakes a kernel idle in its poll. Until then Lua runs at full speed.
final class Watchdog: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var deadline: timespec?
    private var target: (slot: UnsafeMutableRawPointer, L: OpaquePointer, limits: UnsafeMutablePointer<ratchet_limits>,
                         mailbox: Mailbox)?
    private var quit = false
    private var thread = pthread_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(&cond, &attr)
        pthread_condattr_destroy(&attr)
        let me = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { p in
            let w = Unmanaged<Watchdog>.fromOpaque(p!).takeRetainedValue()
            w.loop()
            return nil
        }, me)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    func arm(after seconds: Double, _ host: LuaHost) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let s = max(0, min(seconds, 1e9))
        var ns = now.tv_nsec + Int((s - s.rounded(.down)) * 1e9)
        var sec = now.tv_sec + Int(s.rounded(.down))
        if ns >= 1_000_000_000 { ns -= 1_000_000_000; sec += 1 }
        pthread_mutex_lock(&mutex)
        deadline = timespec(tv_sec: sec, tv_nsec: ns)
        target = (host.watchSlot, host.L, host.limits, host.asyncCalls.mailbox)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    /// Returns once the watchdog cannot touch the state any more.
    func disarm() {
        pthread_mutex_lock(&mutex)
        deadline = nil
        target = nil
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
    }

    func shutDown() {
        pthread_mutex_lock(&mutex)
        quit = true
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&mutex)
        pthread_join(thread, nil)
    }

    private func loop() {
        pthread_mutex_lock(&mutex)
        while !quit {
            guard var d = deadline else { pthread_cond_wait(&cond, &mutex); continue }
            if pthread_cond_timedwait(&cond, &mutex, &d) == ETIMEDOUT, let t = target, deadline != nil {
                // Still armed and past the deadline (the lock keeps disarm from returning
                // while the hook is being armed).
                t.limits.pointee.expired = 1
                ratchet_watch_arm(t.slot, t.L)
                t.mailbox.postStop()  // a kernel idle in its poll wakes and leaves its loop
                deadline = nil
            }
        }
        pthread_mutex_unlock(&mutex)
    }
}
