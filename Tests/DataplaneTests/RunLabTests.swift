@testable import DPDKPorts
@testable import Dataplane
import EngineConfig
import Foundation
import Glibc
@testable import LinuxIO
@testable import Ports
import XCTest

/// The real `vfwall run` in the firewall namespace of a lab (client - firewall - server), on the
/// afpacket backend and on the dpdk backend (net_af_packet on the same veths).
final class RunLabTests: XCTestCase {
    static let python = "/usr/bin/python3"

    /// Outbound ping, TCP 8080 and UDP 5000 from the inside, TCP 7070 from the outside; nothing
    /// else, and no rule for any reply: replies pass only through connection tracking.
    static func config(_ backend: String, socket: String, prefix: String, udp: Bool = true, workers: Int = 1) -> String {
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        // One worker: CPU 1 when there is one (the tools run beside it); more: CPUs 0, 1, ...
        let cores = workers == 1 ? [cpus > 1 ? 1 : 0] : Array(0..<workers)
        return """
        ports:
          inside:
            interface: fin
          outside:
            interface: fout
        dataplane:
          backend: \(backend)
          cores: [\(cores.map(String.init).joined(separator: ", "))]
          control-socket: \(socket)
          eal: ["--no-huge", "--no-pci", "-m", "256", "--no-shconf", "--file-prefix", "\(prefix)"]
        policy:
          default: drop
        rules:
          - name: allow-ping-out
            ingress: inside
            proto: icmp
            icmp-type: echo-request
            action: accept
          - name: allow-tcp-8080
            ingress: inside
            proto: tcp
            dport: 8080
            action: accept
          - name: allow-tcp-7070-in
            ingress: outside
            proto: tcp
            dport: 7070
            action: accept
        \(udp ? """
          - name: allow-udp-5000
            ingress: inside
            proto: udp
            dport: 5000
            action: accept
        """ : "")
        """
    }

    func testAFPacketBackendBridgesWhatThePolicyAllows() throws { try bridgeScenario("afpacket") }

    func testDPDKBackendOnNetAFPacketBridgesWhatThePolicyAllows() throws { try bridgeScenario("dpdk") }

    /// Two workers: two queues per port, flows spread by fanout (AF_PACKET) or by the AF_PACKET
    /// PMD's queue pairs (DPDK), both directions of a flow on one worker.
    func testAFPacketBackendWithTwoWorkers() throws {
        guard sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 else { throw XCTSkip("two workers need two CPUs") }
        try bridgeScenario("afpacket", workers: 2)
    }

    func testDPDKBackendWithTwoWorkers() throws {
        guard sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2 else { throw XCTSkip("two workers need two CPUs") }
        try bridgeScenario("dpdk", workers: 2)
    }

    func bridgeScenario(_ backend: String, workers: Int = 1) throws {
        let lab = try RunTestLab()
        defer { lab.remove() }
        let scratch = try RunScratch("lab-\(backend)")
        defer { scratch.remove() }
        let tool = try scratch.write("net.py", RunTestLab.netTool)
        let socket = scratch.path("ctl.sock")
        let config = try scratch.write("fw.yaml", Self.config(backend, socket: socket, prefix: lab.prefix, workers: workers))
        for port in ["8080", "9090"] { _ = try lab.start(lab.server, [Self.python, tool, "serve-tcp", port]) }
        for port in ["7070", "7071"] { _ = try lab.start(lab.client, [Self.python, tool, "serve-tcp", port]) }
        let fw = try lab.startFirewall(config: config)
        XCTAssertTrue(eventually(20) { (try? ControlSocket.request("stats", path: socket)) != nil }, "vfwall did not come up: \(fw.errText)")
        let server = RunTestLab.serverIP, client = RunTestLab.clientIP

        // Allowed from the inside: ping and TCP 8080; their replies match no rule.
        let ping = try lab.exec(lab.client, ["/usr/bin/ping", "-c", "3", "-i", "0.2", "-W", "2", server])
        XCTAssertEqual(ping.status, 0, ping.output)
        let tcp = try lab.exec(lab.client, [Self.python, tool, "tcp", server, "8080", "hello"])
        XCTAssertEqual(tcp.status, 0, tcp.output)
        XCTAssertTrue(tcp.output.contains("echo:hello"), tcp.output)
        // Allowed from the outside: TCP 7070.
        let back = try lab.exec(lab.server, [Self.python, tool, "tcp", client, "7070", "back"])
        XCTAssertTrue(back.output.contains("echo:back"), back.output)

        // Blocked: TCP 9090 out, ping in, and a SYN from the server's port 8080 that is no reply.
        let blocked = try lab.exec(lab.client, [Self.python, tool, "tcp", server, "9090", "no", "1.5"])
        XCTAssertNotEqual(blocked.status, 0, "TCP 9090 must be dropped: \(blocked.output)")
        let pingIn = try lab.exec(lab.server, ["/usr/bin/ping", "-c", "1", "-W", "1", client])
        XCTAssertNotEqual(pingIn.status, 0, "ping from the outside must be dropped")
        let fake = try lab.exec(lab.server, [Self.python, tool, "tcp", client, "7071", "fake", "1.5", "8080"])
        XCTAssertNotEqual(fake.status, 0, "a new connection from port 8080 is no reply: \(fake.output)")

        let statsRun = try VFWallBinary.run(["stats", "--socket", socket])
        XCTAssertEqual(statsRun.status, 0, statsRun.err)
        let stats = try RunStats(statsRun.out)
        // ping's three requests share one echo id: one flow, classified once.
        XCTAssertEqual(stats.ruleHits("allow-ping-out"), 1, statsRun.out)
        XCTAssertEqual(stats.ruleHits("allow-tcp-8080"), 1, "only the SYN is classified: \(statsRun.out)")
        XCTAssertEqual(stats.ruleHits("allow-tcp-7070-in"), 1, statsRun.out)
        // Later requests and all replies of the ping (5), the SYN-ACKs and all after them (2 x 3 or
        // more) came through tracked flows.
        XCTAssertGreaterThanOrEqual(stats.total("accepted_by_conntrack"), 5 + 2 * 3, statsRun.out)
        XCTAssertGreaterThanOrEqual(stats.total("dropped"), 3, statsRun.out)
        XCTAssertGreaterThan(stats.portCount("inside", "rx"), 0)
        XCTAssertGreaterThan(stats.portCount("outside", "tx"), 0)
        XCTAssertGreaterThan(stats.portCount("outside", "rx"), 0)
        XCTAssertGreaterThan(stats.portCount("inside", "tx"), 0)
        XCTAssertGreaterThanOrEqual(stats.flows, 1)
        XCTAssertEqual((stats.json["workers"] as? [[String: Any]])?.count, workers)

        fw.signal(SIGTERM)
        let r = fw.wait(timeout: 20)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("allow-tcp-8080"), r.out)
        XCTAssertTrue(r.err.contains("stopping (SIGTERM)"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the control socket is removed at exit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/run/dpdk/\(lab.prefix)"), "EAL's runtime directory is removed")
    }

    /// UDP to port 5000 flows (a new flow per datagram) while the policy is reloaded: removing the
    /// rule stops it, a broken file is refused and changes nothing, SIGHUP with the rule back
    /// lets it through again; one process throughout.
    func testReloadUnderTrafficChangesVerdictsAndABadReloadKeepsThePolicy() throws {
        let lab = try RunTestLab()
        defer { lab.remove() }
        let scratch = try RunScratch("lab-reload")
        defer { scratch.remove() }
        let tool = try scratch.write("net.py", RunTestLab.netTool)
        let socket = scratch.path("ctl.sock")
        let received = scratch.path("udp.txt")
        let allow = Self.config("afpacket", socket: socket, prefix: lab.prefix)
        let config = try scratch.write("fw.yaml", allow)
        _ = try lab.start(lab.server, [Self.python, tool, "serve-udp", "5000", received])
        let fw = try lab.startFirewall(config: config)
        XCTAssertTrue(eventually(20) { (try? ControlSocket.request("stats", path: socket)) != nil }, fw.errText)
        func count() -> Int { ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n").count }
        /// Frames the firewall's workers dropped (rule hits restart with each policy, drops add up).
        func dropped() -> Int {
            (try? RunStats(try ControlSocket.request("stats", path: socket)))?.total("dropped") ?? -1
        }

        let sender = try lab.start(lab.client, [Self.python, tool, "udp", RunTestLab.serverIP, "5000", "3000", "0.005"])
        XCTAssertTrue(eventually(10) { count() >= 20 }, "datagrams flow under the first policy (\(count()))")

        // Without the rule: the flow of datagrams stops, while the sender goes on.
        _ = try scratch.write("fw.yaml", Self.config("afpacket", socket: socket, prefix: lab.prefix, udp: false))
        // The answer comes once the worker reports the new policy installed: from here on the
        // firewall drops the datagrams. Those it forwarded before may still be on their way to the
        // server: let 10 more be offered and dropped, then take the count; after 100 more (half a
        // second of the sender's traffic), it must not have moved.
        let ok = try VFWallBinary.run(["reload", "--socket", socket])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.hasPrefix("ok: 3 rules"), ok.out)
        let atReload = dropped()
        XCTAssertTrue(eventually(10) { dropped() >= atReload + 10 }, "the new policy drops the datagrams")
        let stopped = count()
        XCTAssertTrue(eventually(10) { dropped() >= atReload + 110 }, "the sender goes on")
        XCTAssertEqual(count(), stopped, "no datagram passes once the rule is gone")
        XCTAssertTrue(sender.isRunning, "the sender must still be sending for this to mean anything")

        // A broken file: refused with its position; the policy in force stays.
        let broken = try scratch.write("fw.yaml", allow.replacingOccurrences(of: "dport: 5000", with: "dport: five"))
        let bad = try VFWallBinary.run(["reload", "--socket", socket])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("\(broken):"), bad.err)
        XCTAssertTrue(bad.err.contains("'dport'"), bad.err)
        let atRefusal = dropped()
        XCTAssertTrue(eventually(10) { dropped() >= atRefusal + 50 }, "the sender goes on")
        XCTAssertEqual(count(), stopped, "the refused file (which would allow UDP 5000) did not take effect")
        let stats = try RunStats(try ControlSocket.request("stats", path: socket))
        XCTAssertEqual(stats.json["policy_generation"] as? Int, 2)
        let workers = stats.json["workers"] as? [[String: Any]] ?? []
        XCTAssertEqual(workers.compactMap { $0["policy_generation"] as? Int }, [2], "the worker runs generation 2")
        XCTAssertEqual(stats.json["failed_reloads"] as? Int, 1)
        XCTAssertTrue((stats.json["last_reload_error"] as? String ?? "").contains("'dport'"))

        // SIGHUP with the rule back: traffic resumes, same process.
        _ = try scratch.write("fw.yaml", allow)
        fw.signal(SIGHUP)
        XCTAssertTrue(eventually(10) { count() > stopped + 10 }, "datagrams flow again after SIGHUP")
        XCTAssertTrue(fw.isRunning)
        XCTAssertTrue(sender.isRunning)
        sender.signal(SIGTERM)
        fw.signal(SIGTERM)
        let r = fw.wait(timeout: 20)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("reload (SIGHUP): ok"), r.err)
        XCTAssertTrue(r.err.contains("reload (control socket): error:"), r.err)
    }
}
