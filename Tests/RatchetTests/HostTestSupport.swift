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

/// Starts `body(i)` for i in 0..<count, each on its own OS thread; the returned function
/// waits for all of them and gives their results in order.
func startThreads(_ count: Int, _ body: @escaping (Int) -> String) -> () -> [String] {
    final class Job { let index: Int; let body: (Int) -> String; var result = ""
        init(_ i: Int, _ b: @escaping (Int) -> String) { index = i; body = b } }
    let jobs = (0..<count).map { Job($0, body) }
    let threads: [pthread_t] = jobs.map { job in
        var tid = pthread_t()
        pthread_create(&tid, nil, { p in
            let job = Unmanaged<Job>.fromOpaque(p!).takeUnretainedValue()
            job.result = job.body(job.index)
            return nil
        }, Unmanaged.passUnretained(job).toOpaque())
        return tid
    }
    return {
        for t in threads { pthread_join(t, nil) }
        return jobs.map { $0.result }
    }
}
