import Foundation

/// Runs `command` with `shell -c` and returns its exit status and its standard output and error.
///
/// posix_spawn and waitpid, output through a file: `podman run -d` leaves conmon holding
/// inherited descriptors, which keeps a pipe (and Foundation's Process, which watches one)
/// waiting forever. Shared by the test targets that start containers.
public func spawnShell(_ command: String, shell: String = "/bin/sh") -> (status: Int32, output: String) {
    let file = NSTemporaryDirectory() + "vfwall-sh-\(getpid())-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: file) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(shell), strdup("-c"), strdup(command), nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, shell, &actions, nil, argv, environ) == 0 else { return (127, "cannot spawn \(shell)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
}
