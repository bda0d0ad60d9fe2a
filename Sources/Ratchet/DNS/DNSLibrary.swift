import CLua

/// `ratchet.dns`: query, query_all, resolver objects (new, set_default, get_default), and
/// the resolv_conf and hosts sub-modules.
enum DNSLibrary {
    static func open(_ lua: Lua) -> Int32 {
        DNSRecords.register(lua)
        DNSBatch.registerMetatable(lua, methods: [])
        DNSResolver.registerMetatable(lua, methods: [
            ("query", resolverQuery), ("query_all", resolverQueryAll),
            ("get_nameservers", getNameservers),
        ])
        lua.pushLibrary([
            ("query", query), ("query_all", queryAll),
            ("new", new), ("set_default", setDefault), ("get_default", getDefault),
        ])
        _ = Module.openSubmodule(lua, "dns.resolv_conf", ResolvConf.open)
        lua.setField(-2, "resolv_conf")
        _ = Module.openSubmodule(lua, "dns.hosts", HostsFile.open)
        lua.setField(-2, "hosts")
        return 1
    }

    /// Where a query function finds its arguments.
    private struct Layout {
        let function: String
        let name: Int32, types: Int32, timeout: Int32
        /// Module functions: resolv_conf and hosts; methods: the resolver itself.
        let resolvConf: Int32?, hosts: Int32?, resolver: Int32?
        let all: Bool
        /// The last argument; the batch goes above it while the thread waits.
        var top: Int32 { timeout }
    }

    private static let queryLayout = Layout(function: "ratchet.dns.query()", name: 1, types: 2, timeout: 5,
                                            resolvConf: 3, hosts: 4, resolver: nil, all: false)
    private static let queryAllLayout = Layout(function: "ratchet.dns.query_all()", name: 1, types: 2, timeout: 5,
                                               resolvConf: 3, hosts: 4, resolver: nil, all: true)
    private static let methodLayout = Layout(function: "ratchet.dns.query()", name: 2, types: 3, timeout: 4,
                                             resolvConf: nil, hosts: nil, resolver: 1, all: false)
    private static let methodAllLayout = Layout(function: "ratchet.dns.query_all()", name: 2, types: 3, timeout: 4,
                                                resolvConf: nil, hosts: nil, resolver: 1, all: true)

    /// query(name, type[, resolv_conf, hosts, timeout]) → results | nil, message
    static let query: LuaImpl = { L, status, ctx in run(Lua(L), status, ctx, queryLayout) }
    /// query_all(name, types[, resolv_conf, hosts, timeout]) → answers
    static let queryAll: LuaImpl = { L, status, ctx in run(Lua(L), status, ctx, queryAllLayout) }
    /// resolver:query(name, type[, timeout])
    static let resolverQuery: LuaImpl = { L, status, ctx in run(Lua(L), status, ctx, methodLayout) }
    /// resolver:query_all(name, types[, timeout])
    static let resolverQueryAll: LuaImpl = { L, status, ctx in run(Lua(L), status, ctx, methodAllLayout) }

    /// The one implementation of every query function: local answers at once; the rest
    /// sent in parallel while the thread waits on a DNSBatch at stack slot `ctx`.
    private static func run(_ lua: Lua, _ status: Int32, _ ctx: Int, _ at: Layout) -> Int32 {
        if status == LUA_YIELD {
            guard let batch = DNSBatch.get(lua, Int32(ctx)), let t = Kernel.thread(lua) else {
                return lua.raise("\(at.function): lost its DNS query")
            }
            if !batch.isDone {
                if t.wake == .timeout {
                    batch.expire()
                } else {
                    batch.wait(t)
                    return Status.yield(ctx)
                }
            }
            return results(lua, batch, at)
        }
        lua.arguments(at.top)

        guard let name = lua.stringOrNumber(at.name) else { return lua.typeError(at.name, "string") }
        var types: [DNSType] = []
        if at.all {
            guard lua.type(at.types) == LUA_TTABLE else { return lua.typeError(at.types, "table") }
            for i in 0..<lua.rawLen(at.types) {
                lua.rawGet(at.types, i + 1)
                let given = lua.stringOrNumber(-1) ?? lua.typeName(-1)
                lua.pop()
                guard let t = DNSType(name: given) else { return lua.raise("unknown DNS query type: \(given)") }
                types.append(t)
            }
        } else {
            guard let given = lua.stringOrNumber(at.types) else { return lua.typeError(at.types, "string") }
            guard let t = DNSType(name: given) else { return lua.raise("unknown DNS query type: \(given)") }
            types = [t]
        }

        let base: DNSResolver
        if let i = at.resolver {
            guard let r = DNSResolver.get(lua, i) else { return lua.typeError(i, "ratchet.dns resolver") }
            base = r
        } else {
            base = DNSResolver.current(lua)
        }
        var config = base.config
        var hosts = base.hosts
        var expire = base.expire
        if let i = at.resolvConf, !lua.isNoneOrNil(i) {
            if let rc = ResolvConf.get(lua, i) {
                config = rc.config
            } else if let r = DNSResolver.get(lua, i) {
                // An extension: a resolver object in the resolv_conf slot.
                config = r.config; hosts = r.hosts; expire = r.expire
            } else {
                return lua.typeError(i, "ratchet.dns.resolv_conf")
            }
        }
        if let i = at.hosts, !lua.isNoneOrNil(i) {
            guard let h = HostsFile.get(lua, i) else { return lua.typeError(i, "ratchet.dns.hosts") }
            hosts = h
        }
        if !lua.isNoneOrNil(at.timeout) {
            guard let s = lua.number(at.timeout) else { return lua.typeError(at.timeout, "number") }
            guard !s.isNaN else { return lua.argError(at.timeout, "number has no valid value (NaN)") }
            // Negative or infinite: no overall limit, only the resolver's tries.
            expire = s >= 0 && s.isFinite ? s : nil
        }

        let batch = DNSBatch(name: name, types: types, hosts: hosts)
        if batch.needsNetwork {
            guard let t = Kernel.thread(lua) else { return Kernel.notInThread(lua, at.function) }
            batch.start(DNSKernelState.of(t.kernel), config: config, expire: expire)
            if !batch.isDone {
                DNSBatch.push(lua, batch)
                batch.wait(t)
                return Status.yield(Int(lua.top))
            }
        }
        return results(lua, batch, at)
    }

    private static func results(_ lua: Lua, _ batch: DNSBatch, _ at: Layout) -> Int32 {
        if !at.all {
            if DNSRecords.push(lua, batch.answer(0), name: batch.name, type: batch.types[0]) { return 1 }
            lua.pushNil()
            lua.insert(-2)
            return 2
        }
        lua.newTable(nrec: Int32(batch.types.count))
        let answers = lua.top
        for i in 0..<batch.types.count {
            // The key is the type exactly as the caller wrote it.
            lua.rawGet(at.types, i + 1)
            let key = lua.stringOrNumber(-1) ?? batch.types[i].label.lowercased()
            lua.pop()
            if DNSRecords.push(lua, batch.answer(i), name: batch.name, type: batch.types[i]) {
                lua.setField(answers, key)
            } else {
                lua.setField(answers, key + "_error")
            }
        }
        return 1
    }

    // MARK: resolver objects

    /// new{nameservers = {...}, timeout = s, attempts = n, search = {...}, ndots = n,
    ///     hosts = hosts_obj, resolv_conf = resolv_conf_obj, expire = s}  (extension)
    /// new(resolv_conf, hosts, timeout)  (the original's positional form)
    static let new: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(3)
        if lua.type(1) != LUA_TTABLE {
            let system = DNSResolver.current(lua)
            var config = system.config
            var hosts = system.hosts
            var expire: Double? = DNSResolver.defaultExpire
            if !lua.isNoneOrNil(1) {
                guard let rc = ResolvConf.get(lua, 1) else { return lua.typeError(1, "table") }
                config = rc.config
            }
            if !lua.isNoneOrNil(2) {
                guard let h = HostsFile.get(lua, 2) else { return lua.typeError(2, "ratchet.dns.hosts") }
                hosts = h
            }
            if !lua.isNoneOrNil(3) {
                guard let s = lua.number(3), !s.isNaN else { return lua.typeError(3, "number") }
                expire = s >= 0 && s.isFinite ? s : nil
            }
            DNSResolver.push(lua, DNSResolver(config: config, hosts: hosts, expire: expire))
            return 1
        }
        return newFromOptions(lua)
    }

    private static func newFromOptions(_ lua: Lua) -> Int32 {
        let config = DNSConfig()
        var hosts: HostsFile? = nil
        var expire: Double? = DNSResolver.defaultExpire

        if lua.getField(1, "resolv_conf") != LUA_TNIL {
            guard let rc = ResolvConf.get(lua, -1) else { return lua.argError(1, "resolv_conf must be a ratchet.dns.resolv_conf object") }
            config.nameservers = rc.config.nameservers
            config.search = rc.config.search
            config.ndots = rc.config.ndots
            config.timeout = rc.config.timeout
            config.attempts = rc.config.attempts
        }
        lua.pop()
        if lua.getField(1, "nameservers") != LUA_TNIL {
            guard lua.type(-1) == LUA_TTABLE else { return lua.argError(1, "nameservers must be an array of strings") }
            config.nameservers = []
            for i in 0..<lua.rawLen(-1) {
                lua.rawGet(-1, i + 1)
                let text = lua.string(-1)
                lua.pop()
                guard let text, let ns = NameServer(text) else {
                    return lua.argError(1, "invalid nameserver address: \(text ?? "not a string")")
                }
                config.nameservers.append(ns)
            }
        } else if config.nameservers.isEmpty {
            config.nameservers = DNSResolver.current(lua).config.nameservers
        }
        lua.pop()
        if lua.getField(1, "search") != LUA_TNIL {
            guard lua.type(-1) == LUA_TTABLE else { return lua.argError(1, "search must be an array of domains") }
            config.search = []
            for i in 0..<lua.rawLen(-1) {
                lua.rawGet(-1, i + 1)
                let d = lua.string(-1)
                lua.pop()
                guard let d else { return lua.argError(1, "search must be an array of domains") }
                config.search.append(d)
            }
        }
        lua.pop()
        if lua.getField(1, "timeout") != LUA_TNIL {
            guard let s = lua.number(-1), s.isFinite, s > 0, s <= 3600 else {
                return lua.argError(1, "timeout must be a number of seconds above 0")
            }
            config.timeout = s
        }
        lua.pop()
        if lua.getField(1, "attempts") != LUA_TNIL {
            guard let n = lua.integer(-1), (1...100).contains(n) else {
                return lua.argError(1, "attempts must be an integer from 1 to 100")
            }
            config.attempts = n
        }
        lua.pop()
        if lua.getField(1, "ndots") != LUA_TNIL {
            guard let n = lua.integer(-1), (0...15).contains(n) else {
                return lua.argError(1, "ndots must be an integer from 0 to 15")
            }
            config.ndots = n
        }
        lua.pop()
        if lua.getField(1, "hosts") != LUA_TNIL {
            guard let h = HostsFile.get(lua, -1) else { return lua.argError(1, "hosts must be a ratchet.dns.hosts object") }
            hosts = h
        }
        lua.pop()
        if lua.getField(1, "expire") != LUA_TNIL {
            guard let s = lua.number(-1), !s.isNaN else { return lua.argError(1, "expire must be a number") }
            expire = s >= 0 && s.isFinite ? s : nil
        }
        lua.pop()
        config.finish()
        DNSResolver.push(lua, DNSResolver(config: config, hosts: hosts ?? DNSResolver.current(lua).hosts, expire: expire))
        return 1
    }

    /// set_default(resolver or nil)
    static let setDefault: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        guard lua.isNoneOrNil(1) || DNSResolver.get(lua, 1) != nil else { return lua.typeError(1, "ratchet.dns resolver") }
        DNSResolver.setCurrent(lua, 1)
        return 0
    }

    /// get_default() → the resolver module functions use
    static let getDefault: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        _ = DNSResolver.current(lua)
        lua_getfield(L, LUA_REGISTRYINDEX, cString(DNSResolver.defaultKey))
        return 1
    }

    /// resolver:get_nameservers() → {"127.0.0.1:53", "[::1]:53", …}
    static let getNameservers: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard let r = DNSResolver.get(lua, 1) else { return lua.typeError(1, "ratchet.dns resolver") }
        lua.newTable(narr: Int32(r.config.nameservers.count))
        for (i, ns) in r.config.nameservers.enumerated() {
            lua.push(ns.text)
            lua.rawSet(-2, i + 1)
        }
        return 1
    }
}
