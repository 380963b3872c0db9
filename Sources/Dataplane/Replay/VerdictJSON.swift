import FirewallCore
import LinuxIO
#if canImport(Glibc)
    import Glibc
#endif

/// `vfwall replay --verdicts`: one JSON object per frame, written as bytes from pieces rendered
/// once per policy (rule names, reasons, states, ports), so a line costs a few copies and the
/// frame index's digits, not a string built per frame.
///
///     {"index":1,"verdict":"accept","rule":null,"decided_by":"conntrack","reason":null,
///      "state":"established","ingress":"outside"}
final class VerdictWriter {
    private let path: String
    private let fd: Int32
    /// Lines gather in `buffer`, which goes to a background thread once past `flushAt` bytes.
    private let output: BackgroundWriter
    private var buffer: UnsafeMutableRawPointer
    private var used = 0
    private var finished = false
    static let lineRoom = 4096  // no line is longer: names are at most a few hundred bytes
    static let flushAt = BackgroundWriter.bufferBytes - lineRoom
    /// Every piece, back to back in one allocation; each part is (offset, length) into it.
    private let pieces: UnsafeMutableRawPointer
    private let ruleParts: [(Int, Int)]
    private let oldRuleParts: [(Int, Int)]  // --compare: the old policy's rules
    private let otherParts: [(Int, Int)]  // decided by the default, conntrack, a setting
    private let reasonParts: [(Int, Int)]
    private let stateParts: [(Int, Int)]
    private let portParts: [(Int, Int)]
    private let actionParts: [(Int, Int)]
    private let fixedParts: [(Int, Int)]  // see Fixed

    private enum Fixed: Int { case index, changed, unchanged, old, new, close }

    /// `oldPolicy` names the old verdicts' rules in `writePair` (by default, `policy`'s).
    init(path: String, policy: Policy, oldPolicy: Policy? = nil) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PcapError(path: path, message: "cannot create file: \(describeErrno(errno))") }
        var all: [UInt8] = []
        let longest = Self.lineRoom / 8  // a line has at most 7 pieces and the index's digits
        func part(_ s: String) -> (Int, Int) {
            let b = Array(s.utf8.prefix(longest))
            all += b
            return (all.count - b.count, b.count)
        }
        func rules(_ p: Policy) -> [(Int, Int)] {
            p.rules.enumerated().map { i, r in
                part(",\"rule\":{\"index\":\(i),\"name\":\(JSON.string(r.name))},\"decided_by\":\"rule\"")
            }
        }
        ruleParts = rules(policy)
        oldRuleParts = oldPolicy.map(rules) ?? ruleParts
        otherParts = ["default", "conntrack", "setting"].map { part(",\"rule\":null,\"decided_by\":\"\($0)\"") }
        reasonParts = Reason.allCases.map { r in part(",\"reason\":" + (r == .none ? "null" : JSON.string(r.name))) }
        stateParts = ConnState.allCases.map { part(",\"state\":\"\($0)\"") }
        portParts = policy.portNames.map { part(",\"ingress\":\(JSON.string($0))}") } + [part("}")]
        actionParts = Action.allCases.map { part(",\"verdict\":\"\($0)\"") }
        fixedParts = [
            "{\"index\":", ",\"changed\":true", ",\"changed\":false", ",\"old\":{\"index\":",
            ",\"new\":{\"index\":", "}\n"
        ].map(part)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, all.count), alignment: 16)
        storage.copyMemory(from: all, byteCount: all.count)
        pieces = storage
        output = BackgroundWriter(fd: fd)
        buffer = output.take()
    }

    deinit {
        _ = try? close()
        pieces.deallocate()
    }

    /// One line: the frame `index`'s verdict `v`, for a frame that arrived on `port`.
    func write(index: Int, verdict v: Verdict, port: Int) {
        put(fixedParts[Fixed.index.rawValue])
        putDecimal(index)
        putObjectTail(v, port: port)
        buffer.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: used, as: UInt8.self)
        used += 1
        if used >= Self.flushAt { flush() }
    }

    /// One line of `--compare`: both verdicts of a frame, and whether they differ.
    func writePair(index: Int, old: Verdict, new: Verdict, port: Int) {
        put(fixedParts[Fixed.index.rawValue])
        putDecimal(index)
        put(fixedParts[(old.action != new.action || old.rule != new.rule ? Fixed.changed : .unchanged).rawValue])
        put(fixedParts[Fixed.old.rawValue])
        putDecimal(index)
        putObjectTail(old, port: port, rules: oldRuleParts)
        put(fixedParts[Fixed.new.rawValue])
        putDecimal(index)
        putObjectTail(new, port: port)
        put(fixedParts[Fixed.close.rawValue])
        if used >= Self.flushAt { flush() }
    }

    private func flush() {
        output.handOver(buffer, count: used)
        buffer = output.take()
        used = 0
    }

    /// Writes what is left, waits for it and closes the file; throws when a write failed.
    func close() throws {
        guard !finished else { return }
        finished = true
        output.handOver(buffer, count: used)
        let error = output.finish()
        Glibc.close(fd)
        if error != 0 { throw PcapError(path: path, message: "cannot write: \(describeErrno(error))") }
    }

    @inline(__always)
    private func put(_ part: (Int, Int)) {
        (buffer + used).copyMemory(from: pieces + part.0, byteCount: part.1)
        used += part.1
    }

    private func putObjectTail(_ v: Verdict, port: Int) { putObjectTail(v, port: port, rules: ruleParts) }

    private func putObjectTail(_ v: Verdict, port: Int, rules: [(Int, Int)]) {
        put(actionParts[Int(v.action.rawValue)])
        if v.rule >= 0 && Int(v.rule) < rules.count {
            put(rules[Int(v.rule)])
        } else {
            put(otherParts[v.rule == Verdict.byDefault ? 0 : v.rule == Verdict.byConntrack ? 1 : 2])
        }
        put(reasonParts[Int(v.reason.rawValue)])
        put(stateParts[Int(v.state.rawValue)])
        put(portParts[port >= 0 && port < portParts.count - 1 ? port : portParts.count - 1])
    }

    private func putDecimal(_ value: Int) {
        var v = UInt64(clamping: value)
        var digits = 1
        var scale: UInt64 = 1
        while v / scale >= 10 {
            scale *= 10
            digits += 1
        }
        let out = (buffer + used).assumingMemoryBound(to: UInt8.self)
        for i in 0..<digits {
            out[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v / scale)
            v %= scale
            scale /= 10
        }
        used += digits
    }
}

/// The one hand-written JSON string writer, for the pieces `VerdictWriter` renders once per
/// policy. Everything else encodes with Codable and Foundation's JSONEncoder; a line of
/// --verdicts through JSONEncoder costs about 5 µs against well under 0.4 µs here (issue 14).
enum JSON {
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
