import CLua

/// `ratchet.deflate`: raw DEFLATE streams with zlib, for WebSocket permessage-deflate
/// (LuaLib/ratchet/websocket/deflate.lua). In Swift because zlib is a C library and a
/// stream's state must live as long as the connection (context takeover).
enum DeflateLibrary {
    static func open(_ lua: Lua) -> Int32 {
        Deflater.registerMetatable(lua, methods: [("compress", compress), ("reset", resetDeflater), ("close", closeDeflater)])
        Inflater.registerMetatable(lua, methods: [("decompress", decompress), ("reset", resetInflater), ("close", closeInflater)])
        return lua.pushLibrary([("deflater", newDeflater), ("inflater", newInflater)])
    }

    /// An optional integer argument within `range`; nil or none is `absent`.
    private static func option(_ lua: Lua, _ i: Int32, _ range: ClosedRange<Int>, _ absent: Int,
                               _ what: String) -> (Int32, Int32?) {
        if lua.isNoneOrNil(i) { return (Int32(absent), nil) }
        guard let v = lua.integer(i) else { return (0, lua.typeError(i, "integer")) }
        guard range.contains(v) else {
            return (0, lua.argError(i, "\(what) must be \(range.lowerBound) to \(range.upperBound)"))
        }
        return (Int32(v), nil)
    }

    /// deflater([window_bits [, level [, mem_level]]]): window_bits 9-15 (default 15; zlib's
    /// raw deflate has no 8-bit window), level -1 (zlib's default, 6) to 9, mem_level 1-9
    /// (default 8).
    static let newDeflater: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        let (bits, e1) = option(lua, 1, 9...15, 15, "window_bits")
        if let e1 { return e1 }
        let (level, e2) = option(lua, 2, -1...9, -1, "level")
        if let e2 { return e2 }
        let (mem, e3) = option(lua, 3, 1...9, 8, "mem_level")
        if let e3 { return e3 }
        guard let d = Deflater(level: level, windowBits: bits, memLevel: mem) else {
            return lua.raiseError("ratchet.deflate.deflater()", "ENOMEM", "zlib could not set up a deflate stream.")
        }
        Deflater.push(lua, d)
        return 1
    }

    /// inflater([window_bits]): window_bits 8-15 (default 15), at least the sender's.
    static let newInflater: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        let (bits, e1) = option(lua, 1, 8...15, 15, "window_bits")
        if let e1 { return e1 }
        guard let i = Inflater(windowBits: bits) else {
            return lua.raiseError("ratchet.deflate.inflater()", "ENOMEM", "zlib could not set up an inflate stream.")
        }
        Inflater.push(lua, i)
        return 1
    }

    private static func closed(_ lua: Lua, _ function: String) -> Int32 {
        lua.raiseError(function, "EBADF", "The stream is closed.")
    }

    /// deflater:compress(data) → the raw DEFLATE bytes of data, ending with a sync flush whose
    /// final `00 00 ff ff` is left off (RFC 7692 7.2.1).
    static let compress: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard Deflater.with(lua, 1, { _ in true }) != nil else { return lua.typeError(1, "ratchet.deflate.deflater") }
        guard let data = lua.bytes(2) else { return lua.typeError(2, "string") }
        guard data.count <= Int(UInt32.max) else { return lua.argError(2, "data over 4 GiB") }
        let ok = Deflater.with(lua, 1) { $0.compress(lua, data) } ?? false
        return ok ? 1 : closed(lua, "ratchet.deflate.deflater:compress()")
    }

    /// inflater:decompress(data, limit [, final]) → the bytes data decompresses to; or nil,
    /// "limit" when they would be more than `limit`; or nil, "data", zlib's message for data
    /// that is not DEFLATE. `final`: data ends a message, whose `00 00 ff ff` the sender
    /// left off.
    static let decompress: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard Inflater.with(lua, 1, { _ in true }) != nil else { return lua.typeError(1, "ratchet.deflate.inflater") }
        guard let data = lua.bytes(2) else { return lua.typeError(2, "string") }
        guard data.count <= Int(UInt32.max) else { return lua.argError(2, "data over 4 GiB") }
        guard let limit = lua.integer(3) else { return lua.typeError(3, "integer") }
        guard limit >= 0, limit < Int.max else { return lua.argError(3, "limit must be 0 or more") }
        let final = lua.toBool(4)
        switch Inflater.with(lua, 1, { $0.decompress(lua, data, limit: limit, final: final) })! {
        case .ok: return 1
        case .overLimit:
            lua.pushNil(); lua.push("limit" as StaticString)
            return 2
        case .corrupt(let why):
            lua.pushNil(); lua.push("data" as StaticString); lua.push(why)
            return 3
        case .closed: return closed(lua, "ratchet.deflate.inflater:decompress()")
        }
    }

    /// reset(): forget the window (the next message starts a new stream: no context takeover).
    static let resetDeflater: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let ok = Deflater.with(lua, 1, { $0.reset() }) else { return lua.typeError(1, "ratchet.deflate.deflater") }
        return ok ? 0 : closed(lua, "ratchet.deflate.deflater:reset()")
    }

    static let resetInflater: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let ok = Inflater.with(lua, 1, { $0.reset() }) else { return lua.typeError(1, "ratchet.deflate.inflater") }
        return ok ? 0 : closed(lua, "ratchet.deflate.inflater:reset()")
    }

    /// close(): frees zlib's state now rather than at collection.
    static let closeDeflater: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard Deflater.with(lua, 1, { $0.close(lua) }) != nil else { return lua.typeError(1, "ratchet.deflate.deflater") }
        return 0
    }

    static let closeInflater: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard Inflater.with(lua, 1, { $0.close(lua) }) != nil else { return lua.typeError(1, "ratchet.deflate.inflater") }
        return 0
    }
}
