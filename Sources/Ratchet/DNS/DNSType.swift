/// The record types `ratchet.dns` answers, as the original named them.
enum DNSType: CaseIterable {
    case a, aaaa, mx, ns, cname, soa, srv, ptr, txt, spf, sshfp

    /// The name the caller gave (case-insensitive); nil for an unknown type.
    init?(name: String) {
        switch name.lowercased() {
        case "a": self = .a
        case "aaaa": self = .aaaa
        case "mx": self = .mx
        case "ns": self = .ns
        case "cname": self = .cname
        case "soa": self = .soa
        case "srv": self = .srv
        case "ptr": self = .ptr
        case "txt": self = .txt
        case "spf": self = .spf
        case "sshfp": self = .sshfp
        default: return nil
        }
    }

    /// The wire type number (RFC 1035 and successors).
    var code: Int32 {
        switch self {
        case .a: return 1
        case .ns: return 2
        case .cname: return 5
        case .soa: return 6
        case .ptr: return 12
        case .mx: return 15
        case .txt: return 16
        case .aaaa: return 28
        case .srv: return 33
        case .sshfp: return 44
        case .spf: return 99
        }
    }

    /// Upper-case name, as used in "<name> has no <TYPE> record".
    var label: String {
        switch self {
        case .a: return "A"
        case .aaaa: return "AAAA"
        case .mx: return "MX"
        case .ns: return "NS"
        case .cname: return "CNAME"
        case .soa: return "SOA"
        case .srv: return "SRV"
        case .ptr: return "PTR"
        case .txt: return "TXT"
        case .spf: return "SPF"
        case .sshfp: return "SSHFP"
        }
    }

    var isAddress: Bool { self == .a || self == .aaaa }
}
