import CLua
import Ratchet

/// The Lua modules of `LuaLib/`, compiled into this library by the BundleLuaLib plugin, and
/// the `package.searchers` entry that finds them. It comes right after `package.preload`, so
/// `require "ratchet.http.server"` loads the module of this ratchet version, never an older
/// copy that `package.path` happens to reach.
enum BundledModules {
    static let byName: [String: (path: String, source: StaticString)] = {
        var d: [String: (path: String, source: StaticString)] = [:]
        for m in bundledLuaModules { d[m.name] = (m.path, m.source) }
        return d
    }()

    /// searcher(name): the module's loader and its path, or a line for require's message.
    static let searcher: LuaImpl = { L, _, _ in
        let lua = Lua(L!)
        guard let name = lua.string(1), let m = byName[name] else {
            lua.push("no bundled module '\(lua.stringOrNumber(1) ?? "?")'")
            return 1
        }
        let st = luaL_loadbufferx(L, UnsafeRawPointer(m.source.utf8Start).assumingMemoryBound(to: CChar.self),
                                  m.source.utf8CodeUnitCount, "@" + m.path, "t")
        guard st == LUA_OK else { return Status.raise }
        lua.push(":bundled:" + m.path)
        return 2
    }

    /// Inserts the searcher into `package.searchers` (the table on top of the stack is not
    /// touched; the state's `package` library must be open).
    static func install(_ L: OpaquePointer) {
        let lua = Lua(L)
        lua_getfield(L, registryIndex, LUA_LOADED_TABLE)
        guard lua.getField(-1, "package") == LUA_TTABLE, lua.getField(-1, "searchers") == LUA_TTABLE else {
            lua.setTop(lua.top - 3)
            return
        }
        // Shift entries 2...n up by one and put the searcher at 2.
        let n = lua.rawLen(-1)
        if n >= 2 {
            for i in stride(from: n, through: 2, by: -1) { lua.rawGet(-1, i); lua.rawSet(-2, i + 1) }
        }
        lua.push(function: searcher)
        lua.rawSet(-2, min(2, n + 1))
        lua.pop(3)
    }
}

/// LUA_REGISTRYINDEX (a macro Swift cannot import).
let registryIndex: Int32 = -1_000_000 - 1000
