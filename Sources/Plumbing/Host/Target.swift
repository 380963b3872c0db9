import Foundation

/// Where an interface goes: a container (by name or ID), a process, a named netns, or a
/// namespace file. Resolved to the path of a network namespace file.
public struct Target: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case container(String)
        case pid(Int32)
        case namedNetns(String)
        case path(String)
    }

    public let kind: Kind
    public let text: String

    /// Parses TARGET: `pid:N`, `netns:NAME`, a path (has a "/"), else a container name.
    public init(parsing text: String) throws {
        self.text = text
        if text.hasPrefix("pid:") {
            guard let pid = Int32(text.dropFirst(4)), pid > 0 else {
                throw PlumbingError.usage("\(text) is not a valid target; write pid:N with N a process ID.")
            }
            kind = .pid(pid)
        } else if text.hasPrefix("netns:") {
            let name = String(text.dropFirst(6))
            guard !name.isEmpty, !name.contains("/") else {
                throw PlumbingError.usage(
                    "\(text) is not a valid target; write netns:NAME with NAME from `ip netns list`.")
            }
            kind = .namedNetns(name)
        } else if text.contains("/") {
            kind = .path(text)
        } else {
            guard !text.isEmpty else {
                throw PlumbingError.usage(
                    "the target is empty; give a container, pid:N, netns:NAME or a namespace file.")
            }
            kind = .container(text)
        }
    }

    /// The namespace file for this target, checked to exist.
    public func namespacePath(containerCLI: ContainerCLI = .fromEnvironment()) throws -> String {
        let path: String
        switch kind {
        case .pid(let pid):
            path = "/proc/\(pid)/ns/net"
            guard FileManager.default.fileExists(atPath: path) else {
                throw PlumbingError("process \(pid) is not running; give the PID of a live process.")
            }
        case .namedNetns(let name):
            path = "/run/netns/\(name)"
            guard FileManager.default.fileExists(atPath: path) else {
                throw PlumbingError(
                    "network namespace \(name) does not exist (\(path)); create it with `ip netns add \(name)`.")
            }
        case .path(let file):
            path = file
            guard NetworkNamespace.inode(of: file) != nil else {
                throw PlumbingError("\(file) does not exist; give the path of a network namespace file.")
            }
        case .container(let name):
            let pid = try containerCLI.pid(of: name)
            path = "/proc/\(pid)/ns/net"
        }
        return path
    }
}

/// The podman or docker command used to find a container's PID.
public struct ContainerCLI: Sendable, Equatable {
    public let executable: String

    public init(executable: String) { self.executable = executable }

    /// VFPLUMB_CONTAINER_CLI, else podman, else docker, whichever is on PATH.
    public static func fromEnvironment() -> ContainerCLI {
        let env = ProcessInfo.processInfo.environment
        if let chosen = env["VFPLUMB_CONTAINER_CLI"], !chosen.isEmpty { return ContainerCLI(executable: chosen) }
        for candidate in ["podman", "docker"] where findInPath(candidate, env["PATH"] ?? "/usr/bin:/bin") != nil {
            return ContainerCLI(executable: candidate)
        }
        return ContainerCLI(executable: "podman")
    }

    /// The container's init PID, through `CLI inspect --format {{.State.Running}} {{.State.Pid}}`.
    public func pid(of container: String) throws -> Int32 {
        let (status, output) = try runCommand(
            executable, ["inspect", "--format", "{{.State.Running}} {{.State.Pid}}", container])
        guard status == 0 else {
            throw PlumbingError(
                "container \(container) was not found by \(executable); check the name with `\(executable) ps -a`.")
        }
        let fields = output.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, fields[0] == "true", let pid = Int32(fields[1]), pid > 0 else {
            throw PlumbingError("container \(container) is not running; start it first.")
        }
        return pid
    }
}

func findInPath(_ name: String, _ path: String) -> String? {
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs a command found on PATH; returns its exit status and standard output.
func runCommand(_ name: String, _ arguments: [String]) throws -> (Int32, String) {
    let env = ProcessInfo.processInfo.environment
    guard let executable = name.contains("/") ? name : findInPath(name, env["PATH"] ?? "/usr/bin:/bin") else {
        throw PlumbingError("\(name) is not installed or not on PATH; install it or set VFPLUMB_CONTAINER_CLI.")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
