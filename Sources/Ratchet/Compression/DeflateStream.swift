import CZlib
import Glibc

/// One direction of a raw DEFLATE stream (RFC 1951: no zlib header or checksum), the form
/// WebSocket permessage-deflate (RFC 7692) sends: every message ends with a sync flush and
/// the flush's empty stored block `00 00 ff ff` is left off on the wire. The stream keeps
/// its LZ77 window between calls (context takeover) until `reset`.
///
/// Output goes to a buffer the stream keeps between calls, so small messages (the common
/// case) cost no allocation; one grown past `keptCapacity` by a large message is given back
/// after that call.
class ZStream {
    /// nil once closed.
    fileprivate(set) var z: UnsafeMutablePointer<z_stream>?
    private var out: UnsafeMutableRawPointer
    private var capacity: Int
    private static let keptCapacity = 64 * 1024
    /// The empty stored block a sync flush ends with (RFC 7692 7.2.1).
    static let tail: [UInt8] = [0, 0, 0xff, 0xff]

    fileprivate init() {
        capacity = 16 * 1024
        out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        let p = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        p.initialize(to: z_stream())
        z = p
    }

    deinit {
        out.deallocate()
    }

    /// Frees zlib's state (deflateEnd or inflateEnd); later calls find the stream closed.
    fileprivate func end(_ zEnd: (UnsafeMutablePointer<z_stream>) -> Int32) {
        guard let p = z else { return }
        _ = zEnd(p)
        p.deallocate()
        z = nil
    }

    /// Runs `step` (one deflate or inflate call) over `input` until it is consumed and the
    /// output is complete, into the kept buffer from `produced` on, allowing at most `limit`
    /// bytes of output in all. Returns the bytes produced so far, or a zlib error code;
    /// `produced > limit` tells the caller the limit was passed (nothing past limit + 1 is
    /// ever produced). `Z_STREAM_END` from `step` ends the run (a final block: the rest of
    /// the input is not part of this stream).
    fileprivate func run(_ input: UnsafeRawBufferPointer, produced: Int, limit: Int,
                         _ step: (UnsafeMutablePointer<z_stream>) -> Int32) -> (produced: Int, status: Int32) {
        guard let p = z else { return (produced, Z_STREAM_ERROR) }
        var count = produced
        p.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        p.pointee.avail_in = uInt(input.count)
        while true {
            if count == capacity { grow() }
            let room = min(capacity - count, limit + 1 - count, Int(UInt32.max))
            p.pointee.next_out = (out + count).assumingMemoryBound(to: Bytef.self)
            p.pointee.avail_out = uInt(room)
            let r = step(p)
            count += room - Int(p.pointee.avail_out)
            switch r {
            case Z_STREAM_END: return (count, Z_STREAM_END)
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR: no progress was possible, i.e. everything is out already
                if count > limit { return (count, Z_OK) }
                if p.pointee.avail_out != 0 || r == Z_BUF_ERROR { return (count, Z_OK) }
            default: return (count, r)
            }
        }
    }

    /// Pushes the first `count` output bytes as a Lua string and gives back a buffer grown
    /// by a large message.
    fileprivate func pushOutput(_ lua: Lua, _ count: Int) {
        lua.push(bytes: out, count: count)
        if capacity > Self.keptCapacity {
            out.deallocate()
            capacity = 16 * 1024
            out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
    }

    fileprivate func endsWithTail(_ count: Int) -> Bool {
        count >= 4 && (0..<4).allSatisfy { out.load(fromByteOffset: count - 4 + $0, as: UInt8.self) == Self.tail[$0] }
    }

    private func grow() {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
        bigger.copyMemory(from: out, byteCount: capacity)
        out.deallocate()
        out = bigger
        capacity *= 2
    }

    /// zlib's message for the last error, or a generic one.
    fileprivate var message: String {
        if let m = z?.pointee.msg { return String(cString: m) }
        return "invalid compressed data"
    }
}

/// The compressing side (`ratchet.deflate.deflater`).
final class Deflater: ZStream, LuaHandle {
    static let metatableName: StaticString = "ratchet_deflater_meta"
    static let shownName: StaticString = "ratchet.deflate.deflater"

    /// nil when zlib refuses the parameters (the caller has checked their ranges).
    init?(level: Int32, windowBits: Int32, memLevel: Int32) {
        super.init()
        let r = deflateInit2_(z, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY,
                              ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if r != Z_OK { z?.deallocate(); z = nil; return nil }
    }

    deinit { end { deflateEnd($0) } }

    func close(_ lua: Lua) { end { deflateEnd($0) } }

    /// Compresses `data` ending with a sync flush and pushes the result without the flush's
    /// `00 00 ff ff`; false when the stream is closed or zlib failed.
    func compress(_ lua: Lua, _ data: UnsafeRawBufferPointer) -> Bool {
        let (count, status) = run(data, produced: 0, limit: Int.max - 1) { deflate($0, Z_SYNC_FLUSH) }
        guard status == Z_OK else { return false }
        pushOutput(lua, endsWithTail(count) ? count - 4 : count)
        return true
    }

    func reset() -> Bool { z.map { deflateReset($0) == Z_OK } ?? false }
}

/// The decompressing side (`ratchet.deflate.inflater`).
final class Inflater: ZStream, LuaHandle {
    static let metatableName: StaticString = "ratchet_inflater_meta"
    static let shownName: StaticString = "ratchet.deflate.inflater"

    init?(windowBits: Int32) {
        super.init()
        let r = inflateInit2_(z, -windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if r != Z_OK { z?.deallocate(); z = nil; return nil }
    }

    deinit { end { inflateEnd($0) } }

    func close(_ lua: Lua) { end { inflateEnd($0) } }

    enum Result { case ok, overLimit, corrupt(String), closed }

    /// Decompresses `data` (and, with `final`, the `00 00 ff ff` the sender left off, so
    /// everything of the message comes out), producing at most `limit` bytes: a zip bomb
    /// stops at limit + 1 bytes of output. Pushes the output when the result is `.ok`.
    func decompress(_ lua: Lua, _ data: UnsafeRawBufferPointer, limit: Int, final: Bool) -> Result {
        guard z != nil else { return .closed }
        var (count, status) = run(data, produced: 0, limit: limit) { inflate($0, Z_SYNC_FLUSH) }
        if status == Z_OK && final && count <= limit {
            (count, status) = Self.tail.withUnsafeBytes { tail in
                run(tail, produced: count, limit: limit) { inflate($0, Z_SYNC_FLUSH) }
            }
        }
        if status == Z_STREAM_END {
            // the sender ended the stream with a final block (RFC 7692 7.2.3.3 allows it):
            // what follows is a new stream
            _ = inflateReset(z!)
            status = Z_OK
        }
        guard status == Z_OK else {
            let m = message
            _ = inflateReset(z!)
            return .corrupt(m)
        }
        if count > limit { return .overLimit }
        pushOutput(lua, count)
        return .ok
    }

    func reset() -> Bool { z.map { inflateReset($0) == Z_OK } ?? false }
}
