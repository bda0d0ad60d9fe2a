import Glibc

/// The supervisor's TCP listeners, one per address the workers bind (the sockaddr bytes
/// they asked for, port 0 included: every worker asking for port 0 on an address shares
/// the one port the first request got). Each is opened once and handed to every worker that
/// binds that address; it stays open across reloads, so the accept queue — connections the
/// kernel completed but no worker took yet — is never reset. (With one SO_REUSEPORT socket
/// per worker, closing an old worker's socket resets the connections queued on it.)
struct SharedListeners {
    private var open: [[UInt8]: (fd: Int32, generation: Int)] = [:]

    /// The listener for a request, opening it first if needed: (descriptor, 0) or (−1, errno).
    mutating func listener(for address: [UInt8], generation: Int) -> (Int32, Int32) {
        if let l = open[address] {
            open[address] = (l.fd, max(l.generation, generation))
            return (l.fd, 0)
        }
        guard address.count >= 2 else { return (-1, EINVAL) }
        let family = Int32(UInt16(address[0]) | UInt16(address[1]) << 8)
        let need = family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
        guard family == AF_INET || family == AF_INET6, address.count >= need else { return (-1, EAFNOSUPPORT) }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return (-1, errno) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let r = address.withUnsafeBytes { raw in
            bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
        }
        // listening at once: connections queue here from the start, whoever accepts them
        if r != 0 || Glibc.listen(fd, SOMAXCONN) != 0 {
            let e = errno
            Glibc.close(fd)
            return (-1, e)
        }
        open[address] = (fd, generation)
        return (fd, 0)
    }

    /// Closes the listeners no worker of `generation` or later asked for.
    mutating func retire(olderThan generation: Int) {
        for (k, l) in open where l.generation < generation {
            Glibc.close(l.fd)
            open[k] = nil
        }
    }

    mutating func closeAll() {
        for l in open.values { Glibc.close(l.fd) }
        open.removeAll()
    }
}
