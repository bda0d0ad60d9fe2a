import CLua
import CRatchetShims
import Ratchet
import Glibc

/// Embeds a Lua 5.4 state with the standard libraries and ratchet preloaded, so a Swift
/// program can run Lua code, give it Swift functions, and exchange values with it.
///
/// A host belongs to one OS thread at a time (any thread, one after the other); several
/// hosts may run on several threads at once: they share nothing.
public final class LuaHost {
    public let L: OpaquePointer
    public let configuration: Configuration
    let owner = ReferenceOwner()
    /// Read by the C allocator and count hook through the state's extra space.
    let limits: UnsafeMutablePointer<ratchet_limits>
    let watchdog: Watchdog?
    let asyncCalls: AsyncCalls
    /// Created on the first async run/call.
    private var ownThreadStorage: HostThread?
    private var ownThreadLock = pthread_mutex_t()
    var ownThread: HostThread {
        pthread_mutex_lock(&ownThreadLock)
        defer { pthread_mutex_unlock(&ownThreadLock) }
        if let t = ownThreadStorage { return t }
        let t = HostThread()
        ownThreadStorage = t
        return t
    }
    /// The coroutine the kernel is resuming, published for `stop()` and the watchdog.
    let watchSlot = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<UnsafeRawPointer?>.size,
                                                     alignment: MemoryLayout<UnsafeRawPointer?>.alignment)
    /// The base library's `tostring`, kept before any script runs: error reporting must not
    /// depend on globals a script can replace or remove.
    private var tostringRef: Int32 = LUA_NOREF
    var stack: ValueStack { ValueStack(L: L, owner: owner) }
    /// The stack of `L`, the main state or one of its coroutines (a function called from Lua
    /// works on the caller's stack; references go to the shared registry).
    func stack(on L: OpaquePointer) -> ValueStack { ValueStack(L: L, owner: owner) }
    private var closed = false
    /// The registered Swift functions: Lua closures hold only their addresses, so they live
    /// as long as the state.
    var functions: [HostFunction] = []

    public convenience init() throws { try self.init(configuration: Configuration()) }

    public init(configuration: Configuration) throws {
        self.configuration = configuration
        pthread_mutex_init(&ownThreadLock, nil)
        watchSlot.storeBytes(of: nil, as: UnsafeRawPointer?.self)
        limits = .allocate(capacity: 1)
        limits.initialize(to: ratchet_limits())
        limits.pointee.memory_limit = configuration.memoryLimit.map { size_t(max(1, $0)) } ?? 0
        // luaL_newstate for its panic and warning functions, then the counting allocator
        // (both allocate with realloc/free), starting from what the state holds already.
        guard let L = luaL_newstate() else {
            limits.deallocate()
            watchSlot.deallocate()
            throw LuaError(message: "cannot create a Lua state (out of memory)", code: "ENOMEM")
        }
        self.L = L
        ratchet_set_limits(L, limits)
        watchdog = configuration.timeLimit == nil ? nil : Watchdog()
        do { asyncCalls = try AsyncCalls() } catch {
            lua_close(L); limits.deallocate(); watchSlot.deallocate()
            throw error
        }
        let wasInSwift = ratchet_enter_swift(1)  // no memory limit while the host sets up
        defer { _ = ratchet_enter_swift(wasInSwift) }
        if configuration.ignoreEnvironment {
            // lua.c's way (-E): the package library reads this registry flag when it opens.
            lua_pushboolean(L, 1)
            lua_setfield(L, registryIndex, "LUA_NOENV")
        }
        luaL_openlibs(L)
        Coroutines.install(self)  // the watchdog and stop() reach plain coroutines too
        lua_getglobal(L, "tostring")
        tostringRef = luaL_ref(L, registryIndex)
        Ratchet.preload(L)
        BundledModules.install(L)
        HostRegistry.set(self)
        Kernel.setObserver(Lua(L), asyncCalls)
        // As in ratchet-lua: the global `ratchet` is set before any script runs.
        try run(string: "require 'ratchet'", name: "=ratchet")
        if configuration.libraries.sandboxed {
            try Sandbox.apply(self)
        } else if !configuration.luaPath.isEmpty {
            let extra = configuration.luaPath.flatMap { ["\($0)/?.lua", "\($0)/?/init.lua"] }.joined(separator: ";")
            try run(string: "package.path = ... .. ';' .. package.path", name: "=path", args: [LuaValue(extra)])
        }
    }

    /// A host with every library: `luaPath` as extra `package.path` directories and, with
    /// `ignoreEnvironment`, `package.path`/`cpath` not read from LUA_PATH/LUA_CPATH (`lua5.4 -E`).
    public convenience init(luaPath: [String], ignoreEnvironment: Bool = false) throws {
        var c = Configuration()
        c.luaPath = luaPath
        c.ignoreEnvironment = ignoreEnvironment
        try self.init(configuration: c)
    }

    deinit {
        close()
        limits.deallocate()
        watchSlot.deallocate()
    }

    /// Closes the state (finalizers run: sockets close, ZeroMQ delivers what is queued
    /// within LINGER), as lua5.4 does at a normal end. Nothing may use the host after.
    public func close() {
        if closed { return }
        closed = true
        ownThreadStorage?.shutDown()
        watchdog?.shutDown()
        lua_close(L)
    }

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

    // MARK: running Lua

    /// Runs a chunk of Lua source; `args` are its `...`. Returns what the chunk returns.
    @discardableResult
    public func run(string source: String, name: String = "=(string)", args: [LuaValue] = []) throws -> [LuaValue] {
        try entered {
            var src = source
            let st = src.withUTF8 { b in
                luaL_loadbufferx(L, UnsafeRawPointer(b.baseAddress)?.assumingMemoryBound(to: CChar.self), b.count, name,
                                 configuration.libraries.sandboxed ? "t" : nil)
            }
            return try protectedCall(loadStatus: st, args: args)
        }
    }

    @discardableResult
    public func run(string source: String, name: String = "=(string)", args: [String]) throws -> [LuaValue] {
        try run(string: source, name: name, args: args.map { LuaValue($0) })
    }

    /// Runs a Lua file; `args` are its `...` and the global `arg` (`arg[0]` is the path).
    @discardableResult
    public func run(file path: String, args: [LuaValue] = []) throws -> [LuaValue] {
        try entered {
            var argTable = LuaTable(array: args)
            argTable[0] = LuaValue(path)
            try stack.push([.table(argTable)])
            lua_setglobal(L, "arg")
            return try protectedCall(loadStatus: luaL_loadfilex(L, path, configuration.libraries.sandboxed ? "t" : nil), args: args)
        }
    }

    @discardableResult
    public func run(file path: String, args: [String]) throws -> [LuaValue] {
        try run(file: path, args: args.map { LuaValue($0) })
    }

    /// Runs standard input as `lua5.4 -` does: a first line starting with "#" is skipped,
    /// a precompiled chunk is accepted, and the chunk is named "stdin".
    @discardableResult
    public func runStandardInput(args: [String] = []) throws -> [LuaValue] {
        try entered { try protectedCall(loadStatus: luaL_loadfilex(L, nil, nil), args: args.map { LuaValue($0) }) }
    }

    /// Calls the loaded chunk (or reports its load error) like `run`, leaving its results
    /// on the stack; returns their number (the interactive prompt prints them).
    func call(loadStatus: Int32, args: [String], keepResults: Bool) throws -> Int32 {
        try entered {
            let base = lua_gettop(L)
            _ = try protectedCall(loadStatus: loadStatus, args: args.map { LuaValue($0) }, keepResults: true)
            return lua_gettop(L) - base + 1
        }
    }

    /// Pops the error message on top (a load error) as a LuaError.
    func popError() -> LuaError {
        defer { lua_settop(L, -2) }
        return LuaError(message: Lua(L).stringOrNumber(-1) ?? "(error object is a \(Lua(L).typeName(-1)) value)")
    }

    /// Calls the global function `name` with `args`; returns its results.
    @discardableResult
    public func call(_ name: String, _ args: [LuaValue] = []) throws -> [LuaValue] {
        try entered {
            lua_getglobal(L, name)
            guard lua_type(L, -1) != LUA_TNIL else {
                lua_settop(L, -2)
                throw LuaError(message: "attempt to call a nil value (global '\(name)')")
            }
            return try protectedCall(loadStatus: LUA_OK, args: args)
        }
    }

    /// Calls a Lua function value (from `globals`, a result, or an argument).
    @discardableResult
    public func call(_ function: LuaValue, _ args: [LuaValue] = []) throws -> [LuaValue] {
        try entered {
            try stack.push([function])
            return try protectedCall(loadStatus: LUA_OK, args: args)
        }
    }

    /// The global table: `host.globals["limit"] = 10`.
    public var globals: Globals { Globals(host: self) }

    public struct Globals {
        let host: LuaHost
        public subscript(name: String) -> LuaValue {
            get {
                (try? host.entered { () throws -> LuaValue in
                    lua_getglobal(host.L, name)
                    defer { lua_settop(host.L, -2) }
                    return try host.stack.value(at: -1)
                }) ?? .nil
            }
            nonmutating set {
                try? host.entered {
                    try host.stack.push([newValue])
                    lua_setglobal(host.L, name)
                }
            }
        }
    }

    // MARK: the protected call every entry point uses

    /// Host code that touches the state: references dropped elsewhere are freed first, and
    /// the memory limit is off (an allocation failure here would longjmp out of Swift).
    func entered<R>(_ body: () throws -> R) throws -> R {
        let wasInSwift = ratchet_enter_swift(1)
        defer { _ = ratchet_enter_swift(wasInSwift) }
        owner.collect(L)
        return try body()
    }

    /// The function (or load error) is on top; calls it with `args` under the message
    /// handler and the limits, and returns its results.
    private func protectedCall(loadStatus: Int32, args: [LuaValue], keepResults: Bool = false) throws -> [LuaValue] {
        guard loadStatus == LUA_OK else { throw popError() }
        let base = lua_gettop(L)  // the function
        do { try stack.push(args) } catch { lua_settop(L, base - 1); throw error }
        lua_pushlightuserdata(L, Unmanaged.passUnretained(self).toOpaque())
        ratchet_push_impl_upvalues(L, LuaHost.messageHandler, 1)
        lua_rotate(L, base, 1)  // handler below the function
        let st = Limits.running(self) { lua_pcallk(L, Int32(args.count), LUA_MULTRET, base, 0, nil) }
        guard st == LUA_OK else {
            defer { lua_settop(L, base - 1) }
            throw failure(status: st)
        }
        lua_rotate(L, base, -1); lua_settop(L, -2)  // the handler; the results stay from base
        if keepResults { return [] }
        defer { lua_settop(L, base - 1) }
        return try stack.values(from: base)
    }

    /// The LuaError for a failed call; the error (or the handler's record of it) is on top.
    private func failure(status: Int32) -> LuaError {
        let limitCode: String?
        switch limits.pointee.hit {
        case RATCHET_LIMIT_MEMORY: limitCode = "ENOMEM"
        case RATCHET_LIMIT_INSTRUCTIONS, RATCHET_LIMIT_TIME: limitCode = limits.pointee.stopped != 0 ? "ESTOPPED" : "ELIMIT"
        default: limitCode = nil
        }
        if lua_type(L, -1) == LUA_TTABLE, lua_getmetatable(L, -1) == 0,
           let record = try? stack.value(at: -1), record["handled"] == true {
            return LuaError(message: record["message"].stringValue ?? "", traceback: record["traceback"].stringValue ?? "",
                            code: limitCode ?? record["code"].stringValue)
        }
        let message = status == LUA_ERRMEM ? "not enough memory" : ((try? stack.value(at: -1).stringValue) ?? "error in error handling")
        return LuaError(message: message, code: limitCode ?? (status == LUA_ERRMEM ? "ENOMEM" : nil))
    }

    /// The message handler: records the error's text (through the saved `tostring`), its
    /// ratchet code and the traceback in a plain table. It uses no global a script can change.
    private static let messageHandler: LuaImpl = { L, _, _ in
        let L = L!
        let host = Unmanaged<LuaHost>.fromOpaque(lua_touserdata(L, ratchetUpvalue(2))!).takeUnretainedValue()
        lua_settop(L, 1)
        var code: String? = nil
        if lua_type(L, 1) == LUA_TTABLE {
            lua_pushstring(L, "code")
            if lua_rawget(L, 1) == LUA_TSTRING { code = Lua(L).string(-1) }
            lua_settop(L, 1)
        }
        let message: String
        if let s = Lua(L).stringOrNumber(1) {
            message = s
        } else {
            lua_rawgeti(L, registryIndex, lua_Integer(host.tostringRef))
            lua_pushvalue(L, 1)
            if lua_pcallk(L, 1, 1, 0, 0, nil) == LUA_OK, let s = Lua(L).string(-1) {
                message = s
            } else {
                message = "(error object is a \(String(cString: lua_typename(L, lua_type(L, 1)))) value)"
            }
            lua_settop(L, 1)
        }
        luaL_traceback(L, L, nil, 1)
        let lua = Lua(L)
        lua.newTable(nrec: 4)
        lua.push(true); lua.setField(-2, "handled")
        lua.push(message); lua.setField(-2, "message")
        lua.pushValue(2); lua.setField(-2, "traceback")
        if let code { lua.push(code); lua.setField(-2, "code") }
        return 1
    }
}

/// lua_upvalueindex(i) (a macro).
@inline(__always) func ratchetUpvalue(_ i: Int32) -> Int32 { registryIndex - i }

/// Finds the host of a Lua state (for functions called from Lua).
enum HostRegistry {
    private static let key = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
    static func set(_ host: LuaHost) {
        lua_pushlightuserdata(host.L, Unmanaged.passUnretained(host).toOpaque())
        lua_rawsetp(host.L, registryIndex, key)
    }
    static func host(_ L: OpaquePointer) -> LuaHost? {
        lua_rawgetp(L, registryIndex, key)
        defer { lua_settop(L, -2) }
        guard let p = lua_touserdata(L, -1) else { return nil }
        return Unmanaged<LuaHost>.fromOpaque(p).takeUnretainedValue()
    }
}
