import CLua
import CRatchetShims
import Ratchet

extension LuaHost {
    /// An error for a Swift function to throw about its arguments. With a `position` it
    /// reads like Lua's own: "bad argument #1 to 'add' (integer expected, got string)".
    public struct ArgumentError: Error, CustomStringConvertible {
        public let position: Int?
        public let message: String
        public init(_ message: String) { self.position = nil; self.message = message }
        public init(position: Int, _ message: String) { self.position = position; self.message = message }
        public var description: String { message }
    }

    /// Makes `function` callable from Lua as `module.name` (`require "module"` and the global
    /// `module`). What it throws becomes a Lua error in the calling Lua code, catchable with
    /// pcall; nothing ever unwinds through Swift (the error is raised by the C trampoline
    /// after the function has returned).
    public func register(_ name: String, in module: String, _ function: @escaping ([LuaValue]) throws -> [LuaValue]) {
        register(name, in: module) { (args: borrowing LuaArguments, results: inout LuaResults) in
            try results.append(contentsOf: function(args.values()))
        }
    }

    /// The direct form, for functions called often: the function reads its arguments from
    /// the Lua stack through `args` and pushes its results straight onto it through
    /// `results`, so a call allocates nothing (about the cost of a C function; see
    /// docs/embedding.md). Errors behave as in the `[LuaValue]` form, which is built on this.
    ///
    ///     host.register("add", in: "app") { args, results in
    ///         results.append(try args.integer(at: 0) + args.integer(at: 1))
    ///     }
    public func register(_ name: String, in module: String,
                         _ function: @escaping (borrowing LuaArguments, inout LuaResults) throws -> Void) {
        register(HostFunction(name: name, host: self, direct: function), in: module)
    }

    func register(_ f: HostFunction, in module: String) {
        functions.append(f)
        _ = try? entered {
            HostFunction.pushFunction(Lua(L), f)
            install(f.name, in: module)
        }
    }

    /// Sets module[name] = the function on top (creating the module table, its
    /// package.loaded entry and its global when absent).
    private func install(_ name: String, in module: String) {
        let lua = Lua(L)
        lua_getfield(L, registryIndex, LUA_LOADED_TABLE)
        if lua.getField(-1, module) != LUA_TTABLE {
            lua.pop()
            lua.newTable()
            lua.pushValue(-1); lua.setField(-3, module)
        }
        lua.pushValue(-1); lua_setglobal(L, module)
        lua.pushValue(-3); lua.setField(-2, name)
        lua.pop(3)
    }
}

/// A registered Swift function, sync or async. The host keeps it (`LuaHost.functions`) for
/// as long as the state lives, so the Lua closure holds only its address. Every one runs
/// behind the same implementation, `call`, through the C trampoline.
final class HostFunction {
    let name: String
    unowned(unsafe) let host: LuaHost  // the host closes the state (and so these) in its deinit
    /// Sync functions (the `[LuaValue]` form is built on this one); a no-op for async ones.
    /// Not optional: calling a closure held in a `let` of an object the caller guarantees
    /// alive needs no retain of its context; one bound out of an optional (or an enum) did.
    let direct: (borrowing LuaArguments, inout LuaResults) throws -> Void
    let asynchronous: (@Sendable ([LuaValue]) async throws -> [LuaValue])?

    init(name: String, host: LuaHost, direct: @escaping (borrowing LuaArguments, inout LuaResults) throws -> Void) {
        self.name = name
        self.host = host
        self.direct = direct
        asynchronous = nil
    }

    init(name: String, host: LuaHost, async body: @escaping @Sendable ([LuaValue]) async throws -> [LuaValue]) {
        self.name = name
        self.host = host
        direct = { _, _ in }
        asynchronous = body
    }

    /// Pushes the Lua function: the host functions' trampoline with the function's address
    /// as its upvalue. Upvalues are out of a script's reach unless it has the debug library,
    /// which can break any C function's upvalues and is not in a sandbox.
    static func pushFunction(_ lua: Lua, _ f: HostFunction) {
        ratchet_set_host_impl(call)
        lua.push(lightUserdata: Unmanaged.passUnretained(f).toOpaque())
        ratchet_push_host_function(lua.L, 1)
    }

    private static let call: LuaImpl = { L, status, _ in
        let lua = Lua(L.unsafelyUnwrapped)  // Lua passes its state
        guard let p = lua_touserdata(lua.L, ratchetUpvalue(1)) else { return lua.raise("host function is gone") }
        return Unmanaged<HostFunction>.fromOpaque(p)._withUnsafeGuaranteedRef { $0.invoke(lua, status) }
    }

    /// The hot path (a sync call) is kept small enough to inline into `call`; the rest is out
    /// of line.
    @inline(__always) private func invoke(_ lua: Lua, _ status: Int32) -> Int32 {
        guard status == LUA_OK, asynchronous == nil else { return invokeAsync(lua, status) }
        let nargs = lua_gettop(lua.L)
        var results = LuaResults(lua.L, host: host)
        do {
            try direct(LuaArguments(lua.L, host: host, count: Int(nargs)), &results)
        } catch {
            return failed(lua, nargs, error)
        }
        return results.overflowed ? failed(lua, nargs, LuaConversionError(description: "too many results")) : results.appended
    }

    /// A sync call threw (or its results did not fit): its results are dropped and the error
    /// described.
    @inline(never) private func failed(_ lua: Lua, _ nargs: Int32, _ error: Error) -> Int32 {
        lua_settop(lua.L, nargs)
        return fail(lua, error)
    }

    /// An async function's first call (start the task) or its resumption (deliver the outcome).
    @inline(never) private func invokeAsync(_ lua: Lua, _ status: Int32) -> Int32 {
        if status == LUA_YIELD { return resumeAsync(lua) }
        guard let asynchronous else { return 0 }
        let args: [LuaValue]
        do { args = try host.stack(on: lua.L).values(from: 1) } catch { return fail(lua, error) }
        return startAsync(lua, asynchronous, args)
    }

    /// Pushes the results of an async call, or describes its error for the trampoline to raise.
    func deliver(_ lua: Lua, _ outcome: Result<[LuaValue], Error>) -> Int32 {
        switch outcome {
        case let .success(results):
            do { try host.stack(on: lua.L).push(results) } catch { return fail(lua, error) }
            return Int32(results.count)
        case let .failure(error):
            return fail(lua, error)
        }
    }

    /// Describes `error` for the trampoline to raise: an argument error as Lua words it, a
    /// value that could not cross the boundary with the function's name, anything else by
    /// its description.
    private func fail(_ lua: Lua, _ error: Error) -> Int32 {
        switch error {
        case let e as LuaHost.ArgumentError:
            if let p = e.position { return lua.argError(Int32(clamping: p), e.message) }
            return lua.raise(e.message)
        case let e as LuaConversionError:
            return lua.raise("\(name): \(e)")
        default:
            return lua.raise(String(describing: error))
        }
    }
}

extension Array where Element == LuaValue {
    /// Argument `index` (0-based) as an integer, or an ArgumentError that reads like Lua's.
    public func integer(at index: Int) throws -> Int64 {
        if let n = argument(index)?.integerValue { return n }
        if argument(index)?.doubleValue != nil { throw LuaHost.ArgumentError.notAnInteger(at: index) }
        throw wrongArgument(index, "integer")
    }
    public func number(at index: Int) throws -> Double {
        guard let d = argument(index)?.doubleValue else { throw wrongArgument(index, "number") }
        return d
    }
    public func string(at index: Int) throws -> String {
        guard let s = argument(index)?.stringValue else { throw wrongArgument(index, "string") }
        return s
    }
    public func table(at index: Int) throws -> LuaTable {
        guard let t = argument(index)?.tableValue else { throw wrongArgument(index, "table") }
        return t
    }

    /// Argument `index`, nil when there is none.
    /// (`.none`, spelled out: a bare `nil` here would be the literal `LuaValue.nil`.)
    private func argument(_ index: Int) -> LuaValue? { indices.contains(index) ? .some(self[index]) : .none }

    /// Lua's name for a missing argument is "no value"; the rest are type names.
    private func wrongArgument(_ index: Int, _ expected: String) -> LuaHost.ArgumentError {
        .expected(expected, at: index, got: argument(index)?.typeName ?? "no value")
    }
}
