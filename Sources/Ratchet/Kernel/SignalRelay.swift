import CLibEvent
import CLinux
import CRatchetShims
import Glibc

/// The process-wide owner of the signals kernels wait for (sigwait, exec's SIGCHLD).
///
/// libevent keeps one process-wide signal pipe: of several event bases only the one that
/// added a signal or looped last is told ("Only one can have signals at a time"), so with two
/// kernels (two `ratchet.new` in one script, or hosts on several OS threads) one kernel's
/// `sigwait` or `exec` wait missed its signal and ran into its timeout, and the bases, which
/// saved and restored each other's handlers, could leave a signal with its default action
/// while a kernel still waited for it. libevent is therefore not used for signals.
///
/// Instead one handler (`ratchet_signal_relay`, C: it must be async-signal-safe) is
/// installed for a signal while at least one kernel waits for it, and the previous
/// disposition comes back when none does. Each such kernel holds a slot: an eventfd the
/// handler writes to and the set of signals it wants; its `SignalReceiver` reads the eventfd
/// through an ordinary libevent event and wakes its waiters. The counts below change under a
/// mutex, so kernels on several OS threads can come and go.
enum SignalRelay {
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    nonisolated(unsafe) private static var slotUsed = [Bool](repeating: false, count: Int(RATCHET_SIGNAL_SLOTS))
    /// Kernels waiting for each signal, and the disposition found when the first one began.
    nonisolated(unsafe) private static var waitingKernels = [Int](repeating: 0, count: 65)
    nonisolated(unsafe) private static var previous = Array<sigaction>(repeating: sigaction(), count: 65)

    private static func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    /// A free slot published with `fd`, or nil when every slot is taken.
    static func claimSlot(fd: Int32) -> Int32? {
        locked {
            guard let i = slotUsed.firstIndex(of: false) else { return nil }
            slotUsed[i] = true
            ratchet_signal_slot(Int32(i), fd)
            return Int32(i)
        }
    }

    /// Retires `slot` (after it the handler no longer writes to its eventfd).
    static func releaseSlot(_ slot: Int32) {
        ratchet_signal_slot(slot, -1)
        locked { slotUsed[Int(slot)] = false }
    }

    /// One more kernel waits for `signum`: the relay's handler is installed if it is the
    /// first. False when the signal cannot be caught (SIGKILL, SIGSTOP, out of range).
    static func begin(_ signum: Int32) -> Bool {
        guard signum >= 1 && signum <= 64 else { return false }
        return locked {
            if waitingKernels[Int(signum)] == 0 {
                var sa = sigaction()
                sa.__sigaction_handler.sa_handler = ratchet_signal_relay
                sigfillset(&sa.sa_mask)
                sa.sa_flags = SA_RESTART
                guard sigaction(signum, &sa, &previous[Int(signum)]) == 0 else { return false }
            }
            waitingKernels[Int(signum)] += 1
            return true
        }
    }

    /// A kernel no longer waits for `signum`: the previous disposition returns after the last.
    static func end(_ signum: Int32) {
        locked {
            waitingKernels[Int(signum)] -= 1
            if waitingKernels[Int(signum)] == 0 { sigaction(signum, &previous[Int(signum)], nil) }
        }
    }
}

/// One kernel's end of the relay: its slot, eventfd and libevent event, created when the
/// kernel first waits for a signal, and the signals it currently waits for.
final class SignalReceiver {
    private unowned(unsafe) let kernel: Kernel
    private let fd: Int32
    private let slot: Int32
    private var event: OpaquePointer?
    private var wanted: UInt64 = 0

    init?(kernel: Kernel) {
        let fd = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard fd >= 0 else { return nil }
        guard let slot = SignalRelay.claimSlot(fd: fd) else { Glibc.close(fd); return nil }
        self.kernel = kernel
        self.fd = fd
        self.slot = slot
        event = event_new(kernel.base, fd, Int16(EV_READ | EV_PERSIST), signalReceived,
                          Unmanaged.passUnretained(self).toOpaque())
        guard event != nil, event_add(event, nil) == 0 else { close(); return nil }
    }

    private static func bit(_ signum: Int32) -> UInt64 { 1 << UInt64(signum - 1) }

    /// Starts receiving `signum`. False when it cannot be caught.
    func want(_ signum: Int32) -> Bool {
        if wanted & Self.bit(signum) != 0 { return true }
        guard SignalRelay.begin(signum) else { return false }
        wanted |= Self.bit(signum)
        ratchet_signal_want(slot, wanted)
        return true
    }

    /// Stops receiving `signum` (nobody in this kernel waits for it any more).
    func unwant(_ signum: Int32) {
        guard wanted & Self.bit(signum) != 0 else { return }
        wanted &= ~Self.bit(signum)
        ratchet_signal_want(slot, wanted)
        SignalRelay.end(signum)
    }

    fileprivate func received() {
        var count: UInt64 = 0
        _ = read(fd, &count, 8)
        var caught = ratchet_signal_take(slot)
        while caught != 0 {
            let signum = Int32(caught.trailingZeroBitCount) + 1
            caught &= caught - 1
            kernel.signalWatchers[signum]?.fired()
        }
    }

    /// Gives the slot back, ends every wait, frees the event and the eventfd (kernel closing).
    func close() {
        SignalRelay.releaseSlot(slot)
        var w = wanted
        while w != 0 {
            SignalRelay.end(Int32(w.trailingZeroBitCount) + 1)
            w &= w - 1
        }
        wanted = 0
        if let e = event { event_free(e); event = nil }
        Glibc.close(fd)
    }
}

private let signalReceived: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    Unmanaged<SignalReceiver>.fromOpaque(arg!)._withUnsafeGuaranteedRef { $0.received() }
}

/// The threads of one kernel waiting for one signal (sigwait, exec's wait for SIGCHLD). The
/// kernel receives the signal only while someone waits, so its disposition returns after.
public final class SignalWatcher: WaitSource {
    let signum: Int32
    unowned(unsafe) let kernel: Kernel
    @exclusivity(unchecked) private var waiters: [LuaThread] = []

    init(kernel: Kernel, signum: Int32) {
        self.kernel = kernel
        self.signum = signum
    }

    /// Makes `t` wait for the signal (the caller parks it). False, with nothing registered,
    /// when the signal cannot be caught.
    @discardableResult
    public func add(_ t: LuaThread) -> Bool {
        if waiters.isEmpty {
            guard kernel.signalReceiver?.want(signum) == true else { return false }
        }
        waiters.append(t)
        kernel.addSource(t, self)
        return true
    }

    public func removeWaiter(_ t: LuaThread) {
        if let i = waiters.firstIndex(where: { $0 === t }) { waiters.remove(at: i) }
        if waiters.isEmpty { kernel.existingSignalReceiver?.unwant(signum) }
    }

    fileprivate func fired() {
        while let t = waiters.popLast() { kernel.wake(t, .signal) }
        kernel.existingSignalReceiver?.unwant(signum)
    }

    func detach() { waiters.removeAll() }
}

extension Kernel {
    /// This kernel's end of the signal relay, created when it first waits for a signal.
    var signalReceiver: SignalReceiver? {
        if existingSignalReceiver == nil && !isClosed { existingSignalReceiver = SignalReceiver(kernel: self) }
        return existingSignalReceiver
    }

    public func signalWatcher(_ signum: Int32) -> SignalWatcher {
        if let s = signalWatchers[signum] { return s }
        let s = SignalWatcher(kernel: self, signum: signum)
        signalWatchers[signum] = s
        return s
    }
}
