import CLua
import CNGHTTP2

/// Header fields between Lua tables and nghttp2: received fields become the HTTP/1.1 server's
/// header table shape (lower-case name → array of values; the pseudo-headers are returned
/// apart), and a Lua header table becomes an nghttp2_nv list after the pseudo-headers.
enum HTTP2Fields {
    /// The pseudo-headers returned apart from the fields: a request's, a response's.
    static let requestPseudo: [StaticString] = [":method", ":path", ":authority"]
    static let responsePseudo: [StaticString] = [":status"]

    /// Pushes {name = {value, ...}} for the stream's regular fields, then the values of the
    /// pseudo-headers `names` (at most 3) asks for, in that order (nil for one that is
    /// absent); returns how many values it pushed.
    static func push(_ lua: Lua, _ st: HTTP2Stream, pseudo names: [StaticString]) -> Int32 {
        var found: (Range<Int>?, Range<Int>?, Range<Int>?) = (nil, nil, nil)
        lua.newTable(nrec: Int32(st.fields.count))
        st.fieldBytes.withUnsafeBufferPointer { b in
            let base = UnsafeRawPointer(b.baseAddress)
            for f in st.fields {
                if f.name.count > 1 && b[f.name.lowerBound] == 0x3a {   // ":name": returned apart
                    for (i, want) in names.enumerated() where equal(b, f.name, want) {
                        switch i {
                        case 0: if found.0 == nil { found.0 = f.value }
                        case 1: if found.1 == nil { found.1 = f.value }
                        default: if found.2 == nil { found.2 = f.value }
                        }
                    }
                    continue
                }
                lua.push(bytes: base.map { $0 + f.name.lowerBound }, count: f.name.count)
                lua.pushValue(-1)
                if lua_rawget(lua.L, -3) == LUA_TTABLE {
                    let n = lua.rawLen(-1)
                    lua.push(bytes: base.map { $0 + f.value.lowerBound }, count: f.value.count)
                    lua.rawSet(-2, n + 1)
                    lua.pop(2)
                } else {
                    lua.pop()
                    lua.newTable(narr: 1)
                    lua.push(bytes: base.map { $0 + f.value.lowerBound }, count: f.value.count)
                    lua.rawSet(-2, 1)
                    lua_rawset(lua.L, -3)
                }
            }
            for i in 0..<names.count {
                let r = i == 0 ? found.0 : i == 1 ? found.1 : found.2
                if let r { lua.push(bytes: base.map { $0 + r.lowerBound }, count: r.count) } else { lua.pushNil() }
            }
        }
        return 1 + Int32(names.count)
    }

    private static func equal(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ s: StaticString) -> Bool {
        guard r.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<r.count where b[r.lowerBound + i] != p[i] { return false }
        return true
    }

    /// Fields that belong to one HTTP/1.1 connection and are malformed in HTTP/2
    /// (RFC 9113 8.2.2), and Host, which :authority replaces: compared by length first, so
    /// most names cost one switch.
    private static func isConnectionSpecific(_ name: UnsafeRawBufferPointer) -> Bool {
        switch name.count {
        case 2: return lowerEquals(name, "te")
        case 4: return lowerEquals(name, "host")
        case 7: return lowerEquals(name, "upgrade")
        case 10: return lowerEquals(name, "connection") || lowerEquals(name, "keep-alive")
        case 16: return lowerEquals(name, "proxy-connection")
        case 17: return lowerEquals(name, "transfer-encoding")
        default: return false
        }
    }

    private static func lowerEquals(_ name: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let p = s.utf8Start
        for i in 0..<name.count {
            let c = name[i]
            if (c >= 0x41 && c <= 0x5a ? c | 0x20 : c) != p[i] { return false }
        }
        return true
    }

    /// Appends every field of the table at `index` to the scratch list (names lower-cased; a
    /// value or an array of values, strings or numbers) after what is there (the
    /// pseudo-headers). Returns a message for a bad name or value, nil when all went in.
    static func addTable(_ lua: Lua, _ list: HTTP2FieldList, table index: Int32) -> String? {
        guard lua.type(index) == LUA_TTABLE else { return nil }
        let t = lua.absIndex(index)
        lua.pushNil()
        while lua_next(lua.L, t) != 0 {
            guard lua.type(-2) == LUA_TSTRING, let name = lua.bytes(-2), name.count > 0 else {
                lua.pop(2)
                return "header names must be non-empty strings"
            }
            if isConnectionSpecific(name) {
                lua.pop()
                continue
            }
            let v = lua.absIndex(-1)
            let isTable = lua.type(v) == LUA_TTABLE
            let count = isTable ? lua.rawLen(v) : 1
            for i in stride(from: 1, through: count, by: 1) {
                if isTable { lua.rawGet(v, i) } else { lua.pushValue(v) }
                let t = lua.type(-1)
                guard t == LUA_TSTRING || t == LUA_TNUMBER else {
                    lua.pop(3)
                    return "header values must be strings or numbers"
                }
                if t == LUA_TNUMBER { lua.pushValue(-1) }   // tolstring converts a number in place: on a copy
                var len = 0
                let p = lua_tolstring(lua.L, -1, &len)
                list.add(name, UnsafeRawBufferPointer(start: p, count: len), lower: true)
                lua.pop(t == LUA_TNUMBER ? 2 : 1)
            }
            lua.pop()
        }
        return nil
    }
}

/// A field list being built for nghttp2 (names and values copied into one buffer), reused
/// by every response and request of a session: no allocation once it has grown.
final class HTTP2FieldList {
    @exclusivity(unchecked) private var bytes: [UInt8] = []
    @exclusivity(unchecked) private var ranges: [(name: Range<Int>, value: Range<Int>)] = []
    @exclusivity(unchecked) private var nv: [nghttp2_nv] = []

    init() {
        bytes.reserveCapacity(1024)
        ranges.reserveCapacity(16)
        nv.reserveCapacity(16)
    }

    func reset() {
        bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 16)
        ranges.removeAll(keepingCapacity: true)
    }

    func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, lower: Bool) {
        let n = bytes.count
        bytes.append(contentsOf: name)
        if lower {
            bytes.withUnsafeMutableBufferPointer { b in
                for i in n..<n + name.count where b[i] >= 0x41 && b[i] <= 0x5a { b[i] |= 0x20 }
            }
        }
        bytes.append(contentsOf: value)
        ranges.append((n..<n + name.count, n + name.count..<bytes.count))
    }

    func add(_ name: StaticString, _ value: UnsafeRawBufferPointer) {
        add(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value, lower: false)
    }

    /// Calls `body` with the nghttp2_nv list of what was added (never empty: the
    /// pseudo-headers come first).
    func withList<R>(_ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> R {
        bytes.withUnsafeMutableBufferPointer { b in
            let base = b.baseAddress!
            nv.removeAll(keepingCapacity: true)
            for r in ranges {
                nv.append(nghttp2_nv(name: base + r.name.lowerBound, value: base + r.value.lowerBound,
                                     namelen: r.name.count, valuelen: r.value.count,
                                     flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
            }
            return nv.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
        }
    }
}
