/// `Libraries.sandboxed`: what a script the host does not trust may use. Applied once at
/// creation, by trusted Lua code, after `ratchet` is loaded.
enum Sandbox {
    static func apply(_ host: LuaHost) throws {
        let denied = LuaHost.RatchetModule.allCases
            .filter { !host.configuration.libraries.ratchetModules.contains($0) }
            .map { LuaValue($0.rawValue) }
        try host.run(string: source, name: "=sandbox", args: [.table(LuaTable(array: denied))])
    }

    static let source = """
        local denied = ...
        -- No files, no processes, no reaching into other code's internals.
        dofile, loadfile = nil, nil
        local load = load
        _G.load = function(chunk, name, mode, env) return load(chunk, name, "t", env) end
        io, debug = nil, nil
        local time, clock, date = os.time, os.clock, os.date
        -- getenv sees no environment (bundled modules read optional settings with it).
        os = { time = time, clock = clock, date = date, getenv = function() return nil end }
        -- require finds preloaded and bundled modules only.
        package.searchers = { package.searchers[1], package.searchers[2] }
        package.loadlib, package.path, package.cpath, package.searchpath = nil, "", "", nil
        for _, name in ipairs(denied) do
            ratchet[name] = nil
            package.loaded["ratchet." .. name] = nil
            package.preload["ratchet." .. name] = nil
        end
        """
}
