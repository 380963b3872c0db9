import Foundation
import TestSupport
import XCTest

/// deploy/kubernetes renders offline (`kubectl kustomize`) in both cases, and what the
/// manifests say fits together: the VF pools the pod requests, the NetworkAttachmentDefinitions
/// that name them, the variable or network the configuration reads, the capabilities, the probes.
final class KubernetesManifestTests: XCTestCase {
    func render(_ overlay: String) throws -> String {
        try requireTools(["kubectl"], for: "rendering deploy/kubernetes", installedBy: "kubectl is not in Debian 12")
        let r = spawnShell("cd '\(repositoryRoot)' && kubectl kustomize deploy/kubernetes/overlays/\(overlay)")
        XCTAssertEqual(r.status, 0, r.output)
        return r.output
    }

    func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// The device plugin's variable for a resource: PCIDEVICE_ and the name, upper case, '.' and '/' as '_'.
    func variable(_ resource: String) -> String {
        "PCIDEVICE_"
            + resource.uppercased().replacingOccurrences(of: ".", with: "_")
            .replacingOccurrences(of: "/", with: "_")
    }

    /// What both cases share: the device plugin's pools, capabilities, probes, read-only root.
    func checkShared(_ out: String, pool: String) {
        for side in ["inside", "outside"] {
            let resource = "intel.com/\(pool)_\(side)"
            XCTAssertEqual(count(out, "\(resource): \"1\""), 2, "one VF requested and limited: \(resource)")
            XCTAssertTrue(out.contains("k8s.v1.cni.cncf.io/resourceName: \(resource)"), "the NAD names \(resource)")
            XCTAssertTrue(out.contains("\"resourceName\": \"\(pool)_\(side)\""), "the device plugin has the pool")
            XCTAssertTrue(out.contains("name: sriov-\(side)\n"), "NetworkAttachmentDefinition sriov-\(side)")
        }
        XCTAssertTrue(out.contains("k8s.v1.cni.cncf.io/networks: sriov-inside@inside, sriov-outside@outside"))
        XCTAssertEqual(count(out, "drop:\n            - ALL"), 2, "both containers drop every capability")
        XCTAssertEqual(count(out, "add:\n            - NET_ADMIN\n            - NET_RAW\n            - IPC_LOCK\n"), 1)
        XCTAssertEqual(count(out, "readOnlyRootFilesystem: true"), 2)
        XCTAssertTrue(out.contains("path: /healthz\n            port: metrics"))
        XCTAssertTrue(out.contains("path: /readyz\n            port: metrics"))
        XCTAssertTrue(out.contains("containerPort: 9469\n          name: metrics"))
        XCTAssertTrue(out.contains("listen: \"0.0.0.0:9469\""), "the probes' port is the metrics listener's")
        XCTAssertTrue(out.contains("control-socket: /run/vfwall/vfwall.sock"))
        XCTAssertTrue(out.contains("vfwall reload --socket /run/vfwall/vfwall.sock"), "the reloader's socket")
        XCTAssertTrue(out.contains("name: vfwall-config\n"), "the ConfigMap keeps its name (reloaded in place)")
        XCTAssertTrue(out.contains("type: Recreate"))
    }

    func testVFIOPCIRendersAndReadsTheDevicePluginsVariables() throws {
        let out = try render("vfio-pci")
        checkShared(out, pool: "sriov_vfio")
        for side in ["inside", "outside"] {
            XCTAssertTrue(
                out.contains("from-env: \(variable("intel.com/sriov_vfio_\(side)"))\n"),
                "port \(side) reads the variable the device plugin sets for its pool")
        }
        XCTAssertEqual(count(out, "hugepages-2Mi: 1Gi"), 2)
        XCTAssertTrue(out.contains("medium: HugePages-2Mi"))
        XCTAssertTrue(out.contains("backend: dpdk"))
        XCTAssertTrue(out.contains("runAsUser: 0"), "vfio device files are root's (docs/operations.md)")
        XCTAssertFalse(out.contains("allowPrivilegeEscalation: true"))
    }

    func testKernelDriverRendersAndReadsNetworkStatus() throws {
        let out = try render("kernel-driver")
        checkShared(out, pool: "sriov_netdev")
        for side in ["inside", "outside"] {
            XCTAssertTrue(
                out.contains("network-status: {file: /etc/podinfo/network-status, network: sriov-\(side)}"))
        }
        XCTAssertTrue(out.contains("fieldPath: metadata.annotations['k8s.v1.cni.cncf.io/network-status']"))
        XCTAssertTrue(out.contains("path: network-status") && out.contains("mountPath: /etc/podinfo"))
        XCTAssertTrue(out.contains("backend: afpacket"))
        XCTAssertTrue(out.contains("runAsNonRoot: true") && out.contains("runAsUser: 990"))
        XCTAssertFalse(out.contains("hugepages"))
    }

    /// Each case's vfwall.yaml is a configuration `vfwall check` accepts. The `metrics` block is
    /// left out until the key lands (docs/operations.md, "Metrics").
    func testTheConfigurationsLoad() throws {
        let scratch = try ScratchDirectory("k8s-config")
        defer { scratch.remove() }
        for (overlay, port) in [
            ("vfio-pci", "inside (from-env PCIDEVICE_INTEL_COM_SRIOV_VFIO_INSIDE[0])"),
            ("kernel-driver", "inside (network-status sriov-inside in /etc/podinfo/network-status)")
        ] {
            let text = try String(
                contentsOfFile: "\(repositoryRoot)/deploy/kubernetes/overlays/\(overlay)/vfwall.yaml", encoding: .utf8)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if let i = lines.firstIndex(of: "  metrics:") { lines.removeSubrange(i...(i + 1)) }
            let file = try scratch.write("\(overlay).yaml", lines.joined(separator: "\n"))
            let r = try runProduct("vfwall", ["check", file])
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.stdout.contains("ports: \(port)"), r.stdout)
        }
    }
}
