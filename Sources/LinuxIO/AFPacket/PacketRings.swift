import CLinux
import FirewallCore
import Glibc
import Ports

/// A TPACKET_V3 receive ring: the kernel fills fixed-size blocks with variable-size frames and
/// hands a block to user space when it is full or after `retire_blk_tov`. We lend frames from
/// the current block, a burst never spanning two blocks, and give the block back once every
/// frame of it has been lent and the last burst released.
struct PacketRxRing {
    let fd: Int32
    let base: UnsafeMutableRawPointer
    let blockSize: Int
    let blockCount: Int
    /// Set when the kernel cannot ignore our own sends (PACKET_IGNORE_OUTGOING needs 4.20).
    let filterOutgoing: Bool
    var block = 0
    var blockOpen = false
    var remaining = 0
    var next: UnsafeRawPointer? = nil

    var mappedBytes: Int { blockSize * blockCount }

    /// Gives the current block back to the kernel if it has nothing more to lend.
    @inline(__always)
    mutating func retireExhaustedBlock() {
        guard blockOpen && remaining == 0 else { return }
        clinux_tp3_block_release(base + block &* blockSize)
        blockOpen = false
        block = block &+ 1 == blockCount ? 0 : block &+ 1
    }

    /// Lends up to `max` frames into `burst` from slot `start`; returns how many. Stamps them `now`.
    @inline(__always)
    mutating func receive(into burst: inout FrameBurst, max: Int, now: UInt64) -> Int {
        retireExhaustedBlock()
        if !blockOpen {
            let b = UnsafeRawPointer(base + block &* blockSize)
            guard clinux_tp3_block_status(b) & UInt32(TP_STATUS_USER) != 0 else { return 0 }
            blockOpen = true
            remaining = Int(clinux_tp3_block_packets(b))
            next = clinux_tp3_block_first(b)
            if remaining == 0 {
                retireExhaustedBlock()
                return 0
            }
        }
        var n = 0
        while n < max && remaining > 0, let frame = next {
            remaining &-= 1
            next = clinux_tp3_next(frame)
            if filterOutgoing && clinux_tp3_is_outgoing(frame) != 0 { continue }
            burst.frames[n] = clinux_tp3_data(frame)
            // The kernel's snaplen, bounded by the block that holds the frame (never negative).
            burst.lengths[n] = Int32(clamping: Swift.min(clinux_tp3_length(frame), UInt32(clamping: blockSize)))
            burst.timestamps[n] = now
            n &+= 1
        }
        return n
    }

    func unmap() {
        munmap(base, mappedBytes)
        close(fd)
    }
}

/// A TPACKET_V2 transmit ring: fixed slots; a slot is filled, marked SEND_REQUEST, and the
/// kernel sends every marked slot when kicked with an empty `sendto`.
struct PacketTxRing {
    let fd: Int32
    let base: UnsafeMutableRawPointer
    let slotSize: Int
    let slotCount: Int
    let dataOffset = Int(clinux_tpacket2_data_offset)
    var next = 0

    var mappedBytes: Int { slotSize * slotCount }
    var maxFrame: Int { slotSize - dataOffset }

    enum Outcome { case queued, full, tooLong }

    /// Copies one frame into the next slot. `.full` when the kernel still owns it.
    @inline(__always)
    mutating func enqueue(_ frame: UnsafeRawPointer?, length: Int, errors: inout Int) -> Outcome {
        guard length >= 0, length <= maxFrame, let frame else { return .tooLong }
        let slot = base + next &* slotSize
        var status = clinux_tp2_status(slot)
        if status == UInt32(TP_STATUS_WRONG_FORMAT) {
            // The kernel refused what was here last time round: count it, reuse the slot.
            errors &+= 1
            clinux_tp2_set_available(slot)
            status = UInt32(TP_STATUS_AVAILABLE)
        }
        guard status == UInt32(TP_STATUS_AVAILABLE) else { return .full }
        (slot + dataOffset).copyMemory(from: frame, byteCount: length)
        clinux_tp2_send_request(slot, UInt32(length))
        next = next &+ 1 == slotCount ? 0 : next &+ 1
        return .queued
    }

    /// Asks the kernel to send the queued slots; never blocks. A refusal (ENOBUFS, EAGAIN)
    /// leaves them queued for the next kick.
    @inline(__always)
    func kick() { _ = clinux_packet_kick(fd) }

    func unmap() {
        munmap(base, mappedBytes)
        close(fd)
    }
}

/// Maps a ring set up on `fd`; closes `fd` on failure.
func mapRing(fd: Int32, bytes: Int, interface: String) throws -> UnsafeMutableRawPointer {
    guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0),
        p != UnsafeMutableRawPointer(bitPattern: -1)
    else {
        let e = errno
        close(fd)
        throw PortError.system(call: "mmap(\(bytes) bytes of packet ring)", subject: interface, errno: e)
    }
    return p
}
