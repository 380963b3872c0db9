import Foundation

/// Checks made before touching the host's links.
public enum Safety {
    /// Interfaces that carry a default route (IPv4 /proc/net/route, IPv6 /proc/net/ipv6_route).
    public static func defaultRouteInterfaces() -> Set<String> {
        var names: Set<String> = []
        if let text = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(whereSeparator: \.isWhitespace)
                // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
                if f.count >= 8, f[1] == "00000000", f[7] == "00000000" { names.insert(String(f[0])) }
            }
        }
        if let text = try? String(contentsOfFile: "/proc/net/ipv6_route", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let f = line.split(whereSeparator: \.isWhitespace)
                if f.count >= 10, f[0].allSatisfy({ $0 == "0" }), f[1] == "00", f[9] != "lo" {
                    names.insert(String(f[9]))
                }
            }
        }
        return names
    }

    /// CAP_NET_ADMIN (bit 12) in the effective set, from /proc/self/status.
    public static func hasNetAdmin() -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16)
        else {
            return geteuid() == 0
        }
        return mask & (1 << 12) != 0
    }

    /// Throws the plain sentence users need when they lack the privilege.
    public static func requireNetAdmin(_ what: String) throws {
        if !hasNetAdmin() {
            throw PlumbingError("\(what) needs root or CAP_NET_ADMIN; run vfplumb with sudo.")
        }
    }
}
