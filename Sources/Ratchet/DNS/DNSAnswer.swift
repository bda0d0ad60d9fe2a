import Glibc

/// What one query produced, as plain Swift values: requests finish inside libevent
/// callbacks, where no Lua may run, so the Lua shapes are built later (DNSRecords).
enum DNSAnswer {
    case addresses([IPAddress])
    /// PTR, NS, CNAME: absolute names with their trailing dot.
    case names([String])
    /// TXT, SPF: each record's character-strings joined, as raw bytes.
    case texts([[UInt8]])
    case mx([MXRecord])
    case srv([SRVRecord])
    case soa([SOARecord])
    case sshfp([SSHFPRecord])
    case failure(DNSFailure)

    var isEmpty: Bool {
        switch self {
        case .addresses(let v): return v.isEmpty
        case .names(let v): return v.isEmpty
        case .texts(let v): return v.isEmpty
        case .mx(let v): return v.isEmpty
        case .srv(let v): return v.isEmpty
        case .soa(let v): return v.isEmpty
        case .sshfp(let v): return v.isEmpty
        case .failure: return true
        }
    }
}

struct MXRecord { let preference: Int; let host: String }
struct SRVRecord { let priority: Int; let weight: Int; let port: Int; let target: String }
struct SOARecord {
    let mname: String, rname: String
    let serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32
}
struct SSHFPRecord { let algorithm: Int; let fingerprintType: Int; let digest: [UInt8] }

/// Why a query has no records. `message(for:type:)` is the one place the texts live.
enum DNSFailure: Equatable {
    /// The name does not exist, or has no record of the type (NXDOMAIN / NODATA).
    case noRecords
    case timedOut
    case serverFailed
    case refused
    case formatError
    case notImplemented
    /// The name cannot be put in a query (too long, empty label, …).
    case invalidName
    /// A transport error from the last nameserver tried (ECONNREFUSED, …).
    case transport(Int32)
    /// The reply could not be parsed.
    case malformed

    func message(for name: String, type: DNSType) -> String {
        switch self {
        case .noRecords: return "\(name) has no \(type.label) record"
        case .timedOut: return "Timed out."
        case .serverFailed: return "Name server failure (SERVFAIL)."
        case .refused: return "Query refused by the name server (REFUSED)."
        case .formatError: return "Name server could not interpret the query (FORMERR)."
        case .notImplemented: return "Name server does not support the query (NOTIMP)."
        case .invalidName: return "Invalid DNS name: \(name)"
        case .transport(let e): return "No usable name server: \(Errno.description(e))."
        case .malformed: return "Malformed DNS answer."
        }
    }

    /// From a reply's RCODE (0 and 3 are not failures of the server).
    init?(rcode: Int) {
        switch rcode {
        case 1: self = .formatError
        case 2: self = .serverFailed
        case 4: self = .notImplemented
        case 5: self = .refused
        case 0, 3: return nil
        default: self = .serverFailed
        }
    }
}
