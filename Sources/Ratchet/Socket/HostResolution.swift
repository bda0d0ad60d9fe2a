import CLua
import Glibc

/// Host names for `prepare_tcp`/`prepare_udp`. Literals, "*", "localhost" and /etc/hosts are
/// answered here without any network or blocking; everything else goes to
/// `resolveRemotely`, the single place where the DNS module plugs in.
enum HostResolution {
    /// What a prepare_* call asks for; rebuilt from its arguments on every (re)entry.
    struct Request {
        let host: String
        let port: UInt16
        let socktype: Int32
        let wantV6: Bool
        let wantV4: Bool
        /// prepare_udp returns nothing (instead of raising) when there are no records.
        let nothingIfEmpty: Bool
    }

    /// Addresses (port 0) for `host` known without DNS: IPv6 results first, then IPv4, each
    /// in file order. Empty when the name needs a DNS lookup.
    static func resolveLocally(host: String, wantV6: Bool, wantV4: Bool) -> [SocketAddress] {
        var out: [SocketAddress] = []
        if host == "*" {
            if wantV6 { out.append(SocketAddress(v6: in6addr_any, port: 0)) }
            if wantV4 { out.append(SocketAddress(v4: in_addr(s_addr: 0), port: 0)) }
            return out
        }
        var literal = Substring(host)
        if literal.hasPrefix("[") && literal.hasSuffix("]") { literal = literal.dropFirst().dropLast() }
        if let a = SocketAddress(ip: String(literal), port: 0) {
            if (a.family == AF_INET6 && wantV6) || (a.family == AF_INET && wantV4) { out.append(a) }
            return out
        }
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        var v6: [SocketAddress] = []
        var v4: [SocketAddress] = []
        for (ip, names) in hostsFile() where names.contains(name) {
            guard let a = SocketAddress(ip: ip, port: 0) else { continue }
            if a.family == AF_INET6 { v6.append(a) } else { v4.append(a) }
        }
        if wantV6 { out += v6 }
        if wantV4 { out += v4 }
        // localhost is always the loopback (RFC 6761), even when /etc/hosts lacks the family.
        if out.isEmpty && name == "localhost" {
            if wantV6 { out.append(SocketAddress(v6: in6addr_loopback, port: 0)) }
            if wantV4 { out.append(SocketAddress(v4: in_addr(s_addr: UInt32(0x7f00_0001).bigEndian), port: 0)) }
        }
        return out
    }

    /// Entries of /etc/hosts as (address text, lower-cased names). Read on each call: the
    /// file is small and prepare_* is not on a hot path.
    static func hostsFile(path: String = "/etc/hosts") -> [(String, [String])] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        var entries: [(String, [String])] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let content = line.prefix { $0 != UInt8(ascii: "#") }
            let fields = content.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
            guard fields.count >= 2 else { continue }
            let names = fields.dropFirst().map { String(decoding: $0, as: UTF8.self).lowercased() }
            entries.append((String(decoding: fields[0], as: UTF8.self), names))
        }
        return entries
    }

    /// Pushes the prepare_* record {family, socktype, protocol, host, addr}.
    static func pushRecord(_ lua: Lua, _ req: Request, _ address: SocketAddress) {
        var a = address
        a.setPort(req.port)
        lua.newTable(nrec: 5)
        lua.push(a.family); lua.setField(-2, "family")
        lua.push(req.socktype); lua.setField(-2, "socktype")
        lua.push(0); lua.setField(-2, "protocol")
        lua.push(req.host); lua.setField(-2, "host")
        SocketAddress.push(lua, a); lua.setField(-2, "addr")
    }

    /// THE DNS PLUG-IN POINT: called by prepare_tcp/prepare_udp for a host that is not local,
    /// on the first call (`status == LUA_OK`) and on every resumption after it yielded
    /// (`status == LUA_YIELD`, with the `ctx` it yielded with). An asynchronous lookup
    /// (AAAA before A when both are wanted) parks the thread here and, once answered,
    /// pushes `pushRecord(lua, req, first address)` and returns 1.
    ///
    /// Until ratchet.dns lands there is no lookup: the name has no records.
    static func resolveRemotely(_ lua: Lua, status: Int32, ctx: Int, _ req: Request) -> Int32 {
        noRecords(lua, req, reason: req.host)
    }

    /// The outcome when no address was found: nothing for prepare_udp, else ENOENT
    /// "No DNS records: <reason>" from "ratchet.dns.query()", as the reference raises it.
    static func noRecords(_ lua: Lua, _ req: Request, reason: String) -> Int32 {
        if req.nothingIfEmpty { return 0 }
        return lua.raiseError("ratchet.dns.query()", "ENOENT", "No DNS records: \(reason)")
    }
}

extension SocketAddress {
    mutating func setPort(_ port: UInt16) {
        let family = self.family
        withUnsafeMutableBytes(of: &storage) { raw in
            switch family {
            case AF_INET:
                raw.storeBytes(of: port.bigEndian, toByteOffset: MemoryLayout<sockaddr_in>.offset(of: \sockaddr_in.sin_port)!, as: UInt16.self)
            case AF_INET6:
                raw.storeBytes(of: port.bigEndian, toByteOffset: MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_port)!, as: UInt16.self)
            default:
                break
            }
        }
    }
}
