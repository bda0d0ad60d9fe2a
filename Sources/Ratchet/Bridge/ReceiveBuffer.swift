import Glibc

/// The one buffer every read (socket recv, exec pipe read) fills before the bytes are copied
/// into a Lua string: one per OS thread (Lua states on different pthreads must not share it),
/// allocated on first use, so the receive path never allocates.
enum ReceiveBuffer {
    /// The largest read size accepted (the reference's limit was 8192).
    static let capacity = 1 << 20
    static let defaultSize = 8192

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in free(p) }
        return k
    }()

    @inline(__always)
    static var pointer: UnsafeMutableRawPointer {
        if let p = pthread_getspecific(key) { return p }
        let p = malloc(capacity)!
        pthread_setspecific(key, p)
        return p
    }
}
