import CLua
import Glibc

/// The rest of a Content-Length request body, received natively for `ratchet.http.server`.
/// Read in Lua, a body not yet complete in the server's buffer cost a `sub` of what had come
/// with the head, a `recv` per further piece (a Lua string each) and a join of the pieces: a
/// copy of the body more than needed, another of what came with the head, and a Lua string and
/// loop step per read. Here what came with the head is copied once (from the server's buffer,
/// no `sub`) and the kernel writes the rest straight after it, in one buffer, which becomes the
/// body string. While the body arrives without a wait that buffer is the thread's
/// ReceiveBuffer (no allocation but the body string).
///
/// A body that must wait moves into a userdata in the call's first free stack slot (the
/// ReceiveBuffer is every coroutine's): it survives parks, and a thread killed mid-body leaves
/// it to the garbage collector (which counts it, being Lua memory) with nothing else to free.
/// The userdata grows as the body comes (doubling, from 64 KiB): a client that announces a
/// large body and sends little makes the server hold little, as the Lua loop's pieces did.
enum RequestBody {
    /// The waiting body's stack slot: the first after the six arguments.
    private static let bufferSlot: Int32 = 7
    /// The userdata starts with the number of body bytes it holds and the number it can hold.
    private static let header = 2 * MemoryLayout<Int>.size
    /// A waiting body's first buffer, unless the body is smaller.
    private static let initial = 65536
    /// Room after a buffer of the body's full size for bytes that follow the body (a pipelined
    /// request) read with its end: a read that fills it all leaves the socket maybe unread.
    private static let room = 4096
    /// Longer bodies are left to the Lua path (no server limit comes near it).
    private static let largest = Int(Int32.max)

    /// receive_body(sock, buf, pos, length, deadline, recv_size) → body, what followed it; nil
    /// when the peer closed first; false when the socket is encrypted or traced (or `length`
    /// is past 2 GiB): the caller reads it with `recv` then. The body's first bytes are those
    /// of `buf` from `pos` on. `deadline`: the body's, on `ratchet.now()`'s clock (nil: none);
    /// each wait is bounded by it and by the socket's timeout, as the server's `recv` bounds
    /// them. The last read may take up to `recv_size` bytes (default 8192) past the body (a
    /// pipelined request): they are the second result. Errors are `recv`'s (named
    /// "ratchet.socket.recv()"), and past the deadline the server's own 408 trigger.
    static let receive: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(6, status)
        return Socket.with(lua, 1) { s in receive(lua, s, status) } ?? SocketMethods.notSocket(lua)
    }

    private static func receive(_ lua: Lua, _ s: Socket, _ status: Int32) -> Int32 {
        guard let buf = lua.bytes(2) else { return lua.typeError(2, "string") }
        guard let pos = lua.integer(3) else { return lua.typeError(3, "number") }
        guard pos >= 1 && pos <= buf.count + 1 else { return lua.argError(3, "position out of range") }
        let prefix = UnsafeRawBufferPointer(rebasing: buf[(pos - 1)...])
        guard let length = lua.integer(4) else { return lua.typeError(4, "number") }
        guard length >= prefix.count else { return lua.argError(4, "length is less than the bytes at pos") }
        var deadline: Double?
        if !lua.isNoneOrNil(5) {
            guard let d = lua.seconds(5) else { return lua.typeError(5, "number") }
            deadline = d
        }
        let (recvSize, err) = SocketMethods.maxlen(lua, 6)
        if let err { return err }
        guard s.encryption == nil, !s.hasTracer, length <= largest else { lua.push(false); return 1 }
        if Kernel.timedOut(lua, status) { return lua.raiseTimeout("ratchet.socket.recv()", "recv") }
        let stage = ReceiveBuffer.pointer
        var body: UnsafeMutableRawPointer
        var have: Int, capacity: Int
        if status == LUA_YIELD {
            let p = lua_touserdata(lua.L, bufferSlot)!
            have = p.load(as: Int.self)
            capacity = p.load(fromByteOffset: MemoryLayout<Int>.size, as: Int.self)
            body = p + header
        } else {
            have = prefix.count
            if length + recvSize <= ReceiveBuffer.capacity {
                body = stage
                capacity = length
            } else {
                capacity = firstCapacity(have: have, length: length)
                body = newBuffer(lua, capacity, length)
            }
            if have > 0 { body.copyMemory(from: prefix.baseAddress!, byteCount: have) }
        }
        while have < length {
            if have == capacity {
                // a bigger userdata takes the stack slot (never the staged body: it has room)
                capacity = min(length, 2 * capacity)
                let bigger = newBuffer(lua, capacity, length)
                bigger.copyMemory(from: body, byteCount: have)
                lua.replace(bufferSlot)
                body = bigger
            }
            let need = length - have
            let extra = capacity < length ? 0 : body == stage ? recvSize : room
            let n = SocketMethods.readPlain(s, body + have, maxlen: capacity - have + extra)
            if n > need { return finish(lua, body, length, following: UnsafeRawBufferPointer(start: body + length, count: n - need)) }
            if n > 0 { have += n; continue }
            if n == 0 { lua.pushNil(); return 1 }  // the peer closed mid-body
            if n != -Int(EAGAIN) { return lua.raiseErrno("ratchet.socket.recv()", "recv", Int32(-n)) }
            var within = -1.0
            if let deadline {
                within = deadline - monotonicSeconds()
                if within <= 0 {
                    // as the server's own recv raises it (the 408 reply follows from it)
                    RatchetError.push(lua, description: "Timed out reading the request body.", code: "ETIMEDOUT",
                                      function: "ratchet.http.server.handle()", callerLevel: 0)
                    return Status.raise
                }
            }
            if body == stage {
                capacity = firstCapacity(have: have, length: length)
                body = unstage(lua, prefix, have: have, capacity: capacity, length: length)
            }
            body.storeBytes(of: have, toByteOffset: -header, as: Int.self)
            body.storeBytes(of: capacity, toByteOffset: MemoryLayout<Int>.size - header, as: Int.self)
            return SocketMethods.parkReading(lua, s, within: within, "ratchet.socket.recv()")
        }
        return finish(lua, body, length, following: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// The capacity of a waiting body's first userdata, holding `have` bytes.
    private static func firstCapacity(have: Int, length: Int) -> Int {
        min(length, max(initial, 2 * have))
    }

    /// A userdata at the top of the stack for `capacity` bytes of a `length`-byte body (and
    /// `room` more once it is the full size): where its bytes start.
    private static func newBuffer(_ lua: Lua, _ capacity: Int, _ length: Int) -> UnsafeMutableRawPointer {
        lua_newuserdatauv(lua.L, header + capacity + (capacity < length ? 0 : room), 0)! + header
    }

    // The ReceiveBuffer is every reader's, and a Lua allocation may run a finalizer (Lua code,
    // which may read a socket): bytes in it must become Lua values before anything allocates.

    /// Moves a staged body that must wait into its userdata at `bufferSlot`: the bytes read
    /// into the ReceiveBuffer are held in a string while the userdata is allocated.
    private static func unstage(_ lua: Lua, _ prefix: UnsafeRawBufferPointer, have: Int, capacity: Int,
                                length: Int) -> UnsafeMutableRawPointer {
        let stage = ReceiveBuffer.pointer
        lua.push(bytes: stage + prefix.count, count: have - prefix.count)
        let body = newBuffer(lua, capacity, length)
        if prefix.count > 0 { body.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
        if let read = lua.bytes(-2), read.count > 0 { (body + prefix.count).copyMemory(from: read.baseAddress!, byteCount: read.count) }
        lua.remove(-2)
        return body
    }

    /// Pushes the body and the bytes that followed it (set aside first: both may be in the
    /// ReceiveBuffer, and the body string's allocation may run a finalizer).
    private static func finish(_ lua: Lua, _ body: UnsafeRawPointer, _ length: Int, following: UnsafeRawBufferPointer) -> Int32 {
        withUnsafeTemporaryAllocation(byteCount: following.count, alignment: 1) { kept in
            if following.count > 0 { kept.copyMemory(from: following) }
            lua.push(bytes: body, count: length)
            lua.push(bytes: kept.baseAddress, count: following.count)
        }
        return 2
    }
}
