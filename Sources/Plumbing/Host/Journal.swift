import Foundation

/// What vfplumb must remember to put an interface back: written before anything changes,
/// rewritten as steps complete, removed once detach has restored the host. One JSON file
/// per interface under /run/vfplumb (VFPLUMB_STATE_DIR), named by its host name.
public struct AttachmentRecord: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable { case direct, macvlan }
    public enum Phase: String, Codable, Sendable { case attaching, attached }

    public var hostName: String
    public var pciAddress: String?
    /// The alias the link had before vfplumb put its own there.
    public var originalAlias: String?
    public var mac: String
    public var mtu: Int
    /// Direct: whether the link was up; macvlan: whether its lower link was.
    public var wasUp: Bool
    public var mode: Mode
    public var phase: Phase
    /// The TARGET argument as given ("web", "pid:42", "netns:blue", a path).
    public var target: String
    /// The namespace file the interface went into (/proc/PID/ns/net, /run/netns/NAME).
    public var namespacePath: String
    /// The namespace's inode, to notice a container that restarted with a new namespace.
    public var namespaceInode: UInt64
    public var nameInside: String
    public var temporaryName: String
    public var vf: VFRecord?
    public var alias: String { Self.aliasPrefix + hostName }
    /// The journal file name: the host name for a VF moved whole; a macvlan adds its own
    /// temporary name, as one lower link can carry several.
    public var key: String { mode == .direct ? hostName : hostName + "+" + temporaryName }

    public static let aliasPrefix = "vfplumb:"
}

/// A VF's PF-side settings before attach, to restore on detach.
public struct VFRecord: Codable, Sendable, Equatable {
    public var pfName: String
    public var index: Int
    public var original: VFSettings
}

/// The journal directory.
public struct Journal: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// /run/vfplumb unless VFPLUMB_STATE_DIR says otherwise.
    public static func fromEnvironment() -> Journal {
        Journal(directory: ProcessInfo.processInfo.environment["VFPLUMB_STATE_DIR"] ?? "/run/vfplumb")
    }

    private func file(_ key: String) -> String { directory + "/" + key + ".json" }

    public func save(_ record: AttachmentRecord) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // Atomic: a crash leaves the old record or the new one, never half of one.
            try encoder.encode(record).write(to: URL(fileURLWithPath: file(record.key)), options: .atomic)
        } catch {
            throw PlumbingError(
                "cannot write the journal in \(directory) (\(error.localizedDescription)); check that it is "
                    + "writable or set VFPLUMB_STATE_DIR."
            )
        }
    }

    public func load(_ key: String) -> AttachmentRecord? {
        guard let data = FileManager.default.contents(atPath: file(key)) else { return nil }
        return try? JSONDecoder().decode(AttachmentRecord.self, from: data)
    }

    public func all() -> [AttachmentRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().filter { $0.hasSuffix(".json") }.compactMap { load(String($0.dropLast(5))) }
    }

    public func remove(_ record: AttachmentRecord) {
        try? FileManager.default.removeItem(atPath: file(record.key))
    }
}
