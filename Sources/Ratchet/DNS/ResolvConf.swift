import CLua
import Glibc

/// One nameserver: an address, a port, and for link-local IPv6 a scope.
struct NameServer: Equatable {
    let address: IPAddress
    let port: UInt16
    var scope: UInt32 = 0

    /// "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:53", "fe80::1%eth0" (default port 53).
    init?(_ text: String) {
        var host = Substring(text)
        var port: UInt16 = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()), p > 0 else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]), p > 0 else { return nil }
            port = p
            host = host[..<colon]
        }
        var scope: UInt32 = 0
        if let pct = host.firstIndex(of: "%") {
            let name = String(host[host.index(after: pct)...])
            scope = UInt32(name) ?? if_nametoindex(name)
            guard scope != 0 else { return nil }
            host = host[..<pct]
        }
        guard let a = IPAddress(literal: String(host)), scope == 0 || !a.isV4 else { return nil }
        self.init(address: a, port: port, scope: scope)
    }

    init(address: IPAddress, port: UInt16, scope: UInt32 = 0) {
        self.address = address
        self.port = port
        self.scope = scope
    }

    var text: String { address.isV4 ? "\(address.text):\(port)" : "[\(address.text)]:\(port)" }

    /// Calls `body` with this server's sockaddr.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if let a = address.inAddr {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr = a
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        sin6.sin6_addr = address.in6Addr!
        sin6.sin6_scope_id = scope
        return withUnsafePointer(to: &sin6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// Where and how to ask: what /etc/resolv.conf says, or what `ratchet.dns.new{…}` was
/// given. A class because each kernel keeps one evdns base per configuration.
final class DNSConfig {
    var nameservers: [NameServer] = []
    var search: [String] = []
    var ndots = 1
    /// Seconds to wait for each try.
    var timeout = 5.0
    /// Rounds over the nameserver list.
    var attempts = 2

    static let systemPath = "/etc/resolv.conf"

    /// Applies one resolv.conf file: nameservers accumulate, the last search/domain line
    /// wins, options override. glibc's syntax, plus "nameserver [addr]:port" (as dns.c).
    func load(_ path: String) -> ConfigFileError? {
        switch ConfigFile.lines(path, commentChars: [UInt8(ascii: "#"), UInt8(ascii: ";")]) {
        case .failure(let e):
            return e
        case .success(let lines):
            for words in lines {
                switch words[0] {
                case "nameserver" where words.count >= 2:
                    if let ns = NameServer(words[1]) { nameservers.append(ns) }
                case "search":
                    search = Array(words.dropFirst())
                case "domain" where words.count >= 2:
                    search = [words[1]]
                case "options":
                    for opt in words.dropFirst() { apply(option: opt) }
                default:
                    break
                }
            }
            return nil
        }
    }

    private func apply(option: String) {
        let parts = option.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let v = Int(parts[1]), v >= 0 else { return }
        switch parts[0] {
        case "ndots": ndots = min(v, 15)
        case "timeout": timeout = Double(min(max(v, 1), 30))
        case "attempts": attempts = min(max(v, 1), 5)
        default: break
        }
    }

    /// With no nameserver configured, ask the local one (glibc does the same).
    func finish() {
        if nameservers.isEmpty { nameservers = [NameServer(address: .loopbackV4, port: 53)] }
        search = search.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
    }

    static func system() -> DNSConfig {
        let c = DNSConfig()
        _ = c.load(systemPath)  // a missing resolv.conf means the defaults, as for libc
        c.finish()
        return c
    }

    /// The names to ask for, in order, for `name` (no trailing dot in the result): an
    /// absolute name ("x.") only as is; otherwise the search list applies, before the name
    /// itself when it has fewer than `ndots` dots.
    func candidates(_ name: String) -> [String] {
        if name.hasSuffix(".") { return [String(name.dropLast())] }
        let dots = name.reduce(0) { $1 == "." ? $0 + 1 : $0 }
        var list: [String] = []
        if dots >= ndots { list.append(name) }
        for d in search { list.append("\(name).\(d)") }
        if dots < ndots { list.append(name) }
        var seen = Set<String>()
        return list.filter { seen.insert($0.lowercased()).inserted }
    }
}

/// `ratchet.dns.resolv_conf`: a loaded resolv.conf, usable as argument 3 of query and
/// query_all.
final class ResolvConf: LuaHandle {
    static let metatableName: StaticString = "ratchet_dns_resolv_conf_meta"
    static let shownName: StaticString = "ratchet.dns.resolv_conf"
    let config: DNSConfig

    init(_ config: DNSConfig) { self.config = config }
    func close(_ lua: Lua) {}

    static func open(_ lua: Lua) -> Int32 {
        registerMetatable(lua, methods: [])
        return lua.pushLibrary([("new", new)])
    }

    /// new([paths]): the files are read in order; no argument means /etc/resolv.conf.
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        let function: StaticString = "ratchet.dns.resolv_conf.new()"
        guard let paths = pathList(lua, 1, default: DNSConfig.systemPath) else { return lua.typeError(1, "table") }
        let c = DNSConfig()
        for p in paths {
            if let e = c.load(p) { return e.raise(lua, function: function) }
        }
        c.finish()
        push(lua, ResolvConf(c))
        return 1
    }

    /// The array of path strings at `i` (nil/none: `default`); nil when it is not a table
    /// of strings.
    static func pathList(_ lua: Lua, _ i: Int32, default path: String) -> [String]? {
        if lua.isNoneOrNil(i) { return [path] }
        guard lua.type(i) == LUA_TTABLE else { return nil }
        var paths: [String] = []
        for k in 0..<lua.rawLen(i) {
            lua.rawGet(i, k + 1)
            defer { lua.pop() }
            guard let p = lua.stringOrNumber(-1) else { return nil }
            paths.append(p)
        }
        return paths
    }
}
