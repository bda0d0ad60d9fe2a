import CLua
import Glibc

/// An IPv4 or IPv6 address as the raw bytes of an `in_addr` / `in6_addr` (network order).
/// DNS answers, /etc/hosts entries and literals all become these, and the socket module
/// builds its sockaddrs from them.
public enum IPAddress: Hashable {
    case v4(in_addr_t)
    case v6(UInt64, UInt64)

    public static let anyV4 = IPAddress.v4(0)
    public static let anyV6 = IPAddress.v6(0, 0)
    public static let loopbackV4 = IPAddress(literal: "127.0.0.1")!
    public static let loopbackV6 = IPAddress(literal: "::1")!

    /// Parses a dotted quad or an IPv6 literal (inet_pton's forms), nil for anything else.
    public init?(literal: String) {
        if let a = IPAddress.parse(literal, family: AF_INET) { self = a; return }
        if let a = IPAddress.parse(literal, family: AF_INET6) { self = a; return }
        return nil
    }

    static func parse(_ text: String, family: Int32) -> IPAddress? {
        // inet_pton would stop at an embedded NUL and accept "127.0.0.1\0anything".
        guard !text.isEmpty, text.utf8.count < 64, !text.utf8.contains(0) else { return nil }
        if family == AF_INET {
            var a = in_addr()
            return inet_pton(AF_INET, text, &a) == 1 ? .v4(a.s_addr) : nil
        }
        var a = in6_addr()
        guard inet_pton(AF_INET6, text, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { IPAddress(bytes: $0) }
    }

    /// From 4 or 16 raw bytes (as found in an A or AAAA record).
    public init?(bytes: UnsafeRawBufferPointer) {
        switch bytes.count {
        case 4: self = .v4(bytes.loadUnaligned(as: in_addr_t.self))
        case 16: self = .v6(bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        default: return nil
        }
    }

    public var family: Int32 { if case .v4 = self { return AF_INET } else { return AF_INET6 } }
    public var isV4: Bool { family == AF_INET }

    /// Calls `body` with the 4 or 16 address bytes.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch self {
        case .v4(let a):
            var a = a
            return withUnsafeBytes(of: &a) { body($0) }
        case .v6(let hi, let lo):
            var words = (hi, lo)
            return withUnsafeBytes(of: &words) { body($0) }
        }
    }

    public var inAddr: in_addr? { if case .v4(let a) = self { return in_addr(s_addr: a) } else { return nil } }
    public var in6Addr: in6_addr? {
        guard !isV4 else { return nil }
        var r = in6_addr()
        withBytes { src in withUnsafeMutableBytes(of: &r) { $0.copyMemory(from: src) } }
        return r
    }

    /// The text form (inet_ntop).
    public var text: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let fam = family
        let ok = withBytes { b in inet_ntop(fam, b.baseAddress, &buf, socklen_t(buf.count)) != nil }
        return ok ? String(cString: buf) : "?"
    }

    /// The name a PTR query for this address asks for: 1.0.0.127.in-addr.arpa or the
    /// nibble form under ip6.arpa.
    public var reverseName: String {
        withBytes { b in
            if b.count == 4 {
                return "\(b[3]).\(b[2]).\(b[1]).\(b[0]).in-addr.arpa"
            }
            let hex = Array("0123456789abcdef")
            var s = ""
            for byte in b.reversed() {
                s.append(hex[Int(byte & 0xf)]); s.append(".")
                s.append(hex[Int(byte >> 4)]); s.append(".")
            }
            return s + "ip6.arpa"
        }
    }

    /// The address a reverse name stands for (the inverse of `reverseName`), or nil.
    public init?(reverseName name: String) {
        var n = name.lowercased()
        if n.hasSuffix(".") { n.removeLast() }
        if n.hasSuffix(".in-addr.arpa") {
            let parts = n.dropLast(13).split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            let bytes = parts.reversed().compactMap { p -> UInt8? in
                p.count <= 3 && p.allSatisfy({ $0.isASCII && $0.isNumber }) ? UInt8(p) : nil
            }
            guard bytes.count == 4, let a = bytes.withUnsafeBytes({ IPAddress(bytes: $0) }) else { return nil }
            self = a
        } else if n.hasSuffix(".ip6.arpa") {
            let parts = n.dropLast(9).split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 32 else { return nil }
            var nibbles: [UInt8] = []
            for p in parts.reversed() {
                guard p.count == 1, let v = UInt8(String(p), radix: 16) else { return nil }
                nibbles.append(v)
            }
            let bytes = stride(from: 0, to: 32, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
            guard let a = bytes.withUnsafeBytes({ IPAddress(bytes: $0) }) else { return nil }
            self = a
        } else {
            return nil
        }
    }
}

/// A/AAAA results in Lua: userdata holding the raw in_addr / in6_addr, whose `tostring`
/// is the text form. The metatable names are the original's.
enum AddressUserdata {
    static let v4Meta: StaticString = "ratchet_dns_a_meta"
    static let v6Meta: StaticString = "ratchet_dns_aaaa_meta"

    static func register(_ lua: Lua) {
        for meta in [v4Meta, v6Meta] {
            if lua.newMetatable(meta, shownAs: "ratchet.dns address") {
                lua.push(function: toString); lua.setField(-2, "__tostring")
                lua.push(function: equals); lua.setField(-2, "__eq")
            }
            lua.pop()
        }
    }

    static func push(_ lua: Lua, _ a: IPAddress) {
        a.withBytes { b in
            let p = lua_newuserdatauv(lua.L, b.count, 0)!
            p.copyMemory(from: b.baseAddress!, byteCount: b.count)
        }
        lua.setMetatable(a.isV4 ? v4Meta : v6Meta)
    }

    /// The address in the userdata at `i`, or nil when it is not one.
    static func get(_ lua: Lua, _ i: Int32) -> IPAddress? {
        if let p = lua.testUserdata(i, v4Meta) {
            return IPAddress(bytes: UnsafeRawBufferPointer(start: p, count: 4))
        }
        if let p = lua.testUserdata(i, v6Meta) {
            return IPAddress(bytes: UnsafeRawBufferPointer(start: p, count: 16))
        }
        return nil
    }

    static let toString: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let a = get(lua, 1) else { return lua.typeError(1, "ratchet.dns address") }
        lua.push(a.text)
        return 1
    }

    static let equals: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.push(get(lua, 1).map { $0 == get(lua, 2) } ?? false)
        return 1
    }
}
