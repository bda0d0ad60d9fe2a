import CLua
import Glibc

/// A function, userdata or thread left in a host's Lua state: a registry reference. It may
/// be dropped on any thread; the reference is freed by the host's own thread on its next
/// entry (the Lua state must only be touched by the thread running the host).
public final class LuaReference: Hashable, @unchecked Sendable {
    public let ref: Int32
    weak var owner: ReferenceOwner?

    init(ref: Int32, owner: ReferenceOwner) {
        self.ref = ref
        self.owner = owner
    }

    deinit { owner?.release(ref) }

    public static func == (a: LuaReference, b: LuaReference) -> Bool { a === b }
    public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

/// The part of a host that references belong to: frees registry slots the references let go.
final class ReferenceOwner: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var released: [Int32] = []

    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }

    func release(_ ref: Int32) {
        pthread_mutex_lock(&lock)
        released.append(ref)
        pthread_mutex_unlock(&lock)
    }

    /// Unrefs what was released (on the host's thread).
    func collect(_ L: OpaquePointer) {
        pthread_mutex_lock(&lock)
        let refs = released
        released.removeAll()
        pthread_mutex_unlock(&lock)
        for r in refs { luaL_unref(L, registryIndex, r) }
    }
}
