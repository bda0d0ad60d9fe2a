import CLua
import CRatchetShims

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

    /// This type's tag: the address of its type metadata, one per type and the same at every
    /// use. (A string literal's address is not: sanitizer builds do not merge literals, so a
    /// tag taken from `metatableName` differed between call sites there.)
    @inline(__always) static var handleTag: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: ObjectIdentifier(Self.self))).unsafelyUnwrapped
    }

    /// Pushes a new userdata for `obj` with `uservalues` user values. The userdata holds
    /// the object and its type's tag, which `get` and the metamethods check.
    public static func push(_ lua: Lua, _ obj: Self, uservalues: Int32 = 0) {
        let p = lua_newuserdatauv(lua.L, handleSize, uservalues)!
        p.storeBytes(of: Unmanaged.passRetained(obj).toOpaque(), as: UnsafeMutableRawPointer?.self)
        p.storeBytes(of: UnsafeRawPointer(handleTag), toByteOffset: handleTagOffset, as: UnsafeRawPointer.self)
        if lua_rawgetp(lua.L, LUA_REGISTRYINDEX, handleTag) == LUA_TTABLE {
            lua_setmetatable(lua.L, -2)
        } else {
            lua.pop()
            lua.setMetatable(metatableName)
        }
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
        handleMemory(lua.L, i, tag: handleTag)?.load(as: UnsafeMutableRawPointer?.self)
    }

    /// Creates the metatable with `methods` as `__index`, plus `__gc`, `__close`, `__tostring`,
    /// `__name` and any further `metamethods`. Leaves the stack as it was.
    public static func registerMetatable(_ lua: Lua, methods: [(StaticString, LuaImpl)],
                                         tostring: LuaImpl? = nil,
                                         metamethods: [(StaticString, LuaImpl)] = []) {
        defer { lua.pop() }  // the metatable, new or already registered
        guard lua.newMetatable(metatableName, shownAs: shownName) else { return }
        lua.pushValue(-1)
        lua_rawsetp(lua.L, LUA_REGISTRYINDEX, handleTag)
        lua.newTable(nrec: Int32(methods.count))
        lua.setFunctions(methods)
        lua.setField(-2, "__index")
        // The shared metamethods get the tag as an upvalue: Lua code can call them with any
        // value (`getmetatable(s).__gc(io.stdout)`), so they check it the way `get` does.
        ratchet_push_impl_with(lua.L, handleGC, handleTag); lua.setField(-2, "__gc")
        ratchet_push_impl_with(lua.L, handleClose, handleTag); lua.setField(-2, "__close")
        if let tostring { lua.push(function: tostring) } else { ratchet_push_impl_with(lua.L, handleToString, handleTag) }
        lua.setField(-2, "__tostring")
        lua.setFunctions(metamethods)
    }
}

/// A handle userdata: the retained object, then the type tag.
private var handleTagOffset: Int { MemoryLayout<UnsafeMutableRawPointer?>.size }
private var handleSize: Int { 2 * MemoryLayout<UnsafeMutableRawPointer?>.size }

/// The memory of the handle at index `i` if it is a handle with `tag`, else nil.
@inline(__always) private func handleMemory(_ L: OpaquePointer, _ i: Int32, tag: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    // lua_touserdata is nil for anything but userdata, and lua_rawlen is 0 for a light one.
    guard let p = lua_touserdata(L, i), lua_rawlen(L, i) == lua_Unsigned(handleSize),
          p.load(fromByteOffset: handleTagOffset, as: UnsafeRawPointer?.self) == UnsafeRawPointer(tag)
    else { return nil }
    return p
}

/// The handle argument of a shared metamethod: its userdata if it is of the type whose
/// metatable holds the metamethod (the tag is the closure's second upvalue).
private func metamethodArgument(_ L: OpaquePointer) -> UnsafeMutableRawPointer? {
    handleMemory(L, 1, tag: lua_touserdata(L, LUA_REGISTRYINDEX - 2))
}

/// The argument error of a shared metamethod called with something else: "ratchet.socket
/// expected, got sockaddr".
private func wrongHandle(_ lua: Lua) -> Int32 {
    var expected = "ratchet handle"
    if lua_rawgetp(lua.L, LUA_REGISTRYINDEX, lua_touserdata(lua.L, LUA_REGISTRYINDEX - 2)) == LUA_TTABLE,
       lua.getField(-1, "__name") == LUA_TSTRING, let n = lua.string(-1) {
        expected = displayName(n)
    }
    lua.setTop(1)
    return lua.typeError(1, expected)
}

/// "ratchet_socket_meta" → "ratchet.socket".
private func displayName(_ metatableName: String) -> String {
    metatableName.replacingPrefix("ratchet_", with: "ratchet.").replacingSuffix("_meta", with: "")
}

/// `__gc`: close the object, then drop the userdata's reference.
private let handleGC: LuaImpl = { L, _, _ in
    let lua = Lua(L)
    guard let p = metamethodArgument(lua.L) else { return wrongHandle(lua) }
    guard let obj = p.load(as: UnsafeMutableRawPointer?.self) else { return 0 }
    p.storeBytes(of: nil, as: UnsafeMutableRawPointer?.self)
    let o = Unmanaged<AnyObject>.fromOpaque(obj)
    (o.takeUnretainedValue() as? LuaHandle)?.close(lua)
    o.release()
    return 0
}

/// `__close` (to-be-closed variables): close but keep the object until it is collected.
private let handleClose: LuaImpl = { L, _, _ in
    let lua = Lua(L)
    guard let p = metamethodArgument(lua.L) else { return wrongHandle(lua) }
    guard let obj = p.load(as: UnsafeMutableRawPointer?.self) else { return 0 }
    (Unmanaged<AnyObject>.fromOpaque(obj).takeUnretainedValue() as? LuaHandle)?.close(lua)
    return 0
}

private let handleToString: LuaImpl = { L, _, _ in
    let lua = Lua(L)
    guard metamethodArgument(lua.L) != nil else { return wrongHandle(lua) }
    var name = "userdata"
    let t = luaL_getmetafield(L, 1, "__name")
    if t == LUA_TSTRING, let n = lua.string(-1) { name = n }
    if t != LUA_TNIL { lua.pop() }
    lua.push("\(displayName(name)): \(String(UInt(bitPattern: lua_topointer(L, 1)), radix: 16))")
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
        guard lua_rawgetp(lua.L, LUA_REGISTRYINDEX, handleTag) == LUA_TTABLE else {
            lua.pop()
            return
        }
        if lua.getField(-1, "__index") == LUA_TTABLE { lua.setFunctions(methods) }
        lua.pop(2)
    }
}
