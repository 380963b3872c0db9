import Foundation

/// Vendor and device names from the pci.ids database (Debian's `pci.ids` package,
/// /usr/share/misc/pci.ids; `hwdata` puts it in /usr/share/hwdata). Missing database:
/// names are nil and callers show the hex IDs.
public struct PCIIDs: Sendable {
    private var vendors: [String: String] = [:]
    private var devices: [String: String] = [:]  // "8086:10fb"

    public static let defaultPaths = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"]

    /// Loads the first database found, or an empty one.
    public static func load(paths: [String] = defaultPaths) -> PCIIDs {
        for path in paths {
            if let data = FileManager.default.contents(atPath: path) {
                return PCIIDs(text: String(decoding: data, as: UTF8.self))
            }
        }
        return PCIIDs(text: "")
    }

    /// Parses the vendor/device part: "vvvv  Name", then "\tdddd  Name" per device.
    /// Subsystem lines (two tabs) and the class list ("C xx") are skipped.
    public init(text: String) {
        var vendor: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("C ") { break }
            if line.hasPrefix("\t\t") { continue }
            if line.hasPrefix("\t") {
                guard let v = vendor else { continue }
                let body = line.dropFirst()
                guard body.count > 6 else { continue }
                devices[v + ":" + body.prefix(4).lowercased()] = String(body.dropFirst(4)).trimmingCharacters(
                    in: .whitespaces)
            } else if line.count > 6 {
                let id = line.prefix(4).lowercased()
                vendor = id
                vendors[id] = String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    public func vendorName(_ vendor: String) -> String? { vendors[vendor.lowercased()] }
    public func deviceName(vendor: String, device: String) -> String? {
        devices[vendor.lowercased() + ":" + device.lowercased()]
    }
}
