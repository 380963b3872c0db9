import Foundation

/// The one door to sysfs. Everything vfplumb reads or writes under /sys goes through
/// here, rooted at `root`, so discovery and VF creation run unchanged against a fake
/// tree in tests (`--sysfs-root`, `VFPLUMB_SYSFS_ROOT`).
public struct Sysfs: Sendable {
    /// The directory that stands for `/sys`.
    public let root: String
    /// Called after every successful write with the sysfs path (as under /sys) and the
    /// value: the CLI prints it with --verbose; tests use it to play the kernel's part.
    public let onWrite: (@Sendable (_ path: String, _ value: String) -> Void)?

    public init(root: String = "/sys", onWrite: (@Sendable (String, String) -> Void)? = nil) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
        self.onWrite = onWrite
    }

    /// The root named by `--sysfs-root`, else `VFPLUMB_SYSFS_ROOT`, else /sys.
    public static func fromEnvironment(
        override: String? = nil,
        onWrite: (@Sendable (String, String) -> Void)? = nil
    ) -> Sysfs {
        let root = override ?? ProcessInfo.processInfo.environment["VFPLUMB_SYSFS_ROOT"] ?? "/sys"
        return Sysfs(root: root, onWrite: onWrite)
    }

    /// The real path of a sysfs path such as "bus/pci/devices/0000:03:00.0/sriov_numvfs".
    public func path(_ relative: String) -> String {
        relative.hasPrefix("/") ? root + relative : root + "/" + relative
    }

    public func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: path(relative))
    }

    /// The trimmed contents of an attribute, nil when it does not exist or cannot be read.
    public func read(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path(relative)) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func readInt(_ relative: String) -> Int? {
        guard let text = read(relative) else { return nil }
        if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        return Int(text)
    }

    /// Writes an attribute the way `echo VALUE > FILE` does: one write, no truncation
    /// games (sysfs attributes take the whole value in one write(2)).
    public func write(_ relative: String, _ value: String) throws {
        let full = path(relative)
        let fd = open(full, O_WRONLY)
        guard fd >= 0 else { throw SystemError("open", full, errno: errno) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        var result: Int
        repeat {
            result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        } while result < 0 && errno == EINTR
        guard result >= 0 else { throw SystemError("write \(value) to", full, errno: errno) }
        // A regular file (a fake tree) keeps old bytes past the new end: trim them.
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { _ = ftruncate(fd, off_t(bytes.count)) }
        onWrite?("/" + relative.drop(while: { $0 == "/" }), value)
    }

    /// The entries of a directory, sorted; empty when it does not exist.
    public func list(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(relative))) ?? []).sorted()
    }

    /// The last component of a symlink's target ("driver" -> "ixgbe", "virtfn0" -> a BDF).
    public func linkTargetName(_ relative: String) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path(relative)) else {
            return nil
        }
        return (target as NSString).lastPathComponent
    }
}
