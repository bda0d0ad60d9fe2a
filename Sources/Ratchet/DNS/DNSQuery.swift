import CLibEvent
import CLua
import Glibc

/// One query of one type, answered by libevent callbacks: A and AAAA through evdns
/// (EvdnsRequest), every other type through RawDNSRequest. It tries the search-list
/// candidates of the name in turn and reports its answer to its batch.
class DNSRequest {
    let type: DNSType
    let config: DNSConfig
    let state: DNSKernelState
    private let candidates: [String]
    private var index = 0
    /// A search-list candidate was answered "no such name": a server error on a later one
    /// (a name outside every zone is often REFUSED) does not hide that.
    private var sawNoRecords = false
    weak var batch: DNSBatch?
    /// Set once: the answer, or timedOut when the batch gave up.
    private(set) var result: DNSAnswer?

    init(qname: String, type: DNSType, config: DNSConfig, state: DNSKernelState) {
        self.type = type
        self.config = config
        self.state = state
        candidates = config.candidates(qname)
    }

    final func start() {
        guard let first = candidates.first, DNSRequest.isValid(first) else {
            return complete(.failure(.invalidName))
        }
        send(first)
    }

    /// Asks the nameservers about `qname`; the subclass reports through `candidateDone`.
    func send(_ qname: String) {}
    /// Stops all I/O of this request (it is answered or given up).
    func stopTransport() {}
    /// The kernel is closing: stop all I/O without reporting to anyone.
    func abandon() {}

    /// The nameservers' verdict on the current candidate: "no such name/record" moves on
    /// to the next one, anything else is the answer.
    final func candidateDone(_ a: DNSAnswer) {
        guard result == nil else { return }
        if case .failure(let f) = a {
            if f == .noRecords {
                sawNoRecords = true
                if index + 1 < candidates.count {
                    index += 1
                    if DNSRequest.isValid(candidates[index]) { return send(candidates[index]) }
                    return candidateDone(a)
                }
            } else if sawNoRecords && f != .timedOut {
                return complete(.failure(.noRecords))
            }
        }
        complete(a)
    }

    private func complete(_ a: DNSAnswer) {
        guard result == nil else { return }
        result = a
        stopTransport()
        batch?.requestFinished()
    }

    /// Gives up: the batch timed out or was collected.
    final func cancel() {
        guard result == nil else { return }
        result = .failure(.timedOut)
        stopTransport()
    }

    /// What any DNS message can carry: at most 253 characters, labels of 1 to 63.
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253, !bytes.contains(0) else { return false }
        return bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            .allSatisfy { (1...63).contains($0.count) }
    }
}

/// An A or AAAA query through evdns.
final class EvdnsRequest: DNSRequest {
    private var handle: OpaquePointer?
    private var base: OpaquePointer?

    override func send(_ qname: String) {
        guard let b = state.evdnsBase(for: config) else { return candidateDone(.failure(.serverFailed)) }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let flags = Int32(DNS_QUERY_NO_SEARCH)  // the search list is applied by DNSRequest
        let h = type == .a ? evdns_base_resolve_ipv4(b, qname, flags, evdnsFired, me)
                           : evdns_base_resolve_ipv6(b, qname, flags, evdnsFired, me)
        guard let h else { return candidateDone(.failure(.invalidName)) }
        handle = h
        base = b
        state.track(self)
    }

    /// evdns calls back exactly once per request, also after a cancel (DNS_ERR_CANCEL), and
    /// frees the handle after that; until then this object must stay alive (tracked).
    fileprivate func fired(_ err: Int32, count: Int32, addresses: UnsafeMutableRawPointer?) {
        handle = nil
        state.untrack(self)
        guard result == nil else { return }
        switch err {
        case DNS_ERR_NONE:
            let size = type == .a ? 4 : 16
            var list: [IPAddress] = []
            if let p = addresses, count > 0 {
                for i in 0..<Int(count) {
                    if let a = IPAddress(bytes: UnsafeRawBufferPointer(start: p + i * size, count: size)) { list.append(a) }
                }
            }
            candidateDone(list.isEmpty ? .failure(.noRecords) : .addresses(list))
        case DNS_ERR_NOTEXIST, DNS_ERR_NODATA: candidateDone(.failure(.noRecords))
        case DNS_ERR_TIMEOUT: candidateDone(.failure(.timedOut))
        case DNS_ERR_REFUSED: candidateDone(.failure(.refused))
        case DNS_ERR_FORMAT: candidateDone(.failure(.formatError))
        case DNS_ERR_NOTIMPL: candidateDone(.failure(.notImplemented))
        case DNS_ERR_TRUNCATED: candidateDone(.failure(.malformed))
        default: candidateDone(.failure(.serverFailed))
        }
    }

    override func stopTransport() {
        if let h = handle, let b = base { evdns_cancel_request(b, h) }
    }

    override func abandon() { stopTransport() }
}

private let evdnsFired: @convention(c) (Int32, CChar, Int32, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = {
    err, _, count, _, addresses, arg in
    let r = Unmanaged<EvdnsRequest>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(r) { r.fired(err, count: count, addresses: addresses) }
}

/// The queries of one call (one type for query, several for query_all) and the thread
/// waiting for all of them: a WaitSource that wakes it when the last one is answered.
/// It lives as userdata on the waiting coroutine's stack, so a thread that is killed
/// mid-query leaves it to the collector, whose `close` cancels what is still running.
final class DNSBatch: WaitSource, LuaHandle {
    static let metatableName: StaticString = "ratchet_dns_query_meta"

    let name: String
    let types: [DNSType]
    /// Local answers, filled in at creation; the rest come from `requests`.
    private var local: [DNSAnswer?]
    private var requests: [Int: DNSRequest] = [:]
    private var pending = 0
    private var waiter: LuaThread?
    /// Monotonic time at which the whole call gives up, if any.
    private var deadline: Double?

    init(name: String, types: [DNSType], hosts: HostsFile) {
        self.name = name
        self.types = types
        local = types.map { LocalAnswers.answer(name, $0, hosts: hosts) }
    }

    var needsNetwork: Bool { local.contains { $0 == nil } }
    var isDone: Bool { pending == 0 }

    /// Sends every query that has no local answer.
    func start(_ state: DNSKernelState, config: DNSConfig, expire: Double?) {
        deadline = expire.map { DNSBatch.now() + $0 }
        for (i, type) in types.enumerated() where local[i] == nil {
            let qname = type == .ptr ? LocalAnswers.ptrName(name) : name
            let r: DNSRequest = type.isAddress
                ? EvdnsRequest(qname: qname, type: type, config: config, state: state)
                : RawDNSRequest(qname: qname, type: type, config: config, state: state)
            r.batch = self
            requests[i] = r
            pending += 1
        }
        for i in requests.keys.sorted() { requests[i]!.start() }
    }

    func requestFinished() {
        pending -= 1
        if pending == 0, let t = waiter {
            waiter = nil
            t.kernel.wake(t, .ready(0))
        }
    }

    /// Parks `t` until every query is answered or the deadline passes.
    func wait(_ t: LuaThread) {
        waiter = t
        t.kernel.addSource(t, self)
        t.kernel.park(t, timeout: deadline.map { max(0, $0 - DNSBatch.now()) })
    }

    func removeWaiter(_ t: LuaThread) {
        if waiter === t { waiter = nil }
    }

    /// The deadline passed: what is still running is cancelled and reads "Timed out.".
    func expire() {
        for r in requests.values { r.cancel() }
        pending = 0
    }

    func answer(_ i: Int) -> DNSAnswer {
        local[i] ?? requests[i]?.result ?? .failure(.timedOut)
    }

    func close(_ lua: Lua) {
        waiter = nil
        expire()
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
