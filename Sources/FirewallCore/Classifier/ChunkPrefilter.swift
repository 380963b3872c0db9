/// Which chunks of a `ChunkedClassifier` an IPv4 packet may match, from the top 16 bits of its
/// addresses: for each /16 of the source, and of the destination, a 64-bit mask of chunk groups
/// (group g: chunks g * groupSize ..< (g + 1) * groupSize) with a rule that may match there. Two
/// loads a packet, then the chunks outside both masks are not searched: a policy of scattered
/// prefixes (blocklists, per-tenant allow lists) is searched in the few chunks that hold them.
struct ChunkPrefilter {
    let source: UnsafeMutablePointer<UInt64>
    let destination: UnsafeMutablePointer<UInt64>
    let groupSize: Int

    static let slots = 1 << 16

    var bytes: Int { 2 * ChunkPrefilter.slots * 8 }

    init(_ matches: [RuleMatch], chunkRules: Int, chunkCount: Int) {
        groupSize = max(1, (chunkCount + 63) / 64)
        source = .allocate(capacity: ChunkPrefilter.slots)
        source.initialize(repeating: 0, count: ChunkPrefilter.slots)
        destination = .allocate(capacity: ChunkPrefilter.slots)
        destination.initialize(repeating: 0, count: ChunkPrefilter.slots)
        for k in 0..<chunkCount {
            let group: UInt64 = 1 << UInt64(k / groupSize)
            let rules = matches[k * chunkRules..<min(matches.count, (k + 1) * chunkRules)]
            ChunkPrefilter.mark(source, group, rules, \.sources, .source)
            ChunkPrefilter.mark(destination, group, rules, \.destinations, .destination)
        }
    }

    /// ORs `group` into the slots of the /16s some IPv4-capable rule may match: every slot for a
    /// rule that takes any address or tests an address set. Ranges are merged first, so a chunk
    /// costs at most one pass over the slots however wide its prefixes.
    static func mark(
        _ slots: UnsafeMutablePointer<UInt64>, _ group: UInt64, _ rules: ArraySlice<RuleMatch>,
        _ field: KeyPath<RuleMatch, [IPPrefix]>, _ setField: SetField
    ) {
        var ranges: [(lo: Int, hi: Int)] = []
        for m in rules where m.ipVersion != 6 {
            let list = m[keyPath: field]
            if list.isEmpty || m.sets.contains(where: { $0.field == setField }) {
                ranges = [(0, ChunkPrefilter.slots - 1)]
                break
            }
            for p in list where !p.isV6 {
                let r = KeyRange(p)
                ranges.append((Int(r.lo.lo >> 16), Int(r.hi.lo >> 16)))
            }
        }
        ranges.sort { $0.lo < $1.lo }
        var next = 0  // the first slot not marked yet
        for r in ranges where max(r.lo, next) <= r.hi {
            for t in max(r.lo, next)...r.hi { slots[t] |= group }
            next = r.hi + 1
        }
    }

    /// The chunk groups an IPv4 packet may match.
    @inline(__always) func groups(_ m: UnsafePointer<PacketMeta>) -> UInt64 {
        let s = Int(truncatingIfNeeded: m.pointee.src.lo >> 16) & 0xFFFF
        let d = Int(truncatingIfNeeded: m.pointee.dst.lo >> 16) & 0xFFFF
        return source[s] & destination[d]
    }

    func deallocate() {
        source.deallocate()
        destination.deallocate()
    }
}
