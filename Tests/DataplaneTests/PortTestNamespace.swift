import CLinux
import Foundation
import Glibc
import XCTest

/// A network namespace of its own with veth pairs inside, for AF_PACKET and net_af_packet
/// tests. Named `vfdp-<pid>-<n>`; removed (with its links) by `remove()`, which the tests call
/// in a `defer`, so a failing test cleans up too. Namespaces left by a crashed run (their pid
/// is gone) are removed when the next lab is made.
final class PortTestNamespace {
    nonisolated(unsafe) static var made = 0
    let name: String
    private var removed = false

    init() throws {
        try requireRoot("a network namespace with veth pairs")
        Self.removeStale()
        Self.made += 1
        name = "vfdp-\(getpid())-\(Self.made)"
        try Self.ip(["netns", "add", name])
        do {
            // No IPv6 autoconfiguration chatter (router solicitations, MLD) on the test links.
            try Self.run("/usr/sbin/ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                                            "net.ipv6.conf.default.disable_ipv6=1"])
            try Self.ip(["-n", name, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Adds a veth pair `a` <-> `b`, both up.
    func addVethPair(_ a: String, _ b: String) throws {
        try Self.ip(["-n", name, "link", "add", a, "type", "veth", "peer", "name", b])
        try Self.ip(["-n", name, "link", "set", a, "up"])
        try Self.ip(["-n", name, "link", "set", b, "up"])
    }

    /// `ip -d -n <ns> link show <link>` (details include the promiscuity count).
    func linkShow(_ link: String) throws -> String {
        try Self.run("/usr/sbin/ip", ["-d", "-n", name, "link", "show", link])
    }

    /// Runs `body` with the calling thread inside the namespace (sockets opened there stay
    /// there), and comes back.
    func inside<T>(_ body: () throws -> T) throws -> T {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        let there = open("/var/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        defer { close(home); close(there) }
        guard home >= 0, there >= 0 else { throw XCTSkip("cannot open namespace files: errno \(errno)") }
        guard clinux_setns(there, CLINUX_CLONE_NEWNET) == 0 else { throw XCTSkip("setns into \(name): errno \(errno)") }
        defer {
            // Staying in the test namespace would send later tests' traffic to the wrong place.
            if clinux_setns(home, CLINUX_CLONE_NEWNET) != 0 { fatalError("cannot return from namespace \(name): errno \(errno)") }
        }
        return try body()
    }

    func remove() {
        guard !removed else { return }
        removed = true
        _ = try? Self.ip(["netns", "delete", name])
    }

    static func removeStale() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns") else { return }
        for n in names where n.hasPrefix("vfdp-") {
            let parts = n.split(separator: "-")
            guard parts.count == 3, let pid = Int32(parts[1]), pid != getpid(), kill(pid, 0) != 0 else { continue }
            _ = try? ip(["netns", "delete", n])
        }
    }

    static func ip(_ args: [String]) throws { _ = try run("/usr/sbin/ip", args) }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "PortTestNamespace", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(args.joined(separator: " ")): \(text)"])
        }
        return text
    }
}
