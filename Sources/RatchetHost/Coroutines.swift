import CLua
import CRatchetShims
import Ratchet

/// `coroutine.resume`, `coroutine.wrap` and `coroutine.close` of a host: Lua's own, except
/// that the coroutine they run is published in the host's watch slot while it runs, as the
/// kernel publishes the ratchet thread it resumes. A Lua hook is per coroutine, so without
/// this the time limit's watchdog (and `stop()`) armed the ratchet thread that called
/// `resume` and never reached the loop running inside the coroutine.
///
/// Installed in the coroutine library table before any script runs; a script that replaces
/// the globals only changes its own calls, and the host's limits do not depend on them
/// (a sandbox has no debug library to reach the originals or remove hooks). They run behind
/// the trampoline like every Swift function: Lua code runs only inside `lua_resume` (or
/// `lua_resetthread`, for to-be-closed variables), whose errors never unwind past it, and
/// the errors `wrap` propagates are raised by the trampoline.
enum Coroutines {
    static func install(_ host: LuaHost) {
        let L = host.L
        let lua = Lua(L)
        lua_getfield(L, registryIndex, LUA_LOADED_TABLE)
        guard lua.getField(-1, "coroutine") == LUA_TTABLE else { return lua.pop(2) }
        lua.setFunctions([("resume", resume), ("wrap", wrap), ("close", close)])
        lua.pop(2)
    }

    /// `body()` (which runs Lua code in `co`) with `co` published for the watchdog and the
    /// memory limit on; back in `L`, if the time or instruction limit (or stop()) fired
    /// meanwhile, arms the hook on `L` for every instruction, so the code that resumed `co`
    /// stops as well instead of carrying on with the error as a value.
    private static func watching<R>(_ co: OpaquePointer, from L: OpaquePointer, _ body: () -> R) -> R {
        let inSwift = ratchet_enter_swift(0)
        let previous = ratchet_watch_enter(co)
        let r = body()
        ratchet_watch_leave(previous)
        _ = ratchet_enter_swift(inSwift)
        let lim = ratchet_limits_of(L).unsafelyUnwrapped
        if lim.pointee.expired != 0 || lim.pointee.hit == RATCHET_LIMIT_INSTRUCTIONS {
            lua_sethook(L, ratchet_limit_hook, LUA_MASKCOUNT, 1)
        }
        return r
    }

    /// Moves `narg` values from `L` to `co` and resumes it; returns the number of values it
    /// yielded or returned (moved to `L`), or -1 with the error message on `L`'s top.
    private static func resumeValues(_ L: OpaquePointer, _ co: OpaquePointer, _ narg: Int32) -> Int32 {
        guard lua_checkstack(co, narg) != 0 else {
            Lua(L).push("too many arguments to resume" as StaticString)
            return -1
        }
        lua_xmove(L, co, narg)
        var nres: Int32 = 0
        let status = watching(co, from: L) { lua_resume(co, L, narg, &nres) }
        guard status == LUA_OK || status == LUA_YIELD else {
            lua_xmove(co, L, 1)
            return -1
        }
        guard lua_checkstack(L, nres + 1) != 0 else {
            lua_settop(co, -nres - 1)
            Lua(L).push("too many results to resume" as StaticString)
            return -1
        }
        lua_xmove(co, L, nres)
        return nres
    }

    /// coroutine.resume(co, ...): true and what co yields or returns, or false and the error.
    private static let resume: LuaImpl = { L, _, _ in
        let L = L.unsafelyUnwrapped
        guard let co = lua_tothread(L, 1) else { return Lua(L).typeError(1, "thread") }
        let n = resumeValues(L, co, lua_gettop(L) - 1)
        lua_pushboolean(L, n < 0 ? 0 : 1)
        lua_rotate(L, n < 0 ? -2 : -(n + 1), 1)
        return n < 0 ? 2 : n + 1
    }

    /// coroutine.wrap(f): a function that resumes a new coroutine running f.
    private static let wrap: LuaImpl = { L, _, _ in
        let L = L.unsafelyUnwrapped
        guard lua_type(L, 1) == LUA_TFUNCTION else { return Lua(L).typeError(1, "function") }
        let co = lua_newthread(L).unsafelyUnwrapped  // copies this coroutine's hook (the instruction limit)
        lua_pushvalue(L, 1)
        lua_xmove(L, co, 1)
        ratchet_push_impl_upvalues(L, wrapped, 1)
        return 1
    }

    /// A function made by wrap: resumes its coroutine; an error in it is closed over (its
    /// to-be-closed variables) and raised in the caller, with the caller's position.
    private static let wrapped: LuaImpl = { L, _, _ in
        let L = L.unsafelyUnwrapped
        let co = lua_tothread(L, ratchetUpvalue(2)).unsafelyUnwrapped
        let n = resumeValues(L, co, lua_gettop(L))
        if n >= 0 { return n }
        var status = lua_status(co)
        if status != LUA_OK && status != LUA_YIELD {
            status = watching(co, from: L) { lua_resetthread(co) }
            lua_xmove(co, L, 1)
        }
        if status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING {
            luaL_where(L, 1)
            lua_rotate(L, -2, 1)
            lua_concat(L, 2)
        }
        return RATCHET_RAISE
    }

    /// coroutine.close(co): closes a suspended or dead coroutine (running its pending
    /// to-be-closed variables' __close, which is Lua code, in it).
    private static let close: LuaImpl = { L, _, _ in
        let L = L.unsafelyUnwrapped
        guard let co = lua_tothread(L, 1) else { return Lua(L).typeError(1, "thread") }
        if let state = busyState(L, co) { return Lua(L).raise("cannot close a \(state) coroutine") }
        let status = watching(co, from: L) { lua_resetthread(co) }
        if status == LUA_OK {
            lua_pushboolean(L, 1)
            return 1
        }
        lua_pushboolean(L, 0)
        lua_xmove(co, L, 1)
        return 2
    }

    /// "running" or "normal" for a coroutine that cannot be closed, nil for a suspended or
    /// dead one (coroutine.status's reading).
    private static func busyState(_ L: OpaquePointer, _ co: OpaquePointer) -> String? {
        if L == co { return "running" }
        guard lua_status(co) == LUA_OK else { return nil }
        var ar = lua_Debug()
        return lua_getstack(co, 0, &ar) != 0 ? "normal" : nil
    }
}
