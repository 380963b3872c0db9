import FirewallCore
import Glibc

/// Flow-table memory on transparent huge pages: anonymous memory aligned to 2 MiB and marked
/// `MADV_HUGEPAGE`, so a table of a million flows (128 MiB) is 64 TLB entries instead of 32,768
/// and a lookup costs one cache miss, not a miss and a page walk. Explicit (hugetlbfs) pages are
/// left to DPDK's mbuf pools, which need them more. Where the kernel has THP off, the region is
/// ordinary pages and works the same.
public enum HugePageRegion {
    static let hugePage = 2 << 20

    public static let allocator = RegionAllocator(name: "huge pages", allocate: allocate, release: release)

    static func rounded(_ bytes: Int) -> Int { (bytes + hugePage - 1) & ~(hugePage - 1) }

    @Sendable static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let size = rounded(bytes)
        // Over-map by one huge page, then trim, so the region starts on a 2 MiB boundary.
        guard let raw = mmap(nil, size + hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        let start = (Int(bitPattern: raw) + hugePage - 1) & ~(hugePage - 1)
        let head = start - Int(bitPattern: raw)
        if head > 0 { munmap(raw, head) }
        let tail = hugePage - head
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: start + size), tail) }
        let region = UnsafeMutableRawPointer(bitPattern: start)!
        _ = madvise(region, size, Int32(MADV_HUGEPAGE))   // advice only: THP may be off
        return region
    }

    @Sendable static func release(_ region: UnsafeMutableRawPointer, _ bytes: Int) {
        munmap(region, rounded(bytes))
    }

    /// Bytes of `region` the kernel backs with huge pages now (from /proc/self/smaps), for tests
    /// and statistics; nil when smaps cannot be read.
    public static func hugeBytes(in region: UnsafeRawPointer) -> Int? {
        guard let text = readProcFile("/proc/self/smaps") else { return nil }
        let address = UInt(bitPattern: Int(bitPattern: region))
        var inside = false
        for line in text.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let lo = UInt(line[..<dash], radix: 16),
               let space = line.firstIndex(of: " "), let hi = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inside = lo <= address && address < hi
            } else if inside && line.hasPrefix("AnonHugePages:") {
                let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                return kb * 1024
            }
        }
        return nil
    }

    /// A /proc file whole. Its size reads as 0, so read until EOF (Foundation's
    /// `String(contentsOfFile:)` gives nothing for /proc/self/smaps: `HugePageRegionTests`).
    static func readProcFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
