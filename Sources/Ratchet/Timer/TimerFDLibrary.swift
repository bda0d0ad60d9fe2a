import CLua
import CLinux
import Glibc

/// `ratchet.timerfd`: `new(clock)` and the timer methods.
enum TimerFDLibrary {
    static func open(_ lua: Lua) -> Int32 {
        TimerFD.registerMetatable(lua, methods: [
            ("get_fd", getFD), ("settime", settime), ("gettime", gettime),
            ("read", read), ("close", close),
        ])
        return lua.pushLibrary([("new", new)])
    }

    /// new(clock): "monotonic" (default) or "realtime".
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        var clock = CLOCK_MONOTONIC
        if !lua.isNoneOrNil(1) {
            guard let name = lua.string(1) else { return lua.typeError(1, "string") }
            switch name {
            case "monotonic": clock = CLOCK_MONOTONIC
            case "realtime": clock = CLOCK_REALTIME
            default: return lua.argError(1, "Unknown clock: \(name) (expected \"monotonic\" or \"realtime\")")
            }
        }
        let fd = timerfd_create(clock, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        guard fd >= 0 else { return lua.raiseErrno("ratchet.timerfd.new()", "timerfd_create", errno) }
        TimerFD.push(lua, TimerFD(fd: fd))
        return 1
    }

    private static func timer(_ lua: Lua) -> TimerFD? { TimerFD.get(lua, 1) }

    private static func closed(_ lua: Lua, _ function: String) -> Int32 {
        lua.raiseError(function, "EBADF", "The timer is closed.")
    }

    static let getFD: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let tm = timer(lua) else { return lua.typeError(1, "ratchet.timerfd") }
        lua.push(tm.fd)
        return 1
    }

    /// An optional seconds argument: nil or negative is 0; NaN and infinities are errors.
    private static func optionalSeconds(_ lua: Lua, _ i: Int32) -> (Double?, Int32) {
        if lua.isNoneOrNil(i) { return (0, 0) }
        guard lua.number(i) != nil else { return (nil, lua.typeError(i, "number")) }
        guard let s = lua.seconds(i) else { return (nil, lua.argError(i, "finite number of seconds expected")) }
        return (max(0, s), 0)
    }

    /// settime(value, interval, flag) → old value, old interval.
    static let settime: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard let tm = timer(lua) else { return lua.typeError(1, "ratchet.timerfd") }
        let (value, e1) = optionalSeconds(lua, 2)
        guard let value else { return e1 }
        let (interval, e2) = optionalSeconds(lua, 3)
        guard let interval else { return e2 }
        var flags: Int32 = 0
        if !lua.isNoneOrNil(4) {
            switch lua.string(4) {
            case "relative": flags = 0
            case "absolute": flags = Int32(TFD_TIMER_ABSTIME)
            default: return lua.argError(4, "\"relative\" or \"absolute\" expected")
            }
        }
        guard !tm.isClosed else { return closed(lua, "ratchet.timerfd.settime()") }
        var new = itimerspec(it_interval: timespec(seconds: interval), it_value: timespec(seconds: value))
        var old = itimerspec()
        guard timerfd_settime(tm.fd, flags, &new, &old) == 0 else {
            return lua.raiseErrno("ratchet.timerfd.settime()", "timerfd_settime", errno)
        }
        lua.push(old.it_value.seconds)
        lua.push(old.it_interval.seconds)
        return 2
    }

    /// gettime() → seconds to the next expiry (0 when disarmed), interval.
    static let gettime: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let tm = timer(lua) else { return lua.typeError(1, "ratchet.timerfd") }
        guard !tm.isClosed else { return closed(lua, "ratchet.timerfd.gettime()") }
        var cur = itimerspec()
        guard timerfd_gettime(tm.fd, &cur) == 0 else {
            return lua.raiseErrno("ratchet.timerfd.gettime()", "timerfd_gettime", errno)
        }
        lua.push(cur.it_value.seconds)
        lua.push(cur.it_interval.seconds)
        return 2
    }

    /// read() → the number of expirations since the last read; yields until there is one.
    static let read: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let tm = timer(lua) else { return lua.typeError(1, "ratchet.timerfd") }
        guard !tm.isClosed else { return closed(lua, "ratchet.timerfd.read()") }
        var count: UInt64 = 0
        let n = Glibc.read(tm.fd, &count, 8)
        if n == 8 {
            lua.push(Int(truncatingIfNeeded: count))
            return 1
        }
        let e = errno
        guard n < 0, e == EAGAIN || e == EINTR else {
            return lua.raiseErrno("ratchet.timerfd.read()", "read", n < 0 ? e : EIO)
        }
        guard let t = Kernel.thread(lua) else { return Kernel.notInThread(lua, "ratchet.timerfd.read()") }
        t.kernel.waitIO(t, fd: tm.fd, write: false, timeout: -1, slot: &tm.watcher)
        return Status.yield()
    }

    /// close() → true the first time, nothing afterwards.
    static let close: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let tm = timer(lua) else { return lua.typeError(1, "ratchet.timerfd") }
        guard tm.closeFD(lua) else { return 0 }
        lua.push(true)
        return 1
    }
}
