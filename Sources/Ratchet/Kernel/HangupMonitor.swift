import CLibEvent
import CLinux
import Glibc

/// Tells a kernel's watchers that their stream socket was reset or hung up (EPOLLERR,
/// EPOLLHUP), which libevent cannot: its epoll backend turns EPOLLERR into a plain
/// EV_READ|EV_WRITE and drops the EPOLLRDHUP beside it, so a reset that arrived together with
/// the last data looks like the data's own read edge. A reader that then read short would
/// park without a recv (IOWatcher.readReady) and wait for an edge that never comes.
///
/// The monitor is a second epoll set, read through one libevent event. A socket joins it
/// (one epoll_ctl per connection, not per message) the first time its reader skips a recv.
/// Its entries ask for nothing but the always-reported EPOLLERR/EPOLLHUP, edge-triggered:
/// the kernel's data and write-space wake-ups carry EPOLLIN/EPOLLOUT keys and never reach
/// it, so the hot path pays nothing. An entry leaves the set when its socket is closed.
final class HangupMonitor {
    private let epfd: Int32
    private var event: OpaquePointer?
    private unowned(unsafe) let kernel: Kernel

    init?(kernel: Kernel) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { return nil }
        epfd = fd
        self.kernel = kernel
        event = event_new(kernel.base, fd, Int16(EV_READ | EV_PERSIST), hangupMonitorFired,
                          Unmanaged.passUnretained(self).toOpaque())
        guard event != nil, event_add(event, nil) == 0 else { close(); return nil }
    }

    /// Starts watching `fd` for a reset or hang-up. False when it cannot be watched.
    func watch(_ fd: Int32) -> Bool {
        var ev = epoll_event()
        ev.events = EPOLLET.rawValue
        ev.data.fd = fd
        return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST
    }

    fileprivate func fired() {
        var evs = (epoll_event(), epoll_event(), epoll_event(), epoll_event(),
                   epoll_event(), epoll_event(), epoll_event(), epoll_event())
        let capacity = 8
        while true {
            let n = withUnsafeMutableBytes(of: &evs) { raw -> Int32 in
                epoll_wait(epfd, raw.baseAddress!.assumingMemoryBound(to: epoll_event.self), Int32(capacity), 0)
            }
            guard n > 0 else { return }
            withUnsafeBytes(of: &evs) { raw in
                let list = raw.bindMemory(to: epoll_event.self)
                // The number may name a newer socket if the old one's file outlived its
                // number (passed to a child): that one then only pays a recv per read.
                for i in 0..<Int(n) { kernel.watchers[list[i].data.fd]?.hungUp() }
            }
            if n < capacity { return }
        }
    }

    /// Frees the event and the epoll set (the kernel is closing).
    func close() {
        if let e = event { event_free(e); event = nil }
        Glibc.close(epfd)
    }
}

private let hangupMonitorFired: @convention(c) (Int32, Int16, UnsafeMutableRawPointer?) -> Void = { _, _, arg in
    Unmanaged<HangupMonitor>.fromOpaque(arg!)._withUnsafeGuaranteedRef { $0.fired() }
}
