import Glibc

/// A descriptor that a handle owns, with the IOWatcher its threads wait on it with. Closing
/// releases the watcher first, while the number is still this handle's, so the event is
/// removed from epoll and waiting threads wake (docs/architecture.md). Base class of the
/// handles that own one plain descriptor (timerfd, a child's pipe ends).
class OwnedDescriptor {
    /// −1 once closed.
    @exclusivity(unchecked) private(set) var fd: Int32
    @exclusivity(unchecked) var watcher: IOWatcher?

    init(fd: Int32) { self.fd = fd }

    var isClosed: Bool { fd < 0 }

    /// Returns false when it was already closed. With `lua`, a watcher that a block_on on
    /// this descriptor left in the running kernel is released too.
    @discardableResult func closeFD(_ lua: Lua? = nil) -> Bool {
        guard fd >= 0 else { return false }
        Kernel.forgetDescriptor(fd, watcher: &watcher, lua: lua)
        Glibc.close(fd)
        fd = -1
        return true
    }

    deinit { closeFD() }
}
