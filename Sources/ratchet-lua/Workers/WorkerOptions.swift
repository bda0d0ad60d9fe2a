import Glibc
import Ratchet

/// The runner's worker options, taken out of the arguments before the rest of the runner
/// reads them: `-w N|auto` makes this process a supervisor (it never runs Lua);
/// `--drain-timeout S` sets how long a stop may take (also for a plain single-process run).
enum WorkerOptions {
    /// Called first thing by main.swift. With `-w` it runs the supervisor and exits; in a
    /// worker it adopts the supervisor channel; otherwise it only strips `--drain-timeout`.
    static func start() {
        WorkerChannel.adoptFromEnvironment()
        var args = CommandLine.arguments
        var workers: Int? = nil
        var drain: Double? = nil
        var i = 1
        func value(_ name: String) -> String {
            let a = args[i]
            if a.count > name.count && a.hasPrefix(name) {   // -w2, --drain-timeout=5
                args.remove(at: i)
                return String(a.dropFirst(name.count)).trimmingPrefix("=")
            }
            guard i + 1 < args.count else { fail("'\(name)' needs argument") }
            let v = args[i + 1]
            args.removeSubrange(i...(i + 1))
            return v
        }
        while i < args.count {
            let a = args[i]
            if a.hasPrefix("-w") {
                let v = value("-w")
                if v == "auto" {
                    workers = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
                } else if let n = Int(v), n >= 1, n <= 1024 {
                    workers = n
                } else {
                    fail("'-w' needs a number of workers (1-1024) or 'auto', not '\(v)'")
                }
            } else if a == "--drain-timeout" || a.hasPrefix("--drain-timeout=") {
                let v = value("--drain-timeout")
                guard let s = Double(v), s >= 0, s.isFinite else { fail("'--drain-timeout' needs seconds, not '\(v)'") }
                drain = s
            } else if a == "-e" || a == "-l" {
                i += 2   // their argument is not an option
            } else if a == "--" || a == "-" || !a.hasPrefix("-") {
                break    // the script and its arguments are not ours
            } else {
                i += 1
            }
        }
        if let d = drain { setenv("RATCHET_DRAIN_TIMEOUT", "\(d)", 1) }
        if let n = workers {
            let inherited = getenv("RATCHET_DRAIN_TIMEOUT").flatMap { Double(String(cString: $0)) }
            let timeout = drain ?? inherited ?? 30
            exit(Supervisor(workers: n, drainTimeout: timeout, arguments: args).run())
        }
        if args.count != CommandLine.arguments.count { CommandLine.arguments = args }
    }

    static func fail(_ msg: String) -> Never {
        let line = "ratchet-lua: \(msg)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }
}

extension String {
    fileprivate func trimmingPrefix(_ p: String) -> String { hasPrefix(p) ? String(dropFirst(p.count)) : self }
}
