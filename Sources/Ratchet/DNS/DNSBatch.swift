import CLua
import Glibc

/// The queries of one call (one type for query, several for query_all) and the thread
/// waiting for all of them: a WaitSource that wakes it when the last one is answered.
/// It lives as userdata on the waiting coroutine's stack, so a thread that is killed
/// mid-query leaves it to the collector, whose `close` cancels what is still running.
final class DNSBatch: WaitSource, LuaHandle {
    static let metatableName: StaticString = "ratchet_dns_query_meta"
    static let shownName: StaticString = "ratchet.dns query"

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
