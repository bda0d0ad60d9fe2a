import CLua
import CRatchetShims

/// Return codes understood by the C trampoline (see CRatchetShims.h).
public enum Status {
    public static let raise: Int32 = RATCHET_RAISE
    @inline(__always) public static func yield(_ ctx: Int = 0) -> Int32 { RATCHET_YIELD_BASE - Int32(ctx) }
    /// Calls the function below the top `nargs` values (protected, one result), then runs
    /// the implementation again with `ctx`: status LUA_YIELD when the call returned, else
    /// the error's status with the error on top. For native loops that run Lua code (a
    /// handler) between their own steps; the callee may yield.
    @inline(__always) public static func call(_ nargs: Int32, ctx: Int) -> Int32 {
        RATCHET_CALL_BASE - (Int32(ctx) << 8 | nargs)
    }
}

/// Argument checking with the messages stock Lua gives (`bad argument #1 to 'f' (number
/// expected, got string)`), reported through the trampoline instead of a longjmp.
extension Lua {
    /// Pushes the argument index and message; the trampoline calls luaL_argerror with them.
    public func argError(_ arg: Int32, _ message: String) -> Int32 {
        push(Int(arg))
        push(message)
        return RATCHET_ARGERROR
    }

    public func typeError(_ arg: Int32, _ expected: String) -> Int32 {
        argError(arg, "\(expected) expected, got \(shownType(arg))")
    }

    /// The value's type as users know it, for messages: a ratchet object by its `__type`
    /// ("sockaddr", not its registry name), else `__name`, else the Lua type.
    public func shownType(_ i: Int32) -> String {
        for field: StaticString in ["__type", "__name"] {
            let t = luaL_getmetafield(L, i, cString(field))
            let n = t == LUA_TSTRING ? string(-1) : nil
            if t != LUA_TNIL { pop() }
            if let n { return n }
        }
        return lua_type(L, i) == LUA_TLIGHTUSERDATA ? "light userdata" : typeName(i)
    }

    /// A plain string error (like luaL_error, with the caller's position in front).
    public func raise(_ message: String) -> Int32 {
        luaL_where(L, 1)
        push(message)
        lua_concat(L, 2)
        return Status.raise
    }

    /// A duration argument of the thread functions: a number, not NaN (infinity means
    /// forever). With `optional`, nil or none gives `absent`. On failure the second value is
    /// the argument error to return.
    public func duration(_ i: Int32, optional: Bool = false, absent: Double = -1) -> (Double, Int32?) {
        if optional && isNoneOrNil(i) { return (absent, nil) }
        guard let v = number(i) else { return (0, typeError(i, "number")) }
        guard !v.isNaN else { return (0, argError(i, "number has no valid value (NaN)")) }
        return (v, nil)
    }

    /// Checks that argument `i` is a finite number of seconds; NaN and infinities are
    /// rejected so that no conversion to an integer type can trap later.
    public func seconds(_ i: Int32) -> Double? {
        guard let v = number(i), v.isFinite else { return nil }
        return v
    }
}
