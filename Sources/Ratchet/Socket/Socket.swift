import CLua
import Glibc

/// A socket handle: the descriptor, its timeout, the IOWatcher it waits on, and (once
/// encrypted) the transport that `send`/`recv` go through.
///
/// The userdata has two user values: 1 = the tracer function, 2 = the encryption session
/// object returned by `get_encryption()`. Keeping them as user values (not registry refs)
/// lets a socket dropped without `close` be collected with everything it points to.
public final class Socket: LuaHandle {
    public static let metatableName: StaticString = "ratchet_socket_meta"
    public static let shownName: StaticString = "ratchet.socket"
    static let tracerSlot: Int32 = 1
    static let encryptionSlot: Int32 = 2

    // Declared small fields first so the object packs into 56 bytes (a 64-byte malloc
    // chunk): every connection has one.
    /// −1 once closed: every syscall then fails with EBADF, which is the error users see.
    @exclusivity(unchecked) public internal(set) var fd: Int32
    @exclusivity(unchecked) var hasTracer = false
    @exclusivity(unchecked) private var kind: Int8 = -1  // SO_TYPE is SOCK_STREAM: 1, not: 0, unknown yet: -1
    /// Seconds; negative means wait forever.
    @exclusivity(unchecked) public var timeout: Double = -1
    @exclusivity(unchecked) public var watcher: IOWatcher?
    /// Set by `encrypt`: `send`/`recv` then go through it (see SocketEncryption).
    @exclusivity(unchecked) public var encryption: SocketEncryption?

    init(fd: Int32) { self.fd = fd }

    /// Whether this is a stream socket (asked of the kernel once).
    var isStream: Bool {
        @inline(__always) get { kind >= 0 ? kind == 1 : askStream() }
    }

    private func askStream() -> Bool {
        if kind < 0 {
            var t: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &len) == 0 else { return false }
            kind = t == Int32(SOCK_STREAM.rawValue) ? 1 : 0
        }
        return kind == 1
    }

    /// Pushes a new socket userdata owning `fd`.
    @discardableResult
    static func push(_ lua: Lua, fd: Int32) -> Socket {
        let s = Socket(fd: fd)
        push(lua, s, uservalues: 2)
        return s
    }

    /// Closes the descriptor. The watcher goes first, while the number is still ours, so the
    /// event is removed from epoll and threads waiting on it wake (and then see EBADF).
    /// Returns false when it was already closed.
    @discardableResult
    func closeDescriptor(_ lua: Lua) -> Bool {
        guard fd >= 0 else { return false }
        encryption?.socketClosing()
        Kernel.forgetDescriptor(fd, watcher: &watcher, lua: lua)
        let old = fd
        fd = -1
        _ = Glibc.close(old)
        return true
    }

    public func close(_ lua: Lua) { closeDescriptor(lua) }

    /// Parks `t` until the socket is readable (or writable) or `timeout` passes.
    @inline(__always)
    func wait(_ t: LuaThread, write: Bool, timeout: Double) {
        t.kernelRef._withUnsafeGuaranteedRef { $0.waitIO(t, fd: fd, write: write, timeout: timeout, slot: &watcher) }
    }


    // MARK: tracer

    /// Calls the tracer (if any) as `tracer(event)`, or `tracer(event, value at arg)` when
    /// `arg` is a stack index. Returns false with the tracer's error on top when it raised.
    /// Callers that must build the argument check `hasTracer` first.
    @inline(__always)
    func trace(_ lua: Lua, _ selfIndex: Int32, _ event: StaticString, arg: Int32 = 0) -> Bool {
        guard hasTracer else { return true }
        return traceSlow(lua, selfIndex, event, arg)
    }

    private func traceSlow(_ lua: Lua, _ selfIndex: Int32, _ event: StaticString, _ arg: Int32) -> Bool {
        let idx = lua.absIndex(selfIndex)
        let argIdx = arg == 0 ? 0 : lua.absIndex(arg)
        guard lua_getiuservalue(lua.L, idx, Socket.tracerSlot) == LUA_TFUNCTION else {
            lua.pop()
            return true
        }
        lua.push(event)
        if argIdx != 0 { lua.pushValue(argIdx) }
        return lua.pcall(argIdx != 0 ? 2 : 1, 0) == LUA_OK
    }
}

/// How an encrypted transport (ratchet.ssl) plugs into a socket: `send`/`recv` call these
/// instead of the syscalls once `socket.encryption` is set, and do the waiting themselves
/// (on the socket's watcher, with the socket's timeout) when asked to.
public enum TransferResult {
    /// The operation finished; `read` pushed exactly one string ("" at EOF).
    case done
    /// Retry the same call when the socket is readable / writable.
    case wantRead, wantWrite
    /// Failed; the error value (a ratchet error) is on top of the stack.
    case failed
}

public protocol SocketEncryption: AnyObject {
    /// Reads up to `maxlen` plaintext bytes without blocking.
    func read(_ lua: Lua, socket: Socket, maxlen: Int) -> TransferResult
    /// Writes all of `data` without blocking (all-or-nothing: after wantRead/wantWrite the
    /// socket calls again with the same bytes).
    func write(_ lua: Lua, socket: Socket, data: UnsafeRawBufferPointer) -> TransferResult
    /// The socket is about to close its descriptor.
    func socketClosing()
}

extension Socket {
    /// Installs an encryption session: `session` (at `sessionIndex`) is what
    /// `get_encryption()` returns; the socket userdata is at `socketIndex`.
    public static func setEncryption(_ lua: Lua, socketIndex: Int32, sessionIndex: Int32, _ enc: SocketEncryption) {
        guard let s = get(lua, socketIndex) else { return }
        let si = lua.absIndex(socketIndex)
        s.encryption = enc
        lua.pushValue(sessionIndex)
        lua_setiuservalue(lua.L, si, encryptionSlot)
    }
}
