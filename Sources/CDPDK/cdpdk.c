/* Thin wrappers over DPDK 22.11. No policy lives here: Swift decides, C only translates.
 * Built with the flags `pkg-config --cflags libdpdk` gives (see Package.swift). */
#include <errno.h>
#include <string.h>
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_bus_vdev.h>
#include "cdpdk.h"

/* DPDK returns -errno from most calls but some return -1 and set rte_errno. */
static int neg(int rc) {
    if (rc >= 0) return rc;
    if (rc == -1 && rte_errno > 0) return -rte_errno;
    return rc;
}

#define MB(p) ((struct rte_mbuf *)(p))
#define MP(p) ((struct rte_mempool *)(p))

int cdpdk_eal_init(int argc, char **argv) { return neg(rte_eal_init(argc, argv)); }
int cdpdk_eal_cleanup(void) { return neg(rte_eal_cleanup()); }
const char *cdpdk_strerror(int err) { return rte_strerror(err < 0 ? -err : err); }
const char *cdpdk_default_driver_dir(void) {
#ifdef RTE_EAL_PMD_PATH
    return RTE_EAL_PMD_PATH;
#else
    return "";
#endif
}

const char *cdpdk_runtime_dir(void) { return rte_eal_get_runtime_dir(); }

unsigned cdpdk_lcore_id(void) { return rte_lcore_id(); }
unsigned cdpdk_main_lcore(void) { return rte_get_main_lcore(); }
unsigned cdpdk_lcore_count(void) { return rte_lcore_count(); }
unsigned cdpdk_next_lcore(unsigned prev, bool skip_main) {
    /* rte_get_next_lcore treats prev = -1 as "before the first". */
    return rte_get_next_lcore(prev, skip_main ? 1 : 0, 0);
}
unsigned cdpdk_max_lcores(void) { return RTE_MAX_LCORE; }
int cdpdk_lcore_to_cpu(unsigned lcore) { return rte_lcore_to_cpu_id((int)lcore); }
int cdpdk_remote_launch(int (*fn)(void *), void *arg, unsigned lcore) {
    return neg(rte_eal_remote_launch(fn, arg, lcore));
}
int cdpdk_wait_lcore(unsigned lcore) { return rte_eal_wait_lcore(lcore); }

int cdpdk_vdev_create(const char *name, const char *args) { return neg(rte_vdev_init(name, args)); }
int cdpdk_vdev_remove(const char *name) { return neg(rte_vdev_uninit(name)); }

cdpdk_mempool *cdpdk_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache_size,
                                         uint16_t data_room, int socket_id, int *err) {
    struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, cache_size, 0,
                                                     (uint16_t)(data_room + RTE_PKTMBUF_HEADROOM),
                                                     socket_id);
    if (err) *err = mp ? 0 : -rte_errno;
    return (cdpdk_mempool *)mp;
}
void cdpdk_mempool_free(cdpdk_mempool *mp) { rte_mempool_free(MP(mp)); }
unsigned cdpdk_mempool_in_use(const cdpdk_mempool *mp) { return rte_mempool_in_use_count(MP(mp)); }
unsigned cdpdk_mempool_available(const cdpdk_mempool *mp) { return rte_mempool_avail_count(MP(mp)); }

uint16_t cdpdk_port_count(void) { return rte_eth_dev_count_avail(); }
uint16_t cdpdk_port_next(uint16_t from) { return (uint16_t)rte_eth_find_next(from); }
uint16_t cdpdk_max_ports(void) { return RTE_MAX_ETHPORTS; }
int cdpdk_port_by_name(const char *name, uint16_t *port_id) {
    return neg(rte_eth_dev_get_port_by_name(name, port_id));
}
int cdpdk_port_name(uint16_t port_id, char *buf, size_t len) {
    char name[RTE_ETH_NAME_MAX_LEN];
    int rc = rte_eth_dev_get_name_by_port(port_id, name);
    if (rc < 0) return neg(rc);
    snprintf(buf, len, "%s", name);
    return 0;
}
int cdpdk_port_socket(uint16_t port_id) { return rte_eth_dev_socket_id(port_id); }

int cdpdk_port_info(uint16_t port_id, struct cdpdk_port_info *out) {
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port_id, &info);
    if (rc < 0) return neg(rc);
    memset(out, 0, sizeof(*out));
    snprintf(out->driver, sizeof(out->driver), "%s", info.driver_name ? info.driver_name : "?");
    out->max_rx_queues = info.max_rx_queues;
    out->max_tx_queues = info.max_tx_queues;
    out->rss_offloads = info.flow_type_rss_offloads;
    out->reta_size = info.reta_size;
    return 0;
}

int cdpdk_port_configure(uint16_t port_id, uint16_t n_rx, uint16_t n_tx, uint64_t *rss_hf_out) {
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port_id, &info);
    if (rc < 0) return neg(rc);
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    /* 0x6d5a repeated: a Toeplitz key whose hash is the same for (src, dst) and (dst, src),
       so both directions of a connection reach the same queue and worker (Woo & Park, 2012).
       Sized to what the device wants (40 bytes on most, 52 on i40e/iavf). */
    static uint8_t key[64];
    uint8_t key_len = info.hash_key_size ? info.hash_key_size : 40;
    if (key_len > sizeof(key)) key_len = sizeof(key);
    for (unsigned i = 0; i < sizeof(key); i++) key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
    uint64_t hf = 0;
    if (n_rx > 1) {
        hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
        if (hf != 0) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = key;
            conf.rx_adv_conf.rss_conf.rss_key_len = key_len;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
        }
    }
    /* Let the driver free transmitted mbufs fast when it can: all mbufs of a queue come from
       one pool and have a reference count of 1 (we never clone). */
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    if (rss_hf_out) *rss_hf_out = hf;
    return neg(rte_eth_dev_configure(port_id, n_rx, n_tx, &conf));
}

int cdpdk_port_adjust_descriptors(uint16_t port_id, uint16_t *n_rxd, uint16_t *n_txd) {
    return neg(rte_eth_dev_adjust_nb_rx_tx_desc(port_id, n_rxd, n_txd));
}
int cdpdk_rx_queue_setup(uint16_t port_id, uint16_t q, uint16_t n_desc, cdpdk_mempool *mp) {
    return neg(rte_eth_rx_queue_setup(port_id, q, n_desc, rte_eth_dev_socket_id(port_id), NULL, MP(mp)));
}
int cdpdk_tx_queue_setup(uint16_t port_id, uint16_t q, uint16_t n_desc) {
    return neg(rte_eth_tx_queue_setup(port_id, q, n_desc, rte_eth_dev_socket_id(port_id), NULL));
}
int cdpdk_port_start(uint16_t port_id) { return neg(rte_eth_dev_start(port_id)); }
int cdpdk_port_stop(uint16_t port_id) { return neg(rte_eth_dev_stop(port_id)); }
int cdpdk_port_close(uint16_t port_id) { return neg(rte_eth_dev_close(port_id)); }

int cdpdk_port_mac(uint16_t port_id, uint8_t out[6]) {
    struct rte_ether_addr a;
    int rc = rte_eth_macaddr_get(port_id, &a);
    if (rc < 0) return neg(rc);
    memcpy(out, a.addr_bytes, 6);
    return 0;
}
int cdpdk_port_promiscuous(uint16_t port_id, bool on) {
    return neg(on ? rte_eth_promiscuous_enable(port_id) : rte_eth_promiscuous_disable(port_id));
}
int cdpdk_port_is_promiscuous(uint16_t port_id) { return neg(rte_eth_promiscuous_get(port_id)); }

int cdpdk_port_link(uint16_t port_id, struct cdpdk_link *out) {
    struct rte_eth_link l;
    memset(&l, 0, sizeof(l));
    int rc = rte_eth_link_get_nowait(port_id, &l);
    if (rc < 0) return neg(rc);
    out->speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
    out->up = l.link_status == RTE_ETH_LINK_UP;
    out->full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
    out->autoneg = l.link_autoneg == RTE_ETH_LINK_AUTONEG;
    return 0;
}

int cdpdk_port_stats(uint16_t port_id, struct cdpdk_stats *out) {
    struct rte_eth_stats s;
    int rc = rte_eth_stats_get(port_id, &s);
    if (rc < 0) return neg(rc);
    out->ipackets = s.ipackets; out->opackets = s.opackets;
    out->ibytes = s.ibytes; out->obytes = s.obytes;
    out->imissed = s.imissed; out->ierrors = s.ierrors;
    out->oerrors = s.oerrors; out->rx_nombuf = s.rx_nombuf;
    return 0;
}
int cdpdk_port_stats_reset(uint16_t port_id) { return neg(rte_eth_stats_reset(port_id)); }

int cdpdk_port_xstats(uint16_t port_id, char *names, size_t name_len, uint64_t *values, unsigned n) {
    int total = rte_eth_xstats_get(port_id, NULL, 0);
    if (total < 0 || n == 0) return neg(total);
    struct rte_eth_xstat xs[total];
    struct rte_eth_xstat_name xn[total];
    int got = rte_eth_xstats_get(port_id, xs, (unsigned)total);
    if (got < 0) return neg(got);
    int named = rte_eth_xstats_get_names(port_id, xn, (unsigned)total);
    if (named < 0) return neg(named);
    unsigned count = (unsigned)(got < named ? got : named);
    for (unsigned i = 0; i < count && i < n; i++) {
        values[i] = xs[i].value;
        snprintf(names + i * name_len, name_len, "%s", xn[xs[i].id < (uint64_t)named ? xs[i].id : i].name);
    }
    return (int)count;
}

uint16_t cdpdk_rx_burst(uint16_t port_id, uint16_t q, cdpdk_mbuf **mbufs, uint16_t n,
                        const void **data, int32_t *lengths, uint64_t *bytes) {
    struct rte_mbuf **m = (struct rte_mbuf **)mbufs;
    uint16_t got = rte_eth_rx_burst(port_id, q, m, n);
    uint64_t sum = 0;
    for (uint16_t i = 0; i < got; i++) {
        const void *p = rte_pktmbuf_mtod(m[i], const void *);
        rte_prefetch0(p);
        data[i] = p;
        uint16_t len = rte_pktmbuf_data_len(m[i]);
        lengths[i] = (int32_t)len;
        sum += len;
    }
    *bytes = sum;
    return got;
}
uint16_t cdpdk_tx_burst(uint16_t port_id, uint16_t q, cdpdk_mbuf **mbufs, uint16_t n) {
    return rte_eth_tx_burst(port_id, q, (struct rte_mbuf **)mbufs, n);
}
void cdpdk_free_bulk(cdpdk_mbuf **mbufs, unsigned n) {
    if (n) rte_pktmbuf_free_bulk((struct rte_mbuf **)mbufs, n);
}
void cdpdk_prefetch0(const void *p) { rte_prefetch0(p); }

unsigned cdpdk_mbufs_from_bytes(cdpdk_mempool *mp, const void *const *data, const int32_t *lengths,
                                unsigned n, cdpdk_mbuf **out) {
    unsigned i;
    for (i = 0; i < n; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(MP(mp));
        if (!m) break;
        if (lengths[i] < 0 || (uint32_t)lengths[i] > rte_pktmbuf_tailroom(m)) { rte_pktmbuf_free(m); break; }
        char *dst = rte_pktmbuf_append(m, (uint16_t)lengths[i]);
        memcpy(dst, data[i], (size_t)lengths[i]);
        out[i] = (cdpdk_mbuf *)m;
    }
    return i;
}
void *cdpdk_mbuf_data(const cdpdk_mbuf *m) { return rte_pktmbuf_mtod(MB(m), void *); }
uint32_t cdpdk_mbuf_length(const cdpdk_mbuf *m) { return rte_pktmbuf_pkt_len(MB(m)); }
