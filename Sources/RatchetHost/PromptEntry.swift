import CLua
import Glibc

/// What one entry typed at an interactive prompt came to.
public enum PromptEntry {
    /// It compiled and ran; its values, if any, were printed.
    case ran
    /// An unfinished statement: the prompt reads another line and tries again. The error
    /// is what to report if the input ends instead.
    case incomplete(LuaError)
    /// A syntax error (the message) or a run-time error (message and traceback).
    case failed(LuaError)
}

extension LuaHost {
    /// Runs an entry of an interactive prompt as lua5.4's does: `source` is the lines typed
    /// so far, joined by "\n". The first line alone is tried as an expression first
    /// (`return source`, so `1 + 1` prints 2); otherwise it is a statement. The values of an
    /// expression are printed with the global `print`. A line may run a kernel: it is an
    /// ordinary call.
    public func runPromptEntry(_ source: String, firstLine: Bool) -> PromptEntry {
        var status = firstLine ? load("return " + source) : LUA_ERRSYNTAX
        if status != LUA_OK {
            if firstLine { lua_settop(L, -2) }
            status = load(source)
            if status == LUA_ERRSYNTAX && topIsIncompleteMarker() { return .incomplete(popError()) }
        }
        let values: Int32
        do { values = try call(loadStatus: status, args: [], keepResults: true) } catch let e as LuaError {
            return .failed(e)
        } catch { return .failed(LuaError(message: "\(error)")) }
        if values > 0 { printValues(values) }
        return .ran
    }

    /// The prompt to show: the global `_PROMPT` (`_PROMPT2` on a continuation line) through
    /// `tostring`, or "> " / ">> " as in lua5.4. A failing `__tostring` gives the default.
    public func prompt(continuation: Bool) -> String {
        let fallback = continuation ? ">> " : "> "
        guard luaL_loadstring(L, "local v = _G[...]; if v ~= nil then return tostring(v) end") == LUA_OK else {
            lua_settop(L, -2)
            return fallback
        }
        lua_pushstring(L, continuation ? "_PROMPT2" : "_PROMPT")
        guard lua_pcallk(L, 1, 1, 0, 0, nil) == LUA_OK else {
            lua_settop(L, -2)
            return fallback
        }
        defer { lua_settop(L, -2) }
        if lua_type(L, -1) == LUA_TSTRING, let p = lua_tolstring(L, -1, nil) { return String(cString: p) }
        return fallback
    }

    /// Compiles a prompt entry; lua5.4 names its chunks "stdin".
    private func load(_ source: String) -> Int32 {
        source.withCString { luaL_loadbufferx(L, $0, strlen($0), "=stdin", nil) }
    }

    /// lua.c's test for an unfinished statement: the syntax error is at the end of input.
    private func topIsIncompleteMarker() -> Bool {
        var len = 0
        guard let p = lua_tolstring(L, -1, &len) else { return false }
        let message = String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
        return message.hasSuffix("<eof>")
    }

    /// Calls the global `print` with the `count` values on top of the stack, protected (a
    /// replaced `print` may fail) as lua.c does, and pops them.
    private func printValues(_ count: Int32) {
        guard luaL_loadstring(L, "print(...)") == LUA_OK else {
            lua_settop(L, -count - 2)
            return
        }
        lua_rotate(L, -count - 1, 1)
        if lua_pcallk(L, count, 0, 0, 0, nil) != LUA_OK {
            fputs("error calling 'print' (\(popError().message))\n", stderr)
            fflush(stderr)
        }
    }
}
