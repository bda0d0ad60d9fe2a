import CLua
import Glibc

/// HTTP/1.1 request heads parsed into the Lua values `ratchet.http.server` hands to its
/// handlers, in one native call per request: the request line and every header field used
/// to cost a pattern match, captures and a table each in Lua (the largest share of the
/// server's own work per request in callgrind). The rules are h11's (RFC 9110/9112):
/// method and field names are tokens, the target is visible ASCII, a field value may hold
/// any byte but NUL, CR, LF, FF and VT, surrounding blanks are dropped.
enum RequestHead {
    static let CR: UInt8 = 13, LF: UInt8 = 10, SP: UInt8 = 32, HT: UInt8 = 9

    /// RFC 9110 tchar: `!#$%&'*+-.^_`|~`, digits and letters (a bit per byte below 128: a
    /// shift and a test per byte where a switch cost a dozen instructions).
    @inline(__always) static func isToken(_ c: UInt8) -> Bool {
        c < 64 ? (0x03FF_6CFA_0000_0000 as UInt64) &>> UInt64(c) & 1 != 0
            : c < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) &>> UInt64(c &- 64) & 1 != 0
    }

    /// Bytes a field value may not contain (h11: NUL and whitespace other than SP and HTAB):
    /// NUL, LF, VT, FF, CR, all below 14.
    @inline(__always) static func isBadValueByte(_ c: UInt8) -> Bool {
        c < 14 && (0x3C01 as UInt32) &>> UInt32(c) & 1 != 0
    }

    /// Index of the first byte a field value may not hold (its CR, normally) at or after
    /// `from`; there is one (the head ends in CR LF CR LF). Eight bytes at a time while none
    /// of them is below 14 (a word test), byte by byte near the end: a value cost about
    /// five instructions a byte, a third of a browser's head.
    @inline(__always) static func valueEnd(_ b: UnsafeRawBufferPointer, from: Int) -> Int {
        var p = from
        let lows: UInt64 = 0x0E0E_0E0E_0E0E_0E0E, highs: UInt64 = 0x8080_8080_8080_8080
        while p + 8 <= b.count {
            let x = b.loadUnaligned(fromByteOffset: p, as: UInt64.self)
            // a byte below 14 (or above 0x7F: checked below) sets its high bit here
            if (x &- lows) & ~x & highs != 0 { break }
            p += 8
        }
        while !isBadValueByte(b[p]) { p += 1 }
        return p
    }

    /// Index of the first "\r\n\r\n" at or after `from`, or nil.
    static func headEnd(_ b: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        let n = b.count
        while i + 3 < n {
            guard let p = memchr(b.baseAddress! + i, Int32(CR), n - 3 - i) else { return nil }
            i = UnsafeRawPointer(p) - b.baseAddress!
            if b[i + 1] == LF && b[i + 2] == CR && b[i + 3] == LF { return i }
            i += 1
        }
        return nil
    }

    /// parse(buf, pos, max_header_bytes, max_headers[, metatable]):
    ///   method, target, minor version (0 or 1), headers, position after the head, number of
    ///   fields, keep, special — a complete head; or false, start — no complete head yet (`start` skips blank lines
    ///   before a request line, RFC 9112 2.2); or nil, status[, minor] — 400, 414, 431 or
    ///   505 (with the request's minor version once the request line was read).
    /// Header names are lower-cased; each maps to the array of its values in order.
    /// A Host value naming more than one host ("a, b") is a 400 (RFC 9112 3.2).
    /// `keep`: whether the Connection fields let the connection persist (HTTP/1.1: no "close"
    /// token; HTTP/1.0: a "keep-alive" token). `special`: the head has Content-Length,
    /// Transfer-Encoding or Expect, or is HTTP/1.1 without exactly one Host field: the caller
    /// checks it field by field (the table has no metatable then, so plain indexing finds only
    /// what is there). Otherwise the table gets `metatable`: most requests need no Lua-side
    /// look at their fields at all.
    static let parse: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(5)
        guard let b = lua.bytes(1) else { return lua.typeError(1, "string") }
        guard let pos = lua.integer(2) else { return lua.typeError(2, "number") }
        guard let maxHead = lua.integer(3) else { return lua.typeError(3, "number") }
        guard let maxHeaders = lua.integer(4) else { return lua.typeError(4, "number") }
        guard lua.type(5) == LUA_TTABLE || lua.isNoneOrNil(5) else { return lua.typeError(5, "table") }
        switch read(lua, b, from: max(pos - 1, 0), maxHead: maxHead, maxHeaders: maxHeaders,
                    metatable: lua.type(5) == LUA_TTABLE ? 5 : 0) {
        case .incomplete(let start):
            lua.push(false)
            lua.push(start + 1)
            return 2
        case .failed(let code, let minor):
            lua.pushNil()
            lua.push(code)
            guard let minor else { return 2 }
            lua.push(minor)
            return 3
        case .complete(let end, let fields, _, let keep, let special, _, _):
            lua.push(end + 1)
            lua.push(fields)
            lua.push(keep)
            lua.push(special)
            return 8
        }
    }

    enum Outcome {
        /// No complete head yet; `start`: where it begins (after blank lines).
        case incomplete(start: Int)
        /// 400, 414, 431 or 505, with the minor version once the request line was read.
        case failed(Int, minor: Int?)
        /// Method, target, minor version and headers pushed; `end`: the offset after the head.
        /// `upgrade`: the head has an Upgrade field (h2c, WebSocket: the caller's business).
        /// `length`: a Content-Length body's size when that field, once and 1 to 15 digits, is
        /// all that makes the head special; −1 without the field; −2 otherwise.
        case complete(end: Int, fields: Int, minor: Int, keep: Bool, special: Bool, upgrade: Bool, length: Int)
    }

    /// The head in `b` from offset `from`, as `parse` describes it (also the native request
    /// loop's parser, HTTP/ConnectionLoop). The headers table gets the metatable at stack
    /// index `metatable` (0: none) unless the head is special. Leaves the stack as it found
    /// it unless the head is complete.
    /// With `cache` (a stack index, 0: none), a table of the strings the previous request of
    /// the connection got (method, target, then each field's name and value), each string
    /// whose bytes are the same is pushed again instead of made anew (see `push`).
    static func read(_ lua: Lua, _ b: UnsafeRawBufferPointer, from: Int, maxHead: Int, maxHeaders: Int,
                     metatable: Int32, cache: Int32 = 0) -> Outcome {
        let L = lua.L
        let n = b.count
        var start = from
        while start + 1 < n && b[start] == CR && b[start + 1] == LF { start += 2 }
        guard start < n, let he = headEnd(b, from: start) else { return .incomplete(start: start) }
        let entryTop = lua.top
        func fail(_ code: Int, minor: Int? = nil) -> Outcome {
            lua.setTop(entryTop)
            return .failed(code, minor: minor)
        }
        // the first CRLF exists: he is one
        var lineEnd = start
        while !(b[lineEnd] == CR && b[lineEnd + 1] == LF) { lineEnd += 1 }
        // request line: token SP visible-ASCII SP "HTTP/" DIGIT "." DIGIT CRLF
        var i = start
        while i < lineEnd && isToken(b[i]) { i += 1 }
        let methodEnd = i
        var valid = methodEnd > start && i < lineEnd && b[i] == SP
        var targetStart = 0, targetEnd = 0
        if valid {
            i += 1
            targetStart = i
            while i < lineEnd && b[i] > SP && b[i] < 0x7F { i += 1 }
            targetEnd = i
            valid = targetEnd > targetStart && lineEnd - i == 9 && b[i] == SP
                && b[i + 1] == 0x48 && b[i + 2] == 0x54 && b[i + 3] == 0x54 && b[i + 4] == 0x50 // HTTP
                && b[i + 5] == 0x2F && (0x30...0x39).contains(b[i + 6]) && b[i + 7] == 0x2E
                && (0x30...0x39).contains(b[i + 8])
        }
        if !valid { return fail(lineEnd - start >= maxHead ? 414 : 400) }
        if he + 4 - start > maxHead { return fail(lineEnd + 2 - start > maxHead ? 414 : 431) }
        let major = b[targetEnd + 6], minorDigit = b[targetEnd + 8]
        if major != 0x31 { return fail(major == 0x30 ? 400 : 505) }
        let minor = minorDigit == 0x30 ? 0 : 1

        push(lua, b.baseAddress! + start, methodEnd - start, cache: cache, slot: 1)
        push(lua, b.baseAddress! + targetStart, targetEnd - targetStart, cache: cache, slot: 2)
        lua.push(minor)
        var p = lineEnd + 2
        let stop = he + 2
        // sized for its fields (one per line): the table is the request's largest allocation
        var lines: Int32 = 0
        var q = p
        while q < stop, let nl = memchr(b.baseAddress! + q, Int32(LF), stop - q) {
            lines += 1
            q = UnsafeRawPointer(nl) - b.baseAddress! + 1
        }
        lua.newTable(nrec: min(lines, 64))
        let headers = lua.top
        var fields = 0
        var hosts = 0, special = false, upgrade = false, closeToken = false, keepAliveToken = false
        var lengths = 0, length = -1
        while p < stop {
            // name ":" OWS value OWS CRLF
            let nameStart = p
            var upper = false
            while p < stop {
                let c = b[p]
                guard isToken(c) else { break }
                upper = upper || c &- 0x41 < 26   // A-Z
                p += 1
            }
            let nameEnd = p
            guard nameEnd > nameStart, p < stop, b[p] == 0x3A else { return fail(400, minor: minor) }
            p += 1
            while b[p] == SP || b[p] == HT { p += 1 }
            let valueStart = p
            p = valueEnd(b, from: p)
            guard b[p] == CR && b[p + 1] == LF else { return fail(400, minor: minor) }
            var valueEnd = p
            while valueEnd > valueStart && (b[valueEnd - 1] == SP || b[valueEnd - 1] == HT) { valueEnd -= 1 }
            p += 2
            fields += 1
            if fields > maxHeaders { return fail(431, minor: minor) }
            let name = UnsafeRawBufferPointer(start: b.baseAddress! + nameStart, count: nameEnd - nameStart)
            let value = UnsafeRawBufferPointer(start: b.baseAddress! + valueStart, count: valueEnd - valueStart)
            switch name.count {
            case 4 where isHost(b, nameStart):
                if memchr(b.baseAddress! + valueStart, 0x2C, value.count) != nil { return fail(400, minor: minor) }
                hosts += 1
            case 6 where ResponseHead.equalsLower(name, "expect"): special = true
            case 7 where ResponseHead.equalsLower(name, "upgrade"): upgrade = true
            case 10 where ResponseHead.equalsLower(name, "connection"):
                if ResponseHead.hasToken(value, "close") { closeToken = true }
                if ResponseHead.hasToken(value, "keep-alive") { keepAliveToken = true }
            case 14 where ResponseHead.equalsLower(name, "content-length"):
                lengths += 1
                length = decimal(value)
            case 17 where ResponseHead.equalsLower(name, "transfer-encoding"): special = true
            default: break
            }
            pushName(lua, b.baseAddress! + nameStart, nameEnd - nameStart, lower: upper, cache: cache,
                     slot: 2 * fields + 1)
            lua.pushValue(-1)
            if lua_rawget(L, headers) == LUA_TNIL {
                lua.pop()
                lua.newTable(narr: 1)
                push(lua, b.baseAddress! + valueStart, valueEnd - valueStart, cache: cache, slot: 2 * fields + 2)
                lua.rawSet(-2, 1)
                lua_rawset(L, headers)
            } else {
                let count = lua.rawLen(-1)
                push(lua, b.baseAddress! + valueStart, valueEnd - valueStart, cache: cache, slot: 2 * fields + 2)
                lua.rawSet(-2, count + 1)
                lua.pop(2)
            }
        }
        if minor == 1 && hosts != 1 { special = true }
        if special || lengths > 1 { length = lengths > 0 ? -2 : -1 }
        special = special || lengths > 0
        if !special && metatable != 0 {
            lua.pushValue(metatable)
            lua_setmetatable(L, headers)
        }
        return .complete(end: he + 4, fields: fields, minor: minor, keep: minor == 1 ? !closeToken : keepAliveToken,
                         special: special, upgrade: upgrade, length: length)
    }

    /// 1 to 15 decimal digits → their value; −2 for anything else (the Lua framing decides).
    static func decimal(_ v: UnsafeRawBufferPointer) -> Int {
        guard v.count >= 1 && v.count <= 15 else { return -2 }
        var n = 0
        for c in v {
            guard c &- 0x30 < 10 else { return -2 }
            n = n * 10 + Int(c &- 0x30)
        }
        return n
    }

    @inline(__always) static func isHost(_ b: UnsafeRawBufferPointer, _ i: Int) -> Bool {
        b[i] | 0x20 == 0x68 && b[i + 1] | 0x20 == 0x6F && b[i + 2] | 0x20 == 0x73 && b[i + 3] | 0x20 == 0x74
    }

    /// What the cache keeps, so that a connection holds at most ~10 KB for it: strings of up
    /// to 160 bytes, of the method, the target and the first 32 fields.
    static let cachedLength = 160, cachedSlots = 66

    /// Pushes the string of `count` bytes at `p`. With a cache (see `read`): the previous
    /// request's string at `slot` when its bytes are the same, else a new one, kept there.
    /// A keep-alive client repeats most of its head (method, Host, User-Agent, Accept,
    /// cookies): comparing bytes costs a third of hashing and interning a short string, and
    /// a long one (over 40 bytes) is not allocated, copied and collected again.
    @inline(__always)
    static func push(_ lua: Lua, _ p: UnsafeRawPointer, _ count: Int, cache: Int32, slot: Int) {
        guard cache != 0 else { lua.push(bytes: p, count: count); return }
        let L = lua.L
        if lua_rawgeti(L, cache, lua_Integer(slot)) == LUA_TSTRING {
            var len = 0
            if let q = lua_tolstring(L, -1, &len), len == count && (count == 0 || memcmp(q, p, count) == 0) { return }
        }
        lua.pop()
        lua.push(bytes: p, count: count)
        if count <= cachedLength && slot <= cachedSlots {
            lua.pushValue(-1)
            lua_rawseti(L, cache, lua_Integer(slot))
        }
    }

    /// Pushes a field name, lower-cased when it has upper-case letters.
    static func pushName(_ lua: Lua, _ p: UnsafeRawPointer, _ count: Int, lower: Bool, cache: Int32, slot: Int) {
        guard lower else { push(lua, p, count, cache: cache, slot: slot); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { out in
            for k in 0..<count {
                let c = p.load(fromByteOffset: k, as: UInt8.self)
                out[k] = c &- 0x41 < 26 ? c | 0x20 : c
            }
            push(lua, out.baseAddress!, count, cache: cache, slot: slot)
        }
    }
}
