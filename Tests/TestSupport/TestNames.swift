import Foundation
import Glibc

/// Names of what the tests make outside this process: namespaces, links, containers, labs of
/// scripts/lab. Every one starts with `owner`, "vt" and this process's pid, then "-" or "x",
/// so `sweepStaleLabs` can tell what a killed run left behind (its pid is gone) from what a
/// live run, in another worktree say, is using.
public enum TestNames {
    public static let owner = "vt\(getpid())"
    nonisolated(unsafe) private static var made = 0

    /// `vt<pid><separator><n>`, never the same twice in one run. At most 15 characters
    /// with a suffix of up to three, so it can name a link too.
    public static func unique(separator: String = "-") -> String {
        made += 1
        return "\(owner)\(separator)\(made)"
    }

    /// The pid in a name `unique` made, or nil for a name it did not make.
    static func ownerPid(of name: Substring) -> pid_t? {
        guard name.hasPrefix("vt") else { return nil }
        let digits = name.dropFirst(2).prefix { $0.isASCII && $0.isNumber }
        let after = name.dropFirst(2 + digits.count).first
        guard !digits.isEmpty, after == "-" || after == "x" else { return nil }
        return pid_t(digits)
    }

    /// Whether `name` was made by a test run that is gone.
    static func isStale(_ name: Substring) -> Bool {
        guard let pid = ownerPid(of: name), pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

nonisolated(unsafe) private var staleLabsSwept = false

/// Removes what killed test runs left: labs of scripts/lab (by their state directories),
/// namespaces, links in this namespace and containers named by `TestNames`. Once per run:
/// what is stale now stays stale, and listing containers is slow.
public func sweepStaleLabs() {
    guard !staleLabsSwept, geteuid() == 0 else { return }
    staleLabsSwept = true
    let labs = (try? FileManager.default.contentsOfDirectory(atPath: "/run/vfwall-lab")) ?? []
    for lab in labs where TestNames.isStale(Substring(lab)) {
        spawnShell("'\(repositoryRoot)/scripts/lab' down --name \(lab)")
    }
    let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
    for namespace in namespaces where TestNames.isStale(Substring(namespace)) {
        _ = try? runProcess("ip", ["netns", "delete", namespace])
    }
    // "11: vt123-4a@if10: <...>" -> "vt123-4a"
    let links = (try? runProcess("ip", ["-o", "link", "show"]).stdout) ?? ""
    for line in links.split(separator: "\n") {
        guard let field = line.split(separator: " ").dropFirst().first else { continue }
        let link = field.split(separator: "@")[0].replacingOccurrences(of: ":", with: "")
        if TestNames.isStale(Substring(link)) { _ = try? runProcess("ip", ["link", "delete", link]) }
    }
    guard spawnShell("command -v podman").status == 0 else { return }
    let containers = spawnShell("podman ps -a --format '{{.Names}}'").output
    for container in containers.split(separator: "\n") where TestNames.isStale(container) {
        spawnShell("podman rm -f -t 0 \(container) >/dev/null 2>&1")
    }
}
