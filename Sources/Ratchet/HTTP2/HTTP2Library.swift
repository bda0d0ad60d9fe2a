import CLua
import CNGHTTP2
import COpenSSL
import Glibc

/// `ratchet.http2`: `new(role, options)` and the session methods. A session does no I/O; the
/// HTTP/2 server and client in LuaLib/ratchet/http/h2_*.lua move its bytes over a ratchet
/// socket. Failures of the protocol come back as nil and a message, never as a raised error.
enum HTTP2Library {
    static func open(_ lua: Lua) -> Int32 {
        HTTP2Session.registerMetatable(lua, methods: [
            ("receive", receive), ("output", output), ("event", event),
            ("respond", respond), ("request", request), ("send", send), ("buffered", buffered),
            ("reset", reset), ("shutdown", shutdown), ("terminate", terminate),
            ("want_read", wantRead), ("want_write", wantWrite), ("overdue", overdue), ("upgrade", upgrade), ("close", close),
        ])
        return lua.pushLibrary([("new", new)])
    }

    private static func notSession(_ lua: Lua) -> Int32 { lua.typeError(1, "ratchet.http2.session") }

    /// An optional non-negative integer field of the options table.
    private static func option(_ lua: Lua, _ name: StaticString, _ absent: Int, max: Int) -> (Int?, Int32) {
        guard lua.type(2) == LUA_TTABLE else { return (absent, 0) }
        let found = lua.getField(2, name) != LUA_TNIL
        let v = lua.integer(-1)
        lua.pop()
        guard found else { return (absent, 0) }
        guard let v, v >= 0, v <= max else {
            return (nil, lua.argError(2, "option '\(name)' must be an integer from 0 to \(max)"))
        }
        return (v, 0)
    }

    /// An optional number of seconds in the options table: absent, negative or infinite is
    /// -1 (no limit); NaN or another type is an argument error.
    private static func seconds(_ lua: Lua, _ name: StaticString) -> (Double?, Int32) {
        guard lua.type(2) == LUA_TTABLE else { return (-1, 0) }
        let t = lua.getField(2, name)
        let v = lua.number(-1)
        lua.pop()
        if t == LUA_TNIL { return (-1, 0) }
        guard t == LUA_TNUMBER, let v, !v.isNaN else {
            return (nil, lua.argError(2, "option '\(name)' must be a number of seconds"))
        }
        return (v < 0 || v.isInfinite ? -1 : v, 0)
    }

    /// new(role, options): role "server" or "client". options: max_concurrent_streams (100),
    /// max_header_list_size (16384; larger header lists are refused with 431),
    /// max_headers (0: no limit; more fields in a message are refused with 431),
    /// max_body_bytes (8 MiB; larger bodies are refused with 413, and so is a body that
    /// would take the bodies being received on the connection past twice it; 0: no limit),
    /// window_size (1 MiB: each stream's receive window, the connection's is 16 times it),
    /// header_timeout and body_timeout (server; seconds, none by default: see overdue()).
    /// The session's SETTINGS (and a client's preface) are the first `output()`.
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        let role = lua.string(1)
        guard role == "server" || role == "client" else { return lua.argError(1, "\"server\" or \"client\" expected") }
        if !lua.isNoneOrNil(2) && lua.type(2) != LUA_TTABLE { return lua.typeError(2, "table") }
        let (streams, e1) = option(lua, "max_concurrent_streams", 100, max: Int(Int32.max)); guard let streams else { return e1 }
        let (headerList, e2) = option(lua, "max_header_list_size", 16384, max: Int(Int32.max)); guard let headerList else { return e2 }
        let (body, e3) = option(lua, "max_body_bytes", 8 << 20, max: Int.max); guard let body else { return e3 }
        let (window, e4) = option(lua, "window_size", 1 << 20, max: (1 << 31) - 1 >> 4); guard let window else { return e4 }
        let (fields, e5) = option(lua, "max_headers", 0, max: Int(Int32.max)); guard let fields else { return e5 }
        let (headerTimeout, e6) = seconds(lua, "header_timeout"); guard let headerTimeout else { return e6 }
        let (bodyTimeout, e7) = seconds(lua, "body_timeout"); guard let bodyTimeout else { return e7 }

        let s = HTTP2Session(server: role == "server")
        s.maxHeaderListSize = headerList
        s.maxBodyBytes = body
        s.maxFields = fields
        s.headerTimeout = headerTimeout
        s.bodyTimeout = bodyTimeout
        // nghttp2's defaults hold: received messages are checked against RFC 9113 8
        // (pseudo-headers, field names, content-length), window updates are automatic,
        // and SETTINGS/PING floods end the session.
        guard s.start(options: nil), let ns = s.session else { return lua.raise("nghttp2_session_new failed") }
        var iv = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: UInt32(streams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: UInt32(headerList)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: UInt32(window)),
        ]
        if !s.isServer { iv.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0)) }
        if headerList == 0 { iv.remove(at: 1) }
        _ = nghttp2_submit_settings(ns, UInt8(NGHTTP2_FLAG_NONE.rawValue), iv, iv.count)
        _ = nghttp2_session_set_local_window_size(ns, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, Int32(window << 4))
        HTTP2Session.push(lua, s)
        return 1
    }

    private static func fail(_ lua: Lua, _ message: String) -> Int32 {
        lua.pushNil()
        lua.push(message)
        return 2
    }

    /// receive(bytes) → true, or nil and why the connection must end (after sending output()).
    static let receive: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let b = lua.bytes(2) else { return lua.typeError(2, "string") }
        if let problem = s.receive(b) { return fail(lua, problem) }
        lua.push(true)
        return 1
    }

    /// output() → the bytes to send now (at most about 256 KiB per call), or nil.
    static let output: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        if let problem = s.output(into: &s.outBuffer, limit: 256 << 10) {
            s.outBuffer.removeAll(keepingCapacity: true)
            return fail(lua, problem)
        }
        if s.outBuffer.isEmpty { lua.pushNil(); return 1 }
        s.outBuffer.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
        s.outBuffer.removeAll(keepingCapacity: s.outBuffer.count <= 1 << 18)
        return 1
    }

    /// event() → the next event, or nothing:
    /// "message", stream, headers, body (nil when none), then for a request its :method,
    /// :path and :authority, for a response its :status — a complete request or response
    /// (headers: its regular fields);
    /// "refused", stream, status (431 or 413) — over a limit, its content dropped;
    /// "reset", stream, error code — closed before its message was complete;
    /// "goaway", last stream id, error code;
    /// "settings" — the peer's first SETTINGS frame came.
    static let event: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let e = s.nextEvent() else { return 0 }
        switch e {
        case .message(let id, let st):
            lua.push("message" as StaticString); lua.push(id)
            let pushed = HTTP2Fields.push(lua, st, pseudo: s.isServer ? HTTP2Fields.requestPseudo : HTTP2Fields.responsePseudo)
            if st.hasBody {
                st.body.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
            } else {
                lua.pushNil()
            }
            lua_rotate(L, -pushed, 1)   // the body right after the headers, then the pseudo-headers
            s.bodyBytes -= st.body.count
            st.dropReceived()
            return 3 + pushed
        case .refused(let id, let status):
            lua.push("refused" as StaticString); lua.push(id); lua.push(status)
        case .reset(let id, let code):
            lua.push("reset" as StaticString); lua.push(id); lua.push(Int(code))
        case .goaway(let last, let code):
            lua.push("goaway" as StaticString); lua.push(last); lua.push(Int(code))
        case .settings:
            lua.push("settings" as StaticString)
            return 1
        }
        return 3
    }

    /// A stream id argument (a positive 31-bit integer).
    private static func streamID(_ lua: Lua, _ i: Int32) -> Int32? {
        guard let v = lua.integer(i), v > 0, v <= Int(Int32.max) else { return nil }
        return Int32(v)
    }

    /// A body argument: nil or a string. `more`: further bytes come with send().
    private static func bodyProvider(_ lua: Lua, _ s: HTTP2Session, _ st: HTTP2Stream, _ i: Int32, more: Bool) -> Bool {
        if let b = lua.bytes(i) { st.out.append(contentsOf: b) }
        st.outEnded = !more
        return more || !st.out.isEmpty
    }

    /// respond(stream, status, headers, body, more, date) → true, or nil and a message (the
    /// stream is gone: reset by the peer). headers: name → value or array of values.
    /// body: a string or nil; with `more`, the body continues with send(). date: a Date
    /// field to add (the caller knows whether the headers have one).
    static let respond: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(7)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let id = streamID(lua, 2) else { return lua.typeError(2, "stream id") }
        guard let status = lua.integer(3), (100...999).contains(status) else { return lua.argError(3, "status code from 100 to 999 expected") }
        if !lua.isNoneOrNil(5) && lua.type(5) != LUA_TSTRING { return lua.typeError(5, "string") }
        guard let ns = s.session else { return fail(lua, "the session is closed") }
        guard let st = s.find(id) else { return fail(lua, "stream \(id) is closed") }
        let list = s.fieldList
        list.reset()
        var digits = (UInt8(0x30 + status / 100), UInt8(0x30 + status / 10 % 10), UInt8(0x30 + status % 10))
        withUnsafeBytes(of: &digits) { list.add(":status", $0) }
        if let date = lua.bytes(7) { list.add("date", date) }
        if let problem = HTTP2Fields.addTable(lua, list, table: 4) { return lua.argError(4, problem) }
        let hasBody = bodyProvider(lua, s, st, 5, more: lua.toBool(6))
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2Callbacks.readBody)
        let rc = list.withList { nv, n in
            hasBody ? nghttp2_submit_response(ns, id, nv, n, &provider) : nghttp2_submit_response(ns, id, nv, n, nil)
        }
        if rc != 0 { return fail(lua, String(cString: nghttp2_strerror(rc))) }
        lua.push(true)
        return 1
    }

    /// request(method, scheme, authority, path, headers, body, more) → stream id, or nil and
    /// a message (no new stream allowed: GOAWAY received, or the stream ids ran out).
    static let request: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(8)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        for i: Int32 in 2...5 where lua.type(i) != LUA_TSTRING { return lua.typeError(i, "string") }
        if !lua.isNoneOrNil(7) && lua.type(7) != LUA_TSTRING { return lua.typeError(7, "string") }
        guard let ns = s.session else { return fail(lua, "the session is closed") }
        guard nghttp2_session_check_request_allowed(ns) != 0 else { return fail(lua, "no new stream allowed (GOAWAY)") }
        let list = s.fieldList
        list.reset()
        list.add(":method", lua.bytes(2)!)
        list.add(":scheme", lua.bytes(3)!)
        list.add(":authority", lua.bytes(4)!)
        list.add(":path", lua.bytes(5)!)
        if let problem = HTTP2Fields.addTable(lua, list, table: 6) { return lua.argError(6, problem) }
        let st = HTTP2Stream()
        let hasBody = bodyProvider(lua, s, st, 7, more: lua.toBool(8))
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: HTTP2Callbacks.readBody)
        let rc = list.withList { nv, n in
            hasBody ? nghttp2_submit_request(ns, nil, nv, n, &provider, nil) : nghttp2_submit_request(ns, nil, nv, n, nil, nil)
        }
        guard rc > 0 else { return fail(lua, String(cString: nghttp2_strerror(rc))) }
        let id = rc
        s.streams[id] = st
        lua.push(id)
        return 1
    }

    /// send(stream, bytes, last) → true, or nil when the stream is gone or already ended.
    static let send: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let id = streamID(lua, 2) else { return lua.typeError(2, "stream id") }
        guard let b = lua.bytes(3) else { return lua.typeError(3, "string") }
        if s.send(id, b, last: lua.toBool(4)) { lua.push(true) } else { lua.pushNil() }
        return 1
    }

    /// buffered(stream) → body bytes queued and not yet sent (flow control), or nil if the
    /// stream is gone.
    static let buffered: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let id = streamID(lua, 2) else { return lua.typeError(2, "stream id") }
        if let st = s.find(id) { lua.push(st.buffered) } else { lua.pushNil() }
        return 1
    }

    /// An optional HTTP/2 error code argument (default NO_ERROR).
    private static func errorCode(_ lua: Lua, _ i: Int32) -> UInt32? {
        if lua.isNoneOrNil(i) { return 0 }
        guard let v = lua.integer(i), v >= 0, v <= Int(UInt32.max) else { return nil }
        return UInt32(v)
    }

    /// reset(stream, code): RST_STREAM (default code NO_ERROR, 0; INTERNAL_ERROR is 2).
    static let reset: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let id = streamID(lua, 2) else { return lua.typeError(2, "stream id") }
        guard let code = errorCode(lua, 3) else { return lua.typeError(3, "error code") }
        if let ns = s.session { _ = nghttp2_submit_rst_stream(ns, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, code) }
        return 0
    }

    /// shutdown(): a graceful GOAWAY naming the last stream received; those finish, no new
    /// ones are accepted, and want_read()/want_write() turn false once all are done.
    static let shutdown: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        if let ns = s.session {
            _ = nghttp2_submit_goaway(ns, UInt8(NGHTTP2_FLAG_NONE.rawValue),
                                      nghttp2_session_get_last_proc_stream_id(ns), 0, nil, 0)
        }
        return 0
    }

    /// terminate(code): GOAWAY with the error code; the session then only sends it.
    static let terminate: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let code = errorCode(lua, 2) else { return lua.typeError(2, "error code") }
        if let ns = s.session { _ = nghttp2_session_terminate_session(ns, code) }
        return 0
    }

    static let wantRead: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        lua.push(s.session.map { nghttp2_session_want_read($0) != 0 } ?? false)
        return 1
    }

    static let wantWrite: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        lua.push(s.session.map { nghttp2_session_want_write($0) != 0 } ?? false)
        return 1
    }

    /// overdue() → what a server must give up on, on ratchet.now()'s clock: stream, "head" for
    /// a request header block (or, as stream 0, any frame) not complete header_timeout after
    /// it began — the connection must end —, stream, "body" for a request body not complete
    /// body_timeout after its headers (the rest of it is ignored from now on; answer it).
    /// Otherwise nil, the earliest deadline still running (nil: none), and whether any
    /// request is being received.
    static let overdue: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        switch s.overdue(now: monotonicSeconds()) {
        case .stream(let id, let stage):
            lua.push(id)
            lua.push(stage == .body ? "body" : "head")
            return 2
        case .running(let next, let receiving):
            lua.pushNil()
            if next.isInfinite { lua.pushNil() } else { lua.push(next) }
            lua.push(receiving)
            return 3
        }
    }

    /// A base64url value (RFC 4648 5; padding optional) decoded, or nil when it is not one.
    private static func base64url(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        var b64: [UInt8] = text.map { $0 == 0x2d ? 0x2b : $0 == 0x5f ? 0x2f : $0 }   // -_ → +/
        while b64.last == 0x3d { b64.removeLast() }   // "="
        let padding = (4 - b64.count % 4) % 4
        guard padding < 3 else { return nil }
        b64.append(contentsOf: repeatElement(0x3d, count: padding))
        var out = [UInt8](repeating: 0, count: b64.count / 4 * 3 + 1)
        let n = EVP_DecodeBlock(&out, b64, Int32(b64.count))   // rejects what is not base64
        guard n >= 0 else { return nil }
        return Array(out[0..<Int(n) - padding])
    }

    /// upgrade(http2_settings, head) (server): takes over an HTTP/1.1 request that asked for
    /// h2c (RFC 7540 3.2): the HTTP2-Settings value (base64url SETTINGS payload) becomes the
    /// client's settings and the request stream 1, half-closed, for respond() (`head`: it
    /// was a HEAD request). → true, or nil and why (the connection stays HTTP/1.1).
    static let upgrade: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        guard let text = lua.bytes(2) else { return lua.typeError(2, "string") }
        guard s.isServer, let ns = s.session else { return fail(lua, "not an open server session") }
        guard let payload = base64url(text) else { return fail(lua, "HTTP2-Settings is not base64url") }
        let rc = payload.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(ns, $0.baseAddress, $0.count, lua.toBool(3) ? 1 : 0, nil)
        }
        if rc != 0 { return fail(lua, String(cString: nghttp2_strerror(rc))) }
        s.stream(1).delivered = true   // the request came as HTTP/1.1: only its response is to go
        lua.push(true)
        return 1
    }

    static let close: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let s = HTTP2Session.get(lua, 1) else { return notSession(lua) }
        s.close(lua)
        return 0
    }
}
