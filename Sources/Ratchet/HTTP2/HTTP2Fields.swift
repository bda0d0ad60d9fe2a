import CLua
import CNGHTTP2

/// Header fields between Lua tables and nghttp2: received fields become the HTTP/1.1 server's
/// header table shape (lower-case name → array of values, pseudo-headers included under
/// their ":name"), and a Lua header table becomes an nghttp2_nv list after the pseudo-headers.
enum HTTP2Fields {
    /// Pushes {name = {value, ...}} for the stream's received fields.
    static func push(_ lua: Lua, _ st: HTTP2Stream) {
        lua.newTable(nrec: Int32(st.fields.count))
        st.fieldBytes.withUnsafeBufferPointer { b in
            let base = UnsafeRawPointer(b.baseAddress)
            for f in st.fields {
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
        }
    }

    /// Fields that belong to one HTTP/1.1 connection and are malformed in HTTP/2
    /// (RFC 9113 8.2.2), and Host, which :authority replaces.
    private static let connectionSpecific: Set<[UInt8]> = Set(
        ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te"]
            .map { Array($0.utf8) })
    /// Their lengths: most names are looked up in `connectionSpecific` only if one matches.
    private static let connectionSpecificLengths = Set(connectionSpecific.map(\.count))

    /// Builds the field list: `pseudo` (name, value) pairs first, then every field of the
    /// table at `index` (names lower-cased, a value or an array of values, strings or
    /// numbers), and calls `body` with it. Returns nil and a message for a bad value.
    static func withList<R>(_ lua: Lua, pseudo: [(String, [UInt8])], table index: Int32,
                            _ body: (UnsafePointer<nghttp2_nv>, Int) -> R) -> (R?, String?) {
        var bytes: [UInt8] = []
        var ranges: [(Range<Int>, Range<Int>)] = []
        func add(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, lower: Bool) {
            let n = bytes.count
            if lower {
                for c in name { bytes.append(c >= 0x41 && c <= 0x5a ? c | 0x20 : c) }
            } else {
                bytes.append(contentsOf: name)
            }
            bytes.append(contentsOf: value)
            ranges.append((n..<n + name.count, n + name.count..<bytes.count))
        }
        for (name, value) in pseudo {
            var name = name
            name.withUTF8 { n in value.withUnsafeBytes { add(UnsafeRawBufferPointer(n), $0, lower: false) } }
        }
        if lua.type(index) == LUA_TTABLE {
            let t = lua.absIndex(index)
            lua.pushNil()
            while lua_next(lua.L, t) != 0 {
                guard lua.type(-2) == LUA_TSTRING, let name = lua.bytes(-2), name.count > 0 else {
                    lua.pop(2)
                    return (nil, "header names must be non-empty strings")
                }
                if connectionSpecificLengths.contains(name.count),
                   connectionSpecific.contains(name.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }) {
                    lua.pop()
                    continue
                }
                let v = lua.absIndex(-1)
                let count = lua.type(v) == LUA_TTABLE ? lua.rawLen(v) : 1
                for i in stride(from: 1, through: count, by: 1) {
                    if lua.type(v) == LUA_TTABLE { lua.rawGet(v, i) } else { lua.pushValue(v) }
                    let t = lua.type(-1)
                    guard t == LUA_TSTRING || t == LUA_TNUMBER else {
                        lua.pop(3)
                        return (nil, "header values must be strings or numbers")
                    }
                    lua.pushValue(-1)   // tolstring converts a number in place: on a copy
                    var len = 0
                    let p = lua_tolstring(lua.L, -1, &len)
                    add(name, UnsafeRawBufferPointer(start: p, count: len), lower: true)
                    lua.pop(2)
                }
                lua.pop()
            }
        }
        return bytes.withUnsafeMutableBufferPointer { b in
            let base = b.baseAddress!
            let nv = ranges.map { r in
                nghttp2_nv(name: base + r.0.lowerBound, value: base + r.1.lowerBound,
                           namelen: r.0.count, valuelen: r.1.count, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return (nv.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }, nil)
        }
    }
}
