import FirewallCore

/// ClassBench rule sets and traces (Taylor & Turner), as text. Pure parsing: the caller reads the
/// file. See data/classbench/README.md for the formats.
///
/// Rules become `RuleMatch`es for IPv4 with the usual ClassBench reading: a /0 prefix, the port
/// range 0:65535 and protocol 0x00/0x00 are wildcards; the TCP flags column is ignored (as
/// dpdk-test-acl does). Trace headers become `PacketMeta`s with ports present.
public enum ClassBench {
    public struct ParseError: Error, CustomStringConvertible {
        /// 1-based line number.
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// One trace line: the header and the generator's rule (an upper bound on the first match).
    public struct TraceEntry {
        public var meta: PacketMeta
        public var generatorRule: Int
    }

    public static func parseRules(_ text: String) throws -> [RuleMatch] {
        var out: [RuleMatch] = []
        try forEachLine(text) { lineNo, line in
            out.append(try parseRule(line, lineNo: lineNo))
        }
        return out
    }

    public static func parseTrace(_ text: String) throws -> [TraceEntry] {
        var out: [TraceEntry] = []
        try forEachLine(text) { lineNo, line in
            out.append(try parseTraceLine(line, lineNo: lineNo))
        }
        return out
    }

    // MARK: - Lines and fields

    /// Calls `body` with each non-blank line (as bytes, without the newline) and its 1-based number.
    static func forEachLine(_ text: String, _ body: (Int, ArraySlice<UInt8>) throws -> Void) throws {
        let bytes = Array(text.utf8)
        var start = 0, lineNo = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 10 { end += 1 }
            lineNo += 1
            var slice = bytes[start..<end]
            while let l = slice.last, l == 13 || l == 32 || l == 9 { slice = slice.dropLast() }
            if !slice.isEmpty { try body(lineNo, slice) }
            start = end + 1
        }
    }

    static func splitTabs(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(separator: 9, omittingEmptySubsequences: true)
    }

    static func trimSpaces(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let f = s.first, f == 32 { s = s.dropFirst() }
        while let l = s.last, l == 32 { s = s.dropLast() }
        return s
    }

    static func decimal(_ s: ArraySlice<UInt8>, max: UInt64) -> UInt64? {
        let s = trimSpaces(s)
        guard !s.isEmpty, s.count <= 20 else { return nil }
        var v: UInt64 = 0
        for c in s {
            guard c >= 48 && c <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
            guard !o1, !o2 else { return nil }
            v = a
        }
        return v <= max ? v : nil
    }

    static func hex(_ s: ArraySlice<UInt8>, max: UInt64) -> UInt64? {
        var s = trimSpaces(s)
        guard s.count > 2, s[s.startIndex] == 48, s[s.startIndex + 1] | 0x20 == 120 else { return nil }
        s = s.dropFirst(2)
        guard s.count <= 16 else { return nil }
        var v: UInt64 = 0
        for c in s {
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 97...102: d = c - 87
            case 65...70: d = c - 55
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v <= max ? v : nil
    }

    // MARK: - Rules

    static func parseRule(_ line: ArraySlice<UInt8>, lineNo: Int) throws -> RuleMatch {
        func fail(_ m: String) -> ParseError { ParseError(line: lineNo, message: m) }
        var line = line
        guard line.first == 64 else { throw fail("a rule starts with '@'") }
        line = line.dropFirst()
        let f = splitTabs(line)
        guard f.count >= 5 else { throw fail("expected 6 tab-separated fields, found \(f.count)") }
        var m = RuleMatch()
        m.ipVersion = 4
        guard let src = prefix(f[0]) else { throw fail("bad source prefix '\(String(decoding: f[0], as: UTF8.self))'") }
        guard let dst = prefix(f[1]) else {
            throw fail("bad destination prefix '\(String(decoding: f[1], as: UTF8.self))'")
        }
        if src.length > 0 { m.sources = [src] }
        if dst.length > 0 { m.destinations = [dst] }
        guard let sp = portRange(f[2]) else { throw fail("bad source port range") }
        guard let dp = portRange(f[3]) else { throw fail("bad destination port range") }
        if sp != .any { m.sourcePorts = [sp] }
        if dp != .any { m.destinationPorts = [dp] }
        let pm = f[4].split(separator: 47, omittingEmptySubsequences: false)
        guard pm.count == 2, let value = hex(pm[0], max: 255), let mask = hex(pm[1], max: 255) else {
            throw fail("bad protocol/mask")
        }
        if mask != 0 {
            // (proto & mask) == value, spelled out as the list of protocols it admits.
            m.protocols = (0...255).filter { UInt64($0) & mask == value & mask }.map { UInt8($0) }
        }
        return m
    }

    static func prefix(_ s: ArraySlice<UInt8>) -> IPPrefix? {
        let parts = trimSpaces(s).split(separator: 47, omittingEmptySubsequences: false)
        guard parts.count == 2, let len = decimal(parts[1], max: 32) else { return nil }
        let octets = parts[0].split(separator: 46, omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var a: UInt32 = 0
        for o in octets {
            guard let v = decimal(o, max: 255) else { return nil }
            a = a << 8 | UInt32(v)
        }
        return IPPrefix(address: IPAddress(v4: a), length: UInt8(len), isV6: false)
    }

    static func portRange(_ s: ArraySlice<UInt8>) -> PortRange? {
        let parts = s.split(separator: 58, omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = decimal(parts[0], max: 65535), let hi = decimal(parts[1], max: 65535),
            lo <= hi
        else { return nil }
        return PortRange(UInt16(lo), UInt16(hi))
    }

    // MARK: - Traces

    static func parseTraceLine(_ line: ArraySlice<UInt8>, lineNo: Int) throws -> TraceEntry {
        func fail(_ m: String) -> ParseError { ParseError(line: lineNo, message: m) }
        let f = line.split(whereSeparator: { $0 == 9 || $0 == 32 })
        guard f.count >= 5 else { throw fail("expected 7 columns, found \(f.count)") }
        guard let src = decimal(f[0], max: 0xFFFF_FFFF), let dst = decimal(f[1], max: 0xFFFF_FFFF),
            let sport = decimal(f[2], max: 65535), let dport = decimal(f[3], max: 65535),
            let proto = decimal(f[4], max: 255)
        else { throw fail("bad header column") }
        var gen = -1
        if f.count >= 7 {
            guard let g = decimal(f[6], max: UInt64(Int32.max)) else { throw fail("bad generator rule") }
            gen = Int(g)
        }
        return TraceEntry(
            meta: header(
                src: UInt32(src), dst: UInt32(dst), sport: UInt16(sport),
                dport: UInt16(dport), proto: UInt8(proto)),
            generatorRule: gen)
    }

    /// A ClassBench header as the parser would describe an IPv4 packet with ports.
    public static func header(src: UInt32, dst: UInt32, sport: UInt16, dport: UInt16, proto: UInt8) -> PacketMeta {
        var m = PacketMeta()
        m.ipVersion = 4
        m.proto = proto
        m.src = IPAddress(v4: src)
        m.dst = IPAddress(v4: dst)
        m.sport = sport
        m.dport = dport
        m.hasPorts = true
        m.hasL4 = true
        m.state = .new
        return m
    }
}
