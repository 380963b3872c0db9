/// `IPv4ClassTable` at half the size of its level 1, for the chunks of a large policy, where a
/// table per field per chunk made level 1 a third of the memory (two 256 KiB tables a chunk).
///
/// Level 1 holds 2-byte ids of its distinct entries (at most 65,536 slots, so at most 65,536
/// ids), and `entries` the entries themselves, encoded as `IPv4ClassTable`'s; the blocks and
/// list nodes are the same. One more load per lookup, from a small table that stays in cache.
struct CompactIPv4ClassTable: AddressClassTable {
    let level1: UnsafeMutablePointer<UInt16>
    let entries: UnsafeMutablePointer<UInt32>
    /// The 256-entry blocks of levels 2 and 3; an entry's offset is into this array.
    let blocks: UnsafeMutablePointer<UInt32>
    let nodes: UnsafeMutablePointer<UInt32>
    let bytes: Int

    init(_ field: FieldIntervals) {
        let (table, nodes) = IPv4ClassTable.layout(field)
        let slots = 1 << 16
        // Offsets into `table` counted from its start; here the blocks start at 0.
        func rebased(_ e: UInt32) -> UInt32 {
            e & IPv4ClassTable.indirect != 0 && e & IPv4ClassTable.list == 0 ? e - UInt32(slots) : e
        }
        var ids = [UInt16](repeating: 0, count: slots)
        var entries: [UInt32] = []
        var idOf: [UInt32: UInt16] = [:]
        for slot in 0..<slots {
            let e = rebased(table[slot])
            // Runs of one entry are the rule: most slots repeat the one before.
            if slot > 0, entries[Int(ids[slot - 1])] == e {
                ids[slot] = ids[slot - 1]
            } else if let id = idOf[e] {
                ids[slot] = id
            } else {
                let id = UInt16(truncatingIfNeeded: entries.count)
                idOf[e] = id
                entries.append(e)
                ids[slot] = id
            }
        }
        let blocks = table[slots...].map(rebased)
        level1 = .copying(ids)
        self.entries = .copying(entries)
        self.blocks = .copying(blocks)
        self.nodes = IPv4ClassTable.aligned(nodes)
        bytes = slots * 2 + (entries.count + blocks.count + nodes.count) * 4
    }

    @inline(__always) func classOf(_ a: IPAddress) -> UInt32 {
        let v = UInt32(truncatingIfNeeded: a.lo)
        var e = entries[Int(level1[Int(v >> 16)])]
        if e & IPv4ClassTable.indirect == 0 { return e }
        if e & IPv4ClassTable.list != 0 { return IPv4ClassTable.search(nodes, e, v & 0xFFFF) }
        e = blocks[Int(e & IPv4ClassTable.offsetMask) + Int((v >> 8) & 0xFF)]
        if e & IPv4ClassTable.indirect == 0 { return e }
        if e & IPv4ClassTable.list != 0 { return IPv4ClassTable.search(nodes, e, v & 0xFF) }
        return blocks[Int(e & IPv4ClassTable.offsetMask) + Int(v & 0xFF)]
    }

    func deallocate() {
        level1.deallocate()
        entries.deallocate()
        blocks.deallocate()
        UnsafeMutableRawPointer(nodes).deallocate()
    }
}
