@testable import Dataplane
import FirewallConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import TestSupport
import Workloads
import XCTest

/// `vfwall set add|del|list|flush` on a concatenated set (`ipv4 . port`) of a running engine:
/// verdicts follow each command, listing and stats show the tuples, bad elements change nothing.
final class EngineConcatSetsTests: XCTestCase {
    func start(_ scratch: ScratchDirectory) throws -> EngineSetsTests.Rig {
        let text = """
            ports:
              inside:
                interface: vrc-in0
              outside:
                interface: vrc-out0
            dataplane:
              cores: [0, 1]
              stall-ms: 0
            policy:
              default: accept
            sets:
              backends:
                type: "ipv4 . port"
                keep-runtime: true
                elements: ["192.0.2.1 . 443"]
            rules:
              - name: to-backends
                "dst . dport": "@backends"
                action: drop

            """
        let c = try ConfigLoader.parse(yaml: text, file: try scratch.write("concat.yaml", text))
        let inside = LockedPort(MemoryPort(name: "inside", queues: 2, rxSlots: 4096))
        let outside = LockedPort(MemoryPort(name: "outside", queues: 2, txSlots: 8192))
        let engine = try Engine(c, ports: [inside, outside], placement: .threads(cpus: [nil, nil]))
        try engine.start()
        return EngineSetsTests.Rig(engine: engine, inside: inside, outside: outside)
    }

    func testAddDeleteListAndStatsOfATupleSet() throws {
        let scratch = try ScratchDirectory("vrc-concat")
        defer { scratch.remove() }
        let rig = try start(scratch)
        defer { rig.engine.close() }
        let engine = rig.engine
        // The rig's frames go to 10.2.0.1, port 2000.
        let before = rig.send(50)
        waitUntil(timeout: 10, what: "50 frames processed") { rig.processed() == 50 }
        XCTAssertEqual(rig.transmitted(), Set(before))

        // The address matches, the port does not: the tuple is not in the set.
        XCTAssertTrue(engine.answer("set add backends\n10.2.0.1 . 2001").hasPrefix("ok:"))
        let wrongPort = rig.send(50)
        waitUntil(timeout: 10, what: "100 frames processed") { rig.processed() == 100 }
        XCTAssertEqual(rig.transmitted(), Set(wrongPort))

        let added = engine.answer("set add backends\n10.2.0.0/24 . 1000-3000")
        XCTAssertTrue(added.hasPrefix("ok: set 'backends' (ipv4 . port): 3 elements in 3 ranges"), added)
        let blocked = rig.send(50)
        waitUntil(timeout: 10, what: "150 frames processed") { rig.processed() == 150 }
        XCTAssertEqual(rig.transmitted(), [], "frames \(blocked) to 10.2.0.1 . 2000 are dropped")
        XCTAssertEqual(rig.hits("to-backends"), 50)

        // Deleting one tuple out of the ranged element splits it around 10.2.0.1 . 2000.
        XCTAssertTrue(engine.answer("set del backends\n10.2.0.1 . 2000").hasPrefix("ok:"))
        let passed = rig.send(50)
        waitUntil(timeout: 10, what: "200 frames processed") { rig.processed() == 200 }
        XCTAssertEqual(rig.transmitted(), Set(passed))
        let listing = engine.answer("set list backends")
        XCTAssertTrue(listing.hasPrefix("# set backends: ipv4 . port, "), listing)
        XCTAssertTrue(listing.contains("\n10.2.0.1 . 1000-1999\n"), listing)
        XCTAssertTrue(listing.contains("\n10.2.0.1 . 2001-3000\n"), listing)
        XCTAssertTrue(listing.contains("\n192.0.2.1 . 443\n"), listing)

        XCTAssertEqual(
            engine.answer("set add backends source=feed.txt\n10.0.0.1 . 80\n10.0.0.2"),
            "error: feed.txt:2:1: set 'backends': expected 2 components joined by ' . ' (ipv4 . port), got 1 "
                + "in '10.0.0.2'; nothing changed\n")
        XCTAssertEqual(
            engine.answer("set add backends\n10.0.0.1 . 70000"),
            "error: element 1: set 'backends': component 2 (port): expected a port or a range like 8000-8080, "
                + "got '70000'; nothing changed\n")

        let json = try RunStats(engine.statistics().json())
        let sets = json.json["sets"] as? [[String: Any]] ?? []
        XCTAssertEqual(sets.first?["type"] as? String, "ipv4 . port")
        XCTAssertEqual(sets.first?["rules"] as? [String], ["to-backends"])
        XCTAssertEqual(sets.first?["hits"] as? Int, 50)

        // keep-runtime: a reload gives the file's elements plus the running set's.
        XCTAssertEqual(engine.reload(), .applied(rules: 1, notes: []))
        XCTAssertEqual(engine.answer("set list backends"), listing)

        XCTAssertTrue(engine.answer("set flush backends").hasPrefix("ok: set 'backends' (ipv4 . port): 0 elements"))
        XCTAssertEqual(engine.answer("set list backends"), "# set backends: ipv4 . port, 0 elements\n")
    }
}
