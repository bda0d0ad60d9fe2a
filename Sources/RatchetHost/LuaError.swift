/// An error from Lua code run by a `LuaHost` (`run`, `call`), or a limit that stopped it.
public struct LuaError: Error, CustomStringConvertible {
    /// The error message (a ratchet error rendered by its `__tostring`).
    public let message: String
    /// The Lua stack where the error was raised.
    public let traceback: String
    /// A ratchet error's `code` ("ETIMEDOUT", "DEADLOCK", ...), "ENOMEM" when the memory limit
    /// stopped the script, "ELIMIT" for the instruction and time limits, "ESTOPPED" when
    /// `LuaHost.stop()` ended the run; nil for other errors.
    public let code: String?

    public init(message: String, traceback: String = "", code: String? = nil) {
        self.message = message
        self.traceback = traceback
        self.code = code
    }

    /// The message and the traceback, as `lua5.4` prints an uncaught error.
    public var description: String { traceback.isEmpty ? message : message + "\n" + traceback }
}
