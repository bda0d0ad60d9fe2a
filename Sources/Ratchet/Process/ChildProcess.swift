import CLinux
import Glibc

/// A child process started by `ratchet.exec`: its pid, its three pipes and, once reaped,
/// its exit status. Every child is reaped: by `wait`, or by the `Reaper` when the object
/// is collected first.
final class ChildProcess: LuaHandle {
    static let metatableName: StaticString = "ratchet_exec_meta"
    static let shownName: StaticString = "ratchet.exec"

    private(set) var pid: pid_t = -1
    private(set) var startTime: Int?
    /// Exit code (or the signal that killed it) and whether it exited normally.
    private(set) var exit: (status: Int32, normal: Bool)?
    /// Set when the object was closed before the child was reaped (the Reaper has it).
    private(set) var abandoned = false
    var stdin: PipeWriter?
    var stdout: PipeReader?
    var stderr: PipeReader?

    var started: Bool { pid > 0 }

    enum Poll { case running, exited, failed(Int32) }

    /// Starts `argv` with posix_spawnp, which reports a failed exec (ENOENT, EACCES, …)
    /// through its return value. Returns 0 or the errno.
    func spawn(_ argv: [String]) -> Int32 {
        var fds: [(parent: Int32, child: Int32)] = []
        func cleanup() { for f in fds { Glibc.close(f.parent); Glibc.close(f.child) } }
        for childReads in [true, false, false] {
            var p: [Int32] = [-1, -1]
            guard pipe2(&p, O_CLOEXEC) == 0 else { let e = errno; cleanup(); return e }
            // The child's end must not sit on 0–2, or one dup2 below would overwrite another.
            let (r, w) = (aboveStdio(p[0]), aboveStdio(p[1]))
            fds.append(childReads ? (parent: w, child: r) : (parent: r, child: w))
            guard r >= 0, w >= 0 else { let e = errno; cleanup(); return e }
        }
        for f in fds { _ = fcntl(f.parent, F_SETFL, fcntl(f.parent, F_GETFL) | O_NONBLOCK) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, f) in fds.enumerated() { posix_spawn_file_actions_adddup2(&actions, f.child, Int32(target)) }
        // Descriptors other modules opened without close-on-exec must not leak into children.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // ratchet ignores SIGPIPE for itself; children get the default back, as a shell would
        // give them, and start with no signal blocked.
        var defaults = sigset_t(); sigemptyset(&defaults); sigaddset(&defaults, SIGPIPE)
        var mask = sigset_t(); sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &mask)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, cargs[0]!, &actions, &attr, cargs, environ)
        for f in fds { Glibc.close(f.child) }
        guard rc == 0 else {
            for f in fds { Glibc.close(f.parent) }
            return rc
        }
        pid = child
        startTime = time(nil)
        stdin = PipeWriter(fd: fds[0].parent)
        stdout = PipeReader(fd: fds[1].parent)
        stderr = PipeReader(fd: fds[2].parent)
        return 0
    }

    /// Collects the exit status without blocking. Once it is reaped, stdin is closed; what
    /// the child wrote stays readable from stdout and stderr until they are closed (the
    /// original closed them too, losing output not read yet).
    func poll() -> Poll {
        if exit != nil { return .exited }
        guard pid > 0, !abandoned else { return .failed(ECHILD) }
        var st: Int32 = 0
        while true {
            let r = waitpid(pid, &st, WNOHANG)
            if r == 0 { return .running }
            if r == pid { break }
            if errno == EINTR { continue }
            return .failed(errno)
        }
        let sig = st & 0x7f
        exit = sig == 0 ? (status: (st >> 8) & 0xff, normal: true) : (status: sig, normal: false)
        stdin?.closeFD()
        return .exited
    }

    func closePipes() {
        stdin?.closeFD()
        stdout?.closeFD()
        stderr?.closeFD()
    }

    /// `__gc` / `__close`: closes the pipes; a child still running is left to the Reaper.
    func close(_ lua: Lua) {
        closePipes()
        if pid > 0, exit == nil, !abandoned, case .running = poll() {
            abandoned = true
            Reaper.adopt(pid)
        }
        Reaper.reap()
    }
}

/// `fd` moved to a number above 2 (keeping close-on-exec), or itself if it already is.
private func aboveStdio(_ fd: Int32) -> Int32 {
    guard fd >= 0, fd < 3 else { return fd }
    let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
    Glibc.close(fd)
    return moved
}
