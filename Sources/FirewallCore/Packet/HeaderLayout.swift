// Byte offsets of the header fields the parser reads, from the start of their header, and the
// headers' lengths. Computed constants rather than stored ones: inlined into another module
// (`Parser.parse` is inlinable), they still fold into the instruction's displacement.

/// EtherType values the parser dispatches on (also the IPv4/IPv6 values other link types map to).
@usableFromInline enum EtherType {
    @inlinable static var ipv4: UInt16 { 0x0800 }
    @inlinable static var ipv6: UInt16 { 0x86DD }
    @inlinable static var arp: UInt16 { 0x0806 }
    /// 802.1Q, 802.1ad and the older pre-standard QinQ tag.
    @inlinable static func isVlanTag(_ t: UInt16) -> Bool { t == 0x8100 || t == 0x88A8 || t == 0x9100 }
}

@usableFromInline enum EthernetHeader {
    @inlinable static var length: Int { 14 }
    @inlinable static var etherType: Int { 12 }
}

/// One 802.1Q/802.1ad tag, after the MAC addresses or the previous tag.
@usableFromInline enum VlanTag {
    @inlinable static var length: Int { 4 }
    @inlinable static var tagControl: Int { 0 }
    @inlinable static var etherType: Int { 2 }
    @inlinable static var idMask: UInt16 { 0x0FFF }
}

/// Linux cooked capture v1 (SLL) and v2 (SLL2), and BSD loopback (DLT_NULL/DLT_LOOP).
@usableFromInline enum CookedHeader {
    @inlinable static var v1Length: Int { 16 }
    @inlinable static var v1Protocol: Int { 14 }
    @inlinable static var v2Length: Int { 20 }
    @inlinable static var v2Protocol: Int { 0 }
    @inlinable static var loopbackLength: Int { 4 }
}

/// An ARP packet for IPv4 over Ethernet, the shortest one the parser accepts.
@usableFromInline enum ARPPacket {
    @inlinable static var length: Int { 28 }
}

@usableFromInline enum IPv4Header {
    @inlinable static var minLength: Int { 20 }
    /// Version (high nibble) and header length in 32-bit words (low nibble): 0x45 without options.
    @inlinable static var versionIHL: Int { 0 }
    @inlinable static var totalLength: Int { 2 }
    @inlinable static var identification: Int { 4 }
    /// Flags (reserved, DF, MF) and the fragment offset in 8-byte units.
    @inlinable static var flagsFragment: Int { 6 }
    @inlinable static var proto: Int { 9 }
    @inlinable static var source: Int { 12 }
    @inlinable static var destination: Int { 16 }
    @inlinable static var moreFragments: UInt16 { 0x2000 }
    @inlinable static var fragmentOffsetMask: UInt16 { 0x1FFF }
}

@usableFromInline enum IPv6Header {
    @inlinable static var length: Int { 40 }
    @inlinable static var payloadLength: Int { 4 }
    @inlinable static var nextHeader: Int { 6 }
    @inlinable static var source: Int { 8 }
    @inlinable static var destination: Int { 24 }
}

/// IPv6 extension headers: the next header and length bytes every one starts with, and the
/// fields of the fragment header.
@usableFromInline enum IPv6Extension {
    @inlinable static var nextHeader: Int { 0 }
    @inlinable static var length: Int { 1 }
    @inlinable static var minLength: Int { 8 }
    @inlinable static var hopByHop: UInt8 { 0 }
    @inlinable static var routing: UInt8 { 43 }
    @inlinable static var fragment: UInt8 { 44 }
    @inlinable static var authentication: UInt8 { 51 }
    @inlinable static var destinationOptions: UInt8 { 60 }
    @inlinable static var esp: UInt8 { 50 }
    @inlinable static var noNextHeader: UInt8 { 59 }
    /// Fragment header: offset (13 bits, 8-byte units) and M flag, then the identification.
    @inlinable static var fragmentOffsetFlags: Int { 2 }
    @inlinable static var fragmentIdentification: Int { 4 }
}

@usableFromInline enum TCPHeader {
    @inlinable static var minLength: Int { 20 }
    @inlinable static var sourcePort: Int { 0 }
    @inlinable static var destinationPort: Int { 2 }
    /// Data offset in 32-bit words, in the high nibble.
    @inlinable static var dataOffset: Int { 12 }
    @inlinable static var flags: Int { 13 }
}

@usableFromInline enum UDPHeader {
    @inlinable static var length: Int { 8 }
    @inlinable static var sourcePort: Int { 0 }
    @inlinable static var destinationPort: Int { 2 }
    @inlinable static var lengthField: Int { 4 }
}

/// SCTP's common header: the ports, then a verification tag and a checksum.
@usableFromInline enum SCTPHeader {
    @inlinable static var length: Int { 12 }
}

/// ICMP and ICMPv6 share this layout; an error quotes the offending packet after the 8 bytes.
@usableFromInline enum ICMPHeader {
    @inlinable static var length: Int { 8 }
    @inlinable static var type: Int { 0 }
    @inlinable static var code: Int { 1 }
    /// Echo request and reply: the identifier, which stands in for both ports.
    @inlinable static var echoIdentifier: Int { 4 }
}
