@testable import Dataplane
@testable import EngineConfig
import FirewallConfig
@testable import LinuxIO
@testable import Ports
import XCTest

/// What `Engine.open` will do for a configuration, decided before anything is opened.
final class EnginePlanTests: XCTestCase {
    /// The plan on a machine whose process may use CPUs 0-3.
    func plan(_ ports: String, _ dataplane: String, cpus: [Int] = [0, 1, 2, 3]) throws -> EnginePlan {
        let base = PortEnvironment.process
        let machine = PortEnvironment(variable: base.variable, readFile: base.readFile, allowedCPUs: { cpus })
        return try EnginePlan.make(
            try ConfigLoader.parse(yaml: "ports:\n\(ports)\ndataplane:\n\(dataplane)\nrules: []\n", file: "t.yaml"),
            environment: machine)
    }

    func refusal(_ ports: String, _ dataplane: String) -> String {
        do {
            _ = try plan(ports, dataplane)
            return ""
        } catch { return "\(error)" }
    }

    /// Route mode carries its interfaces and routes into the plan; a capture file has no MAC.
    func testRouteModeCarriesTheRoutingPlanAndPcapPortsNeedAMAC() throws {
        let p = try plan(
            "  inside: {interface: a, addresses: [10.1.0.1/24]}\n  outside: {interface: b, addresses: [10.2.0.1/24]}",
            "  mode: route")
        XCTAssertEqual(p.routing?.interfaces.map(\.port), [0, 1])
        let refused = refusal(
            "  inside: {rx-pcap: a.pcap, addresses: [10.1.0.1/24], mac: 02:00:00:00:00:01}\n"
                + "  outside: {tx-pcap: b.pcap, addresses: [10.2.0.1/24]}",
            "  mode: route\n  backend: pcap")
        XCTAssertEqual(
            refused, "t.yaml: port 'outside': route mode on the pcap backend needs 'mac' (a file has none)")
    }

    func testAFPacketPortsAndOneQueuePerCore() throws {
        let p = try plan(
            "  inside: {interface: a}\n  outside: {interface: b}",
            "  backend: afpacket\n  cores: [0, 1]\n  burst: 64\n  control-socket: /tmp/x.sock")
        XCTAssertEqual(p.ports, [.afpacket(name: "inside", interface: "a"), .afpacket(name: "outside", interface: "b")])
        XCTAssertEqual(p.workers, 2)
        XCTAssertEqual(p.burst, 64)
        XCTAssertEqual(p.controlSocket, "/tmp/x.sock")
        XCTAssertNotEqual(
            p.idleSleepMicroseconds, 0, "AF_PACKET workers sleep when idle (a plan setting, not a timing)")
        XCTAssertEqual(p.ealArguments, [])
    }

    func testAFXDPIsTheDPDKBackendOnNetAFXDP() throws {
        let p = try plan(
            "  inside: {interface: a}\n  outside: {interface: b}",
            "  backend: af_xdp\n  cores: [1]\n  eal: [--no-huge, --no-pci]")
        XCTAssertEqual(p.backend, .dpdk)
        XCTAssertEqual(
            p.ports,
            [
                .dpdk(name: "inside", device: "net_af_xdp0", vdevArguments: "iface=a", interface: nil),
                .dpdk(name: "outside", device: "net_af_xdp1", vdevArguments: "iface=b", interface: nil)
            ])
        XCTAssertTrue(p.ealArguments.contains("--lcores"))
        XCTAssertEqual(p.idleSleepMicroseconds, 0, "a poll-mode worker never sleeps")
        let q = try plan(
            "  inside: {interface: a, device: 'net_af_xdp7,iface=x,start_queue=1'}\n  outside: {interface: b}",
            "  backend: af_xdp")
        XCTAssertEqual(
            q.ports.first,
            .dpdk(name: "inside", device: "net_af_xdp7", vdevArguments: "iface=x,start_queue=1", interface: nil))
        XCTAssertTrue(
            refusal("  inside: {}\n  outside: {interface: b}", "  backend: af_xdp").contains(
                "the af_xdp backend needs 'interface'"))
    }

    func testRefusalsNameThePortAndTheKey() {
        XCTAssertEqual(
            refusal("  inside: {interface: a}\n  outside: {}", "  backend: afpacket"),
            "t.yaml: port 'outside': the afpacket backend needs 'interface' (a Linux network interface)")
        XCTAssertTrue(
            refusal("  a: {interface: a}\n  b: {interface: b}\n  c: {interface: c}", "  backend: afpacket")
                .contains("exactly two ports"))
        XCTAssertTrue(
            refusal("  inside: {rx-pcap: x}\n  outside: {tx-pcap: y}", "  backend: pcap\n  cores: [0, 1]")
                .contains("the pcap backend reads each file in order with one worker"))
        XCTAssertTrue(
            refusal("  inside: {}\n  outside: {device: net_null0}", "  backend: dpdk").contains(
                "port 'inside': the dpdk backend needs 'device'"))
        XCTAssertTrue(
            refusal(
                "  inside: {device: 0000:03:02.0}\n  outside: {device: net_null0}", "  backend: dpdk\n  eal: [--no-pci]"
            )
            .contains("is a PCI address, but the EAL arguments include --no-pci"))
        XCTAssertTrue(
            refusal("  inside: {device: eth0}\n  outside: {device: net_null0}", "  backend: dpdk")
                .contains("neither a PCI address"))
    }

    func testDPDKDevicesVdevArgumentsAndEALArguments() throws {
        let p = try plan(
            """
              inside: {device: "03:02.0"}
              outside: {device: "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"}
            """, "  backend: dpdk\n  cores: [2, 3]\n  eal: [-m, '512']")
        XCTAssertEqual(
            p.ports,
            [
                .dpdk(name: "inside", device: "0000:03:02.0", vdevArguments: nil, interface: nil),
                .dpdk(
                    name: "outside", device: "net_pcap0", vdevArguments: "rx_pcap=in.pcap,tx_pcap=out.pcap",
                    interface: nil)
            ])
        XCTAssertEqual(
            p.ealArguments,
            [
                "-m", "512", "--no-telemetry", "--file-prefix", "vfwall-t",
                "--lcores", "0@(0,1),1@2,2@3", "-a", "0000:03:02.0"
            ])
        // The control thread goes where the workers are not; where they take every CPU, among them.
        let busy = try plan(
            "  inside: {device: net_null0}\n  outside: {device: net_null1}", "  backend: dpdk\n  cores: [0, 1]",
            cpus: [0, 1])
        XCTAssertTrue(busy.ealArguments.contains("0@(0,1),1@0,2@1"), "\(busy.ealArguments)")
        XCTAssertTrue(
            try plan("  inside: {device: net_null0}\n  outside: {device: net_null1}", "  backend: dpdk\n  cores: [1]")
                .ealArguments.contains("0@(0,2,3),1@1"))
    }

    func testDPDKInterfaceBecomesNetAFPacketWithAQueuePairPerWorker() throws {
        let p = try plan(
            "  inside: {interface: veth0}\n  outside: {device: 'net_af_packet7,iface=veth1'}",
            "  backend: dpdk\n  cores: [0, 1]\n  eal: [--lcores, '0-2', --file-prefix, lab]")
        XCTAssertEqual(
            p.ports,
            [
                .dpdk(
                    name: "inside", device: "net_af_packet0", vdevArguments: "iface=veth0,qpairs=2",
                    interface: "veth0"),
                .dpdk(
                    name: "outside", device: "net_af_packet7", vdevArguments: "iface=veth1,qpairs=2", interface: "veth1"
                )
            ])
        XCTAssertEqual(
            p.ealArguments, ["--lcores", "0-2", "--file-prefix", "lab", "--no-telemetry"],
            "lcores chosen by the user stay")
    }

    func testVdevDeclaredInEALIsNotCreatedAgain() throws {
        let p = try plan(
            "  inside: {device: net_ring0}\n  outside: {device: net_null0}",
            "  backend: dpdk\n  eal: [--vdev, net_ring0]")
        XCTAssertEqual(p.ports[0], .dpdk(name: "inside", device: "net_ring0", vdevArguments: nil, interface: nil))
        XCTAssertEqual(p.ports[1], .dpdk(name: "outside", device: "net_null0", vdevArguments: "", interface: nil))
    }

    func testPCIAddressForms() {
        XCTAssertEqual(EnginePlan.normalizedPCIAddress("0000:3B:02.1"), "0000:3b:02.1")
        XCTAssertEqual(EnginePlan.normalizedPCIAddress("3b:02.1"), "0000:3b:02.1")
        XCTAssertNil(EnginePlan.normalizedPCIAddress("net_null0"))
        XCTAssertNil(EnginePlan.normalizedPCIAddress("3b:02"))
        XCTAssertNil(EnginePlan.normalizedPCIAddress("0000:3b:02.8x"))
    }

    func testDefaultControlSocketFollowsTheConfigurationName() {
        let p = ControlSocket.defaultPath(forConfig: "configs/edge-fw.yaml")
        XCTAssertTrue(p.hasSuffix("/edge-fw.sock"), p)
        if geteuid() == 0 { XCTAssertEqual(p, "/run/vfwall/edge-fw.sock") }
    }
}
