import Dataplane
@testable import EngineConfig
import FirewallConfig
import XCTest

/// Ports found as Kubernetes workloads find them: `from-env` (the SR-IOV device plugin's
/// PCIDEVICE_* variable) and `network-status` (Multus's annotation through the downward API).
/// The environment and the files are injected; nothing global is read.
final class PortDiscoveryTests: XCTestCase {
    struct NoSuchFile: Error, CustomStringConvertible { var description: String { "No such file or directory" } }

    static let status = """
        [{"name": "cbr0", "interface": "eth0", "ips": ["10.244.1.2"], "mac": "0a:58:0a:f4:01:02", "default": true},
         {"name": "default/sriov-inside", "interface": "net1", "ips": [], "mac": "02:00:00:00:00:01",
          "device-info": {"type": "pci", "version": "1.1.0", "pci": {"pci-address": "0000:18:02.5"}}},
         {"name": "default/sriov-outside", "interface": "net2", "mac": "02:00:00:00:00:02"}]
        """

    func environment(_ variables: [String: String] = [:], files: [String: String] = [:]) -> PortEnvironment {
        PortEnvironment(
            variable: { variables[$0] },
            readFile: { path in
                guard let text = files[path] else { throw NoSuchFile() }
                return Array(text.utf8)
            })
    }

    /// Ports inside and outside, the dataplane's backend, and `inside`'s settings on line 2.
    func plan(_ inside: String, backend: String, _ env: PortEnvironment) throws -> EnginePlan {
        let outside = ["dpdk": "{device: net_null0}", "pcap": "{rx-pcap: b.pcap}"][backend] ?? "{interface: b}"
        let yaml = "ports:\n  inside: \(inside)\n  outside: \(outside)\ndataplane: {backend: \(backend)}\nrules: []\n"
        return try EnginePlan.make(try ConfigLoader.parse(yaml: yaml, file: "k.yaml"), environment: env)
    }

    func refusal(_ inside: String, backend: String = "dpdk", _ env: PortEnvironment) -> String {
        do {
            _ = try plan(inside, backend: backend, env)
            return ""
        } catch { return "\(error)" }
    }

    func testFromEnvTakesTheFirstAddressOrTheIndexed() throws {
        let env = environment(["PCIDEVICE_INTEL_COM_SRIOV_A": "0000:18:02.5, 18:02.6"])
        let first = try plan("{from-env: PCIDEVICE_INTEL_COM_SRIOV_A}", backend: "dpdk", env)
        XCTAssertEqual(
            first.ports[0], .dpdk(name: "inside", device: "0000:18:02.5", vdevArguments: nil, interface: nil))
        XCTAssertTrue(first.ealArguments.contains("0000:18:02.5"), "the allow-list names the VF")
        let second = try plan("{from-env: {variable: PCIDEVICE_INTEL_COM_SRIOV_A, index: 1}}", backend: "dpdk", env)
        XCTAssertEqual(
            second.ports[0], .dpdk(name: "inside", device: "0000:18:02.6", vdevArguments: nil, interface: nil))
    }

    func testFromEnvRefusals() {
        let at = "k.yaml:2:22: port 'inside': "
        let v = "{from-env: PCIDEVICE_X}"
        XCTAssertEqual(
            refusal(v, environment()),
            at + "the environment has no PCIDEVICE_X (the SR-IOV device plugin sets it in a container that "
                + "requests the resource in its limits)")
        XCTAssertEqual(
            refusal(v, environment(["PCIDEVICE_X": " , "])),
            at + "PCIDEVICE_X is empty (no device was allocated to this container)")
        XCTAssertEqual(
            refusal(v, environment(["PCIDEVICE_X": "eth0"])),
            at + "PCIDEVICE_X entry 0 is 'eth0', which is not a PCI address (0000:03:02.0)")
        XCTAssertEqual(
            refusal("{from-env: {variable: PCIDEVICE_X, index: 1}}", environment(["PCIDEVICE_X": "0000:18:02.5"])),
            "k.yaml:2:22: port 'inside': PCIDEVICE_X lists 1 address ('0000:18:02.5'); index 1 asks for number 2")
        XCTAssertTrue(
            refusal(v, backend: "afpacket", environment(["PCIDEVICE_X": "0000:18:02.5"]))
                .hasPrefix(at + "'from-env' gives a PCI address, which only the dpdk backend opens"))
    }

    func testNetworkStatusGivesTheInterfaceOrTheDeviceInfoAddress() throws {
        let env = environment(files: ["/etc/podinfo/network-status": Self.status])
        let kernel = try plan(
            "{network-status: {file: /etc/podinfo/network-status, network: sriov-inside}}", backend: "afpacket", env)
        XCTAssertEqual(kernel.ports[0], .afpacket(name: "inside", interface: "net1"))
        let vfio = try plan(
            "{network-status: {file: /etc/podinfo/network-status, network: default/sriov-inside}}", backend: "dpdk",
            env)
        XCTAssertEqual(vfio.ports[0], .dpdk(name: "inside", device: "0000:18:02.5", vdevArguments: nil, interface: nil))
    }

    func testNetworkStatusRefusals() {
        let at = "k.yaml:2:28: port 'inside': "
        let key = { (network: String) in "{network-status: {file: /ns, network: \(network)}}" }
        let missing = refusal(key("sriov-inside"), backend: "afpacket", environment())
        XCTAssertEqual(
            missing,
            at + "cannot read the network-status file /ns (No such file or directory); mount the pod's "
                + "k8s.v1.cni.cncf.io/network-status annotation there with the downward API")
        XCTAssertTrue(
            refusal(key("sriov-inside"), environment(files: ["/ns": " \n"]))
                .hasPrefix(at + "the network-status file /ns is empty (Multus writes the annotation"))
        XCTAssertEqual(
            refusal(key("sriov-inside"), environment(files: ["/ns": "[{\"name\": "])),
            at + "the network-status file /ns is not JSON")
        XCTAssertEqual(
            refusal(key("sriov-inside"), environment(files: ["/ns": "{\"name\": \"sriov-inside\"}"])),
            at + "the network-status file /ns is not a list of networks (JSON objects with 'name', 'interface', "
                + "'device-info')")
        let env = environment(files: ["/ns": Self.status])
        XCTAssertEqual(
            refusal(key("sriov-dmz"), env),
            at + "the network-status file /ns has no network 'sriov-dmz' (it lists: 'cbr0', 'default/sriov-inside', "
                + "'default/sriov-outside')")
        XCTAssertTrue(
            refusal(key("sriov-outside"), env)
                .hasPrefix(at + "network 'sriov-outside' in /ns has no device-info PCI address"))
        let twice = "[{\"name\": \"a/x\", \"interface\": \"n1\"}, {\"name\": \"b/x\", \"interface\": \"n2\"}]"
        XCTAssertEqual(
            refusal(key("x"), backend: "afpacket", environment(files: ["/ns": twice])),
            at + "the network-status file /ns has 2 networks named 'x' (a/x, b/x); name one with its namespace")
        let noInterface = "[{\"name\": \"x\"}]"
        XCTAssertEqual(
            refusal(key("x"), backend: "afpacket", environment(files: ["/ns": noInterface])),
            at + "network 'x' in /ns has no 'interface'")
        let badAddress =
            "[{\"name\": \"x\", \"device-info\": {\"type\": \"pci\", \"pci\": {\"pci-address\": \"18:2\"}}}]"
        XCTAssertEqual(
            refusal(key("x"), environment(files: ["/ns": badAddress])),
            at + "network 'x' in /ns has pci-address '18:2', which is not a PCI address (0000:03:02.0)")
        XCTAssertEqual(
            refusal(key("x"), backend: "pcap", environment(files: ["/ns": Self.status])),
            at + "the pcap backend reads capture files; 'network-status' names a network")
        let large = environment(files: ["/ns": String(repeating: " ", count: (1 << 20) + 1)])
        XCTAssertEqual(refusal(key("x"), large), at + "the network-status file /ns is larger than 1 MiB")
    }

    func testTheLoaderRefusesAmbiguousOrMalformedKeys() {
        let parse = { (inside: String) -> String in
            do {
                _ = try ConfigLoader.parse(
                    yaml: "ports:\n  inside: \(inside)\n  outside: {}\nrules: []\n", file: "k.yaml")
                return ""
            } catch { return "\(error)" }
        }
        XCTAssertEqual(
            parse("{from-env: X, device: 0000:18:02.5}"),
            "k.yaml:2:12: port 'inside' gives both 'from-env' and 'device'; 'from-env' supplies the device, so give one"
        )
        XCTAssertEqual(
            parse("{network-status: {file: /ns, network: x}, interface: net1}"),
            "k.yaml:2:12: port 'inside' gives both 'network-status' and 'interface'; 'network-status' supplies the "
                + "interface, so give one")
        XCTAssertEqual(
            parse("{from-env: 'PCIDEVICE-X'}"),
            "k.yaml:2:22: 'from-env' names an environment variable (letters, digits, _), got 'PCIDEVICE-X'")
        XCTAssertEqual(
            parse("{from-env: {index: 1}}"),
            "k.yaml:2:22: 'from-env' needs 'variable' (such as PCIDEVICE_INTEL_COM_SRIOV_INSIDE)")
        XCTAssertTrue(parse("{network-status: {file: /ns}}").hasPrefix("k.yaml:2:28: 'network-status' needs 'file'"))
    }
}
