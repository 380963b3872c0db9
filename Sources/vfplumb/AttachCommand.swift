import ArgumentParser
import Plumbing

enum OnOff: String, ExpressibleByArgument, CaseIterable { case on, off }
extension AttachmentRecord.Mode: ExpressibleByArgument {}

struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Move a VF's netdev (or a macvlan on it) into a container's network namespace.",
        discussion: """
            TARGET is a Docker or Podman container name or ID, pid:N, netns:NAME (/run/netns/NAME), \
            or the path of a network namespace file.

            The interface goes in under a temporary name and is renamed inside, so it cannot clash \
            with a name already there. Its host name, MAC, MTU, PCI address and VF settings are \
            journaled (in $VFPLUMB_STATE_DIR, default /run/vfplumb, and in the link's alias) \
            before anything changes; a failure half way rolls back what was done. VF settings \
            (--mac, --vlan, --qos, --spoofchk, --trust, --max-rate) are applied on the PF's side.

            With --mode macvlan a bridge-mode macvlan is created on the interface and moved \
            instead, as pipework does, for comparison benchmarks.

            vfplumb refuses to move the interface carrying the host's default route, or a PF, \
            unless --force is given.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The VF's netdev name or PCI address.", valueName: "IFACE"))
    var interface: String
    @Argument(help: ArgumentHelp("Container name or ID, pid:N, netns:NAME or a namespace file.", valueName: "TARGET"))
    var target: String
    @Option(help: "The interface's name inside the target (default: its host name).")
    var name: String?
    @Option(help: ArgumentHelp("An address to add inside, as CIDR (repeatable).", valueName: "CIDR"))
    var ip: [String] = []
    @Option(help: "A default route via this gateway inside.")
    var gateway: String?
    @Option(help: "The MAC address (a VF's is set on the PF's side).")
    var mac: String?
    @Option(help: "The MTU inside.")
    var mtu: Int?
    @Option(help: ArgumentHelp("The VF's VLAN ID (1-4094, 0 for none).", valueName: "ID"))
    var vlan: Int?
    @Option(help: "The VF's VLAN priority (0-7); needs --vlan.")
    var qos: Int?
    @Option(help: "The VF's spoof checking: on or off.")
    var spoofchk: OnOff?
    @Option(help: "The VF's trust mode: on or off.")
    var trust: OnOff?
    @Option(
        name: .customLong("max-rate"),
        help: ArgumentHelp("The VF's transmit rate limit in Mbit/s (0: none).", valueName: "MBPS"))
    var maxRate: Int?
    @Option(help: "direct (the VF's own netdev) or macvlan.")
    var mode: AttachmentRecord.Mode = .direct
    @Flag(help: "Move the default-route interface or a PF all the same.")
    var force = false
    @Flag(name: .customLong("dry-run"), help: "Print the steps without taking them.")
    var dryRun = false

    func validate() throws {
        if let vlan, !(0...4094).contains(vlan) {
            throw ValidationError("--vlan must be between 0 and 4094; got \(vlan).")
        }
        if let qos, !(0...7).contains(qos) { throw ValidationError("--qos must be between 0 and 7; got \(qos).") }
        if qos != nil && vlan == nil { throw ValidationError("--qos needs --vlan.") }
        if let mtu, !(68...65535).contains(mtu) {
            throw ValidationError("--mtu must be between 68 and 65535; got \(mtu).")
        }
        if let maxRate, maxRate < 0 { throw ValidationError("--max-rate must be 0 or more; got \(maxRate).") }
        if let name, name.isEmpty || name.utf8.count > 15 || name.contains("/") || name.contains(where: \.isWhitespace)
        {
            throw ValidationError(
                "--name \(name) is not a valid interface name (1 to 15 characters, no '/' or spaces).")
        }
        for cidr in ip where !cidr.contains("/") {
            throw ValidationError("--ip \(cidr) needs a prefix length, as in \(cidr)/24.")
        }
        if mode == .macvlan && (vlan != nil || spoofchk != nil || trust != nil || maxRate != nil) {
            throw ValidationError(
                "--vlan, --spoofchk, --trust and --max-rate set a VF and do not apply with --mode macvlan.")
        }
    }

    func run() throws {
        var request = AttachRequest(interface: interface, target: target)
        request.name = name
        request.addresses = ip
        request.gateway = gateway
        request.mac = mac
        request.mtu = mtu
        request.vf = VFSettings(
            vlan: vlan, qos: qos, spoofCheck: spoofchk.map { $0 == .on },
            trust: trust.map { $0 == .on }, maxTxRate: maxRate)
        request.mode = mode
        request.force = force
        request.dryRun = dryRun
        try reporting {
            let plumber = try Plumber(sysfs: global.sysfs(), journal: .fromEnvironment(), log: { print("  \($0)") })
            if dryRun {
                print("vfplumb attach would:")
                for (n, step) in try plumber.attach(request).enumerated() { print("  \(n + 1). \(step)") }
            } else {
                print("attaching \(interface) to \(target):")
                try plumber.attach(request)
                print("attached; undo with `vfplumb detach \(interface)`")
            }
        }
    }
}
