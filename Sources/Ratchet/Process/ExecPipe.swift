import CLua
import Glibc

// The parent's ends of a child's stdin, stdout and stderr pipes: non-blocking, close-on-exec.

/// The child's stdout or stderr, seen from the parent.
final class PipeReader: OwnedDescriptor, LuaHandle {
    static let metatableName: StaticString = "ratchet_exec_reader_meta"
    static let shownName: StaticString = "ratchet.exec reader"
    func close(_ lua: Lua) { closeFD(lua) }
}

/// The child's stdin, seen from the parent.
final class PipeWriter: OwnedDescriptor, LuaHandle {
    static let metatableName: StaticString = "ratchet_exec_writer_meta"
    static let shownName: StaticString = "ratchet.exec writer"
    func close(_ lua: Lua) { closeFD(lua) }
}

/// The pipe objects' Lua methods.
enum ExecPipeLibrary {

    static func register(_ lua: Lua) {
        PipeReader.registerMetatable(lua, methods: [("get_fd", readerFD), ("read", read), ("close", readerClose)])
        PipeWriter.registerMetatable(lua, methods: [("get_fd", writerFD), ("write", write), ("close", writerClose)])
    }

    static let readerFD: LuaImpl = { L, _, _ in getFD(Lua(L), PipeReader.self, "ratchet.exec reader") }
    static let writerFD: LuaImpl = { L, _, _ in getFD(Lua(L), PipeWriter.self, "ratchet.exec writer") }
    static let readerClose: LuaImpl = { L, _, _ in close(Lua(L), PipeReader.self, "ratchet.exec reader") }
    static let writerClose: LuaImpl = { L, _, _ in close(Lua(L), PipeWriter.self, "ratchet.exec writer") }

    private static func getFD<P: OwnedDescriptor & LuaHandle>(_ lua: Lua, _ type: P.Type, _ name: String) -> Int32 {
        guard let p = P.get(lua, 1) else { return lua.typeError(1, name) }
        lua.push(p.fd)
        return 1
    }

    /// close() → true, or nothing when already closed.
    private static func close<P: OwnedDescriptor & LuaHandle>(_ lua: Lua, _ type: P.Type, _ name: String) -> Int32 {
        guard let p = P.get(lua, 1) else { return lua.typeError(1, name) }
        guard p.closeFD(lua) else { return 0 }
        lua.push(true)
        return 1
    }

    /// read([maxlen]) → up to maxlen bytes (default 8192, at most 1 MiB); "" at end of file.
    static let read: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let p = PipeReader.get(lua, 1) else { return lua.typeError(1, "ratchet.exec reader") }
        var max = ReceiveBuffer.defaultSize
        if !lua.isNoneOrNil(2) {
            guard let n = lua.integer(2) else { return lua.typeError(2, "integer") }
            guard n >= 1 && n <= ReceiveBuffer.capacity else {
                return lua.argError(2, "maxlen must be between 1 and \(ReceiveBuffer.capacity)")
            }
            max = n
        }
        while true {
            let buf = ReceiveBuffer.pointer
            let n = Glibc.read(p.fd, buf, max)
            if n >= 0 {
                lua.push(bytes: buf, count: n)
                return 1
            }
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN else { return lua.raiseErrno("ratchet.exec.read()", "read", e) }
            guard let t = Kernel.thread(lua) else { return Kernel.notInThread(lua, "ratchet.exec.read()") }
            t.kernel.waitIO(t, fd: p.fd, write: false, timeout: -1, slot: &p.watcher)
            return Status.yield()
        }
    }

    /// write(data): writes all of `data`, yielding while the pipe is full; returns nothing.
    /// Stack while it runs: 1 pipe, 2 data, 3 bytes written so far.
    static let write: LuaImpl = { L, status, _ in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let p = PipeWriter.get(lua, 1) else { return lua.typeError(1, "ratchet.exec writer") }
        if status != LUA_YIELD {
            if lua.type(2) == LUA_TNUMBER { _ = lua_tolstring(L, 2, nil) }
            guard lua.type(2) == LUA_TSTRING else { return lua.typeError(2, "string") }
            lua.push(0)
        }
        guard let data = lua.bytes(2), var done = lua.integer(3) else { return lua.typeError(2, "string") }
        while done < data.count {
            let n = Glibc.write(p.fd, data.baseAddress! + done, data.count - done)
            if n >= 0 { done += n; continue }
            let e = errno
            if e == EINTR { continue }
            guard e == EAGAIN else { return lua.raiseErrno("ratchet.exec.write()", "write", e) }
            lua.push(done); lua.replace(3)
            guard let t = Kernel.thread(lua) else { return Kernel.notInThread(lua, "ratchet.exec.write()") }
            t.kernel.waitIO(t, fd: p.fd, write: true, timeout: -1, slot: &p.watcher)
            return Status.yield()
        }
        return 0
    }
}
