import CLua
import CLinux
import Glibc

/// `ratchet.wsmask`: WebSocket payload masking (RFC 6455 5.3) for LuaLib/ratchet/websocket.
/// In Lua the XOR costs about 10 ms per MiB (eight 8-byte words per string.unpack/pack
/// round) and 0.9 µs for a 64-byte message, a quarter of the library's own cost per echoed
/// message; here it is one pass over the bytes. Also the random bytes of masking keys and
/// handshake nonces, which RFC 6455 10.3 wants unpredictable.
enum MaskLibrary {
    static func open(_ lua: Lua) -> Int32 {
        lua.pushLibrary([("mask", mask), ("random", random)])
    }

    /// random(n) → n bytes from the kernel's random source (getrandom(2): no descriptor to
    /// keep open and leak into children, as an io.open of /dev/urandom would).
    static let random: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        guard let n = lua.integer(1) else { return lua.typeError(1, "number") }
        guard n >= 0, n <= 1 << 20 else { return lua.argError(1, "between 0 and 1 MiB") }
        // on the stack for the 4-byte masking key of every client frame
        return withUnsafeTemporaryAllocation(byteCount: max(n, 1), alignment: 8) { raw -> Int32 in
            let buf = raw.baseAddress!
            var got = 0
            while got < n {   // over 256 bytes a read may come back short, and EINTR may come
                let r = getrandom(buf + got, n - got, 0)
                if r < 0 {
                    if errno == EINTR { continue }
                    return lua.raiseErrno("ratchet.wsmask.random()", "getrandom", errno)
                }
                got += r
            }
            lua.push(bytes: buf, count: n)
            return 1
        }
    }

    /// mask(data, start, len, key) → the `len` bytes of `data` from position `start` (1-based)
    /// XORed with the 4-byte `key` repeated; masking and unmasking are the same operation.
    static let mask: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(4)
        guard let data = lua.bytes(1) else { return lua.typeError(1, "string") }
        guard let start = lua.integer(2) else { return lua.typeError(2, "number") }
        guard let len = lua.integer(3) else { return lua.typeError(3, "number") }
        guard let key = lua.bytes(4) else { return lua.typeError(4, "string") }
        guard key.count == 4 else { return lua.argError(4, "the key has 4 bytes") }
        guard start >= 1, len >= 0, start - 1 <= data.count - len else {
            return lua.argError(3, "start and len must lie within the data")
        }
        if len == 0 { lua.push("" as StaticString); return 1 }
        let out = UnsafeMutableRawPointer.allocate(byteCount: len, alignment: 8)
        defer { out.deallocate() }
        let src = data.baseAddress! + (start - 1)
        let k4 = key.loadUnaligned(as: UInt32.self)
        let k8 = UInt64(k4) | (UInt64(k4) << 32)
        var i = 0
        while i + 8 <= len {
            out.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ k8, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < len {
            out.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self) ^ key[i & 3], toByteOffset: i, as: UInt8.self)
            i += 1
        }
        lua.push(bytes: out, count: len)
        return 1
    }
}
