import CLua
import Ratchet
import Glibc

/// An error from Lua code run by a `LuaHost`: the message with its traceback.
public struct LuaError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Embeds a Lua 5.4 state with the standard libraries and ratchet preloaded, so a Swift
/// program can run Lua files or strings and get their errors back as Swift errors.
public final class LuaHost {
    public let L: OpaquePointer

    /// - Parameter luaPath: extra `package.path` directories (the bundled Lua modules of
    ///   `LuaLib/` are compiled in and found without them).
    public init(luaPath: [String] = []) throws {
        guard let L = luaL_newstate() else { throw LuaError(message: "cannot create a Lua state (out of memory)") }
        self.L = L
        luaL_openlibs(L)
        Ratchet.preload(L)
        BundledModules.install(L)
        // As in ratchet-lua: the global `ratchet` is set before any script runs.
        try run(string: "require 'ratchet'", name: "=ratchet")
        if !luaPath.isEmpty {
            let extra = luaPath.flatMap { ["\($0)/?.lua", "\($0)/?/init.lua"] }.joined(separator: ";")
            _ = try? run(string: "package.path = ... .. ';' .. package.path", name: "=path", args: [extra])
        }
    }

    deinit { lua_close(L) }

    /// Lua module directories beside the running executable: `../share/lua/5.4` of an
    /// installed runner and, in a build tree, the package's own `LuaLib`.
    public static func defaultLuaPath() -> [String] {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return [] }
        let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var dir = exe
        if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) }
        var paths = ["\(dir)/../share/lua/5.4"]
        // .build/<config>/ratchet-lua → the checkout's LuaLib
        var up = dir
        for _ in 0..<4 {
            if let slash = up.lastIndex(of: "/") { up = String(up[..<slash]) } else { break }
            if access("\(up)/LuaLib/ratchet", F_OK) == 0 { paths.append("\(up)/LuaLib"); break }
        }
        return paths.filter { access($0, F_OK) == 0 }
    }

    /// Runs a chunk of Lua source; `args` are passed as `...`.
    public func run(string source: String, name: String = "=(string)", args: [String] = []) throws {
        let st = source.withCString { s in
            luaL_loadbufferx(L, s, strlen(s), name, nil)
        }
        try call(loadStatus: st, args: args)
    }

    /// Runs a Lua file; `args` are passed as `...`.
    public func run(file path: String, args: [String] = []) throws {
        try call(loadStatus: luaL_loadfilex(L, path, nil), args: args)
    }

    private func call(loadStatus: Int32, args: [String]) throws {
        guard loadStatus == LUA_OK else { throw popError() }
        for a in args { _ = a.withCString { lua_pushstring(L, $0) } }
        let base = lua_gettop(L) - Int32(args.count)
        pushTraceback()
        lua_rotate(L, base, 1)  // handler below the function
        let st = lua_pcallk(L, Int32(args.count), 0, base, 0, nil)
        lua_rotate(L, base, -1); lua_settop(L, -2)  // remove the handler
        guard st == LUA_OK else { throw popError() }
    }

    /// A message handler that turns any error value (ratchet errors included) into text
    /// with a traceback; it runs inside pcall, so its own failures cannot escape.
    private func pushTraceback() {
        let src = "local e = ...; local ok, s = pcall(tostring, e); return debug.traceback(ok and s or '(error object is not a string)', 2)"
        _ = luaL_loadstring(L, src)
    }

    private func popError() -> LuaError {
        var len = 0
        let msg: String
        if let p = lua_tolstring(L, -1, &len) {
            msg = String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
        } else {
            msg = "(error object is a \(String(cString: lua_typename(L, lua_type(L, -1)))) value)"
        }
        lua_settop(L, -2)
        return LuaError(message: msg)
    }
}
