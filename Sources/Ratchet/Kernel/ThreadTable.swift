/// The live threads of a kernel, found by coroutine pointer; it owns them (one retain each).
///
/// Open addressing with Fibonacci hashing and backward-shift deletion. Swift's Dictionary
/// hashes with SipHash on every insert and removal, which was ~10% of spawning a thread;
/// this costs a multiply. Buckets hold unmanaged references so probing does no reference
/// counting; the key is read from the stored thread itself (`t.co`).
struct ThreadTable {
    private var buckets = [UnsafeMutableRawPointer?](repeating: nil, count: 16)
    private var shift = 64 - 4
    private(set) var count = 0

    @inline(__always) private func home(_ co: OpaquePointer) -> Int {
        Int(truncatingIfNeeded: (UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(co))) &* 11_400_714_819_323_198_485) >> UInt(shift))
    }

    @inline(__always) private static func thread(_ p: UnsafeMutableRawPointer) -> LuaThread {
        Unmanaged<LuaThread>.fromOpaque(p).takeUnretainedValue()
    }

    @inline(__always) private static func key(_ p: UnsafeMutableRawPointer) -> OpaquePointer {
        Unmanaged<LuaThread>.fromOpaque(p)._withUnsafeGuaranteedRef { $0.co }
    }

    func find(_ co: OpaquePointer) -> LuaThread? {
        let mask = buckets.count - 1
        var i = home(co)
        while let p = buckets[i] {
            if ThreadTable.key(p) == co { return ThreadTable.thread(p) }
            i = (i + 1) & mask
        }
        return nil
    }

    mutating func insert(_ t: LuaThread) {
        if (count + 1) * 2 > buckets.count { grow() }
        place(Unmanaged.passRetained(t).toOpaque(), t.co)
        count += 1
    }

    private mutating func place(_ p: UnsafeMutableRawPointer, _ co: OpaquePointer) {
        let mask = buckets.count - 1
        var i = home(co)
        while buckets[i] != nil { i = (i + 1) & mask }
        buckets[i] = p
    }

    private mutating func grow() {
        let old = buckets
        buckets = [UnsafeMutableRawPointer?](repeating: nil, count: old.count * 2)
        shift -= 1
        for case let p? in old { place(p, ThreadTable.key(p)) }
    }

    mutating func remove(_ t: LuaThread) {
        let mask = buckets.count - 1
        let target = Unmanaged.passUnretained(t).toOpaque()
        var i = home(t.co)
        while let p = buckets[i], p != target { i = (i + 1) & mask }
        guard buckets[i] != nil else { return }
        buckets[i] = nil
        count -= 1
        // Shift later members of the probe run back so lookups never stop at the hole.
        var j = i
        while true {
            j = (j + 1) & mask
            guard let p = buckets[j] else { break }
            let k = home(ThreadTable.key(p))
            let between = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if !between {
                buckets[i] = p
                buckets[j] = nil
                i = j
            }
        }
        Unmanaged<LuaThread>.fromOpaque(target).release()
    }

    /// Every live thread (a snapshot, safe to mutate the table while using it).
    var all: [LuaThread] { buckets.compactMap { $0.map(ThreadTable.thread) } }
}
