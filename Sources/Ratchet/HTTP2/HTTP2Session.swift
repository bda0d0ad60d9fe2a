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
}

/// One HTTP/2 connection's protocol state (nghttp2_session) with no I/O of its own: the Lua
/// side reads the socket and feeds `receive`, and writes what `output` returns, through the
/// socket's ordinary yielding calls (TLS included). No event loop of its own.
final class HTTP2Session: LuaHandle {
    static let metatableName: StaticString = "ratchet_http2_session_meta"
    static let shownName: StaticString = "ratchet.http2.session"

    private(set) var session: OpaquePointer?
    let isServer: Bool
    /// Limits on received messages (0: none).
    var maxHeaderListSize = 0
    var maxBodyBytes = 0
    var maxFields = 0
    /// Request or response bodies being gathered on all streams (bounded by maxBodyBytes × 2).
    var bodyBytes = 0
    var streams: [Int32: HTTP2Stream] = [:]
    var events: [HTTP2Event] = []
    var eventPos = 0
    /// output()'s buffer, reused between calls.
    var outBuffer: [UInt8] = []
    /// A Lua error message from inside a callback would be lost; this says what went wrong.
    var failure: String?

    init(server: Bool) { isServer = server }

    deinit { free() }

    func close(_ lua: Lua) { free() }

    private func free() {
        if let s = session {
            nghttp2_session_del(s)
            session = nil
        }
        streams.removeAll()
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

    func stream(_ id: Int32) -> HTTP2Stream {
        if let st = streams[id] { return st }
        let st = HTTP2Stream()
        streams[id] = st
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
        return nil
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
        guard let s = session, let st = streams[id], !st.outEnded else { return false }
        st.out.append(contentsOf: bytes)
        if last { st.outEnded = true }
        if st.deferred {
            st.deferred = false
            _ = nghttp2_session_resume_data(s, id)
        }
        return true
    }
}
