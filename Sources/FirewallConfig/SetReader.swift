import FirewallCore
import SystemPackage
import Yams

/// Reads the `sets:` mapping: named, typed sets whose elements are given inline (`elements:`)
/// or in a file of one element a line (`file:`, relative to the configuration file).
struct SetReader {
    let r: NodeReader
    /// The folder `file:` paths are relative to (the configuration file's).
    let folder: String

    static let keys = ["type", "elements", "file", "keep-runtime", "comment"]
    static let maxElements = SetElements.maxElements

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
        var components: [SetType]?
        var elements: Node?, file: Node?
        var keepsRuntime = false
        for (key, _, v) in try r.mapping(node, "set '\(name)'", allowed: SetReader.keys) {
            switch key {
            case "type": components = try setType(v)
            case "elements": elements = v
            case "file": file = v
            case "keep-runtime": keepsRuntime = try r.bool(v, key)
            default: break
            }
        }
        guard let components else { throw r.error(node, "set '\(name)' has no 'type' (ipv4, ipv6, port or proto)") }
        switch (elements, file) {
        case (let e?, nil):
            let nodes = r.list(e)
            guard !nodes.isEmpty else { throw r.error(e, "set '\(name)' has an empty 'elements' list") }
            guard nodes.count <= SetReader.maxElements else {
                throw r.error(e, "set '\(name)' has more than \(SetReader.maxElements) elements")
            }
            var parsed = SetElements(components: components)
            for n in nodes {
                let s = try r.scalar(n, "elements", expects: SetElements.expects(components))
                if let problem = parsed.add(Substring(s)) { throw r.error(n, "set '\(name)': \(problem)") }
            }
            if let problem = parsed.sizeProblem(set: name) { throw r.error(e, problem) }
            return parsed.build(name, keepsRuntimeChanges: keepsRuntime)
        case (nil, let f?):
            let path = try r.string(f, "file")
            let parsed = try readFile(path.hasPrefix("/") ? path : folder + "/" + path, name, components, at: f)
            if let problem = parsed.sizeProblem(set: name) { throw r.error(f, problem) }
            return parsed.build(name, keepsRuntimeChanges: keepsRuntime)
        default:
            throw r.error(node, "set '\(name)' needs exactly one of 'elements' (a list) and 'file' (a path)")
        }
    }

    /// One element a line; `#` starts a comment; blank lines are skipped. A bad line is refused
    /// with the set file's path, line and column.
    func readFile(_ path: String, _ name: String, _ components: [SetType], at node: Node) throws -> SetElements {
        let bytes: [UInt8]
        do {
            bytes = try SetReader.readBytes(path)
        } catch {
            throw r.error(node, "cannot read the file of set '\(name)', \(path): \(error)")
        }
        var parsed = SetElements(components: components)
        if let problem = bytes.withUnsafeBufferPointer({ parsed.addLines($0, set: name) }) {
            throw ConfigError(file: path, line: problem.line, column: problem.column, message: problem.message)
        }
        guard parsed.count > 0 else {
            throw r.error(node, "the file of set '\(name)', \(path), has no elements (only blank lines or comments)")
        }
        return parsed
    }

    /// `ipv4`, ..., or a concatenation written like nftables' (`"ipv4 . port"`).
    func setType(_ v: Node) throws -> [SetType] {
        let text = try r.scalar(v, "type", expects: "ipv4, ipv6, port, proto or a concatenation like 'ipv4 . port'")
        guard text.contains(".") else { return [try r.word(v, "type", SetType.allCases.map { ($0.rawValue, $0) })] }
        switch SetElements.concatenation(text) {
        case .success(let c): return c
        case .failure(let p): throw r.error(v, p.message)
        }
    }

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
