import FileBytes
import FirewallCore
import Glibc
import Ports

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
            raw != UnsafeMutableRawPointer(bitPattern: -1)
        else { return nil }
        let start = (Int(bitPattern: raw) + hugePage - 1) & ~(hugePage - 1)
        let head = start - Int(bitPattern: raw)
        if head > 0 { munmap(raw, head) }
        let tail = hugePage - head
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: start + size), tail) }
        let region = UnsafeMutableRawPointer(bitPattern: start)!
        _ = madvise(region, size, Int32(MADV_HUGEPAGE))  // advice only: THP may be off
        return region
    }

    @Sendable static func release(_ region: UnsafeMutableRawPointer, _ bytes: Int) {
        munmap(region, rounded(bytes))
    }

    /// Bytes of `region` the kernel backs with huge pages now (from /proc/self/smaps), for tests
    /// and statistics; nil when smaps cannot be read.
    ///
    /// Scans the bytes, not `String` lines: with DPDK's mappings smaps runs to tens of thousands
    /// of lines, and splitting it into Substrings cost about 40 million instructions a call, on
    /// a control thread that may share a core with a worker.
    public static func hugeBytes(in region: UnsafeRawPointer) -> Int? {
        // Read to EOF: smaps reports size 0 (Foundation's `String(contentsOfFile:)` gives nothing).
        guard let text = try? readWholeFile("/proc/self/smaps") else { return nil }
        return hugeBytes(at: UInt(bitPattern: Int(bitPattern: region)), smaps: text)
    }

    /// The `AnonHugePages` of the mapping holding `address` in smaps text, in bytes.
    static func hugeBytes(at address: UInt, smaps text: [UInt8]) -> Int? {
        let key = Array("AnonHugePages:".utf8)
        return text.withUnsafeBufferPointer { b -> Int? in
            var inside = false
            var start = 0
            while start < b.count {
                var end = start
                while end < b.count && b[end] != 0x0A { end += 1 }
                if let (lo, hi) = mappingRange(b, start, end) {
                    inside = lo <= address && address < hi
                } else if inside && end - start > key.count && b[start..<start + key.count].elementsEqual(key) {
                    var kb = 0
                    for c in b[(start + key.count)..<end] where c >= 0x30 && c <= 0x39 { kb = kb * 10 + Int(c - 0x30) }
                    return kb * 1024
                }
                start = end + 1
            }
            return nil
        }
    }

    /// The start and end of a mapping header line (`lo-hi perms ...`), or nil for a field line.
    private static func mappingRange(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (UInt, UInt)? {
        func hex(_ i: inout Int) -> UInt? {
            var v: UInt = 0, digits = 0
            while i < end {
                let c = b[i]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x61...0x66: d = c - 0x61 + 10
                default: return digits > 0 ? v : nil
                }
                v = v << 4 | UInt(d)
                digits += 1
                i += 1
            }
            return nil
        }
        var i = start
        guard let lo = hex(&i), i < end, b[i] == 0x2D else { return nil }  // "-"
        i += 1
        guard let hi = hex(&i), i < end, b[i] == 0x20 else { return nil }  // " "
        return (lo, hi)
    }
}
