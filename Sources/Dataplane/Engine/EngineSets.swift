import FirewallCore
import LinuxIO
import Logging

/// Named sets changed while running (`vfwall set add|del|list|flush`), without a reload: the
/// command builds the changed set anew (the other sets are shared), a policy that refers to it,
/// and hands that to every worker the way a reload does, so a worker runs the old set or the
/// new one, never a mix; flows, conntrack and the per-rule counters stay.
extension Engine {
    /// What a set request asks.
    enum SetRequest {
        case edit(name: String, verb: String, elements: String, source: String?)
        case list(name: String)
    }

    /// Answers `set VERB NAME [source=LABEL]` and, after a newline, the elements one a line
    /// (the control socket's request body; set-file syntax). `source` names the elements' file
    /// in error positions (FILE:LINE:COLUMN); without it a position is the element's number.
    public func answerSet(_ request: String, logger: Logger = Engine.silent) -> String {
        let parsed: SetRequest
        switch Self.parseSetRequest(request) {
        case .success(let r): parsed = r
        case .failure(let e): return "error: \(e.message)\n"
        }
        switch parsed {
        case .list(let name):
            guard let set = policy.sets.first(where: { $0.name == name }) else { return "error: \(unknownSet(name))\n" }
            return Self.listing(set)
        case let .edit(name, verb, text, source):
            let answer = editSet(name, verb: verb, elements: text, source: source)
            let accepted = answer.hasPrefix("ok")
            let metadata: Logger.Metadata = [
                "event": "set", "verb": "\(verb)", "set": "\(name)", "outcome": accepted ? "accepted" : "refused"
            ]
            if accepted {
                logger.info("set \(verb) \(name) (control socket): \(answer)", metadata: metadata)
            } else {
                logger.error("set \(verb) \(name) (control socket): \(answer)", metadata: metadata)
            }
            return answer + "\n"
        }
    }

    struct SetRequestError: Error { let message: String }

    static let setUsage = "set add|del|list|flush NAME, elements one a line after the request line"

    static func parseSetRequest(_ request: String) -> Result<SetRequest, SetRequestError> {
        let parts = request.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let words = parts[0].split(separator: " ", maxSplits: 3)
        guard words.count >= 3, words[0] == "set" else { return .failure(.init(message: "usage: \(setUsage)")) }
        let verb = String(words[1]), name = String(words[2])
        var source: String?
        if words.count == 4 {
            guard words[3].hasPrefix("source=") else {
                return .failure(.init(message: "unexpected '\(words[3])' after the set name (\(setUsage))"))
            }
            source = String(words[3].dropFirst(7))
        }
        let body = parts.count > 1 ? String(parts[1]) : ""
        switch verb {
        case "list", "flush":
            guard body.isEmpty else { return .failure(.init(message: "set \(verb) takes no elements")) }
            return .success(
                verb == "list" ? .list(name: name) : .edit(name: name, verb: verb, elements: "", source: nil))
        case "add", "del":
            return .success(.edit(name: name, verb: verb, elements: body, source: source))
        default:
            return .failure(.init(message: "unknown set command '\(verb)' (add, del, list, flush)"))
        }
    }

    func unknownSet(_ name: String) -> String {
        let known = policy.sets.map(\.name).sorted()
        let hint = known.isEmpty ? "the policy declares no sets" : "the sets are: \(known.joined(separator: ", "))"
        return "no set named '\(name)'; \(hint)"
    }

    /// Parses `text` for the set's type and applies the change, under the reload lock (a reload
    /// and a set change cannot interleave their read of the running policy and their publish).
    /// Returns the answer line, "ok: ..." or "error: ...": on an error nothing changed.
    func editSet(_ name: String, verb: String, elements text: String, source: String?) -> String {
        let began = monotonicNanoseconds()
        return reloading.withLock { _ -> String in
            let current = state.withLock { $0.policy }
            guard let old = current.sets.first(where: { $0.name == name }) else { return "error: \(unknownSet(name))" }
            let edit: SetEdit
            if verb == "flush" {
                edit = .flush
            } else {
                var parsed = SetElements(components: old.components)
                let problem = Array(text.utf8).withUnsafeBufferPointer { parsed.addLines($0, set: name) }
                if let p = problem {
                    let at = source.map { "\($0):\(p.line):\(p.column)" } ?? "element \(p.line)"
                    return "error: \(at): \(p.message); nothing changed"
                }
                guard parsed.count > 0 else { return "error: set \(verb) \(name): no elements given" }
                edit = verb == "add" ? .add(parsed) : .delete(parsed)
            }
            let new: NamedSet
            do { new = try old.applying(edit) } catch { return "error: \(error); nothing changed" }
            let policy = current.replacing(set: new)
            let generation = control.publish(CompiledPolicy(policy, keepsRuleCounters: true))
            state.withLock { s in
                s.policy = policy
                s.policyGeneration = Int(generation)
            }
            if self.running {
                let late = control.awaitInstalled(generation, workers: workers.count)
                if !late.isEmpty {
                    let names = late.map { "worker \($0) (core \(plan.cpus[$0]))" }.joined(separator: ", ")
                    return "error: set '\(name)' changed (policy generation \(generation)), but \(names) did not "
                        + "install it within \(Engine.reloadAckTimeoutMs) ms (stalled?); the others run it"
                }
            }
            let ms = Double(monotonicNanoseconds() - began) / 1e6
            let size = "\(new.elementCount) elements in \(new.rangeCount) ranges, \(new.memoryBytes) bytes"
            return "ok: set '\(name)' (\(new.typeName)): \(size); policy generation \(generation) "
                + "on every worker after \(Int(ms.rounded())) ms"
        }
    }

    /// The set's keys as merged ranges, one element a line in set-file syntax (an address range
    /// as the prefixes that cover it exactly), after a comment line naming the set.
    static func listing(_ set: NamedSet) -> String {
        if set.isConcatenation { return tupleListing(set) }
        var out = "# set \(set.name): \(set.type.rawValue), \(set.rangeCount) ranges (merged)\n"
        for r in set.ranges {
            switch set.type {
            case .ipv4, .ipv6:
                for p in prefixes(covering: r, bits: set.type == .ipv4 ? 32 : 128) {
                    let a = IPAddress(
                        hi: UInt64(truncatingIfNeeded: p.start >> 64), lo: UInt64(truncatingIfNeeded: p.start))
                    out += "\(a.text(v6: set.type == .ipv6))/\(p.length)\n"
                }
            case .port, .proto:
                out += r.lowerBound == r.upperBound ? "\(r.lowerBound)\n" : "\(r.lowerBound)-\(r.upperBound)\n"
            }
        }
        return out
    }

    /// A concatenation's distinct elements, one a line in set-file syntax; a component whose
    /// address range is no single prefix is written as the prefixes that cover it, one line each.
    static func tupleListing(_ set: NamedSet) -> String {
        var out = "# set \(set.name): \(set.typeName), \(set.rangeCount) elements\n"
        let width = set.components.count, tuples = set.tuples
        let elements = stride(from: 0, to: tuples.count - tuples.count % width, by: width).map {
            Array(tuples[$0..<($0 + width)])
        }.sorted { a, b in a.map(\.lowerBound).lexicographicallyPrecedes(b.map(\.lowerBound)) }
        for element in elements {
            var lines = [""]
            for (i, type) in set.components.enumerated() {
                let texts = componentTexts(element[i], type)
                lines = lines.flatMap { line in texts.map { line + (i == 0 ? "" : " . ") + $0 } }
            }
            for line in lines { out += line + "\n" }
        }
        return out
    }

    static func componentTexts(_ r: ClosedRange<UInt128>, _ type: SetType) -> [String] {
        switch type {
        case .ipv4, .ipv6:
            return prefixes(covering: r, bits: type == .ipv4 ? 32 : 128).map { p in
                let a = IPAddress(
                    hi: UInt64(truncatingIfNeeded: p.start >> 64), lo: UInt64(truncatingIfNeeded: p.start))
                let full = p.length == (type == .ipv4 ? 32 : 128)
                return full ? a.text(v6: type == .ipv6) : "\(a.text(v6: type == .ipv6))/\(p.length)"
            }
        case .port, .proto:
            return [r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound)"]
        }
    }

    /// The fewest prefixes whose union is exactly `range`, in order.
    static func prefixes(covering range: ClosedRange<UInt128>, bits: Int) -> [(start: UInt128, length: Int)] {
        // Every IPv6 address: the one block whose size (2^128) a UInt128 cannot hold.
        if bits == 128 && range == 0...UInt128.max { return [(0, 0)] }
        var out: [(start: UInt128, length: Int)] = []
        var lo = range.lowerBound
        while true {
            // The largest block aligned at lo that stays inside the range.
            var size = lo == 0 ? bits : min(bits, lo.trailingZeroBitCount)
            while size > 0 && (size >= 128 || lo + ((1 << UInt128(size)) - 1) > range.upperBound) { size -= 1 }
            out.append((lo, bits - size))
            let last = lo + ((1 << UInt128(size)) - 1)
            if last >= range.upperBound { return out }
            lo = last + 1
        }
    }
}

/// One set in `vfwall stats`: its size now, and the hits of the rules that test it (derived
/// from the per-rule counters: nothing is counted per set on the packet path).
struct SetFacts: Encodable {
    let name, type: String
    let elements, ranges, memoryBytes: Int
    let keepRuntime: Bool
    let rules: [String]
    let hits: UInt64

    enum CodingKeys: String, CodingKey {
        case name, type, elements, ranges, memoryBytes = "memory_bytes", keepRuntime = "keep_runtime", rules, hits
    }

    static func all(_ policy: Policy, _ total: PipelineCounters) -> [SetFacts] {
        policy.sets.map { s in
            let users = policy.rules.indices.filter { i in
                policy.rules[i].match.sets.contains { $0.set === s }
                    || policy.rules[i].match.concats.contains { $0.set === s }
            }
            return SetFacts(
                name: s.name, type: s.typeName, elements: s.elementCount, ranges: s.rangeCount,
                memoryBytes: s.memoryBytes, keepRuntime: s.keepsRuntimeChanges,
                rules: users.map { policy.rules[$0].name },
                hits: users.reduce(0) { $0 &+ (($1 < total.ruleHits.count) ? total.ruleHits[$1] : 0) })
        }
    }
}
