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
