import Glibc

/// A Linux timerfd: a timer whose expirations are read from a descriptor, so a thread can
/// wait for it like any other I/O.
final class TimerFD: OwnedDescriptor, LuaHandle {
    static let metatableName: StaticString = "ratchet_timerfd_meta"
    static let shownName: StaticString = "ratchet.timerfd"

    func close(_ lua: Lua) { closeFD(lua) }
}

extension timespec {
    /// Seconds as a timespec; the caller has checked the value is finite. Negative means 0,
    /// and values beyond any real timer are capped so the conversion cannot trap.
    init(seconds: Double) {
        let s = min(max(0, seconds), 1e15)
        let whole = s.rounded(.down)
        self.init(tv_sec: Int(whole), tv_nsec: min(Int((s - whole) * 1e9), 999_999_999))
    }

    var seconds: Double { Double(tv_sec) + Double(tv_nsec) / 1e9 }
}
