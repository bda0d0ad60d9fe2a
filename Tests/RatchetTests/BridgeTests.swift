import Testing
import RatchetHost

/// The bridge's promise: no value from Lua can trap the process; bad input is a Lua error.
@Suite("Bridge safety against bad Lua values")
struct BridgeTests {
    func expectLuaError(_ src: String, contains needle: String) {
        do {
            try LuaHost().run(string: src)
            Issue.record("expected an error for: \(src)")
        } catch let e as LuaError {
            #expect(e.message.contains(needle), "\(e.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("non-finite and wrongly typed times are argument errors inside a thread")
    func badTimes() {
        for v in ["0/0", "'x'", "{}", "nil"] {
            expectLuaError("local r = require 'ratchet'; r.new(function() r.thread.timer(\(v)) end):loop()",
                           contains: "bad argument #1")
        }
    }

    @Test("huge and infinite times do not trap")
    func hugeTimes() throws {
        try LuaHost().run(string: """
            local r = require 'ratchet'
            r.new(function()
                local t = r.thread.attach(function() r.thread.timer(math.huge) end)
                local u = r.thread.attach(function() r.thread.alarm(1e300) ; r.thread.timer(0) end)
                r.thread.timer(0)
                r.thread.kill(t)
            end):loop()
            """)
    }

    @Test("methods called on the wrong object say what they expected")
    func wrongSelf() {
        expectLuaError("local r = require 'ratchet'; local k = r.new(); k.loop('x')", contains: "ratchet kernel expected")
        expectLuaError("local r = require 'ratchet'; r.new(42)", contains: "function expected, got number")
    }

    @Test("ratchet.error.new validates its description")
    func errorNew() {
        expectLuaError("require('ratchet').error.new({})", contains: "bad argument #1")
    }
}
