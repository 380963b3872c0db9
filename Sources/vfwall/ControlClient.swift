import ArgumentParser
import Dataplane
import EngineConfig
import FirewallConfig
import LinuxIO
#if canImport(Glibc)
    import Glibc
#endif

/// Where the control socket of a running vfwall is: given, or computed from its configuration
/// the way `vfwall run` computes it.
struct ControlSocketOptions: ParsableArguments {
    @Option(help: "The control socket of the running vfwall.")
    var socket: String?

    @Option(help: "The configuration the running vfwall was started with (its control socket is found from it).")
    var config: String?

    func validate() throws {
        guard (socket == nil) != (config == nil) else {
            throw ValidationError("give either --socket PATH or --config CONFIG")
        }
    }

    func path() throws -> String {
        if let socket { return socket }
        let c = try loadConfiguration(config!)
        return c.dataplane.controlSocket ?? ControlSocket.defaultPath(forConfig: c.file)
    }

    /// Sends `request` and returns the answer, or exits 1 with why not (nothing within
    /// `timeoutSeconds` included).
    func send(_ request: String, command: String, timeoutSeconds: Int = 10) throws -> String {
        let p = try path()
        do { return try ControlSocket.request(request, path: p, timeoutSeconds: timeoutSeconds) } catch {
            printError("vfwall \(command): \(error)")
            throw ExitCode(1)
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print the counters of a running vfwall as JSON.",
        discussion: """
            Asks the running `vfwall run` through its control socket and prints one JSON object: per \
            port rx/tx/dropped/tx_full/errors (and link), per worker frames/accepted/dropped/rejected/ \
            flows and the policy generation it has installed, totals, per rule hits (by name, since \
            the policy was installed), the default action's hits, frames per reason, the conntrack \
            size, the policy generation in force, and reload counts.

            Example:
              vfwall stats --config configs/default.yaml
            """)

    @OptionGroup var target: ControlSocketOptions

    func run() throws {
        print(try target.send("stats", command: "stats"), terminator: "")
    }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make a running vfwall re-read its configuration and swap the new policy in.",
        discussion: """
            Same as sending SIGHUP to `vfwall run`, but answered: prints `ok: N rules in force` (and \
            notes on settings that take effect only on restart) and exits 0 once every worker reports \
            the new policy installed, or prints the error (FILE:LINE:COLUMN: MESSAGE for a bad \
            configuration) and exits 1; the running policy then stays as it was. A worker that does \
            not report the new policy within 5 s is named (`worker 1 (core 3) did not install it`) \
            and the exit status is 1; the other workers run the new policy. A large policy takes a \
            while to read and build (200,000 rules: several seconds): the answer is awaited up to \
            5 minutes.
            """)

    @OptionGroup var target: ControlSocketOptions

    func run() throws {
        // Reading and building a policy of 100,000s of rules outlasts the 10 s other requests get.
        let answer = try target.send("reload", command: "reload", timeoutSeconds: 300)
        if answer.hasPrefix("ok") {
            print(answer, terminator: "")
        } else {
            let message = answer.hasPrefix("error: ") ? String(answer.dropFirst(7)) : answer
            fputs("vfwall reload: " + message, stderr)
            throw ExitCode(1)
        }
    }
}

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Say whether a running vfwall is live and ready; exit 0 if so, 1 if not.",
        discussion: """
            Asks the running `vfwall run` through its control socket. Live: every worker's loop is \
            turning (its heartbeat moves within a second). Ready: live, both ports' links are up, \
            and every worker runs the policy in force. Prints `ok: live and ready: ...` and exits 0, \
            or prints why not (`error: not ready: port 'inside' is down`) and exits 1; 1 too when \
            nothing answers on the socket.

            Example:
              vfwall health --config configs/default.yaml
            """)

    @OptionGroup var target: ControlSocketOptions

    func run() throws {
        let answer = try target.send("health", command: "health")
        print(answer, terminator: "")
        if !answer.hasPrefix("ok") { throw ExitCode(1) }
    }
}
