import CLua
import COpenSSL
import Glibc

/// Server Name Indication on the server: choosing the context (certificate) by the name the
/// client asked for.
///
/// No Lua code ever runs inside an OpenSSL callback. The ClientHello callback (pure Swift)
/// either looks the name up in a table given ahead of time, or — for a Lua function —
/// pauses the handshake (SSL_CLIENT_HELLO_RETRY). `server_handshake` then calls the function
/// under `lua.pcall` from its own frame, with no OpenSSL frame on the stack, and retries;
/// the callback then applies the choice. An error in the function is raised by
/// `server_handshake` itself.
enum ServerName {
    enum HelloState {
        /// Nothing seen yet.
        case waiting
        /// The handshake paused for the Lua function with this name.
        case asked(String)
        /// The function answered (nil: keep the session's context).
        case resolved(TLSContext?)
        case done
    }

    /// ctx:set_servername_callback(f | {name = ctx, ...} | nil) (extension, server side).
    /// `f(name)` returns the context to use for that name, or nil for this one; it runs in
    /// the handshaking thread and must not block. A table is read once, now: names are
    /// compared case-insensitively. Called only when the client sent a name.
    static let setCallback: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(2)
        guard let c = TLSContext.get(lua, 1) else { return TLSContextMethods.notContext(lua) }
        let t = lua.type(2)
        var table: [String: TLSContext] = [:]
        switch t {
        case LUA_TFUNCTION, LUA_TNIL: break
        case LUA_TTABLE:
            lua.pushNil()
            while lua_next(L, 2) != 0 {
                guard let name = lua.string(-2), let other = TLSContext.get(lua, -1) else {
                    lua.pop(2)
                    return lua.argError(2, "servername table must map names (strings) to ratchet.ssl contexts")
                }
                // Mapping a context to itself needs no switch (and would be a reference cycle).
                if other !== c { table[name.lowercased()] = other }
                lua.pop()
            }
        default: return lua.typeError(2, "function or table")
        }
        c.servernameFunction = t == LUA_TFUNCTION
        c.servernameTable = table
        lua_setiuservalue(L, 1, TLSContext.servernameSlot)
        SSL_CTX_set_client_hello_cb(c.ctx, t > LUA_TNIL ? clientHelloCallback : nil, nil)
        return 0
    }

    /// Calls the Lua function for a paused handshake (session at `sessionIndex`). Returns
    /// nil to retry the handshake, or a status (the function's error, raised).
    static func resolve(_ lua: Lua, _ s: TLSSession, sessionIndex: Int32) -> Int32? {
        guard case .asked(let name) = s.hello else {
            s.hello = .done
            return nil
        }
        let si = lua.absIndex(sessionIndex)
        lua_getiuservalue(lua.L, si, TLSSession.contextSlot)
        lua_getiuservalue(lua.L, -1, TLSContext.servernameSlot)
        lua.remove(-2)
        guard lua.type(-1) == LUA_TFUNCTION else {
            lua.pop()
            s.hello = .resolved(nil)
            return nil
        }
        lua.push(name)
        guard lua.pcall(1, 1) == LUA_OK else {
            s.failed = true
            return Status.raise
        }
        if lua.isNoneOrNil(-1) {
            lua.pop()
            s.hello = .resolved(nil)
        } else if let other = TLSContext.get(lua, -1) {
            s.hello = .resolved(other === s.context ? nil : other)
            lua_setiuservalue(lua.L, si, TLSSession.chosenSlot)
        } else {
            s.failed = true
            return lua.raise("servername callback must return a ratchet.ssl context or nil, got \(lua.shownType(-1))")
        }
        return nil
    }

    /// The host_name entry of the ClientHello's server_name extension.
    static func requested(_ ssl: OpaquePointer) -> String? {
        var out: UnsafePointer<UInt8>? = nil
        var len = 0
        guard SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_server_name), &out, &len) == 1,
              let p = out, len >= 2 else { return nil }
        let b = UnsafeBufferPointer(start: p, count: len)
        let end = min(len, 2 + (Int(b[0]) << 8 | Int(b[1])))
        var i = 2
        while i + 3 <= end {
            let type = b[i]
            let n = Int(b[i + 1]) << 8 | Int(b[i + 2])
            i += 3
            guard i + n <= end else { return nil }
            if type == UInt8(TLSEXT_NAMETYPE_host_name) {
                return String(decoding: UnsafeBufferPointer(rebasing: b[i..<i + n]), as: UTF8.self)
            }
            i += n
        }
        return nil
    }
}

extension TLSSession {
    /// Runs inside OpenSSL: Swift only, no Lua.
    func onClientHello(_ ssl: OpaquePointer) -> Int32 {
        switch hello {
        case .done:
            return 1
        case .resolved(let other):
            if let other { switchContext(ssl, other) }
            hello = .done
            return 1
        case .asked:
            return -1
        case .waiting:
            guard let name = ServerName.requested(ssl) else {
                hello = .done
                return 1
            }
            if context.servernameFunction {
                hello = .asked(name)
                return -1  // SSL_CLIENT_HELLO_RETRY: server_handshake calls the function
            }
            if let other = context.servernameTable[name.lowercased()] { switchContext(ssl, other) }
            hello = .done
            return 1
        }
    }
}

/// SSL_CLIENT_HELLO_SUCCESS is 1, SSL_CLIENT_HELLO_RETRY −1.
private let clientHelloCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _, _ in
    guard let ssl, let p = SSL_get_ex_data(ssl, 0) else { return 1 }
    return Unmanaged<TLSSession>.fromOpaque(p).takeUnretainedValue().onClientHello(ssl)
}
