@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
import Foundation
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import Workloads
import XCTest

/// A memory port that frames may be injected into (and taken from) while a worker runs it:
/// every call takes one lock (test code, not a fast path).
final class LockedPort: PacketPort {
    let inner: MemoryPort
    private let lock = PThreadLock(0)

    init(_ inner: MemoryPort) { self.inner = inner }

    var name: String { inner.name }
    var queueCount: Int { inner.queueCount }
    var linkType: LinkType { inner.linkType }
    var zeroCopyDomain: ObjectIdentifier? { nil }
    var macAddress: MACAddress? { inner.macAddress }
    var counters: PortCounters { inner.counters }
    func linkState() -> LinkState { inner.linkState() }

    func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        lock.withLock { _ in inner.rxBurst(queue: queue, into: &burst) }
    }
    func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        lock.withLock { _ in inner.send(copying: burst, split, queue: queue) }
    }
    func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {
        lock.withLock { _ in inner.release(burst, queue: queue, exceptTakenBy: taken) }
    }
    func close() { lock.withLock { _ in inner.close() } }

    @discardableResult
    func inject(_ frames: [[UInt8]], queue: Int) -> Int { lock.withLock { _ in inner.inject(frames, queue: queue) } }
    func pending() -> Int {
        lock.withLock { _ in (0..<inner.queueCount).map { inner.pendingReceive(queue: $0) }.reduce(0, +) }
    }
    func takeTransmitted(queue: Int) -> [[UInt8]] { lock.withLock { _ in inner.takeTransmitted(queue: queue) } }
}

/// Sets changed while traffic flows through two workers: verdicts follow each command, and no
/// frame sees half of a command that adds (or removes) two elements.
final class EngineSetsTests: XCTestCase {
    static let a: [UInt8] = [10, 1, 0, 1], b: [UInt8] = [10, 2, 0, 1]

    /// Rule `both` drops a frame whose source and destination are both in `pair`; `src-only` and
    /// `dst-only` count frames that see only one of them: a half-applied change.
    static func configuration(_ scratch: ScratchDirectory, initial: [String]) throws -> Configuration {
        let text = """
            ports:
              inside:
                interface: vrs-in0
              outside:
                interface: vrs-out0
            dataplane:
              cores: [0, 1]
              stall-ms: 0
            policy:
              default: accept
            sets:
              pair:
                type: ipv4
                elements: [\(initial.joined(separator: ", "))]
              feed:
                type: port
                keep-runtime: true
                elements: [7]
            rules:
              - name: both
                src: "@pair"
                dst: "@pair"
                action: drop
              - name: src-only
                src: "@pair"
                action: accept
              - name: dst-only
                dst: "@pair"
                action: accept
              - name: feed-ports
                proto: udp
                sport: "@feed"
                action: accept

            """
        return try ConfigLoader.parse(yaml: text, file: try scratch.write("sets.yaml", text))
    }

    final class Rig: @unchecked Sendable {
        let engine: Engine
        let inside: LockedPort
        let outside: LockedPort
        /// Frames injected so far (by one thread at a time).
        var sent = 0
        let stop = PThreadLock(false)

        init(engine: Engine, inside: LockedPort, outside: LockedPort) {
            self.engine = engine
            self.inside = inside
            self.outside = outside
        }

        /// Frames from a to b, each its own flow (conntrack accepts no later frame of a known one).
        func send(_ count: Int) -> ClosedRange<Int> {
            let first = sent
            for q in 0..<2 {
                let frames = stride(from: first + q, to: first + count, by: 2).map {
                    PortTestFrames.udp(
                        index: $0, sourcePort: UInt16(1024 + $0 % 60000), destinationPort: UInt16(2000 + $0 / 60000),
                        sourceIP: EngineSetsTests.a, destinationIP: EngineSetsTests.b)
                }
                XCTAssertEqual(inside.inject(frames, queue: q), frames.count)
            }
            sent += count
            return first...(sent - 1)
        }

        func processed() -> Int { Int(engine.statistics().total.frames) }
        func hits(_ rule: String) -> UInt64 {
            let s = engine.statistics()
            return s.total.ruleHits[s.policy.rules.firstIndex { $0.name == rule }!]
        }
        func transmitted() -> Set<Int> {
            Set((0..<2).flatMap { outside.takeTransmitted(queue: $0) }.compactMap(PortTestFrames.index))
        }
    }

    func start(_ scratch: ScratchDirectory, initial: [String]) throws -> Rig {
        let c = try Self.configuration(scratch, initial: initial)
        let inside = LockedPort(MemoryPort(name: "inside", queues: 2, rxSlots: 4096))
        let outside = LockedPort(MemoryPort(name: "outside", queues: 2, txSlots: 8192))
        let engine = try Engine(c, ports: [inside, outside], placement: .threads(cpus: [nil, nil]))
        try engine.start()
        return Rig(engine: engine, inside: inside, outside: outside)
    }

    func testVerdictsFollowEachCommandAndNothingElseChanges() throws {
        for initial in [["192.0.2.1"], (1...20).map { "198.18.\($0 * 2).0/24" }] {
            let scratch = try ScratchDirectory("vrs-verdicts")
            defer { scratch.remove() }
            let rig = try start(scratch, initial: initial)
            defer { rig.engine.close() }
            let engine = rig.engine
            let before = rig.send(100)
            waitUntil(timeout: 10, what: "100 frames processed") { rig.processed() == 100 }
            XCTAssertEqual(rig.transmitted(), Set(before), "nothing in the set yet: all pass")

            let added = engine.answer("set add pair\n10.1.0.1\n10.2.0.0/24")
            XCTAssertTrue(added.hasPrefix("ok: set 'pair' (ipv4): "), added)
            XCTAssertTrue(added.contains("\(initial.count + 2) elements in \(initial.count + 2) ranges"), added)
            let blocked = rig.send(100)
            waitUntil(timeout: 10, what: "200 frames processed") { rig.processed() == 200 }
            XCTAssertEqual(rig.transmitted(), [], "frames \(blocked) after the add are dropped")
            XCTAssertEqual(rig.hits("both"), 100)
            XCTAssertEqual(engine.statistics().flows, 100, "the flows accepted before stay")

            let deleted = engine.answer("set del pair\n10.2.0.1")
            XCTAssertTrue(deleted.contains("\(initial.count + 3) ranges"), "10.2.0.0/24 split: \(deleted)")
            let half = rig.send(100)
            waitUntil(timeout: 10, what: "300 frames processed") { rig.processed() == 300 }
            XCTAssertEqual(rig.transmitted(), Set(half))
            XCTAssertEqual(rig.hits("src-only"), 100, "a two-command change shows its half, as it should")

            XCTAssertTrue(engine.answer("set flush pair").hasPrefix("ok: set 'pair' (ipv4): 0 elements"))
            let after = rig.send(100)
            waitUntil(timeout: 10, what: "400 frames processed") { rig.processed() == 400 }
            XCTAssertEqual(rig.transmitted(), Set(after))
            XCTAssertEqual([rig.hits("both"), rig.hits("src-only"), rig.hits("dst-only")], [100, 100, 0])
            XCTAssertEqual(engine.statistics().workers.map(\.policyGeneration), [4, 4])
        }
    }

    /// A feeder keeps both workers busy while the pair is added and removed by single commands;
    /// a frame that saw one element without the other would count under src-only or dst-only.
    func testNoFrameSeesHalfOfACommandUnderTraffic() throws {
        let scratch = try ScratchDirectory("vrs-atomic")
        defer { scratch.remove() }
        let rig = try start(scratch, initial: ["192.0.2.1"])
        defer { rig.engine.close() }
        let engine = rig.engine
        let thread = Thread {
            // Paced by the workers (a few bursts queued at most), so the rings never overflow.
            while !rig.stop.withLock({ $0 }) && rig.sent < 2_000_000 {
                if rig.inside.pending() < 64 { _ = rig.send(64) }
                _ = rig.transmitted()
                usleep(500)
            }
        }
        thread.start()
        var toggles = 0
        var lastBoth: UInt64 = 0, lastDefault: UInt64 = 0
        for round in 0..<20 {
            let verb = round % 2 == 0 ? "add" : "del"
            let answer = engine.answer("set \(verb) pair\n10.1.0.1\n10.2.0.1")
            XCTAssertTrue(answer.hasPrefix("ok:"), answer)
            // Wait until traffic has seen this state, so the next command changes a live one.
            if verb == "add" {
                waitUntil(timeout: 10, what: "frames dropped by 'both' (\(rig.sent) sent, \(rig.processed()) seen)") {
                    rig.hits("both") > lastBoth
                }
                lastBoth = rig.hits("both")
            } else {
                waitUntil(timeout: 10, what: "frames accepted by default") {
                    engine.statistics().total.defaultHits > lastDefault
                }
                lastDefault = engine.statistics().total.defaultHits
            }
            toggles += 1
        }
        let halfSeen = (rig.hits("src-only"), rig.hits("dst-only"))
        // The control: the same pair in two commands, under the same traffic, is seen half-applied.
        XCTAssertTrue(engine.answer("set add pair\n10.1.0.1").hasPrefix("ok:"))
        waitUntil(timeout: 10, what: "a frame that sees 10.1.0.1 alone") { rig.hits("src-only") > 0 }
        XCTAssertTrue(engine.answer("set add pair\n10.2.0.1").hasPrefix("ok:"))
        rig.stop.withLock { $0 = true }
        waitUntil(timeout: 10, what: "the feeder to stop") { thread.isFinished }
        XCTAssertEqual(toggles, 20)
        XCTAssertEqual(halfSeen.0, 0, "a frame saw 10.1.0.1 in the set without 10.2.0.1")
        XCTAssertEqual(halfSeen.1, 0, "a frame saw 10.2.0.1 in the set without 10.1.0.1")
        XCTAssertGreaterThan(rig.hits("both"), 0)
    }

    func testErrorsChangeNothingAndStatsShowEachSet() throws {
        let scratch = try ScratchDirectory("vrs-errors")
        defer { scratch.remove() }
        let rig = try start(scratch, initial: ["192.0.2.1"])
        defer { rig.engine.close() }
        let engine = rig.engine
        let generation = engine.statistics().policyGeneration
        XCTAssertEqual(
            engine.answer("set add nope\n10.0.0.1"), "error: no set named 'nope'; the sets are: feed, pair\n")
        XCTAssertEqual(
            engine.answer("set add pair\n10.0.0.1\n2001:db8::1"),
            "error: element 2: set 'pair': '2001:db8::1' is not an IPv4 address; nothing changed\n")
        XCTAssertEqual(
            engine.answer("set add pair source=feed.txt\n# feed\n10.0.0.1\n\n  10.0.0.300\n"),
            "error: feed.txt:4:3: set 'pair': expected an IPv4 address or prefix like 192.0.2.0/24, got "
                + "'10.0.0.300'; nothing changed\n")
        XCTAssertEqual(engine.answer("set add pair"), "error: set add pair: no elements given\n")
        XCTAssertEqual(engine.answer("set zap pair"), "error: unknown set command 'zap' (add, del, list, flush)\n")
        XCTAssertEqual(engine.answer("set list pair\n1.2.3.4"), "error: set list takes no elements\n")
        XCTAssertEqual(engine.statistics().policyGeneration, generation, "nothing was installed")
        XCTAssertEqual(engine.answer("set list pair"), "# set pair: ipv4, 1 ranges (merged)\n192.0.2.1/32\n")

        weak let replaced = engine.policy.sets.first
        XCTAssertNotNil(replaced)
        XCTAssertTrue(engine.answer("set add pair\n10.0.0.0/25\n10.0.0.128/26\n10.0.0.192").hasPrefix("ok:"))
        XCTAssertEqual(
            engine.answer("set list pair"),
            "# set pair: ipv4, 2 ranges (merged)\n10.0.0.0/25\n10.0.0.128/26\n10.0.0.192/32\n192.0.2.1/32\n")
        XCTAssertTrue(engine.answer("set add feed\n9\n100-200").hasPrefix("ok:"))
        XCTAssertEqual(engine.answer("set list feed"), "# set feed: port, 3 ranges (merged)\n7\n9\n100-200\n")
        XCTAssertNil(replaced, "a replaced set is freed once every worker runs the new one")

        let json = try RunStats(engine.statistics().json())
        let sets = json.json["sets"] as? [[String: Any]] ?? []
        XCTAssertEqual(sets.compactMap { $0["name"] as? String }, ["pair", "feed"])
        XCTAssertEqual(sets.first?["type"] as? String, "ipv4")
        XCTAssertEqual(sets.first?["elements"] as? Int, 4, "the previous range and the three added")
        XCTAssertEqual(sets.first?["ranges"] as? Int, 2)
        XCTAssertEqual(sets.first?["memory_bytes"] as? Int, 65537 * 4 + 4 * 2)
        XCTAssertEqual(sets.first?["rules"] as? [String], ["both", "src-only", "dst-only"])
        XCTAssertEqual(sets.last?["keep_runtime"] as? Bool, true)
        XCTAssertEqual(sets.first?["hits"] as? Int, 0)

        // A reload reads the file: pair is the file's again; feed keeps what it gained.
        XCTAssertEqual(engine.reload(), .applied(rules: 4, notes: []))
        XCTAssertEqual(engine.answer("set list pair"), "# set pair: ipv4, 1 ranges (merged)\n192.0.2.1/32\n")
        XCTAssertEqual(engine.answer("set list feed"), "# set feed: port, 3 ranges (merged)\n7\n9\n100-200\n")
    }

    func testListingCoversEachRangeWithTheFewestPrefixes() {
        func text(_ r: ClosedRange<UInt128>, _ bits: Int) -> [String] {
            Engine.prefixes(covering: r, bits: bits).map { "\(String($0.start, radix: 16))/\($0.length)" }
        }
        XCTAssertEqual(text(0...0xFFFF_FFFF, 32), ["0/0"])
        XCTAssertEqual(text(0...UInt128.max, 128), ["0/0"])
        XCTAssertEqual(text(7...9, 32), ["7/32", "8/31"])
        XCTAssertEqual(text(0xC000_0201...0xC000_02FE, 32).count, 14)
        var rng = SplitMix64(seed: 0x11_57ED)
        for _ in 0..<200 {
            let a = UInt128(rng.next() % 100_000), b = a + UInt128(rng.next() % 5000)
            let blocks = Engine.prefixes(covering: a...b, bits: 32)
            var next = a
            for p in blocks {
                XCTAssertEqual(p.start, next, "contiguous, in order")
                let size = UInt128(1) << UInt128(32 - p.length)
                XCTAssertEqual(p.start % size, 0, "aligned")
                next = p.start + size
            }
            XCTAssertEqual(next, b + 1, "exactly the range")
        }
    }

    /// `body=N` framing: a 3 MB body arrives whole; an announcement over the limit and a body
    /// cut short are refused with their sizes.
    func testTheSocketReadsAnnouncedBodiesAndRefusesOversizedOnes() throws {
        let scratch = try ScratchDirectory("vrs-body")
        defer { scratch.remove() }
        let path = scratch.path("ctl.sock")
        let socket = try ControlSocket(path: path) { "got \($0.utf8.count) bytes: \($0.prefix(12))\n" }
        try socket.start()
        defer { socket.stop() }
        let body = [UInt8](repeating: 65, count: 3 << 20)
        XCTAssertEqual(
            try ControlSocket.request("set add x", body: body, path: path),
            "got \(10 + (3 << 20)) bytes: set add x\nAA\n")
        XCTAssertEqual(try ControlSocket.request("stats", path: path), "got 5 bytes: stats\n")

        func raw(_ text: String) throws -> String {
            let c = try ControlSocket.connect(path)
            defer { close(c) }
            ControlSocket.writeAll(c, text)
            shutdown(c, Int32(SHUT_WR))
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while case let n = read(c, &buffer, buffer.count), n > 0 { out += buffer[0..<n] }
            return String(decoding: out, as: UTF8.self)
        }
        XCTAssertEqual(
            try raw("set add x body=\(ControlSocket.maxBody + 1)\n"),
            "error: the request body is \(ControlSocket.maxBody + 1) bytes; the control socket takes at most "
                + "\(ControlSocket.maxBody)\n")
        XCTAssertEqual(try raw("set add x body=10\nabc"), "error: the request body ended after 3 of 10 bytes\n")
        XCTAssertEqual(try raw("set add x body=-1\n"), "error: bad body size '-1' (body=BYTES)\n")
        XCTAssertThrowsError(
            try ControlSocket.request(
                "set add x", body: [UInt8](repeating: 0, count: ControlSocket.maxBody + 1), path: path)
        ) { error in
            XCTAssertTrue("\(error)".contains("the control socket takes at most \(ControlSocket.maxBody)"), "\(error)")
        }
    }
}
