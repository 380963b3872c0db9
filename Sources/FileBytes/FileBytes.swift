import SystemPackage

/// Everything `fd` yields until end of file, at most `limit` bytes (a caller that must tell
/// "exactly the limit" from "more" asks for one byte more). Sizes are not trusted: /proc files
/// report 0 and sockets have none, so this reads until read(2) returns 0. Throws swift-system's
/// `Errno` (EINTR is retried; a socket's receive timeout arrives as EAGAIN).
public func readToEnd(_ fd: FileDescriptor, limit: Int = Int.max) throws -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while bytes.count < limit {
        let wanted = min(chunk.count, limit - bytes.count)
        let count = try chunk.withUnsafeMutableBytes { buffer in
            try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), retryOnInterrupt: true)
        }
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

/// The whole file at `path` (see `readToEnd`); throws `Errno` when it cannot be opened or read.
public func readWholeFile(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
    let fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    defer { try? fd.close() }
    return try readToEnd(fd, limit: limit)
}
