/// Everything `vfplumb attach` was asked to do.
public struct AttachRequest: Sendable {
    public var interface: String
    public var target: String
    public var name: String?
    public var addresses: [String] = []
    public var gateway: String?
    public var mac: String?
    public var mtu: Int?
    public var vf = VFSettings()
    public var mode: AttachmentRecord.Mode = .direct
    public var force = false
    public var dryRun = false

    public init(interface: String, target: String) {
        self.interface = interface
        self.target = target
    }
}
