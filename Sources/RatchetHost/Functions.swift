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
        register(HostFunction(name: name, host: self, body: .sync(function)), in: module)
    }

    func register(_ f: HostFunction, in module: String) {
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

/// A registered Swift function, sync or async: kept by the Lua closure's second upvalue.
/// Every one runs behind the same implementation, `call`, through the C trampoline.
final class HostFunction: LuaHandle {
    static let metatableName: StaticString = "ratchet_host_function"
    enum Body {
        case sync(([LuaValue]) throws -> [LuaValue])
        case async(@Sendable ([LuaValue]) async throws -> [LuaValue])
    }
    let name: String
    unowned(unsafe) let host: LuaHost  // the host closes the state (and so these) in its deinit
    let body: Body

    init(name: String, host: LuaHost, body: Body) {
        self.name = name
        self.host = host
        self.body = body
    }

    func close(_ lua: Lua) {}

    /// Pushes the Lua function: the trampoline with `call` and the function's userdata.
    static func pushFunction(_ lua: Lua, _ f: HostFunction) {
        registerMetatable(lua, methods: [])
        push(lua, f)
        ratchet_push_impl_upvalues(lua.L, call, 1)
    }

    static let call: LuaImpl = { L, status, _ in
        let lua = Lua(L!)
        guard let f = HostFunction.get(lua, ratchetUpvalue(2)) else { return lua.raise("host function is gone") }
        if status == LUA_YIELD { return f.resumeAsync(lua) }
        let args: [LuaValue]
        do { args = try f.host.stack(on: lua.L).values(from: 1) } catch {
            return lua.raise("\(f.name): \(error)")
        }
        switch f.body {
        case let .async(body): return f.startAsync(lua, body, args)
        case let .sync(body):
            do { return f.deliver(lua, .success(try body(args))) } catch { return f.deliver(lua, .failure(error)) }
        }
    }

    /// Pushes the results, or describes the error for the trampoline to raise.
    func deliver(_ lua: Lua, _ outcome: Result<[LuaValue], Error>) -> Int32 {
        switch outcome {
        case let .success(results):
            do { try host.stack(on: lua.L).push(results) } catch { return lua.raise("\(name): \(error)") }
            return Int32(results.count)
        case let .failure(e as LuaHost.ArgumentError):
            if let p = e.position { return lua.argError(Int32(p), e.message) }
            return lua.raise(e.message)
        case let .failure(error):
            return lua.raise(String(describing: error))
        }
    }
}

extension Array where Element == LuaValue {
    /// Argument `index` (0-based) as an integer, or an ArgumentError that reads like Lua's.
    public func integer(at index: Int) throws -> Int64 {
        let v = index < count ? self[index] : .nil
        guard let n = v.integerValue else {
            throw LuaHost.ArgumentError(position: index + 1, v.doubleValue != nil ? "number has no integer representation"
                                                                                   : "integer expected, got \(v.argumentTypeName)")
        }
        return n
    }
    public func number(at index: Int) throws -> Double {
        let v = index < count ? self[index] : .nil
        guard let d = v.doubleValue else { throw LuaHost.ArgumentError(position: index + 1, "number expected, got \(v.argumentTypeName)") }
        return d
    }
    public func string(at index: Int) throws -> String {
        let v = index < count ? self[index] : .nil
        guard let s = v.stringValue else { throw LuaHost.ArgumentError(position: index + 1, "string expected, got \(v.argumentTypeName)") }
        return s
    }
    public func table(at index: Int) throws -> LuaTable {
        let v = index < count ? self[index] : .nil
        guard let t = v.tableValue else { throw LuaHost.ArgumentError(position: index + 1, "table expected, got \(v.argumentTypeName)") }
        return t
    }
}

extension LuaValue {
    /// Lua's name for a missing argument is "no value"; the rest are type names.
    var argumentTypeName: String { typeName }
}
