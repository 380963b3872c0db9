/// The bit-vector index of one address family (IPv4 or IPv6): three class lookups (source,
/// destination, and protocol x source port x destination port folded into one "L4" class), then
/// the lowest set bit of the AND of their three rule bitsets. See README.md. The class tables
/// hold each class's handle in `Bits` (a row number, or a packed row's offset), except where a
/// class indexes a cross-product table (the PS class, and the destination port's when folded).
struct FamilyIndex<Address: AddressClassTable, Bits: RuleBitsets> {
    let src: Address
    let dst: Address
    let proto: DirectClassTable
    let sport: DirectClassTable
    let dport: DirectClassTable
    /// (proto class, sport class) -> "PS" class, then (PS class, dport class) -> L4 class.
    let protoSport: UnsafeMutablePointer<UInt32>
    let sportClasses: Int
    let l4: UnsafeMutablePointer<UInt32>
    let dportClasses: Int
    let srcBits: Bits
    let dstBits: Bits
    /// The L4 classes, or the PS classes when the destination port is not folded in.
    let l4Bits: Bits
    /// The destination port's own classes when it is not folded in.
    let dportBits: Bits?
    /// Bytes of the two cross-product tables.
    let crossBytes: Int

    init(_ rules: [RuleMatch], v6: Bool, words: Int, foldBudget: Int = FamilyFields.foldBudget) {
        let f = FamilyFields.ranges(rules[...], v6: v6)
        let maxAddress = v6 ? IPAddress(hi: .max, lo: .max) : IPAddress(hi: 0, lo: 0xFFFF_FFFF)
        let maxPort = IPAddress(hi: 0, lo: UInt64(FamilyFields.noPorts))

        var srcClasses = ClassSet(words: words), dstClasses = ClassSet(words: words)
        let srcF = decompose(f.src, maxKey: maxAddress, into: &srcClasses)
        let dstF = decompose(f.dst, maxKey: maxAddress, into: &dstClasses)
        srcBits = Bits(srcClasses)
        dstBits = Bits(dstClasses)
        src = Address(srcF.mapped(srcBits.handle))
        dst = Address(dstF.mapped(dstBits.handle))

        var protoClasses = ClassSet(words: words), sportSet = ClassSet(words: words), dportSet = ClassSet(words: words)
        proto = DirectClassTable(decompose(f.proto, maxKey: IPAddress(hi: 0, lo: 255), into: &protoClasses), keys: 256)
        sport = DirectClassTable(decompose(f.sport, maxKey: maxPort, into: &sportSet), keys: FamilyFields.noPorts + 1)
        let dportF = decompose(f.dport, maxKey: maxPort, into: &dportSet)
        var psClasses = ClassSet(words: words), l4Classes = ClassSet(words: words)
        let psTable = crossProduct(protoClasses, sportSet, into: &psClasses)
        sportClasses = sportSet.count
        dportClasses = dportSet.count
        // Folding the destination port in too saves a bitset per lookup, unless the product
        // table would be large (many distinct port ranges): then it stays a fourth bitset.
        if psClasses.count * dportSet.count * words <= foldBudget {
            let l4Table = crossProduct(psClasses, dportSet, into: &l4Classes)
            let bits = Bits(l4Classes)
            l4 = .copying(l4Table.map(bits.handle))
            l4Bits = bits
            protoSport = .copying(psTable)
            dport = DirectClassTable(dportF, keys: FamilyFields.noPorts + 1)
            dportBits = nil
            crossBytes = (psTable.count + l4Table.count) * 4
        } else {
            let bits = Bits(psClasses), portBits = Bits(dportSet)
            l4 = .copying([])
            l4Bits = bits
            protoSport = .copying(psTable.map(bits.handle))
            dport = DirectClassTable(dportF.mapped(portBits.handle), keys: FamilyFields.noPorts + 1)
            dportBits = portBits
            crossBytes = psTable.count * 4
        }
    }

    var bytes: Int {
        src.bytes + dst.bytes + proto.bytes + sport.bytes + dport.bytes
            + crossBytes + srcBits.bytes + dstBits.bytes + l4Bits.bytes + (dportBits?.bytes ?? 0)
    }

    /// The classes of a packet of this family: source, destination, L4 (or PS), and the
    /// destination port's (used only when it is not folded into L4).
    @inline(__always)
    func classes(_ m: UnsafePointer<PacketMeta>) -> (UInt32, UInt32, UInt32, UInt32) {
        let hasPorts = m.pointee.hasPorts
        let sp = hasPorts ? Int(m.pointee.sport) : FamilyFields.noPorts
        let dp = hasPorts ? Int(m.pointee.dport) : FamilyFields.noPorts
        // (Wrapping arithmetic: class ids index tables built to their product's size.)
        let ps = protoSport[Int(proto.classOf(Int(m.pointee.proto))) &* sportClasses &+ Int(sport.classOf(sp))]
        let d = dport.classOf(dp)
        let l = dportBits == nil ? l4[Int(ps) &* dportClasses &+ Int(d)] : ps
        return (src.classOf(m.pointee.src), dst.classOf(m.pointee.dst), l, d)
    }

    /// The lowest rule in all the classes that also passes the non-indexed checks, or -1.
    @inline(__always)
    func firstMatch(
        _ s: UInt32, _ d: UInt32, _ l: UInt32, _ dp: UInt32, _ checks: RuleChecks, _ m: UnsafePointer<PacketMeta>
    ) -> Int32 {
        let a = srcBits.row(s), b = dstBits.row(d), c = l4Bits.row(l), n = srcBits.summaryWords
        // Copies of the scan with the row count and the checks fixed: the folded layout (three
        // rows, the common one) does not load and AND a fourth, and a policy whose rules test no
        // unindexed field has no call in its loop (so nothing spilled around one).
        if let dportBits {
            let e = dportBits.row(dp)
            return checks.any
                ? Bits.scan(a, b, c, e, summaryWords: n, fourRows: true, checks: true, checks, m)
                : Bits.scan(a, b, c, e, summaryWords: n, fourRows: true, checks: false, checks, m)
        }
        return checks.any
            ? Bits.scan(a, b, c, c, summaryWords: n, fourRows: false, checks: true, checks, m)
            : Bits.scan(a, b, c, c, summaryWords: n, fourRows: false, checks: false, checks, m)
    }

    func deallocate() {
        src.deallocate()
        dst.deallocate()
        proto.deallocate()
        sport.deallocate()
        dport.deallocate()
        protoSport.deallocate()
        l4.deallocate()
        srcBits.deallocate()
        dstBits.deallocate()
        l4Bits.deallocate()
        dportBits?.deallocate()
    }
}

/// The five indexed fields' ranges of each rule (see `FamilyFields.ranges`).
struct FieldRanges {
    var src: [[KeyRange]?] = []
    var dst: [[KeyRange]?] = []
    var proto: [[KeyRange]?] = []
    var sport: [[KeyRange]?] = []
    var dport: [[KeyRange]?] = []
}

/// What the indexes of both families and both layouts share: the fields' ranges of each rule.
enum FamilyFields {
    /// Largest (classes x classes x words) worth folding the destination port into the L4 class.
    static var foldBudget: Int { 1 << 25 }

    /// Port keys 0...65535, and 65536 for "this packet has no ports" (only port-less rules match).
    static var noPorts: Int { 65536 }

    /// Each rule's ranges in the five indexed fields of one family: nil for any key, empty for a
    /// rule of the other family (in no class). Small positive sets are cut in like the rule's own
    /// list (RuleChecks skips them).
    static func ranges(_ rules: ArraySlice<RuleMatch>, v6: Bool) -> FieldRanges {
        let family: UInt8 = v6 ? 6 : 4
        var f = FieldRanges()
        func prefixes(_ list: [IPPrefix]) -> [KeyRange]? {
            list.isEmpty ? nil : list.filter { $0.isV6 == v6 }.map(KeyRange.init)
        }
        func ports(_ list: [PortRange]) -> [KeyRange]? {
            list.isEmpty ? nil : list.map { KeyRange(UInt64($0.lo), UInt64($0.hi)) }
        }
        for m in rules {
            if let v = m.ipVersion, v != family {
                f.src.append([])
                f.dst.append([])
                f.proto.append([])
                f.sport.append([])
                f.dport.append([])
                continue
            }
            f.src.append(prefixes(m.sources))
            f.dst.append(prefixes(m.destinations))
            f.proto.append(m.protocols.isEmpty ? nil : m.protocols.map { KeyRange(UInt64($0), UInt64($0)) })
            f.sport.append(ports(m.sourcePorts))
            f.dport.append(ports(m.destinationPorts))
            for s in m.sets where s.folds(into: m) {
                let keys = s.set.ranges.map { KeyRange(IPAddress($0.lowerBound), IPAddress($0.upperBound)) }
                let last = f.src.count - 1
                switch s.field {
                case .source: f.src[last] = (s.set.type == .ipv6) == v6 ? keys : []
                case .destination: f.dst[last] = (s.set.type == .ipv6) == v6 ? keys : []
                case .proto: f.proto[last] = keys
                case .sourcePort: f.sport[last] = keys
                case .destinationPort: f.dport[last] = keys
                }
            }
        }
        return f
    }
}
