import Foundation
import TestSupport
import XCTest

/// scripts/lab driven from a test: a lab named by `TestNames` (`vt<pid>x<n>`), brought up in `init`,
/// taken down by `down()` (the tests call it in a `defer`, so a failing test cleans up too).
final class LabUnderTest {
    let name: String
    private var isDown = false

    /// Skips (with the reason) where a lab cannot run: not root, no podman/runc. CI is root and
    /// has both (scripts/install-deps --lab), so nothing skips there.
    static func requirements() throws {
        try requireRoot("the lab (namespaces, podman, vfplumb)")
        try requireTools(["podman", "runc", "debootstrap"], for: "the lab", installedBy: "scripts/install-deps --lab")
    }

    /// `kube`: the pod of deploy/kubernetes's kernel-driver overlay under `podman kube play`
    /// (`scripts/lab up --kube`; it needs kubectl to render the overlay).
    /// `topology`: bridged (one subnet) or routed (vfwall the gateway of two).
    init(mode: String, backend: String = "afpacket", kube: Bool = false, topology: String = "bridged") throws {
        try Self.requirements()
        if kube {
            try requireTools(
                ["kubectl"], for: "rendering deploy/kubernetes", installedBy: "kubectl is not in Debian 12")
        }
        sweepStaleLabs()
        name = TestNames.unique(separator: "x")  // at most 11 characters: vt + 7-digit pid + x + n
        let r = Self.sh(
            "scripts/lab up --name \(name) --mode \(mode) --backend \(backend) --topology \(topology)"
                + (kube ? " --kube" : ""))
        guard r.status == 0 else {
            down()
            throw LabError("scripts/lab up failed (\(r.status)):\n\(r.output)")
        }
    }

    deinit { down() }

    func down() {
        guard !isDown else { return }
        isDown = true
        _ = Self.sh("scripts/lab down --name \(name)")
    }

    /// The sink's TCP echo and UDP counter on 80, 22, 9000, 6666 (22 is never reached).
    func startServer() throws -> BackgroundProcess {
        let command = [
            "exec", "--name", name, "dst", "python3", "scripts/lab.d/nettool.py", "serve", "80", "22",
            "9000", "6666"
        ]
        let server = try BackgroundProcess(repositoryRoot + "/scripts/lab", command, directory: repositoryRoot)
        guard
            waitUntil(
                timeout: 20, what: "the sink server to say ready: \(server.stderrText)",
                {
                    server.stdoutText.hasPrefix("ready\n")
                })
        else { throw LabError("sink server: \(server.stdoutText)") }
        return server
    }

    /// A command in the lab's source or sink namespace.
    @discardableResult
    func exec(_ ns: String, _ command: String) -> (status: Int32, output: String) {
        Self.sh("scripts/lab exec --name \(name) \(ns) \(command)")
    }

    /// Datagrams applications in the sink's namespace have read: its `Udp: InDatagrams`, which
    /// the kernel counts in recvmsg (not on arrival). -1 when unreadable.
    func datagramsRead() -> Int {
        let udp = exec("dst", "cat /proc/net/snmp").output.split(separator: "\n").filter { $0.hasPrefix("Udp: ") }
        guard udp.count == 2 else { return -1 }
        let names = udp[0].split(separator: " "), values = udp[1].split(separator: " ")
        guard let i = names.firstIndex(of: "InDatagrams"), i < values.count else { return -1 }
        return Int(values[i]) ?? -1
    }

    /// The firewall's `vfwall stats`, through `podman exec`.
    func stats() throws -> [String: Any] {
        let r = Self.sh("scripts/lab stats --name \(name)")
        guard r.status == 0, let data = r.output.data(using: .utf8),
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw LabError("vfwall stats: \(r.output)")
        }
        return json
    }

    /// GET `path` from the firewall's metrics listener (127.0.0.1:9469 in its namespace):
    /// status 0 on HTTP 200, 1 on another status, 2 when nothing answers; the body as output.
    func http(_ path: String) -> (status: Int32, output: String) {
        Self.sh("scripts/lab http --name \(name) \(path)")
    }

    func podman(_ args: String) -> (status: Int32, output: String) {
        Self.sh("podman --runtime runc --cgroup-manager cgroupfs \(args)")
    }

    /// What the lab could have left behind, as a list of descriptions (empty when clean).
    func leftovers() -> [String] {
        var found: [String] = []
        let netns = Self.sh("ip netns list").output
        found += netns.split(separator: "\n").filter { $0.hasPrefix(name + "-") }.map { "netns \($0)" }
        for link in ["\(name)-in", "\(name)-out"] where Self.sh("ip link show \(link)").status == 0 {
            found.append("link \(link)")
        }
        let containers = podman("ps -a --filter name=^\(name)- --format {{.Names}}").output
        found += containers.split(separator: "\n").map { "container \($0)" }
        if !podman("pod ps --filter name=^\(name)- --format {{.Name}}").output.isEmpty {
            found.append("pod \(name)-fw")
        }
        if podman("volume exists \(name)-config").status == 0 { found.append("volume \(name)-config") }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        found += mounts.split(separator: "\n").filter { $0.contains("/\(name)-") || $0.contains("vfwall-lab/\(name)") }
            .map { "mount \($0)" }
        if FileManager.default.fileExists(atPath: "/run/vfwall-lab/\(name)") {
            found.append("state /run/vfwall-lab/\(name)")
        }
        return found
    }

    /// Runs `command` with bash in the repository (see `spawnShell` for why not Process).
    @discardableResult
    static func sh(_ command: String) -> (status: Int32, output: String) {
        let r = spawnShell("cd '\(repositoryRoot)' && \(command)", shell: "/bin/bash")
        return (r.status, r.output.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

struct LabError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A rule's hit count from `vfwall stats` JSON.
func hits(_ stats: [String: Any], rule: String) -> Int? {
    (stats["rules"] as? [[String: Any]])?.first { $0["name"] as? String == rule }?["hits"] as? Int
}

/// A capability set (`CapEff`, `CapBnd`, ...) from a /proc/PID/status text.
func capabilities(_ status: String, _ field: String) -> UInt64? {
    status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        .flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
}
