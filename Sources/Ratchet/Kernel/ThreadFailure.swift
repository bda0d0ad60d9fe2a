import CLua
import Glibc

/// Where a thread's error happened, for whoever reads the error: the traceback of the
/// thread's stack as it was when the error ended it.
///
/// The kernel resets a failed coroutine (closing its to-be-closed variables) before the
/// error leaves `loop()`, so the frames are gone by the time a message handler (lua5.4's,
/// the runner's) prints anything. Before the reset, the kernel records the traceback here
/// (a weak-keyed registry table, thread → text), where `tostring` of a ratchet error finds
/// it. Other error values (strings, tables) cannot carry it without being changed, so their
/// traceback is written to stderr as the error leaves `loop()`.
enum ThreadFailure {
    private static let tracebacksKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    private static let handlingKey = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// Records the traceback of failed coroutine `co` (the thread value is at `thread`),
    /// before the kernel resets it; the error value is at `error`. Writes it to stderr when
    /// the error is not a ratchet error (whose `tostring` shows the recorded traceback).
    static func record(_ lua: Lua, thread: Int32, co: OpaquePointer, error: Int32) {
        let thread = lua.absIndex(thread), error = lua.absIndex(error)
        var ar = lua_Debug()
        guard lua_getstack(co, 0, &ar) != 0 else { return }  // reset already (an alarm): no frames
        luaL_traceback(lua.L, co, nil, 0)
        if !isRatchetError(lua, error) { report(lua, error: error, traceback: -1) }
        if lua_rawgetp(lua.L, LUA_REGISTRYINDEX, tracebacksKey) != LUA_TTABLE {
            lua.pop()
            lua.newTable()
            lua.newTable(); lua.push("k" as StaticString); lua.setField(-2, "__mode")
            lua_setmetatable(lua.L, -2)
            lua.pushValue(-1)
            lua_rawsetp(lua.L, LUA_REGISTRYINDEX, tracebacksKey)
        }
        lua.pushValue(thread)
        lua.pushValue(-3)
        lua_rawset(lua.L, -3)
        lua.pop(2)
    }

    /// Pushes the traceback `tostring` of a ratchet error appends for the thread at `i`, and
    /// returns true; false (nothing pushed) when there is none to show: the thread is still
    /// running or suspended (the frames that raised are gone, so the current stack would
    /// only mislead), or an error handler is being given this very thread (it prints the
    /// traceback itself: `debug.traceback(thread, tostring(err))` shows it once).
    static func pushTraceback(_ lua: Lua, thread i: Int32) -> Bool {
        let i = lua.absIndex(i)
        guard let co = lua_tothread(lua.L, i) else { return false }
        lua_rawgetp(lua.L, LUA_REGISTRYINDEX, handlingKey)
        let handled = lua_rawequal(lua.L, -1, i) != 0
        lua.pop()
        if handled { return false }
        if lua_rawgetp(lua.L, LUA_REGISTRYINDEX, tracebacksKey) == LUA_TTABLE {
            lua.pushValue(i)
            if lua_rawget(lua.L, -2) == LUA_TSTRING {
                lua.remove(-2)
                return true
            }
            lua.pop()
        }
        lua.pop()
        // A coroutine that died with an error keeps its stack until it is reset or closed
        // (a plain coroutine.resume that failed, or a kernel thread before its reset).
        guard co != lua.L, lua_status(co) > LUA_YIELD else { return false }
        luaL_traceback(lua.L, co, nil, 0)
        return true
    }

    /// Runs `body` with the thread at `thread` marked as the one an error handler is given.
    static func handling<R>(_ lua: Lua, thread: Int32, _ body: () -> R) -> R {
        lua_rawgetp(lua.L, LUA_REGISTRYINDEX, handlingKey)  // the outer mark (nested kernels)
        lua.pushValue(thread < 0 ? thread - 1 : thread)
        lua_rawsetp(lua.L, LUA_REGISTRYINDEX, handlingKey)
        let saved = lua.ref()
        let r = body()
        lua.pushRef(saved)
        lua_rawsetp(lua.L, LUA_REGISTRYINDEX, handlingKey)
        lua.unref(saved)
        return r
    }

    private static func isRatchetError(_ lua: Lua, _ i: Int32) -> Bool {
        guard lua.type(i) == LUA_TTABLE else { return false }
        lua.getField(i, "type")
        defer { lua.pop() }
        return lua.string(-1) == "ratchet_error"
    }

    /// Writes "ratchet: error in a thread: <message>\n<traceback>" to stderr, where lua5.4
    /// writes its warnings (and unlike `warn`, not off by default).
    private static func report(_ lua: Lua, error: Int32, traceback: Int32) {
        let tb = lua.string(traceback) ?? ""
        var message: String
        if let s = lua.stringOrNumber(error) {
            message = s
        } else {
            message = "(error object is a \(lua.typeName(error)) value)"
            if luaL_getmetafield(lua.L, error, "__tostring") != LUA_TNIL {
                lua.pushValue(error)
                if lua.pcall(1, 1) == LUA_OK, let s = lua.string(-1) { message = s }
                lua.pop()
            }
        }
        Stderr.write("ratchet: error in a thread, leaving loop(): \(message)\n\(tb)\n")
    }
}

/// The process's stderr, written at once (stdio's buffer would order it after later output).
enum Stderr {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { b in
            var off = 0
            while off < b.count {
                let n = Glibc.write(2, b.baseAddress! + off, b.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; break }
                off += n
            }
        }
    }
}
