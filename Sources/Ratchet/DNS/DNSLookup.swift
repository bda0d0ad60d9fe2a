import CLua

/// What an address lookup for prepare_tcp/prepare_udp asks its caller to do next.
public enum AddressLookupStep {
    /// Return this status: the thread is parked until the answers arrive. On resumption,
    /// call `DNSLookup.addresses` again with the resumption's status and context, before
    /// touching the stack.
    case yield(Int32)
    /// The addresses, AAAA answers before A answers (the reference's precedence).
    case done([IPAddress])
    /// No address: the message the reference puts after "No DNS records: ".
    case failed(String)
    /// An error is on top of the stack (not in a ratchet thread): return this status.
    case raise(Int32)
}

/// The DNS side of prepare_tcp/prepare_udp: local answers first (literals, "*", hosts,
/// localhost), then the default resolver (set_default), AAAA and A in parallel.
public enum DNSLookup {
    /// `function` names the caller in the error raised outside a ratchet thread.
    public static func addresses(_ lua: Lua, status: Int32, ctx: Int, host: String,
                                 wantV6: Bool, wantV4: Bool, function: String) -> AddressLookupStep {
        if status == LUA_YIELD {
            guard let batch = DNSBatch.get(lua, Int32(ctx)), let t = Kernel.thread(lua) else {
                return .raise(lua.raise("\(function): lost its DNS query"))
            }
            if !batch.isDone {
                if t.wake == .timeout {
                    batch.expire()
                } else {
                    batch.wait(t)
                    return .yield(Status.yield(ctx))
                }
            }
            return result(batch, host: host)
        }
        var types: [DNSType] = []
        if wantV6 { types.append(.aaaa) }
        if wantV4 { types.append(.a) }
        let resolver = DNSResolver.current(lua)
        if let local = LocalAnswers.addresses(host, wantV6: wantV6, wantV4: wantV4, hosts: resolver.hosts) {
            if !local.isEmpty { return .done(local) }
            return .failed(DNSFailure.noRecords.message(for: host, type: wantV4 ? .a : .aaaa))
        }
        let batch = DNSBatch(name: host, types: types, hosts: resolver.hosts)
        guard let t = Kernel.thread(lua) else { return .raise(Kernel.notInThread(lua, function)) }
        batch.start(DNSKernelState.of(t.kernel), config: resolver.config, expire: resolver.expire)
        if batch.isDone { return result(batch, host: host) }
        DNSBatch.push(lua, batch)
        batch.wait(t)
        return .yield(Status.yield(Int(lua.top)))
    }

    private static func result(_ batch: DNSBatch, host: String) -> AddressLookupStep {
        var found: [IPAddress] = []
        var errors: [DNSType: String] = [:]
        for (i, type) in batch.types.enumerated() {
            switch batch.answer(i) {
            case .addresses(let list): found += list
            case .failure(let f): errors[type] = f.message(for: host, type: type)
            default: break
            }
        }
        if !found.isEmpty { return .done(found) }
        return .failed(errors[.a] ?? errors[.aaaa] ?? host)
    }

    /// The error the reference raises when a host has no address: ENOENT, function
    /// "ratchet.dns.query()".
    public static func raiseNoRecords(_ lua: Lua, _ message: String) -> Int32 {
        lua.raiseError("ratchet.dns.query()", "ENOENT", "No DNS records: \(message)")
    }
}
