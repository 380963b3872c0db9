import Foundation
import TestSupport
import XCTest

/// The local stand-in for the cluster: `scripts/lab up --kube` plays the pod rendered from
/// deploy/kubernetes/overlays/kernel-driver with `podman kube play`, with the device plugin's
/// PCIDEVICE_* variables, the two veth "VFs" attached by vfplumb as sriov-cni would, and the
/// network-status file as Multus writes it. The pod keeps the manifests' security settings,
/// `/readyz` follows the ports, the overlay's policy passes what it allows and stops the rest,
/// and `/metrics` counts what was sent. Root, podman and kubectl only; skipped otherwise.
final class KubePlayTests: XCTestCase {
    func testThePlayedPodForwardsByThePolicyAndCountsInMetrics() throws {
        let lab = try LabUnderTest(mode: "direct", kube: true)
        defer {
            lab.down()
            XCTAssertEqual(lab.leftovers(), [], "scripts/lab down left these behind")
        }
        checkTheManifestsSecurity(lab)
        try checkReadinessFollowsThePorts(lab)

        let server = try startSink(lab)
        defer { server.signal(SIGKILL) }

        // UDP alone first, so the counters' deltas are exactly these frames (static neighbours,
        // no IPv6: nothing else is on the wire): 20 datagrams allowed (dns), 20 dropped (default).
        let before = try scrape(lab)
        let readBefore = lab.datagramsRead()
        lab.exec("src", "python3 scripts/lab.d/nettool.py udp 10.199.0.2 53 20")
        lab.exec("src", "python3 scripts/lab.d/nettool.py udp 10.199.0.2 9000 20")
        waitUntil(timeout: 10, what: "the sink to read 20 datagrams") { lab.datagramsRead() >= readBefore + 20 }
        var after = try scrape(lab)
        try waitUntil(timeout: 10, what: "vfwall to count 40 frames on inside") {
            after = try scrape(lab)
            return delta(after, before, #"vfwall_port_rx_packets_total{port="inside"}"#) >= 40
        }
        XCTAssertEqual(lab.datagramsRead(), readBefore + 20, "datagrams read in the sink's namespace")
        // Each datagram: 14 Ethernet + 20 IPv4 + 8 UDP + "datagram N" (10 bytes for N < 10, else 11).
        let bytesOf20 = 20 * 42 + 10 * 10 + 10 * 11
        let expected: [(String, Double)] = [
            (#"vfwall_port_rx_packets_total{port="inside"}"#, 40),
            (#"vfwall_port_rx_bytes_total{port="inside"}"#, Double(2 * bytesOf20)),
            (#"vfwall_port_tx_packets_total{port="outside"}"#, 20),
            (#"vfwall_port_tx_bytes_total{port="outside"}"#, Double(bytesOf20)),
            (#"vfwall_port_rx_packets_total{port="outside"}"#, 0),
            (#"vfwall_rule_hits_total{rule="allow-dns-out",index="2",action="accept"}"#, 20),
            (#"vfwall_default_hits_total{action="drop"}"#, 20)
        ]
        for (series, value) in expected {
            XCTAssertEqual(delta(after, before, series), value, series)
        }

        // Allowed from inside: echo, web; refused: telnet (the firewall's RST); dropped by the
        // default: ssh, and everything the outside starts (the policy allows inside out only).
        XCTAssertEqual(lab.exec("src", "ping -c 2 -i 0.2 -W 2 10.199.0.2").status, 0, "ping source -> sink")
        XCTAssertNotEqual(lab.exec("dst", "ping -c 1 -W 1 10.199.0.1").status, 0, "ping sink -> source")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.0.2 80").output, "tcp 80 ok")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.0.2 23").output, "tcp 23 refused")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.0.2 22").output, "tcp 22 timeout")
        XCTAssertEqual(lab.exec("dst", "python3 scripts/lab.d/nettool.py tcp 10.199.0.1 80").output, "tcp 80 timeout")
        let last = try scrape(lab)
        for (rule, index, action) in [
            ("allow-ping-out", 3, "accept"), ("allow-web-out", 1, "accept"), ("reject-telnet", 0, "reject")
        ] {
            let series = #"vfwall_rule_hits_total{rule="\#(rule)",index="\#(index)",action="\#(action)"}"#
            XCTAssertEqual(delta(last, after, series), 1, "\(series): the first packet; the rest is tracked")
        }
        XCTAssertGreaterThanOrEqual(
            delta(last, after, #"vfwall_default_hits_total{action="drop"}"#), 3,
            "the sink's echo request, the SYNs to 22 and from the sink")

        server.signal(SIGTERM)
        let received = server.wait(timeout: 10).stdout
        XCTAssertTrue(received.contains("udp 53 20"), received)
        XCTAssertTrue(received.contains("udp 9000 0"), received)
    }

    /// What the manifests say about vfwall's container, as podman ran it: user 990, exactly the
    /// three capabilities (also the bounding set), a read-only root, no network of its own, and
    /// the variables the device plugin sets; the sidecar holds no capability.
    private func checkTheManifestsSecurity(_ lab: LabUnderTest) {
        let pod = "\(lab.name)-fw"
        let fields = "{{.HostConfig.Privileged}} {{.HostConfig.ReadonlyRootfs}} {{.Config.User}}"
        XCTAssertEqual(lab.podman("inspect --format '\(fields)' \(pod)-vfwall").output, "false true 990:990")
        // The pod's namespace, which has only loopback and the two "VFs".
        let links = LabUnderTest.sh("nsenter --net=/proc/$(cat /run/vfwall-lab/\(lab.name)/pid)/ns/net ip -br link")
        let names = links.output.split(separator: "\n").map { String($0.prefix { $0 != " " && $0 != "@" }) }
        XCTAssertEqual(names, ["lo", "inside", "outside"], links.output)
        let three: UInt64 = 1 << 12 | 1 << 13 | 1 << 14  // CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK
        for (container, caps) in [("vfwall", three), ("policy-reloader", 0)] {
            let status = lab.podman("exec \(pod)-\(container) cat /proc/1/status").output
            XCTAssertEqual(capabilities(status, "CapEff"), caps, "\(container): \(status)")
            XCTAssertEqual(capabilities(status, "CapBnd"), caps, "\(container): the bounding set")
            XCTAssertTrue(status.contains("Uid:\t990\t990\t990\t990"), "\(container) runs as 990: \(status)")
        }
        XCTAssertNotEqual(lab.podman("exec \(pod)-vfwall touch /etc/written").status, 0, "the root is read-only")
        let environment = lab.podman("exec \(pod)-vfwall env").output
        XCTAssertTrue(environment.contains("PCIDEVICE_INTEL_COM_SRIOV_NETDEV_INSIDE=0000:00:1f.1"), environment)
        XCTAssertTrue(environment.contains("PCIDEVICE_INTEL_COM_SRIOV_NETDEV_OUTSIDE=0000:00:1f.2"), environment)
        let networks = lab.podman("exec \(pod)-vfwall cat /etc/podinfo/network-status").output
        XCTAssertTrue(networks.contains(#""name": "default/sriov-inside", "interface": "inside""#), networks)
    }

    /// `scripts/lab up` returned once /readyz said ready; a port that goes down makes it 503,
    /// and back up, 200 again. /healthz stays 200 throughout (the workers still turn).
    private func checkReadinessFollowsThePorts(_ lab: LabUnderTest) throws {
        let ready = lab.http("/readyz")
        XCTAssertEqual(ready.status, 0, ready.output)
        XCTAssertTrue(ready.output.hasPrefix("ok: ready: 2 worker(s) turning, ports inside, outside up"), ready.output)
        let pid = try String(contentsOfFile: "/run/vfwall-lab/\(lab.name)/pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let link = "nsenter --net=/proc/\(pid)/ns/net ip link set outside"
        XCTAssertEqual(LabUnderTest.sh("\(link) down").status, 0)
        waitUntil(timeout: 10, what: "/readyz to say not ready: \(lab.http("/readyz"))") {
            lab.http("/readyz") == (1, "error: not ready: port 'outside' is down")
        }
        let live = lab.http("/healthz")
        XCTAssertEqual(live.status, 0, live.output)
        XCTAssertTrue(live.output.hasPrefix("ok: live"), live.output)
        XCTAssertEqual(LabUnderTest.sh("\(link) up").status, 0)
        waitUntil(timeout: 10, what: "/readyz to say ready again: \(lab.http("/readyz"))") {
            lab.http("/readyz").status == 0
        }
    }

    /// The exposition's samples by series ("name{labels}"), from `scripts/lab http /metrics`.
    private func scrape(_ lab: LabUnderTest) throws -> [String: Double] {
        let r = lab.http("/metrics")
        guard r.status == 0 else { throw LabError("/metrics: \(r.output)") }
        var samples: [String: Double] = [:]
        for line in r.output.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw LabError("/metrics: not a sample: \(line)")
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// How much `series` grew; -1 when a scrape lacks it.
    private func delta(_ after: [String: Double], _ before: [String: Double], _ series: String) -> Double {
        guard let a = after[series], let b = before[series] else { return -1 }
        return a - b
    }

    /// The sink: TCP echo and UDP counts on 80, 22, 53, 9000 (22 and 9000 are never reached).
    private func startSink(_ lab: LabUnderTest) throws -> BackgroundProcess {
        let command = [
            "exec", "--name", lab.name, "dst", "python3", "scripts/lab.d/nettool.py", "serve", "80", "22", "53", "9000"
        ]
        let server = try BackgroundProcess(repositoryRoot + "/scripts/lab", command, directory: repositoryRoot)
        guard
            waitUntil(
                timeout: 20, what: "the sink to say ready: \(server.stderrText)",
                { server.stdoutText.hasPrefix("ready\n") })
        else { throw LabError("sink: \(server.stdoutText)") }
        return server
    }
}
