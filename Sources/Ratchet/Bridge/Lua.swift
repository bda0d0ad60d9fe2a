import CLua
import CRatchetShims

/// The signature every Swift implementation of a Lua function has. `status` is LUA_OK on the
/// first call and LUA_YIELD when the kernel resumes a call that yielded with context `ctx`.
public typealias LuaImpl = @convention(c) (OpaquePointer?, Int32, Int) -> Int32

public let LUA_REGISTRYINDEX: Int32 = -1_000_000 - 1000

/// A thin, zero-cost view of a `lua_State *` that only offers API calls which cannot raise
/// (apart from out-of-memory): see the longjmp rule in the design notes.
public struct Lua {
    public let L: OpaquePointer

    @inline(__always) public init(_ L: OpaquePointer) { self.L = L }
    @inline(__always) init(_ L: OpaquePointer?) { self.L = L.unsafelyUnwrapped }

    // MARK: stack
    @inline(__always) public var top: Int32 { lua_gettop(L) }
    @inline(__always) public func setTop(_ n: Int32) { lua_settop(L, n) }
    @inline(__always) public func pop(_ n: Int32 = 1) { lua_settop(L, -n - 1) }
    /// Normalises the stack at a function's entry to exactly its `n` declared parameters:
    /// an omitted trailing argument becomes nil (so omitting it and passing nil behave the
    /// same) and extra ones are dropped, so slots above `n` are the function's own and no
    /// optional argument can be read from a value the function pushed itself. Every entry
    /// point with optional or trailing arguments calls this first. On a resumption (`status`
    /// LUA_YIELD) the stack holds the call's own state and is left alone.
    @inline(__always) public func arguments(_ n: Int32, _ status: Int32 = LUA_OK) {
        if status != LUA_YIELD { lua_settop(L, n) }
    }
    @inline(__always) public func absIndex(_ i: Int32) -> Int32 { lua_absindex(L, i) }
    @inline(__always) public func type(_ i: Int32) -> Int32 { lua_type(L, i) }
    @inline(__always) public func isNoneOrNil(_ i: Int32) -> Bool { lua_type(L, i) <= LUA_TNIL }
    @inline(__always) public func pushValue(_ i: Int32) { lua_pushvalue(L, i) }
    @inline(__always) public func remove(_ i: Int32) { lua_rotate(L, i, -1); lua_settop(L, -2) }
    @inline(__always) public func insert(_ i: Int32) { lua_rotate(L, i, 1) }
    @inline(__always) public func replace(_ i: Int32) { lua_copy(L, -1, i); lua_settop(L, -2) }
    public func typeName(_ i: Int32) -> String { String(cString: lua_typename(L, lua_type(L, i))) }

    // MARK: push
    @inline(__always) public func pushNil() { lua_pushnil(L) }
    @inline(__always) public func push(_ b: Bool) { lua_pushboolean(L, b ? 1 : 0) }
    @inline(__always) public func push(_ n: Int) { lua_pushinteger(L, lua_Integer(n)) }
    @inline(__always) public func push(_ n: Int32) { lua_pushinteger(L, lua_Integer(n)) }
    @inline(__always) public func push(_ d: Double) { lua_pushnumber(L, d) }
    public func push(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = lua_pushlstring(L, UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self), b.count) }
    }
    @inline(__always) public func push(_ s: StaticString) {
        _ = lua_pushlstring(L, UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self), s.utf8CodeUnitCount)
    }
    @inline(__always) public func push(bytes: UnsafeRawPointer?, count: Int) {
        _ = lua_pushlstring(L, bytes?.assumingMemoryBound(to: CChar.self), count)
    }
    @inline(__always) public func push(lightUserdata p: UnsafeMutableRawPointer?) { lua_pushlightuserdata(L, p) }
    /// Pushes a Lua function backed by a Swift implementation (through the C trampoline).
    @inline(__always) public func push(function impl: LuaImpl) {
        ratchet_push_impl(L, impl)
    }

    // MARK: read
    @inline(__always) public func toBool(_ i: Int32) -> Bool { lua_toboolean(L, i) != 0 }
    /// A number argument, or nil if the value is not a number (strings are not converted).
    @inline(__always) public func number(_ i: Int32) -> Double? {
        lua_type(L, i) == LUA_TNUMBER ? lua_tonumberx(L, i, nil) : nil
    }
    /// An integer argument (a float with an integral value counts), or nil.
    @inline(__always) public func integer(_ i: Int32) -> Int? {
        guard lua_type(L, i) == LUA_TNUMBER else { return nil }
        var ok: Int32 = 0
        let v = lua_tointegerx(L, i, &ok)
        return ok != 0 ? Int(v) : nil
    }
    /// The bytes of a string argument (not a number), valid while the value stays on the stack.
    @inline(__always) public func bytes(_ i: Int32) -> UnsafeRawBufferPointer? {
        guard lua_type(L, i) == LUA_TSTRING else { return nil }
        var len = 0
        let p = lua_tolstring(L, i, &len)
        return UnsafeRawBufferPointer(start: p, count: len)
    }
    public func string(_ i: Int32) -> String? {
        guard let b = bytes(i) else { return nil }
        return String(decoding: b, as: UTF8.self)
    }
    /// Like `tostring`: strings and numbers, else nil.
    public func stringOrNumber(_ i: Int32) -> String? {
        let t = lua_type(L, i)
        guard t == LUA_TSTRING || t == LUA_TNUMBER else { return nil }
        var len = 0
        let p = lua_tolstring(L, i, &len)
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    // MARK: tables (raw access never calls metamethods, so it never raises)
    @inline(__always) public func newTable(narr: Int32 = 0, nrec: Int32 = 0) { lua_createtable(L, narr, nrec) }
    /// t[key] = top value (pops it). Uses raw access.
    public func setField(_ t: Int32, _ key: StaticString) {
        let t = absIndex(t)
        push(key); lua_rotate(L, -2, 1)
        lua_rawset(L, t)
    }
    public func setField(_ t: Int32, _ key: String) {
        let t = absIndex(t)
        push(key); lua_rotate(L, -2, 1)
        lua_rawset(L, t)
    }
    /// Pushes t[key] (raw) and returns its type.
    @discardableResult public func getField(_ t: Int32, _ key: StaticString) -> Int32 {
        let t = absIndex(t)
        push(key)
        return lua_rawget(L, t)
    }
    @discardableResult public func getField(_ t: Int32, _ key: String) -> Int32 {
        let t = absIndex(t)
        push(key)
        return lua_rawget(L, t)
    }
    @inline(__always) @discardableResult public func rawGet(_ t: Int32, _ n: Int) -> Int32 { lua_rawgeti(L, t, lua_Integer(n)) }
    @inline(__always) public func rawSet(_ t: Int32, _ n: Int) { lua_rawseti(L, t, lua_Integer(n)) }
    @inline(__always) public func rawLen(_ i: Int32) -> Int { Int(lua_rawlen(L, i)) }

    /// Registers functions into the table on top of the stack.
    public func setFunctions(_ fns: [(StaticString, LuaImpl)]) {
        for (name, impl) in fns {
            push(function: impl)
            setField(-2, name)
        }
    }

    /// Pushes a module table holding `fns`; returns 1 (the value `luaopen_*` returns).
    @discardableResult public func pushLibrary(_ fns: [(StaticString, LuaImpl)]) -> Int32 {
        newTable(nrec: Int32(fns.count))
        setFunctions(fns)
        return 1
    }

    // MARK: registry
    @inline(__always) public func ref() -> Int32 { luaL_ref(L, LUA_REGISTRYINDEX) }
    @inline(__always) public func unref(_ r: Int32) { if r > 0 { luaL_unref(L, LUA_REGISTRYINDEX, r) } }
    @inline(__always) @discardableResult public func pushRef(_ r: Int32) -> Int32 { lua_rawgeti(L, LUA_REGISTRYINDEX, lua_Integer(r)) }

    /// Creates (or fetches) the metatable registered under `name`, leaving it on the stack.
    /// Returns true when it was created now. It is also registered under the address of
    /// `name`, so `testUserdata` can find it without hashing the name on every call.
    /// `shownAs` is the type's name in messages (`__type`; see `typeError`): `__name` must
    /// stay the registry name the reference documents, which users should not meet in an
    /// argument error.
    @discardableResult public func newMetatable(_ name: StaticString, shownAs: StaticString? = nil) -> Bool {
        guard luaL_newmetatable(L, cString(name)) != 0 else { return false }
        lua_pushvalue(L, -1)
        lua_rawsetp(L, LUA_REGISTRYINDEX, UnsafeRawPointer(name.utf8Start))
        if let shownAs { push(shownAs); setField(-2, "__type") }
        return true
    }
    @inline(__always) public func setMetatable(_ name: StaticString) {
        if lua_rawgetp(L, LUA_REGISTRYINDEX, UnsafeRawPointer(name.utf8Start)) == LUA_TNIL {
            lua_settop(L, -2)
            luaL_setmetatable(L, cString(name))
        } else {
            lua_setmetatable(L, -2)
        }
    }
    /// The userdata at `i` if its metatable is `name`'s (like luaL_testudata, but keyed by
    /// address: luaL_testudata interns the name string, a strcmp per call on the hot path).
    @inline(__always) public func testUserdata(_ i: Int32, _ name: StaticString) -> UnsafeMutableRawPointer? {
        guard lua_type(L, i) == LUA_TUSERDATA, lua_getmetatable(L, i) != 0 else { return nil }
        if lua_rawgetp(L, LUA_REGISTRYINDEX, UnsafeRawPointer(name.utf8Start)) == LUA_TNIL {
            lua_settop(L, -3)
            return luaL_testudata(L, i, cString(name))
        }
        let same = lua_rawequal(L, -1, -2) != 0
        lua_settop(L, -3)
        return same ? lua_touserdata(L, i) : nil
    }

    // MARK: calling Lua (protected only)
    /// lua_pcall; returns the status (LUA_OK or an error code, error value on top).
    @inline(__always) public func pcall(_ nargs: Int32, _ nresults: Int32) -> Int32 {
        lua_pcallk(L, nargs, nresults, 0, 0, nil)
    }
}

@inline(__always) func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
