import CRatchetShims
import Glibc

/// A worker process's line to its supervisor (`ratchet-lua -w N`): a SOCK_SEQPACKET unix
/// socket on which `bind` of a TCP socket asks for the supervisor's listener for that
/// address and gets its descriptor back (SCM_RIGHTS). The supervisor keeps every listener
/// open across generations of workers, so connections already queued on it survive a reload.
///
/// Messages: request = the sockaddr bytes; reply = an Int32 errno (0: the descriptor came
/// with it).
public enum WorkerChannel {
    /// The channel's descriptor in a worker process, −1 elsewhere (also in plain `lua5.4`).
    public private(set) static var fd: Int32 = -1

    /// The environment variable naming the inherited channel descriptor.
    public static let environmentName = "RATCHET_WORKER_FD"

    /// Called once by a worker at start: takes the channel from the environment, marks it
    /// close-on-exec and removes the variable, so programs the script starts never see it.
    public static func adoptFromEnvironment() {
        guard let v = getenv(environmentName), let n = Int32(String(cString: v)), n >= 0 else { return }
        unsetenv(environmentName)
        guard fcntl(n, F_SETFD, FD_CLOEXEC) == 0 else { return }
        fd = n
        // A worker outlives no supervisor: it drains and ends when the supervisor is gone,
        // also if that happened before this line (then the parent is no longer it).
        _ = ratchet_set_parent_death_signal(SIGTERM)
        if let p = getenv("RATCHET_SUPERVISOR_PID"), pid_t(String(cString: p)) != getppid() { kill(getpid(), SIGTERM) }
    }

    /// Replaces `socketFD` with the supervisor's listener for `address` (bound and listening).
    /// Returns 0 or the errno of the supervisor's socket/bind/listen or of the exchange.
    static func adoptListener(onto socketFD: Int32, address: SocketAddress) -> Int32 {
        let sent = address.withSockaddr { p, len in ratchet_send_with_fd(fd, p, UInt(len), -1) }
        if sent < 0 { return errno }
        var reply: Int32 = 0
        var got: Int32 = -1
        var n: Int
        repeat { n = ratchet_recv_with_fd(fd, &reply, UInt(MemoryLayout<Int32>.size), &got) }
        while n < 0 && errno == EINTR
        if n < 0 { return errno }
        if n != MemoryLayout<Int32>.size { if got >= 0 { Glibc.close(got) }; return EPROTO }
        if reply != 0 { if got >= 0 { Glibc.close(got) }; return reply }
        guard got >= 0 else { return EPROTO }
        // dup2 keeps the socket's number (and its Lua object) while the open file becomes the
        // shared listener; the number's close-on-exec flag is reset by dup2, so set it again.
        let r = dup2(got, socketFD)
        let e = errno
        Glibc.close(got)
        if r < 0 { return e }
        _ = fcntl(socketFD, F_SETFD, FD_CLOEXEC)
        return 0
    }

    /// The supervisor's side: sends `errnoValue` (0 with `descriptor`) as the reply.
    public static func reply(on channel: Int32, errno errnoValue: Int32, descriptor: Int32) -> Bool {
        var v = errnoValue
        return ratchet_send_with_fd(channel, &v, UInt(MemoryLayout<Int32>.size), errnoValue == 0 ? descriptor : -1) >= 0
    }

    /// The supervisor's side: one request (sockaddr bytes), or nil at end of file or error.
    public static func receiveRequest(on channel: Int32) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: MemoryLayout<sockaddr_storage>.size)
        var got: Int32 = -1
        let n = ratchet_recv_with_fd(channel, &buf, UInt(buf.count), &got)
        if got >= 0 { Glibc.close(got) }   // a worker never sends descriptors
        guard n > 0 else { return nil }
        return Array(buf[0..<n])
    }
}
