/// Which chunks of a `ChunkedClassifier` an IPv4 packet may match, from the top 16 bits of its
/// addresses and its destination port: for each /16 of the source, and of the destination, and
/// each destination port (and "no ports"), a 64-bit mask of chunk groups (group g: chunks
/// g * groupSize ..< (g + 1) * groupSize) with a rule that may match there. Three loads a packet,
/// then the chunks outside the masks are not searched: a policy of scattered prefixes
/// (blocklists, per-tenant allow lists) is searched in the few chunks that hold them, and one
/// whose prefixes recur in many chunks (per-service rules) in those that also hold the port.
struct ChunkPrefilter {
    let source: UnsafeMutablePointer<UInt64>
    let destination: UnsafeMutablePointer<UInt64>
    /// Indexed by destination port, and `FamilyFields.noPorts` for a packet without ports.
    let port: UnsafeMutablePointer<UInt64>
    let groupSize: Int

    static let slots = 1 << 16
    static let portSlots = FamilyFields.noPorts + 1

    static var bytes: Int { (2 * slots + portSlots) * 8 }
    var bytes: Int { ChunkPrefilter.bytes }

    init(_ matches: [RuleMatch], chunkRules: Int, chunkCount: Int) {
        groupSize = max(1, (chunkCount + 63) / 64)
        source = .allocate(capacity: ChunkPrefilter.slots)
        source.initialize(repeating: 0, count: ChunkPrefilter.slots)
        destination = .allocate(capacity: ChunkPrefilter.slots)
        destination.initialize(repeating: 0, count: ChunkPrefilter.slots)
        port = .allocate(capacity: ChunkPrefilter.portSlots)
        port.initialize(repeating: 0, count: ChunkPrefilter.portSlots)
        for k in 0..<chunkCount {
            let group: UInt64 = 1 << UInt64(k / groupSize)
            let rules = matches[k * chunkRules..<min(matches.count, (k + 1) * chunkRules)]
            ChunkPrefilter.mark(source, group, rules, \.sources, .source)
            ChunkPrefilter.mark(destination, group, rules, \.destinations, .destination)
            ChunkPrefilter.markPorts(port, group, rules)
        }
    }

    /// ORs `group` into the destination ports some IPv4-capable rule may match: every port, and
    /// "no ports", for a rule that lists none (it may test a port set or take any port).
    static func markPorts(_ slots: UnsafeMutablePointer<UInt64>, _ group: UInt64, _ rules: ArraySlice<RuleMatch>) {
        var ranges: [(lo: Int, hi: Int)] = []
        for m in rules where m.ipVersion != 6 {
            if m.destinationPorts.isEmpty {
                ranges = [(0, portSlots - 1)]
                break
            }
            ranges += m.destinationPorts.map { (Int($0.lo), Int($0.hi)) }
        }
        orInto(slots, group, ranges)
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
        orInto(slots, group, ranges)
    }

    /// Sorted first, so the slots are passed once however the ranges overlap.
    static func orInto(_ slots: UnsafeMutablePointer<UInt64>, _ group: UInt64, _ ranges: [(lo: Int, hi: Int)]) {
        var next = 0  // the first slot not marked yet
        for r in ranges.sorted(by: { $0.lo < $1.lo }) where max(r.lo, next) <= r.hi {
            for t in max(r.lo, next)...r.hi { slots[t] |= group }
            next = r.hi + 1
        }
    }

    /// The chunk groups an IPv4 packet may match.
    @inline(__always) func groups(_ m: UnsafePointer<PacketMeta>) -> UInt64 {
        let s = Int(truncatingIfNeeded: m.pointee.src.lo >> 16) & 0xFFFF
        let d = Int(truncatingIfNeeded: m.pointee.dst.lo >> 16) & 0xFFFF
        let p = m.pointee.hasPorts ? Int(m.pointee.dport) : FamilyFields.noPorts
        return source[s] & destination[d] & port[p]
    }

    func deallocate() {
        source.deallocate()
        destination.deallocate()
        port.deallocate()
    }
}
