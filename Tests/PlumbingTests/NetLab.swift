import Foundation
import XCTest
import TestSupport
@testable import Plumbing

/// Runs a shell command line (test fixtures and independent checks; vfplumb itself
/// never runs `ip`). Returns the status and the standard output plus error.
@discardableResult
func sh(_ command: String) -> (status: Int32, output: String) { spawnShell(command) }

/// Namespaces, veth pairs and a journal directory made for one test, all named after
/// this process (vfp-PID-N, vfpPID-N) and removed when the test ends, failure included.
/// A veth end stands in for a VF's netdev; its peer lives in a "peer" namespace of its
/// own with 10.213.0.1/24, so pings never leave the namespaces made here.
final class NetLab {
    static let pid = getpid()
    private static var counter = 0
    private(set) var namespaces: [String] = []
    private(set) var links: [String] = []
    private var cleanups: [() -> Void] = []
    let stateDir: String
    let peerAddress = "10.213.0.1"

    /// Skips (with the reason) when the machine cannot run these tests.
    static func requireRoot() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to create network namespaces and move links") }
        guard sh("command -v ip").status == 0 else { throw XCTSkip("needs iproute2 (ip) for fixtures") }
        sweepLeftovers()
    }

    init() {
        stateDir = NSTemporaryDirectory() + "vfp-state-\(NetLab.pid)-\(NetLab.next())"
    }

    static func next() -> Int { counter += 1; return counter }

    var environment: [String: String] { ["VFPLUMB_STATE_DIR": stateDir] }
    var journal: Journal { Journal(directory: stateDir) }

    func makeNetns() throws -> String {
        let name = "vfp-\(NetLab.pid)-\(NetLab.next())"
        let r = sh("ip netns add \(name)")
        guard r.status == 0 else { throw PlumbingError("ip netns add \(name): \(r.output)") }
        namespaces.append(name)
        return name
    }

    /// A veth pair: the host end (returned) stands in for a VF; the other end goes into
    /// a fresh peer namespace with 10.213.0.1/24, up.
    func makeStandInVF() throws -> (vf: String, peerNetns: String) {
        let n = NetLab.next()
        let vf = "vfp\(NetLab.pid)-\(n)a", peer = "vfp\(NetLab.pid)-\(n)b"
        let ns = try makeNetns()
        let r = sh("ip link add \(vf) type veth peer name \(peer) && ip link set \(peer) netns \(ns) && " +
                   "ip -n \(ns) addr add \(peerAddress)/24 dev \(peer) && ip -n \(ns) link set \(peer) up")
        links.append(vf)
        guard r.status == 0 else { throw PlumbingError("veth setup: \(r.output)") }
        return (vf, ns)
    }

    func onCleanup(_ body: @escaping () -> Void) { cleanups.append(body) }

    func cleanup() {
        cleanups.reversed().forEach { $0() }
        for link in links { sh("ip link del \(link) 2>/dev/null") }
        for ns in namespaces { sh("ip netns del \(ns) 2>/dev/null") }
        try? FileManager.default.removeItem(atPath: stateDir)
    }

    /// Removes what an earlier, killed run of these tests left behind (its PID is gone).
    static func sweepLeftovers() {
        func dead(_ pidText: Substring) -> Bool {
            guard let pid = Int32(pidText), pid != NetLab.pid else { return false }
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        for line in sh("ip netns list").output.split(separator: "\n") {
            let name = line.split(separator: " ").first ?? ""
            let parts = name.split(separator: "-")
            if parts.count == 3, parts[0] == "vfp", dead(parts[1]) { sh("ip netns del \(name)") }
        }
        for line in sh("ip -o link show").output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let name = fields[1].split(separator: "@").first.map { $0.replacingOccurrences(of: ":", with: "") } ?? ""
            if name.hasPrefix("vfp"), let dash = name.firstIndex(of: "-"),
               dead(name[name.index(name.startIndex, offsetBy: 3)..<dash]) {
                sh("ip link del \(name)")
            }
        }
        if sh("command -v podman").status == 0 {
            for name in sh("podman ps -a --format '{{.Names}}'").output.split(separator: "\n") {
                let parts = name.split(separator: "-")
                if parts.count == 3, parts[0] == "vfp", dead(parts[1]) { sh("podman rm -f \(name)") }
            }
        }
    }

    // MARK: checks made with iproute2, independent of the code under test

    func mac(_ link: String, netns: String? = nil) -> String? {
        let r = sh("ip \(netns.map { "-n \($0) " } ?? "")-o link show \(link)")
        guard r.status == 0, let range = r.output.range(of: "link/ether ") else { return nil }
        return String(r.output[range.upperBound...].prefix(17))
    }

    func exists(_ link: String, netns: String? = nil) -> Bool {
        sh("ip \(netns.map { "-n \($0) " } ?? "")link show \(link)").status == 0
    }

    func addresses(_ link: String, nsenterPID pid: Int32) -> String {
        sh("nsenter -t \(pid) -n ip -o addr show \(link)").output
    }

    func ping(_ address: String, from netns: String) -> Bool {
        sh("ip netns exec \(netns) ping -c 1 -W 3 \(address)").status == 0
    }

    /// Link names in a namespace ("11: eth1@if10: <...>" -> "eth1").
    func linkNames(netns: String) -> [String] {
        sh("ip -n \(netns) -o link show").output.split(separator: "\n").compactMap { line in
            guard let field = line.split(separator: " ").dropFirst().first else { return nil }
            return String(field.split(separator: "@")[0]).replacingOccurrences(of: ":", with: "")
        }
    }
}
