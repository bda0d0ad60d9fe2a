import CResolv
import Glibc

/// DNS messages for the record types evdns cannot ask for, built and parsed by libresolv
/// (res_mkquery, ns_initparse, ns_parserr, ns_name_uncompress) so that no hand-written
/// wire-format parser has to be trusted with what the network sends.
enum DNSMessage {
    /// The UDP payload size advertised with EDNS0, so TXT-heavy answers rarely truncate.
    static let ednsPayload = 4096

    /// A query for `name`/`type` with a random ID and the RD bit, or nil when the name
    /// cannot be encoded. `edns` appends an OPT record (RFC 6891).
    static func query(name: String, type: DNSType, edns: Bool) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 512)
        // op 0 = QUERY, class 1 = IN
        let n = res_mkquery(0, name, 1, type.code, nil, 0, nil, &buf, Int32(buf.count))
        guard n >= 12 + 5 else { return nil }
        buf.removeSubrange(Int(n)...)
        if edns {
            // root name, type OPT (41), class = payload size, extended RCODE/flags 0, no data
            buf += [0, 0, 41, UInt8(ednsPayload >> 8), UInt8(ednsPayload & 0xff), 0, 0, 0, 0, 0, 0]
            buf[10] = 0; buf[11] = 1
        }
        return buf
    }

    enum Reply {
        /// Not an answer to this query (wrong ID, wrong question, garbage): ignore it.
        case notOurs
        /// TC set: the answer must be fetched again over TCP.
        case truncated
        /// FORMERR to a query with EDNS: the server may not speak EDNS; ask again without.
        case formatError
        /// The server could not answer (SERVFAIL, REFUSED, NOTIMP); try the next one.
        case serverError(DNSFailure)
        /// NOERROR or NXDOMAIN: the records of the asked type (possibly none).
        case answer(DNSAnswer)
    }

    /// Interprets `reply` as the answer to `query` (a message made by `query(name:…)`).
    static func parse(reply: UnsafeRawBufferPointer, query: [UInt8], name: String, type: DNSType) -> Reply {
        guard reply.count >= 12, reply[0] == query[0], reply[1] == query[1],
              reply[2] & 0x80 != 0 else { return .notOurs }
        if reply[2] & 0x02 != 0 { return .truncated }
        let base = reply.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var msg = ns_msg()
        guard ns_initparse(base, Int32(reply.count), &msg) == 0 else { return .notOurs }
        let rr = UnsafeMutablePointer<ns_rr>.allocate(capacity: 1)
        defer { rr.deallocate() }
        guard msg._counts.0 == 1, ns_parserr(&msg, ns_s_qd, 0, rr) == 0,
              Int32(rr.pointee.type) == type.code, rr.pointee.rr_class == 1,
              sameName(rr, name) else { return .notOurs }
        let rcode = Int(reply[3] & 0x0f)
        if rcode == 1 && query.count > 12 && query[11] != 0 { return .formatError }
        if let f = DNSFailure(rcode: rcode) { return .serverError(f) }
        if rcode == 3 { return .answer(.failure(.noRecords)) }

        var records = Records(type)
        let end = base + reply.count
        for i in 0..<Int32(msg._counts.1) {
            guard ns_parserr(&msg, ns_s_an, i, rr) == 0 else { return .answer(.failure(.malformed)) }
            guard Int32(rr.pointee.type) == type.code, rr.pointee.rr_class == 1,
                  let rdata = rr.pointee.rdata else { continue }
            let rd = RData(msg: base, end: end, start: rdata, count: Int(rr.pointee.rdlength))
            guard records.add(rd) else { return .answer(.failure(.malformed)) }
        }
        return .answer(records.answer)
    }

    /// DNS compares names ASCII-case-insensitively; a trailing dot changes nothing.
    private static func sameName(_ rr: UnsafeMutablePointer<ns_rr>, _ name: String) -> Bool {
        let got = withUnsafePointer(to: &rr.pointee.name) { p in
            p.withMemoryRebound(to: CChar.self, capacity: Int(NS_MAXDNAME)) { String(cString: $0) }
        }
        func canonical(_ s: String) -> [UInt8] {
            var b = s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            if b.last == UInt8(ascii: ".") { b.removeLast() }
            return b
        }
        return canonical(got) == canonical(name)
    }

    /// The data of one record, with bounds-checked readers.
    struct RData {
        let msg: UnsafePointer<UInt8>
        let end: UnsafePointer<UInt8>
        let start: UnsafePointer<UInt8>
        let count: Int

        func u8(_ off: Int) -> Int? { off < count ? Int(start[off]) : nil }
        func u16(_ off: Int) -> Int? { off + 2 <= count ? Int(start[off]) << 8 | Int(start[off + 1]) : nil }
        func u32(_ off: Int) -> UInt32? {
            guard off + 4 <= count else { return nil }
            return (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(start[off + $1]) }
        }

        /// The (possibly compressed) name at `off`, absolute with a trailing dot, and the
        /// number of record bytes it took.
        func name(_ off: Int) -> (String, Int)? {
            guard off < count else { return nil }
            var buf = [CChar](repeating: 0, count: Int(NS_MAXDNAME))
            let used = ns_name_uncompress(msg, end, start + off, &buf, buf.count)
            guard used > 0, off + Int(used) <= count else { return nil }
            let s = String(cString: buf)
            return (s == "." ? s : s + ".", Int(used))
        }
    }

    /// Accumulates the records of one type into a DNSAnswer.
    private struct Records {
        let type: DNSType
        var addresses: [IPAddress] = []
        var names: [String] = []
        var texts: [[UInt8]] = []
        var mx: [MXRecord] = []
        var srv: [SRVRecord] = []
        var soa: [SOARecord] = []
        var sshfp: [SSHFPRecord] = []

        init(_ type: DNSType) { self.type = type }

        /// Adds one record; false when its data is malformed.
        mutating func add(_ rd: RData) -> Bool {
            switch type {
            case .a, .aaaa:
                guard rd.count == (type == .a ? 4 : 16),
                      let a = IPAddress(bytes: UnsafeRawBufferPointer(start: rd.start, count: rd.count)) else { return false }
                addresses.append(a)
            case .ns, .cname, .ptr:
                guard let (n, _) = rd.name(0) else { return false }
                names.append(n)
            case .mx:
                guard let pref = rd.u16(0), let (host, _) = rd.name(2) else { return false }
                mx.append(MXRecord(preference: pref, host: host))
            case .srv:
                guard let pri = rd.u16(0), let w = rd.u16(2), let port = rd.u16(4),
                      let (target, _) = rd.name(6) else { return false }
                srv.append(SRVRecord(priority: pri, weight: w, port: port, target: target))
            case .soa:
                guard let (mname, l1) = rd.name(0), let (rname, l2) = rd.name(l1) else { return false }
                let o = l1 + l2
                guard let serial = rd.u32(o), let refresh = rd.u32(o + 4), let retry = rd.u32(o + 8),
                      let expire = rd.u32(o + 12), let minimum = rd.u32(o + 16) else { return false }
                soa.append(SOARecord(mname: mname, rname: rname, serial: serial, refresh: refresh,
                                     retry: retry, expire: expire, minimum: minimum))
            case .txt, .spf:
                var text: [UInt8] = []
                var off = 0
                while off < rd.count {
                    let len = Int(rd.start[off])
                    guard off + 1 + len <= rd.count else { return false }
                    text.append(contentsOf: UnsafeBufferPointer(start: rd.start + off + 1, count: len))
                    off += 1 + len
                }
                texts.append(text)
            case .sshfp:
                guard let alg = rd.u8(0), let fp = rd.u8(1) else { return false }
                sshfp.append(SSHFPRecord(algorithm: alg, fingerprintType: fp,
                                         digest: Array(UnsafeBufferPointer(start: rd.start + 2, count: rd.count - 2))))
            }
            return true
        }

        var answer: DNSAnswer {
            let a: DNSAnswer
            switch type {
            case .a, .aaaa: a = .addresses(addresses)
            case .ns, .cname, .ptr: a = .names(names)
            case .mx: a = .mx(mx)
            case .srv: a = .srv(srv)
            case .soa: a = .soa(soa)
            case .txt, .spf: a = .texts(texts)
            case .sshfp: a = .sshfp(sshfp)
            }
            return a.isEmpty ? .failure(.noRecords) : a
        }
    }
}
