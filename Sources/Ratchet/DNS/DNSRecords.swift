import CLua

/// The Lua shapes of answers, exactly as the original returned them (§1.8).
enum DNSRecords {
    static let mxMeta: StaticString = "ratchet_dns_mx_meta"

    static func register(_ lua: Lua) {
        if lua.newMetatable(mxMeta, shownAs: "ratchet.dns MX answer") {
            lua.newTable()
            lua.setFunctions([("get_i", mxGetI)])
            lua.setField(-2, "__index")
        }
        lua.pop()
        AddressUserdata.register(lua)
    }

    /// Pushes the results table and returns true, or pushes the failure message and
    /// returns false.
    @discardableResult
    static func push(_ lua: Lua, _ answer: DNSAnswer, name: String, type: DNSType) -> Bool {
        switch answer {
        case .failure(let f):
            lua.push(f.message(for: name, type: type))
            return false
        case .addresses(let list):
            array(lua, list) { AddressUserdata.push(lua, $0) }
        case .names(let list):
            array(lua, list) { lua.push($0) }
        case .texts(let list):
            array(lua, list) { t in t.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) } }
        case .srv(let list):
            array(lua, list) { r in
                lua.newTable(nrec: 4)
                lua.push(r.priority); lua.setField(-2, "priority")
                lua.push(r.weight); lua.setField(-2, "weight")
                lua.push(r.port); lua.setField(-2, "port")
                lua.push(r.target); lua.setField(-2, "target")
            }
        case .soa(let list):
            array(lua, list) { r in
                lua.newTable(nrec: 7)
                lua.push(r.mname); lua.setField(-2, "mname")
                lua.push(r.rname); lua.setField(-2, "rname")
                lua.push(Int(r.serial)); lua.setField(-2, "serial")
                lua.push(Int(r.refresh)); lua.setField(-2, "refresh")
                lua.push(Int(r.retry)); lua.setField(-2, "retry")
                lua.push(Int(r.expire)); lua.setField(-2, "expire")
                lua.push(Int(r.minimum)); lua.setField(-2, "minimum")
            }
        case .sshfp(let list):
            array(lua, list) { r in
                lua.newTable(nrec: 3)
                pushName(lua, r.algorithm, ["rsa", "dsa", "ecdsa", "ed25519"]); lua.setField(-2, "algorithm")
                pushName(lua, r.fingerprintType, ["sha1", "sha256"]); lua.setField(-2, "type")
                r.digest.withUnsafeBytes { lua.push(bytes: $0.baseAddress, count: $0.count) }
                lua.setField(-2, "digest")
            }
        case .mx(let list):
            pushMX(lua, list)
        }
        return true
    }

    private static func array<T>(_ lua: Lua, _ list: [T], _ pushOne: (T) -> Void) {
        lua.newTable(narr: Int32(list.count))
        for (i, v) in list.enumerated() {
            pushOne(v)
            lua.rawSet(-2, i + 1)
        }
    }

    /// The registered name of `code` (1-based), or the number for one without a name.
    private static func pushName(_ lua: Lua, _ code: Int, _ names: [StaticString]) {
        if code >= 1 && code <= names.count { lua.push(names[code - 1]) } else { lua.push(code) }
    }

    /// `t[preference]` = hosts of that preference in answer order, `t.priorities` = the
    /// distinct preferences sorted, `t.n` = number of hosts, `t:get_i(i)` from the metatable.
    private static func pushMX(_ lua: Lua, _ list: [MXRecord]) {
        var byPref: [Int: [String]] = [:]
        for r in list { byPref[r.preference, default: []].append(r.host) }
        let prefs = byPref.keys.sorted()
        lua.newTable(nrec: Int32(prefs.count + 2))
        for p in prefs {
            array(lua, byPref[p]!) { lua.push($0) }
            lua.rawSet(-2, p)
        }
        array(lua, prefs) { lua.push($0) }
        lua.setField(-2, "priorities")
        lua.push(list.count); lua.setField(-2, "n")
        lua.setMetatable(mxMeta)
    }

    /// get_i(i): the i-th host in (preference, answer) order, 1-based. As in the original,
    /// i > n wraps to i % n (nothing when that is 0) and i <= 0 gives nothing.
    static let mxGetI: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        guard lua.type(1) == LUA_TTABLE else { return lua.typeError(1, "table") }
        guard var i = lua.integer(2) else { return lua.typeError(2, "number") }
        lua.getField(1, "n")
        let n = lua.integer(-1) ?? 0
        lua.pop()
        if i <= 0 || n <= 0 { return 0 }
        if i > n { i %= n }
        if i == 0 { return 0 }
        guard lua.getField(1, "priorities") == LUA_TTABLE else { return 0 }
        let prios = lua.top
        var k = 0
        for pi in 0..<lua.rawLen(prios) {
            lua.rawGet(prios, pi + 1)
            let p = lua.integer(-1)
            lua.pop()
            guard let p, lua.rawGet(1, p) == LUA_TTABLE else { lua.pop(); continue }
            let hosts = lua.top
            for j in 0..<lua.rawLen(hosts) {
                k += 1
                if k == i {
                    lua.rawGet(hosts, j + 1)
                    return 1
                }
            }
            lua.pop()
        }
        return 0
    }
}
