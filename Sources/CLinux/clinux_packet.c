/* Setup calls for AF_PACKET sockets. Each returns 0 (or a value) or -errno. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "clinux_packet.h"

static int ok(int rc) { return rc < 0 ? -errno : rc; }

int clinux_packet_socket(uint16_t protocol) {
    return ok(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(protocol)));
}

int clinux_packet_set_version(int fd, int version) {
    return ok(setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)));
}

int clinux_packet_rx_ring_v3(int fd, unsigned block_size, unsigned block_nr, unsigned frame_size,
                             unsigned retire_ms) {
    struct tpacket_req3 req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = block_size;
    req.tp_block_nr = block_nr;
    req.tp_frame_size = frame_size;
    req.tp_frame_nr = (block_size / frame_size) * block_nr;
    req.tp_retire_blk_tov = retire_ms;
    return ok(setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)));
}

int clinux_packet_tx_ring_v2(int fd, unsigned block_size, unsigned block_nr, unsigned frame_size) {
    struct tpacket_req req;
    memset(&req, 0, sizeof(req));
    req.tp_block_size = block_size;
    req.tp_block_nr = block_nr;
    req.tp_frame_size = frame_size;
    req.tp_frame_nr = (block_size / frame_size) * block_nr;
    return ok(setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)));
}

int clinux_packet_bind(int fd, int ifindex, uint16_t protocol) {
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(protocol);
    sll.sll_ifindex = ifindex;
    return ok(bind(fd, (struct sockaddr *)&sll, sizeof(sll)));
}

int clinux_packet_promiscuous(int fd, int ifindex) {
    struct packet_mreq mr;
    memset(&mr, 0, sizeof(mr));
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    return ok(setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)));
}

int clinux_packet_ignore_outgoing(int fd) {
    int one = 1;
    return ok(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)));
}

int clinux_packet_qdisc_bypass(int fd) {
    int one = 1;
    return ok(setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)));
}

int clinux_packet_fanout_hash(int fd, uint16_t group) {
    int arg = group | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
    return ok(setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)));
}

int clinux_packet_stats_v3(int fd, unsigned *packets, unsigned *drops, unsigned *freezes) {
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof(st);
    memset(&st, 0, sizeof(st));
    int rc = getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len);
    if (rc < 0) return -errno;
    *packets = st.tp_packets;
    *drops = st.tp_drops;
    *freezes = st.tp_freeze_q_cnt;
    return 0;
}

int clinux_packet_kick(int fd) {
    ssize_t rc = sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
    return rc < 0 ? -errno : (int)rc;
}

int clinux_interface_index(const char *name) {
    unsigned idx = if_nametoindex(name);
    return idx == 0 ? -errno : (int)idx;
}

static int ifreq_for(struct ifreq *ifr, const char *name) {
    memset(ifr, 0, sizeof(*ifr));
    if (strlen(name) >= sizeof(ifr->ifr_name)) return -ENAMETOOLONG;
    strncpy(ifr->ifr_name, name, sizeof(ifr->ifr_name) - 1);
    return 0;
}

int clinux_interface_mac(int fd, const char *name, uint8_t out[6]) {
    struct ifreq ifr;
    int rc = ifreq_for(&ifr, name);
    if (rc < 0) return rc;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) return -errno;
    memcpy(out, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

int clinux_interface_running(int fd, const char *name) {
    struct ifreq ifr;
    int rc = ifreq_for(&ifr, name);
    if (rc < 0) return rc;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) return -errno;
    return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING) ? 1 : 0;
}
