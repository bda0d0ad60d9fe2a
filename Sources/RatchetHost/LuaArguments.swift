import CLua

/// The arguments of a call from Lua to a function registered in the direct form
/// (`register(_:in:_:)` with `(borrowing LuaArguments, inout LuaResults)`), read straight from
/// the Lua stack: nothing is copied until the function asks for it, and asking for an
/// integer or a number copies nothing at all. The typed accessors read arguments as Lua's
/// own C functions do (`luaL_checkinteger`, `luaL_checkstring`...): a numeral string is a
/// number and a number is a string. (The `[LuaValue]` form hands over the values as they
/// are; its helpers convert nothing.)
///
/// It is noncopyable and only lent to the function, so it cannot outlive the call (the stack
/// slots it reads belong to the call). Positions are 0-based, as in the `[LuaValue]` helpers.
public struct LuaArguments: ~Copyable {
    // Inlinable accessors: an integer argument costs the caller two Lua API calls and a
    // compare, with no call into this module (docs/embedding.md, "Cost").
    @usableFromInline let L: OpaquePointer
    @usableFromInline unowned(unsafe) let host: LuaHost  // the host closes the state (and so every call) first
    /// How many arguments Lua passed (trailing nils included: `f(1, nil)` has two).
    public let count: Int

    init(_ L: OpaquePointer, host: LuaHost, count: Int) {
        self.L = L
        self.host = host
        self.count = count
    }

    /// The stack index of argument `index`, nil when Lua passed none there.
    @inlinable @inline(__always) func slot(_ index: Int) -> Int32? {
        index >= 0 && index < count ? Int32(truncatingIfNeeded: index + 1) : nil
    }

    /// Whether argument `index` is nil or absent.
    public func isNil(at index: Int) -> Bool {
        guard let i = slot(index) else { return true }
        return lua_type(L, i) == LUA_TNIL
    }

    /// Argument `index` as an integer, or an `ArgumentError` that reads like Lua's. As in
    /// Lua's own functions (`luaL_checkinteger`), a float with an integral value and a
    /// string holding a numeral count.
    @inlinable @inline(__always) public func integer(at index: Int) throws -> Int64 {
        // lua_tointegerx gives 0 for what does not convert, so any other value needs no
        // second look (and no flag whose address would cost the caller a stack protector).
        if let i = slot(index) {
            let n = lua_tointegerx(L, i, nil)
            if n != 0 { return n }
        }
        return try zeroInteger(at: index)
    }

    /// Argument `index` as a number (integers converted; a string holding a numeral counts,
    /// as in `luaL_checknumber`).
    @inlinable @inline(__always) public func number(at index: Int) throws -> Double {
        if let i = slot(index) {
            let d = lua_tonumberx(L, i, nil)
            if d != 0 { return d }
        }
        return try zeroNumber(at: index)
    }

    /// An argument that read as 0: a zero, or an error.
    @usableFromInline func zeroInteger(at index: Int) throws -> Int64 {
        var ok: Int32 = 0
        if let i = slot(index) { _ = lua_tointegerx(L, i, &ok) }
        guard ok != 0 else { throw argumentError(index, "integer") }
        return 0
    }

    @usableFromInline func zeroNumber(at index: Int) throws -> Double {
        var ok: Int32 = 0
        if let i = slot(index) { _ = lua_tonumberx(L, i, &ok) }
        guard ok != 0 else { throw argumentError(index, "number") }
        return 0
    }

    /// Argument `index` as a string (its bytes decoded as UTF-8). As in `luaL_checkstring`, a
    /// number counts (and becomes a string in its stack slot).
    public func string(at index: Int) throws -> String {
        try withBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// `body(the bytes of string argument index)`, without copying them; the buffer is valid
    /// only inside `body`. A number counts, as in `string(at:)`.
    public func withBytes<R>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if let i = slot(index), lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER {
            var len = 0
            let p = lua_tolstring(L, i, &len)
            return try body(UnsafeRawBufferPointer(start: p, count: len))
        }
        throw argumentError(index, "string")
    }

    /// Argument `index` as a table (copied, as `LuaValue.table`).
    public func table(at index: Int) throws -> LuaTable {
        if let i = slot(index), lua_type(L, i) == LUA_TTABLE, case let .table(t) = try value(at: index) { return t }
        throw argumentError(index, "table")
    }

    /// Argument `index` as a `LuaValue` (`.nil` when absent).
    public func value(at index: Int) throws -> LuaValue {
        guard let i = slot(index) else { return .nil }
        return try host.stack(on: L).value(at: i)
    }

    /// Every argument as a `LuaValue`.
    public func values() throws -> [LuaValue] {
        try host.stack(on: L).values(from: 1)
    }

    /// "bad argument #2 to 'add' (integer expected, got string)", as Lua words it.
    func argumentError(_ index: Int, _ expected: String) -> LuaHost.ArgumentError {
        guard let i = slot(index) else { return .expected(expected, at: index, got: "no value") }
        if expected == "integer" && lua_isnumber(L, i) != 0 { return .notAnInteger(at: index) }
        return .expected(expected, at: index, got: String(cString: lua_typename(L, lua_type(L, i))))
    }
}

extension LuaHost.ArgumentError {
    /// The wording both forms of host function use for a wrong argument.
    static func expected(_ what: String, at index: Int, got: String) -> Self {
        Self(position: index + 1, "\(what) expected, got \(got)")
    }
    static func notAnInteger(at index: Int) -> Self {
        Self(position: index + 1, "number has no integer representation")
    }
}
