/* DPDK rte_acl behind plain functions, for comparing vfwall's compiled classifier with DPDK's
 * (an IPv4 5-tuple context: protocol, source, destination, source port, destination port).
 * No DPDK header here, so Swift never sees DPDK's build flags. EAL must be initialised first. */
#ifndef CDPDK_ACL_H
#define CDPDK_ACL_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdpdk_acl cdpdk_acl;

/* One IPv4 5-tuple rule, host byte order. Higher priority wins; userdata (> 0) is returned. */
struct cdpdk_acl_rule {
    uint32_t src, dst;
    uint8_t src_len, dst_len;
    uint8_t proto, proto_mask;
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
    int32_t priority;
    uint32_t userdata;
};

/* A header as rte_acl reads it: network byte order, fields at fixed offsets. */
struct cdpdk_acl_tuple {
    uint8_t proto;
    uint8_t pad[3];
    uint32_t src, dst;
    uint16_t sport, dport;
};

/* Algorithms, as rte_acl numbers them: 0 default (best available), 1 scalar, 2 sse, 3 avx2. */
enum { CDPDK_ACL_DEFAULT = 0, CDPDK_ACL_SCALAR = 1, CDPDK_ACL_SSE = 2, CDPDK_ACL_AVX2 = 3 };

/* Creates a context, adds the rules and builds it. Returns NULL with *err = -errno on failure.
 * *memory_bytes receives the bytes rte_malloc handed out for it (context, rules, tries). */
cdpdk_acl *cdpdk_acl_build(const char *name, const struct cdpdk_acl_rule *rules, uint32_t n,
                           int *err, size_t *memory_bytes);
/* Picks the classify algorithm; -errno when the CPU lacks it. */
int cdpdk_acl_set_algorithm(cdpdk_acl *acl, int alg);
/* results[i] = userdata of the best rule matching tuples[i], or 0. */
int cdpdk_acl_classify(const cdpdk_acl *acl, const struct cdpdk_acl_tuple *tuples,
                       uint32_t *results, uint32_t n);
void cdpdk_acl_free(cdpdk_acl *acl);

#endif
