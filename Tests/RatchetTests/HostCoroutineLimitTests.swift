import Testing
import Glibc
import RatchetHost

/// The limits reach every coroutine a script runs: a Lua hook is per coroutine, and a plain
/// coroutine (coroutine.wrap/resume) run inside a ratchet thread used to escape the time
/// limit's watchdog and stop().
@Suite("RatchetHost limits in plain coroutines")
struct HostCoroutineLimitTests {
    static let runaways = [
        "coroutine.wrap(function() while true do end end)()",
        "ratchet.new(function() ratchet.thread.attach(function() coroutine.wrap(function() while true do end end)() end) end):loop()",
        // The error comes back to the resumer as a value; the resumer must stop too.
        "ratchet.new(function() local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end end):loop()",
        "ratchet.new(function() coroutine.wrap(function() coroutine.wrap(function() while true do pcall(function() while true do end end) end end)() end)() end):loop()",
        // A __close handler run by coroutine.close runs in the coroutine.
        """
        local co = coroutine.create(function()
            local x <close> = setmetatable({}, {__close = function() while true do end end})
            coroutine.yield()
        end)
        coroutine.resume(co)
        coroutine.close(co)
        """,
    ]

    func expectStopped(_ host: LuaHost, _ script: String, code: String, message: String) {
        var t0 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t0)
        do {
            try host.run(string: script)
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == code)
            #expect(e.message.contains(message), "\(e.message)")
        } catch {
            Issue.record("\(error)")
        }
        var t1 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t1)
        #expect(Double(t1.tv_sec - t0.tv_sec) < 10)
        #expect((try? host.run(string: "local n = 0 for i = 1, 1000 do n = n + i end return n")) == [500500])
    }

    @Test("the time limit stops an endless loop in a plain coroutine, also one inside a ratchet thread", arguments: runaways)
    func timeLimit(script: String) throws {
        var c = LuaHost.Configuration()
        c.timeLimit = 0.2
        expectStopped(try LuaHost(configuration: c), script, code: "ELIMIT", message: "time limit exceeded")
    }

    @Test("the instruction limit stops an endless loop in a plain coroutine, also one inside a ratchet thread", arguments: runaways)
    func instructionLimit(script: String) throws {
        var c = LuaHost.Configuration()
        c.instructionLimit = 1_000_000
        expectStopped(try LuaHost(configuration: c), script, code: "ELIMIT", message: "instruction limit exceeded")
    }

    @Test("stop() reaches a loop in a plain coroutine inside a ratchet thread")
    func stop() throws {
        let host = try LuaHost()
        let joinStopper = stopLater(host, after: 100_000)
        defer { joinStopper() }
        expectStopped(host, Self.runaways[1], code: "ESTOPPED", message: "stopped by the host")
    }

    @Test("coroutine.resume, wrap and close behave as stock Lua 5.4's (results, errors, positions, to-be-closed variables)")
    func stockBehaviour() throws {
        var c = LuaHost.Configuration()
        c.timeLimit = 60
        for host in [try LuaHost(), try LuaHost(configuration: c)] {
            let out = try host.run(string: source, name: "=co")
            #expect(out == [LuaValue(expected)])
        }
    }

    // Its output under stock lua5.4: lua5.4 -e 'print(load(io.read("a"), "=co")())'
    let source = """
        local out = {}
        local function add(...) local t = table.pack(...) for i = 1, t.n do out[#out + 1] = type(t[i]) == "table" and "table" or tostring(t[i]) end out[#out + 1] = "|" end
        local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) error("boom " .. c) end)
        add(coroutine.resume(co, 1, 2))
        add(coroutine.resume(co, "x"))
        add(coroutine.resume(co))
        add(coroutine.status(co))
        add(pcall(coroutine.resume, nil))
        add(pcall(coroutine.resume))
        local w = coroutine.wrap(function(...) local x = coroutine.yield(select('#', ...)) error("wrapped " .. x) end)
        add(w(1, nil, 3))
        add(pcall(w, "y"))
        add(pcall(w))
        add(pcall(coroutine.wrap, 42))
        add(pcall(coroutine.wrap(function() error({}) end)))
        add(select(2, pcall(function() coroutine.wrap(function() error("at") end)() end)))
        local closed = {}
        local c2 = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() closed[#closed + 1] = "closed" end}) coroutine.yield() end)
        coroutine.resume(c2)
        add(coroutine.close(c2), closed[1], coroutine.status(c2))
        local c3 = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() error("in close") end}) coroutine.yield() end)
        coroutine.resume(c3)
        add(coroutine.close(c3))
        add(pcall(coroutine.close, coroutine.running()))
        add(select(2, pcall(function() local me; me = coroutine.wrap(function() return coroutine.close(outer) end) outer = coroutine.running() return coroutine.wrap(function() outer2 = coroutine.running(); return coroutine.close(coroutine.running()) end)() end)))
        add(coroutine.close(coroutine.create(print)))
        add(coroutine.isyieldable(), coroutine.running() ~= nil)
        local w2 = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
        add(w2(), w2(), w2(), w2())
        add(pcall(w2))
        return table.concat(out, " ")
        """
    let expected = "true 3 | false co:3: boom x | false cannot resume dead coroutine | dead | false bad argument #1 to 'coroutine.resume' (thread expected, got nil) | false bad argument #1 to 'coroutine.resume' (thread expected, got no value) | 3 | false co:10: wrapped y | false cannot resume dead coroutine | false bad argument #1 to 'coroutine.wrap' (function expected, got number) | false table | co:16: co:16: at | true closed dead | false co:21: in close | false cannot close a running coroutine | co:25: co:25: cannot close a running coroutine | true | false true | 1 2 3 | false cannot resume dead coroutine |"
}
