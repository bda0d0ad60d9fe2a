import CLua
import CLibEvent
import CRatchetShims
import Glibc

/// `ratchet.thread`: functions that act on the kernel running the calling thread.
enum ThreadLibrary {
    static func open(_ lua: Lua) {
        lua.pushLibrary([
            ("attach", attach), ("attach_background", attachBackground), ("wait_all", waitAll),
            ("space", space), ("kernel_space", kernelSpace), ("self", self_), ("timer", timer), ("alarm", alarm),
            ("pause", pause), ("unpause", unpause), ("block_on", blockOn), ("sigwait", sigwait),
            ("kill", kill), ("kill_all", killAll), ("yield", yield),
        ])
    }

    private static func noKernel(_ lua: Lua, _ name: String) -> Int32 {
        lua.raiseError("ratchet.thread.\(name)()", "EPERM",
                       "ratchet.thread.\(name)() must be called while a ratchet kernel runs (from inside a ratchet thread).")
    }

    private static func attachImpl(_ lua: Lua, background: Bool, name: String) -> Int32 {
        guard let k = Kernel.running(lua) else { return noKernel(lua, name) }
        guard KernelLibrary.isCallable(lua, 1) else { return lua.typeError(1, "function") }
        let t = k.spawn(lua, first: 1, background: background)
        lua.pushRef(t.ref)
        return 1
    }

    static let attach: LuaImpl = { L, _, _ in attachImpl(Lua(L), background: false, name: "attach") }
    static let attachBackground: LuaImpl = { L, _, _ in attachImpl(Lua(L), background: true, name: "attach_background") }

    /// The thread making the call, for the functions that suspend it.
    private static func caller(_ lua: Lua, _ name: String) -> (LuaThread?, Int32) {
        if let t = Kernel.thread(lua) { return (t, 0) }
        return (nil, Kernel.notInThread(lua, "ratchet.thread.\(name)()"))
    }

    /// wait_all(threads): suspends until every listed thread has finished.
    static let waitAll: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD { return 0 }
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "table") }
        let (t, err) = caller(lua, "wait_all")
        guard let t else { return err }
        let k = t.kernel
        let n = lua.rawLen(1)
        var targets: [LuaThread] = []
        for i in 1...max(n, 1) where n > 0 {
            lua.rawGet(1, i)
            guard lua.type(-1) == LUA_TTHREAD else {
                lua.pop()
                return lua.raise("Table item \(i) is not a thread.")
            }
            let target = k.thread(lua, at: -1)
            lua.pop()
            if let target, target !== t, target.state != .dead { targets.append(target) }
        }
        if targets.isEmpty {
            t.state = .ready
            k.enqueue(t)
            return Status.yield()
        }
        for target in targets { target.joiners.append(t) }
        t.joinPending = Int32(targets.count)
        t.state = .joining
        return Status.yield()
    }

    static let space: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        guard let k = Kernel.running(lua) else { return noKernel(lua, "space") }
        if lua_pushthread(L) == 1 {
            return lua.raise("ratchet.thread.space() cannot be called from the main thread.")
        }
        return KernelLibrary.space(lua, k, thread: 2, premade: 1)
    }

    /// The key of the kernel-wide value in the kernel's space table (threads are the others).
    private static let kernelSpaceKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// kernel_space([premade]): the running kernel's scratch value, shared by all its threads
    /// and dropped when it closes (an extension: per-kernel state of Lua modules, such as the
    /// HTTP client's default connection pool).
    static let kernelSpace: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        guard let k = Kernel.running(lua) else { return noKernel(lua, "kernel_space") }
        lua.push(lightUserdata: kernelSpaceKey)
        return KernelLibrary.space(lua, k, thread: 2, premade: 1)
    }

    static let self_: LuaImpl = { L, _, _ in
        if lua_pushthread(L) == 1 { lua_settop(L, -2); lua_pushnil(L) }
        return 1
    }

    /// timer(seconds): sleeps; negative counts as 0.
    static let timer: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD { return 0 }
        let (s, bad) = lua.duration(1)
        if let bad { return bad }
        let (t, err) = caller(lua, "timer")
        guard let t else { return err }
        t.kernel.park(t, timeout: max(0, s))
        return Status.yield()
    }

    /// yield(): lets every other ready thread run once, then continues (an extension).
    static let yield: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD { return 0 }
        let (t, err) = caller(lua, "yield")
        guard let t else { return err }
        t.kernel.park(t, timeout: 0)
        return Status.yield()
    }

    /// alarm(seconds, callback): ends the thread with ALARM after `seconds`.
    static let alarm: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        let (s, bad) = lua.duration(1)
        if let bad { return bad }
        if !lua.isNoneOrNil(2) && !KernelLibrary.isCallable(lua, 2) { return lua.typeError(2, "function") }
        let (t, err) = caller(lua, "alarm")
        guard let t else { return err }
        var cb = LUA_NOREF
        if !lua.isNoneOrNil(2) { lua.pushValue(2); cb = lua.ref() }
        t.kernel.setAlarm(t, seconds: s, callback: cb, lua: lua)
        return 0
    }

    /// pause([timeout]): returns the values given to unpause; ETIMEDOUT when `timeout`
    /// seconds pass first (an extension: a waiter for something another thread hands over).
    static let pause: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD {
            if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.thread.pause()", "pause") }
            return lua.top
        }
        lua.arguments(1)
        let (timeout, bad) = lua.duration(1, optional: true)
        if let bad { return bad }
        let (t, err) = caller(lua, "pause")
        guard let t else { return err }
        lua.setTop(0)
        t.kernel.pause(t, timeout: timeout)
        return Status.yield()
    }

    static let unpause: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard lua.type(1) == LUA_TTHREAD else { return lua.typeError(1, "thread") }
        guard let k = Kernel.running(lua), let t = k.thread(lua, at: 1) else {
            return lua.argError(1, "not a live ratchet thread")
        }
        guard t.state == .paused else {
            return lua.raise("Thread is not yielding, cannot unpause.")
        }
        k.unpause(t, from: lua, values: lua.top - 1)
        return 0
    }

    /// kill(thread): stops it and cancels everything it waits on.
    static let kill: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD { return 0 }
        guard lua.type(1) == LUA_TTHREAD else { return lua.typeError(1, "thread") }
        guard let k = Kernel.running(lua) else { return noKernel(lua, "kill") }
        guard let t = k.thread(lua, at: 1) else { return 0 }
        if t === k.current {
            guard t.co == lua.L else { return lua.raise("cannot kill a thread from a coroutine it is running") }
            t.killRequested = true
            return Status.yield()
        }
        k.kill(t, lua)
        return 0
    }

    static let killAll: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD { return 0 }
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "table") }
        guard let k = Kernel.running(lua) else { return noKernel(lua, "kill_all") }
        let n = lua.rawLen(1)
        var killSelf = false
        for i in 0..<n {
            lua.rawGet(1, i + 1)
            if let t = k.thread(lua, at: -1) {
                if t === k.current { killSelf = true } else { k.kill(t, lua) }
            }
            lua.pop()
        }
        if killSelf, let t = k.current, t.co == L {
            t.killRequested = true
            return Status.yield()
        }
        return 0
    }

    /// sigwait(signal[, timeout]): waits for a signal; true, or false after `timeout`.
    static let sigwait: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD {
            lua.push(Kernel.thread(lua)?.wake == .signal)
            return 1
        }
        lua.arguments(2)
        guard let sig = Signals.number(lua, 1) else { return lua.argError(1, "Invalid signal.") }
        let (timeout, bad) = lua.duration(2, optional: true)
        if let bad { return bad }
        let (t, err) = caller(lua, "sigwait")
        guard let t else { return err }
        guard t.kernel.signalWatcher(sig).add(t) else {
            return lua.raiseError("ratchet.thread.sigwait()", "EINVAL",
                                  "Cannot wait for signal \(sig): it cannot be caught, or \(RATCHET_SIGNAL_SLOTS) kernels already wait for signals.")
        }
        t.kernel.park(t, timeout: timeout)
        return Status.yield()
    }

    /// block_on(reads, writes, timeout): the first object that becomes ready, or false.
    static let blockOn: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        if status == LUA_YIELD {
            guard let t = Kernel.thread(lua), case .ready(let token) = t.wake else {
                lua.push(false); return 1
            }
            // token = list index * 2^32 + position
            lua.rawGet(Int32(token >> 32), token & 0xffff_ffff)
            return 1
        }
        lua.arguments(3)
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "table") }
        if !lua.isNoneOrNil(2) && lua.type(2) != LUA_TTABLE { return lua.typeError(2, "table") }
        let (timeout, bad) = lua.duration(3, optional: true)
        if let bad { return bad }
        let (t, err) = caller(lua, "block_on")
        guard let t else { return err }
        var entries: [(fd: Int32, list: Int32, pos: Int)] = []
        for list: Int32 in [1, 2] where lua.type(list) == LUA_TTABLE {
            for i in 1...max(lua.rawLen(list), 1) where lua.rawLen(list) > 0 {
                lua.rawGet(list, i)
                guard let fd = FileDescriptors.of(lua, -1) else {
                    return Status.raise
                }
                lua.pop()
                entries.append((fd, list, i))
            }
        }
        // Readiness that already exists produces no new edge, so look before parking.
        var pfds = entries.map { pollfd(fd: $0.fd, events: Int16($0.list == 2 ? POLLOUT : POLLIN), revents: 0) }
        if !pfds.isEmpty, poll(&pfds, nfds_t(pfds.count), 0) > 0 {
            var best: Int? = nil
            for (i, p) in pfds.enumerated() where p.revents != 0 {
                if best == nil || (entries[i].list == 2 && entries[best!].list == 1 && entries[i].fd == entries[best!].fd) { best = i }
            }
            if let b = best {
                lua.rawGet(entries[b].list, entries[b].pos)
                return 1
            }
        }
        let k = t.kernel
        for e in entries {
            let w = k.watchers[e.fd] ?? {
                let w = k.watcher(fd: e.fd)
                w.temporary = true
                return w
            }()
            w.add(t, write: e.list == 2, token: Int(e.list) << 32 | e.pos)
        }
        k.park(t, timeout: timeout, pending: !entries.isEmpty)
        return Status.yield()
    }
}

/// Signal names the reference accepts, shared by sigwait and exec's kill.
public enum Signals {
    static let names: [String: Int32] = [
        "SIGHUP": SIGHUP, "SIGINT": SIGINT, "SIGQUIT": SIGQUIT, "SIGILL": SIGILL,
        "SIGABRT": SIGABRT, "SIGFPE": SIGFPE, "SIGKILL": SIGKILL, "SIGSEGV": SIGSEGV,
        "SIGPIPE": SIGPIPE, "SIGALRM": SIGALRM, "SIGTERM": SIGTERM, "SIGUSR1": SIGUSR1,
        "SIGUSR2": SIGUSR2, "SIGCHLD": SIGCHLD, "SIGCONT": SIGCONT, "SIGSTOP": SIGSTOP,
        "SIGTSTP": SIGTSTP, "SIGTTIN": SIGTTIN, "SIGTTOU": SIGTTOU,
    ]

    /// A signal number from a number or a name at `i`, or nil when invalid.
    public static func number(_ lua: Lua, _ i: Int32) -> Int32? {
        if let n = lua.integer(i) { return (1..<65).contains(n) ? Int32(n) : nil }
        if let s = lua.string(i) { return names[s] }
        return nil
    }
}

/// Descriptors of Lua objects: anything with a `get_fd()` method.
enum FileDescriptors {
    /// Indexing an arbitrary value can raise, so the method call runs in Lua under pcall.
    static let helperSource = """
        local o = ...
        local f = o.get_fd
        if f == nil then error("object has no get_fd() method", 0) end
        return f(o)
        """
    static let helperKey: StaticString = "ratchet.get_fd"

    static func install(_ lua: Lua) {
        if luaL_loadstring(lua.L, helperSource) == LUA_OK {
            lua_setfield(lua.L, LUA_REGISTRYINDEX, cString(helperKey))
        } else {
            lua.pop()
        }
    }

    /// Calls `obj:get_fd()` protected. On failure an error is on top and nil is returned.
    static func of(_ lua: Lua, _ i: Int32) -> Int32? {
        let obj = lua.absIndex(i)
        lua_getfield(lua.L, LUA_REGISTRYINDEX, cString(helperKey))
        lua.pushValue(obj)
        guard lua.pcall(1, 1) == LUA_OK else { return nil }
        guard let fd = lua.integer(-1), fd >= 0, fd <= Int(Int32.max) else {
            let shown = lua.stringOrNumber(-1) ?? "nil"
            lua.pop()
            RatchetError.push(lua, description: "Invalid file descriptor: \(shown)", code: "EBADF",
                              function: "ratchet.thread.block_on()", errno: EBADF)
            return nil
        }
        lua.pop()
        return Int32(fd)
    }
}
