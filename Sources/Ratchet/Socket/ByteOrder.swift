import CLua

/// ntoh/hton (32-bit) and ntoh16/hton16: network byte order strings ⇄ integers. Extra
/// arguments are returned unchanged after the result (socketpad forwards a flag this way).
enum ByteOrder {
    static let functions: [(StaticString, LuaImpl)] = [
        ("ntoh", ntoh), ("hton", hton), ("ntoh16", ntoh16), ("hton16", hton16),
    ]

    /// Replaces argument 1 with the decoded integer (or nil when the length is wrong).
    @inline(__always)
    private static func decode(_ lua: Lua, width: Int) -> Int32 {
        guard let b = lua.bytes(1) else { return lua.typeError(1, "string") }
        if b.count == width {
            var v = 0
            for byte in b { v = v << 8 | Int(byte) }
            lua.push(v)
        } else {
            lua.pushNil()
        }
        lua.replace(1)
        return lua.top
    }

    /// Replaces argument 1 with its low `width` bytes, big-endian.
    @inline(__always)
    private static func encode(_ lua: Lua, width: Int) -> Int32 {
        guard let n = lua.integer(1) else { return lua.typeError(1, "number") }
        var be = UInt32(truncatingIfNeeded: n).bigEndian
        withUnsafeBytes(of: &be) { lua.push(bytes: $0.baseAddress! + (4 - width), count: width) }
        lua.replace(1)
        return lua.top
    }

    static let ntoh: LuaImpl = { L, _, _ in decode(Lua(L), width: 4) }
    static let ntoh16: LuaImpl = { L, _, _ in decode(Lua(L), width: 2) }
    static let hton: LuaImpl = { L, _, _ in encode(Lua(L), width: 4) }
    static let hton16: LuaImpl = { L, _, _ in encode(Lua(L), width: 2) }
}
