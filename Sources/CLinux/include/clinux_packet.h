#ifndef CLINUX_PACKET_H
#define CLINUX_PACKET_H
/* AF_PACKET rings (linux/if_packet.h), which Swift's Glibc module does not expose.
 * Setup calls return 0 or -errno (never set errno for Swift to read later); the ring
 * accessors are static inline so Swift inlines them into the fast path. */
#include <stdint.h>
#include <stddef.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

/* ---- setup (clinux_packet.c) ---- */
/* socket(AF_PACKET, SOCK_RAW, htons(protocol)); protocol 0 receives nothing (a TX-only socket). */
int clinux_packet_socket(uint16_t protocol);
int clinux_packet_set_version(int fd, int version);
/* TPACKET_V3 RX ring: block_nr blocks of block_size bytes; the kernel hands a block over when it
   is full or after retire_ms. */
int clinux_packet_rx_ring_v3(int fd, unsigned block_size, unsigned block_nr, unsigned frame_size,
                             unsigned retire_ms);
/* TPACKET_V2 TX ring of frame_nr slots of frame_size bytes (block_size a multiple of it). */
int clinux_packet_tx_ring_v2(int fd, unsigned block_size, unsigned block_nr, unsigned frame_size);
int clinux_packet_bind(int fd, int ifindex, uint16_t protocol);
int clinux_packet_promiscuous(int fd, int ifindex);             /* PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC */
int clinux_packet_ignore_outgoing(int fd);                      /* PACKET_IGNORE_OUTGOING (4.20+) */
int clinux_packet_qdisc_bypass(int fd);
/* PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG in group `group`: the kernel hashes each flow
   (both directions alike) to one of the sockets of the group. */
int clinux_packet_fanout_hash(int fd, uint16_t group);
int clinux_packet_stats_v3(int fd, unsigned *packets, unsigned *drops, unsigned *freezes);
/* sendto(fd, NULL, 0, MSG_DONTWAIT): asks the kernel to send the TX ring slots marked SEND_REQUEST. */
int clinux_packet_kick(int fd);
int clinux_interface_index(const char *name);                   /* or -errno */
int clinux_interface_mac(int fd, const char *name, uint8_t out[6]);
/* 1 up (IFF_UP and IFF_RUNNING), 0 down, or -errno. */
int clinux_interface_running(int fd, const char *name);
/* Ethernet header + payload room the TX ring slot keeps in front of the frame (V2). */
static const unsigned clinux_tpacket2_data_offset = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));

/* ---- ring accessors (fast path) ---- */
static inline uint32_t clinux_tp3_block_status(const void *block) {
    const struct tpacket_block_desc *b = (const struct tpacket_block_desc *)block;
    return __atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}
static inline void clinux_tp3_block_release(void *block) {
    struct tpacket_block_desc *b = (struct tpacket_block_desc *)block;
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}
static inline uint32_t clinux_tp3_block_packets(const void *block) {
    return ((const struct tpacket_block_desc *)block)->hdr.bh1.num_pkts;
}
static inline const void *clinux_tp3_block_first(const void *block) {
    const struct tpacket_block_desc *b = (const struct tpacket_block_desc *)block;
    return (const uint8_t *)block + b->hdr.bh1.offset_to_first_pkt;
}
static inline const void *clinux_tp3_next(const void *frame) {
    const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)frame;
    return (const uint8_t *)frame + h->tp_next_offset;
}
static inline const void *clinux_tp3_data(const void *frame) {
    const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)frame;
    return (const uint8_t *)frame + h->tp_mac;
}
static inline uint32_t clinux_tp3_length(const void *frame) {
    return ((const struct tpacket3_hdr *)frame)->tp_snaplen;
}
static inline uint64_t clinux_tp3_timestamp_ns(const void *frame) {
    const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)frame;
    return (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
}
/* The sockaddr_ll the kernel stores after the header: PACKET_OUTGOING marks our own sends. */
static inline int clinux_tp3_is_outgoing(const void *frame) {
    const struct sockaddr_ll *sll = (const struct sockaddr_ll *)((const uint8_t *)frame +
                                     TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
    return sll->sll_pkttype == PACKET_OUTGOING;
}

static inline uint32_t clinux_tp2_status(const void *slot) {
    return __atomic_load_n(&((const struct tpacket2_hdr *)slot)->tp_status, __ATOMIC_ACQUIRE);
}
static inline void clinux_tp2_set_available(void *slot) {
    __atomic_store_n(&((struct tpacket2_hdr *)slot)->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
}
/* Publishes a filled TX slot: the length first, then the status with release ordering so the
   kernel never sees SEND_REQUEST before the bytes. */
static inline void clinux_tp2_send_request(void *slot, uint32_t length) {
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)slot;
    h->tp_len = length;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
}

#endif
