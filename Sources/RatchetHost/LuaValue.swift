/// A Lua value crossing the boundary between Swift and a `LuaHost`.
///
/// Scalars and tables are copied; functions, userdata and threads stay in the Lua state and
/// are held through a `LuaReference`, valid while the host lives. As in Lua, `.integer(1)`
/// and `.number(1.0)` are different subtypes (Swift's `==` tells them apart; Lua's does
/// not), and `.number(.nan)` is not equal to itself.
public enum LuaValue: Hashable, Sendable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    /// Bytes, NUL included; `LuaString.string` is the UTF-8 view.
    case string(LuaString)
    case table(LuaTable)
    case function(LuaReference)
    case userdata(LuaReference)
    case thread(LuaReference)

    /// The name Lua's `type()` gives the value.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        case .function: return "function"
        case .userdata: return "userdata"
        case .thread: return "thread"
        }
    }

    /// Lua's truth: everything but nil and false.
    public var isTruthy: Bool {
        switch self {
        case .nil, .boolean(false): return false
        default: return true
        }
    }

    public var boolValue: Bool? { if case let .boolean(b) = self { return b }; return nil }
    /// An integer, or a float with an integral value in Int64's range (Lua's own rule).
    public var integerValue: Int64? {
        switch self {
        case let .integer(i): return i
        case let .number(d): return d.rounded() == d && d >= -0x1p63 && d < 0x1p63 ? Int64(d) : nil
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case let .integer(i): return Double(i)
        case let .number(d): return d
        default: return nil
        }
    }
    /// The UTF-8 view of a string (invalid sequences repaired), nil for other types.
    public var stringValue: String? { if case let .string(s) = self { return s.string }; return nil }
    public var tableValue: LuaTable? { if case let .table(t) = self { return t }; return nil }

    /// `value[key]` for a table, `.nil` otherwise.
    public subscript(key: LuaValue) -> LuaValue {
        tableValue?[key] ?? .nil
    }
}

/// A Lua string: any bytes.
public struct LuaString: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { bytes = Array(string.utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    /// The bytes decoded as UTF-8 (invalid sequences become U+FFFD).
    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { string }
}

/// A Lua table copied into Swift: its entries by key (nil values are absent, as in Lua).
public struct LuaTable: Hashable, Sendable, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral {
    public var entries: [LuaValue: LuaValue]
    public init(_ entries: [LuaValue: LuaValue] = [:]) { self.entries = entries }
    public init(dictionaryLiteral elements: (LuaValue, LuaValue)...) {
        entries = [:]
        for (k, v) in elements where v != .nil { entries[k] = v }
    }
    /// A sequence: keys 1...n.
    public init(arrayLiteral elements: LuaValue...) { self.init(array: elements) }
    public init(array: [LuaValue]) {
        entries = [:]
        for (i, v) in array.enumerated() where v != .nil { entries[.integer(Int64(i + 1))] = v }
    }
    public subscript(key: LuaValue) -> LuaValue {
        get { entries[key] ?? .nil }
        set { entries[key] = newValue == .nil ? nil : newValue }
    }
    /// The sequence part: t[1], t[2], ... up to the first nil.
    public var array: [LuaValue] {
        var out: [LuaValue] = []
        while let v = entries[.integer(Int64(out.count + 1))] { out.append(v) }
        return out
    }
    public var count: Int { entries.count }
}

extension LuaValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .nil }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(LuaString(value)) }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    public init(dictionaryLiteral elements: (LuaValue, LuaValue)...) {
        var t = LuaTable()
        for (k, v) in elements { t[k] = v }
        self = .table(t)
    }
}

extension LuaValue {
    public init(_ b: Bool) { self = .boolean(b) }
    public init<I: BinaryInteger>(_ i: I) { self = .integer(Int64(i)) }
    public init(_ d: Double) { self = .number(d) }
    public init(_ s: String) { self = .string(LuaString(s)) }
    public init(bytes: [UInt8]) { self = .string(LuaString(bytes: bytes)) }
}

extension LuaValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .nil: return "nil"
        case let .boolean(b): return String(b)
        case let .integer(i): return String(i)
        case let .number(d): return String(d)
        case let .string(s): return s.string.debugDescription
        case let .table(t): return "table(\(t.count) entries)"
        case let .function(r), let .userdata(r), let .thread(r): return "\(typeName): ref \(r.ref)"
        }
    }
}
