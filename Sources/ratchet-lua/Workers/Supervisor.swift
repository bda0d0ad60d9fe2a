import Glibc
import Ratchet
import CLinux

/// `ratchet-lua -w N script.lua`: starts N worker processes (this runner again, without
/// `-w`), restarts those that die (a signal or a non-zero status; with backoff, and a crash
/// loop ends it; a worker that exits 0 has finished), stops them gracefully
/// on SIGTERM/SIGINT, at once on SIGQUIT, and replaces them by a new generation on SIGHUP.
/// It never runs Lua: a script cannot take it down. It owns the TCP listeners (see
/// SharedListeners) so that connections queued on them outlive any one worker.
final class Supervisor {
    struct Worker {
        let pid: pid_t
        let slot: Int
        let generation: Int
        var channel: Int32
        var ready = false                   // asked for a listener: it is serving
        var stopDeadline: Double? = nil      // told to stop; SIGKILL after this
        let started: Double
    }

    let count: Int
    let drainTimeout: Double
    let arguments: [String]
    let executable: String
    var workers: [pid_t: Worker] = [:]
    var listeners = SharedListeners()
    /// The generation new and restarted workers join; a reload's new generation becomes it
    /// once its workers are up.
    var generation = 1
    var reload: (generation: Int, deadline: Double)? = nil
    var restarts: [(slot: Int, at: Double)] = []
    var deaths: [Double] = []
    var stopping = false
    var exitCode: Int32 = 0
    var signalFD: Int32 = -1

    /// A crash loop: this many unexpected deaths within `crashWindow` seconds.
    static let crashLimit = 5
    static let crashWindow = 10.0
    /// How long a reload waits for the new workers to ask for their listeners before the
    /// old generation is stopped anyway (a script may listen on nothing).
    static let reloadReadyWait = 2.0
    /// Beyond the drain timeout, the time a stopping worker gets before SIGKILL.
    static let killGrace = 5.0

    init(workers: Int, drainTimeout: Double, arguments: [String]) {
        count = workers
        self.drainTimeout = drainTimeout
        self.arguments = arguments
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        executable = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : arguments[0]
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func log(_ msg: String) {
        let line = "ratchet-lua: \(msg)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Runs until every worker has ended after a stop; returns the exit status.
    func run() -> Int32 {
        var mask = sigset_t()
        sigemptyset(&mask)
        for s in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&mask, s) }
        sigprocmask(SIG_BLOCK, &mask, nil)
        signalFD = signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
        guard signalFD >= 0 else { log("signalfd: \(String(cString: strerror(errno)))"); return 1 }
        for slot in 1...count { spawn(slot: slot, generation: generation) }
        while !(stopping && workers.isEmpty) {
            if workers.isEmpty && restarts.isEmpty { return exitCode }   // every worker has finished
            var fds = [pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
            let pids = workers.keys.filter { workers[$0]!.channel >= 0 }
            for p in pids { fds.append(pollfd(fd: workers[p]!.channel, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), pollTimeout())
            if fds[0].revents != 0 { readSignals() }
            for (k, p) in pids.enumerated() where fds[k + 1].revents != 0 { serveChannel(of: p) }
            reap()
            runTimers()
        }
        return exitCode
    }

    /// Milliseconds until the next timer (restart, reload, kill deadline), −1 if none.
    private func pollTimeout() -> Int32 {
        var next = Double.infinity
        for r in restarts { next = min(next, r.at) }
        if let r = reload { next = min(next, r.deadline) }
        for w in workers.values { if let d = w.stopDeadline { next = min(next, d) } }
        if next == .infinity { return -1 }
        return Int32(max(0, min(60_000, (next - Supervisor.now()) * 1000 + 1)))
    }

    // MARK: workers

    private func spawn(slot: Int, generation: Int) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            log("socketpair: \(String(cString: strerror(errno)))"); scheduleRestart(slot); return
        }
        // the child's end goes to descriptor 3; from a number above it, so dup2 never is a no-op
        // that would leave it close-on-exec
        let childEnd = fcntl(pair[1], F_DUPFD_CLOEXEC, 10)
        Glibc.close(pair[1])
        defer { Glibc.close(childEnd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, childEnd, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        // its own process group: a terminal's Ctrl-C reaches the supervisor only, which then
        // stops the workers once (a second SIGINT would end a draining worker at once)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var env: [String] = []
        var e = environ
        while let p = e.pointee {
            let s = String(cString: p)
            if !s.hasPrefix("RATCHET_WORKER_") && !s.hasPrefix("RATCHET_SUPERVISOR_PID=") && !s.hasPrefix("RATCHET_DRAIN_TIMEOUT=") { env.append(s) }
            e += 1
        }
        env += ["RATCHET_WORKER_ID=\(slot)", "RATCHET_WORKER_COUNT=\(count)",
                "RATCHET_WORKER_GENERATION=\(generation)", "\(WorkerChannel.environmentName)=3",
                "RATCHET_SUPERVISOR_PID=\(getpid())", "RATCHET_DRAIN_TIMEOUT=\(drainTimeout)"]
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        if r != 0 {
            Glibc.close(pair[0])
            log("cannot start worker \(slot): \(String(cString: strerror(r)))")
            scheduleRestart(slot)
            return
        }
        workers[pid] = Worker(pid: pid, slot: slot, generation: generation, channel: pair[0], started: Supervisor.now())
    }

    /// Restarts a slot after a delay that doubles with each recent death (0.1 s … 5 s).
    private func scheduleRestart(_ slot: Int) {
        let recent = max(1, deaths.count)
        let delay = min(5.0, 0.1 * Double(1 << min(recent - 1, 6)))
        restarts.append((slot, Supervisor.now() + delay))
    }

    private func stop(_ pid: pid_t, signal: Int32 = SIGTERM) {
        guard var w = workers[pid] else { return }
        if w.stopDeadline == nil || signal == SIGKILL {
            w.stopDeadline = Supervisor.now() + drainTimeout + Supervisor.killGrace
            workers[pid] = w
            kill(pid, signal)
        }
    }

    private func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let w = workers.removeValue(forKey: pid) else { continue }
            if w.channel >= 0 { Glibc.close(w.channel) }
            if w.stopDeadline != nil {
                retireListeners()
                continue
            }
            if status == 0 {
                // the script ended by itself: that worker's work is done, it is not restarted
                retireListeners()
                continue
            }
            // an unexpected death
            let how = (status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            log("worker \(w.slot) (pid \(pid), generation \(w.generation)) \(how)")
            let t = Supervisor.now()
            deaths.append(t)
            deaths.removeAll { $0 < t - Supervisor.crashWindow }
            if stopping { continue }
            if deaths.count >= Supervisor.crashLimit {
                log("\(deaths.count) worker deaths within \(Int(Supervisor.crashWindow)) s: stopping")
                beginStop(code: 1)
                continue
            }
            if let r = reload, w.generation == r.generation {
                log("reload failed: generation \(r.generation) did not start; generation \(generation) keeps serving")
                reload = nil
                for (p, o) in workers where o.generation == r.generation { stop(p) }
                continue
            }
            if w.generation == generation { scheduleRestart(w.slot) }
        }
    }

    private func runTimers() {
        let t = Supervisor.now()
        if !stopping {
            let due = restarts.filter { $0.at <= t }
            restarts.removeAll { $0.at <= t }
            for r in due { spawn(slot: r.slot, generation: generation) }
        }
        if let r = reload {
            let fresh = workers.values.filter { $0.generation == r.generation && $0.stopDeadline == nil }
            if t >= r.deadline || (fresh.count == count && fresh.allSatisfy { $0.ready }) { takeOver(r.generation) }
        }
        for (p, w) in workers {
            if let d = w.stopDeadline, t >= d {
                log("worker \(w.slot) (pid \(p)) did not stop within the drain timeout: killed")
                kill(p, SIGKILL)
                if stopping { exitCode = 1 }
                workers[p]!.stopDeadline = .infinity
            }
        }
    }

    // MARK: signals

    private func readSignals() {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            switch Int32(info.ssi_signo) {
            case SIGTERM, SIGINT: beginStop(code: exitCode)
            case SIGQUIT:
                for p in workers.keys { stop(p, signal: SIGKILL) }
                stopping = true
                restarts.removeAll()
            case SIGHUP: beginReload()
            default: break   // SIGCHLD: reap() runs after every wake
            }
        }
    }

    /// Graceful stop: every worker drains; the listeners close here so that, once the
    /// workers have closed their copies, new connections are refused.
    private func beginStop(code: Int32) {
        exitCode = max(exitCode, code)
        guard !stopping else { return }
        stopping = true
        restarts.removeAll()
        reload = nil
        for p in workers.keys { stop(p) }
        listeners.closeAll()
    }

    private func beginReload() {
        guard !stopping, reload == nil else { return }
        let g = generation + 1
        reload = (g, Supervisor.now() + Supervisor.reloadReadyWait)
        for slot in 1...count { spawn(slot: slot, generation: g) }
    }

    /// The new generation is up: it becomes the current one and the old one drains.
    private func takeOver(_ g: Int) {
        reload = nil
        generation = g
        restarts.removeAll()
        for (p, w) in workers where w.generation < g { stop(p) }
        retireListeners()
    }

    /// Once no worker of an older generation is left, listeners the current generation did
    /// not ask for are closed.
    private func retireListeners() {
        if reload == nil && !workers.values.contains(where: { $0.generation < generation }) {
            listeners.retire(olderThan: generation)
        }
    }

    // MARK: listener requests

    private func serveChannel(of pid: pid_t) {
        guard var w = workers[pid], w.channel >= 0 else { return }
        guard let request = WorkerChannel.receiveRequest(on: w.channel) else {
            Glibc.close(w.channel)      // the worker is ending; reap() removes it
            w.channel = -1
            workers[pid] = w
            return
        }
        let (fd, err) = stopping ? (-1, ESHUTDOWN) : listeners.listener(for: request, generation: w.generation)
        _ = WorkerChannel.reply(on: w.channel, errno: err, descriptor: fd)
        if err == 0 { w.ready = true; workers[pid] = w }
    }
}
