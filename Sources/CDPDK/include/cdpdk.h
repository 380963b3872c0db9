#ifndef CDPDK_H
#define CDPDK_H
/* A plain-C face for DPDK 22.11. Swift imports this header only: no DPDK header is visible
 * to Swift, so Swift sees opaque pointers and plain structs. Everything that is a macro or
 * `static inline` in DPDK (the whole fast path) is wrapped here once.
 * Conventions: functions returning int return 0 (or a count) on success and a negative
 * errno value on failure (DPDK's own convention, rte_errno folded in). */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct cdpdk_mbuf cdpdk_mbuf;         /* struct rte_mbuf */
typedef struct cdpdk_mempool cdpdk_mempool;   /* struct rte_mempool */

/* ---- EAL ---- */
/* rte_eal_init; returns the number of arguments consumed, or -errno. */
int cdpdk_eal_init(int argc, char **argv);
int cdpdk_eal_cleanup(void);
const char *cdpdk_strerror(int err);   /* err may be negative */
/* The directory EAL loads driver plugins from when no `-d` is given (RTE_EAL_PMD_PATH). */
const char *cdpdk_default_driver_dir(void);
/* The runtime directory EAL created (/var/run/dpdk/<file-prefix> for root). */
const char *cdpdk_runtime_dir(void);

/* ---- lcores ---- */
unsigned cdpdk_lcore_id(void);            /* of the calling thread; UINT32_MAX if not an lcore */
unsigned cdpdk_main_lcore(void);
unsigned cdpdk_lcore_count(void);
/* Next enabled lcore after `prev` (pass UINT32_MAX to start), skipping the main one if asked.
   Returns >= cdpdk_max_lcores() when there is none. */
unsigned cdpdk_next_lcore(unsigned prev, bool skip_main);
unsigned cdpdk_max_lcores(void);
int cdpdk_lcore_to_cpu(unsigned lcore);
int cdpdk_remote_launch(int (*fn)(void *), void *arg, unsigned lcore);
int cdpdk_wait_lcore(unsigned lcore);     /* returns fn's return value, or -errno */

/* ---- virtual devices ---- */
int cdpdk_vdev_create(const char *name, const char *args);
int cdpdk_vdev_remove(const char *name);

/* ---- mempools ---- */
cdpdk_mempool *cdpdk_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache_size,
                                         uint16_t data_room, int socket_id, int *err);
void cdpdk_mempool_free(cdpdk_mempool *mp);
unsigned cdpdk_mempool_in_use(const cdpdk_mempool *mp);
unsigned cdpdk_mempool_available(const cdpdk_mempool *mp);

/* ---- ports ---- */
uint16_t cdpdk_port_count(void);
/* The first valid port id >= from, or cdpdk_max_ports() when there is none. */
uint16_t cdpdk_port_next(uint16_t from);
uint16_t cdpdk_max_ports(void);
int cdpdk_port_by_name(const char *name, uint16_t *port_id);
int cdpdk_port_name(uint16_t port_id, char *buf, size_t len);
int cdpdk_port_socket(uint16_t port_id);

struct cdpdk_port_info {
    char driver[64];
    uint16_t max_rx_queues, max_tx_queues;
    uint64_t rss_offloads;     /* flow types the port can hash on; 0: no RSS */
    uint16_t reta_size;
};
int cdpdk_port_info(uint16_t port_id, struct cdpdk_port_info *out);

/* Configures n_rx/n_tx queues. With more than one RX queue, enables RSS over IP/TCP/UDP (what
   the port supports) with a symmetric Toeplitz key, so both directions of a flow hash to the
   same queue. *rss_hf_out receives the hash functions actually enabled. */
int cdpdk_port_configure(uint16_t port_id, uint16_t n_rx, uint16_t n_tx, uint64_t *rss_hf_out);
/* Rounds the descriptor counts to what the port accepts. */
int cdpdk_port_adjust_descriptors(uint16_t port_id, uint16_t *n_rxd, uint16_t *n_txd);
int cdpdk_rx_queue_setup(uint16_t port_id, uint16_t q, uint16_t n_desc, cdpdk_mempool *mp);
int cdpdk_tx_queue_setup(uint16_t port_id, uint16_t q, uint16_t n_desc);
int cdpdk_port_start(uint16_t port_id);
int cdpdk_port_stop(uint16_t port_id);
int cdpdk_port_close(uint16_t port_id);
int cdpdk_port_mac(uint16_t port_id, uint8_t out[6]);
int cdpdk_port_promiscuous(uint16_t port_id, bool on);
int cdpdk_port_is_promiscuous(uint16_t port_id); /* 1, 0, or -errno */

struct cdpdk_link { uint32_t speed_mbps; bool up; bool full_duplex; bool autoneg; };
int cdpdk_port_link(uint16_t port_id, struct cdpdk_link *out);  /* does not wait */

struct cdpdk_stats {
    uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};
int cdpdk_port_stats(uint16_t port_id, struct cdpdk_stats *out);
int cdpdk_port_stats_reset(uint16_t port_id);
/* Extended stats: returns how many exist; fills up to `n` names (each `name_len` bytes,
   NUL-terminated) and values. Call with n = 0 to size the arrays. */
int cdpdk_port_xstats(uint16_t port_id, char *names, size_t name_len, uint64_t *values, unsigned n);

/* ---- fast path (one call per burst, never per packet) ---- */
/* rte_eth_rx_burst, then for each mbuf its data pointer and length (first segment: ports
   are configured without scatter), prefetching the first frame bytes for the parser. The
   lengths' sum goes to *bytes (the RX byte counter), from the loop that reads them anyway. */
uint16_t cdpdk_rx_burst(uint16_t port_id, uint16_t q, cdpdk_mbuf **mbufs, uint16_t n,
                        const void **data, int32_t *lengths, uint64_t *bytes);
uint16_t cdpdk_tx_burst(uint16_t port_id, uint16_t q, cdpdk_mbuf **mbufs, uint16_t n);
void cdpdk_free_bulk(cdpdk_mbuf **mbufs, unsigned n);
void cdpdk_prefetch0(const void *p);

/* Slow path: copy frames into fresh mbufs (tests, and copying from a non-DPDK port).
   Returns how many were allocated and filled (stops at the first failure). */
unsigned cdpdk_mbufs_from_bytes(cdpdk_mempool *mp, const void *const *data, const int32_t *lengths,
                                unsigned n, cdpdk_mbuf **out);
void *cdpdk_mbuf_data(const cdpdk_mbuf *m);
uint32_t cdpdk_mbuf_length(const cdpdk_mbuf *m);

#endif
