import Testing
import RatchetHost
import Glibc

@Suite("Embedding Lua with ratchet from Swift")
struct LuaHostTests {
    @Test("a string runs with ratchet preloaded and sees its arguments")
    func runsStringWithRatchet() throws {
        let host = try LuaHost()
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
    func errorsBecomeSwiftErrors() throws {
        let host = try LuaHost()
        do {
            try host.run(string: "error('kaboom')", name: "=chunk")
            Issue.record("no error thrown")
        } catch let e as LuaError {
            #expect(e.message.contains("chunk:1: kaboom"))
            #expect(e.description.contains("stack traceback"))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    @Test("a ratchet error raised out of loop() is rendered through its __tostring")
    func ratchetErrorsAreRendered() throws {
        let host = try LuaHost()
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
    func loadErrors() throws {
        let host = try LuaHost()
        #expect(throws: LuaError.self) { try host.run(string: "this is not lua") }
        #expect(throws: LuaError.self) { try host.run(file: "/nonexistent/file.lua") }
    }

    @Test("several hosts live side by side, each with its own kernel state")
    func independentHosts() throws {
        let a = try LuaHost(), b = try LuaHost()
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

@Suite("A host finds its own Lua modules")
struct BundledModuleTests {
    @Test("the bundled modules load with an empty package.path, and the global ratchet is set")
    func bundledModulesNeedNoPath() throws {
        let host = try LuaHost()
        try host.run(string: """
            assert(ratchet == require "ratchet", "global ratchet")
            package.path, package.cpath = "", ""
            for _, name in ipairs{"ratchet.socketpad", "ratchet.http.server", "ratchet.smtp.client", "ratchet.bus"} do
                assert(require(name), name)
            end
            local _, where = package.searchers[2]("ratchet.http.server")
            assert(where == ":bundled:LuaLib/ratchet/http/server.lua", where)
            """)
    }

    @Test("the bundled module wins over a same-named file on package.path")
    func bundledModuleWinsOverPath() throws {
        let dir = "/tmp/ratchet-host-shadow-\(getpid())"
        mkdir(dir, 0o700); mkdir(dir + "/ratchet", 0o700)
        defer { unlink(dir + "/ratchet/socketpad.lua"); rmdir(dir + "/ratchet"); rmdir(dir) }
        let f = fopen(dir + "/ratchet/socketpad.lua", "w"); fputs("return 'stale copy'", f); fclose(f)
        let host = try LuaHost(luaPath: [dir])
        try host.run(string: "assert(type(require 'ratchet.socketpad') == 'table')")
    }
}
