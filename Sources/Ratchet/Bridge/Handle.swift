import CLua

/// Swift objects exposed to Lua as full userdata. The userdata holds one retained reference;
/// `__gc` releases it once (releasing twice is harmless). Every handle type (kernel, socket,
/// TLS session, ZeroMQ socket, …) goes through this one path.
public protocol LuaHandle: AnyObject {
    static var metatableName: StaticString { get }
    /// The type's name in messages ("ratchet.socket"), the one its argument checks expect.
    static var shownName: StaticString { get }
    /// Called from `__gc` and `__close` before the reference is dropped; must be idempotent.
    func close(_ lua: Lua)
}

extension LuaHandle {
    /// Types that name no other show their registry name.
    public static var shownName: StaticString { metatableName }

    /// Pushes a new userdata for `obj` with `uservalues` user values. The userdata holds
    /// the object and its type's tag (the address of `metatableName`), which `get` checks.
    public static func push(_ lua: Lua, _ obj: Self, uservalues: Int32 = 0) {
        let p = lua_newuserdatauv(lua.L, handleSize, uservalues)!
        p.storeBytes(of: Unmanaged.passRetained(obj).toOpaque(), as: UnsafeMutableRawPointer?.self)
        p.storeBytes(of: UnsafeRawPointer(metatableName.utf8Start), toByteOffset: handleTagOffset,
                     as: UnsafeRawPointer.self)
        lua.setMetatable(metatableName)
    }

    /// The object behind argument `i`, or nil when it is not this kind of handle.
    ///
    /// The type check reads the tag stored in the userdata instead of comparing metatables
    /// (which costs a registry lookup, ~300 instructions per method call in callgrind):
    /// Lua code cannot write a userdata's memory, so only C code could forge the tag.
    @inline(__always) public static func get(_ lua: Lua, _ i: Int32) -> Self? {
        guard let obj = object(lua, i) else { return nil }
        return Unmanaged<Self>.fromOpaque(obj).takeUnretainedValue()
    }

    /// `body(object behind argument i)`, or nil when it is not this kind of handle. Unlike
    /// `get`, no retain/release pair: the userdata on the stack keeps the object alive for
    /// the call (for methods called once per message).
    @inline(__always) public static func with<R>(_ lua: Lua, _ i: Int32, _ body: (Self) -> R) -> R? {
        guard let obj = object(lua, i) else { return nil }
        return Unmanaged<Self>.fromOpaque(obj)._withUnsafeGuaranteedRef(body)
    }

    @inline(__always) private static func object(_ lua: Lua, _ i: Int32) -> UnsafeMutableRawPointer? {
        // lua_touserdata is nil for anything but userdata, and lua_rawlen is 0 for a light one.
        guard let p = lua_touserdata(lua.L, i), lua_rawlen(lua.L, i) == lua_Unsigned(handleSize),
              p.load(fromByteOffset: handleTagOffset, as: UnsafeRawPointer.self) == UnsafeRawPointer(metatableName.utf8Start)
        else { return nil }
        return p.load(as: UnsafeMutableRawPointer?.self)
    }

    /// Creates the metatable with `methods` as `__index`, plus `__gc`, `__close`, `__tostring`,
    /// `__name` and any further `metamethods`. Leaves the stack as it was.
    public static func registerMetatable(_ lua: Lua, methods: [(StaticString, LuaImpl)],
                                         tostring: LuaImpl? = nil,
                                         metamethods: [(StaticString, LuaImpl)] = []) {
        defer { lua.pop() }  // the metatable, new or already registered
        guard lua.newMetatable(metatableName, shownAs: shownName) else { return }
        lua.newTable(nrec: Int32(methods.count))
        lua.setFunctions(methods)
        lua.setField(-2, "__index")
        lua.push(function: handleGC); lua.setField(-2, "__gc")
        lua.push(function: handleClose); lua.setField(-2, "__close")
        lua.push(function: tostring ?? handleToString); lua.setField(-2, "__tostring")
        lua.setFunctions(metamethods)
    }
}

/// A handle userdata: the retained object, then the type tag.
private var handleTagOffset: Int { MemoryLayout<UnsafeMutableRawPointer?>.size }
private var handleSize: Int { 2 * MemoryLayout<UnsafeMutableRawPointer?>.size }

/// `__gc`: close the object, then drop the userdata's reference.
private let handleGC: LuaImpl = { L, _, _ in
    let lua = Lua(L)
    guard lua.type(1) == LUA_TUSERDATA, let p = lua_touserdata(L, 1),
          let obj = p.load(as: UnsafeMutableRawPointer?.self) else { return 0 }
    p.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
    let o = Unmanaged<AnyObject>.fromOpaque(obj)
    (o.takeUnretainedValue() as? LuaHandle)?.close(lua)
    o.release()
    return 0
}

/// `__close` (to-be-closed variables): close but keep the object until it is collected.
private let handleClose: LuaImpl = { L, _, _ in
    let lua = Lua(L)
    guard lua.type(1) == LUA_TUSERDATA, let p = lua_touserdata(L, 1),
          let obj = p.load(as: UnsafeMutableRawPointer?.self) else { return 0 }
    (Unmanaged<AnyObject>.fromOpaque(obj).takeUnretainedValue() as? LuaHandle)?.close(lua)
    return 0
}

private let handleToString: LuaImpl = { L, _, _ in
    let lua = Lua(L)
    var name = "userdata"
    let t = luaL_getmetafield(L, 1, "__name")
    if t == LUA_TSTRING, let n = lua.string(-1) { name = n }
    if t != LUA_TNIL { lua.pop() }
    lua.push("\(name.replacingPrefix("ratchet_", with: "ratchet.").replacingSuffix("_meta", with: "")): \(String(UInt(bitPattern: lua_topointer(L, 1)), radix: 16))")
    return 1
}

extension String {
    func replacingPrefix(_ p: String, with r: String) -> String { hasPrefix(p) ? r + dropFirst(p.count) : self }
    func replacingSuffix(_ p: String, with r: String) -> String { hasSuffix(p) ? dropLast(p.count) + r : self }
}

extension LuaHandle {
    /// Adds methods to the `__index` table of this handle type's metatable, registered
    /// earlier by its own module: how one module gives another's handles methods (ratchet.ssl
    /// adds `socket:encrypt`) through the same table the owner registered.
    public static func addMethods(_ lua: Lua, _ methods: [(StaticString, LuaImpl)]) {
        guard lua_rawgetp(lua.L, LUA_REGISTRYINDEX, UnsafeRawPointer(metatableName.utf8Start)) == LUA_TTABLE else {
            lua.pop()
            return
        }
        if lua.getField(-1, "__index") == LUA_TTABLE { lua.setFunctions(methods) }
        lua.pop(2)
    }
}
