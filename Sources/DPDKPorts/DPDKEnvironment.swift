import CDPDK
import Glibc
import LinuxIO
import Ports

/// DPDK's Environment Abstraction Layer: initialised once per process, before any DPDK port
/// is opened, and cleaned up once at the end (EAL cannot be initialised again afterwards).
///
/// Drivers: vfwall links EAL, ethdev and mbuf only. The poll-mode drivers (net_ring,
/// net_pcap, net_null, net_af_packet, net_memif, iavf, ixgbevf, mlx5 ...) are shared-library
/// plugins. Because EAL itself is a shared library here, `rte_eal_init` loads every plugin in
/// its default driver directory (`RTE_EAL_PMD_PATH`, `/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0`
/// with Debian/Ubuntu's DPDK 22.11) before it scans buses and creates `--vdev` devices; a
/// `-d <file or directory>` argument adds others (a DPDK built elsewhere).
public enum DPDKEnvironment {
    nonisolated(unsafe) private static var initialized = false
    nonisolated(unsafe) private static var cleanedUp = false
    nonisolated(unsafe) private static var argumentsUsed: [String] = []

    public static var isInitialized: Bool { initialized && !cleanedUp }
    /// The EAL arguments of the successful initialisation.
    public static var arguments: [String] { argumentsUsed }
    /// Where EAL looks for driver plugins when no `-d` is given.
    public static var defaultDriverDirectory: String { String(cString: cdpdk_default_driver_dir()) }

    /// Initialises EAL with `arguments` (without the program name; EAL options only, e.g.
    /// `["-l", "0-1", "--no-huge", "--vdev", "net_ring0"]`). Throws if EAL refuses, or if it was
    /// already initialised with other arguments (DPDK allows one initialisation per process).
    public static func initialize(arguments: [String], programName: String = "vfwall") throws {
        if initialized {
            if cleanedUp {
                throw PortError.invalid("DPDK EAL was cleaned up; it cannot be initialised again in this process")
            }
            if arguments == argumentsUsed { return }
            throw PortError.invalid(
                "DPDK EAL is already initialised with \(argumentsUsed); cannot re-initialise with \(arguments)")
        }
        // EAL keeps pointers into argv (device arguments, the file prefix): these copies live
        // as long as the process.
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 2)
        argv[0] = strdup(programName)
        for (i, a) in arguments.enumerated() { argv[i + 1] = strdup(a) }
        argv[arguments.count + 1] = nil
        let rc = cdpdk_eal_init(Int32(arguments.count + 1), argv)
        guard rc >= 0 else {
            throw PortError.dpdk(action: "initialise DPDK EAL with \(arguments.joined(separator: " "))", code: rc)
        }
        initialized = true
        argumentsUsed = arguments
        // Leave no empty /var/run/dpdk/<prefix> behind, whether or not `cleanup()` is called.
        atexit { DPDKEnvironment.removeRuntimeDirectory() }
    }

    /// Releases EAL's resources (hugepages, runtime files). Ports and pools must be closed first.
    public static func cleanup() {
        guard isInitialized else { return }
        let runtime = runtimeDirectory
        _ = cdpdk_eal_cleanup()
        cleanedUp = true
        removeRuntimeDirectory(runtime)
    }

    /// The directory EAL keeps its runtime files in (/var/run/dpdk/<file prefix> for root).
    public static var runtimeDirectory: String? {
        guard initialized, let dir = cdpdk_runtime_dir() else { return nil }
        return String(cString: dir)
    }

    /// EAL creates its runtime directory even with `--no-shconf` (which keeps it empty) and
    /// never removes it: remove it when it is empty. Safe to call at exit without cleanup.
    public static func removeRuntimeDirectory(_ path: String? = runtimeDirectory) {
        guard let path, !path.isEmpty else { return }
        _ = rmdir(path)  // fails, harmlessly, while files remain
    }

    /// EAL arguments for running without hardware and without hugepages: no PCI scan, memory
    /// from ordinary pages, no shared configuration (no multi-process), no telemetry socket,
    /// and a file prefix of its own so parallel runs never clash. (`--in-memory` would leave
    /// no runtime directory at all, but EAL refuses it with `--no-huge`: see `cleanup()`.)
    /// `lcores` is EAL's `--lcores` map: "0-2" (lcore n on CPU n), or "(0-2)@0" (three lcores,
    /// all on CPU 0: workers on lcores without needing as many CPUs, for tests).
    public static func virtualArguments(
        lcores: String = "0", memoryMB: Int = 256,
        filePrefix: String = "vfwall-\(getpid())"
    ) -> [String] {
        [
            "--lcores", lcores, "--no-huge", "--no-pci", "-m", String(memoryMB), "--no-shconf",
            "--file-prefix", filePrefix, "--no-telemetry", "--log-level", "lib.eal:warning"
        ]
    }

    /// Creates a virtual device (`net_ring0`, `net_pcap0` with `rx_pcap=in.pcap,tx_pcap=out.pcap`,
    /// `net_null0`, `net_af_packet0` with `iface=veth0` ...) after EAL is up; its port is then
    /// opened by `name`.
    public static func createVirtualDevice(name: String, arguments: String = "") throws {
        try requireInitialized()
        let rc = cdpdk_vdev_create(name, arguments)
        guard rc >= 0 else { throw PortError.dpdk(action: "create virtual device \(name) (\(arguments))", code: rc) }
    }

    /// Removes a virtual device created by `createVirtualDevice` (its port must be closed).
    public static func removeVirtualDevice(name: String) throws {
        try requireInitialized()
        let rc = cdpdk_vdev_remove(name)
        guard rc >= 0 else { throw PortError.dpdk(action: "remove virtual device \(name)", code: rc) }
    }

    /// The names of the ports EAL knows (PCI addresses, vdev names).
    public static func portNames() -> [String] {
        guard isInitialized else { return [] }
        var names: [String] = []
        var buffer = [CChar](repeating: 0, count: 128)
        var id = cdpdk_port_next(0)
        while id < cdpdk_max_ports() {
            if cdpdk_port_name(id, &buffer, buffer.count) == 0 { names.append(String(cString: buffer)) }
            id = cdpdk_port_next(id + 1)
        }
        return names
    }

    package static func requireInitialized() throws {
        guard isInitialized else {
            throw PortError.invalid("DPDK EAL is not initialised: call DPDKEnvironment.initialize first")
        }
    }
}

/// A pool of packet buffers (mbufs) that DPDK ports receive into. One pool can feed several
/// ports; it must outlive them.
public final class MbufPool {
    public let name: String
    let pool: OpaquePointer
    private var freed = false

    /// - Parameters:
    ///   - count: mbufs in the pool; enough for every RX descriptor of every queue fed from it,
    ///     plus the bursts in flight, plus the per-core caches.
    ///   - dataRoom: bytes of frame an mbuf holds (2048 fits a 1518-byte frame).
    public init(
        name: String, count: Int = 8191, cacheSize: Int = 256, dataRoom: Int = 2048,
        socket: Int32 = -1
    ) throws {
        try DPDKEnvironment.requireInitialized()
        guard count > 0, count <= UInt32.max, cacheSize >= 0, cacheSize <= UInt32.max,
            dataRoom > 0, dataRoom <= 65535 - 128
        else {
            throw PortError.invalid(
                "mbuf pool \(name): count \(count), cache \(cacheSize), data room \(dataRoom) out of range")
        }
        var err: Int32 = 0
        guard let p = cdpdk_pktmbuf_pool_create(name, UInt32(count), UInt32(cacheSize), UInt16(dataRoom), socket, &err)
        else {
            throw PortError.dpdk(action: "create mbuf pool \(name) of \(count) mbufs of \(dataRoom) bytes", code: err)
        }
        self.name = name
        self.pool = p
    }

    /// Mbufs taken from the pool (in rings, in flight, in per-core caches).
    public var inUse: Int { Int(cdpdk_mempool_in_use(pool)) }
    public var available: Int { Int(cdpdk_mempool_available(pool)) }

    /// Frees the pool; every port using it must be closed.
    public func free() {
        guard !freed else { return }
        freed = true
        cdpdk_mempool_free(pool)
    }

    /// Copies frames into fresh mbufs (slow path: tests, injection). Stops at the first frame
    /// that finds no mbuf or does not fit in one.
    func mbufs(copying frames: [[UInt8]]) -> [OpaquePointer] {
        var out: [OpaquePointer] = []
        for frame in frames {
            var made: OpaquePointer? = nil
            var length = Int32(clamping: frame.count)  // longer than an mbuf: refused by the shim
            let n = frame.withUnsafeBytes { bytes -> UInt32 in
                var base: UnsafeRawPointer? = bytes.baseAddress
                return cdpdk_mbufs_from_bytes(pool, &base, &length, 1, &made)
            }
            guard n == 1, let m = made else { break }
            out.append(m)
        }
        return out
    }
}
