import FirewallCore
import FuzzSupport

/// Input: one mode byte (link type as `fuzzLinkType` reads it, ingress, policy settings), then the
/// frame. The frame goes through parse, conntrack observe/confirm and both classifiers, which must
/// agree; an accepted packet's flow must then be found; a reject reply is built for it into a
/// bounded buffer.
// Classified by the linear-scan reference here; the compiled classifier is compared with it below.
let policies = (0..<32).map { m -> CompiledPolicy in
    let p = FuzzPolicies.policy(mode: UInt8(m))
    return CompiledPolicy(p, classifier: ReferenceClassifier(rules: p.rules))
}
let compiled = [
    BitVectorClassifier(rules: FuzzPolicies.rules), BitVectorClassifier(rules: FuzzPolicies.rules.reversed())
]
// The tuple-space classifier likewise (the rules its shapes do not hold go to its other part).
let tuples = [
    TupleSpaceClassifier(matches: FuzzPolicies.rules.map(\.match)),
    TupleSpaceClassifier(matches: FuzzPolicies.rules.reversed().map(\.match))
]
let reply = UnsafeMutableRawPointer.allocate(byteCount: RejectReply.maxLength, alignment: 16)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    guard size >= 1 else { return 0 }
    let mode = data[0]
    // The frame in a buffer of its own exact size, so AddressSanitizer sees any read past its end.
    let n = size - 1
    let copy = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: data + 1, byteCount: n)
    let frame = UnsafeRawBufferPointer(start: copy, count: n)

    var m = PacketMeta()
    let reason = Parser.parse(frame, link: fuzzLinkType(mode: mode), into: &m)
    // The fast lane's key: only for frames the full parse takes, and the very key it gives.
    if let p = frame.baseAddress {
        var key = FlowKey(src: .zero, dst: .zero, sport: 0, dport: 0, proto: 0, v6: false)
        let flags = withUnsafeMutablePointer(to: &key) { Parser.commonIPv4Key(p, n, into: $0) }
        if flags >= 0 {
            var full = PacketMeta()
            check(
                Parser.parseAny(frame, link: .ethernet, into: &full) == .none,
                "the fast lane took a frame the parser refuses")
            check(key == Conntrack.key(for: full), "fast lane key \(key), full parse \(Conntrack.key(for: full))")
            check(UInt8(flags) == full.tcpFlags, "fast lane TCP flags \(flags), full parse \(full.tcpFlags)")
        }
    }
    guard reason == .none else {
        check(reason != .arp || m.ipVersion == 0, "ARP with an IP version")
        return 0
    }
    check(m.ipVersion == 4 || m.ipVersion == 6, "a parsed IP packet without a version")
    check(Int(m.l3Offset) <= n && Int(m.l4Offset) <= n, "header offsets past the frame")
    check(!m.hasPorts || m.hasL4, "ports without a transport header")
    check(m.fragment != .later || !m.hasL4, "a later fragment with a transport header")

    let policyIndex = Int(mode >> 3)
    let p = policies[policyIndex]
    var settings = FuzzPolicies.conntrack(mode: mode)
    settings.maxFlows = 2
    let ct = Conntrack(settings: settings)
    m.ingress = (mode >> 2) & 1
    let key = Conntrack.key(for: m)
    for round in 0..<3 {
        let now = UInt64(round) * 1_000_000_000
        let obs = ct.observe(m, key: key, now: now)
        m.state = obs.state
        let reference = p.classifier.classify(&m)
        let bits = compiled[policyIndex & 16 != 0 ? 1 : 0].classify(&m)
        check(reference == bits, "compiled classifier chose rule \(bits), reference \(reference) (state \(m.state))")
        let tuple = tuples[policyIndex & 16 != 0 ? 1 : 0].classify(&m)
        check(reference == tuple, "tuple space chose rule \(tuple), reference \(reference)")
        let action = reference >= 0 ? p.action(ofRule: reference) : p.policy.defaultAction
        if action == .accept && obs.state == .new && obs.slot < 0 && obs.trackable {
            if ct.confirm(m, key: key, now: now, rule: reference) == .none {
                check(ct.table.find(key) >= 0, "a confirmed flow is not in the table")
            }
        }
        checkTable(ct.table, "conntrack")
        if action == .reject {
            let len = RejectReply.build(for: frame, meta: m, into: reply, capacity: RejectReply.maxLength)
            check(len >= 0 && len <= RejectReply.maxLength, "reply length \(len)")
        }
    }
    return 0
}

@main
enum Main {
    static func main() { runFuzzer(fuzzFrame) }
}
