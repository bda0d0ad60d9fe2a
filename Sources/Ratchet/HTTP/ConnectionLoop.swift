import CLua
import Glibc

/// The keep-alive loop of `ratchet.http.server` for the common request, as one native call
/// that serves request after request until something needs the server's Lua code: the
/// socket is read into the receive buffer and the head parsed where it landed (no Lua string
/// for the bytes), the handler is called through the trampoline (it may yield like any Lua
/// code), and its response is checked, serialised and sent by ResponseHead, all without a
/// line of Lua between requests. In callgrind the Lua connection loop around each request
/// (about 50 lines) cost as much as the parser and the response builder together.
///
/// The common request is a complete head that is, with its Content-Length body if it has
/// one, all the bytes read (no pipelining, no body in pieces), with no chunked body,
/// Expect, Upgrade or odd Host, not HEAD, for a method the handler
/// object holds itself as a function (rawget: an inherited or callable handler goes through
/// the Lua lookup). Its answer is a plain table (no metatable) with an integer status other
/// than 101, a string or no reason, a header table or none, and a string body of at most
/// 64 KiB or none. Anything else is handed back to the Lua loop at the point reached, with
/// nothing of the response sent, so every limit and error reply stays the Lua code's.
///
/// serve_requests(sock, server, handlers, from, conn, max_header_bytes, max_headers,
///                max_body_bytes, headers_metatable, reasons, recv_size) →
///   buf — bytes for the Lua loop to handle from their start ("" at EOF);
///   nil, ok, res, method, minor, keep — a handler was called (`ok, res` as from pcall):
///     the Lua loop checks and answers it; nothing more was read;
///   true, rest, keep — a response went out but `rest` of it did not fit the socket (or
///     `keep` is false): the Lua loop queues `rest` and carries on or closes;
///   false — the socket is encrypted or traced: the Lua loop serves it alone.
/// `conn.stage` is kept as the Lua loop keeps it: "idle" while waiting for a request,
/// "head" while one is answered (the server's drain() and error replies read it). Waits use
/// the socket's timeout, which the Lua loop sets to its idle wait before the call.
enum ConnectionLoop {
    // argument slots
    private static let sock: Int32 = 1, server: Int32 = 2, handlers: Int32 = 3, from: Int32 = 4, conn: Int32 = 5
    private static let maxHead: Int32 = 6, maxHeaders: Int32 = 7, maxBody: Int32 = 8, metatable: Int32 = 9
    private static let reasons: Int32 = 10, recvSize: Int32 = 11
    // the strings the loop looks up or stores, pushed once per call: a key pushed from a
    // slot is found by its address, where pushing it from C text hashes or compares it
    // again (that cost more than the parser did)
    private static let keys: [StaticString] = ["stage", "head", "idle", "code", "message", "headers", "data", "draining"]
    private static let stageKey: Int32 = 12, head: Int32 = 13, idle: Int32 = 14, codeKey: Int32 = 15
    private static let messageKey: Int32 = 16, headersKey: Int32 = 17, dataKey: Int32 = 18, drainingKey: Int32 = 19
    // the strings of the previous request, for the parser to give again (RequestHead.push)
    private static let cache: Int32 = 20
    // a request being answered: what the parser pushed, then the handler's result
    private static let method: Int32 = 21, target: Int32 = 22, headers: Int32 = 24
    private static let result: Int32 = 25
    private static let top: Int32 = 20   // the call's own state ends here between requests
    // what the trampoline brings back (ctx): resumed after a read's park, or after the handler;
    // the request's minor version and keep-alive ride along in the bits above
    private static let reading = 1, answered = 2

    static let serve: LuaImpl = { L, status, ctx in
        let lua = Lua(L)
        // normalised at the first entry only: later ones find the call's own state above
        if ctx == 0 {
            lua.arguments(recvSize)
            for k in keys { lua.push(k) }
            lua.newTable(narr: 8)
        }
        return Socket.with(lua, sock) { s in
            var resumed = ctx == reading   // a read's park ended: by its timeout?
            if ctx & 3 == answered {
                let r = answer(lua, s, status: status, minor: ctx >> 2 & 1, keep: ctx >> 3 & 1 == 1)
                if r != next { return r }
            }
            while true {
                let r = receive(lua, s, timedOut: resumed && Kernel.timedOut(lua, status))
                if r != next { return r }
                resumed = false
            }
        } ?? lua.typeError(sock, "ratchet.socket")
    }

    /// "go on with the next request", from the steps below (every real result is ≥ −2 or a
    /// yield/call code far below).
    private static let next: Int32 = -1000

    /// Reads and parses the next request and calls its handler (a call code), or returns
    /// what the Lua loop must do.
    private static func receive(_ lua: Lua, _ s: Socket, timedOut: Bool) -> Int32 {
        if timedOut { return lua.raiseTimeout("ratchet.socket.recv()", "recv") }
        // checked before every read: a tracer may be set while the loop waits
        if s.encryption != nil || s.hasTracer || !s.isStream {
            lua.setTop(top)
            lua.push(false)
            return 1
        }
        let buf = ReceiveBuffer.pointer
        let size = min(max(lua_tointegerx(lua.L, recvSize, nil), 1), lua_Integer(ReceiveBuffer.capacity))
        let n = SocketMethods.readPlain(s, buf, maxlen: Int(size))
        if n < 0 {
            if n == -Int(EAGAIN) {
                return SocketMethods.park(lua, s, write: false, ctx: reading, "ratchet.socket.recv()")
            }
            return lua.raiseErrno("ratchet.socket.recv()", "recv", Int32(-n))
        }
        let bytes = UnsafeRawBufferPointer(start: buf, count: n)
        guard n > 0 else { lua.push(""); return 1 }
        let outcome = RequestHead.read(lua, bytes, from: 0, maxHead: Int(lua_tointegerx(lua.L, maxHead, nil)),
                                       maxHeaders: Int(lua_tointegerx(lua.L, maxHeaders, nil)), metatable: metatable,
                                       cache: cache)
        // A body is taken when its Content-Length is all that made the head special and it
        // is all the rest of what was read. isMethod pushes the name; rawget replaces it with
        // what the handler object holds for it.
        guard case .complete(let end, _, let minor, let keep, let special, let upgrade, let length) = outcome, !upgrade,
              end + max(length, 0) == n, !special || length >= 0 && length <= lua_tointegerx(lua.L, maxBody, nil),
              isMethod(lua, method), lua_rawget(lua.L, handlers) == LUA_TFUNCTION else {
            return handBackBytes(lua, bytes)
        }
        if special {   // checked here instead: the table gets its metatable now
            lua.pushValue(metatable)
            lua_setmetatable(lua.L, headers)
        }
        stage(lua, head)
        // handler(handlers, target, headers, nil, from), at the result slot
        lua.pushValue(handlers)
        lua.pushValue(target)
        lua.pushValue(headers)
        if length >= 0 { lua.push(bytes: buf + end, count: length) } else { lua.pushNil() }
        lua.pushValue(from)
        return Status.call(5, ctx: answered | minor << 2 | (keep ? 1 : 0) << 3)
    }

    /// The bytes read, for the Lua loop to parse and answer from their start.
    private static func handBackBytes(_ lua: Lua, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        lua.setTop(top)
        lua.push(bytes: bytes.baseAddress, count: bytes.count)
        return 1
    }

    /// A method name the server may dispatch natively: the Lua loop's rule (upper-case
    /// letters, digits, "_" and "-", at least one letter), and not HEAD (answered with GET's
    /// handler and no body: the Lua loop's). Pushes the name again for the handler lookup.
    private static func isMethod(_ lua: Lua, _ i: Int32) -> Bool {
        guard let b = lua.bytes(i) else { return false }
        var letter = false
        for c in b {
            if c &- 0x41 < 26 { letter = true; continue }
            guard c &- 0x30 < 10 || c == 0x5F || c == 0x2D else { return false }
        }
        guard letter, !(b.count == 4 && b[0] == 0x48 && b[1] == 0x45 && b[2] == 0x41 && b[3] == 0x44) else { return false }
        lua.pushValue(i)
        return true
    }

    /// The handler returned (status LUA_YIELD) or raised: sends its response if it is a
    /// common one; else hands it to the Lua loop.
    private static func answer(_ lua: Lua, _ s: Socket, status: Int32, minor: Int, keep: Bool) -> Int32 {
        let L = lua.L
        lua.setTop(result)
        guard status == LUA_YIELD else { return handBackResponse(lua, ok: false, minor: minor, keep: keep) }
        guard lua.type(result) == LUA_TTABLE, lua_getmetatable(L, result) == 0 else {
            return handBackResponse(lua, ok: true, minor: minor, keep: keep)
        }
        // the response's fields (raw: it has no metatable)
        func field(_ key: Int32) -> Int32 {
            lua.pushValue(key)
            return lua_rawget(L, result)
        }
        // ResponseHead's arguments: minor, code, reason, headers, data, keep, head_only, date, socket
        let base = lua.top
        lua.push(minor)
        var code = 200
        switch field(codeKey) {
        case LUA_TNIL:
            lua.pop()
            lua.push(200)
        case LUA_TNUMBER where lua_isinteger(L, -1) != 0:
            code = Int(lua_tointegerx(L, -1, nil))
            guard code >= 100 && code <= 999 && code != 101 else { return handBackResponse(lua, ok: true, minor: minor, keep: keep) }
        default:
            return handBackResponse(lua, ok: true, minor: minor, keep: keep)
        }
        switch field(messageKey) {
        case LUA_TSTRING: break
        case LUA_TNIL:
            lua.pop()
            if lua_rawgeti(L, reasons, lua_Integer(code)) != LUA_TSTRING { lua.pop(); lua.push("") }
        default:
            return handBackResponse(lua, ok: true, minor: minor, keep: keep)
        }
        let headersType = field(headersKey)
        guard headersType == LUA_TTABLE || headersType == LUA_TNIL else { return handBackResponse(lua, ok: true, minor: minor, keep: keep) }
        if code < 200 || code == 204 || code == 304 {
            lua.pushNil()   // no body (ResponseHead adds no framing either)
        } else {
            let dataType = field(dataKey)
            guard dataType == LUA_TNIL || dataType == LUA_TSTRING && lua.rawLen(-1) <= ResponseHead.inlineBody else {
                return handBackResponse(lua, ok: true, minor: minor, keep: keep)
            }
        }
        // the server's drain() asks for Connection: close from the next response on
        lua.pushValue(drainingKey)
        let draining = lua_rawget(L, server) > LUA_TNIL && lua.toBool(-1)
        lua.pop()
        lua.push(keep && !draining)
        lua.push(false)
        lua.pushNil()
        lua.pushNil()   // the socket: given
        let r = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) {
            ResponseHead.write(lua, $0, at: base, socket: s)
        }
        guard r == 2 || r == 3, lua.type(-2) == LUA_TSTRING else {
            // refused (would split, or values for tostring): nothing was sent
            if r < 0 { return r }
            return handBackResponse(lua, ok: true, minor: minor, keep: keep)
        }
        let kept = lua.toBool(-1)
        if lua.rawLen(-2) == 0 && kept {
            stage(lua, idle)
            lua.setTop(top)
            return next
        }
        // rest, keep
        lua.push(true)
        lua.insert(-3)
        return 3
    }

    /// The handler's result for the Lua loop: nil, ok, res, method, minor, keep.
    private static func handBackResponse(_ lua: Lua, ok: Bool, minor: Int, keep: Bool) -> Int32 {
        lua.setTop(result)
        lua.pushNil()
        lua.push(ok)
        lua.pushValue(result)
        lua.pushValue(method)
        lua.push(minor)
        lua.push(keep)
        return 6
    }

    /// conn.stage = the string at `name`.
    @inline(__always) private static func stage(_ lua: Lua, _ name: Int32) {
        lua.pushValue(stageKey)
        lua.pushValue(name)
        lua_rawset(lua.L, conn)
    }
}
