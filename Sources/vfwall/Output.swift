import SystemPackage
#if canImport(Glibc)
    import Glibc
#endif

/// Writes one line to standard error.
func printError(_ s: String) {
    fputs(s + "\n", stderr)
}

/// Right-aligns `s` in `width` columns (left-aligns it for a negative width).
func pad(_ s: String, _ width: Int) -> String {
    let fill = String(repeating: " ", count: max(0, abs(width) - s.count))
    return width < 0 ? s + fill : fill + s
}

/// Writes `text` to the file at `path`, replacing it.
func writeText(_ text: String, to path: String) throws {
    let fd = try FileDescriptor.open(
        FilePath(path), .writeOnly, options: [.create, .truncate],
        permissions: [.ownerReadWrite, .groupRead, .otherRead])
    defer { try? fd.close() }
    _ = try fd.writeAll(Array(text.utf8))
}
