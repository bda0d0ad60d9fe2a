/// The command line of ratchet-lua, read as lua5.4 reads its own (lua.c's collectargs:
/// options up to the script, `-e`/`-l` take a value attached or as the next word, which
/// may not start with "-"), plus `-h`/`--help`. An option is one entry of `table`: its
/// name, the value it takes (if any), its line in the usage text, and what it sets.
struct RunnerOptions {
    /// Steps run in command-line order after LUA_INIT, before the script (lua.c's runargs).
    enum Step {
        case execute(String)        // -e stat
        case require(String)        // -l mod, -l g=mod
        case warningsOn             // -W
    }

    var steps: [Step] = []
    var interactive = false
    var showVersion = false
    var ignoreEnvironment = false
    var help = false
    /// Any `-e` given: lua5.4 then neither prompts nor reads stdin when no script is named.
    var executes = false
    /// Where the script is in the arguments (nil: none).
    var scriptIndex: Int?
    /// The script is standard input: "-" not preceded by "--" (`-- -` names a file "-").
    var scriptIsStdin = false

    struct Option {
        let name: String
        let value: String?           // the value's name in the usage text; nil: a flag
        let help: [String]           // usage lines after the name
        let apply: (inout RunnerOptions, String) -> Void
    }

    static let table: [Option] = [
        Option(name: "-e", value: "stat", help: ["execute string 'stat'"]) {
            $0.steps.append(.execute($1)); $0.executes = true
        },
        // lua.c: -i implies -v
        Option(name: "-i", value: nil, help: ["enter interactive mode after executing 'script'"]) {
            $0.interactive = true; $0.showVersion = true; _ = $1
        },
        Option(name: "-l", value: "mod", help: ["require library 'mod' into global 'mod'",
                                                "-l g=mod  require library 'mod' into global 'g'"]) {
            $0.steps.append(.require($1))
        },
        Option(name: "-v", value: nil, help: ["show version information"]) { $0.showVersion = true; _ = $1 },
        Option(name: "-E", value: nil, help: ["ignore environment variables"]) { $0.ignoreEnvironment = true; _ = $1 },
        Option(name: "-W", value: nil, help: ["turn warnings on"]) { $0.steps.append(.warningsOn); _ = $1 },
        Option(name: "-h", value: nil, help: ["show this help (also --help)"]) { $0.help = true; _ = $1 },
        Option(name: "--help", value: nil, help: []) { $0.help = true; _ = $1 },
    ]

    /// A command line lua5.4 would refuse: the message, then the usage follows it.
    struct Refusal: Error {
        let message: String
    }

    static func parse(_ argv: [String]) throws -> RunnerOptions {
        var o = RunnerOptions()
        var i = 1
        scan: while i < argv.count {
            let a = argv[i]
            switch a {
            case "--":
                if i + 1 < argv.count { o.scriptIndex = i + 1 }
                break scan
            case "-":
                o.scriptIndex = i
                o.scriptIsStdin = true
                break scan
            default:
                guard a.hasPrefix("-") else { o.scriptIndex = i; break scan }
            }
            guard let opt = table.first(where: { a == $0.name || ($0.value != nil && a.hasPrefix($0.name)) }) else {
                throw Refusal(message: "unrecognized option '\(a)'")
            }
            if opt.value == nil {
                opt.apply(&o, "")
            } else if a.count > opt.name.count {
                opt.apply(&o, String(a.dropFirst(opt.name.count)))
            } else {
                guard i + 1 < argv.count, !argv[i + 1].hasPrefix("-") else {
                    throw Refusal(message: "'\(a)' needs argument")
                }
                i += 1
                opt.apply(&o, argv[i])
            }
            i += 1
        }
        return o
    }

    /// The usage text, from the table (lua5.4's wording for its own options).
    static func usage(program: String) -> String {
        var lines = ["usage: \(program) [options] [script [args]]", "Available options are:"]
        for opt in table {
            for (n, text) in opt.help.enumerated() {
                if n > 0 { lines.append("  " + text); continue }
                let head = opt.name + (opt.value.map { " " + $0 } ?? "")
                lines.append("  " + head.padding(to: 9) + " " + text)
            }
        }
        lines.append("  --        stop handling options")
        lines.append("  -         stop handling options and execute stdin")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
