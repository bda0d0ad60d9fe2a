import CLua
import CLibEvent
import Glibc

/// `ratchet.new` and the kernel object's Lua methods.
enum KernelLibrary {
    static func register(_ lua: Lua) {
        Kernel.registerMetatable(lua, methods: [
            ("loop", loop), ("loop_once", loopOnce), ("break", breakLoop),
            ("get_num_threads", numThreads), ("get_method", method), ("get_space", getSpace),
            ("close", close),
        ], tostring: toString)
    }

    static func kernel(_ lua: Lua, _ i: Int32 = 1) -> Kernel? { Kernel.get(lua, i) }

    /// ratchet.new(entry, errh)
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        if !lua.isNoneOrNil(1) && !isCallable(lua, 1) { return lua.typeError(1, "function") }
        if !lua.isNoneOrNil(2) && lua.type(2) != LUA_TFUNCTION && !isCallable(lua, 2) {
            return lua.typeError(2, "function")
        }
        guard let k = Kernel() else { return lua.raise("could not create a libevent event base") }
        if !lua.isNoneOrNil(2) {
            lua.pushValue(2)
            k.errorHandlerRef = lua.ref()
        }
        lua.newTable()
        lua.newTable(); lua.push("k" as StaticString); lua.setField(-2, "__mode")
        lua_setmetatable(L, -2)
        k.spaceRef = lua.ref()
        k.hasEntry = !lua.isNoneOrNil(1)
        lua.pushValue(1)
        k.spawn(lua, first: lua.top, background: false)
        Kernel.push(lua, k)
        return 1
    }

    static func isCallable(_ lua: Lua, _ i: Int32) -> Bool {
        if lua.type(i) == LUA_TFUNCTION { return true }
        let t = luaL_getmetafield(lua.L, i, "__call")
        if t != LUA_TNIL { lua.pop() }
        return t != LUA_TNIL
    }

    static let loop: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        return k.run(lua, once: false, noblock: false)
    }

    static let loopOnce: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        return k.run(lua, once: true, noblock: lua.toBool(2))
    }

    static let breakLoop: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        k.breakRequested = true
        return 0
    }

    static let numThreads: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        lua.push(k.liveThreadCount)
        return 1
    }

    static let method: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        guard let b = k.base else { return lua.raise("ratchet kernel is closed") }
        lua.push(String(cString: event_base_get_method(b)))
        return 1
    }

    /// get_space(thread, default): the per-thread scratch value, created on first use.
    static let getSpace: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        guard lua.type(2) == LUA_TTHREAD else { return lua.typeError(2, "thread") }
        return space(lua, k, thread: 2, premade: 3)
    }

    static func space(_ lua: Lua, _ k: Kernel, thread: Int32, premade: Int32) -> Int32 {
        guard k.spaceRef != LUA_NOREF else { return lua.raise("ratchet kernel is closed") }
        lua.pushRef(k.spaceRef)
        lua.pushValue(thread)
        if lua_rawget(lua.L, -2) != LUA_TNIL { return 1 }
        lua.pop()
        if lua.isNoneOrNil(premade) { lua.newTable() } else { lua.pushValue(premade) }
        lua.pushValue(thread)
        lua.pushValue(-2)
        lua_rawset(lua.L, -4)
        return 1
    }

    /// ratchet.now(): seconds on the monotonic clock (an extension), for deadlines that
    /// os.time's whole seconds are too coarse for and wall-clock jumps must not move.
    static let now: LuaImpl = { L, _, _ in
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        Lua(L).push(Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9)
        return 1
    }

    static let close: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        guard !k.running else { return lua.raise("cannot close a running ratchet kernel") }
        k.closeKernel(lua)
        return 0
    }

    static let toString: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let k = kernel(lua) else { return lua.typeError(1, "ratchet kernel") }
        let state = k.isClosed ? "closed" : "\(k.liveThreadCount) threads"
        lua.push("ratchet kernel (\(state)): \(String(UInt(bitPattern: lua_topointer(L, 1)), radix: 16))")
        return 1
    }
}
