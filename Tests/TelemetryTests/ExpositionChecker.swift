import Foundation

/// A small checker of the Prometheus text exposition format (0.0.4), strict where vfwall's
/// output must be: every sample belongs to a family whose `# TYPE` came first (counter or gauge,
/// counters named `_total`), names and label names have the allowed characters, label values
/// use only the three escapes, each series (name and label set) appears once, values are numbers.
struct Exposition {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// Series -> value; a series is written `name{a="x",b="y"}` with labels sorted by name.
    private(set) var samples: [String: Double] = [:]
    private(set) var types: [String: String] = [:]

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Problem(description: "the text does not end with a line feed") }
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let at = "line \(n + 1) '\(line)'"
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, Self.isName(parts[2]), ["counter", "gauge"].contains(parts[3]) else {
                    throw Problem(description: "\(at): a TYPE line names a metric and counter or gauge")
                }
                guard types.updateValue(String(parts[3]), forKey: String(parts[2])) == nil else {
                    throw Problem(description: "\(at): a second TYPE line for \(parts[2])")
                }
                if parts[3] == "counter" && !parts[2].hasSuffix("_total") {
                    throw Problem(description: "\(at): a counter's name ends in _total")
                }
            } else if line.hasPrefix("# HELP ") {
                guard line.split(separator: " ").count >= 4 else { throw Problem(description: "\(at): empty HELP") }
            } else if line.hasPrefix("#") || line.isEmpty {
                throw Problem(description: "\(at): only TYPE and HELP comments, no empty lines")
            } else {
                try sample(Substring(line), at: at)
            }
        }
    }

    private mutating func sample(_ line: Substring, at: String) throws {
        var rest = line[...]
        let name = rest.prefix { $0 != "{" && $0 != " " }
        rest = rest.dropFirst(name.count)
        guard Self.isName(name), types[String(name)] != nil else {
            throw Problem(description: "\(at): '\(name)' is not a metric whose TYPE came before")
        }
        var labels: [(String, String)] = []
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(label.count)
                guard Self.isLabelName(label), rest.hasPrefix("=\"") else {
                    throw Problem(description: "\(at): bad label name '\(label)'")
                }
                rest = rest.dropFirst(2)
                var value = ""
                while let c = rest.first, c != "\"" {
                    rest = rest.dropFirst()
                    if c == "\\" {
                        switch rest.first {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw Problem(description: "\(at): a label value escapes only \\\\, \\\" and \\n")
                        }
                        rest = rest.dropFirst()
                    } else {
                        value.append(c)
                    }
                }
                guard rest.first == "\"" else { throw Problem(description: "\(at): unterminated label value") }
                rest = rest.dropFirst()
                labels.append((String(label), value))
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw Problem(description: "\(at): labels are separated by commas")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.hasPrefix(" "), let value = Double(rest.dropFirst()) else {
            throw Problem(description: "\(at): a sample ends with one space and a number")
        }
        guard Set(labels.map(\.0)).count == labels.count else { throw Problem(description: "\(at): a label twice") }
        let key = Self.series(String(name), labels)
        guard samples.updateValue(value, forKey: key) == nil else {
            throw Problem(description: "\(at): the series \(key) appears twice")
        }
    }

    static func series(_ name: String, _ labels: [(String, String)]) -> String {
        let sorted = labels.sorted { $0.0 < $1.0 }.map { "\($0.0)=\"\($0.1)\"" }
        return sorted.isEmpty ? name : name + "{" + sorted.joined(separator: ",") + "}"
    }

    /// The value of a series, or nil.
    func value(_ name: String, _ labels: [(String, String)] = []) -> Double? { samples[Self.series(name, labels)] }

    static func isName<S: StringProtocol>(_ s: S) -> Bool {
        guard let f = s.first, f.isASCII, f.isLetter || f == "_" || f == ":" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    static func isLabelName<S: StringProtocol>(_ s: S) -> Bool {
        guard let f = s.first, f.isASCII, f.isLetter || f == "_" else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}

/// One HTTP/1.1 GET over a real TCP connection: status and body.
func httpGet(port: Int, path: String) throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Exposition.Problem(description: "socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw Exposition.Problem(description: "connect to port \(port): errno \(errno)") }
    let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "")
    else { throw Exposition.Problem(description: "not an HTTP response: \(text)") }
    return (status, String(text[split.upperBound...]))
}
