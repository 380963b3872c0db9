import ArgumentParser
import Foundation
import Plumbing

@main
struct VFPlumb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfplumb",
        abstract: "Create SR-IOV VFs and plumb them into containers, and put everything back.",
        discussion: """
            vfplumb creates virtual functions on an SR-IOV NIC, binds them to vfio-pci for DPDK, \
            and moves their netdevs (or a macvlan on them) into a container's network namespace, \
            recording what it changed so that `detach` and `reconcile` can put the host back.

            sysfs is read under --sysfs-root (or $VFPLUMB_SYSFS_ROOT, default /sys); the journal \
            lives in $VFPLUMB_STATE_DIR (default /run/vfplumb); containers are resolved with \
            $VFPLUMB_CONTAINER_CLI (default podman, else docker).

            Exit status: 0 on success, 1 when an operation failed or was refused, 64 for usage errors.
            """,
        subcommands: [
            ListCommand.self, CreateCommand.self, BindCommand.self, AttachCommand.self,
            DetachCommand.self, ReconcileCommand.self, HugepagesCommand.self
        ])
}

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("sysfs-root"),
        help: ArgumentHelp("Read and write sysfs under DIR instead of /sys.", valueName: "DIR"))
    var sysfsRoot: String?

    @Flag(name: .shortAndLong, help: "Print every sysfs write as it happens.")
    var verbose = false

    func sysfs() -> Sysfs {
        guard verbose else { return Sysfs.fromEnvironment(override: sysfsRoot) }
        return Sysfs.fromEnvironment(override: sysfsRoot) { path, value in
            let shown = value.isEmpty ? "\"\"" : value
            FileHandle.standardError.write(Data("sysfs: echo \(shown) > \(path)\n".utf8))
        }
    }
}

/// Runs an operation and turns its failure into one line on stderr and an exit status:
/// 64 for bad input, 1 for a failed or refused operation.
func reporting<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as PlumbingError {
        printError(error.message)
        throw ExitCode(error.isUsage ? 64 : 1)
    } catch let error as NetlinkError where error.isPermission {
        printError("\(error); vfplumb needs root or CAP_NET_ADMIN.")
        throw ExitCode.failure
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("vfplumb: \(message)\n".utf8))
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
