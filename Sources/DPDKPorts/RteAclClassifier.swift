import CDPDK
import FirewallCore
import LinuxIO
import Ports

public struct RteAclError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// DPDK's rte_acl behind the `Classifier` protocol, for side-by-side comparison with the compiled
/// classifier (and as an engine choice should it ever win).
///
/// rte_acl matches IPv4 5-tuples only: a rule's protocol, prefix and port lists are expanded into
/// their cross product (all with the rule's priority). Rules that use other fields (ingress,
/// VLAN, ICMP, TCP flags, state) are refused. IPv4 packets with ports go to rte_acl; the rest
/// (IPv6, non-IP, no ports) go to the reference scan so results stay exact.
public final class RteAclClassifier: Classifier {
    public enum Algorithm: Int32, CaseIterable, Sendable {
        case `default` = 0, scalar = 1, sse = 2, avx2 = 3
    }

    let acl: OpaquePointer
    let reference: ReferenceClassifier
    /// Bytes rte_malloc handed out for the context, its rules and its tries.
    public let memoryBytes: Int
    /// rte_acl rules after expanding lists.
    public let expandedRuleCount: Int

    /// Initialises DPDK's EAL without hugepages or devices if nothing has yet.
    public static func ensureEAL() throws {
        if DPDKEnvironment.isInitialized { return }
        do {
            try DPDKEnvironment.initialize(arguments: DPDKEnvironment.virtualArguments(memoryMB: 2048))
        } catch {
            throw RteAclError(message: "rte-acl needs DPDK's EAL: \(error)")
        }
    }

    public init(matches: [RuleMatch], algorithm: Algorithm = .default) throws {
        try RteAclClassifier.ensureEAL()
        var rules: [cdpdk_acl_rule] = []
        for (i, m) in matches.enumerated() {
            if !m.ingress.isEmpty || !m.vlans.isEmpty || m.icmpType != nil || m.icmpCode != nil
                || m.tcpFlags != nil || m.states != 0 || !m.sets.isEmpty
                || !m.concats.isEmpty
            {
                throw RteAclError(
                    message:
                        "rte-acl matches IPv4 5-tuples only; rule \(i) uses ingress, VLAN, ICMP, TCP flags, "
                        + "state, a set or a concatenation of sets")
            }
            rules += RteAclClassifier.expand(m, index: i)
        }
        var err: Int32 = 0, memory = 0
        let name = "vfwall-acl-\(RteAclClassifier.nextID())"
        guard
            let acl = rules.withUnsafeBufferPointer({
                cdpdk_acl_build(name, $0.baseAddress, UInt32($0.count), &err, &memory)
            })
        else {
            throw RteAclError(message: "cannot build rte_acl context with \(rules.count) rules: err=\(err)")
        }
        if algorithm != .default {
            let rc = cdpdk_acl_set_algorithm(acl, algorithm.rawValue)
            if rc != 0 {
                cdpdk_acl_free(acl)
                throw RteAclError(message: "rte_acl algorithm \(algorithm) not available: err=\(rc)")
            }
        }
        self.acl = acl
        memoryBytes = memory
        expandedRuleCount = rules.count
        reference = ReferenceClassifier(matches: matches)
    }

    deinit { cdpdk_acl_free(acl) }

    nonisolated(unsafe) private static var counter = 0
    private static func nextID() -> Int {
        counter += 1
        return counter
    }

    /// The rte_acl rules of one rule: the cross product of its IPv4 prefixes, protocols and ports.
    static func expand(_ m: RuleMatch, index: Int) -> [cdpdk_acl_rule] {
        if let v = m.ipVersion, v != 4 { return [] }
        func v4(_ list: [IPPrefix]) -> [(UInt32, UInt8)] {
            list.isEmpty ? [(0, 0)] : list.filter { !$0.isV6 }.map { ($0.address.v4, $0.length) }
        }
        let protos: [(UInt8, UInt8)] = m.protocols.isEmpty ? [(0, 0)] : m.protocols.map { ($0, 0xFF) }
        let sports = m.sourcePorts.isEmpty ? [PortRange.any] : m.sourcePorts
        let dports = m.destinationPorts.isEmpty ? [PortRange.any] : m.destinationPorts
        var out: [cdpdk_acl_rule] = []
        for s in v4(m.sources) {
            for d in v4(m.destinations) {
                for p in protos {
                    for sp in sports {
                        for dp in dports {
                            var r = cdpdk_acl_rule()
                            r.src = s.0
                            r.src_len = s.1
                            r.dst = d.0
                            r.dst_len = d.1
                            r.proto = p.0
                            r.proto_mask = p.1
                            r.sport_lo = sp.lo
                            r.sport_hi = sp.hi
                            r.dport_lo = dp.lo
                            r.dport_hi = dp.hi
                            r.priority = Int32(0x1FFF_FFFF - index)  // earlier rules win
                            r.userdata = UInt32(index + 1)  // 0 means no match
                            out.append(r)
                        }
                    }
                }
            }
        }
        return out
    }

    public func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32 {
        var r: Int32 = -1
        classifyBurst(meta, count: 1, results: &r)
        return r
    }

    public func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>) {
        let chunk = 64
        withUnsafeTemporaryAllocation(of: cdpdk_acl_tuple.self, capacity: chunk) { tuples in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: chunk) { found in
                var start = 0
                while start < count {
                    let n = min(chunk, count - start)
                    for i in 0..<n {
                        let m = metas + start + i
                        var t = cdpdk_acl_tuple()
                        t.proto = m.pointee.proto
                        t.src = m.pointee.src.v4.bigEndian
                        t.dst = m.pointee.dst.v4.bigEndian
                        t.sport = m.pointee.sport.bigEndian
                        t.dport = m.pointee.dport.bigEndian
                        tuples[i] = t
                    }
                    _ = cdpdk_acl_classify(acl, tuples.baseAddress, found.baseAddress, UInt32(n))
                    for i in 0..<n {
                        let m = metas + start + i
                        if m.pointee.ipVersion == 4 && m.pointee.hasPorts {
                            results[start + i] = Int32(bitPattern: found[i]) - 1
                        } else {
                            results[start + i] = reference.classify(m)
                        }
                    }
                    start += n
                }
            }
        }
    }
}
