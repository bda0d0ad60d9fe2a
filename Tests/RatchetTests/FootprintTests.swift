import Testing
@testable import Ratchet

/// glibc's, declared here: the Glibc module does not export <malloc.h>.
@_silgen_name("malloc_usable_size") private func mallocUsableSize(_ p: UnsafeMutableRawPointer) -> Int

/// Every idle connection carries one socket, one I/O watcher and one thread object, so their
/// sizes are part of the per-connection memory figure in the README. These checks fail when
/// a new stored field pushes one of them into the next malloc size class.
@Suite struct FootprintTests {
    private func usable(_ o: AnyObject) -> Int {
        mallocUsableSize(Unmanaged.passUnretained(o).toOpaque())
    }

    @Test func socketObjectFitsA64ByteChunk() {
        let s = Socket(fd: -1)
        #expect(usable(s) <= 56)
    }

    @Test func ioWatcherAndThreadFitTheirChunks() throws {
        let k = try #require(Kernel())  // its event base is left for the process exit
        let w = IOWatcher(kernel: k, fd: -1)
        #expect(usable(w) <= 72)
        let t = LuaThread(kernel: k, co: OpaquePointer(bitPattern: 0x1000)!, ref: -1, background: false)
        #expect(usable(t) <= 88)
    }

    @Test func wakeReasonsRoundTripThroughThePackedWord() throws {
        let k = try #require(Kernel())  // its event base is left for the process exit
        let t = LuaThread(kernel: k, co: OpaquePointer(bitPattern: 0x1000)!, ref: -1, background: false)
        for w: LuaThread.Wake in [.none, .timeout, .signal, .ready(0), .ready(7), .ready(1 << 40 | 3)] {
            t.wake = w
            #expect(t.wake == w)
        }
    }
}
