import FirewallCore
import SystemPackage
import Yams

/// Reads the `sets:` mapping: named, typed sets whose elements are given inline (`elements:`)
/// or in a file of one element a line (`file:`, relative to the configuration file).
struct SetReader {
    let r: NodeReader
    /// The folder `file:` paths are relative to (the configuration file's).
    let folder: String

    static let keys = ["type", "elements", "file", "comment"]
    /// More elements than this is refused: the tables index points with 32-bit offsets.
    static let maxElements = 1 << 24

    init(r: NodeReader) {
        self.r = r
        let parts = r.file.split(separator: "/", omittingEmptySubsequences: false)
        folder = parts.count > 1 ? parts.dropLast().joined(separator: "/") : "."
    }

    func sets(_ node: Node) throws -> [NamedSet] {
        try r.namedMapping(node, "'sets'").map { name, keyNode, value in
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw r.error(keyNode, "set name '\(name)' may hold only letters, digits, '-' and '_'")
            }
            return try set(name, value)
        }
    }

    func set(_ name: String, _ node: Node) throws -> NamedSet {
        var type: SetType?
        var elements: Node?, file: Node?
        for (key, _, v) in try r.mapping(node, "set '\(name)'", allowed: SetReader.keys) {
            switch key {
            case "type": type = try r.word(v, key, SetType.allCases.map { ($0.rawValue, $0) })
            case "elements": elements = v
            case "file": file = v
            default: break
            }
        }
        guard let type else { throw r.error(node, "set '\(name)' has no 'type' (ipv4, ipv6, port or proto)") }
        switch (elements, file) {
        case (let e?, nil):
            let nodes = r.list(e)
            guard !nodes.isEmpty else { throw r.error(e, "set '\(name)' has an empty 'elements' list") }
            guard nodes.count <= SetReader.maxElements else {
                throw r.error(e, "set '\(name)' has more than \(SetReader.maxElements) elements")
            }
            var parsed = SetElements(type)
            for n in nodes {
                let s = try r.scalar(n, "elements", expects: SetElements.expects(type))
                if let problem = parsed.add(Substring(s)) { throw r.error(n, "set '\(name)': \(problem)") }
            }
            return parsed.build(name)
        case (nil, let f?):
            let path = try r.string(f, "file")
            return try readFile(path.hasPrefix("/") ? path : folder + "/" + path, name, type, at: f)
        default:
            throw r.error(node, "set '\(name)' needs exactly one of 'elements' (a list) and 'file' (a path)")
        }
    }

    /// One element a line; `#` starts a comment; blank lines are skipped. A bad line is refused
    /// with the set file's path, line and column.
    func readFile(_ path: String, _ name: String, _ type: SetType, at node: Node) throws -> NamedSet {
        let bytes: [UInt8]
        do {
            bytes = try SetReader.readBytes(path)
        } catch {
            throw r.error(node, "cannot read the file of set '\(name)', \(path): \(error)")
        }
        var parsed = SetElements(type)
        var line = 1, start = 0
        try bytes.withUnsafeBufferPointer { all in
            while start < all.count {
                var end = start
                while end < all.count && all[end] != UInt8(ascii: "\n") { end += 1 }
                var a = start, b = end
                if let hash = all[a..<b].firstIndex(of: UInt8(ascii: "#")) { b = hash }
                while a < b && SetReader.isSpace(all[a]) { a += 1 }
                while b > a && SetReader.isSpace(all[b - 1]) { b -= 1 }
                if a < b {
                    guard parsed.count < SetReader.maxElements else {
                        throw ConfigError(
                            file: path, line: line, column: a - start + 1,
                            message: "set '\(name)' has more than \(SetReader.maxElements) elements")
                    }
                    if let problem = parsed.add(UnsafeBufferPointer(rebasing: all[a..<b])) {
                        throw ConfigError(
                            file: path, line: line, column: a - start + 1, message: "set '\(name)': \(problem)")
                    }
                }
                line += 1
                start = end + 1
            }
        }
        guard parsed.count > 0 else {
            throw r.error(node, "the file of set '\(name)', \(path), has no elements (only blank lines or comments)")
        }
        return parsed.build(name)
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 }

    static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = try FileDescriptor.open(FilePath(path), .readOnly)
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}

/// Elements of one set as they are read, kept compact (a million IPv4 prefixes: 8 MB).
struct SetElements {
    let type: SetType
    var v4: [ClosedRange<UInt32>] = []
    var v6: [ClosedRange<UInt128>] = []
    var ports: [PortRange] = []
    var protocols: [UInt8] = []

    init(_ type: SetType) { self.type = type }

    var count: Int { v4.count + v6.count + ports.count + protocols.count }

    static func expects(_ t: SetType) -> String {
        switch t {
        case .ipv4: return "an IPv4 address or prefix like 192.0.2.0/24"
        case .ipv6: return "an IPv6 address or prefix like 2001:db8::/32"
        case .port: return "a port or a range like 8000-8080"
        case .proto: return "a protocol name (\(RuleReader.protocols.map(\.0).joined(separator: ", "))) or number"
        }
    }

    /// Adds one element from a file line; returns what is wrong with it, or nil.
    mutating func add(_ text: UnsafeBufferPointer<UInt8>) -> String? {
        if type == .ipv4, let range = SetElements.fastV4(text) {
            v4.append(range)
            return nil
        }
        return add(Substring(String(decoding: text, as: UTF8.self)))
    }

    /// Adds one element; returns what is wrong with it, or nil.
    mutating func add(_ s: Substring) -> String? {
        let bad = "expected \(SetElements.expects(type)), got '\(s)'"
        switch type {
        case .ipv4, .ipv6:
            guard let p = IPPrefix.parse(String(s)) else { return bad }
            guard p.isV6 == (type == .ipv6) else {
                return "'\(s)' is not an \(type == .ipv6 ? "IPv6" : "IPv4") address"
            }
            if p.isV6 { v6.append(NamedSet.v6Range(p)) } else { v4.append(NamedSet.v4Range(p)) }
        case .port:
            let parts = s.split(separator: "-", omittingEmptySubsequences: false)
            let nums = parts.map { UInt16($0.trimmingSpaces) }
            guard (1...2).contains(parts.count), let lo = nums.first ?? nil, let hi = nums.last ?? nil else {
                return bad
            }
            guard lo <= hi else { return "range '\(s)' is empty: its start is above its end" }
            ports.append(PortRange(lo, hi))
        case .proto:
            if let hit = RuleReader.protocols.first(where: { $0.0 == s }) {
                protocols.append(hit.1)
            } else if let n = UInt8(s) {
                protocols.append(n)
            } else {
                return bad
            }
        }
        return nil
    }

    /// "a.b.c.d" or "a.b.c.d/len" straight from bytes (no String per line: a million-line file
    /// is read in a fraction of a second); nil sends the text to the general parser, which
    /// accepts the same and explains a refusal.
    static func fastV4(_ t: UnsafeBufferPointer<UInt8>) -> ClosedRange<UInt32>? {
        var i = 0, value: UInt32 = 0
        for part in 0..<4 {
            if part > 0 {
                guard i < t.count, t[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
            var n: UInt32 = 0, digits = 0
            while i < t.count, t[i] >= 48, t[i] <= 57, digits < 3 {
                n = n * 10 + UInt32(t[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0, n <= 255 else { return nil }
            value = value << 8 | n
        }
        var length: UInt32 = 32
        if i < t.count {
            guard t[i] == UInt8(ascii: "/"), i + 1 < t.count, t.count - i - 1 <= 2 else { return nil }
            length = 0
            for c in t[(i + 1)...] {
                guard c >= 48, c <= 57 else { return nil }
                length = length * 10 + UInt32(c - 48)
            }
            guard length <= 32 else { return nil }
        }
        let host: UInt32 = length == 32 ? 0 : UInt32.max >> length
        return (value & ~host)...(value | host)
    }

    func build(_ name: String) -> NamedSet {
        switch type {
        case .ipv4: return NamedSet(name: name, v4Ranges: v4)
        case .ipv6: return NamedSet(name: name, v6Ranges: v6)
        case .port: return NamedSet(name: name, ports: ports)
        case .proto: return NamedSet(name: name, protocols: protocols)
        }
    }
}
