import CLua
import CRatchetShims

/// Return codes understood by the C trampoline (see CRatchetShims.h).
public enum Status {
    public static let raise: Int32 = RATCHET_RAISE
    @inline(__always) public static func yield(_ ctx: Int = 0) -> Int32 { RATCHET_YIELD_BASE - Int32(ctx) }
    @inline(__always) public static func results(_ n: Int32) -> Int32 { n }
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
        let got: String
        let t = luaL_getmetafield(L, arg, "__name")
        if t == LUA_TSTRING, let n = string(-1) {
            got = n
        } else {
            got = lua_type(L, arg) == LUA_TLIGHTUSERDATA ? "light userdata" : typeName(arg)
        }
        if t != LUA_TNIL { pop() }
        return argError(arg, "\(expected) expected, got \(got)")
    }

    /// A plain string error (like luaL_error, with the caller's position in front).
    public func raise(_ message: String) -> Int32 {
        luaL_where(L, 1)
        push(message)
        lua_concat(L, 2)
        return Status.raise
    }

    /// Checks that argument `i` is a finite number of seconds; NaN and infinities are
    /// rejected so that no conversion to an integer type can trap later.
    public func seconds(_ i: Int32) -> Double? {
        guard let v = number(i), v.isFinite else { return nil }
        return v
    }
}
