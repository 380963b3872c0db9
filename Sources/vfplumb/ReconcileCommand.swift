import ArgumentParser
import Plumbing

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Give VFs the kernel returned under another name their host names back.",
        discussion: """
            When a container stops, the kernel returns its VFs to the host under the name they had \
            inside (eth1), or as devN when that name is taken. reconcile finds them by the alias \
            and PCI address attach recorded and restores their host names, MACs and MTUs. \
            Interfaces still inside a running container are left alone. Run it from a container \
            runtime hook or a timer.
            """)

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try reporting {
            let plumber = try Plumber(sysfs: global.sysfs(), journal: .fromEnvironment(), log: { print("  \($0)") })
            print("reconciling:")
            try plumber.reconcile()
        }
    }
}
