// swift-format-ignore-file
// (its nested multi-line string, a YAML file, is reindented wrongly by the formatter)
@testable import Dataplane
import EngineConfig
import Foundation
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// The real `vfwall run` in the firewall namespace of a lab (client - firewall - server), on the
/// afpacket backend and on the dpdk backend (net_af_packet on the same veths).
final class RunLabTests: XCTestCase {
    static let python = "/usr/bin/python3"
    static let clientIP = "10.77.0.1", serverIP = "10.77.0.2"

    /// client namespace - veth - firewall namespace - veth - server namespace, for `vfwall run` as
    /// a bump in the wire:
    ///
    ///     [client]  c0 10.77.0.1/24 ── fin  [firewall: vfwall run]  fout ── s0 10.77.0.2/24  [server]
    static func makeLab() throws -> NamespaceLab {
        let lab = try NamespaceLab(namespaces: ["c", "f", "s"], for: "a namespace lab (client - firewall - server)")
        try lab.addVethPair("c0", in: lab.client, peer: "fin", in: lab.firewall)
        try lab.addVethPair("s0", in: lab.server, peer: "fout", in: lab.firewall)
        try lab.addAddress(clientIP + "/24", to: "c0", in: lab.client)
        try lab.addAddress(serverIP + "/24", to: "s0", in: lab.server)
        return lab
    }


    /// Outbound ping, TCP 8080 and UDP 5000 from the inside, TCP 7070 from the outside; nothing
    /// else, and no rule for any reply: replies pass only through connection tracking.
    static func config(_ backend: String, socket: String, prefix: String, udp: Bool = true,
                       workers: Int = 1) -> String {
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
        let lab = try Self.makeLab()
        defer { lab.remove() }
        let scratch = try ScratchDirectory("lab-\(backend)")
        defer { scratch.remove() }
        let tool = try scratch.write("net.py", Self.netTool)
        let socket = scratch.path("ctl.sock")
        let text = Self.config(backend, socket: socket, prefix: lab.prefix, workers: workers)
        let config = try scratch.write("fw.yaml", text)
        for port in ["8080", "9090"] { _ = try lab.start([Self.python, tool, "serve-tcp", port], in: lab.server) }
        for port in ["7070", "7071"] { _ = try lab.start([Self.python, tool, "serve-tcp", port], in: lab.client) }
        let fw = try lab.startProduct("vfwall", ["run", "--config", config, "--no-status"], in: lab.firewall)
        waitUntil(timeout: 20, what: "vfwall to come up: \(fw.stderrText)") {
            (try? ControlSocket.request("stats", path: socket)) != nil
        }
        let server = Self.serverIP, client = Self.clientIP

        // Allowed from the inside: ping and TCP 8080; their replies match no rule.
        let ping = try lab.exec(["/usr/bin/ping", "-c", "3", "-i", "0.2", "-W", "2", server], in: lab.client)
        XCTAssertEqual(ping.status, 0, ping.output)
        let tcp = try lab.exec([Self.python, tool, "tcp", server, "8080", "hello"], in: lab.client)
        XCTAssertEqual(tcp.status, 0, tcp.output)
        XCTAssertTrue(tcp.output.contains("echo:hello"), tcp.output)
        // Allowed from the outside: TCP 7070.
        let back = try lab.exec([Self.python, tool, "tcp", client, "7070", "back"], in: lab.server)
        XCTAssertTrue(back.output.contains("echo:back"), back.output)

        // Blocked: TCP 9090 out, ping in, and a SYN from the server's port 8080 that is no reply.
        let blocked = try lab.exec([Self.python, tool, "tcp", server, "9090", "no", "1.5"], in: lab.client)
        XCTAssertNotEqual(blocked.status, 0, "TCP 9090 must be dropped: \(blocked.output)")
        let pingIn = try lab.exec(["/usr/bin/ping", "-c", "1", "-W", "1", client], in: lab.server)
        XCTAssertNotEqual(pingIn.status, 0, "ping from the outside must be dropped")
        let fake = try lab.exec([Self.python, tool, "tcp", client, "7071", "fake", "1.5", "8080"], in: lab.server)
        XCTAssertNotEqual(fake.status, 0, "a new connection from port 8080 is no reply: \(fake.output)")

        let statsRun = try runProduct("vfwall", ["stats", "--socket", socket])
        XCTAssertEqual(statsRun.status, 0, statsRun.stderr)
        let stats = try RunStats(statsRun.stdout)
        // ping's three requests share one echo id: one flow, classified once.
        XCTAssertEqual(stats.ruleHits("allow-ping-out"), 1, statsRun.stdout)
        XCTAssertEqual(stats.ruleHits("allow-tcp-8080"), 1, "only the SYN is classified: \(statsRun.stdout)")
        XCTAssertEqual(stats.ruleHits("allow-tcp-7070-in"), 1, statsRun.stdout)
        // Later requests and all replies of the ping (5), the SYN-ACKs and all after them (2 x 3 or
        // more) came through tracked flows.
        XCTAssertGreaterThanOrEqual(stats.total("accepted_by_conntrack"), 5 + 2 * 3, statsRun.stdout)
        XCTAssertGreaterThanOrEqual(stats.total("dropped"), 3, statsRun.stdout)
        XCTAssertGreaterThan(stats.portCount("inside", "rx"), 0)
        XCTAssertGreaterThan(stats.portCount("outside", "tx"), 0)
        XCTAssertGreaterThan(stats.portCount("outside", "rx"), 0)
        XCTAssertGreaterThan(stats.portCount("inside", "tx"), 0)
        XCTAssertGreaterThanOrEqual(stats.flows, 1)
        XCTAssertEqual((stats.json["workers"] as? [[String: Any]])?.count, workers)

        fw.signal(SIGTERM)
        let r = fw.wait(timeout: 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("allow-tcp-8080"), r.stdout)
        XCTAssertTrue(r.stderr.contains("stopping (SIGTERM)"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the control socket is removed at exit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/run/dpdk/\(lab.prefix)"),
                       "EAL's runtime directory is removed")
    }

    /// UDP to port 5000 flows (a new flow per datagram) while the policy is reloaded: removing the
    /// rule stops it, a broken file is refused and changes nothing, SIGHUP with the rule back
    /// lets it through again; one process throughout.
    func testReloadUnderTrafficChangesVerdictsAndABadReloadKeepsThePolicy() throws {
        let lab = try Self.makeLab()
        defer { lab.remove() }
        let scratch = try ScratchDirectory("lab-reload")
        defer { scratch.remove() }
        let tool = try scratch.write("net.py", Self.netTool)
        let socket = scratch.path("ctl.sock")
        let received = scratch.path("udp.txt")
        let allow = Self.config("afpacket", socket: socket, prefix: lab.prefix)
        let config = try scratch.write("fw.yaml", allow)
        _ = try lab.start([Self.python, tool, "serve-udp", "5000", received], in: lab.server)
        let fw = try lab.startProduct(
            "vfwall", ["run", "--config", config, "--no-status", "--log-format", "json"], in: lab.firewall)
        waitUntil(timeout: 20, what: "vfwall to come up: \(fw.stderrText)") {
            (try? ControlSocket.request("stats", path: socket)) != nil
        }
        func count() -> Int {
            ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        /// Frames the firewall's workers dropped (rule hits restart with each policy, drops add up).
        func dropped() -> Int {
            (try? RunStats(try ControlSocket.request("stats", path: socket)))?.total("dropped") ?? -1
        }

        let sender = try lab.start([Self.python, tool, "udp", Self.serverIP, "5000", "3000", "0.005"], in: lab.client)
        waitUntil(timeout: 10, what: "datagrams flow under the first policy (\(count()))") { count() >= 20 }

        // Without the rule: the flow of datagrams stops, while the sender goes on.
        _ = try scratch.write("fw.yaml", Self.config("afpacket", socket: socket, prefix: lab.prefix, udp: false))
        // The answer comes once the worker reports the new policy installed: from here on the
        // firewall drops the datagrams. Those it forwarded before may still be on their way to the
        // server: let 10 more be offered and dropped, then take the count; after 100 more (half a
        // second of the sender's traffic), it must not have moved.
        let ok = try runProduct("vfwall", ["reload", "--socket", socket])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.hasPrefix("ok: 3 rules"), ok.stdout)
        let atReload = dropped()
        waitUntil(timeout: 10, what: "the new policy drops the datagrams") { dropped() >= atReload + 10 }
        let stopped = count()
        waitUntil(timeout: 10, what: "the sender goes on") { dropped() >= atReload + 110 }
        XCTAssertEqual(count(), stopped, "no datagram passes once the rule is gone")
        XCTAssertTrue(sender.isRunning, "the sender must still be sending for this to mean anything")

        // A broken file: refused with its position; the policy in force stays.
        let broken = try scratch.write("fw.yaml", allow.replacingOccurrences(of: "dport: 5000", with: "dport: five"))
        let bad = try runProduct("vfwall", ["reload", "--socket", socket])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("\(broken):"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("'dport'"), bad.stderr)
        let atRefusal = dropped()
        waitUntil(timeout: 10, what: "the sender goes on") { dropped() >= atRefusal + 50 }
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
        waitUntil(timeout: 10, what: "datagrams flow again after SIGHUP") { count() > stopped + 10 }
        XCTAssertTrue(fw.isRunning)
        XCTAssertTrue(sender.isRunning)
        sender.signal(SIGTERM)
        fw.signal(SIGTERM)
        let r = fw.wait(timeout: 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        try checkReloadLog(r.stderr, brokenLine: "\(broken):\(Self.line(of: "dport: 5000", in: allow)):")
    }

    /// The JSON log of that run: one object a line, the reloads with their trigger and outcome, the
    /// refused one with the broken file's position, and the shutdown with counters.
    func checkReloadLog(_ stderr: String, brokenLine: String) throws {
        let records = try stderr.split(separator: "\n").map { line -> [String: Any] in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try XCTUnwrap(object, "not a JSON object: \(line)")
        }
        func text(_ r: [String: Any], _ key: String) -> String { r[key] as? String ?? "" }
        let reloads = records.filter { text($0, "event") == "reload" }.map {
            "\(text($0, "trigger")) \(text($0, "outcome"))"
        }
        XCTAssertEqual(reloads, ["control socket accepted", "control socket refused", "SIGHUP accepted"], stderr)
        let refused = records.first { text($0, "outcome") == "refused" }
        XCTAssertTrue(text(refused ?? [:], "position").hasPrefix(brokenLine), stderr)
        XCTAssertEqual(text(refused ?? [:], "level"), "error")
        XCTAssertEqual(records.first.map { text($0, "event") }, "start")
        let shutdown = try XCTUnwrap(records.last)
        XCTAssertEqual(text(shutdown, "event"), "shutdown")
        XCTAssertEqual(text(shutdown, "reason"), "SIGTERM")
        XCTAssertGreaterThan(shutdown["frames"] as? Int ?? 0, 100, "the final counters: \(shutdown)")
    }

    /// The 1-based line of the first line of `text` containing `needle`.
    static func line(of needle: String, in text: String) -> Int {
        (text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(needle) } ?? -1) + 1
    }

    /// A tiny TCP/UDP tool in Python (python3 is a build dependency): `serve-tcp PORT`,
    /// `tcp HOST PORT MESSAGE [TIMEOUT [SOURCE-PORT]]` (prints the echo,
    /// exits 1 on failure), `serve-udp PORT FILE`
    /// (appends each datagram to FILE), `udp HOST PORT COUNT INTERVAL` (one new socket, so a new
    /// flow, per datagram).
    static let netTool = """
    import socket, sys, time
    cmd = sys.argv[1]
    if cmd == "serve-tcp":
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(16)
        while True:
            c, _ = s.accept(); c.settimeout(5)
            try:
                data = c.recv(1024); c.sendall(b"echo:" + data)
            except OSError:
                pass
            c.close()
    elif cmd == "tcp":
        try:
            src = ("0.0.0.0", int(sys.argv[6])) if len(sys.argv) > 6 else None
            timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 3
            c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=timeout, source_address=src)
            c.sendall(sys.argv[4].encode()); print(c.recv(1024).decode()); c.close()
        except OSError as e:
            print("failed:", e); sys.exit(1)
    elif cmd == "serve-udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[2])))
        with open(sys.argv[3], "a", buffering=1) as f:
            while True:
                data, _ = s.recvfrom(2048); f.write(data.decode() + "\\n")
    elif cmd == "udp":
        for i in range(int(sys.argv[4])):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(str(i).encode(), (sys.argv[2], int(sys.argv[3]))); u.close()
            time.sleep(float(sys.argv[5]))
    """
}

private extension NamespaceLab {
    var client: String { namespace("c") }
    var firewall: String { namespace("f") }
    var server: String { namespace("s") }
}
