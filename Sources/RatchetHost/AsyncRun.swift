import Glibc

/// `run`/`call` from Swift concurrency. The synchronous ones block their calling thread for
/// as long as the kernel runs, which inside a task starves the cooperative pool; these run
/// the host on a thread of its own and suspend the task instead. Cancelling the task stops
/// the run (it throws LuaError "ESTOPPED").
extension LuaHost {
    @discardableResult
    public func run(string source: String, name: String = "=(string)", args: [LuaValue] = []) async throws -> [LuaValue] {
        try await onOwnThread { try $0.run(string: source, name: name, args: args) }
    }

    @discardableResult
    public func run(file path: String, args: [LuaValue] = []) async throws -> [LuaValue] {
        try await onOwnThread { try $0.run(file: path, args: args) }
    }

    @discardableResult
    public func call(_ name: String, _ args: [LuaValue] = []) async throws -> [LuaValue] {
        try await onOwnThread { try $0.call(name, args) }
    }

    private func onOwnThread(_ body: @escaping (LuaHost) throws -> [LuaValue]) async throws -> [LuaValue] {
        let thread = ownThread
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<[LuaValue], Error>) in
                thread.submit {
                    if cancelled.isSet {
                        c.resume(throwing: LuaError(message: "stopped by the host", code: "ESTOPPED"))
                        return
                    }
                    c.resume(with: Result { try body(self) })
                }
            }
        } onCancel: {
            cancelled.set()
            self.stop()
        }
    }
}

final class CancelFlag: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var value = false
    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }
    func set() { pthread_mutex_lock(&lock); value = true; pthread_mutex_unlock(&lock) }
    var isSet: Bool { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return value }
}

/// The host's own OS thread for the async overloads: runs submitted jobs one at a time.
final class HostThread: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var cond = pthread_cond_t()
    private var jobs: [() -> Void] = []
    private var quit = false
    private var thread = pthread_t()

    init() {
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&cond, nil)
        pthread_create(&thread, nil, { p in
            Unmanaged<HostThread>.fromOpaque(p!).takeRetainedValue().loop()
            return nil
        }, Unmanaged.passRetained(self).toOpaque())
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&lock)
    }

    func submit(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&lock)
        jobs.append(job)
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&lock)
    }

    /// Lets the thread finish its queue and end (from the host's deinit).
    func shutDown() {
        pthread_mutex_lock(&lock)
        quit = true
        pthread_cond_signal(&cond)
        pthread_mutex_unlock(&lock)
        if pthread_equal(pthread_self(), thread) == 0 { pthread_join(thread, nil) } else { pthread_detach(thread) }
    }

    private func loop() {
        pthread_mutex_lock(&lock)
        while true {
            if jobs.isEmpty {
                if quit { break }
                pthread_cond_wait(&cond, &lock)
                continue
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(&lock)
            job()
            pthread_mutex_lock(&lock)
        }
        pthread_mutex_unlock(&lock)
    }
}
