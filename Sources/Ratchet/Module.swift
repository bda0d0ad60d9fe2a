import CLua
import CRatchetShims
import Glibc

/// The project's own version (ratchet 0.8.2 was the last of the original).
public let ratchetVersion = "1.0.0"

/// `luaopen_ratchet`: builds the `ratchet` table from every event source. This is the only
/// file that knows them all.
enum Module {
    /// Sub-modules, each also in package.loaded as "ratchet.<name>" and a field of `ratchet`.
    static let submodules: [(name: StaticString, open: (Lua) -> Int32)] = [
        ("error", RatchetError.open),
        ("socket", SocketLibrary.open),
        ("dns", DNSLibrary.open),
        ("ssl", TLSLibrary.open),
        ("zmqsocket", ZMQLibrary.open),
        ("exec", ExecLibrary.open),
        ("timerfd", TimerFDLibrary.open),
        ("httpwire", HTTPWireLibrary.open),
        ("http2", HTTP2Library.open),
        ("wsmask", MaskLibrary.open),
        ("deflate", DeflateLibrary.open),
    ]

    static func open(_ lua: Lua) -> Int32 {
        ratchet_pin_module()
        // Writes to a closed peer must be an EPIPE error, never a dead process.
        var old = sigaction()
        if sigaction(SIGPIPE, nil, &old) == 0, old.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
        FileDescriptors.install(lua)
        KernelLibrary.register(lua)

        lua.pushLibrary([("new", KernelLibrary.new), ("now", KernelLibrary.now), ("stackdump", stackdump)])
        lua.push(ratchetVersion); lua.setField(-2, "version")
        // ratchet.thread is also in package.loaded (the original did not do this) so that
        // argument errors name functions as 'ratchet.thread.timer' rather than '?'.
        _ = openSubmodule(lua, "thread", { ThreadLibrary.open($0); return 1 })
        lua.setField(-2, "thread")
        for sub in submodules {
            _ = openSubmodule(lua, sub.name, sub.open)
            lua.setField(-2, sub.name)
        }
        lua.pushValue(-1); lua_setglobal(lua.L, "ratchet")
        lua.pushValue(-1); lua_setfield(lua.L, LUA_REGISTRYINDEX, "ratchet_class")
        return 1
    }

    /// Opens one sub-module once per Lua state (package.loaded caches it) and pushes it.
    static func openSubmodule(_ lua: Lua, _ name: StaticString, _ open: (Lua) -> Int32) -> Int32 {
        lua_getfield(lua.L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE)
        let full = "ratchet.\(name)"
        if lua.getField(-1, full) != LUA_TNIL {
            lua.remove(-2)
            return 1
        }
        lua.pop()
        _ = open(lua)
        lua.pushValue(-1)
        lua.setField(-3, full)
        lua.remove(-2)
        return 1
    }

    /// ratchet.stackdump(): prints the values on the calling stack (a debugging aid).
    static let stackdump: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        var out = "stack (\(lua.top)):\n"
        for i in stride(from: lua.top, through: 1, by: -1) {
            out += "  [\(i)] \(lua.typeName(i)) \(lua.stringOrNumber(i) ?? "")\n"
        }
        _ = out.withCString { write(1, $0, strlen($0)) }
        return 0
    }
}

@_cdecl("luaopen_ratchet")
public func luaopen_ratchet(_ L: OpaquePointer?) -> Int32 { Module.open(Lua(L)) }

@_cdecl("luaopen_ratchet_error")
public func luaopen_ratchet_error(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "error", RatchetError.open) }
@_cdecl("luaopen_ratchet_socket")
public func luaopen_ratchet_socket(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "socket", SocketLibrary.open) }
@_cdecl("luaopen_ratchet_dns")
public func luaopen_ratchet_dns(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "dns", DNSLibrary.open) }
@_cdecl("luaopen_ratchet_ssl")
public func luaopen_ratchet_ssl(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "ssl", TLSLibrary.open) }
@_cdecl("luaopen_ratchet_zmqsocket")
public func luaopen_ratchet_zmqsocket(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "zmqsocket", ZMQLibrary.open) }
@_cdecl("luaopen_ratchet_exec")
public func luaopen_ratchet_exec(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "exec", ExecLibrary.open) }
@_cdecl("luaopen_ratchet_http2")
public func luaopen_ratchet_http2(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "http2", HTTP2Library.open) }
@_cdecl("luaopen_ratchet_timerfd")
public func luaopen_ratchet_timerfd(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "timerfd", TimerFDLibrary.open) }
@_cdecl("luaopen_ratchet_wsmask")
public func luaopen_ratchet_wsmask(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "wsmask", MaskLibrary.open) }
@_cdecl("luaopen_ratchet_deflate")
public func luaopen_ratchet_deflate(_ L: OpaquePointer?) -> Int32 { Module.openSubmodule(Lua(L), "deflate", DeflateLibrary.open) }

/// Puts `ratchet` and its sub-modules in `package.preload` of a Lua state that links the Lua
/// core itself (the runner, an embedding Swift program).
public func preload(_ L: OpaquePointer) {
    let lua = Lua(L)
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE)
    let entries: [(StaticString, lua_CFunction)] = [
        ("ratchet", { luaopen_ratchet($0) }),
        ("ratchet.error", { luaopen_ratchet_error($0) }),
        ("ratchet.socket", { luaopen_ratchet_socket($0) }),
        ("ratchet.dns", { luaopen_ratchet_dns($0) }),
        ("ratchet.ssl", { luaopen_ratchet_ssl($0) }),
        ("ratchet.zmqsocket", { luaopen_ratchet_zmqsocket($0) }),
        ("ratchet.exec", { luaopen_ratchet_exec($0) }),
        ("ratchet.timerfd", { luaopen_ratchet_timerfd($0) }),
        ("ratchet.http2", { luaopen_ratchet_http2($0) }),
        ("ratchet.wsmask", { luaopen_ratchet_wsmask($0) }),
        ("ratchet.deflate", { luaopen_ratchet_deflate($0) }),
    ]
    for (name, fn) in entries {
        lua_pushcclosure(L, fn, 0)
        lua.setField(-2, name)
    }
    lua.pop()
}
