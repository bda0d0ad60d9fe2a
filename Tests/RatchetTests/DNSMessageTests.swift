import Testing
@testable import Ratchet

/// What the DNS code takes from the network or from users is parsed without trapping, and
/// parsed right: replies (libresolv under DNSMessage), nameserver addresses, reverse names.
@Suite("DNS messages and names")
struct DNSMessageTests {
    /// A reply to `query` with the given answer records (already encoded).
    func reply(to query: [UInt8], flags: UInt8 = 0x80, rcode: UInt8 = 0, answers: [[UInt8]]) -> [UInt8] {
        let qEnd = 12 + questionLength(query)
        var r = Array(query[0..<qEnd])
        r[2] = 0x81 | (flags & 0x02)          // QR, RD (+TC when asked)
        r[3] = 0x80 | rcode                   // RA
        r[6] = 0; r[7] = UInt8(answers.count)
        r[8] = 0; r[9] = 0; r[10] = 0; r[11] = 0
        for a in answers { r += a }
        return r
    }

    func questionLength(_ q: [UInt8]) -> Int {
        var i = 12
        while q[i] != 0 { i += Int(q[i]) + 1 }
        return i + 1 + 4 - 12
    }

    /// An answer record owned by the question name (compression pointer to offset 12).
    func record(type: UInt16, _ rdata: [UInt8]) -> [UInt8] {
        [0xc0, 12, UInt8(type >> 8), UInt8(type & 0xff), 0, 1, 0, 0, 0x0e, 0x10,
         UInt8(rdata.count >> 8), UInt8(rdata.count & 0xff)] + rdata
    }

    func parse(_ r: [UInt8], _ q: [UInt8], _ name: String, _ type: DNSType) -> DNSMessage.Reply {
        r.withUnsafeBytes { DNSMessage.parse(reply: $0, query: q, name: name, type: type) }
    }

    @Test("queries carry one question, RD, and EDNS0 when asked")
    func queries() throws {
        let q = try #require(DNSMessage.query(name: "mail.example", type: .mx, edns: true))
        #expect(q[2] & 0x01 == 1)                       // RD
        #expect(q[4] == 0 && q[5] == 1)                 // QDCOUNT
        #expect(q[10] == 0 && q[11] == 1)               // ARCOUNT: the OPT record
        let plain = try #require(DNSMessage.query(name: "mail.example", type: .mx, edns: false))
        #expect(plain[11] == 0 && plain.count == q.count - 11)
        #expect(DNSMessage.query(name: String(repeating: "a", count: 64) + ".example", type: .a, edns: true) == nil)
    }

    @Test("an MX answer with a compressed name")
    func mxAnswer() throws {
        let q = try #require(DNSMessage.query(name: "mail.example", type: .mx, edns: false))
        // preference 10, "mx1" + pointer to "mail.example" at offset 12
        let r = reply(to: q, answers: [record(type: 15, [0, 10, 3, 0x6d, 0x78, 0x31, 0xc0, 12])])
        guard case .answer(.mx(let list)) = parse(r, q, "mail.example", .mx) else {
            Issue.record("no MX answer"); return
        }
        #expect(list.count == 1 && list[0].preference == 10 && list[0].host == "mx1.mail.example.")
    }

    @Test("replies that are not ours, truncated, failed or malformed")
    func badReplies() throws {
        let q = try #require(DNSMessage.query(name: "x.example", type: .txt, edns: true))
        var r = reply(to: q, answers: [record(type: 16, [2, 0x68, 0x69])])
        guard case .answer(.texts(let t)) = parse(r, q, "x.example", .txt) else { Issue.record("txt"); return }
        #expect(t == [[0x68, 0x69]])
        #expect(parse(r, q, "y.example", .txt).isNotOurs)              // another question
        #expect(parse(r, q, "x.example", .mx).isNotOurs)               // another type
        r[0] ^= 0xff
        #expect(parse(r, q, "x.example", .txt).isNotOurs)              // another ID
        r[0] ^= 0xff
        #expect(parse(Array(r[0..<(r.count - 2)]), q, "x.example", .txt).isNotOurs) // cut short
        let tc = reply(to: q, flags: 0x02, answers: [])
        if case .truncated = parse(tc, q, "x.example", .txt) {} else { Issue.record("TC") }
        if case .formatError = parse(reply(to: q, rcode: 1, answers: []), q, "x.example", .txt) {} else { Issue.record("FORMERR with EDNS") }
        if case .serverError(.serverFailed) = parse(reply(to: q, rcode: 2, answers: []), q, "x.example", .txt) {} else { Issue.record("SERVFAIL") }
        if case .answer(.failure(.noRecords)) = parse(reply(to: q, rcode: 3, answers: []), q, "x.example", .txt) {} else { Issue.record("NXDOMAIN") }
        let lying = reply(to: q, answers: [record(type: 16, [9, 0x68])])   // length byte past the end
        if case .answer(.failure(.malformed)) = parse(lying, q, "x.example", .txt) {} else { Issue.record("malformed TXT") }
        let qs = try #require(DNSMessage.query(name: "x.example", type: .soa, edns: false))
        let shortSOA = reply(to: qs, answers: [record(type: 6, [0, 0, 0, 0])])   // names, then 2 of 20 bytes
        if case .answer(.failure(.malformed)) = parse(shortSOA, qs, "x.example", .soa) {} else { Issue.record("short SOA") }
    }

    @Test("random corruption of a reply never traps")
    func fuzz() throws {
        let q = try #require(DNSMessage.query(name: "f.example", type: .srv, edns: false))
        let good = reply(to: q, answers: [record(type: 33, [0, 1, 0, 2, 0, 25, 1, 0x74, 0xc0, 12]),
                                          record(type: 33, [0, 3, 0, 4, 1, 0, 0])])
        guard case .answer(.srv(let list)) = parse(good, q, "f.example", .srv) else { Issue.record("srv"); return }
        #expect(list.count == 2 && list[0].target == "t.f.example." && list[1].target == ".")
        var rng = SystemRandomNumberGenerator()
        for type in DNSType.allCases {
            for _ in 0..<2000 {
                var r = good
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    r[Int.random(in: 12..<r.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                if Bool.random(using: &rng) { r = Array(r[0..<Int.random(in: 0...r.count, using: &rng)]) }
                _ = parse(r, q, "f.example", type)
            }
        }
    }

    @Test("nameserver addresses")
    func nameservers() {
        #expect(NameServer("127.0.0.1")?.text == "127.0.0.1:53")
        #expect(NameServer("127.0.0.1:5353")?.text == "127.0.0.1:5353")
        #expect(NameServer("::1")?.text == "[::1]:53")
        #expect(NameServer("[::1]:5300")?.text == "[::1]:5300")
        #expect(NameServer("fe80::1%1")?.scope == 1)
        for bad in ["", "x", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "[::1", "[::1]5", "1.2.3.4%1", "300.1.1.1"] {
            #expect(NameServer(bad) == nil, "\(bad)")
        }
    }

    @Test("reverse names round-trip and the search list applies by ndots")
    func names() throws {
        let v4 = try #require(IPAddress(literal: "192.0.2.5"))
        #expect(v4.reverseName == "5.2.0.192.in-addr.arpa")
        #expect(IPAddress(reverseName: v4.reverseName + ".") == v4)
        let v6 = try #require(IPAddress(literal: "2001:db8::5"))
        #expect(IPAddress(reverseName: v6.reverseName) == v6)
        #expect(IPAddress(reverseName: "1.2.3.in-addr.arpa") == nil)
        #expect(IPAddress(reverseName: "256.2.0.192.in-addr.arpa") == nil)
        let c = DNSConfig()
        c.search = ["a.example", "b.example"]
        #expect(c.candidates("host") == ["host.a.example", "host.b.example", "host"])
        #expect(c.candidates("host.sub") == ["host.sub", "host.sub.a.example", "host.sub.b.example"])
        #expect(c.candidates("host.") == ["host"])
        #expect(DNSRequest.isValid("a.b") && !DNSRequest.isValid("a..b") && !DNSRequest.isValid(""))
    }
}

extension DNSMessage.Reply {
    var isNotOurs: Bool { if case .notOurs = self { return true } else { return false } }
}
