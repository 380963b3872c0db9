import Foundation
import SystemPackage

/// Reserves hugepages for DPDK through sysfs and mounts hugetlbfs for them.
public struct Hugepages {
    public let sysfs: Sysfs

    public init(sysfs: Sysfs) { self.sysfs = sysfs }

    public enum Size: String, CaseIterable, Sendable {
        case twoMiB = "2M", oneGiB = "1G"
        var kilobytes: Int { self == .twoMiB ? 2048 : 1_048_576 }
        var mountPoint: String { self == .twoMiB ? "/dev/hugepages" : "/dev/hugepages-1G" }
    }

    public struct Reservation: Equatable, Sendable {
        public let size: Size
        public let node: Int?
        public let requested: Int
        public let reserved: Int
        public let free: Int
        public let mountPoint: String?
    }

    private func directory(_ size: Size, node: Int?) -> String {
        let leaf = "hugepages/hugepages-\(size.kilobytes)kB"
        return node.map { "devices/system/node/node\($0)/\(leaf)" } ?? "kernel/mm/\(leaf)"
    }

    /// Writes nr_hugepages and reads back what the kernel really set aside (it gives
    /// fewer when memory is fragmented; that is reported, not hidden).
    public func reserve(count: Int, size: Size, node: Int?, mount: Bool) throws -> Reservation {
        let dir = directory(size, node: node)
        guard sysfs.exists(dir) else {
            let what =
                node.map { "NUMA node \($0) has no \(size.rawValue) hugepages" }
                ?? "this kernel has no \(size.rawValue) hugepages"
            throw PlumbingError(
                "\(what) (\(sysfs.path(dir)) is missing); pick another --size or --node, or boot with "
                    + "hugepagesz=\(size.rawValue)."
            )
        }
        try sysfs.write("\(dir)/nr_hugepages", String(count))
        let reserved = sysfs.readInt("\(dir)/nr_hugepages") ?? 0
        let free = sysfs.readInt("\(dir)/free_hugepages") ?? 0
        var mounted: String?
        if mount && count > 0 { mounted = try mountHugetlbfs(size) }
        return Reservation(
            size: size, node: node, requested: count, reserved: reserved, free: free, mountPoint: mounted)
    }

    /// Mounts hugetlbfs with pagesize=SIZE unless a mount for that size exists already.
    func mountHugetlbfs(_ size: Size) throws -> String {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 4, fields[2] == "hugetlbfs" else { continue }
            let options = fields[3].split(separator: ",")
            let pageSize = options.first { $0.hasPrefix("pagesize=") }.map { String($0.dropFirst(9)) } ?? "2M"
            if pageSize == size.rawValue || (size == .twoMiB && pageSize == "2048k") { return String(fields[1]) }
        }
        let point = size.mountPoint
        try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        guard Glibc.mount("hugetlbfs", point, "hugetlbfs", 0, "pagesize=\(size.rawValue)") == 0 else {
            throw PlumbingError(
                "cannot mount hugetlbfs on \(point) (\(Errno(rawValue: errno))); "
                    + "mount it by hand or pass --no-mount.")
        }
        return point
    }
}
