// XCTest exists only where tests are built: `swift build` (scripts/build-release) also builds
// this target, and there the file is left out.
#if canImport(XCTest)
    import Foundation
    import Glibc
    import XCTest

    /// Network namespaces, veth pairs and background processes made for one test, named after this
    /// run (see `TestNames`) and removed by `remove()`, which tests call in a `defer` or `tearDown`
    /// (and `deinit` calls), so a failing test cleans up too. Each namespace has its loopback up and
    /// IPv6 off (no autoconfiguration chatter); each veth end has checksum and segmentation
    /// offloads off, so the frames on the wire are complete. Traffic stays inside what it made.
    public final class NamespaceLab {
        /// `vt<pid>-<n>`: the start of every name the lab gives.
        public let prefix: String
        /// A directory for the test's files, removed with the lab.
        public let directory: String
        public private(set) var namespaces: [String] = []
        private var hostLinks: [String] = []
        private var background: [BackgroundProcess] = []
        private var cleanups: [() -> Void] = []
        private var removed = false

        /// The lab's first namespace.
        public var name: String { namespaces[0] }

        /// A lab with a namespace for each of `roles` (named `prefix-role`, or `prefix` for the role
        /// ""); skips the test (saying why) without root or iproute2.
        public init(namespaces roles: [String] = [""], for what: String = "a network namespace lab") throws {
            try requireRoot(what)
            try requireTools(["ip"], for: what)
            sweepStaleLabs()
            prefix = TestNames.unique()
            directory = NSTemporaryDirectory() + prefix
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for role in roles { _ = try addNamespace(role) }
            } catch {
                remove()
                throw error
            }
        }

        deinit { remove() }

        /// The namespace for `role` (made by `addNamespace`).
        public func namespace(_ role: String) -> String { role.isEmpty ? prefix : "\(prefix)-\(role)" }

        /// Adds a namespace for `role` (nil: a fresh numbered one) and returns its name.
        @discardableResult
        public func addNamespace(_ role: String? = nil) throws -> String {
            let namespace = namespace(role ?? String(namespaces.count))
            try Self.ip(["netns", "add", namespace])
            namespaces.append(namespace)
            try Self.run(
                ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
                in: namespace)
            try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
            return namespace
        }

        /// A veth pair `a` <-> `b` in the first namespace, both up.
        public func addVethPair(_ a: String, _ b: String) throws {
            try addVethPair(a, in: name, peer: b, in: name)
        }

        /// A veth pair: `a` in namespace `aNamespace`, `b` in `bNamespace` (nil: this process's
        /// namespace, where the lab deletes the link on removal); both up unless `up` is false.
        public func addVethPair(
            _ a: String, in aNamespace: String?, peer b: String, in bNamespace: String?,
            up: Bool = true
        ) throws {
            let inA = aNamespace.map { ["-n", $0] } ?? []
            let peerPlace = bNamespace.map { ["netns", $0] } ?? []
            try Self.ip(inA + ["link", "add", a, "type", "veth", "peer", "name", b] + peerPlace)
            if aNamespace == nil { hostLinks.append(a) }
            if bNamespace == nil { hostLinks.append(b) }
            for (link, namespace) in [(a, aNamespace), (b, bNamespace)] {
                // Not every kernel has each feature; ethtool changes those it can.
                _ = try? Self.run(
                    ["ethtool", "-K", link, "tx", "off", "tso", "off", "gso", "off", "gro", "off"],
                    in: namespace)
                if up { try Self.ip((namespace.map { ["-n", $0] } ?? []) + ["link", "set", link, "up"]) }
            }
        }

        /// Gives `link` in `namespace` the address `cidr` ("10.0.0.1/24").
        public func addAddress(_ cidr: String, to link: String, in namespace: String) throws {
            try Self.ip(["-n", namespace, "addr", "add", cidr, "dev", link])
        }

        /// `ip -d -n <first namespace> link show <link>` (details include the promiscuity count).
        public func linkShow(_ link: String) throws -> String {
            try Self.ip(["-d", "-n", name, "link", "show", link])
        }

        /// Starts `argv` in `namespace` (nil: here) in the background; stopped by `remove()`.
        public func start(_ argv: [String], in namespace: String?, directory: String? = nil) throws -> BackgroundProcess
        {
            let process = try BackgroundProcess(
                argv[0], Array(argv.dropFirst()), netns: namespace,
                directory: directory ?? repositoryRoot)
            background.append(process)
            return process
        }

        /// Starts a product of the package (`vfwall`) in `namespace`; stopped by `remove()`.
        public func startProduct(
            _ product: String, _ arguments: [String],
            in namespace: String
        ) throws -> BackgroundProcess {
            let process = try TestSupport.startProduct(product, arguments, netns: namespace)
            background.append(process)
            return process
        }

        /// Runs `argv` in `namespace` to its end (SIGKILL after `timeout` seconds).
        @discardableResult
        public func exec(_ argv: [String], in namespace: String?, timeout: Double = 20) throws -> ProcessResult {
            try runProcess(
                argv[0], Array(argv.dropFirst()), netns: namespace, directory: repositoryRoot, timeout: timeout)
        }

        /// `body` runs first thing in `remove()` (last registered first).
        public func onCleanup(_ body: @escaping () -> Void) { cleanups.append(body) }

        public func remove() {
            guard !removed else { return }
            removed = true
            cleanups.reversed().forEach { $0() }
            for process in background {
                process.signal(SIGKILL)
                process.wait(timeout: 5)
            }
            for link in hostLinks { _ = try? runProcess("ip", ["link", "delete", link]) }
            for namespace in namespaces { _ = try? runProcess("ip", ["netns", "delete", namespace]) }
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Runs `ip args...`; throws with its message when it fails.
        @discardableResult
        public static func ip(_ arguments: [String]) throws -> String {
            try run(["ip"] + arguments, in: nil)
        }

        /// Runs `argv` (in `namespace` when given); throws with its message when it fails.
        @discardableResult
        public static func run(_ argv: [String], in namespace: String?) throws -> String {
            let result = try runProcess(argv[0], Array(argv.dropFirst()), netns: namespace)
            guard result.status == 0 else {
                throw ProcessError("\(argv.joined(separator: " ")) (status \(result.status)): \(result.output)")
            }
            return result.stdout
        }
    }
#endif
