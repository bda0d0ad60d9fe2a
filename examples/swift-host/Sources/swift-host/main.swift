// A small service: an HTTP server written in Lua whose handler calls a Swift function
// (`app.price`) and an async Swift function (`app.lookup`), run by a host that does not
// trust the script: sandboxed, memory- and time-limited.
//   swift run swift-host [port]     serve until stopped
//   swift run swift-host --demo     serve, fetch three URLs with ratchet's client, exit
import Glibc
import RatchetHost

struct Product: Codable { var name: String; var cents: Int; var tags: [String] }
let catalogue = ["tea": Product(name: "tea", cents: 350, tags: ["hot"]),
                 "cake": Product(name: "cake", cents: 420, tags: ["sweet", "baked"])]

var config = LuaHost.Configuration()
config.libraries = .sandboxed            // sockets and DNS only; no io, os.execute, exec
config.memoryLimit = 64 << 20
config.timeLimit = CommandLine.arguments.contains("--demo") ? 10 : nil
let host = try LuaHost(configuration: config)

// Sync: VAT-inclusive price of an amount in cents.
host.register("price", in: "app") { args in
    let cents = try args.integer(at: 0)
    // Lua can pass any integer: Swift's `*` would trap on overflow, so it is checked.
    let (gross, overflow) = cents.multipliedReportingOverflow(by: 120)
    guard !overflow else { throw LuaHost.ArgumentError(position: 1, "amount too large") }
    return [.integer(gross / 100)]
}
// Async: a lookup that takes a while (a database, another service...). Only the ratchet
// thread serving this request waits; the others keep serving.
host.register("lookup", in: "app") { args in
    let name = try args.string(at: 0)
    try await Task.sleep(nanoseconds: 20_000_000)
    guard let p = catalogue[name] else { return [.nil] }
    return [try LuaEncoder().encode(p)]
}

let port = Int64(CommandLine.arguments.dropFirst().first { Int($0) != nil } ?? "0") ?? 0
host.globals["demo"] = .boolean(CommandLine.arguments.contains("--demo"))
host.globals["port"] = .integer(port)

let results: [LuaValue]
do {
    results = try host.run(string: """
    local http_server = require "ratchet.http.server"
    local http_client = require "ratchet.http.client"
    local handlers = {}
    function handlers:GET(uri)
        local name = uri:match("^/price/(%w+)$")
        local p = name and app.lookup(name)
        if not p then return {code = 404, message = "Not Found", data = "no such product\\n"} end
        return {code = 200, message = "OK", headers = {["Content-Type"] = {"text/plain"}},
                data = ("%s: %d cents with VAT (%s)\\n"):format(p.name, app.price(p.cents), table.concat(p.tags, ", "))}
    end
    local out, kernel = {}, nil
    kernel = ratchet.new(function()
        local rec = ratchet.socket.prepare_tcp("127.0.0.1", port)
        local listener = ratchet.socket.new(rec.family, rec.socktype, rec.protocol)
        listener:setsockopt("SO_REUSEADDR", true)
        listener:bind(rec.addr)
        listener:listen()
        local _, bound = listener:getsockname()
        local acceptor = ratchet.thread.attach(http_server.serve, listener, handlers)
        if not demo then print("serving on http://127.0.0.1:" .. bound .. "/price/tea") return end
        for _, what in ipairs{"tea", "cake", "coffee"} do
            local code, _, _, body = http_client.fetch(("http://127.0.0.1:%d/price/%s"):format(bound, what))
            out[#out + 1] = code .. " " .. body
        end
        kernel["break"](kernel)  -- leave the acceptor and the kept-alive connections
    end)
    kernel:loop()
    return table.concat(out)
    """, name: "=service")
} catch {
    print("swift-host: \(error)")
    exit(1)
}
if let text = results.first?.stringValue { print(text, terminator: "") }
