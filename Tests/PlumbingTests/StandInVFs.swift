import Foundation
import TestSupport
import XCTest
@testable import Plumbing

/// Runs a shell command line (test fixtures and independent checks; vfplumb itself
/// never runs `ip`). Returns the status and the standard output plus error.
@discardableResult
func sh(_ command: String) -> (status: Int32, output: String) { spawnShell(command) }

/// Runs the built vfplumb with `environment` added to this process's.
@discardableResult
func vfplumb(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    try runProduct("vfplumb", arguments, environment: environment)
}

/// What the attach tests add to the shared lab: veth ends in this namespace standing in for
/// VFs' netdevs, each with its peer in a namespace of its own at 10.213.0.1/24 (so pings never
/// leave the namespaces the lab made), and a journal directory inside the lab's directory.
extension NamespaceLab {
    /// A lab with no namespace yet; skips the test (saying why) without root or iproute2.
    static func forAttaching() throws -> NamespaceLab {
        try NamespaceLab(namespaces: [], for: "attaching links to namespaces")
    }

    var peerAddress: String { "10.213.0.1" }
    var stateDir: String { directory + "/state" }
    var environment: [String: String] { ["VFPLUMB_STATE_DIR": stateDir] }
    var journal: Journal { Journal(directory: stateDir) }

    /// A veth pair: the host end (returned, down as a fresh VF is) stands in for a VF; the
    /// other end is up in a fresh peer namespace with 10.213.0.1/24.
    func makeStandInVF() throws -> (vf: String, peerNetns: String) {
        let pair = TestNames.unique()
        let vf = pair + "a", peer = pair + "b"
        let peerNetns = try addNamespace()
        try addVethPair(vf, in: nil, peer: peer, in: peerNetns, up: false)
        try addAddress(peerAddress + "/24", to: peer, in: peerNetns)
        try NamespaceLab.ip(["-n", peerNetns, "link", "set", peer, "up"])
        return (vf, peerNetns)
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
