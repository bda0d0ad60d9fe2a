import Glibc
import RatchetHost

/// lua5.4's interactive mode: a prompt on standard output, lines from standard input
/// until it ends, each entry run by `LuaHost.runPromptEntry` (values printed, errors
/// reported on standard error with no program name, the prompt going on after them).
/// There is no line editing: lua5.4 gets it from readline, which ratchet does not link.
enum InteractivePrompt {
    static func run(_ host: LuaHost) {
        entries: while true {
            guard var line = read(host.prompt(continuation: false)) else { break }
            // lua5.4 still reads "=expr" as "return expr" (Lua 5.2 compatibility).
            if line.hasPrefix("=") { line = "return " + line.dropFirst() }
            var source = line
            var firstLine = true
            while true {
                switch host.runPromptEntry(source, firstLine: firstLine) {
                case .ran:
                    continue entries
                case .failed(let error):
                    report(error)
                    continue entries
                case .incomplete(let error):
                    guard let more = read(host.prompt(continuation: true)) else {
                        report(error)
                        break entries
                    }
                    source += "\n" + more
                    firstLine = false
                }
            }
        }
        fputs("\n", stdout)
        fflush(stdout)
    }

    /// Shows `prompt` and reads one line without its newline; nil at the end of input.
    /// C stdio, as Lua's io library: a line's own io.read continues where this stopped.
    private static func read(_ prompt: String) -> String? {
        fputs(prompt, stdout)
        fflush(stdout)
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        let n = getline(&buffer, &capacity, stdin)
        defer { free(buffer) }
        guard n >= 0, let buffer else { return nil }
        var line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: n), as: UTF8.self)
        if line.hasSuffix("\n") { line.removeLast() }
        return line
    }

    private static func report(_ error: LuaError) {
        fputs(error.message + "\n", stderr)
        fflush(stderr)
    }
}
