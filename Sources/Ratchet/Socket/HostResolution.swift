import CLua
import Glibc

/// Host names for `prepare_tcp`/`prepare_udp`, resolved by ratchet.dns (DNSLookup): the
/// same local answers as `ratchet.dns.query` (literals, "*", localhost, the default
/// resolver's hosts file) without any network, then the default resolver's nameservers,
/// AAAA and A in parallel, while the thread waits.
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

    /// Resolves `req.host` and pushes the record for the first address (IPv6 first). Called
    /// on the first call and, with the same `status`/`ctx`, on every resumption after it
    /// yielded.
    static func resolve(_ lua: Lua, status: Int32, ctx: Int, _ req: Request, function: String) -> Int32 {
        // "[2001:db8::1]" names the literal inside (an extension of the reference).
        var host = Substring(req.host)
        if host.hasPrefix("[") && host.hasSuffix("]") && IPAddress.parse(String(host.dropFirst().dropLast()), family: AF_INET6) != nil {
            host = host.dropFirst().dropLast()
        }
        switch DNSLookup.addresses(lua, status: status, ctx: ctx, host: String(host),
                                   wantV6: req.wantV6, wantV4: req.wantV4, function: function) {
        case .yield(let s), .raise(let s):
            return s
        case .done(let list):
            pushRecord(lua, req, SocketAddress(list[0], port: 0))
            return 1
        case .failed(let reason):
            return noRecords(lua, req, reason: reason)
        }
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

    /// The outcome when no address was found: nothing for prepare_udp, else ENOENT
    /// "No DNS records: <reason>" from "ratchet.dns.query()", as the reference raises it.
    static func noRecords(_ lua: Lua, _ req: Request, reason: String) -> Int32 {
        if req.nothingIfEmpty { return 0 }
        return DNSLookup.raiseNoRecords(lua, reason)
    }
}

extension SocketAddress {
    init(_ ip: IPAddress, port: UInt16) {
        if let a = ip.inAddr { self.init(v4: a, port: port) } else { self.init(v6: ip.in6Addr!, port: port) }
    }

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
