import CLibEvent
import Glibc

/// A query evdns cannot make (libevent 2.1 only asks for A, AAAA and PTR-by-address):
/// built and parsed by libresolv (DNSMessage), sent by this request itself over UDP to
/// each nameserver in turn — `attempts` rounds of `timeout` seconds — and over TCP when
/// the answer is truncated. Every socket is non-blocking and every wait is a libevent
/// event on the kernel's base, so a dead nameserver only delays the waiting thread.
final class RawDNSRequest: DNSRequest {
    private var query: [UInt8] = []
    private var qname = ""
    private var edns = true
    /// Transmissions of the current candidate so far, and the server asked last.
    private var sent = 0
    private var current = -1
    private var lastFailure: DNSFailure = .timedOut
    private var udp: [Int: UDPEndpoint] = [:]
    private var tcp: TCPExchange?
    private var timer: OpaquePointer?
    private var tracked = false

    private var maxSends: Int { config.attempts * config.nameservers.count }

    override func send(_ name: String) {
        qname = name
        edns = true
        sent = 0
        lastFailure = .timedOut
        stopTCP()
        guard buildQuery() else { return candidateDone(.failure(.invalidName)) }
        if !tracked { state.track(self); tracked = true }
        transmit()
    }

    private func buildQuery() -> Bool {
        guard let q = DNSMessage.query(name: qname, type: type, edns: edns) else { return false }
        query = q
        return true
    }

    /// Sends the query to the next nameserver and waits `timeout`, or gives up after the
    /// last try with the last failure seen.
    private func transmit() {
        while sent < maxSends {
            let i = sent % config.nameservers.count
            sent += 1
            current = i
            if let e = sendUDP(to: i) {
                lastFailure = .transport(e)
                continue
            }
            armTimer()
            return
        }
        candidateDone(.failure(lastFailure))
    }

    private func sendUDP(to i: Int) -> Int32? {
        let endpoint: UDPEndpoint
        if let e = udp[i] {
            endpoint = e
        } else {
            switch UDPEndpoint.open(config.nameservers[i], index: i, request: self) {
            case .failure(let e): return e.code
            case .success(let e): udp[i] = e; endpoint = e
            }
        }
        let n = query.withUnsafeBytes { DNSSocket.send(endpoint.fd, $0) }
        if n == query.count { return nil }
        return n < 0 ? errno : EMSGSIZE
    }

    private func armTimer() {
        guard let base = state.kernel.base else { return }
        if timer == nil {
            timer = event_new(base, -1, 0, rawTimerFired, Unmanaged.passUnretained(self).toOpaque())
        }
        var tv = timeval(config.timeout)
        event_add(timer, &tv)
    }

    fileprivate func timerFired() {
        stopTCP()
        lastFailure = .timedOut
        transmit()
    }

    fileprivate func readable(_ e: UDPEndpoint) {
        let buf = state.buffer
        while result == nil, udp[e.index] === e {
            let n = recv(e.fd, buf.baseAddress, buf.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                // An ICMP error (nothing listens there): move on now rather than at the timeout.
                lastFailure = .transport(errno)
                if e.index == current && tcp == nil { transmit() }
                continue
            }
            handle(UnsafeRawBufferPointer(start: buf.baseAddress, count: n), from: e.index, overTCP: false)
        }
    }

    private func handle(_ reply: UnsafeRawBufferPointer, from i: Int, overTCP: Bool) {
        switch DNSMessage.parse(reply: reply, query: query, name: qname, type: type) {
        case .notOurs:
            if overTCP { tcpFailed(.malformed) }
        case .truncated:
            if overTCP { tcpFailed(.malformed) } else if tcp == nil { startTCP(i) }
        case .formatError:
            // Probably a server without EDNS: ask it again with a plain query.
            edns = false
            guard buildQuery() else { return candidateDone(.failure(.invalidName)) }
            if overTCP { startTCP(i) } else if sendUDP(to: i) == nil { armTimer() }
        case .serverError(let f):
            lastFailure = f
            if overTCP { stopTCP() }
            if i == current { transmit() }
        case .answer(let a):
            candidateDone(a)
        }
    }

    private func startTCP(_ i: Int) {
        stopTCP()
        current = i
        switch TCPExchange.open(config.nameservers[i], index: i, query: query, request: self) {
        case .failure(let e):
            lastFailure = .transport(e.code)
            transmit()
        case .success(let x):
            tcp = x
            armTimer()
        }
    }

    fileprivate func tcpReply(_ reply: UnsafeRawBufferPointer, from x: TCPExchange) {
        handle(reply, from: x.index, overTCP: true)
    }

    fileprivate func tcpFailed(_ f: DNSFailure) {
        lastFailure = f
        stopTCP()
        transmit()
    }

    private func stopTCP() {
        tcp?.close()
        tcp = nil
    }

    override func stopTransport() {
        abandon()
        if tracked { tracked = false; state.untrack(self) }
    }

    override func abandon() {
        stopTCP()
        for e in udp.values { e.close() }
        udp.removeAll()
        if let t = timer { event_free(t); timer = nil }
    }
}

/// A connected, non-blocking UDP socket to one nameserver, read through a libevent event.
final class UDPEndpoint {
    let fd: Int32
    let index: Int
    unowned let request: RawDNSRequest
    private var event: OpaquePointer?

    private init(fd: Int32, index: Int, request: RawDNSRequest) {
        self.fd = fd
        self.index = index
        self.request = request
    }

    static func open(_ ns: NameServer, index: Int, request: RawDNSRequest) -> Result<UDPEndpoint, SocketError> {
        guard let base = request.state.kernel.base else { return .failure(SocketError(code: EBADF)) }
        let fd: Int32
        switch DNSSocket.open(ns, stream: false) {
        case .failure(let e): return .failure(e)
        case .success(let s): fd = s
        }
        let e = UDPEndpoint(fd: fd, index: index, request: request)
        e.event = event_new(base, fd, Int16(EV_READ | EV_PERSIST), udpReadable, Unmanaged.passUnretained(e).toOpaque())
        event_add(e.event, nil)
        return .success(e)
    }

    private var closed = false

    func close() {
        guard !closed else { return }
        closed = true
        if let ev = event { event_free(ev); event = nil }
        Glibc.close(fd)
    }
}

/// One query over TCP (RFC 1035 4.2.2: two length bytes, then the message), for answers
/// too large for UDP.
final class TCPExchange {
    let fd: Int32
    let index: Int
    unowned let request: RawDNSRequest
    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    private var out: [UInt8]
    private var written = 0
    private var connecting = true
    private var received: [UInt8] = []

    private init(fd: Int32, index: Int, query: [UInt8], request: RawDNSRequest) {
        self.fd = fd
        self.index = index
        self.request = request
        out = [UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query
    }

    static func open(_ ns: NameServer, index: Int, query: [UInt8], request: RawDNSRequest) -> Result<TCPExchange, SocketError> {
        guard let base = request.state.kernel.base else { return .failure(SocketError(code: EBADF)) }
        let fd: Int32
        switch DNSSocket.open(ns, stream: true) {
        case .failure(let e): return .failure(e)
        case .success(let s): fd = s
        }
        let x = TCPExchange(fd: fd, index: index, query: query, request: request)
        let me = Unmanaged.passUnretained(x).toOpaque()
        x.readEvent = event_new(base, fd, Int16(EV_READ | EV_PERSIST), tcpReadable, me)
        x.writeEvent = event_new(base, fd, Int16(EV_WRITE | EV_PERSIST), tcpWritable, me)
        event_add(x.writeEvent, nil)
        event_add(x.readEvent, nil)
        return .success(x)
    }

    fileprivate func writable() {
        if connecting {
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 { return request.tcpFailed(.transport(err)) }
            connecting = false
        }
        while written < out.count {
            let n = out[written...].withUnsafeBytes { DNSSocket.send(fd, $0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                return request.tcpFailed(.transport(errno))
            }
            written += n
        }
        if let w = writeEvent { event_del(w) }
    }

    fileprivate func readable() {
        let buf = request.state.buffer
        while true {
            let n = recv(fd, buf.baseAddress, buf.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                return request.tcpFailed(.transport(errno))
            }
            if n == 0 { return request.tcpFailed(.transport(ECONNRESET)) }
            received += UnsafeRawBufferPointer(start: buf.baseAddress, count: n)
            if received.count >= 2 {
                let len = Int(received[0]) << 8 | Int(received[1])
                if received.count >= 2 + len {
                    let reply = received
                    return reply.withUnsafeBytes { request.tcpReply(UnsafeRawBufferPointer(rebasing: $0[2..<(2 + len)]), from: self) }
                }
            }
        }
    }

    private var closed = false

    func close() {
        guard !closed else { return }
        closed = true
        if let r = readEvent { event_free(r); readEvent = nil }
        if let w = writeEvent { event_free(w); writeEvent = nil }
        Glibc.close(fd)
    }
}

// libevent callbacks: the extended lifetime covers a request that finishes (and drops
// the object whose event fired) inside the call.
private let rawTimerFired: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    let r = Unmanaged<RawDNSRequest>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(r) { r.timerFired() }
}

private let udpReadable: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    let e = Unmanaged<UDPEndpoint>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(e) {
        let r = e.request
        withExtendedLifetime(r) { r.readable(e) }
    }
}

private let tcpReadable: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    let x = Unmanaged<TCPExchange>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(x) {
        let r = x.request
        withExtendedLifetime(r) { x.readable() }
    }
}

private let tcpWritable: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    let x = Unmanaged<TCPExchange>.fromOpaque(arg!).takeUnretainedValue()
    withExtendedLifetime(x) {
        let r = x.request
        withExtendedLifetime(r) { x.writable() }
    }
}
