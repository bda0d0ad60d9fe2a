import CLua
import Glibc
import RatchetHost

// ratchet-lua [options] [script [args]]: lua5.4 with ratchet preloaded (scripts still
// `require "ratchet"` as usual). It accepts what lua5.4 accepts with the same meaning and
// runs the steps in lua.c's order: -v, LUA_INIT, -e/-l/-W in order, the script, then the
// prompt (-i, or no script, no -e, no -v and a terminal on stdin) or, with no script
// and stdin not a terminal, stdin as the script.

func fail(_ msg: String) -> Never {
    fputs("ratchet-lua: \(msg)\n", stderr)
    exit(1)
}

// -w N (a supervisor of worker processes: Workers/), --drain-timeout S, a worker's channel.
WorkerOptions.start()
let argv = CommandLine.arguments
let options: RunnerOptions
do {
    options = try RunnerOptions.parse(argv)
} catch {
    let message = (error as? RunnerOptions.Refusal)?.message ?? "\(error)"
    fail("\(message)\n\(RunnerOptions.usage(program: "ratchet-lua"))")
}
if options.help {
    fputs(RunnerOptions.usage(program: "ratchet-lua"), stdout)
    exit(0)
}
if options.showVersion { fputs(VersionText.text, stdout); fflush(stdout) }

let host = LuaHost(ignoreEnvironment: options.ignoreEnvironment)
func run(_ step: () throws -> Void) {
    do { try step() } catch { fail("\(error)") }
}
// Preloaded means loaded: the global `ratchet` exists before any script runs.
run { try host.run(string: "require 'ratchet'") }

// The global `arg`: script at 0, its arguments at 1..n, the runner and options below 0.
let s = options.scriptIndex ?? 0
run { try host.run(string: "arg = {}\nlocal a = {...}\nfor i = 1, #a do arg[i - 1 - \(s)] = a[i] end",
                   name: "=arg", args: argv) }

// LUA_INIT_5_4, else LUA_INIT: "@file" runs the file, anything else is a chunk.
if !options.ignoreEnvironment {
    for name in ["LUA_INIT_5_4", "LUA_INIT"] {
        guard let value = getenv(name).map({ String(cString: $0) }) else { continue }
        if value.hasPrefix("@") {
            run { try host.run(file: String(value.dropFirst())) }
        } else {
            run { try host.run(string: value, name: "=" + name) }
        }
        break
    }
}

for step in options.steps {
    switch step {
    case .execute(let chunk):
        run { try host.run(string: chunk, name: "=(command line)") }
    case .require(let spec):
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        let (global, module) = parts.count == 2 ? (parts[0], parts[1]) : (spec, spec)
        run { try host.run(string: "_G[...] = require(select(2, ...))", name: "=-l", args: [global, module]) }
    case .warningsOn:
        run { try host.run(string: "warn('@on')", name: "=-W") }
    }
}

if let si = options.scriptIndex {
    let args = Array(argv[(si + 1)...])
    if options.scriptIsStdin {
        run { try host.runStandardInput(args: args) }
    } else {
        run { try host.run(file: argv[si], args: args) }
    }
}

if options.interactive {
    InteractivePrompt.run(host)
} else if options.scriptIndex == nil && !options.executes && !options.showVersion {
    if isatty(0) != 0 {
        fputs(VersionText.text, stdout)
        InteractivePrompt.run(host)
    } else {
        run { try host.runStandardInput() }
    }
}
host.close()   // as lua5.4 does: finalizers run (queued ZeroMQ messages go out)
exit(0)
