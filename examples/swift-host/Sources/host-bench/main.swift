// Measures what embedding costs (figures in docs/embedding.md). Run it with
//   swift run -c release host-bench            time per operation
// and under callgrind (instructions) with bench/host_instructions.sh.
import CLua
import Glibc
import RatchetHost

func now() -> Double {
    var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// `x` with `digits` decimals (no Foundation here).
func fmt(_ x: Double, _ digits: Int = 0) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (x * scale).rounded() / scale
    return digits == 0 ? String(Int(r)) : String(r)
}

/// Best of five runs of `body`, in seconds.
func best(_ body: () throws -> Void) rethrows -> Double {
    var b = Double.infinity
    for _ in 0..<5 { let t = now(); try body(); b = min(b, now() - t) }
    return b
}

let only = CommandLine.arguments.dropFirst().first
func wanted(_ name: String) -> Bool { only == nil || only == name }
let loop = "local n = 0 for i = 1, 20000000 do n = n + i % 7 end return n"

if wanted("loop") {
    for (label, configure) in [("no limit", { (_: inout LuaHost.Configuration) in }),
                               ("timeLimit 60 s", { $0.timeLimit = 60 }),
                               ("instructionLimit 1e12", { $0.instructionLimit = 1_000_000_000_000 })] {
        var c = LuaHost.Configuration(); configure(&c)
        let host = try LuaHost(configuration: c)
        let s = try best { try host.run(string: loop) }
        print("loop of 2e7 iterations, \(label): \(fmt(s * 1000, 1)) ms")
    }
}

let calls = 1_000_000
/// A plain lua_CFunction: what the host function is measured against.
let cAdd: lua_CFunction = { L in
    lua_pushinteger(L, lua_tointegerx(L, 1, nil) + lua_tointegerx(L, 2, nil))
    return 1
}
if wanted("call") {
    let host = try LuaHost()
    host.register("add", in: "app") { args in [.integer(try args.integer(at: 0) + args.integer(at: 1))] }
    lua_pushcclosure(host.L, cAdd, 0)
    lua_setglobal(host.L, "c_add")
    func loop(_ f: String) -> String { "local f = \(f) local s = 0 for i = 1, \(calls) do s = f(s, 1) end return s" }
    let base = try best { try host.run(string: loop("function(a, b) return a + b end")) }
    let c = try best { try host.run(string: loop("c_add")) }
    let swift = try best { try host.run(string: loop("app.add")) }
    func ns(_ t: Double) -> String { fmt(t / Double(calls) * 1e9) }
    print("call of f(s, 1) in a Lua loop, per iteration (ns): Lua function \(ns(base)), C function \(ns(c)), Swift sync function \(ns(swift))")
}

if wanted("async") {
    let host = try LuaHost()
    host.register("echo", in: "app") { @Sendable (args: [LuaValue]) async throws -> [LuaValue] in args }
    let n = 20_000
    let s = try best {
        try host.run(string: "ratchet.new(function() for i = 1, \(n) do app.echo(i) end end):loop()")
    }
    print("async round trip (task + eventfd wake-up + resume): \(fmt(s / Double(n) * 1e6, 1)) us")
}

if wanted("table") {
    let host = try LuaHost()
    var t = LuaTable()
    for i in 0..<500 { t[.integer(Int64(i + 1))] = .integer(Int64(i)); t[.string(LuaString("k\(i)"))] = .string(LuaString("v\(i)")) }
    let value = LuaValue.table(t)
    try host.run(string: "function id(t) return t end")
    let rounds = 200
    let s = try best { for _ in 0..<rounds { _ = try host.call("id", [value]) } }
    print("1,000-entry table to Lua and back: \(fmt(s / Double(rounds) * 1e6, 0)) us")
}
