import Testing
import Glibc
import RatchetHost

@Suite("RatchetHost values, functions and calls")
struct HostValueTests {
    @Test("LuaValue round-trips every type through Lua: deep tables, binary strings, integers vs floats, NaN")
    func valuesRoundTrip() throws {
        let host = try LuaHost()
        try host.run(string: "function echo(...) return ... end")
        var deep: LuaValue = "bottom"
        for i in 0..<50 { deep = ["level": .integer(Int64(i)), "next": deep] }
        let values: [LuaValue] = [nil, true, false, 42, -7, .integer(.max), .integer(.min), 1.5, 2.0, -0.25,
                                  LuaValue(bytes: [0, 1, 255, 0, 10]), "héllo", [1, 2, 3], ["a": 1, "b": [true, "x"]], deep]
        for v in values {
            let out = try host.call("echo", [v])
            #expect(out == [v], "round trip of \(v)")
        }
        // 2.0 stays a float, 2 an integer.
        #expect(try host.call("echo", [2.0]) == [.number(2.0)])
        #expect(try host.run(string: "return math.type(...)", args: [2.0]) == ["float"])
        #expect(try host.run(string: "return math.type(...)", args: [2]) == ["integer"])
        let nan = try host.run(string: "return 0/0")
        guard case let .number(d)? = nan.first else { Issue.record("not a number"); return }
        #expect(d.isNaN)
        #expect(try host.run(string: "return #select(1, ...), select(1, ...):byte(3)", args: [LuaValue(bytes: [65, 0, 66])]) == [3, 66])
    }

    @Test("functions, userdata and threads come back as references that can be passed in again")
    func references() throws {
        let host = try LuaHost()
        let out = try host.run(string: "return function(x) return x * 2 end, coroutine.create(print), io.stdout")
        #expect(out.map(\.typeName) == ["function", "thread", "userdata"])
        #expect(try host.call(out[0], [21]) == [42])
        #expect(try host.run(string: "local f, co = ...; return f(4), type(co)", args: [out[0], out[1]]) == [8, "thread"])
        let other = try LuaHost()
        #expect(throws: (any Error).self) { try other.call(out[0], [1]) }
    }

    @Test("a table that contains itself is refused, not looped on")
    func cycles() throws {
        let host = try LuaHost()
        #expect(throws: (any Error).self) { try host.run(string: "local t = {}; t.self = t; return t") }
        try host.run(string: "x = 1")  // the host carries on
    }

    @Test("globals get and set, call passes arguments and returns results")
    func globalsAndCall() throws {
        let host = try LuaHost()
        host.globals["limit"] = 10
        #expect(host.globals["limit"] == 10)
        try host.run(string: "function greet(who) return 'hello ' .. who, limit end")
        #expect(try host.call("greet", ["world"]) == ["hello world", 10])
        #expect(host.globals["nothing"] == nil)
        #expect(throws: LuaError.self) { try host.call("missing") }
    }

    @Test("run(file:args:) passes ... and arg")
    func runFile() throws {
        let path = "/tmp/ratchet-host-args-\(getpid()).lua"
        let f = fopen(path, "w"); fputs("return arg[0], arg[1], select('#', ...), ...", f); fclose(f)
        defer { unlink(path) }
        let host = try LuaHost()
        #expect(try host.run(file: path, args: ["a", "b"]) == [LuaValue(path), "a", 2, "a", "b"])
    }

    @Test("a Swift function is callable as module.name and through require")
    func registerSync() throws {
        let host = try LuaHost()
        host.register("add", in: "app") { args in [.integer(try args.integer(at: 0) + args.integer(at: 1))] }
        #expect(try host.run(string: "return app.add(1, 2), require('app').add(40, 2)") == [3, 42])
    }

    @Test("a Swift error thrown inside a pcall'd call is caught in Lua with its description")
    func swiftErrorsArePcallable() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by Swift" } }
        let host = try LuaHost()
        host.register("fail", in: "app") { _ in throw Refused() }
        host.register("add", in: "app") { args in [.integer(try args.integer(at: 0) + args.integer(at: 1))] }
        let out = try host.run(string: """
            local ok, err = pcall(app.fail)
            local ok2, err2 = pcall(function() return app.add(1, "x") end)
            return ok, err, ok2, err2
            """, name: "=t")
        #expect(out[0] == false)
        #expect(out[1].stringValue?.contains("refused by Swift") == true)
        #expect(out[2] == false)
        #expect(out[3] == "t:2: bad argument #2 to 'add' (integer expected, got string)")
        // An uncaught one reaches Swift as a LuaError with a traceback.
        do {
            try host.run(string: "app.fail()", name: "=t")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.message.contains("refused by Swift"))
            #expect(e.traceback.contains("stack traceback"))
        }
    }

    @Test("error reporting does not depend on globals a script can remove")
    func errorsWithoutDebug() throws {
        let host = try LuaHost()
        do {
            try host.run(string: "debug = nil; tostring = nil; error({code = 'X'})")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.message.contains("table"))
            #expect(e.code == "X")
        }
        do {
            try host.run(string: "debug = nil; error('plain')", name: "=c")
        } catch let e as LuaError {
            #expect(e.message == "c:1: plain")
            #expect(e.traceback.contains("stack traceback"))
        }
    }

    @Test("a ratchet error's code reaches LuaError.code")
    func ratchetErrorCode() throws {
        let host = try LuaHost()
        do {
            try host.run(string: "ratchet.new(function() ratchet.thread.pause() end):loop()")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "DEADLOCK")
        }
    }
}

@Suite("RatchetHost limits and sandbox")
struct HostLimitTests {
    @Test("the memory limit stops a hostile script and the same host then runs a good one")
    func memoryLimit() throws {
        var c = LuaHost.Configuration()
        c.memoryLimit = 8 << 20
        let host = try LuaHost(configuration: c)
        do {
            try host.run(string: "local t = {}; for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ENOMEM")
            #expect(e.message.contains("not enough memory"))
        }
        try host.run(string: "collectgarbage()")
        #expect(try host.run(string: "return #('y'):rep(1000)") == [1000])
    }

    @Test("the memory limit also holds inside ratchet threads")
    func memoryLimitInThreads() throws {
        var c = LuaHost.Configuration()
        c.memoryLimit = 8 << 20
        let host = try LuaHost(configuration: c)
        #expect(throws: LuaError.self) {
            try host.run(string: """
                ratchet.new(function()
                    ratchet.thread.attach(function() local t = {} for i = 1, 1e9 do t[i] = {i} end end)
                end):loop()
                """)
        }
        #expect(try host.run(string: "return 1 + 1") == [2])
    }

    @Test("the instruction limit stops an endless loop in any ratchet thread; the host runs the next script")
    func instructionLimit() throws {
        var c = LuaHost.Configuration()
        c.instructionLimit = 1_000_000
        let host = try LuaHost(configuration: c)
        do {
            try host.run(string: "while true do end")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ELIMIT")
            #expect(e.message.contains("instruction limit exceeded"))
        }
        do {
            try host.run(string: """
                ratchet.new(function()
                    ratchet.thread.attach(function() while true do end end)
                end):loop()
                """)
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ELIMIT")
        }
        #expect(try host.run(string: "local n = 0 for i = 1, 1000 do n = n + i end return n") == [500500])
    }

    @Test("the time limit stops a busy ratchet thread, the main state and an idle kernel")
    func timeLimit() throws {
        var c = LuaHost.Configuration()
        c.timeLimit = 0.2
        let host = try LuaHost(configuration: c)
        var t0 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t0)
        do {
            try host.run(string: "while true do end")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ELIMIT")
            #expect(e.message.contains("time limit exceeded"))
        }
        do {
            try host.run(string: """
                ratchet.new(function()
                    ratchet.thread.attach(function() ratchet.thread.timer(0.01); while true do end end)
                end):loop()
                """)
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ELIMIT")
        }
        do {
            try host.run(string: "ratchet.new(function() ratchet.thread.timer(30) end):loop()")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ELIMIT")  // an idle kernel is woken at the deadline
        }
        var t1 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t1)
        #expect(Double(t1.tv_sec - t0.tv_sec) < 5)
        #expect(try host.run(string: "return 'next'") == ["next"])
    }

    @Test("stop() from another thread ends a busy run, and a kernel idle in its poll, with ESTOPPED",
          arguments: ["while true do end", "ratchet.new(function() ratchet.thread.timer(30) end):loop()"])
    func stopFromAnotherThread(script: String) throws {
        let host = try LuaHost()
        let joinStopper = stopLater(host, after: 100_000)
        defer { joinStopper() }
        do {
            try host.run(string: script)
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.code == "ESTOPPED")
        }
        #expect(try host.run(string: "return 'again'") == ["again"])
    }

    @Test(".sandboxed has no io, os.execute, debug, exec, or require of a file from disk")
    func sandbox() throws {
        let dir = "/tmp/ratchet-sandbox-\(getpid())"
        mkdir(dir, 0o700)
        let f = fopen(dir + "/evil.lua", "w"); fputs("return 'loaded from disk'", f); fclose(f)
        defer { unlink(dir + "/evil.lua"); rmdir(dir) }
        var c = LuaHost.Configuration()
        c.libraries = .sandboxed
        c.luaPath = [dir]
        let host = try LuaHost(configuration: c)
        let out = try host.run(string: """
            package.path = ... .. '/?.lua'
            return io == nil, os.execute == nil, debug == nil, dofile == nil, loadfile == nil,
                   ratchet.exec == nil, pcall(require, 'ratchet.exec') == false,
                   pcall(require, 'evil') == false, type(os.time()), type(ratchet.socket),
                   type(require 'ratchet.http.server'), load(string.dump(function() end)) == nil
            """, args: [LuaValue(dir)])
        #expect(out == [true, true, true, true, true, true, true, true, "number", "table", "table", true])
        var only = LuaHost.Configuration()
        only.libraries = .sandboxed(with: [.timerfd, .exec])
        let h2 = try LuaHost(configuration: only)
        #expect(try h2.run(string: "return ratchet.socket == nil, ratchet.exec == nil, type(ratchet.timerfd)") == [true, true, "table"])
    }
}

@Suite("Many hosts at once")
struct ManyHostTests {
    @Test("eight hosts on eight threads each run a kernel with sockets at once")
    func eightHostsEightThreads() throws {
        let join = startThreads(8) { _ in
            do {
                let host = try LuaHost()
                host.register("tag", in: "app") { args in [.string(LuaString("ok:" + (try args.string(at: 0))))] }
                let out = try host.run(string: """
                    local got = {}
                    ratchet.new(function()
                        local rec = ratchet.socket.prepare_tcp("127.0.0.1", 0, "AF_INET")
                        local server = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
                        server:bind(rec.addr); server:listen(8)
                        local _, port = server:getsockname()
                        ratchet.thread.attach(function()
                            for i = 1, 20 do
                                local c = server:accept(); c:send(c:recv()); c:close()
                            end
                        end)
                        for i = 1, 20 do
                            local crec = ratchet.socket.prepare_tcp("127.0.0.1", port, "AF_INET")
                            local c = ratchet.socket.new(crec.family, crec.socktype, crec.protocol)
                            c:connect(crec.addr); c:send("m" .. i); got[#got + 1] = c:recv(); c:close()
                        end
                    end):loop()
                    return app.tag(tostring(#got)), got[20]
                    """)
                return out.map { $0.stringValue ?? "?" }.joined(separator: ",")
            } catch { return "error: \(error)" }
        }
        for result in join() { #expect(result == "ok:20,m20") }
    }
}

@Suite("LuaEncoder and LuaDecoder")
struct LuaCodableTests {
    struct Order: Codable, Equatable {
        var id: Int
        var customer: String
        var total: Double
        var paid: Bool
        var lines: [Line]
        var note: String?
        var attrs: [String: Int]
    }
    struct Line: Codable, Equatable { var sku: String; var qty: UInt8 }

    @Test("a Codable struct becomes a table with string keys and arrays become sequences, and back")
    func roundTrip() throws {
        let order = Order(id: 7, customer: "ada", total: 12.5, paid: true,
                          lines: [Line(sku: "tea", qty: 2), Line(sku: "cake", qty: 1)], note: nil, attrs: ["x": 1])
        let v = try LuaEncoder().encode(order)
        #expect(v["customer"] == "ada")
        #expect(v["id"] == .integer(7))
        #expect(v["lines"][1]["sku"] == "tea")
        #expect(v["note"] == .nil)
        #expect(try LuaDecoder().decode(Order.self, from: v) == order)
        // Through Lua and back: Lua code sees ordinary tables.
        let host = try LuaHost()
        let out = try host.run(string: "local o = ... o.lines[3] = {sku = 'jam', qty = 4} o.note = 'from Lua' return o", args: [v])
        let back = try LuaDecoder().decode(Order.self, from: out[0])
        #expect(back.lines.count == 3 && back.lines[2] == Line(sku: "jam", qty: 4) && back.note == "from Lua")
    }

    @Test("decoding checks types and ranges instead of converting silently")
    func strictDecoding() throws {
        #expect(throws: DecodingError.self) { try LuaDecoder().decode(Line.self, from: ["sku": "x", "qty": 300]) }
        #expect(throws: DecodingError.self) { try LuaDecoder().decode(Line.self, from: ["sku": 1, "qty": 1]) }
        #expect(throws: DecodingError.self) { try LuaDecoder().decode(Line.self, from: ["qty": 1]) }
        #expect(try LuaDecoder().decode(Int.self, from: 3.0) == 3)
        #expect(throws: DecodingError.self) { try LuaDecoder().decode(Int.self, from: 3.5) }
    }
}
