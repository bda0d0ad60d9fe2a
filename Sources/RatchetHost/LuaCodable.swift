/// `Codable` Swift values to and from `LuaValue`: structs and dictionaries become tables with
/// string keys, arrays become sequences (keys 1...n), optionals that are nil are absent (as
/// nil is in a Lua table), integers stay integers and floating-point numbers numbers.
public struct LuaEncoder {
    public init() {}
    public func encode<T: Encodable>(_ value: T) throws -> LuaValue {
        let slot = EncodingSlot()
        try value.encode(to: ValueEncoder(slot: slot, codingPath: []))
        return slot.materialize()
    }
}

public struct LuaDecoder {
    public init() {}
    public func decode<T: Decodable>(_ type: T.Type, from value: LuaValue) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: []))
    }
}

// MARK: encoding

/// Where one encoded value goes: a scalar, or a table still being filled.
final class EncodingSlot {
    enum Content { case value(LuaValue), table(EncodingTable) }
    var content: Content = .value(.nil)
    func materialize() -> LuaValue {
        switch content {
        case let .value(v): return v
        case let .table(t): return t.materialize()
        }
    }
    func table() -> EncodingTable {
        if case let .table(t) = content { return t }
        let t = EncodingTable()
        content = .table(t)
        return t
    }
}

final class EncodingTable {
    var entries: [(LuaValue, EncodingSlot)] = []
    func slot(_ key: LuaValue) -> EncodingSlot {
        let s = EncodingSlot()
        entries.append((key, s))
        return s
    }
    func materialize() -> LuaValue {
        var t = LuaTable()
        for (k, s) in entries { t[k] = s.materialize() }
        return .table(t)
    }
}

/// The scalar a primitive Encodable becomes, or nil for a composite one.
func primitiveLuaValue<T>(_ v: T) -> LuaValue? {
    switch v {
    case let b as Bool: return .boolean(b)
    case let s as String: return .string(LuaString(s))
    case let d as Double: return .number(d)
    case let f as Float: return .number(Double(f))
    case let i as Int: return .integer(Int64(i))
    case let i as Int8: return .integer(Int64(i))
    case let i as Int16: return .integer(Int64(i))
    case let i as Int32: return .integer(Int64(i))
    case let i as Int64: return .integer(i)
    case let i as UInt: return .integer(Int64(truncatingIfNeeded: i))
    case let i as UInt8: return .integer(Int64(i))
    case let i as UInt16: return .integer(Int64(i))
    case let i as UInt32: return .integer(Int64(i))
    case let i as UInt64: return .integer(Int64(truncatingIfNeeded: i))
    case let v as LuaValue: return v
    default: return nil
    }
}

struct ValueEncoder: Encoder {
    let slot: EncodingSlot
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder(table: slot.table(), codingPath: codingPath))
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer {
        UnkeyedEncoder(table: slot.table(), codingPath: codingPath)
    }
    func singleValueContainer() -> SingleValueEncodingContainer { SingleEncoder(slot: slot, codingPath: codingPath) }

    static func encode<T: Encodable>(_ value: T, into slot: EncodingSlot, path: [CodingKey]) throws {
        if let p = primitiveLuaValue(value) { slot.content = .value(p); return }
        try value.encode(to: ValueEncoder(slot: slot, codingPath: path))
    }
}

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let table: EncodingTable
    let codingPath: [CodingKey]
    private func key(_ k: Key) -> LuaValue { k.intValue.map { .integer(Int64($0)) } ?? .string(LuaString(k.stringValue)) }
    mutating func encodeNil(forKey key: Key) throws {}
    mutating func encode<T: Encodable>(_ value: T, forKey k: Key) throws {
        try ValueEncoder.encode(value, into: table.slot(key(k)), path: codingPath + [k])
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type, forKey k: Key) -> KeyedEncodingContainer<N> {
        KeyedEncodingContainer(KeyedEncoder<N>(table: table.slot(key(k)).table(), codingPath: codingPath + [k]))
    }
    mutating func nestedUnkeyedContainer(forKey k: Key) -> UnkeyedEncodingContainer {
        UnkeyedEncoder(table: table.slot(key(k)).table(), codingPath: codingPath + [k])
    }
    mutating func superEncoder() -> Encoder { ValueEncoder(slot: table.slot("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey k: Key) -> Encoder { ValueEncoder(slot: table.slot(key(k)), codingPath: codingPath + [k]) }
}

struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let table: EncodingTable
    let codingPath: [CodingKey]
    var count: Int { table.entries.count }
    private func next() -> EncodingSlot { table.slot(.integer(Int64(table.entries.count + 1))) }
    mutating func encodeNil() throws { _ = next() }  // keeps the positions of what follows
    mutating func encode<T: Encodable>(_ value: T) throws { try ValueEncoder.encode(value, into: next(), path: codingPath) }
    mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type) -> KeyedEncodingContainer<N> {
        KeyedEncodingContainer(KeyedEncoder<N>(table: next().table(), codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { UnkeyedEncoder(table: next().table(), codingPath: codingPath) }
    mutating func superEncoder() -> Encoder { ValueEncoder(slot: next(), codingPath: codingPath) }
}

struct SingleEncoder: SingleValueEncodingContainer {
    let slot: EncodingSlot
    let codingPath: [CodingKey]
    mutating func encodeNil() throws { slot.content = .value(.nil) }
    mutating func encode<T: Encodable>(_ value: T) throws { try ValueEncoder.encode(value, into: slot, path: codingPath) }
}

// MARK: decoding

struct ValueDecoder: Decoder {
    let value: LuaValue
    let codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .table(t) = value else { throw mismatch(LuaTable.self, value, codingPath) }
        return KeyedDecodingContainer(KeyedDecoder<Key>(table: t, codingPath: codingPath))
    }
    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case let .table(t) = value else { throw mismatch([LuaValue].self, value, codingPath) }
        return UnkeyedDecoder(table: t, codingPath: codingPath)
    }
    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleDecoder(value: value, codingPath: codingPath) }

    static func decode<T: Decodable>(_ type: T.Type, from v: LuaValue, path: [CodingKey]) throws -> T {
        if let p = try primitive(type, v, path) { return p }
        return try T(from: ValueDecoder(value: v, codingPath: path))
    }

    /// A primitive type's value (checked: no lossy conversion), or nil for composite types.
    static func primitive<T>(_ type: T.Type, _ v: LuaValue, _ path: [CodingKey]) throws -> T? {
        func int<I: FixedWidthInteger>(_: I.Type) throws -> I {
            guard let n = v.integerValue, let i = I(exactly: n) else { throw mismatch(I.self, v, path) }
            return i
        }
        let out: Any
        switch type {
        case is Bool.Type: guard let b = v.boolValue else { throw mismatch(type, v, path) }; out = b
        case is String.Type: guard let s = v.stringValue else { throw mismatch(type, v, path) }; out = s
        case is Double.Type: guard let d = v.doubleValue else { throw mismatch(type, v, path) }; out = d
        case is Float.Type: guard let d = v.doubleValue else { throw mismatch(type, v, path) }; out = Float(d)
        case is Int.Type: out = try int(Int.self)
        case is Int8.Type: out = try int(Int8.self)
        case is Int16.Type: out = try int(Int16.self)
        case is Int32.Type: out = try int(Int32.self)
        case is Int64.Type: out = try int(Int64.self)
        case is UInt.Type: out = try int(UInt.self)
        case is UInt8.Type: out = try int(UInt8.self)
        case is UInt16.Type: out = try int(UInt16.self)
        case is UInt32.Type: out = try int(UInt32.self)
        case is UInt64.Type: out = try int(UInt64.self)
        case is LuaValue.Type: out = v
        default: return nil
        }
        return out as? T
    }
}

func mismatch(_ type: Any.Type, _ v: LuaValue, _ path: [CodingKey]) -> DecodingError {
    DecodingError.typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), got Lua \(v.typeName) \(v)"))
}

struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let table: LuaTable
    let codingPath: [CodingKey]
    private func key(_ k: Key) -> LuaValue { k.intValue.map { .integer(Int64($0)) } ?? .string(LuaString(k.stringValue)) }
    var allKeys: [Key] {
        table.entries.keys.compactMap { k in
            switch k {
            case let .string(s): return Key(stringValue: s.string)
            case let .integer(i): return Key(intValue: Int(i))
            default: return nil
            }
        }
    }
    func contains(_ k: Key) -> Bool { table[key(k)] != .nil }
    func decodeNil(forKey k: Key) throws -> Bool { table[key(k)] == .nil }
    func decode<T: Decodable>(_ type: T.Type, forKey k: Key) throws -> T {
        let v = table[key(k)]
        if v == .nil, T.self != LuaValue.self {
            throw DecodingError.keyNotFound(k, .init(codingPath: codingPath, debugDescription: "no field '\(k.stringValue)'"))
        }
        return try ValueDecoder.decode(type, from: v, path: codingPath + [k])
    }
    func nestedContainer<N: CodingKey>(keyedBy: N.Type, forKey k: Key) throws -> KeyedDecodingContainer<N> {
        try ValueDecoder(value: table[key(k)], codingPath: codingPath + [k]).container(keyedBy: N.self)
    }
    func nestedUnkeyedContainer(forKey k: Key) throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: table[key(k)], codingPath: codingPath + [k]).unkeyedContainer()
    }
    func superDecoder() throws -> Decoder { ValueDecoder(value: table["super"], codingPath: codingPath) }
    func superDecoder(forKey k: Key) throws -> Decoder { ValueDecoder(value: table[key(k)], codingPath: codingPath + [k]) }
}

struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let items: [LuaValue]
    let codingPath: [CodingKey]
    var currentIndex = 0
    init(table: LuaTable, codingPath: [CodingKey]) {
        // The sequence 1...n where n is the largest integer key (nil holes decode as nil).
        let n = table.entries.keys.reduce(0) { m, k in if case let .integer(i) = k, i > 0 { return max(m, Int(i)) }; return m }
        items = n > 0 ? (1...n).map { table[.integer(Int64($0))] } : []
        self.codingPath = codingPath
    }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }
    private mutating func next(_ type: Any.Type) throws -> LuaValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "end of the sequence"))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }
    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, items[currentIndex] == .nil { currentIndex += 1; return true }
        return false
    }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ValueDecoder.decode(type, from: try next(type), path: codingPath)
    }
    mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type) throws -> KeyedDecodingContainer<N> {
        try ValueDecoder(value: try next(LuaTable.self), codingPath: codingPath).container(keyedBy: N.self)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        try ValueDecoder(value: try next(LuaTable.self), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superDecoder() throws -> Decoder { ValueDecoder(value: try next(LuaValue.self), codingPath: codingPath) }
}

struct SingleDecoder: SingleValueDecodingContainer {
    let value: LuaValue
    let codingPath: [CodingKey]
    func decodeNil() -> Bool { value == .nil }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try ValueDecoder.decode(type, from: value, path: codingPath) }
}

extension LuaValue: Codable {
    /// A LuaValue inside a Codable type is taken as it is.
    public init(from decoder: Decoder) throws {
        if let d = decoder as? ValueDecoder { self = d.value; return }
        self = .nil
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "LuaValue decodes only with LuaDecoder"))
    }
    public func encode(to encoder: Encoder) throws {
        if let e = encoder as? ValueEncoder { e.slot.content = .value(self); return }
        throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "LuaValue encodes only with LuaEncoder"))
    }
}
