import Testing
import Glibc
import RatchetHost

/// Set from a Swift task, read by the test.
final class Flag: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var value = false
    init() { pthread_mutex_init(&lock, nil) }
    func set() { pthread_mutex_lock(&lock); value = true; pthread_mutex_unlock(&lock) }
    var isSet: Bool { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return value }
}

@Suite("RatchetHost async functions and runs", .serialized)
struct HostAsyncTests {
    @Test("an async function suspends one thread while another ratchet thread keeps serving TCP")
    func asyncSuspendsOneThread() async throws {
        let host = try LuaHost()
        host.register("slow_double", in: "app") { args in
            try await Task.sleep(nanoseconds: 300_000_000)
            return [.integer(try args.integer(at: 0) * 2)]
        }
        let out = try await host.run(string: """
            local served, result = 0, nil
            ratchet.new(function()
                local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0, "AF_INET")
                local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
                server:bind(rec.addr); server:listen(8)
                local _, port = server:getsockname()
                ratchet.thread.attach(function() result = app.slow_double(21) end)
                ratchet.thread.attach(function()
                    for i = 1, 10 do local c = server:accept(); c:send(c:recv()); c:close() end
                end)
                for i = 1, 10 do
                    local crec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
                    local c = ratchet.socket.new(crec.family, crec.socktype, crec.protocol)
                    c:connect(crec.addr); c:send("x"); if c:recv() == "x" then served = served + 1 end; c:close()
                end
                -- all ten round trips happened while slow_double was still sleeping
                assert(result == nil, "the async call finished first")
            end):loop()
            return served, result
            """)
        #expect(out == [10, 42])
    }

    @Test("an async function's error is raised in the calling thread and is pcall-able")
    func asyncErrors() async throws {
        struct Nope: Error, CustomStringConvertible { var description: String { "nope from a task" } }
        let host = try LuaHost()
        host.register("fails", in: "app") { _ in try await Task.sleep(nanoseconds: 1_000_000); throw Nope() }
        let out = try await host.run(string: """
            local ok, err
            ratchet.new(function() ok, err = pcall(app.fails) end):loop()
            return ok, err
            """)
        #expect(out.first == false)
        #expect(out.last?.stringValue?.contains("nope from a task") == true)
    }

    @Test("outside a ratchet thread an async function raises a clear error")
    func asyncOutsideThread() throws {
        let host = try LuaHost()
        host.register("slow", in: "app") { @Sendable (_: [LuaValue]) async throws -> [LuaValue] in [] }
        do {
            try host.run(string: "app.slow()")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "EPERM")
            #expect(e.message.contains("must be called from inside a ratchet thread"))
        }
    }

    @Test("killing the waiting thread cancels the Swift task")
    func killCancelsTask() async throws {
        let cancelled = Flag()
        let host = try LuaHost()
        host.register("wait_forever", in: "app") { _ in
            do { try await Task.sleep(nanoseconds: 30_000_000_000) } catch { cancelled.set(); throw error }
            return []
        }
        try await host.run(string: """
            ratchet.new(function()
                local t = ratchet.thread.attach(app.wait_forever)
                ratchet.thread.timer(0.05)
                ratchet.thread.kill(t)
            end):loop()
            """)
        for _ in 0..<200 where !cancelled.isSet { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(cancelled.isSet)
    }

    // With the synchronous run, four 1 s scripts hold the pool's threads (two on two cores)
    // and the sleep ends after 2 s; other test suites share the pool, hence the margin.
    @Test("async runs leave the cooperative pool free: a 50 ms sleep finishes before four 1 s scripts")
    func asyncRunsDoNotBlockThePool() async throws {
        let hosts = try (0..<4).map { _ in try LuaHost() }
        var t0 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t0)
        func elapsed() -> Double {
            var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t)
            return Double(t.tv_sec - t0.tv_sec) + Double(t.tv_nsec - t0.tv_nsec) / 1e9
        }
        let sleptAt = try await withThrowingTaskGroup(of: Double?.self) { group in
            for h in hosts {
                group.addTask { _ = try await h.run(string: "ratchet.new(function() ratchet.thread.timer(1) end):loop()"); return nil }
            }
            group.addTask { try await Task.sleep(nanoseconds: 50_000_000); return elapsed() }
            var slept = 0.0
            for try await r in group { if let r { slept = r } }
            return slept
        }
        #expect(sleptAt < 0.9, "the 50 ms sleep ended after \(sleptAt) s")
    }

    @Test("cancelling the awaiting task stops the run with ESTOPPED")
    func cancellationStops() async throws {
        let host = try LuaHost()
        let task = Task { try await host.run(string: "ratchet.new(function() ratchet.thread.timer(30) end):loop()") }
        try await Task.sleep(nanoseconds: 100_000_000)
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ESTOPPED")
        }
    }
}
