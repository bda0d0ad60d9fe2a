import Glibc

/// What of a request a server stream is still receiving (for its deadline).
enum ReceiveStage: UInt8 {
    case none, head, body
}

/// One HTTP/2 stream as the binding sees it: the message being received (header fields and
/// body, gathered until END_STREAM) and the body being sent (bytes the Lua side handed over
/// that nghttp2 has not taken yet, because the peer's flow-control window is closed).
final class HTTP2Stream {
    /// Received header fields, all in one buffer: name and value ranges into `fieldBytes`.
    @exclusivity(unchecked) var fieldBytes: [UInt8] = []
    @exclusivity(unchecked) var fields: [(name: Range<Int>, value: Range<Int>)] = []
    /// Header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (name + value + 32 each).
    @exclusivity(unchecked) var headerListSize = 0
    @exclusivity(unchecked) var body: [UInt8] = []
    @exclusivity(unchecked) var hasBody = false
    /// 431 or 413 once the message went over a limit: it is dropped and refused instead.
    @exclusivity(unchecked) var refusal = 0
    /// The message (or its refusal) was handed to Lua: a later close is not a reset.
    @exclusivity(unchecked) var delivered = false
    /// A request being received against a deadline (server sessions with timeouts): its
    /// header block (`.head`) or its body (`.body`), and when that must be complete
    /// (0 until the receive call that began it ends; infinity: no limit).
    @exclusivity(unchecked) var stage = ReceiveStage.none
    @exclusivity(unchecked) var deadline = 0.0

    /// The body being sent: out[outPos...] is still to go; `outEnded`: no more will come.
    @exclusivity(unchecked) var out: [UInt8] = []
    @exclusivity(unchecked) var outPos = 0
    @exclusivity(unchecked) var outEnded = false
    /// nghttp2 was told DEFERRED and waits for resume_data.
    @exclusivity(unchecked) var deferred = false

    var buffered: Int { out.count - outPos }

    init() {
        // room for a typical header list without regrowing
        fieldBytes.reserveCapacity(256)
        fields.reserveCapacity(12)
    }

    /// Back to the state of a new stream, keeping small buffers (for reuse by the session).
    func reset() {
        fieldBytes.removeAll(keepingCapacity: fieldBytes.capacity <= 4096)
        fields.removeAll(keepingCapacity: fields.capacity <= 64)
        headerListSize = 0
        dropBody()
        hasBody = false
        refusal = 0
        delivered = false
        stage = .none
        deadline = 0
        out.removeAll(keepingCapacity: out.capacity <= 16384)
        outPos = 0
        outEnded = false
        deferred = false
    }

    /// Forgets the received fields and body once Lua has them (small buffers are kept).
    func dropReceived() {
        fieldBytes.removeAll(keepingCapacity: fieldBytes.capacity <= 4096)
        fields.removeAll(keepingCapacity: fields.capacity <= 64)
        dropBody()
    }

    private func dropBody() { body.removeAll(keepingCapacity: body.capacity <= 16384) }

    func addField(name: UnsafePointer<UInt8>, _ nameLen: Int, value: UnsafePointer<UInt8>, _ valueLen: Int,
                  limit: Int, maxFields: Int) {
        headerListSize += nameLen + valueLen + 32
        if limit > 0 && headerListSize > limit { refuse(431); return }
        if maxFields > 0 && fields.count >= maxFields + 4 { refuse(431); return }   // + pseudo-headers
        guard refusal == 0 else { return }
        let n = fieldBytes.count
        fieldBytes.append(contentsOf: UnsafeBufferPointer(start: name, count: nameLen))
        fieldBytes.append(contentsOf: UnsafeBufferPointer(start: value, count: valueLen))
        fields.append((n..<n + nameLen, n + nameLen..<n + nameLen + valueLen))
    }

    func addBody(_ data: UnsafePointer<UInt8>, _ count: Int, limit: Int) {
        guard refusal == 0 else { return }
        if limit > 0 && body.count + count > limit { refuse(413); return }
        hasBody = true
        body.append(contentsOf: UnsafeBufferPointer(start: data, count: count))
    }

    /// Forgets what was gathered: the message will not be delivered, only its refusal.
    func refuse(_ status: Int) {
        if refusal == 0 { refusal = status }
        dropReceived()
    }

    /// Drops an interim (1xx) response's fields so the final one starts clean.
    func clearFields() {
        fieldBytes.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        headerListSize = 0
    }

    /// Copies up to `length` outgoing bytes to `buf`; the count, with `eof` once all is sent.
    func take(into buf: UnsafeMutablePointer<UInt8>, length: Int) -> (Int, eof: Bool) {
        let n = min(length, out.count - outPos)
        if n > 0 {
            _ = out.withUnsafeBufferPointer { memcpy(buf, $0.baseAddress! + outPos, n) }
            outPos += n
        }
        if outPos == out.count {
            out.removeAll(keepingCapacity: out.count <= 1 << 20)
            outPos = 0
        } else if outPos >= 1 << 20 {
            // a large body already half sent: drop the sent part rather than keep it all
            out.removeSubrange(0..<outPos)
            outPos = 0
        }
        return (n, outEnded && out.isEmpty)
    }
}
