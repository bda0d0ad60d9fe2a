import CLua
import Glibc

/// A socket address (AF_INET, AF_INET6 or AF_UNIX). In Lua it is a plain userdata holding
/// the address's length and bytes (metatable "ratchet_socket_sockaddr_meta"), with no Swift
/// object behind it: accept() makes one per connection and it needs no finalizer.
public struct SocketAddress {
    public var storage = sockaddr_storage()
    public var length: socklen_t = 0

    public static let metatableName: StaticString = "ratchet_socket_sockaddr_meta"

    public init() {}

    public var family: Int32 { Int32(storage.ss_family) }

    /// An IPv4 or IPv6 address from its text form (no brackets), or nil.
    public init?(ip: String, port: UInt16) {
        var a4 = in_addr()
        var a6 = in6_addr()
        if inet_pton(AF_INET, ip, &a4) == 1 {
            self.init(v4: a4, port: port)
        } else if inet_pton(AF_INET6, ip, &a6) == 1 {
            self.init(v6: a6, port: port)
        } else {
            return nil
        }
    }

    public init(v4: in_addr, port: UInt16) {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr = v4
        store(sin)
    }

    public init(v6: in6_addr, port: UInt16) {
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        sin6.sin6_addr = v6
        store(sin6)
    }

    /// An AF_UNIX address; the path is truncated to 107 bytes like the reference.
    public init(unixPath: UnsafeRawBufferPointer) {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        let n = min(unixPath.count, MemoryLayout.size(ofValue: sun.sun_path) - 1)
        withUnsafeMutableBytes(of: &sun.sun_path) { dst in
            if n > 0 { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: unixPath[0..<n])) }
        }
        store(sun)
    }

    /// Copies a family-specific address (sockaddr_in, _in6, _un) into `storage`.
    private mutating func store<T>(_ address: T) {
        withUnsafeMutableBytes(of: &storage) { dst in
            withUnsafeBytes(of: address) { dst.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<T>.size)
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    @inline(__always)
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    /// The port (host order) of an IP address, or nil for AF_UNIX.
    public var port: Int? {
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(as: sockaddr_in.self).sin_port)) }
        case AF_INET6:
            return withUnsafeBytes(of: storage) { Int(UInt16(bigEndian: $0.load(as: sockaddr_in6.self).sin6_port)) }
        default:
            return nil
        }
    }

    /// Pushes the text form: the IP (inet_ntop, no port) or the AF_UNIX path ("" if unnamed).
    public func pushText(_ lua: Lua) {
        var buf = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))  // 64 bytes ≥ INET6_ADDRSTRLEN
        withUnsafeMutableBytes(of: &buf) { out in
            let o = out.baseAddress!.assumingMemoryBound(to: CChar.self)
            withUnsafeBytes(of: storage) { s in
                switch family {
                case AF_INET:
                    var a = s.load(as: sockaddr_in.self).sin_addr
                    if inet_ntop(AF_INET, &a, o, 64) != nil { lua_pushstring(lua.L, o); return }
                case AF_INET6:
                    var a = s.load(as: sockaddr_in6.self).sin6_addr
                    if inet_ntop(AF_INET6, &a, o, 64) != nil { lua_pushstring(lua.L, o); return }
                case AF_UNIX:
                    let off = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
                    var n = max(0, min(Int(length) - off, 108))
                    let p = s.baseAddress! + off
                    // Pathname addresses end at their first NUL; abstract ones start with one.
                    if n > 0 && p.load(as: UInt8.self) != 0 {
                        n = strnlen(p.assumingMemoryBound(to: CChar.self), n)
                    }
                    lua.push(bytes: p, count: n)
                    return
                default:
                    break
                }
                lua.push("" as StaticString)
            }
        }
    }

    // MARK: Lua userdata

    /// Pushes a new sockaddr userdata holding `addr`: its length, then only that many
    /// bytes of it (an IPv4 address makes a 64-byte allocation rather than a 176-byte one;
    /// accept makes one per connection).
    public static func push(_ lua: Lua, _ addr: SocketAddress) {
        let n = Int(addr.length)
        let p = lua_newuserdatauv(lua.L, lengthSize + n, 0)!
        p.storeBytes(of: addr.length, as: socklen_t.self)
        withUnsafeBytes(of: addr.storage) { (p + lengthSize).copyMemory(from: $0.baseAddress!, byteCount: n) }
        lua.setMetatable(metatableName)
    }

    private static let lengthSize = MemoryLayout<socklen_t>.size

    /// The address at argument `i`, or nil when it is not a sockaddr userdata.
    public static func get(_ lua: Lua, _ i: Int32) -> SocketAddress? {
        guard let p = lua.testUserdata(i, metatableName) else { return nil }
        var addr = SocketAddress()
        let n = min(Int(p.load(as: socklen_t.self)), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &addr.storage) { $0.baseAddress!.copyMemory(from: p + lengthSize, byteCount: n) }
        addr.length = socklen_t(n)
        return addr
    }

    static func registerMetatable(_ lua: Lua) {
        guard lua.newMetatable(metatableName, shownAs: "sockaddr") else { lua.pop(); return }
        lua.push(function: toString); lua.setField(-2, "__tostring")
        lua.push(function: index); lua.setField(-2, "__index")
        lua.push(function: equal); lua.setField(-2, "__eq")
        lua.pop()
    }

    static let toString: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let a = get(lua, 1) else { return lua.typeError(1, "sockaddr") }
        a.pushText(lua)
        return 1
    }

    /// Extension: read-only fields `ip`, `port`, `family` and `path` (AF_UNIX).
    static let index: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let addr = get(lua, 1), let key = lua.bytes(2) else { return 0 }
        switch String(decoding: key, as: UTF8.self) {
        case "family": lua.push(addr.family)
        case "port":
            guard let p = addr.port else { lua.pushNil(); return 1 }
            lua.push(p)
        case "ip":
            guard addr.family == AF_INET || addr.family == AF_INET6 else { lua.pushNil(); return 1 }
            addr.pushText(lua)
        case "path":
            guard addr.family == AF_UNIX else { lua.pushNil(); return 1 }
            addr.pushText(lua)
        default: lua.pushNil()
        }
        return 1
    }

    static let equal: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let a = get(lua, 1), let b = get(lua, 2) else { lua.push(false); return 1 }
        let same = a.length == b.length && withUnsafeBytes(of: a.storage) { x in
            withUnsafeBytes(of: b.storage) { y in memcmp(x.baseAddress!, y.baseAddress!, Int(a.length)) == 0 }
        }
        lua.push(same)
        return 1
    }
}
