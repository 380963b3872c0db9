/// What to do with IP fragments. Never "later fragments pass": they carry no ports, so no rule
/// could have looked at them.
public enum FragmentPolicy: String, Sendable, CaseIterable {
    /// Drop every fragment, counted under `fragment`.
    case drop
    /// Classify first fragments like whole packets; later fragments follow the first's verdict
    /// (matched by source, destination, protocol and ID, bounded and expiring: see
    /// `FragmentTracker`); a later fragment whose first was not seen is dropped.
    case track
}

/// What happens to packets of flows connection tracking already knows.
public enum TrackedPolicy: String, Sendable, CaseIterable {
    /// Established and related packets are accepted without consulting the rules (nftables'
    /// usual `ct state established,related accept` as an implicit first rule). Fast.
    case accept
    /// Every packet goes through the rules, which can match on `state`.
    case classify
}

/// A firewall policy: ordered rules, first match wins, and the actions for what no rule decides.
public struct Policy: Sendable {
    /// Names of the ports in order; `RuleMatch.ingress` indexes into this.
    public var portNames: [String]
    public var rules: [Rule]
    /// Action when no rule matches.
    public var defaultAction: Action = .drop
    /// Action for malformed frames and packets conntrack calls invalid.
    public var invalidAction: Action = .drop
    /// ARP is not IP and no rule sees it; a transparent firewall must pass it for anything to work.
    public var arpAction: Action = .accept
    /// Other non-IP ethertypes (LLDP, STP, ...).
    public var nonIPAction: Action = .drop
    public var fragments: FragmentPolicy = .drop
    public var tracked: TrackedPolicy = .accept
    /// The named sets, as declared (rules hold their own references to the ones they test).
    public var sets: [NamedSet] = []

    public init(portNames: [String], rules: [Rule]) {
        self.portNames = portNames
        self.rules = rules
    }

    /// Index of a port by name.
    public func portIndex(_ name: String) -> Int? { portNames.firstIndex(of: name) }
}
