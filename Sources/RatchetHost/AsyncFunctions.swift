import CLua
import CLibEvent
import CLinux
import CRatchetShims
import Ratchet
import Glibc

extension LuaHost {
    /// Makes an async Swift function callable from Lua as `module.name`. Called from a
    /// ratchet thread it suspends only that thread while the Swift task runs; the kernel
    /// keeps running the others and resumes the thread with the results (or raises the
    /// error in it) when the task finishes. Killing the thread cancels the task. Called
    /// outside a ratchet thread it raises an EPERM ratchet error.
    public func register(_ name: String, in module: String,
                         _ function: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue]) {
        register(HostFunction(name: name, host: self, async: function), in: module)
    }
}

extension HostFunction {
    /// First call of an async function: start its task and park the calling thread.
    func startAsync(_ lua: Lua, _ body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue],
                    _ args: [LuaValue]) -> Int32 {
        guard let t = Kernel.thread(lua), let k = Kernel.running(lua) else { return Kernel.notInThread(lua, name) }
        let pending = host.asyncCalls.start(body, args, thread: t, kernel: k)
        k.addSource(t, pending)
        k.park(t, timeout: nil, pending: true)
        return Status.yield()
    }

    /// The thread resumed: deliver the task's outcome.
    func resumeAsync(_ lua: Lua) -> Int32 {
        guard let t = Kernel.thread(lua), let outcome = host.asyncCalls.takeOutcome(t) else {
            return lua.raise("\(name): resumed without a result")
        }
        return deliver(lua, outcome)
    }
}

/// One call of an async function in flight: the thread waits on it (a WaitSource).
final class PendingCall: WaitSource {
    let token: Int
    let thread: LuaThread
    let kernel: Kernel
    unowned let calls: AsyncCalls
    var task: Task<Void, Never>?
    var outcome: Result<[LuaValue], Error>?

    init(token: Int, thread: LuaThread, kernel: Kernel, calls: AsyncCalls) {
        self.token = token
        self.thread = thread
        self.kernel = kernel
        self.calls = calls
    }

    /// The thread woke: by our outcome (kept for the resumption) or by anything else
    /// (killed, its kernel closing), which cancels the task.
    func removeWaiter(_ t: LuaThread) {
        calls.pending[token] = nil
        if outcome == nil { task?.cancel() }
    }
}

/// A host's async calls: the tasks in flight and the mailbox their results come back
/// through. Every kernel a script runs gets an event on the mailbox's eventfd (the
/// KernelObserver hook), so whichever kernel is polling wakes up.
final class AsyncCalls: KernelObserver {
    let mailbox: Mailbox
    fileprivate var pending: [Int: PendingCall] = [:]
    private var delivered: [ObjectIdentifier: Result<[LuaValue], Error>] = [:]
    private var nextToken = 0

    init() throws {
        guard let m = Mailbox() else { throw LuaError(message: "eventfd failed: \(String(cString: strerror(errno)))") }
        mailbox = m
    }

    func start(_ body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue], _ args: [LuaValue],
               thread: LuaThread, kernel: Kernel) -> PendingCall {
        nextToken += 1
        let call = PendingCall(token: nextToken, thread: thread, kernel: kernel, calls: self)
        pending[call.token] = call
        let token = call.token, mailbox = self.mailbox
        call.task = Task.detached {
            let outcome: Result<[LuaValue], Error>
            do { outcome = .success(try await body(args)) } catch { outcome = .failure(error) }
            mailbox.post(token, outcome)
        }
        return call
    }

    func takeOutcome(_ t: LuaThread) -> Result<[LuaValue], Error>? {
        delivered.removeValue(forKey: ObjectIdentifier(t))
    }

    /// On the kernel's thread, when the eventfd is readable: wake the threads whose tasks
    /// finished; on a stop request, make the polling kernel's loop return.
    func drain(_ kernel: Kernel) {
        let (done, stop) = mailbox.take()
        for (token, outcome) in done {
            guard let call = pending[token] else { continue }  // its thread was killed
            call.outcome = outcome
            delivered[ObjectIdentifier(call.thread)] = outcome
            call.kernel.wake(call.thread, .ready(0))
        }
        if stop { kernel.requestBreak() }
    }

    func kernelWillRun(_ kernel: Kernel, _ lua: Lua) {
        let key = ObjectIdentifier(MailboxEvent.self)
        guard kernel.extensions[key] == nil, let base = kernel.base else { return }
        kernel.extensions[key] = MailboxEvent(base: base, calls: self, kernel: kernel)
    }
}

/// The mailbox's read event on one kernel's event base.
final class MailboxEvent: KernelExtension {
    private var event: OpaquePointer?
    unowned let calls: AsyncCalls
    unowned let kernel: Kernel

    init(base: OpaquePointer, calls: AsyncCalls, kernel: Kernel) {
        self.calls = calls
        self.kernel = kernel
        event = event_new(base, calls.mailbox.fd, Int16(EV_READ | EV_PERSIST), { _, _, arg in
            let me = Unmanaged<MailboxEvent>.fromOpaque(arg!).takeUnretainedValue()
            me.calls.drain(me.kernel)
        }, Unmanaged.passUnretained(self).toOpaque())
        event_add(event, nil)
    }

    func kernelClosing() {
        if let e = event { event_free(e); event = nil }
    }
    deinit { kernelClosing() }
}

/// Where finished tasks (on any thread) leave their outcomes, and the eventfd that wakes
/// the kernel (written from the task's thread: the only cross-thread step).
final class Mailbox: @unchecked Sendable {
    let fd: Int32
    private var lock = pthread_mutex_t()
    private var done: [(Int, Result<[LuaValue], Error>)] = []
    private var stopRequested = false

    init?() {
        fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { return nil }
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        close(fd)
        pthread_mutex_destroy(&lock)
    }

    func post(_ token: Int, _ outcome: Result<[LuaValue], Error>) {
        pthread_mutex_lock(&lock)
        done.append((token, outcome))
        pthread_mutex_unlock(&lock)
        signal()
    }

    func postStop() {
        pthread_mutex_lock(&lock)
        stopRequested = true
        pthread_mutex_unlock(&lock)
        signal()
    }

    func clearStop() {
        pthread_mutex_lock(&lock)
        stopRequested = false
        pthread_mutex_unlock(&lock)
    }

    private func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    func take() -> ([(Int, Result<[LuaValue], Error>)], Bool) {
        var n: UInt64 = 0
        _ = read(fd, &n, 8)
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let out = (done, stopRequested)
        done.removeAll()
        stopRequested = false
        return out
    }
}
