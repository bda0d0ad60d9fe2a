import Glibc

/// Children whose objects were collected before they exited. Each is waited for (without
/// blocking) whenever a process starts, is waited for or is collected, so none stays a
/// zombie for longer than the next such call. Lua states on other OS threads share it.
enum Reaper {
    nonisolated(unsafe) private static var orphans: [pid_t] = []
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    static func adopt(_ pid: pid_t) {
        pthread_mutex_lock(lock)
        orphans.append(pid)
        pthread_mutex_unlock(lock)
    }

    static func reap() {
        pthread_mutex_lock(lock)
        if !orphans.isEmpty {
            orphans.removeAll { waitpid($0, nil, WNOHANG) != 0 }
        }
        pthread_mutex_unlock(lock)
    }
}
