import Dataplane
import FileBytes
import FirewallConfig
import Foundation
import LinuxIO

/// What a plan reads to find a port named by `from-env` or `network-status`: the environment
/// and files. Injected, so tests give their own; `process` is the running process's.
public struct PortEnvironment: Sendable {
    public var variable: @Sendable (String) -> String?
    public var readFile: @Sendable (String) throws -> [UInt8]
    /// The CPUs the process may use (EAL's main lcore goes on those the workers leave).
    public var allowedCPUs: @Sendable () -> [Int]

    public init(
        variable: @escaping @Sendable (String) -> String?, readFile: @escaping @Sendable (String) throws -> [UInt8],
        allowedCPUs: @escaping @Sendable () -> [Int] = { LinuxIO.allowedCPUs() }
    ) {
        self.variable = variable
        self.readFile = readFile
        self.allowedCPUs = allowedCPUs
    }

    /// This process's environment, file system (a network-status file is read up to 1 MiB) and
    /// CPU affinity.
    public static let process = PortEnvironment(
        variable: { ProcessInfo.processInfo.environment[$0] },
        readFile: { try readWholeFile($0, limit: PortDiscovery.fileLimit + 1) })
}

/// Resolves a port's `from-env` or `network-status` into the `device` or `interface` the
/// backend opens. Every value read is checked; a failure names the key's file:line:column,
/// the port, and what is missing, empty or malformed.
enum PortDiscovery {
    static let fileLimit = 1 << 20

    static func resolve(
        _ p: PortConfig, backend: DataplaneConfig.Backend, file: String, environment: PortEnvironment
    ) throws -> PortConfig {
        guard let source = p.source else { return p }
        let at = "\(file):\(source.line):\(source.column): port '\(p.name)'"
        var q = p
        switch source.kind {
        case .environment(let variable, let index):
            guard backend == .dpdk else {
                throw EngineError(
                    "\(at): 'from-env' gives a PCI address, which only the dpdk backend opens (a VF bound to "
                        + "vfio-pci); for a VF with its kernel driver use 'network-status', which names its interface")
            }
            q.device = try address(variable, index: index, environment, at)
        case .networkStatus(let path, let network):
            guard backend != .pcap else {
                throw EngineError("\(at): the pcap backend reads capture files; 'network-status' names a network")
            }
            let entry = try networkEntry(path, network, environment, at)
            switch backend {
            case .afpacket, .afXDP:
                guard let iface = entry.interface, !iface.isEmpty else {
                    throw EngineError("\(at): network '\(network)' in \(path) has no 'interface'")
                }
                q.interface = iface
            case .dpdk:
                guard let pci = entry.deviceInfo?.pci?.pciAddress, !pci.isEmpty else {
                    throw EngineError(
                        "\(at): network '\(network)' in \(path) has no device-info PCI address (the dpdk backend "
                            + "needs 'device-info': {'type': 'pci', 'pci': {'pci-address': ...}}, which sriov-cni "
                            + "writes for a VF from the SR-IOV device plugin)")
                }
                guard let address = EnginePlan.normalizedPCIAddress(pci) else {
                    throw EngineError(
                        "\(at): network '\(network)' in \(path) has pci-address '\(pci)', which is not a PCI address "
                            + "(0000:03:02.0)")
                }
                q.device = address
            case .pcap: break
            }
        }
        return q
    }

    /// The `index`th PCI address in the comma-separated list in `variable`.
    static func address(_ variable: String, index: Int, _ environment: PortEnvironment, _ at: String) throws
        -> String
    {
        guard let value = environment.variable(variable) else {
            throw EngineError(
                "\(at): the environment has no \(variable) (the SR-IOV device plugin sets it in a container "
                    + "that requests the resource in its limits)")
        }
        let list = value.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard list.contains(where: { !$0.isEmpty }) else {
            throw EngineError("\(at): \(variable) is empty (no device was allocated to this container)")
        }
        guard index < list.count else {
            throw EngineError(
                "\(at): \(variable) lists \(list.count) address\(list.count == 1 ? "" : "es") ('\(value)'); index "
                    + "\(index) asks for number \(index + 1)")
        }
        guard let pci = EnginePlan.normalizedPCIAddress(list[index]) else {
            throw EngineError(
                "\(at): \(variable) entry \(index) is '\(list[index])', which is not a PCI address (0000:03:02.0)")
        }
        return pci
    }

    /// Multus's network-status: the entries vfwall reads.
    struct Network: Decodable {
        struct DeviceInfo: Decodable {
            struct PCI: Decodable {
                var pciAddress: String?
                enum CodingKeys: String, CodingKey { case pciAddress = "pci-address" }
            }
            var type: String?
            var pci: PCI?
        }
        var name: String?
        var interface: String?
        var deviceInfo: DeviceInfo?
        enum CodingKeys: String, CodingKey {
            case name, interface
            case deviceInfo = "device-info"
        }
    }

    /// The entry named `network` ("sriov-inside" matches "sriov-inside" and "NAMESPACE/sriov-inside").
    static func networkEntry(_ path: String, _ network: String, _ environment: PortEnvironment, _ at: String) throws
        -> Network
    {
        let bytes: [UInt8]
        do { bytes = try environment.readFile(path) } catch {
            throw EngineError(
                "\(at): cannot read the network-status file \(path) (\(error)); mount the pod's "
                    + "k8s.v1.cni.cncf.io/network-status annotation there with the downward API")
        }
        guard bytes.count <= fileLimit else {
            throw EngineError("\(at): the network-status file \(path) is larger than 1 MiB")
        }
        guard bytes.contains(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) else {
            throw EngineError(
                "\(at): the network-status file \(path) is empty (Multus writes the annotation once the pod's "
                    + "networks are attached; is the pod attached through Multus?)")
        }
        let networks: [Network]
        do { networks = try JSONDecoder().decode([Network].self, from: Data(bytes)) } catch DecodingError
            .dataCorrupted
        {
            throw EngineError("\(at): the network-status file \(path) is not JSON")
        } catch {
            throw EngineError(
                "\(at): the network-status file \(path) is not a list of networks (JSON objects with 'name', "
                    + "'interface', 'device-info')")
        }
        let exact = networks.filter { $0.name == network }
        let matches = exact.isEmpty ? networks.filter { $0.name?.hasSuffix("/" + network) ?? false } : exact
        guard matches.count == 1 else {
            let names = networks.compactMap(\.name).map { "'\($0)'" }.joined(separator: ", ")
            throw EngineError(
                matches.isEmpty
                    ? "\(at): the network-status file \(path) has no network '\(network)' (it lists: "
                        + "\(names.isEmpty ? "none" : names))"
                    : "\(at): the network-status file \(path) has \(matches.count) networks named '\(network)' "
                        + "(\(matches.compactMap(\.name).joined(separator: ", "))); name one with its namespace")
        }
        return matches[0]
    }
}
