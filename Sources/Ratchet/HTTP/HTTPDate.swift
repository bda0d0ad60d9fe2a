import Glibc

/// The Date header line of HTTP responses, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
/// (RFC 9110 5.6.7, IMF-fixdate), formatted from the wall clock in a few dozen instructions:
/// the response-head builder adds it to every response without a call back into Lua, and
/// `ratchet.http.common.date_line` uses the same code. English names always (not strftime's
/// locale).
enum HTTPDate {
    private static let days: StaticString = "ThuFriSatSunMonTueWed"   // 1970-01-01 was a Thursday
    private static let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// Appends the line for `time(nil)`, formatted once a second per OS thread (kernels on
    /// several threads each have their own copy: no sharing, no lock).
    static func appendLine(_ out: inout ByteWriter) {
        var t = time_t(0)
        time(&t)
        let now = Int(t)
        let cache = threadCache   // second (Int), length (Int), then the line's bytes
        let line = UnsafeMutableBufferPointer(start: (cache + 16).assumingMemoryBound(to: UInt8.self), count: cacheLine)
        if cache.load(as: Int.self) != now {
            var fresh = ByteWriter(line)
            appendLine(&fresh, now)
            let fits = fresh.count <= cacheLine   // written in place (a year past 9999 would not fit)
            let n = fresh.count
            fresh.release()
            guard fits else { cache.storeBytes(of: Int.min, as: Int.self); appendLine(&out, now); return }
            cache.storeBytes(of: now, as: Int.self)
            cache.storeBytes(of: n, toByteOffset: 8, as: Int.self)
        }
        out.append(UnsafeRawBufferPointer(start: line.baseAddress, count: cache.load(fromByteOffset: 8, as: Int.self)))
    }

    private static let cacheLine = 48

    /// This OS thread's cache, freed with the thread.
    private static let cacheKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    private static var threadCache: UnsafeMutableRawPointer {
        if let p = pthread_getspecific(cacheKey) { return p }
        let p = calloc(1, 16 + cacheLine)!
        p.storeBytes(of: Int.min, as: Int.self)
        pthread_setspecific(cacheKey, p)
        return p
    }

    static func appendLine(_ out: inout ByteWriter, _ seconds: Int) {
        let day = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secs = seconds - day * 86400
        // civil date from the day number (H. Hinnant's days_from_civil, inverted)
        let z = day + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        guard y >= 1000 && y <= 9999 else { return appendLong(&out, day, secs, d, m, y) }
        // "Date: Www, DD Mmm YYYY HH:MM:SS GMT\r\n": 37 bytes, written in place
        var line: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &line) { b in
            let template: StaticString = "Date: Www, DD Mmm YYYY HH:MM:SS GMT\r\n"
            b.baseAddress!.copyMemory(from: template.utf8Start, byteCount: 37)
            let w = ((day % 7) + 7) % 7
            for k in 0..<3 {
                b[6 + k] = days.utf8Start[3 * w + k]
                b[14 + k] = months.utf8Start[3 * (m - 1) + k]
            }
            @inline(__always) func two(_ at: Int, _ n: Int) {
                b[at] = UInt8(0x30 + n / 10)
                b[at + 1] = UInt8(0x30 + n % 10)
            }
            two(11, d)
            two(18, y / 100)
            two(20, y % 100)
            two(23, secs / 3600)
            two(26, secs / 60 % 60)
            two(29, secs % 60)
            out.append(UnsafeRawBufferPointer(rebasing: b[0..<37]))
        }
    }

    /// A year outside 1000...9999 (os.date's way: as many digits as it takes).
    private static func appendLong(_ out: inout ByteWriter, _ day: Int, _ secs: Int, _ d: Int, _ m: Int, _ y: Int) {
        out.append("Date: ")
        let w = ((day % 7) + 7) % 7
        out.append(UnsafeRawBufferPointer(start: days.utf8Start + 3 * w, count: 3))
        out.append(", ")
        two(&out, d)
        out.append(0x20)
        out.append(UnsafeRawBufferPointer(start: months.utf8Start + 3 * (m - 1), count: 3))
        out.append(0x20)
        out.appendDecimal(y)
        out.append(0x20)
        two(&out, secs / 3600)
        out.append(0x3A)
        two(&out, secs / 60 % 60)
        out.append(0x3A)
        two(&out, secs % 60)
        out.append(" GMT\r\n")
    }

    @inline(__always) private static func two(_ out: inout ByteWriter, _ n: Int) {
        out.append(UInt8(0x30 + n / 10))
        out.append(UInt8(0x30 + n % 10))
    }

    /// date_line([seconds]) → "Date: …\r\n" for now (or for `seconds` since the epoch).
    static let dateLine: LuaImpl = { L, _, _ in
        let lua = Lua(L)
        lua.arguments(1)
        var seconds: Int? = nil
        if !lua.isNoneOrNil(1) {
            guard let s = lua.integer(1) else { return lua.typeError(1, "integer") }
            seconds = s
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { stack in
            var out = ByteWriter(stack)
            defer { out.release() }
            if let seconds { appendLine(&out, seconds) } else { appendLine(&out) }
            lua.push(bytes: out.base, count: out.count)
            return 1
        }
    }
}
