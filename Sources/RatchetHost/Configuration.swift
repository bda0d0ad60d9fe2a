extension LuaHost {
    /// How a host's Lua state is set up; fixed when the host is created.
    public struct Configuration: Sendable {
        /// Which standard libraries and ratchet modules scripts get.
        public var libraries: Libraries = .all
        /// Bytes the state may allocate; nil for no limit. Over it the script gets Lua's
        /// "not enough memory" error (`LuaError.code` "ENOMEM"); the host carries on.
        public var memoryLimit: Int? = nil
        /// VM instructions per `run`/`call`, counted over every ratchet thread; nil for no
        /// limit. While set, Lua runs off its fast path (a count hook): about 2x slower.
        public var instructionLimit: Int? = nil
        /// Seconds per `run`/`call`; nil for no limit. Costs nothing until the deadline: a
        /// watchdog thread arms the count hook when it passes.
        public var timeLimit: Double? = nil
        /// Extra `package.path` directories (the bundled modules need none). Ignored by
        /// `.sandboxed`, which loads nothing from disk.
        public var luaPath: [String] = []
        /// As `lua5.4 -E`: `package.path` and `package.cpath` ignore LUA_PATH and LUA_CPATH.
        public var ignoreEnvironment = false

        public init() {}
    }

    /// The libraries a script gets. `.all` is what `lua5.4` gives plus every ratchet module.
    /// `.sandboxed` is for scripts the host does not trust: base (without `dofile`,
    /// `loadfile`, and `load` of binary chunks), string, table, math, utf8, coroutine,
    /// `os.time`/`os.clock`/`os.date`, `require` of preloaded and bundled modules only, and
    /// the ratchet modules in `ratchetModules` (by default none that reach outside the
    /// process except sockets and DNS; never `exec`).
    public struct Libraries: Sendable, Equatable {
        public var sandboxed: Bool
        /// Ratchet sub-modules a sandboxed script may use.
        public var ratchetModules: Set<RatchetModule>

        public static let all = Libraries(sandboxed: false, ratchetModules: Set(RatchetModule.allCases))
        public static let sandboxed = Libraries(sandboxed: true, ratchetModules: [.socket, .dns])

        /// A sandbox with exactly these ratchet modules (`.exec` is refused).
        public static func sandboxed(with modules: Set<RatchetModule>) -> Libraries {
            Libraries(sandboxed: true, ratchetModules: modules.subtracting([.exec]))
        }
    }

    /// The ratchet sub-modules a sandbox can grant.
    public enum RatchetModule: String, CaseIterable, Sendable {
        case socket, dns, ssl, zmqsocket, exec, timerfd
    }
}
