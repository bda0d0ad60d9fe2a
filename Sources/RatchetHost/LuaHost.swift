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
    private var closed = false

    /// - Parameters:
    ///   - luaPath: extra `package.path` entries (e.g. the bundled `LuaLib`).
    ///   - ignoreEnvironment: as `lua5.4 -E`: `package.path` and `package.cpath` ignore
    ///     LUA_PATH and LUA_CPATH.
    public init(luaPath: [String] = LuaHost.defaultLuaPath(), ignoreEnvironment: Bool = false) {
        L = luaL_newstate()!
        if ignoreEnvironment {
            // lua.c's way: the package library reads this registry flag when it opens.
            lua_pushboolean(L, 1)
            lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV")
        }
        luaL_openlibs(L)
        Ratchet.preload(L)
        if !luaPath.isEmpty {
            let extra = luaPath.flatMap { ["\($0)/?.lua", "\($0)/?/init.lua"] }.joined(separator: ";")
            _ = try? run(string: "package.path = ... .. ';' .. package.path", name: "=path", args: [extra])
        }
    }

    deinit { close() }

    /// Closes the state (finalizers run: sockets close, ZeroMQ delivers what is queued
    /// within LINGER), as lua5.4 does at a normal end. Nothing may use the host after.
    public func close() {
        if closed { return }
        closed = true
        lua_close(L)
    }

    /// Where the bundled Lua modules are: beside an installed runner (`../share/lua/5.4`) and,
    /// for a build tree, the package's own `LuaLib`.
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

    /// Runs standard input as `lua5.4 -` does: a first line starting with "#" is skipped,
    /// a precompiled chunk is accepted, and the chunk is named "stdin".
    public func runStandardInput(args: [String] = []) throws {
        try call(loadStatus: luaL_loadfilex(L, nil, nil), args: args)
    }

    /// Calls the loaded chunk under the traceback handler. With `keepResults` its results
    /// stay on the stack and their number is returned.
    @discardableResult
    func call(loadStatus: Int32, args: [String], keepResults: Bool = false) throws -> Int32 {
        guard loadStatus == LUA_OK else { throw popError() }
        for a in args { _ = a.withCString { lua_pushstring(L, $0) } }
        let base = lua_gettop(L) - Int32(args.count)
        pushTraceback()
        lua_rotate(L, base, 1)  // handler below the function
        let st = lua_pcallk(L, Int32(args.count), keepResults ? LUA_MULTRET : 0, base, 0, nil)
        lua_rotate(L, base, -1); lua_settop(L, -2)  // remove the handler
        guard st == LUA_OK else { throw popError() }
        return lua_gettop(L) - base + 1
    }

    /// A message handler that turns any error value (ratchet errors included) into text
    /// with a traceback; it runs inside pcall, so its own failures cannot escape.
    private func pushTraceback() {
        let src = "local e = ...; local ok, s = pcall(tostring, e); return debug.traceback(ok and s or '(error object is not a string)', 2)"
        _ = luaL_loadstring(L, src)
    }

    func popError() -> LuaError {
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
