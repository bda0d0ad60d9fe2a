import Glibc
import RatchetHost
import Testing

/// Kernels on several OS threads each wait for signals: libevent gives signals to only one
/// event base at a time, so before the process-wide signal relay most of these waits ran
/// into their timeouts (or a child was never seen to exit).
@Suite("Signals with hosts on several threads")
struct HostSignalTests {
    @Test("six hosts on six threads each wait for their children and for a signal")
    func sixHostsWaitForChildrenAndSignals() throws {
        var done: [Int32] = [0, 0]
        #expect(pipe(&done) == 0)
        defer { close(done[0]); close(done[1]) }
        let doneFD = done[1]
        let join = startThreads(6) { _ in
            defer { var byte: UInt8 = 1; _ = write(doneFD, &byte, 1) }
            do {
                let out = try LuaHost().run(string: """
                    local statuses, slowest, signalled = {}, 0, nil
                    ratchet.new(function()
                        for i = 1, 4 do
                            local start = ratchet.now()
                            local p = ratchet.exec.new({"sleep", "0.0" .. i})
                            p:start()
                            statuses[#statuses + 1] = p:wait(20)
                            slowest = math.max(slowest, ratchet.now() - start)
                        end
                        signalled = ratchet.thread.sigwait(28, 20)   -- SIGWINCH
                    end):loop()
                    return table.concat(statuses, ","), slowest < 5, signalled
                    """)
                return out.map { $0.stringValue ?? ($0.boolValue.map { "\($0)" } ?? "?") }.joined(separator: " ")
            } catch { return "error: \(error)" }
        }
        // SIGWINCH is ignored by default, so sending it before a host waits is harmless.
        var finished = 0, rounds = 0
        while finished < 6 && rounds < 1000 {
            var p = pollfd(fd: done[0], events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 20) > 0 {
                var byte: UInt8 = 0
                if read(done[0], &byte, 1) == 1 { finished += 1 }
            }
            kill(getpid(), SIGWINCH)
            rounds += 1
        }
        for result in join() { #expect(result == "0,0,0,0 true true") }
    }
}
