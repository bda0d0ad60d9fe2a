import CLua
import Glibc

/// One `communicate()` call: feeds stdin while it drains stdout and stderr, so a child that
/// writes much before it reads cannot deadlock with us, then waits for the exit status.
/// The state lives in a userdata on the calling thread's stack (index 3): if the thread is
/// killed, it goes away with the stack.
final class Communication: LuaHandle {
    static let metatableName: StaticString = "ratchet_exec_communication_meta"
    static let shownName: StaticString = "ratchet.exec communication"
    static let function: StaticString = "ratchet.exec.communicate()"
    private static let chunk = 65536

    var written = 0
    var out: [UInt8] = []
    var err: [UInt8] = []
    var outDone = false
    var errDone = false

    func close(_ lua: Lua) {}

    /// communicate([input]) → stdout, stderr, status, exited normally (the fourth value is
    /// an extension). Starts the process first if start() was not called.
    static let communicate: LuaImpl = { L, status, ctx in
        let lua = Lua(L)
        lua.arguments(2, status)
        guard let p = ExecLibrary.process(lua) else { return lua.typeError(1, ExecLibrary.typeName) }
        if status != LUA_YIELD {
            if lua.type(2) == LUA_TNUMBER { _ = lua_tolstring(L, 2, nil) }
            guard lua.isNoneOrNil(2) || lua.type(2) == LUA_TSTRING else { return lua.typeError(2, "string") }
            if !p.started {
                guard ExecLibrary.startProcess(lua, p, function) else { return Status.raise }
            }
            Communication.push(lua, Communication())
        }
        guard let c = Communication.get(lua, 3) else { return lua.raise("communicate() lost its state") }
        if ctx == 0 {
            if let r = c.pump(lua, p) { return r }
        }
        if let r = ExecLibrary.awaitExit(lua, p, resumed: status == LUA_YIELD && ctx == 1, timeout: -1,
                                         deadlineSlot: 4, ctx: 1, function) { return r }
        c.out.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
        c.err.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
        lua.push(p.exit?.status ?? 0)
        lua.push(p.exit?.normal ?? false)
        return 4
    }

    /// Moves as much data as the pipes take now. Returns nil when stdin is closed and both
    /// outputs reached end of file, else the Status to return (a yield or an error).
    private func pump(_ lua: Lua, _ p: ChildProcess) -> Int32? {
        var waitWrite = false
        if let w = p.stdin, w.fd >= 0 {
            let data = lua.bytes(2)
            let total = data?.count ?? 0
            while written < total, let base = data?.baseAddress {
                let n = Glibc.write(w.fd, base + written, total - written)
                if n >= 0 { written += n; continue }
                let e = errno
                if e == EINTR { continue }
                if e == EAGAIN { waitWrite = true; break }
                // The child closed its input: what it did not read cannot be given to it.
                if e == EPIPE { written = total; break }
                return lua.raiseErrno(Communication.function, "write", e)
            }
            if !waitWrite { w.closeFD() }
        }
        var waitOut = false, waitErr = false
        if !outDone {
            switch drain(p.stdout, into: &out) {
            case .eof: outDone = true
            case .wait: waitOut = true
            case .failed(let e): return lua.raiseErrno(Communication.function, "read", e)
            }
        }
        if !errDone {
            switch drain(p.stderr, into: &err) {
            case .eof: errDone = true
            case .wait: waitErr = true
            case .failed(let e): return lua.raiseErrno(Communication.function, "read", e)
            }
        }
        guard waitWrite || waitOut || waitErr else { return nil }
        guard let t = Kernel.thread(lua) else { return Kernel.notInThread(lua, "\(Communication.function)") }
        let k = t.kernel
        if waitWrite, let w = p.stdin { k.watcher(fd: w.fd, slot: &w.watcher).add(t, write: true) }
        if waitOut, let r = p.stdout { k.watcher(fd: r.fd, slot: &r.watcher).add(t, write: false) }
        if waitErr, let r = p.stderr { k.watcher(fd: r.fd, slot: &r.watcher).add(t, write: false) }
        k.park(t, timeout: -1)
        return Status.yield(0)
    }

    private enum Drain { case eof, wait, failed(Int32) }

    /// Reads everything available from `pipe` (a closed pipe counts as end of file).
    private func drain(_ pipe: PipeReader?, into buffer: inout [UInt8]) -> Drain {
        guard let pipe, pipe.fd >= 0 else { return .eof }
        let scratch = ReceiveBuffer.pointer
        while true {
            let n = Glibc.read(pipe.fd, scratch, Communication.chunk)
            if n > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: n)); continue }
            if n == 0 { return .eof }
            let e = errno
            if e == EINTR { continue }
            return e == EAGAIN ? .wait : .failed(e)
        }
    }
}
