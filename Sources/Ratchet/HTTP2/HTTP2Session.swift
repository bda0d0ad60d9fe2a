import CNGHTTP2
import Glibc

/// What the nghttp2 callbacks record for Lua to collect with `session:event()`. Callbacks
/// never touch Lua: they run inside nghttp2, called from a Swift frame.
enum HTTP2Event {
    /// A complete message (request or final response) on a stream: its fields and body.
    case message(Int32, HTTP2Stream)
    /// A message over a limit (431 header list, 413 body), dropped: the stream is to be refused.
    case refused(Int32, Int)
    /// A stream closed before its message was complete (RST_STREAM, GOAWAY, connection error).
    case reset(Int32, UInt32)
    /// The peer sent GOAWAY: streams above the id will not be processed.
    case goaway(Int32, UInt32)
    /// The peer's first SETTINGS frame arrived (after a client's preface: the connection is set up).
    case settings
}

/// `HTTP2Session.overdue`: what passed its deadline, or the next deadline.
enum Overdue {
    case stream(Int32, ReceiveStage)
    case running(next: Double, receiving: Bool)
}

/// One HTTP/2 connection's protocol state (nghttp2_session) with no I/O of its own: the Lua
/// side reads the socket and feeds `receive`, and writes what `output` returns, through the
/// socket's ordinary yielding calls (TLS included). No event loop of its own.
final class HTTP2Session: LuaHandle {
    static let metatableName: StaticString = "ratchet_http2_session_meta"
    static let shownName: StaticString = "ratchet.http2.session"

    @exclusivity(unchecked) private(set) var session: OpaquePointer?
    let isServer: Bool
    /// Limits on received messages (0: none).
    @exclusivity(unchecked) var maxHeaderListSize = 0
    @exclusivity(unchecked) var maxBodyBytes = 0
    @exclusivity(unchecked) var maxFields = 0
    /// Request or response bodies being gathered on all streams (bounded by maxBodyBytes × 2).
    @exclusivity(unchecked) var bodyBytes = 0
    @exclusivity(unchecked) var streams: [Int32: HTTP2Stream] = [:]
    @exclusivity(unchecked) var events: [HTTP2Event] = []
    @exclusivity(unchecked) var eventPos = 0
    /// output()'s buffer, reused between calls.
    @exclusivity(unchecked) var outBuffer: [UInt8] = []
    /// The header fields of the response or request being submitted, reused.
    let fieldList = HTTP2FieldList()
    /// A Lua error message from inside a callback would be lost; this says what went wrong.
    @exclusivity(unchecked) var failure: String?
    @exclusivity(unchecked) var settingsSeen = false

    // Deadlines of what a server is receiving (see `overdue`): seconds a frame and a request's
    // header block may take once begun (headerTimeout) and a request body once its headers
    // came (bodyTimeout); negative: no limit, and nothing is tracked when both are.
    @exclusivity(unchecked) var headerTimeout = -1.0
    @exclusivity(unchecked) var bodyTimeout = -1.0
    var tracksDeadlines: Bool { isServer && (headerTimeout >= 0 || bodyTimeout >= 0) }
    /// Streams with a stage (ReceiveStage) other than none.
    @exclusivity(unchecked) var receivingCount = 0
    /// Streams whose stage began during the current receive: their deadline starts at its end.
    @exclusivity(unchecked) var stageBegun: [Int32] = []
    /// Where the received bytes are in the framing: preface bytes still expected, bytes of a
    /// frame header seen (0–8) and its length so far, payload bytes still to come.
    @exclusivity(unchecked) var prefaceLeft = 0
    @exclusivity(unchecked) var frameHeaderSeen = 0
    @exclusivity(unchecked) var frameLength = 0
    @exclusivity(unchecked) var payloadLeft = 0
    /// When the frame (or preface) still incomplete began arriving; 0 at a frame boundary.
    @exclusivity(unchecked) var partialSince = 0.0

    init(server: Bool) {
        isServer = server
        prefaceLeft = server ? 24 : 0
    }

    deinit { free() }

    func close(_ lua: Lua) { free() }

    private func free() {
        if let s = session {
            nghttp2_session_del(s)
            session = nil
        }
        streams.removeAll()
        spare.removeAll()
        cached = nil
        cachedID = 0
        events.removeAll()
    }

    /// Creates the nghttp2 session with this object as its user data.
    func start(options: OpaquePointer?) -> Bool {
        var s: OpaquePointer?
        let me = Unmanaged.passUnretained(self).toOpaque()
        let rc = isServer
            ? nghttp2_session_server_new2(&s, HTTP2Callbacks.shared, me, options)
            : nghttp2_session_client_new2(&s, HTTP2Callbacks.shared, me, options)
        guard rc == 0, let s else { return false }
        session = s
        return true
    }

    /// The last stream looked up: the callbacks of one frame all ask for the same one.
    @exclusivity(unchecked) private var cachedID: Int32 = 0
    @exclusivity(unchecked) private var cached: HTTP2Stream?

    func find(_ id: Int32) -> HTTP2Stream? {
        if id == cachedID, let st = cached { return st }
        guard let st = streams[id] else { return nil }
        cachedID = id
        cached = st
        return st
    }

    func remove(_ id: Int32) -> HTTP2Stream? {
        if id == cachedID { cached = nil; cachedID = 0 }
        return streams.removeValue(forKey: id)
    }

    /// Closed streams kept for new ones (a stream and its buffers cost several allocations).
    @exclusivity(unchecked) private var spare: [HTTP2Stream] = []

    /// Keeps a closed stream for reuse, unless something still holds it (an event not yet
    /// collected).
    func recycle(_ st: inout HTTP2Stream) {
        guard spare.count < 32, isKnownUniquelyReferenced(&st) else { return }
        st.reset()
        spare.append(st)
    }

    func stream(_ id: Int32) -> HTTP2Stream {
        if let st = find(id) { return st }
        let st = spare.popLast() ?? HTTP2Stream()
        streams[id] = st
        cachedID = id
        cached = st
        return st
    }

    func post(_ e: HTTP2Event) { events.append(e) }

    /// The next recorded event, or nil (the queue is reset once drained).
    func nextEvent() -> HTTP2Event? {
        guard eventPos < events.count else {
            if !events.isEmpty { events.removeAll(keepingCapacity: true); eventPos = 0 }
            return nil
        }
        let e = events[eventPos]
        eventPos += 1
        return e
    }

    /// Feeds received bytes; nil on success, else why the connection must end (nghttp2 has
    /// queued a GOAWAY where the protocol asks for one: send `output` before closing).
    func receive(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let s = session else { return "the session is closed" }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let rc = nghttp2_session_mem_recv(s, base, bytes.count)
        if rc < 0 { return failure ?? String(cString: nghttp2_strerror(Int32(rc))) }
        if tracksDeadlines { trackFraming(base, bytes.count) }
        return nil
    }

    /// After a receive: notes whether it ended inside a frame (and since when), and starts
    /// the deadlines of the stages that began in it. The clock is read only when needed.
    private func trackFraming(_ p: UnsafePointer<UInt8>, _ n: Int) {
        var i = 0
        var crossed = false   // a frame ended here: an incomplete one at the end began here too
        if prefaceLeft > 0 {
            let k = min(prefaceLeft, n)
            prefaceLeft -= k
            i = k
            crossed = prefaceLeft == 0
        }
        while i < n {
            if payloadLeft > 0 {
                let k = min(payloadLeft, n - i)
                payloadLeft -= k
                i += k
                crossed = crossed || payloadLeft == 0
                continue
            }
            if frameHeaderSeen < 3 { frameLength = frameLength << 8 | Int(p[i]) }
            frameHeaderSeen += 1
            i += 1
            if frameHeaderSeen == 9 {
                payloadLeft = frameLength
                frameHeaderSeen = 0
                frameLength = 0
                crossed = crossed || payloadLeft == 0
            }
        }
        let partial = prefaceLeft > 0 || frameHeaderSeen > 0 || payloadLeft > 0
        var now = 0.0
        if partial {
            if partialSince == 0 || crossed { now = monotonicSeconds(); partialSince = now }
        } else {
            partialSince = 0
        }
        guard !stageBegun.isEmpty else { return }
        if now == 0 { now = monotonicSeconds() }
        for id in stageBegun {
            guard let st = find(id), st.stage != .none else { continue }
            let t = st.stage == .head ? headerTimeout : bodyTimeout
            st.deadline = t >= 0 ? now + t : .infinity
        }
        stageBegun.removeAll(keepingCapacity: true)
    }

    /// A server stream enters `stage` of receiving its request (none: done receiving).
    func setStage(_ st: HTTP2Stream, _ id: Int32, _ stage: ReceiveStage) {
        guard tracksDeadlines, st.stage != stage else { return }
        if st.stage == .none { receivingCount += 1 }
        if stage == .none {
            receivingCount -= 1
        } else {
            st.deadline = 0
            stageBegun.append(id)
        }
        st.stage = stage
    }

    /// What is past its deadline at `now`: a frame left incomplete (stream 0, stage .head), or
    /// a stream's header block or body (which is then no longer tracked). Otherwise nil, with
    /// the earliest deadline still running (infinity: none) and whether any stream is being
    /// received.
    func overdue(now: Double) -> Overdue {
        var next = Double.infinity
        if partialSince > 0 && headerTimeout >= 0 {
            let d = partialSince + headerTimeout
            if d <= now { return .stream(0, .head) }
            next = d
        }
        if receivingCount > 0 {
            for (id, st) in streams where st.stage != .none && st.deadline > 0 {
                guard st.deadline > now else {
                    let stage = st.stage
                    setStage(st, id, .none)
                    // what else comes for it is dropped, and neither delivered nor a reset
                    bodyBytes -= st.body.count
                    st.refuse(408)
                    st.delivered = true
                    return .stream(id, stage)
                }
                next = min(next, st.deadline)
            }
        }
        return .running(next: next, receiving: receivingCount > 0)
    }

    /// Everything nghttp2 has to send now, up to about `limit` bytes, appended to `into`.
    func output(into buf: inout [UInt8], limit: Int) -> String? {
        guard let s = session else { return nil }
        while buf.count < limit {
            var p: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(s, &p)
            if n < 0 { return String(cString: nghttp2_strerror(Int32(n))) }
            guard n > 0, let p else { break }
            buf.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        }
        return nil
    }

    /// Appends body bytes to a stream being sent and wakes its deferred data provider.
    func send(_ id: Int32, _ bytes: UnsafeRawBufferPointer, last: Bool) -> Bool {
        guard let s = session, let st = find(id), !st.outEnded else { return false }
        st.out.append(contentsOf: bytes)
        if last { st.outEnded = true }
        if st.deferred {
            st.deferred = false
            _ = nghttp2_session_resume_data(s, id)
        }
        return true
    }
}
