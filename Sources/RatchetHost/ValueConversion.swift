import CLua

/// Why a Lua value could not become a `LuaValue` (or back).
public struct LuaConversionError: Error, CustomStringConvertible {
    public let description: String
}

/// The one place that moves `LuaValue`s on and off a Lua stack. Only non-raising API is
/// used: tables are read with lua_next and written with raw sets (no metamethods run).
struct ValueStack {
    let L: OpaquePointer
    let owner: ReferenceOwner
    /// Deeper tables are refused rather than risking the C stack (Lua's own limit for
    /// nested C calls is 200).
    static let maxDepth = 200

    /// The value at index `i` (tables copied deeply; a table met twice on one path is a cycle).
    func value(at i: Int32) throws -> LuaValue {
        var path: Set<UnsafeRawPointer> = []
        return try value(at: lua_absindex(L, i), path: &path)
    }

    private func value(at i: Int32, path: inout Set<UnsafeRawPointer>) throws -> LuaValue {
        switch lua_type(L, i) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, i) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, i) != 0 { return .integer(lua_tointegerx(L, i, nil)) }
            return .number(lua_tonumberx(L, i, nil))
        case LUA_TSTRING:
            var len = 0
            let p = lua_tolstring(L, i, &len)
            return .string(LuaString(bytes: Array(UnsafeRawBufferPointer(start: p, count: len))))
        case LUA_TTABLE:
            let id = lua_topointer(L, i)!
            guard !path.contains(id) else { throw LuaConversionError(description: "table contains itself (a cycle)") }
            guard path.count < ValueStack.maxDepth else { throw LuaConversionError(description: "table nested too deeply") }
            guard lua_checkstack(L, 3) != 0 else { throw LuaConversionError(description: "stack overflow") }
            path.insert(id)
            defer { path.remove(id) }
            var t = LuaTable()
            lua_pushnil(L)
            while lua_next(L, i) != 0 {
                let top = lua_gettop(L)
                do {
                    let k = try value(at: top - 1, path: &path)
                    t.entries[k] = try value(at: top, path: &path)
                } catch {
                    lua_settop(L, top - 2)
                    throw error
                }
                lua_settop(L, top - 1)
            }
            return .table(t)
        case LUA_TFUNCTION: return .function(reference(i))
        case LUA_TTHREAD: return .thread(reference(i))
        default: return .userdata(reference(i))  // full and light userdata
        }
    }

    private func reference(_ i: Int32) -> LuaReference {
        lua_pushvalue(L, i)
        return LuaReference(ref: luaL_ref(L, registryIndex), owner: owner)
    }

    /// The values from index `from` to the top.
    func values(from: Int32) throws -> [LuaValue] {
        let top = lua_gettop(L)
        guard from <= top else { return [] }
        var out: [LuaValue] = []
        out.reserveCapacity(Int(top - from + 1))
        for i in from...top { out.append(try value(at: i)) }
        return out
    }

    /// Pushes `v` (callers use `push(_: [LuaValue])`, which cleans up after a failure). A
    /// reference from another host cannot be pushed.
    private func push(_ v: LuaValue, depth: Int = 0) throws {
        guard lua_checkstack(L, 3) != 0 else { throw LuaConversionError(description: "stack overflow") }
        switch v {
        case .nil: lua_pushnil(L)
        case let .boolean(b): lua_pushboolean(L, b ? 1 : 0)
        case let .integer(n): lua_pushinteger(L, n)
        case let .number(d): lua_pushnumber(L, d)
        case let .string(s):
            s.bytes.withUnsafeBufferPointer { b in
                _ = lua_pushlstring(L, UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self), b.count)
            }
        case let .table(t):
            guard depth < ValueStack.maxDepth else { throw LuaConversionError(description: "table nested too deeply") }
            let seq = t.entries.keys.reduce(0) { n, k in if case .integer = k { return n + 1 }; return n }
            lua_createtable(L, Int32(clamping: seq), Int32(clamping: t.entries.count - seq))
            for (k, val) in t.entries {
                if case let .number(d) = k, d.isNaN { throw LuaConversionError(description: "table key is NaN") }
                if k == .nil { throw LuaConversionError(description: "table key is nil") }
                try push(k, depth: depth + 1)  // on failure push([LuaValue]) resets the stack
                try push(val, depth: depth + 1)
                lua_rawset(L, -3)
            }
        case let .function(r), let .userdata(r), let .thread(r):
            guard r.owner === owner else { throw LuaConversionError(description: "a \(v.typeName) of another Lua host") }
            lua_rawgeti(L, registryIndex, lua_Integer(r.ref))
        }
    }

    /// Pushes one value; on failure the stack is as it was. The caller has made room for it.
    func pushValue(_ v: LuaValue) throws {
        let top = lua_gettop(L)
        do { try push(v) } catch { lua_settop(L, top); throw error }
    }

    /// Pushes every value; on failure the stack is as it was.
    func push(_ vs: [LuaValue]) throws {
        let top = lua_gettop(L)
        guard lua_checkstack(L, Int32(clamping: vs.count + 3)) != 0 else {
            throw LuaConversionError(description: "too many values (\(vs.count))")
        }
        do { for v in vs { try push(v) } } catch { lua_settop(L, top); throw error }
    }
}
