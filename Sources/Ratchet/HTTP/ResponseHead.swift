import CLua
import Glibc

/// Response heads of `ratchet.http.server` serialised in one native call: the status line,
/// the handler's header fields, the framing the server adds (Content-Length or chunked),
/// Date, Connection, and a small body, as one string. Refuses CR, LF and NUL in the
/// reason, names and values: they would let a handler's data end the head early and add
/// fields or a second response (response splitting).
enum ResponseHead {
    /// Bodies up to this size go out in the same string as the head; larger ones are sent on
    /// their own rather than copied.
    static let inlineBody = 65536
    /// Bodies larger than this are sent gathered with the head (sendmsg) when the head is
    /// sent at once, not copied after it; smaller ones are copied (one plain send is cheaper).
    static let gatherFrom = 1024

    /// What a handler's header name means to the framing.
    enum Special { case none, contentLength, transferEncoding, date, connection }

    /// build(minor, code, reason, headers, data, keep, head_only[, date_line[, socket]]):
    ///   head, keep[, chunked] — the head (with `data` appended unless `head_only` or larger
    ///   than 64 KiB); `keep` false when the connection must close after this response;
    ///   for a streamed body, `chunked`: whether it must be sent chunked.
    ///   Without `date_line` the Date line is the current one (HTTPDate). With a `socket`
    ///   (plain, untraced: nothing else) the head is sent at once, as far as the socket
    ///   takes it without waiting, and `head` is what is left to send ("" usually): the
    ///   response never becomes a Lua string, and the caller's send is saved.
    ///   nil, what — the reason, a name or a value holds CR, LF or NUL.
    ///   false — a reason, body, name or value of another type than the ones below: the
    ///   caller converts them with tostring (which may run metamethods, so not here) and
    ///   calls again.
    /// `code` is the status code as the handler gave it (number or string, checked by the
    /// caller), `reason` a string, `headers` nil or name → string/number or array of them,
    /// `data` nil, a string, or a function (a streamed body, sent by the caller).
    static let build: LuaImpl = { L, _, _ in
        // a head and a small body usually fit in 1 KiB on the stack: no malloc for them
        let lua = Lua(L)
        lua.arguments(9)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { write(lua, $0) }
    }

    /// `write` reads its arguments from stack slots a + 1 ... a + 9; a native caller that holds
    /// the socket already passes it as `socket` (slot a + 9 is then not read).
    static func write(_ lua: Lua, _ stack: UnsafeMutableBufferPointer<UInt8>, at a: Int32 = 0,
                      socket: Socket? = nil) -> Int32 {
        let L = lua.L
        guard let minor = lua.integer(a + 1) else { return lua.typeError(1, "number") }
        let codeType = lua.type(a + 2)
        guard codeType == LUA_TNUMBER || codeType == LUA_TSTRING else { return lua.typeError(2, "string") }
        let headersType = lua.type(a + 4)
        let hasHeaders = headersType == LUA_TTABLE
        guard hasHeaders || headersType <= LUA_TNIL else { return lua.typeError(4, "table") }
        let dataType = lua.type(a + 5)
        let stream = dataType == LUA_TFUNCTION
        let data = dataType == LUA_TSTRING || dataType == LUA_TNUMBER ? lua.bytes(a + 5) : nil
        guard let reason = lua.bytes(a + 3), stream || data != nil || dataType <= LUA_TNIL else {
            lua.push(false)   // a reason or body for tostring
            return 1
        }
        var keep = lua.toBool(a + 6)
        let headOnly = lua.toBool(a + 7)
        let dateType = lua.type(a + 8)
        guard dateType == LUA_TSTRING || dateType <= LUA_TNIL else { return lua.typeError(8, "string") }
        let date = dateType == LUA_TSTRING ? lua.bytes(a + 8) : nil
        let sock: Socket?
        if let socket {
            sock = socket
        } else if lua.type(a + 9) <= LUA_TNIL {
            sock = nil
        } else {
            guard let s = Socket.get(lua, a + 9) else { return lua.typeError(9, "ratchet.socket") }
            sock = s
        }
        if hasForbidden(reason) { lua.pushNil(); lua.push("CR, LF or NUL in the reason phrase"); return 2 }

        // 1xx, 204 and 304 carry no body and no Content-Length (RFC 9110 8.6): a 101 with
        // one would tell a WebSocket client that the upgraded stream is an empty body.
        let numeric = lua_tointegerx(L, a + 2, nil)
        let bodiless = numeric < 200 || numeric == 204 || numeric == 304

        var out = ByteWriter(stack)
        defer { out.release() }
        out.append("HTTP/1.")
        out.append(minor == 0 ? 0x30 : 0x31)
        out.append(0x20)
        if lua_isinteger(L, a + 2) != 0 {
            out.appendDecimal(Int(lua_tointegerx(L, a + 2, nil)))
        } else {
            lua.pushValue(a + 2)   // converted on a copy: a float code stays a number for the caller
            out.append(stringOf(lua, -1))
            lua.pop()
        }
        out.append(0x20)
        out.append(reason)
        out.append("\r\n")

        var hasLength = false, hasTE = false, hasDate = false
        if hasHeaders {
            lua.pushNil()
            while lua_next(L, a + 4) != 0 {
                // key at -2, value at -1; the name is converted on a copy (next needs the key)
                let keyType = lua.type(-2), valueType = lua.type(-1)
                guard keyType == LUA_TSTRING || keyType == LUA_TNUMBER else { lua.setTop(a + 8); lua.push(false); return 1 }
                lua.pushValue(-2)
                let name = stringOf(lua, -1)
                if hasForbidden(name) { lua.setTop(a + 8); lua.pushNil(); lua.push("CR, LF or NUL in a header name"); return 2 }
                let special = classify(name)
                var closes = false
                if valueType == LUA_TTABLE {
                    let count = lua.rawLen(-2)
                    var k = 1
                    while k <= count {
                        let itemType = lua.rawGet(-2, k)
                        k += 1
                        guard itemType == LUA_TSTRING || itemType == LUA_TNUMBER else { lua.setTop(a + 8); lua.push(false); return 1 }
                        let value = stringOf(lua, -1)
                        if hasForbidden(value) { lua.setTop(a + 8); lua.pushNil(); lua.push("CR, LF or NUL in a header value"); return 2 }
                        out.appendField(name, value)
                        if special == .connection && hasToken(value, "close") { closes = true }
                        lua.pop()
                    }
                } else {
                    guard valueType == LUA_TSTRING || valueType == LUA_TNUMBER else { lua.setTop(a + 8); lua.push(false); return 1 }
                    let value = stringOf(lua, -2)
                    if hasForbidden(value) { lua.setTop(a + 8); lua.pushNil(); lua.push("CR, LF or NUL in a header value"); return 2 }
                    out.appendField(name, value)
                    if special == .connection && hasToken(value, "close") { closes = true }
                }
                switch special {
                case .contentLength: hasLength = true
                case .transferEncoding: hasTE = true
                case .date: hasDate = true
                case .connection: if closes { keep = false }
                case .none: break
                }
                lua.pop(2)   // the name's copy and the value; the key stays for next
            }
        }
        var chunked = false   // pushed only for a stream
        if stream {
            if !hasLength && !hasTE {
                if minor == 0 {
                    keep = false   // a 1.0 client reads the stream until the connection ends
                } else {
                    out.append("Transfer-Encoding: chunked\r\n")
                    hasTE = true
                }
            }
            chunked = hasTE
        } else if !hasLength && !hasTE && !bodiless {
            out.append("Content-Length: ")
            out.appendDecimal(data?.count ?? 0)
            out.append("\r\n")
        }
        if !hasDate {
            if let date { out.append(date) } else { HTTPDate.appendLine(&out) }
        }
        if !keep {
            out.append("Connection: close\r\n")
        } else if minor == 0 {
            out.append("Connection: keep-alive\r\n")
        }
        out.append("\r\n")
        var body = !headOnly && (data?.count ?? 0) <= inlineBody ? data : nil
        if let small = body, small.count <= gatherFrom { out.append(small); body = nil }   // one plain send
        var sent = 0
        if let s = sock, s.encryption == nil, !s.hasTracer, s.fd >= 0 {
            // head and body in one sendmsg, the body from the Lua string itself (no copy)
            let head = UnsafeRawBufferPointer(start: out.base, count: out.count)
            let n = SocketMethods.sendOnce(s, head, body ?? UnsafeRawBufferPointer(start: nil, count: 0))
            if n >= 0 {
                sent = n
            } else if n != -Int(EAGAIN) {
                return lua.raiseErrno("ratchet.socket.send()", "send", Int32(-n))
            }
            if let body, sent >= head.count {   // the rest is the body's alone
                lua.push(bytes: body.baseAddress.map { $0 + (sent - head.count) }, count: body.count - (sent - head.count))
                return pushTail(lua, keep, stream, chunked)
            }
        }
        if let body { out.append(body) }
        lua.push(bytes: out.base + sent, count: out.count - sent)
        return pushTail(lua, keep, stream, chunked)
    }

    /// The results after the head: keep[, chunked].
    @inline(__always) private static func pushTail(_ lua: Lua, _ keep: Bool, _ stream: Bool, _ chunked: Bool) -> Int32 {
        lua.push(keep)
        guard stream else { return 2 }
        lua.push(chunked)
        return 3
    }

    /// The bytes of a string or number at `i` (a number is converted in place: never a key).
    @inline(__always) static func stringOf(_ lua: Lua, _ i: Int32) -> UnsafeRawBufferPointer {
        var len = 0
        let p = lua_tolstring(lua.L, i, &len)
        return UnsafeRawBufferPointer(start: p, count: len)
    }

    @inline(__always) static func hasForbidden(_ b: UnsafeRawBufferPointer) -> Bool {
        for c in b where c == 13 || c == 10 || c == 0 { return true }
        return false
    }

    /// Case-insensitive equality of `b` with the lower-case ASCII `s`.
    @inline(__always) static func equalsLower(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for k in 0..<b.count where b[k] | 0x20 != p[k] { return false }
        return true
    }

    static func classify(_ name: UnsafeRawBufferPointer) -> Special {
        switch name.count {
        case 14: return equalsLower(name, "content-length") ? .contentLength : .none
        case 17: return equalsLower(name, "transfer-encoding") ? .transferEncoding : .none
        case 4: return equalsLower(name, "date") ? .date : .none
        case 10: return equalsLower(name, "connection") ? .connection : .none
        default: return .none
        }
    }

    /// Does a comma-separated value hold `token` (lower-case; compared case-insensitively,
    /// blanks around items ignored)?
    static func hasToken(_ v: UnsafeRawBufferPointer, _ token: StaticString) -> Bool {
        var i = 0
        let n = v.count
        while i < n {
            var e = i
            while e < n && v[e] != 0x2C { e += 1 }
            var a = i, z = e
            while a < z && (v[a] == 32 || v[a] == 9) { a += 1 }
            while z > a && (v[z - 1] == 32 || v[z - 1] == 9) { z -= 1 }
            if equalsLower(UnsafeRawBufferPointer(rebasing: v[a..<z]), token) { return true }
            i = e + 1
        }
        return false
    }
}

/// The bytes of a response head, gathered in a buffer on the caller's stack that moves to a
/// malloc'd block when it fills (a Swift Array's generic appends cost several times more per
/// byte here).
struct ByteWriter {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var owned = false
    private(set) var count = 0

    init(_ stack: UnsafeMutableBufferPointer<UInt8>) {
        base = stack.baseAddress!
        capacity = stack.count
    }

    func release() { if owned { free(base) } }

    @inline(__always) private mutating func reserve(_ k: Int) {
        if count + k > capacity { grow(k) }
    }

    @inline(never) private mutating func grow(_ k: Int) {
        capacity = max(capacity * 2, count + k)
        if owned {
            base = realloc(base, capacity)!.assumingMemoryBound(to: UInt8.self)
        } else {
            let heap = malloc(capacity)!.assumingMemoryBound(to: UInt8.self)
            memcpy(heap, base, count)
            base = heap
            owned = true
        }
    }

    @inline(__always) mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }
    @inline(__always) mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let src = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        memcpy(base + count, src, bytes.count)
        count += bytes.count
    }

    @inline(__always) mutating func append(_ s: StaticString) {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func appendDecimal(_ n: Int) {
        if n >= 0 && n < 1000 {   // status codes and small lengths: no digit buffer
            reserve(3)
            if n >= 100 { base[count] = UInt8(0x30 + n / 100); count += 1 }
            if n >= 10 { base[count] = UInt8(0x30 + n / 10 % 10); count += 1 }
            base[count] = UInt8(0x30 + n % 10)
            count += 1
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = n.magnitude, k = 20
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                k -= 1
                d[k] = UInt8(0x30 + v % 10)
                v /= 10
            } while v > 0
            if n < 0 { k -= 1; d[k] = 0x2D }
            append(UnsafeRawBufferPointer(rebasing: d[k..<20]))
        }
    }

    /// "name: value\r\n"
    mutating func appendField(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        reserve(name.count + value.count + 4)
        append(name)
        append(0x3A); append(0x20)
        append(value)
        append(13); append(10)
    }
}
