/// Answers that need no nameserver: "*", IP literals, hosts-file entries and "localhost".
/// Everything that resolves names (ratchet.dns, prepare_tcp/prepare_udp) asks here first,
/// so these work offline and never wait for a network timeout.
enum LocalAnswers {
    /// The answer to `name`/`type` from local knowledge, or nil when a nameserver must be
    /// asked. A name the hosts file lists is answered from it alone, even when it has no
    /// address of the asked family (as "localhost" without an IPv6 line).
    static func answer(_ name: String, _ type: DNSType, hosts: HostsFile) -> DNSAnswer? {
        switch type {
        case .a, .aaaa:
            guard let all = addresses(name, hosts: hosts) else { return nil }
            let want = all.filter { $0.isV4 == (type == .a) }
            return want.isEmpty ? .failure(.noRecords) : .addresses(want)
        case .ptr:
            guard let a = IPAddress(literal: name) ?? IPAddress(reverseName: name) else { return nil }
            if let names = hosts.names(a) { return .names(names.map { $0.hasSuffix(".") ? $0 : $0 + "." }) }
            if a == .loopbackV4 || a == .loopbackV6 { return .names(["localhost."]) }
            return nil
        default:
            // A literal has no other records: asking a nameserver would only be slow.
            return name == "*" || IPAddress(literal: name) != nil ? .failure(.noRecords) : nil
        }
    }

    /// Every address `name` has locally, in order, or nil when it needs DNS. "*" is the
    /// wildcard address of both families.
    static func addresses(_ name: String, hosts: HostsFile) -> [IPAddress]? {
        if name == "*" { return [.anyV6, .anyV4] }
        if let a = IPAddress(literal: name) { return [a] }
        if let list = hosts.addresses(name) { return list }
        let k = HostsFile.key(name)
        if k == "localhost" || k.hasSuffix(".localhost") { return [.loopbackV6, .loopbackV4] }
        return nil
    }

    /// The name a PTR query sends for `name`: the reverse name of an address literal,
    /// else the name itself.
    static func ptrName(_ name: String) -> String {
        IPAddress(literal: name)?.reverseName ?? name
    }
}
