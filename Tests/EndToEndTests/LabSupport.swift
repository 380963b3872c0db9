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

    init(mode: String, backend: String = "afpacket") throws {
        try Self.requirements()
        sweepStaleLabs()
        name = TestNames.unique(separator: "x")  // at most 11 characters: vt + 7-digit pid + x + n
        let r = Self.sh("scripts/lab up --name \(name) --mode \(mode) --backend \(backend)")
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

    /// A command in the lab's source or sink namespace.
    @discardableResult
    func exec(_ ns: String, _ command: String) -> (status: Int32, output: String) {
        Self.sh("scripts/lab exec --name \(name) \(ns) \(command)")
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
        if !podman("ps -a --filter name=^\(name)-fw$ --format {{.Names}}").output.isEmpty {
            found.append("container \(name)-fw")
        }
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
