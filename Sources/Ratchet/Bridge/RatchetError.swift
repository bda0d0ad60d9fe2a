import CLua
import Glibc

/// `ratchet.error`: the structured error object every failure of the library is raised as.
/// This file is the one place that builds them; `Lua.raiseErrno` and `Lua.raiseError` are the
/// helpers every event source uses.
enum RatchetError {
    static let metatable: StaticString = "ratchet_error_meta"

    /// Pushes a new error table. `thread` defaults to the running coroutine (absent on the
    /// main state), like the reference. `file`/`line` name the Lua code that made the call.
    static func push(_ lua: Lua, description: String, code: String?, function: String?,
                     syscall: String? = nil, errno: Int32? = nil, callerLevel: Int32 = 1) {
        lua.newTable(nrec: 9)
        lua.push("ratchet_error" as StaticString); lua.setField(-2, "type")
        lua.push(description); lua.setField(-2, "description")
        if let code { lua.push(code); lua.setField(-2, "code") }
        if let function { lua.push(function); lua.setField(-2, "function") }
        if callerLevel > 0 {
            var ar = lua_Debug()
            if lua_getstack(lua.L, callerLevel, &ar) != 0, lua_getinfo(lua.L, "Sl", &ar) != 0, ar.currentline > 0 {
                let src = withUnsafeBytes(of: &ar.short_src) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                lua.push(src); lua.setField(-2, "file")
                lua.push(Int(ar.currentline)); lua.setField(-2, "line")
            }
        }
        if let syscall { lua.push(syscall); lua.setField(-2, "syscall") }
        if let errno { lua.push(Int(errno)); lua.setField(-2, "errno") }
        if lua_pushthread(lua.L) == 1 {
            lua.pop()  // the main state: no thread field
        } else {
            lua.setField(-2, "thread")
        }
        lua.setMetatable(metatable)
    }

    // MARK: the module
    static func open(_ lua: Lua) -> Int32 {
        if lua.newMetatable(metatable, shownAs: "ratchet.error") {
            lua.newTable()
            lua.setFunctions([("is", is_), ("get_string", getString)])
            lua.setField(-2, "__index")
            lua.push(function: toString); lua.setField(-2, "__tostring")
        }
        lua.pop()
        return lua.pushLibrary([("new", new), ("is", is_)])
    }

    /// ratchet.error.new(description, code, func, file, line, syscall, errno)
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(7)
        guard let desc = lua.stringOrNumber(1) else { return lua.typeError(1, "string") }
        lua.newTable(nrec: 9)
        lua.push("ratchet_error" as StaticString); lua.setField(-2, "type")
        lua.push(desc); lua.setField(-2, "description")
        let names: [StaticString] = ["code", "function", "file", "line", "syscall", "errno"]
        for (i, name) in names.enumerated() where !lua.isNoneOrNil(Int32(i + 2)) {
            lua.pushValue(Int32(i + 2)); lua.setField(-2, name)
        }
        if lua_pushthread(L) == 1 { lua.pop() } else { lua.setField(-2, "thread") }
        lua.setMetatable(metatable)
        return 1
    }

    /// is(err, code): strings compare directly; ratchet errors compare their code.
    static let is_: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        let t = lua.type(1)
        if t == LUA_TSTRING || t == LUA_TNUMBER {
            lua.push(lua_rawequal(L, 1, 2) != 0 || lua.stringOrNumber(1) == lua.stringOrNumber(2))
            return 1
        }
        guard t == LUA_TTABLE else {
            if t <= LUA_TNIL { return lua.raise("attempt to index a nil value") }
            lua.push(false); return 1
        }
        lua.getField(1, "type")
        let isErr = lua.string(-1) == "ratchet_error"
        lua.pop()
        guard isErr else { lua.push(false); return 1 }
        lua.getField(1, "code")
        lua.push(lua_rawequal(L, -1, 2) != 0)
        return 1
    }

    static func string(_ lua: Lua, _ i: Int32) -> String {
        lua.getField(i, "description"); let desc = lua.stringOrNumber(-1) ?? ""; lua.pop()
        lua.getField(i, "function"); let fn = lua.stringOrNumber(-1); lua.pop()
        if let fn { return "\(fn): \(desc)" }
        lua.getField(i, "file"); let file = lua.stringOrNumber(-1); lua.pop()
        if let file {
            lua.getField(i, "line"); let line = lua.stringOrNumber(-1) ?? "?"; lua.pop()
            return "\(file):\(line): \(desc)"
        }
        return desc
    }

    static let getString: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "ratchet.error") }
        lua.push(string(lua, 1))
        return 1
    }

    static let toString: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "ratchet.error") }
        lua.push(string(lua, 1))
        if lua.getField(1, "thread") == LUA_TTHREAD, ThreadFailure.pushTraceback(lua, thread: -1) {
            lua.remove(-2)
            lua.push("\n" as StaticString)
            lua.insert(-2)
            lua_concat(L, 3)
        } else {
            lua.pop()
        }
        return 1
    }
}

extension Lua {
    /// Raises a ratchet error for `errno`: code its symbolic name, description strerror's text,
    /// or `description` where a message naming the object (a path, a program) says more.
    public func raiseErrno(_ function: StaticString, _ syscall: StaticString, _ errnoValue: Int32,
                           description: String? = nil) -> Int32 {
        RatchetError.push(self, description: description ?? Errno.description(errnoValue),
                          code: Errno.name(errnoValue).map { "\($0)" },
                          function: "\(function)", syscall: "\(syscall)", errno: errnoValue)
        return Status.raise
    }

    /// Raises a ratchet error with a ratchet code (ETIMEDOUT, DEADLOCK, …) and no errno,
    /// except that codes naming an errno also get the number, so `err.errno` is useful.
    public func raiseError(_ function: String, _ code: String, _ description: String,
                           syscall: String? = nil) -> Int32 {
        RatchetError.push(self, description: description, code: code, function: function,
                          syscall: syscall, errno: Errno.number(code))
        return Status.raise
    }

    /// ETIMEDOUT "Timed out on <what>." with `what` (recv, connect, …) as the syscall.
    public func raiseTimeout(_ function: String, _ what: String) -> Int32 {
        raiseError(function, "ETIMEDOUT", "Timed out on \(what).", syscall: what)
    }
}

extension Errno {
    static func number(_ code: String) -> Int32? {
        switch code {
        case "ETIMEDOUT": return ETIMEDOUT
        case "EBADF": return EBADF
        case "ENOENT": return ENOENT
        case "EINVAL": return EINVAL
        case "ECONNRESET": return ECONNRESET
        case "EPIPE": return EPIPE
        case "EACCES": return EACCES
        default: return nil
        }
    }
}
