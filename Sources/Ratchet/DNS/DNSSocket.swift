import Glibc

/// The non-blocking sockets RawDNSRequest talks to nameservers over.
///
/// This file imports Glibc alone, on purpose: naming SOCK_STREAM, SOCK_NONBLOCK or
/// MSG_NOSIGNAL in a file that also imports CLibEvent (whose header includes
/// <sys/socket.h>) makes the compiler file those constants under CLibEvent, and every
/// file that imports only Glibc stops finding them.
enum DNSSocket {
    /// A socket connected (UDP) or connecting (TCP) to `ns`, or the errno.
    static func open(_ ns: NameServer, stream: Bool) -> Result<Int32, SocketError> {
        let type = stream ? SOCK_STREAM : SOCK_DGRAM
        let fd = socket(ns.address.family, Int32(type.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(SocketError(code: errno)) }
        // UDP is connected too, so replies from anyone else never arrive and ICMP errors do.
        if ns.withSockaddr({ connect(fd, $0, $1) }) != 0 && !(stream && errno == EINPROGRESS) {
            let e = errno
            close(fd)
            return .failure(SocketError(code: e))
        }
        return .success(fd)
    }

    /// send() without SIGPIPE.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    }
}

struct SocketError: Error { let code: Int32 }
