#include "cdpdk_acl.h"

#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_malloc.h>

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_COUNT };

RTE_ACL_RULE_DEF(cdpdk_acl_rule5, F_COUNT);

/* Most classify calls carry a burst; larger calls are cut into pieces of this size. */
#define CDPDK_ACL_CHUNK 64

struct cdpdk_acl {
    struct rte_acl_ctx *ctx;
};

/* The first field is one byte; the rest come in groups of four bytes (rte_acl's layout rule):
 * proto | src | dst | sport+dport. */
static void field_defs(struct rte_acl_config *cfg) {
    const struct rte_acl_field_def defs[F_COUNT] = {
        { RTE_ACL_FIELD_TYPE_BITMASK, 1, F_PROTO, 0, offsetof(struct cdpdk_acl_tuple, proto) },
        { RTE_ACL_FIELD_TYPE_MASK, 4, F_SRC, 1, offsetof(struct cdpdk_acl_tuple, src) },
        { RTE_ACL_FIELD_TYPE_MASK, 4, F_DST, 2, offsetof(struct cdpdk_acl_tuple, dst) },
        { RTE_ACL_FIELD_TYPE_RANGE, 2, F_SPORT, 3, offsetof(struct cdpdk_acl_tuple, sport) },
        { RTE_ACL_FIELD_TYPE_RANGE, 2, F_DPORT, 3, offsetof(struct cdpdk_acl_tuple, dport) },
    };
    memset(cfg, 0, sizeof(*cfg));
    cfg->num_categories = 1;
    cfg->num_fields = F_COUNT;
    memcpy(cfg->defs, defs, sizeof(defs));
}

static size_t heap_allocated(void) {
    struct rte_malloc_socket_stats st;
    size_t total = 0;
    for (int s = 0; s < RTE_MAX_NUMA_NODES; s++)
        if (rte_malloc_get_socket_stats(s, &st) == 0) total += st.heap_allocsz_bytes;
    return total;
}

cdpdk_acl *cdpdk_acl_build(const char *name, const struct cdpdk_acl_rule *rules, uint32_t n,
                           int *err, size_t *memory_bytes) {
    size_t before = heap_allocated();
    struct cdpdk_acl *acl = calloc(1, sizeof(*acl));
    if (acl == NULL) { *err = -ENOMEM; return NULL; }
    struct rte_acl_param prm = {
        .name = name, .socket_id = SOCKET_ID_ANY,
        .rule_size = RTE_ACL_RULE_SZ(F_COUNT), .max_rule_num = n > 0 ? n : 1,
    };
    acl->ctx = rte_acl_create(&prm);
    if (acl->ctx == NULL) { *err = -rte_errno; free(acl); return NULL; }
    for (uint32_t i = 0; i < n; i++) {
        const struct cdpdk_acl_rule *r = &rules[i];
        struct cdpdk_acl_rule5 a;
        memset(&a, 0, sizeof(a));
        a.data.category_mask = 1;
        a.data.priority = r->priority;
        a.data.userdata = r->userdata;
        a.field[F_PROTO].value.u8 = r->proto;
        a.field[F_PROTO].mask_range.u8 = r->proto_mask;
        a.field[F_SRC].value.u32 = r->src;
        a.field[F_SRC].mask_range.u32 = r->src_len;
        a.field[F_DST].value.u32 = r->dst;
        a.field[F_DST].mask_range.u32 = r->dst_len;
        a.field[F_SPORT].value.u16 = r->sport_lo;
        a.field[F_SPORT].mask_range.u16 = r->sport_hi;
        a.field[F_DPORT].value.u16 = r->dport_lo;
        a.field[F_DPORT].mask_range.u16 = r->dport_hi;
        int rc = rte_acl_add_rules(acl->ctx, (const struct rte_acl_rule *)&a, 1);
        if (rc != 0) { *err = rc; cdpdk_acl_free(acl); return NULL; }
    }
    struct rte_acl_config cfg;
    field_defs(&cfg);
    int rc = rte_acl_build(acl->ctx, &cfg);
    if (rc != 0) { *err = rc; cdpdk_acl_free(acl); return NULL; }
    *memory_bytes = heap_allocated() - before;
    *err = 0;
    return acl;
}

int cdpdk_acl_set_algorithm(cdpdk_acl *acl, int alg) {
    return rte_acl_set_ctx_classify(acl->ctx, (enum rte_acl_classify_alg)alg);
}

int cdpdk_acl_classify(const cdpdk_acl *acl, const struct cdpdk_acl_tuple *tuples,
                       uint32_t *results, uint32_t n) {
    const uint8_t *data[CDPDK_ACL_CHUNK];
    for (uint32_t done = 0; done < n; done += CDPDK_ACL_CHUNK) {
        uint32_t k = n - done < CDPDK_ACL_CHUNK ? n - done : CDPDK_ACL_CHUNK;
        for (uint32_t i = 0; i < k; i++) data[i] = (const uint8_t *)&tuples[done + i];
        int rc = rte_acl_classify(acl->ctx, data, results + done, k, 1);
        if (rc != 0) return rc;
    }
    return 0;
}

void cdpdk_acl_free(cdpdk_acl *acl) {
    if (acl == NULL) return;
    rte_acl_free(acl->ctx);
    free(acl);
}
