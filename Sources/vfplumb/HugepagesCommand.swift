import ArgumentParser
import Plumbing

extension Hugepages.Size: ExpressibleByArgument {}

struct HugepagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hugepages",
        abstract: "Reserve hugepages for DPDK and mount hugetlbfs.",
        discussion: """
            Writes nr_hugepages (for one NUMA node with --node) and reports what the kernel really \
            reserved, which is less when memory is fragmented. Mounts hugetlbfs for the size on \
            /dev/hugepages (2M) or /dev/hugepages-1G unless one is mounted already or --no-mount.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "The number of pages to reserve (0 releases them).")
    var count: Int
    @Option(help: "2M or 1G.")
    var size: Hugepages.Size = .twoMiB
    @Option(help: "Reserve on this NUMA node only.")
    var node: Int?
    @Flag(name: .customLong("mount"), inversion: .prefixedNo, help: "Mount hugetlbfs for the size.")
    var mount = true

    func validate() throws {
        if count < 0 { throw ValidationError("--count must be 0 or more; got \(count).") }
        if let node, node < 0 { throw ValidationError("--node must be 0 or more; got \(node).") }
    }

    func run() throws {
        try reporting {
            let r = try Hugepages(sysfs: global.sysfs()).reserve(count: count, size: size, node: node, mount: mount)
            let place = r.node.map { " on node \($0)" } ?? ""
            print("\(r.reserved) of \(r.requested) \(r.size.rawValue) hugepages reserved\(place) (\(r.free) free)")
            if let point = r.mountPoint { print("hugetlbfs: \(point)") }
            if r.reserved < r.requested { throw ExitCode.failure }
        }
    }
}
