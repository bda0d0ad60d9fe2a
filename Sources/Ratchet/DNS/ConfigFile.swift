import Glibc

/// The line-oriented system files the resolver reads (/etc/resolv.conf, /etc/hosts).
enum ConfigFile {
    /// The whitespace-separated words of each line, with `#` (and `;`) comments removed.
    /// Fails with the errno of open/read.
    static func lines(_ path: String, commentChars: Set<UInt8> = [UInt8(ascii: "#")]) -> Result<[[String]], ConfigFileError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ConfigFileError(path: path, errno: errno, syscall: "open")) }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(ConfigFileError(path: path, errno: errno, syscall: "read"))
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
            // These files are small; a runaway one (a device, a huge file) is not a config.
            if data.count > 16 << 20 { return .failure(ConfigFileError(path: path, errno: EFBIG, syscall: "read")) }
        }
        var result: [[String]] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            let content = line.prefix { !commentChars.contains($0) }
            let words = content.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
                .map { String(decoding: $0, as: UTF8.self) }
            if !words.isEmpty { result.append(words) }
        }
        return .success(result)
    }
}

struct ConfigFileError: Error {
    let path: String
    let errno: Int32
    let syscall: StaticString

    /// Raises it as the ratchet error `function` reports for an unreadable file.
    func raise(_ lua: Lua, function: StaticString) -> Int32 {
        lua.raiseErrno(function, syscall, errno, description: "\(path): \(Errno.description(errno))")
    }
}
