import CLua
import Glibc
import RatchetHost

// ratchet-lua [options] [script [args]]: the stock lua5.4 conventions that apply, with
// ratchet preloaded (scripts still `require "ratchet"` as usual).
let usage = """
    usage: ratchet-lua [options] [script [args]]
    Available options are:
      -e stat   execute string 'stat'
      -l mod    require library 'mod' into global 'mod'
      -v        show version information
      --        stop handling options
      -         stop handling options and execute stdin

    """

func fail(_ msg: String) -> Never {
    let line = "ratchet-lua: \(msg)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

let argv = CommandLine.arguments
let host: LuaHost
do { host = try LuaHost(luaPath: LuaHost.defaultLuaPath()) } catch { fail("\(error)") }
// Preloaded means loaded: the global `ratchet` exists before any script runs.
do { try host.run(string: "require 'ratchet'") } catch { fail("\(error)") }
var i = 1
var actions: [(kind: Character, value: String)] = []
var scriptIndex: Int? = nil
var showVersion = false
while i < argv.count {
    let a = argv[i]
    if a == "--" { i += 1; if i < argv.count { scriptIndex = i }; break }
    if a == "-" { scriptIndex = i; break }
    if a == "-v" { showVersion = true; i += 1; continue }
    if a == "-e" || a == "-l" {
        guard i + 1 < argv.count else { fail("'\(a)' needs argument\n\(usage)") }
        actions.append((a == "-e" ? "e" : "l", argv[i + 1]))
        i += 2
        continue
    }
    if a.hasPrefix("-e") { actions.append(("e", String(a.dropFirst(2)))); i += 1; continue }
    if a.hasPrefix("-l") { actions.append(("l", String(a.dropFirst(2)))); i += 1; continue }
    if a.hasPrefix("-") { fail("unrecognized option '\(a)'\n\(usage)") }
    scriptIndex = i
    break
}

// The global `arg`: script at 0, its arguments at 1..n, the runner and options below 0.
let s = scriptIndex ?? 0
var setArg = "arg = {}\nlocal a = {...}\n"
setArg += "for i = 1, #a do arg[i - 1 - \(s)] = a[i] end"
do {
    try host.run(string: setArg, name: "=arg", args: argv)
} catch { fail("\(error)") }

if showVersion {
    do { try host.run(string: "print(_VERSION .. ', ratchet ' .. require('ratchet').version)") } catch { fail("\(error)") }
}
for act in actions {
    do {
        if act.kind == "e" {
            try host.run(string: act.value, name: "=(command line)")
        } else {
            let name = act.value.split(separator: "=", maxSplits: 1).map(String.init)
            let (global, mod) = name.count == 2 ? (name[0], name[1]) : (act.value, act.value)
            try host.run(string: "_G[...] = require(select(2, ...))", name: "=-l", args: [global, mod])
        }
    } catch { fail("\(error)") }
}
if let si = scriptIndex {
    let script = argv[si]
    let args = Array(argv[(si + 1)...])
    do {
        if script == "-" {
            var data = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(0, &buf, buf.count)
                if n <= 0 { break }
                data += buf[0..<n]
            }
            try host.run(string: String(decoding: data, as: UTF8.self), name: "=stdin", args: args)
        } else {
            try host.run(file: script, args: args)
        }
    } catch { fail("\(error)") }
} else if actions.isEmpty && !showVersion {
    _ = usage.withCString { write(2, $0, strlen($0)) }
    exit(1)
}
exit(0)
