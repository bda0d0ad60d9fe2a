import CLua
import Glibc

/// A loaded hosts file: names to addresses and addresses to names, in file order.
/// `ratchet.dns.hosts.new{paths}` makes one for argument 4 of query and query_all.
final class HostsFile: LuaHandle {
    static let metatableName: StaticString = "ratchet_dns_hosts_meta"
    static let shownName: StaticString = "ratchet.dns.hosts"
    static let systemPath = "/etc/hosts"

    /// Keys are lower-case, without a trailing dot.
    private(set) var byName: [String: [IPAddress]] = [:]
    private(set) var byAddress: [IPAddress: [String]] = [:]

    func close(_ lua: Lua) {}

    static func key(_ name: String) -> String {
        let n = name.lowercased()
        return n.hasSuffix(".") ? String(n.dropLast()) : n
    }

    /// Every address listed for `name`, or nil when the file does not mention it.
    func addresses(_ name: String) -> [IPAddress]? { byName[HostsFile.key(name)] }

    /// The names listed for `address` (the canonical one first), or nil.
    func names(_ address: IPAddress) -> [String]? { byAddress[address] }

    func load(_ path: String) -> ConfigFileError? {
        switch ConfigFile.lines(path) {
        case .failure(let e):
            return e
        case .success(let lines):
            for words in lines where words.count >= 2 {
                var text = words[0]
                if let pct = text.firstIndex(of: "%") { text = String(text[..<pct]) }
                guard let a = IPAddress(literal: text) else { continue }
                for name in words.dropFirst() {
                    let k = HostsFile.key(name)
                    guard !k.isEmpty else { continue }
                    if !(byName[k]?.contains(a) ?? false) { byName[k, default: []].append(a) }
                    if !(byAddress[a]?.contains(name) ?? false) { byAddress[a, default: []].append(name) }
                }
            }
            return nil
        }
    }

    /// /etc/hosts; a missing file is an empty one, as for libc.
    static func system() -> HostsFile {
        let h = HostsFile()
        _ = h.load(systemPath)
        return h
    }

    static func open(_ lua: Lua) -> Int32 {
        registerMetatable(lua, methods: [])
        return lua.pushLibrary([("new", new)])
    }

    /// new([paths]): the files are read in order; no argument means /etc/hosts.
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        guard let paths = ResolvConf.pathList(lua, 1, default: systemPath) else { return lua.typeError(1, "table") }
        let h = HostsFile()
        for p in paths {
            if let e = h.load(p) { return e.raise(lua, function: "ratchet.dns.hosts.new()") }
        }
        push(lua, h)
        return 1
    }
}
