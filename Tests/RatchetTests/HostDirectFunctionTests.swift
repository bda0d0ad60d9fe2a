import Testing
import RatchetHost

@Suite("RatchetHost direct-form functions (arguments read from the stack, results pushed onto it)")
struct HostDirectFunctionTests {
    func host() throws -> LuaHost {
        let host = try LuaHost()
        host.register("add", in: "app") { args, results in
            results.append(try args.integer(at: 0) &+ args.integer(at: 1))
        }
        host.register("scale", in: "app") { args, results in
            results.append(try args.number(at: 0) * args.number(at: 1))
        }
        host.register("count", in: "app") { args, results in results.append(args.count) }
        return host
    }

    @Test("a direct-form function is callable as module.name and through require, and wraps like Lua integers")
    func callable() throws {
        let host = try host()
        #expect(try host.run(string: "return app.add(1, 2), require('app').add(40, 2), app.add(math.maxinteger, 1)")
                == [3, 42, .integer(.min)])
        #expect(try host.run(string: "return app.scale(1.5, 2), math.type(app.scale(2, 2))") == [3.0, "float"])
    }

    @Test("arguments convert as in Lua's own functions: integral floats and numeral strings count, zero is a value")
    func conversions() throws {
        let host = try host()
        #expect(try host.run(string: "return app.add(2.0, '40'), app.add(0, 0), app.add(-1, 1), app.scale(0, 5), app.scale('0.5', 4)")
                == [42, 0, 0, 0.0, 2.0])
        #expect(try host.run(string: "return app.count(), app.count(nil), app.count(1, nil, nil)") == [0, 1, 3])
    }

    @Test("wrong arguments give Lua's wording, with 'no value' for a missing one")
    func argumentErrors() throws {
        let host = try host()
        let out = try host.run(string: """
            local function err(f) local ok, e = pcall(f) return (e:gsub("^t:%d+: ", "")) end
            return err(function() return app.add(1, "x") end), err(function() return app.add(1.5, 1) end),
                   err(function() return app.add(1) end), err(function() return app.add({}, 1) end),
                   err(function() return app.scale(1, true) end), err(function() return app.add("1.5", 1) end)
            """, name: "=t")
        #expect(out == ["bad argument #2 to 'add' (integer expected, got string)",
                        "bad argument #1 to 'add' (number has no integer representation)",
                        "bad argument #2 to 'add' (integer expected, got no value)",
                        "bad argument #1 to 'add' (integer expected, got table)",
                        "bad argument #2 to 'scale' (number expected, got boolean)",
                        "bad argument #1 to 'add' (number has no integer representation)"])
    }

    @Test("every kind of result can be appended; strings keep their bytes")
    func results() throws {
        let host = try LuaHost()
        host.register("all", in: "app") { args, results in
            results.appendNil()
            results.append(true)
            results.append(Int64(7))
            results.append(0.5)
            results.append("héllo")
            [UInt8]([0, 1, 0, 255]).withUnsafeBytes { results.append(bytes: $0) }
            try results.append(["k": [1, 2]])
            try results.append(args.value(at: 0))
            let joined = try args.string(at: 1) + args.withBytes(at: 1) { String($0.count) }
            results.append(joined)
            #expect(results.count == 9)
        }
        let out = try host.run(string: """
            local f = function() end
            local r = table.pack(app.all(f, 12))
            return r.n, r[1], r[2], r[3], r[4], r[5], r[6], r[7].k[2], r[8] == f, r[9]
            """)
        #expect(out == [9, nil, true, 7, 0.5, "héllo", LuaValue(bytes: [0, 1, 0, 255]), 2, true, "122"])
    }

    @Test("results past the 20 free stack slots a C function gets are pushed after growing the stack")
    func manyResults() throws {
        let host = try LuaHost()
        host.register("range", in: "app") { args, results in
            for i in 1...(try args.integer(at: 0)) { results.append(i) }
        }
        #expect(try host.run(string: "local t = table.pack(app.range(5000)) return t.n, t[1], t[20], t[21], t[5000]")
                == [5000, 1, 20, 21, 5000])
        // More than a Lua stack holds: a Lua error, and the host carries on.
        let out = try host.run(string: "return pcall(app.range, 2000000)")
        #expect(out.first == false)
        #expect(out.last?.stringValue?.contains("too many results") == true)
        #expect(try host.run(string: "return select('#', app.range(3))") == [3])
    }

    @Test("a thrown error drops the results appended before it and is caught by pcall")
    func errorsDropResults() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by Swift" } }
        let host = try LuaHost()
        host.register("half", in: "app") { _, results in
            results.append(1)
            results.append(2)
            throw Refused()
        }
        let out = try host.run(string: "local a, b, c = pcall(function() return app.half() end) return a, b, c", name: "=t")
        #expect(out == [false, "t:1: refused by Swift", nil])
        do {
            try host.run(string: "app.half()", name: "=t")
            Issue.record("no error")
        } catch let e as LuaError {
            #expect(e.message == "t:1: refused by Swift")
        }
    }

    @Test("the [LuaValue] form's helpers report a missing argument as 'no value' and never trap on a bad index")
    func arrayHelpers() throws {
        let host = try LuaHost()
        host.register("pick", in: "app") { args in [.integer(try args.integer(at: -1))] }
        host.register("second", in: "app") { args in [.integer(try args.integer(at: 1))] }
        let out = try host.run(string: """
            return select(2, pcall(function() return app.pick(1) end)), select(2, pcall(function() return app.second(1) end))
            """, name: "=t")
        #expect(out == ["t:1: bad argument #0 to 'pick' (integer expected, got no value)",
                        "t:1: bad argument #2 to 'second' (integer expected, got no value)"])
    }
}
