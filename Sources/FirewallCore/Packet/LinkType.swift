/// What the first byte of a frame is: how the parser finds the network header.
public enum LinkType: UInt8, Sendable {
    /// Ethernet II (DLT_EN10MB), with up to two 802.1Q/802.1ad tags.
    case ethernet = 0
    /// Linux cooked capture v1 (DLT_LINUX_SLL): what `tcpdump -i any` wrote before 1.10.
    case linuxCooked = 1
    /// Linux cooked capture v2 (DLT_LINUX_SLL2).
    case linuxCooked2 = 2
    /// Raw IP (DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6): the version nibble decides.
    case rawIP = 3
    /// BSD loopback (DLT_NULL): a 4-byte address family in the byte order of the machine that
    /// captured, so either order is read. 2 is IPv4; 24, 28 and 30 are IPv6 (the BSDs differ).
    case null = 4
    /// OpenBSD loopback (DLT_LOOP): the same 4-byte address family, in network byte order.
    case loop = 5
}
