import Foundation
import Glibc
import XCTest

/// client namespace - veth - firewall namespace - veth - server namespace, for `vfwall run` as a
/// bump in the wire:
///
///     [client ns]  c0 10.77.0.1/24 ── fin  [firewall ns: vfwall run]  fout ── s0 10.77.0.2/24  [server ns]
///
/// Namespaces are `vfrun-<pid>-<n>-{c,f,s}`; `remove()` deletes them (and with them the veths),
/// and the tests call it in a `defer`, so a failing test cleans up too. Labs left by a crashed
/// run (their pid is gone) are removed when the next lab is made. IPv6 is off everywhere (no
/// autoconfiguration chatter), and checksum/segmentation offloads are off on the hosts' ends so
/// the frames vfwall forwards are complete on the wire.
final class RunTestLab {
    nonisolated(unsafe) static var made = 0
    let prefix: String
    var client: String { prefix + "-c" }
    var firewall: String { prefix + "-f" }
    var server: String { prefix + "-s" }
    static let clientIP = "10.77.0.1", serverIP = "10.77.0.2"
    private var removed = false
    private var background: [VFWallBinary.Background] = []

    init() throws {
        try requireRoot("a namespace lab (client - firewall - server)")
        Self.removeStale()
        Self.made += 1
        prefix = "vfrun-\(getpid())-\(Self.made)"
        do {
            for ns in [client, firewall, server] {
                try ip(["netns", "add", ns])
                try run(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
                try ip(["-n", ns, "link", "set", "lo", "up"])
            }
            try ip(["-n", client, "link", "add", "c0", "type", "veth", "peer", "name", "fin", "netns", firewall])
            try ip(["-n", server, "link", "add", "s0", "type", "veth", "peer", "name", "fout", "netns", firewall])
            try ip(["-n", client, "addr", "add", Self.clientIP + "/24", "dev", "c0"])
            try ip(["-n", server, "addr", "add", Self.serverIP + "/24", "dev", "s0"])
            for (ns, dev) in [(client, "c0"), (server, "s0"), (firewall, "fin"), (firewall, "fout")] {
                for feature in ["tx", "tso", "gso", "gro"] {
                    _ = try? run(ns, ["ethtool", "-K", dev, feature, "off"])   // not every kernel has each
                }
                try ip(["-n", ns, "link", "set", dev, "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Starts `argv` inside namespace `ns` in the background; stopped by `remove()` if still running.
    func start(_ ns: String, _ argv: [String]) throws -> VFWallBinary.Background {
        let b = try VFWallBinary.Background(Array(argv.dropFirst()), netns: ns, executable: argv[0])
        background.append(b)
        return b
    }

    /// Starts `vfwall run --config CONFIG --no-status` in the firewall namespace.
    func startFirewall(config: String) throws -> VFWallBinary.Background {
        let b = try VFWallBinary.Background(["run", "--config", config, "--no-status"], netns: firewall)
        background.append(b)
        return b
    }

    /// Runs `argv` in namespace `ns`; returns its status and output (stdout + stderr).
    @discardableResult
    func exec(_ ns: String, _ argv: [String], timeout: Double = 20) throws -> (status: Int32, output: String) {
        let b = try VFWallBinary.Background(Array(argv.dropFirst()), netns: ns, executable: argv[0])
        let r = b.wait(timeout: timeout)
        return (r.status, r.out + r.err)
    }

    func remove() {
        guard !removed else { return }
        removed = true
        for b in background { b.signal(SIGKILL); b.wait(timeout: 5) }
        for ns in [client, firewall, server] { _ = try? ip(["netns", "delete", ns]) }
    }

    func ip(_ args: [String]) throws { _ = try PortTestNamespace.run("/usr/sbin/ip", args) }
    @discardableResult
    func run(_ ns: String, _ argv: [String]) throws -> String {
        try PortTestNamespace.run("/usr/sbin/ip", ["netns", "exec", ns] + argv)
    }

    static func removeStale() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/var/run/netns") else { return }
        for n in names where n.hasPrefix("vfrun-") {
            let parts = n.split(separator: "-")
            guard parts.count == 4, let pid = Int32(parts[1]), pid != getpid(), kill(pid, 0) != 0 else { continue }
            _ = try? PortTestNamespace.run("/usr/sbin/ip", ["netns", "delete", n])
        }
    }

    /// A tiny TCP/UDP tool in Python (python3 is a build dependency): `serve-tcp PORT`,
    /// `tcp HOST PORT MESSAGE [TIMEOUT [SOURCE-PORT]]` (prints the echo,
    /// exits 1 on failure), `serve-udp PORT FILE`
    /// (appends each datagram to FILE), `udp HOST PORT COUNT INTERVAL` (one new socket, so a new
    /// flow, per datagram).
    static let netTool = """
    import socket, sys, time
    cmd = sys.argv[1]
    if cmd == "serve-tcp":
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(16)
        while True:
            c, _ = s.accept(); c.settimeout(5)
            try:
                data = c.recv(1024); c.sendall(b"echo:" + data)
            except OSError:
                pass
            c.close()
    elif cmd == "tcp":
        try:
            src = ("0.0.0.0", int(sys.argv[6])) if len(sys.argv) > 6 else None
            c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=float(sys.argv[5]) if len(sys.argv) > 5 else 3, source_address=src)
            c.sendall(sys.argv[4].encode()); print(c.recv(1024).decode()); c.close()
        except OSError as e:
            print("failed:", e); sys.exit(1)
    elif cmd == "serve-udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[2])))
        with open(sys.argv[3], "a", buffering=1) as f:
            while True:
                data, _ = s.recvfrom(2048); f.write(data.decode() + "\\n")
    elif cmd == "udp":
        for i in range(int(sys.argv[4])):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(str(i).encode(), (sys.argv[2], int(sys.argv[3]))); u.close()
            time.sleep(float(sys.argv[5]))
    """
}
