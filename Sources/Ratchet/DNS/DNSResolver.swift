import CLibEvent
import CLua

/// A resolver: a configuration (nameservers, search list, per-try timeout, attempts), a
/// hosts file, and how long a whole query may take. `ratchet.dns.new{…}` makes one; the
/// default one serves the module functions and prepare_tcp/prepare_udp.
final class DNSResolver: LuaHandle {
    static let metatableName: StaticString = "ratchet_dns_resolver_meta"
    static let shownName: StaticString = "ratchet.dns resolver"
    /// The registry slot of the default resolver of a Lua state.
    static let defaultKey: StaticString = "ratchet.dns.default"
    /// The reference's expire_timeout: seconds a query may take in all.
    static let defaultExpire = 10.0

    let config: DNSConfig
    let hosts: HostsFile
    /// Seconds a whole query may take; nil leaves only the tries to limit it.
    let expire: Double?

    init(config: DNSConfig, hosts: HostsFile, expire: Double? = DNSResolver.defaultExpire) {
        self.config = config
        self.hosts = hosts
        self.expire = expire
    }

    func close(_ lua: Lua) {}

    /// The resolver module functions use: the one given to set_default, else one from
    /// /etc/resolv.conf and /etc/hosts, read on first use and kept in the Lua state.
    static func current(_ lua: Lua) -> DNSResolver {
        lua_getfield(lua.L, LUA_REGISTRYINDEX, cString(defaultKey))
        let existing = get(lua, -1)
        lua.pop()
        if let r = existing { return r }
        let r = DNSResolver(config: .system(), hosts: .system())
        push(lua, r)
        lua_setfield(lua.L, LUA_REGISTRYINDEX, cString(defaultKey))
        return r
    }

    /// Makes the resolver at `i` the default (nil: back to the system configuration).
    static func setCurrent(_ lua: Lua, _ i: Int32) {
        lua.pushValue(i)
        lua_setfield(lua.L, LUA_REGISTRYINDEX, cString(defaultKey))
    }
}

/// Per-kernel DNS state: one evdns base per configuration in use, and every request in
/// flight, so that closing the kernel frees them before the event base goes.
final class DNSKernelState: KernelExtension {
    unowned(unsafe) let kernel: Kernel
    private var bases: [ObjectIdentifier: (config: WeakConfig, base: OpaquePointer)] = [:]
    private var active: [ObjectIdentifier: DNSRequest] = [:]
    /// One receive buffer for every UDP and TCP reply of this kernel.
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)

    private init(kernel: Kernel) { self.kernel = kernel }
    deinit { buffer.deallocate() }

    static func of(_ k: Kernel) -> DNSKernelState {
        let key = ObjectIdentifier(DNSKernelState.self)
        if let s = k.extensions[key] as? DNSKernelState { return s }
        let s = DNSKernelState(kernel: k)
        k.extensions[key] = s
        return s
    }

    /// Requests register while libevent may still call them back; this keeps them alive.
    func track(_ r: DNSRequest) { active[ObjectIdentifier(r)] = r }
    func untrack(_ r: DNSRequest) { active[ObjectIdentifier(r)] = nil }

    /// The evdns base for `config` on this kernel, made on first use.
    func evdnsBase(for config: DNSConfig) -> OpaquePointer? {
        let id = ObjectIdentifier(config)
        if let e = bases[id], e.config.value === config { return e.base }
        // A configuration nobody holds has no request left, so its base can go.
        for (k, e) in bases where e.config.value == nil {
            evdns_base_free(e.base, 0)
            bases[k] = nil
        }
        guard let kb = kernel.base,
              let b = evdns_base_new(kb, EVDNS_BASE_DISABLE_WHEN_INACTIVE) else { return nil }
        // evdns logs to stderr by default; its failures reach the caller as answers.
        evdns_set_log_fn(evdnsQuiet)
        for ns in config.nameservers {
            _ = ns.withSockaddr { evdns_base_nameserver_sockaddr_add(b, $0, $1, 0) }
        }
        // evdns counts tries per request; the configuration counts rounds over the servers.
        let tries = max(1, min(255, config.attempts * max(1, config.nameservers.count)))
        _ = evdns_base_set_option(b, "timeout:", "\(config.timeout)")
        _ = evdns_base_set_option(b, "attempts:", "\(tries)")
        bases[id] = (WeakConfig(config), b)
        return b
    }

    func kernelClosing() {
        // Raw requests close their sockets; evdns requests are cancelled, and evdns frees a
        // cancelled request in a deferred callback, which one last non-blocking pass runs
        // (only DNS events are left on the base by now).
        for r in active.values { r.abandon() }
        if let kb = kernel.base { event_base_loop(kb, EVLOOP_NONBLOCK) }
        active.removeAll()
        for e in bases.values { evdns_base_free(e.base, 0) }
        bases.removeAll()
    }

    struct WeakConfig {
        weak var value: DNSConfig?
        init(_ v: DNSConfig) { value = v }
    }
}

private let evdnsQuiet: @convention(c) (Int32, UnsafePointer<CChar>?) -> Void = { _, _ in }
