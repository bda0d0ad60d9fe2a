import CLua
import CRatchetShims
import Glibc

/// `ratchet.exec`: child processes with yielding pipes, `wait` and `communicate`.
/// Uservalues of an exec object: 1 argv table, 2 stdin, 3 stdout, 4 stderr pipe objects.
enum ExecLibrary {
    static func open(_ lua: Lua) -> Int32 {
        // An ignored SIGCHLD makes the kernel reap children itself and waitpid fail with
        // ECHILD, so wait() could never report a status; the default keeps zombies for us.
        var old = sigaction()
        if sigaction(SIGCHLD, nil, &old) == 0,
           unsafeBitCast(old.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
            signal(SIGCHLD, SIG_DFL)
        }
        ExecPipeLibrary.register(lua)
        Communication.registerMetatable(lua, methods: [])
        ChildProcess.registerMetatable(lua, methods: [
            ("get_argv", getArgv), ("start", start), ("get_start_time", getStartTime),
            ("stdin", stdin), ("stdout", stdout), ("stderr", stderr),
            ("wait", wait), ("kill", kill), ("communicate", Communication.communicate),
        ])
        return lua.pushLibrary([("new", new)])
    }

    static func process(_ lua: Lua) -> ChildProcess? { ChildProcess.get(lua, 1) }
    static let typeName = "ratchet.exec"

    /// new(argv): nothing runs until start() or communicate().
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "table") }
        guard lua.rawLen(1) >= 1 else { return lua.argError(1, "argv must name the program to run") }
        ChildProcess.push(lua, ChildProcess(), uservalues: 4)
        lua.pushValue(1)
        lua_setiuservalue(L, -2, 1)
        return 1
    }

    static let getArgv: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard process(lua) != nil else { return lua.typeError(1, typeName) }
        lua_getiuservalue(L, 1, 1)
        return 1
    }

    /// The argv table's strings, or an error message.
    private static func argv(_ lua: Lua) -> Result<[String], ArgvError> {
        lua_getiuservalue(lua.L, 1, 1)
        defer { lua.pop() }
        let n = lua.rawLen(-1)
        guard n >= 1 else { return .failure(ArgvError(message: "argv must name the program to run.")) }
        var out: [String] = []
        for i in 1...n {
            lua.rawGet(-1, i)
            let s = lua.stringOrNumber(-1)
            lua.pop()
            guard let s, !s.utf8.contains(0) else {
                return .failure(ArgvError(message: "argv[\(i)] must be a string without NUL bytes."))
            }
            out.append(s)
        }
        return .success(out)
    }

    struct ArgvError: Error { let message: String }

    /// Starts the process of the object at 1 and stores its pipe objects; on failure
    /// leaves the error on top and returns false.
    static func startProcess(_ lua: Lua, _ p: ChildProcess, _ function: StaticString) -> Bool {
        guard !p.started else {
            _ = lua.raiseError("\(function)", "EINVAL", "The process was already started.")
            return false
        }
        let args: [String]
        switch argv(lua) {
        case .success(let a): args = a
        case .failure(let e): _ = lua.raiseError("\(function)", "EINVAL", e.message); return false
        }
        Reaper.reap()
        let e = p.spawn(args)
        guard e == 0, let stdin = p.stdin, let stdout = p.stdout, let stderr = p.stderr else {
            _ = lua.raiseErrno(function, "posix_spawnp", e, description: "\(Errno.description(e)): \(args[0])")
            return false
        }
        PipeWriter.push(lua, stdin); lua_setiuservalue(lua.L, 1, 2)
        PipeReader.push(lua, stdout); lua_setiuservalue(lua.L, 1, 3)
        PipeReader.push(lua, stderr); lua_setiuservalue(lua.L, 1, 4)
        return true
    }

    /// start() → pid. A program that cannot be executed raises ENOENT, EACCES, … here.
    static let start: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let p = process(lua) else { return lua.typeError(1, typeName) }
        guard startProcess(lua, p, "ratchet.exec.start()") else { return Status.raise }
        lua.push(Int(p.pid))
        return 1
    }

    static let getStartTime: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let p = process(lua) else { return lua.typeError(1, typeName) }
        if let s = p.startTime { lua.push(s) } else { lua.pushNil() }
        return 1
    }

    private static func pipe(_ lua: Lua, _ slot: Int32, _ function: String) -> Int32 {
        guard let p = process(lua) else { return lua.typeError(1, typeName) }
        guard p.started else { return lua.raiseError(function, "EBADF", "Must call start().") }
        lua_getiuservalue(lua.L, 1, slot)
        return 1
    }

    static let stdin: LuaImpl = { L, _, _ in pipe(Lua(L), 2, "ratchet.exec.stdin()") }
    static let stdout: LuaImpl = { L, _, _ in pipe(Lua(L), 3, "ratchet.exec.stdout()") }
    static let stderr: LuaImpl = { L, _, _ in pipe(Lua(L), 4, "ratchet.exec.stderr()") }

    /// Waits (yielding on SIGCHLD) until the child of `p` has exited. Returns nil once it
    /// has (its status is in `p.exit`), else the Status to return (a yield or an error).
    /// `timeout` < 0 means none; the deadline is kept at stack index `deadlineSlot`, so
    /// that a SIGCHLD of another child, which wakes this thread too, does not extend it.
    static func awaitExit(_ lua: Lua, _ p: ChildProcess, resumed: Bool, timeout: Double,
                          deadlineSlot: Int32, ctx: Int, _ function: StaticString) -> Int32? {
        let name = "\(function)"
        guard p.started else { return lua.raiseError(name, "EBADF", "Must call start().") }
        guard !p.abandoned else { return lua.raiseError(name, "EBADF", "The process object was closed.") }
        let t = Kernel.thread(lua)
        let timedOut = resumed && t?.wake == .timeout
        switch p.poll() {
        case .exited: return nil
        case .failed(let e): return lua.raiseErrno(function, "waitpid", e)
        case .running: break
        }
        if resumed { Reaper.reap() }
        if timedOut { return lua.raiseTimeout(name, "wait") }
        guard let t else { return Kernel.notInThread(lua, name) }
        let k = t.kernel
        guard k.signalWatcher(SIGCHLD).add(t) else {
            return lua.raiseError(name, "EAGAIN", "Cannot wait for SIGCHLD: \(RATCHET_SIGNAL_SLOTS) kernels already wait for signals.")
        }
        k.park(t, timeout: lua.remaining(timeout: timeout, slot: deadlineSlot))
        // A SIGCHLD that came before the watcher was added went nowhere: look once more.
        if case .exited = p.poll() { k.wake(t, .signal) }
        return Status.yield(ctx)
    }

    /// wait([timeout]) → exit status, exited normally. A child killed by a signal gives
    /// that signal's number and false.
    static let wait: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let p = process(lua) else { return lua.typeError(1, typeName) }
        var timeout = -1.0
        if !lua.isNoneOrNil(2) {
            guard let s = lua.number(2), !s.isNaN else {
                return lua.argError(2, "Optional timeout number or nil expected.")
            }
            timeout = s < 0 ? 0 : s
        }
        if let r = awaitExit(lua, p, resumed: status == LUA_YIELD, timeout: timeout,
                             deadlineSlot: 3, ctx: 0, "ratchet.exec.wait()") { return r }
        guard let (code, normal) = p.exit else { return 0 }
        lua.push(code)
        lua.push(normal)
        return 2
    }

    /// kill([signal]) → true. Signal number or name, default SIGTERM.
    static let kill: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let p = process(lua) else { return lua.typeError(1, typeName) }
        var sig = SIGTERM
        if !lua.isNoneOrNil(2) {
            guard let s = Signals.number(lua, 2) else { return lua.argError(2, "Invalid signal.") }
            sig = s
        }
        guard p.started else { return lua.raiseError("ratchet.exec.kill()", "EBADF", "Must call start().") }
        // Once reaped, the pid may belong to another process: never signal it.
        _ = p.poll()
        guard p.exit == nil, !p.abandoned else {
            return lua.raiseError("ratchet.exec.kill()", "ESRCH", "The process has already exited.")
        }
        guard Glibc.kill(p.pid, sig) == 0 else { return lua.raiseErrno("ratchet.exec.kill()", "kill", errno) }
        lua.push(true)
        return 1
    }
}
