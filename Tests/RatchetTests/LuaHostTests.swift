import Testing
import RatchetHost

@Suite("Embedding Lua with ratchet from Swift")
struct LuaHostTests {
    @Test("a string runs with ratchet preloaded and sees its arguments")
    func runsStringWithRatchet() throws {
        let host = LuaHost()
        try host.run(string: """
            local ratchet = require "ratchet"
            local a, b = ...
            assert(a == "x" and b == "y")
            local n = 0
            ratchet.new(function()
                for i = 1, 10 do ratchet.thread.attach(function() ratchet.thread.timer(0); n = n + i end) end
            end):loop()
            assert(n == 55, "threads ran: " .. n)
            """, args: ["x", "y"])
    }

    @Test("a Lua error comes back as a Swift error with its message and traceback")
    func errorsBecomeSwiftErrors() {
        let host = LuaHost()
        do {
            try host.run(string: "error('kaboom')", name: "=chunk")
            Issue.record("no error thrown")
        } catch let e as LuaError {
            #expect(e.message.contains("chunk:1: kaboom"))
            #expect(e.message.contains("stack traceback"))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test("a ratchet error raised out of loop() is rendered through its __tostring")
    func ratchetErrorsAreRendered() {
        let host = LuaHost()
        #expect(throws: LuaError.self) {
            try host.run(string: "local r = require 'ratchet'; r.new(function() r.thread.pause() end):loop()")
        }
        do {
            try host.run(string: "local r = require 'ratchet'; r.new(function() r.thread.pause() end):loop()")
        } catch let e as LuaError {
            #expect(e.message.contains("ratchet.loop_once(): Non-IO deadlock detected."))
        } catch {}
    }

    @Test("syntax errors and missing files are reported, not crashed on")
    func loadErrors() {
        let host = LuaHost()
        #expect(throws: LuaError.self) { try host.run(string: "this is not lua") }
        #expect(throws: LuaError.self) { try host.run(file: "/nonexistent/file.lua") }
    }

    @Test("several hosts live side by side, each with its own kernel state")
    func independentHosts() throws {
        let a = LuaHost(), b = LuaHost()
        try a.run(string: "x = 1")
        try b.run(string: "assert(x == nil)")
        try a.run(string: "assert(x == 1)")
    }

    @Test("a file runs with its arguments")
    func runsFile() throws {
        let path = "/tmp/ratchet-host-test-\(UInt32.random(in: 0...UInt32.max)).lua"
        let src = "local a = ...; assert(a == 'arg1'); assert(require('ratchet').version)"
        let f = fopen(path, "w")!
        fputs(src, f); fclose(f)
        defer { unlink(path) }
        try LuaHost().run(file: path, args: ["arg1"])
    }
}

#if canImport(Glibc)
import Glibc
#endif
