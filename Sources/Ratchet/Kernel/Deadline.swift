import CLua
import Glibc

/// Seconds on CLOCK_MONOTONIC (never jumps with the wall clock).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension Lua {
    /// What is left of `timeout` (negative: none, returned as -1) for a blocking call that
    /// may park several times: a wake-up that did not complete the call must not restart its
    /// timeout. The deadline is kept on the calling thread's stack at `slot`, which must be
    /// the first free index of the call; it is pushed on the first park.
    public func remaining(timeout: Double, slot: Int32) -> Double {
        guard timeout >= 0 else { return -1 }
        let now = monotonicSeconds()
        if top < slot {
            setTop(slot - 1)
            push(now + timeout)
        }
        return max(0, (number(slot) ?? now) - now)
    }
}
