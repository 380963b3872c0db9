import ArgumentParser

@main
struct VFWall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfwall",
        abstract: "A user-space firewall for SR-IOV virtual functions.",
        discussion: """
            vfwall filters traffic between two ports (inside and outside) as a transparent bump in the \
            wire: ordered rules, first match wins, connection tracking, a default action. It runs on \
            DPDK poll-mode drivers (a VF by PCI address, or DPDK virtual devices), on Linux AF_PACKET \
            sockets, or on capture files.

            Configuration errors are reported as FILE:LINE:COLUMN: MESSAGE and exit 1 before anything \
            is opened. Usage errors exit 64.
            """,
        subcommands: [
            CheckCommand.self, ReplayCommand.self, RunCommand.self, StatsCommand.self, ReloadCommand.self,
            HealthCommand.self, SetCommand.self,
            BenchPipelineCommand.self, ClassBenchCommand.self, GenCommand.self
        ])
}
