import Glibc
import RatchetHost

/// Calls `host.stop()` from another OS thread after `microseconds`; the returned function
/// waits for that thread (call it when the run has ended).
func stopLater(_ host: LuaHost, after microseconds: UInt32) -> () -> Void {
    final class Job { let host: LuaHost; let delay: UInt32; init(_ h: LuaHost, _ d: UInt32) { host = h; delay = d } }
    let box = Unmanaged.passRetained(Job(host, microseconds)).toOpaque()
    var tid = pthread_t()
    pthread_create(&tid, nil, { p in
        let job = Unmanaged<Job>.fromOpaque(p!).takeUnretainedValue()
        usleep(job.delay)
        job.host.stop()
        return nil
    }, box)
    return {
        pthread_join(tid, nil)
        Unmanaged<Job>.fromOpaque(box).release()
    }
}
