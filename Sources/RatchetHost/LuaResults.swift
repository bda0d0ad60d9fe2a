import CLua

/// Where a function registered in the direct form puts its results: each `append` pushes one
/// value straight onto the calling Lua code's stack (no array in between). Noncopyable and
/// lent to the function for the call only.
public struct LuaResults: ~Copyable {
    @usableFromInline let L: OpaquePointer
    @usableFromInline unowned(unsafe) let host: LuaHost
    /// How many results the function has appended.
    public var count: Int { Int(appended) }
    @usableFromInline var appended: Int32 = 0
    /// How many results fit without asking Lua for room: a C function gets LUA_MINSTACK (20)
    /// free slots; past those, each 20 more are asked for with lua_checkstack (which never
    /// raises).
    @usableFromInline var capacity: Int32 = 20
    /// The stack could not grow: the call fails with "too many results".
    @usableFromInline var overflowed = false

    init(_ L: OpaquePointer, host: LuaHost) {
        self.L = L
        self.host = host
    }

    @inlinable @inline(__always) mutating func reserve() -> Bool {
        appended < capacity || grow()
    }

    @usableFromInline mutating func grow() -> Bool {
        guard !overflowed, lua_checkstack(L, 20) != 0 else { overflowed = true; return false }
        capacity = appended + 20
        return true
    }

    @inlinable public mutating func append(_ n: Int64) {
        guard reserve() else { return }
        lua_pushinteger(L, n)
        appended &+= 1
    }

    @inlinable public mutating func append(_ n: Int) { append(Int64(n)) }

    @inlinable public mutating func append(_ d: Double) {
        guard reserve() else { return }
        lua_pushnumber(L, d)
        appended &+= 1
    }

    @inlinable public mutating func append(_ b: Bool) {
        guard reserve() else { return }
        lua_pushboolean(L, b ? 1 : 0)
        appended &+= 1
    }

    public mutating func append(_ s: String) {
        guard reserve() else { return }
        var s = s
        s.withUTF8 { b in _ = lua_pushlstring(L, UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self), b.count) }
        appended &+= 1
    }

    /// A string of any bytes.
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        guard reserve() else { return }
        _ = lua_pushlstring(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        appended &+= 1
    }

    @inlinable public mutating func appendNil() {
        guard reserve() else { return }
        lua_pushnil(L)
        appended &+= 1
    }

    /// Any value (tables are copied into a new Lua table). Throws for a table nested deeper
    /// than 200 levels or a reference into another host.
    public mutating func append(_ v: LuaValue) throws {
        switch v {
        case .nil: appendNil()
        case let .boolean(b): append(b)
        case let .integer(n): append(n)
        case let .number(d): append(d)
        default:
            guard reserve() else { return }
            try host.stack(on: L).pushValue(v)
            appended &+= 1
        }
    }

    public mutating func append(contentsOf vs: [LuaValue]) throws {
        for v in vs { try append(v) }
    }
}
