/// Answers that need no nameserver: "*", IP literals, hosts-file entries, "localhost" and
/// ".invalid" (RFC 6761). Everything that resolves names (ratchet.dns, and prepare_tcp /
/// prepare_udp through DNSLookup) asks here first, so these work offline and never wait
/// for a network timeout.
enum LocalAnswers {
    /// The answer to `name`/`type` from local knowledge, or nil when a nameserver must be
    /// asked. A name the hosts file lists is answered from it alone, even when it has no
    /// address of the asked family (as "localhost" without an IPv6 line).
    static func answer(_ name: String, _ type: DNSType, hosts: HostsFile) -> DNSAnswer? {
        if isInvalid(name) && hosts.addresses(name) == nil { return .failure(.noRecords) }
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
        if isLocalhost(name) { return [.loopbackV6, .loopbackV4] }
        if isInvalid(name) { return [] }
        return nil
    }

    /// For prepare_tcp/prepare_udp: the addresses of the wanted families, IPv6 first (the
    /// reference's AAAA precedence), possibly none; nil when DNS must be asked. A
    /// "localhost" the hosts file lists without a wanted family is still the loopback
    /// of that family, so an IPv6-only caller gets ::1.
    static func addresses(_ name: String, wantV6: Bool, wantV4: Bool, hosts: HostsFile) -> [IPAddress]? {
        guard let all = addresses(name, hosts: hosts) else { return nil }
        var list = (wantV6 ? all.filter { !$0.isV4 } : []) + (wantV4 ? all.filter { $0.isV4 } : [])
        if list.isEmpty && isLocalhost(name) {
            list = (wantV6 ? [IPAddress.loopbackV6] : []) + (wantV4 ? [IPAddress.loopbackV4] : [])
        }
        return list
    }

    static func isLocalhost(_ name: String) -> Bool {
        let k = HostsFile.key(name)
        return k == "localhost" || k.hasSuffix(".localhost")
    }

    /// RFC 6761 6.4: names under .invalid never exist.
    static func isInvalid(_ name: String) -> Bool {
        let k = HostsFile.key(name)
        return k == "invalid" || k.hasSuffix(".invalid")
    }

    /// The name a PTR query sends for `name`: the reverse name of an address literal,
    /// else the name itself.
    static func ptrName(_ name: String) -> String {
        IPAddress(literal: name)?.reverseName ?? name
    }
}
