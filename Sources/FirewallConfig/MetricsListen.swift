/// Where the metrics listener (`dataplane.metrics.listen`) accepts HTTP: a TCP host and port,
/// or a Unix socket path.
public enum MetricsListen: Equatable, Sendable, CustomStringConvertible {
    /// `host` is an IPv4 or IPv6 literal (without brackets) or a host name; port 0 picks a free one.
    case tcp(host: String, port: Int)
    case unix(path: String)

    public var description: String {
        switch self {
        case let .tcp(host, port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case let .unix(path): return "unix:\(path)"
        }
    }

    /// Reads "127.0.0.1:9469", "[::1]:9469", "localhost:9469", "/run/vfwall/metrics.sock" or
    /// "unix:/run/...". Throws a message saying what is expected.
    public static func parse(_ text: String) throws(MetricsListenError) -> MetricsListen {
        let want = "expects HOST:PORT (127.0.0.1:9469, [::1]:9469) or a Unix socket path (/run/vfwall/metrics.sock)"
        if text.hasPrefix("/") || text.hasPrefix("unix:") {
            let path = text.hasPrefix("unix:") ? String(text.dropFirst(5)) : text
            guard path.hasPrefix("/"), path.utf8.count <= 107, !path.utf8.contains(0) else {
                throw MetricsListenError("\(want); a socket path is absolute and at most 107 bytes, got '\(text)'")
            }
            return .unix(path: path)
        }
        guard let colon = text.lastIndex(of: ":") else { throw MetricsListenError("\(want), got '\(text)'") }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port), portText.allSatisfy(\.isNumber) else {
            throw MetricsListenError("\(want); the port is a number from 0 to 65535, got '\(portText)'")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw MetricsListenError("\(want); '[\(host)]' is not an IPv6 address")
            }
            return .tcp(host: host, port: port)
        }
        let nameCharacters = host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "." }
        guard !host.isEmpty, nameCharacters, !host.hasPrefix("-"), !host.hasPrefix(".") else {
            throw MetricsListenError("\(want); '\(host)' is not an IPv4 address or a host name")
        }
        if host.allSatisfy({ $0.isNumber || $0 == "." }) {
            let octets = host.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4, octets.allSatisfy({ Int($0).map { (0...255).contains($0) } ?? false }) else {
                throw MetricsListenError("\(want); '\(host)' is not an IPv4 address")
            }
        }
        return .tcp(host: host, port: port)
    }
}

/// Why a `metrics.listen` value was refused.
public struct MetricsListenError: Error, CustomStringConvertible {
    public var description: String
    init(_ message: String) { description = message }
}
