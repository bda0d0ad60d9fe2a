import CLibEvent

/// An A or AAAA query through evdns.
final class EvdnsRequest: DNSRequest {
    private var handle: OpaquePointer?
    private var base: OpaquePointer?
    /// Counts callbacks, so `send` can tell that one came during its own submission.
    private var callbacks = 0

    override func send(_ qname: String) {
        guard let b = state.evdnsBase(for: config) else { return candidateDone(.failure(.serverFailed)) }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let flags = Int32(DNS_QUERY_NO_SEARCH)  // the search list is applied by DNSRequest
        state.track(self)
        let before = callbacks
        let h = type == .a ? evdns_base_resolve_ipv4(b, qname, flags, evdnsFired, me)
                           : evdns_base_resolve_ipv6(b, qname, flags, evdnsFired, me)
        // evdns 2.1 always calls back later (deferred); should one answer at once, the
        // handle is already gone.
        if callbacks != before { return }
        guard let h else {
            state.untrack(self)
            return candidateDone(.failure(.invalidName))
        }
        handle = h
        base = b
    }

    /// evdns calls back exactly once per request, also after a cancel (DNS_ERR_CANCEL), and
    /// frees the handle after that; until then this object must stay alive (tracked).
    fileprivate func fired(_ err: Int32, count: Int32, addresses: UnsafeMutableRawPointer?) {
        handle = nil
        callbacks += 1
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
