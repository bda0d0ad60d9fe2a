// Measures what embedding costs (figures in docs/embedding.md). Run it with
//   swift run -c release host-bench            time per operation
// and under callgrind (instructions) with bench/host_instructions.sh.
import CBenchFunctions
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
/// A host with the same `add(a, b)` as a Lua function, as plain C functions (unchecked, and
/// checking its arguments with luaL_checkinteger), as a Swift function in the `[LuaValue]`
/// form and one in the direct form; `callLoop(kind, n)` calls one n times.
func callHost() throws -> LuaHost {
    let host = try LuaHost()
    host.register("add", in: "app") { args in [.integer(try args.integer(at: 0) &+ args.integer(at: 1))] }
    host.register("add_direct", in: "app") { args, results in results.append(try args.integer(at: 0) &+ args.integer(at: 1)) }
    host.register("echo", in: "app") { @Sendable (args: [LuaValue]) async throws -> [LuaValue] in args }
    lua_pushcclosure(host.L, bench_c_add, 0)
    lua_setglobal(host.L, "c_add")
    lua_pushcclosure(host.L, bench_c_checked_add, 0)
    lua_setglobal(host.L, "c_checked_add")
    try host.run(string: "lua_add = function(a, b) return a + b end")
    return host
}
let callKinds = [("lua", "lua_add"), ("c", "c_add"), ("c-checked", "c_checked_add"), ("swift", "app.add"), ("direct", "app.add_direct")]
func callLoop(_ host: LuaHost, _ f: String, _ n: Int) throws {
    try host.run(string: "local f = \(f) local s = 0 for i = 1, \(n) do s = f(s, 1) end return s")
}
func asyncLoop(_ host: LuaHost, _ n: Int) throws {
    try host.run(string: "ratchet.new(function() for i = 1, \(n) do app.echo(i) end end):loop()")
}

// One loop, once, for callgrind (bench/host_instructions.sh): `host-bench instr KIND N`,
// KIND one of lua, c, swift, direct, async.
if only == "instr" {
    let args = Array(CommandLine.arguments.dropFirst(2))
    let kind = args.first ?? "direct", n = Int(args.dropFirst().first ?? "100000") ?? 100_000
    let host = try callHost()
    if let f = callKinds.first(where: { $0.0 == kind })?.1 { try callLoop(host, f, n) } else { try asyncLoop(host, n) }
}

if wanted("call") {
    let host = try callHost()
    // Rounds that take each kind in turn, the best of each kept: on a shared machine a burst
    // of load then hits every kind alike instead of one.
    var times = callKinds.map { _ in Double.infinity }
    for _ in 0..<10 {
        for (i, kind) in callKinds.enumerated() {
            let t = now(); try callLoop(host, kind.1, calls); times[i] = min(times[i], now() - t)
        }
    }
    print("call of f(s, 1) in a Lua loop, per iteration (ns): "
          + zip(callKinds, times).map { "\($0.0) \(fmt($1 / Double(calls) * 1e9, 1))" }.joined(separator: ", "))
}

if wanted("async") {
    let host = try callHost()
    let n = 20_000
    let s = try best { try asyncLoop(host, n) }
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
