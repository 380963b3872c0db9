import Foundation
import Glibc

/// What a finished process left: its exit status (128 + signal when killed) and its output.
public struct ProcessResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Standard output, then standard error: for messages in failed assertions.
    public var output: String { stdout + stderr }
}

public struct ProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A process started in the background, in a process group of its own.
///
/// Its standard output and error go to two files, so both are read together and neither can
/// fill a pipe and stall the child (the deadlock of reading one pipe to its end before the
/// other). Files, not pipes, also because `podman run -d` leaves conmon holding inherited
/// descriptors, which keeps a pipe's reader waiting forever. posix_spawn and waitpid, not
/// Foundation's Process, for the same reason.
public final class BackgroundProcess {
    public let pid: pid_t
    private let stdoutPath: String, stderrPath: String
    private var exitStatus: Int32?
    private var result: ProcessResult?

    /// Starts `executable` (looked up in PATH when it has no slash) with `arguments`; inside network
    /// namespace `netns` through `ip netns exec` (which execs, so `pid` is the command's); in
    /// `directory`; with `environment` added to this process's. `mergeOutput` sends standard
    /// error to the standard output file, interleaved as written.
    public init(
        _ executable: String, _ arguments: [String], netns: String? = nil, directory: String? = nil,
        environment: [String: String] = [:], mergeOutput: Bool = false
    ) throws {
        let base = NSTemporaryDirectory() + "vt-out-\(getpid())-\(UUID().uuidString.prefix(8))"
        stdoutPath = base + ".out"
        stderrPath = mergeOutput ? stdoutPath : base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if mergeOutput {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A group of its own, so a timeout or the end of a test stops its children too.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        var command = netns.map { ["ip", "netns", "exec", $0, executable] } ?? [executable]
        if let directory {
            // Glibc's module does not export posix_spawn_file_actions_addchdir_np; the shell
            // changes directory and execs, so `pid` stays the command's.
            command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + command
        }
        let argv: [UnsafeMutablePointer<CChar>?] = (command + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let mergedEnvironment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp: [UnsafeMutablePointer<CChar>?] = mergedEnvironment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var spawned: pid_t = 0
        let failure = posix_spawnp(&spawned, command[0], &actions, &attributes, argv, envp)
        guard failure == 0 else {
            unlink(stdoutPath)
            unlink(stderrPath)
            throw ProcessError("cannot start \(command[0]): \(String(cString: strerror(failure)))")
        }
        pid = spawned
    }

    /// Reaps the process if it has exited (never blocks).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Standard output (with standard error when merged) so far.
    public var stdoutText: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderrText: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the process's group while it runs.
    public func signal(_ signal: Int32) { if isRunning { kill(-pid, signal) } }

    /// Waits for the exit, SIGKILLs the group after `timeout` seconds, and collects the output.
    @discardableResult
    public func wait(timeout: Double = 30) -> ProcessResult {
        if let result { return result }
        let deadline = Date().addingTimeInterval(timeout)
        while reap(blocking: false) == nil && Date() < deadline { usleep(10_000) }
        if exitStatus == nil {
            kill(-pid, SIGKILL)
            _ = reap(blocking: true)
        }
        let finished = ProcessResult(
            status: exitStatus ?? -1, stdout: stdoutText,
            stderr: stderrPath == stdoutPath ? "" : stderrText)
        unlink(stdoutPath)
        unlink(stderrPath)
        result = finished
        return finished
    }

    private func reap(blocking: Bool) -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, blocking ? 0 : WNOHANG) } while reaped < 0 && errno == EINTR
        guard reaped == pid else { return nil }
        let exited = status & 0x7f == 0
        exitStatus = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return exitStatus
    }

    deinit {
        if result == nil {
            signal(SIGKILL)
            wait(timeout: 5)
        }
    }
}

/// Runs a command to its end (SIGKILL after `timeout` seconds); see `BackgroundProcess`.
public func runProcess(
    _ executable: String, _ arguments: [String], netns: String? = nil, directory: String? = nil,
    environment: [String: String] = [:], mergeOutput: Bool = false,
    timeout: Double = 60
) throws -> ProcessResult {
    try BackgroundProcess(
        executable, arguments, netns: netns, directory: directory, environment: environment,
        mergeOutput: mergeOutput
    ).wait(timeout: timeout)
}

/// Runs `command` with `shell -c`; returns its exit status and its output (stdout and stderr
/// interleaved). 127 when the shell cannot start.
@discardableResult
public func spawnShell(
    _ command: String, shell: String = "/bin/sh",
    timeout: Double = 900
) -> (status: Int32, output: String) {
    guard let result = try? runProcess(shell, ["-c", command], mergeOutput: true, timeout: timeout) else {
        return (127, "cannot spawn \(shell)")
    }
    return (result.status, result.stdout)
}
