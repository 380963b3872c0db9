// See include/cxdpgen.h. The two programs are raw BPF instructions (no clang, no ELF object):
// they are short, and this keeps the build to a C compiler and libbpf.
#define _GNU_SOURCE
#include "cxdpgen.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// ---- instruction builders -------------------------------------------------------------------
#define I(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_REG(d, s)        I(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, v)        I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define ALU_IMM(op, d, v)    I(BPF_ALU64 | (op) | BPF_K, d, 0, 0, v)
#define ALU_REG(op, d, s)    I(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define TO_BE(d, bits)       I(BPF_ALU | BPF_END | BPF_TO_BE, d, 0, 0, bits)
#define LDX(sz, d, s, o)     I(BPF_LDX | (sz) | BPF_MEM, d, s, o, 0)
#define STX(sz, d, s, o)     I(BPF_STX | (sz) | BPF_MEM, d, s, o, 0)
#define ST(sz, d, o, v)      I(BPF_ST | (sz) | BPF_MEM, d, 0, o, v)
#define JMP_IMM(op, d, v, o) I(BPF_JMP | (op) | BPF_K, d, 0, o, v)
#define JMP_REG(op, d, s, o) I(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define CALL(f)              I(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()               I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP(d, fd)        I(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), I(0, 0, 0, 0, 0)

// The generator's header in the UDP payload (Sources/Workloads/Traffic/GenFrames.swift).
enum { OFF_SPORT = 34, OFF_MAGIC = 42, OFF_SEQ = 46, OFF_TIME = 50, HDR_END = 58 };

static void fail(char *err, size_t n, const char *fmt, ...) {
    if (!err || !n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char verifier_log[65536];

static int load(const char *name, struct bpf_insn *insns, size_t n, char *err, size_t errlen) {
    LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = verifier_log, .log_size = sizeof verifier_log, .log_level = 0);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", insns, n, &o);
    if (fd < 0) {
        int e = errno;
        // Load again with the verifier's log for the message.
        o.log_level = 1;
        verifier_log[0] = 0;
        (void)bpf_prog_load(BPF_PROG_TYPE_XDP, name, "GPL", insns, n, &o);
        fail(err, errlen, "cannot load the XDP program %s: %s%s%.300s", name, strerror(e),
             verifier_log[0] ? "; verifier: " : "", verifier_log);
        return -e;
    }
    return fd;
}

// Runs fn inside the network namespace at path (NULL: here), then comes back.
static int in_netns(const char *path, int (*fn)(void *), void *arg) {
    if (!path) return fn(arg);
    int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return -errno;
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) { int e = errno; close(self); return -e; }
    int r;
    if (setns(target, CLONE_NEWNET) < 0) r = -errno;
    else {
        r = fn(arg);
        if (setns(self, CLONE_NEWNET) < 0) abort();   // cannot continue in the wrong namespace
    }
    close(target);
    close(self);
    return r;
}

struct ifindex_arg { const char *name; };
static int ifindex_here(void *a) {
    unsigned i = if_nametoindex(((struct ifindex_arg *)a)->name);
    return i ? (int)i : -errno;
}

int cxdpgen_ifindex(const char *netns_path, const char *ifname) {
    struct ifindex_arg a = { ifname };
    return in_netns(netns_path, ifindex_here, &a);
}

// ---- the generator --------------------------------------------------------------------------
// The generator's map value: the sequence number, the pacing state and what was sent.
struct gen_state {
    uint64_t seq;        // frames redirected (each one's sequence number)
    uint64_t next;       // when the next frame is due, in 1/16 ns of CLOCK_MONOTONIC
    uint64_t interval;   // between frames, in 1/16 ns; 0: no pacing
    uint64_t slack;      // how far `next` may lag behind now (a small burst after a pause)
    uint64_t bytes;      // bytes redirected (in memory)
    uint64_t last;       // when the last frame was redirected (ns)
    uint64_t end;        // no frame leaves after this (ns), so a trial is as long as asked
};

struct cxdpgen { int prog, map; uint32_t batch; };

int cxdpgen_open(struct cxdpgen **out, int ifindex, uint32_t flows, uint32_t stride, uint32_t offset,
                 uint16_t sport_base, uint32_t batch, char *err, size_t errlen) {
    *out = NULL;
    int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "vfgen_state", 4, sizeof(struct gen_state), 1, NULL);
    if (map < 0) {
        int e = errno;
        fail(err, errlen, "cannot create a BPF map: %s (BPF needs root or CAP_BPF)", strerror(e));
        return -e;
    }
    if (flows == 0) flows = 1;
    // Pacing in the program: BPF_PROG_TEST_RUN runs it as fast as the core goes; a frame that is
    // not due yet is dropped (its page recycled, nothing sent), a due one is stamped and
    // redirected. The kernel runs a batch with bottom halves off, so the frames of one core
    // never race on the state.
    struct bpf_insn p[96];
    size_t n = 0;
    p[n++] = MOV_REG(BPF_REG_6, BPF_REG_1);
    p[n++] = CALL(BPF_FUNC_ktime_get_ns);
    p[n++] = MOV_REG(BPF_REG_9, BPF_REG_0);                               // r9 = now (ns)
    p[n++] = ST(BPF_W, BPF_REG_10, -8, 0);
    struct bpf_insn ld[] = { LD_MAP(BPF_REG_1, map) };
    p[n++] = ld[0]; p[n++] = ld[1];
    p[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_2, -8);
    p[n++] = CALL(BPF_FUNC_map_lookup_elem);
    size_t j_nomap = n; p[n++] = JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0);       // -> drop
    p[n++] = MOV_REG(BPF_REG_7, BPF_REG_0);                               // r7 = state
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_7, 48);                       // end
    size_t j_late = n; p[n++] = JMP_REG(BPF_JGT, BPF_REG_9, BPF_REG_1, 0); // past the end -> drop
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_7, 16);                       // interval
    size_t j_unpaced = n; p[n++] = JMP_IMM(BPF_JEQ, BPF_REG_1, 0, 0);     // -> send
    p[n++] = MOV_REG(BPF_REG_4, BPF_REG_9);
    p[n++] = ALU_IMM(BPF_LSH, BPF_REG_4, 4);                              // r4 = now in 1/16 ns
    p[n++] = LDX(BPF_DW, BPF_REG_2, BPF_REG_7, 8);                        // r2 = next
    size_t j_early = n; p[n++] = JMP_REG(BPF_JGT, BPF_REG_2, BPF_REG_4, 0); // not due -> drop
    p[n++] = LDX(BPF_DW, BPF_REG_3, BPF_REG_7, 24);
    p[n++] = MOV_REG(BPF_REG_5, BPF_REG_4);
    p[n++] = ALU_REG(BPF_SUB, BPF_REG_5, BPF_REG_3);                      // r5 = now - slack
    p[n++] = JMP_REG(BPF_JGE, BPF_REG_2, BPF_REG_5, 1);
    p[n++] = MOV_REG(BPF_REG_2, BPF_REG_5);                               // next = max(next, now - slack)
    p[n++] = ALU_REG(BPF_ADD, BPF_REG_2, BPF_REG_1);
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_2, 8);                        // next += interval
    size_t send = n;
    p[n++] = LDX(BPF_DW, BPF_REG_8, BPF_REG_7, 0);                        // r8 = seq
    p[n++] = MOV_REG(BPF_REG_1, BPF_REG_8);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_1, 1);
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_1, 0);
    p[n++] = MOV_REG(BPF_REG_1, BPF_REG_6);
    p[n++] = CALL(BPF_FUNC_xdp_get_buff_len);
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_7, 32);
    p[n++] = ALU_REG(BPF_ADD, BPF_REG_1, BPF_REG_0);
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_1, 32);                       // bytes += length
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_9, 40);                       // last = now
    p[n++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, 0);                         // data
    p[n++] = LDX(BPF_W, BPF_REG_3, BPF_REG_6, 4);                         // data_end
    p[n++] = MOV_REG(BPF_REG_4, BPF_REG_2);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_4, HDR_END);
    size_t j_short = n; p[n++] = JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 0); // -> redirect
    p[n++] = MOV_REG(BPF_REG_1, BPF_REG_8);
    p[n++] = TO_BE(BPF_REG_1, 32);
    p[n++] = STX(BPF_W, BPF_REG_2, BPF_REG_1, OFF_SEQ);
    p[n++] = MOV_REG(BPF_REG_1, BPF_REG_9);
    p[n++] = TO_BE(BPF_REG_1, 64);
    p[n++] = STX(BPF_DW, BPF_REG_2, BPF_REG_1, OFF_TIME);
    if (flows > 1) {
        p[n++] = MOV_REG(BPF_REG_1, BPF_REG_8);
        p[n++] = ALU_IMM(BPF_MUL, BPF_REG_1, (int32_t)stride);
        p[n++] = ALU_IMM(BPF_ADD, BPF_REG_1, (int32_t)offset);
        p[n++] = ALU_IMM(BPF_MOD, BPF_REG_1, (int32_t)flows);
        p[n++] = ALU_IMM(BPF_ADD, BPF_REG_1, sport_base);
        p[n++] = TO_BE(BPF_REG_1, 16);
        p[n++] = STX(BPF_H, BPF_REG_2, BPF_REG_1, OFF_SPORT);
    }
    size_t redirect = n;
    p[n++] = MOV_IMM(BPF_REG_1, ifindex);
    p[n++] = MOV_IMM(BPF_REG_2, 0);
    p[n++] = CALL(BPF_FUNC_redirect);
    p[n++] = EXIT();
    size_t drop = n;
    p[n++] = MOV_IMM(BPF_REG_0, XDP_DROP);
    p[n++] = EXIT();
    p[j_nomap].off = (int16_t)(drop - j_nomap - 1);
    p[j_unpaced].off = (int16_t)(send - j_unpaced - 1);
    p[j_early].off = (int16_t)(drop - j_early - 1);
    p[j_late].off = (int16_t)(drop - j_late - 1);
    p[j_short].off = (int16_t)(redirect - j_short - 1);
    int prog = load("vfgen", p, n, err, errlen);
    if (prog < 0) { close(map); return prog; }
    struct cxdpgen *g = calloc(1, sizeof *g);
    if (!g) { close(prog); close(map); return -ENOMEM; }
    g->prog = prog; g->map = map; g->batch = batch ? batch : 64;
    *out = g;
    return 0;
}

// One test run: `repeat` frames from one template (most of them dropped unsent when paced).
static int run_once(struct cxdpgen *g, const struct cxdpgen_template *t, uint32_t repeat, char *err, size_t errlen) {
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = t->data, .data_size_in = t->length, .repeat = repeat,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = g->batch);
    if (bpf_prog_test_run_opts(g->prog, &o) < 0) {
        int e = errno;
        fail(err, errlen, "BPF_PROG_TEST_RUN with live frames failed: %s (needs Linux >= 5.18)", strerror(e));
        return -e;
    }
    return 0;
}

// Every BPF_PROG_TEST_RUN call costs tens of milliseconds of set-up and tear-down (the page
// pool, an RCU grace period; measured here: about 30 ms a call whatever `repeat` is) during
// which nothing is sent. So after a short first call that measures how fast the program runs,
// one call covers the rest of the trial (the program stops sending at `end` by itself).
// Measured on a veth pair (SCHED_FIFO, 2 s at 0.1 and 1 Mpps): 95 % of the rate asked with
// this; 88 % with calls of 250 ms; 78-80 % with two threads taking turns (a call's grace
// period waits for the other thread's call). The program runs only when it has the CPU: a
// generator sharing its core falls short of the rate asked (scripts/bench-attach runs it under
// SCHED_FIFO); `frames` and `seconds` say what it really offered.
int cxdpgen_send(struct cxdpgen *g, const struct cxdpgen_template *t, int nt, double rate, double seconds,
                 struct cxdpgen_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (nt <= 0 || nt > 16) return -EINVAL;
    uint32_t key = 0;
    uint64_t calls[16] = {0};
    struct gen_state st;
    if (bpf_map_lookup_elem(g->map, &key, &st) < 0) return -errno;
    const uint64_t seq0 = st.seq, bytes0 = st.bytes;
    st.interval = rate > 0 ? (uint64_t)(16e9 / rate) : 0;
    // The program runs only when its core is free: on a veth the first hop's forwarding runs in
    // the softirq after each batch, on the same core. A lag of up to 1 ms (at least 64 frames)
    // is made up at once; a longer one is lost, so `frames` can fall short of the rate asked.
    st.slack = st.interval * 64 > 16000000 ? st.interval * 64 : 16000000;
    st.next = 0;
    const uint64_t start = now_ns();
    st.end = start + (uint64_t)(seconds * 1e9);
    if (bpf_map_update_elem(g->map, &key, &st, BPF_ANY) < 0) return -errno;
    // A mix (IMIX) is kept by calls: each template gets calls in proportion to its weight, so
    // a mix needs calls of bounded length (100 ms), at the cost of more gaps.
    const double longest = nt > 1 ? 100e6 : 1e12;
    double runs_per_ns = 0;
    uint64_t now;
    while ((now = now_ns()) < st.end) {
        int k = 0;
        for (int i = 1; i < nt; i++)
            if ((double)calls[i] / (t[i].weight ? t[i].weight : 1) < (double)calls[k] / (t[k].weight ? t[k].weight : 1)) k = i;
        calls[k]++;
        double left = (double)(st.end - now), want = left < longest ? left : longest;
        double n = runs_per_ns > 0 ? runs_per_ns * want * 1.05 : 65536;
        uint32_t repeat = n < 4096 ? 4096 : n > (1u << 30) ? (1u << 30) : (uint32_t)n;
        int e = run_once(g, &t[k], repeat, err, errlen);
        if (e < 0) return e;
        uint64_t took = now_ns() - now;
        if (took > 0) runs_per_ns = (double)repeat / (double)took;
        r->runs++;
    }
    struct gen_state after;
    if (bpf_map_lookup_elem(g->map, &key, &after) < 0) return -errno;
    r->frames = after.seq - seq0;
    r->bytes = after.bytes - bytes0 + 4 * r->frames;
    // The sending window: from the start to the last frame sent (not to the last call's end).
    r->seconds = (double)((after.last > start ? after.last : now_ns()) - start) / 1e9;
    return 0;
}

void cxdpgen_close(struct cxdpgen *g) {
    if (!g) return;
    close(g->prog);
    close(g->map);
    free(g);
}

// ---- the sink -------------------------------------------------------------------------------
struct cxdpgen_sink { int prog, counts, latency, link; int ncpu; };

struct attach_arg { const char *ifname; int prog; int link; };
static int attach_here(void *a) {
    struct attach_arg *x = a;
    unsigned idx = if_nametoindex(x->ifname);
    if (!idx) return -errno;
    x->link = bpf_link_create(x->prog, (int)idx, BPF_XDP, NULL);
    return x->link < 0 ? -errno : 0;
}

int cxdpgen_sink_open(struct cxdpgen_sink **out, const char *netns_path, const char *ifname, char *err, size_t errlen) {
    *out = NULL;
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) { fail(err, errlen, "cannot count the possible CPUs"); return -EINVAL; }
    int counts = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "vfsink_count", 4, 24, 1, NULL);
    if (counts < 0) { int e = errno; fail(err, errlen, "cannot create a BPF map: %s (BPF needs root or CAP_BPF)", strerror(e)); return -e; }
    int lat = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "vfsink_delay", 4, 8, CXDPGEN_LATENCY_BUCKETS, NULL);
    if (lat < 0) { int e = errno; close(counts); fail(err, errlen, "cannot create a BPF map: %s", strerror(e)); return -e; }
    struct bpf_insn p[80];
    size_t n = 0;
    struct bpf_insn ldc[] = { LD_MAP(BPF_REG_1, counts) }, ldl[] = { LD_MAP(BPF_REG_1, lat) };
    p[n++] = MOV_REG(BPF_REG_6, BPF_REG_1);
    p[n++] = CALL(BPF_FUNC_xdp_get_buff_len);
    p[n++] = MOV_REG(BPF_REG_8, BPF_REG_0);                               // r8 = length
    p[n++] = ST(BPF_W, BPF_REG_10, -8, 0);
    p[n++] = ldc[0]; p[n++] = ldc[1];
    p[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_2, -8);
    p[n++] = CALL(BPF_FUNC_map_lookup_elem);
    size_t j1 = n; p[n++] = JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0);            // -> pass
    p[n++] = MOV_REG(BPF_REG_7, BPF_REG_0);                               // r7 = counters
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_7, 0);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_1, 1);
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_1, 0);
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_7, 8);
    p[n++] = ALU_REG(BPF_ADD, BPF_REG_1, BPF_REG_8);
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_1, 8);
    p[n++] = LDX(BPF_W, BPF_REG_2, BPF_REG_6, 0);
    p[n++] = LDX(BPF_W, BPF_REG_3, BPF_REG_6, 4);
    p[n++] = MOV_REG(BPF_REG_4, BPF_REG_2);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_4, HDR_END);
    size_t j2 = n; p[n++] = JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 0);    // -> pass
    p[n++] = LDX(BPF_H, BPF_REG_1, BPF_REG_2, OFF_MAGIC);
    size_t j3 = n; p[n++] = JMP_IMM(BPF_JNE, BPF_REG_1, 0x6776, 0);       // "vg" read little-endian -> pass
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_7, 16);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_1, 1);
    p[n++] = STX(BPF_DW, BPF_REG_7, BPF_REG_1, 16);
    p[n++] = LDX(BPF_DW, BPF_REG_9, BPF_REG_2, OFF_TIME);
    p[n++] = TO_BE(BPF_REG_9, 64);                                        // big-endian -> host
    p[n++] = CALL(BPF_FUNC_ktime_get_ns);
    size_t j4 = n; p[n++] = JMP_REG(BPF_JGT, BPF_REG_9, BPF_REG_0, 0);    // stamped in the future -> drop
    p[n++] = ALU_REG(BPF_SUB, BPF_REG_0, BPF_REG_9);
    p[n++] = ALU_IMM(BPF_DIV, BPF_REG_0, 1000);
    p[n++] = JMP_IMM(BPF_JLE, BPF_REG_0, CXDPGEN_LATENCY_BUCKETS - 1, 1);
    p[n++] = MOV_IMM(BPF_REG_0, CXDPGEN_LATENCY_BUCKETS - 1);
    p[n++] = STX(BPF_W, BPF_REG_10, BPF_REG_0, -4);
    p[n++] = ldl[0]; p[n++] = ldl[1];
    p[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_2, -4);
    p[n++] = CALL(BPF_FUNC_map_lookup_elem);
    size_t j5 = n; p[n++] = JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 0);            // -> drop
    p[n++] = LDX(BPF_DW, BPF_REG_1, BPF_REG_0, 0);
    p[n++] = ALU_IMM(BPF_ADD, BPF_REG_1, 1);
    p[n++] = STX(BPF_DW, BPF_REG_0, BPF_REG_1, 0);
    size_t drop = n;
    p[n++] = MOV_IMM(BPF_REG_0, XDP_DROP);
    p[n++] = EXIT();
    size_t pass = n;
    p[n++] = MOV_IMM(BPF_REG_0, XDP_PASS);
    p[n++] = EXIT();
    p[j1].off = (int16_t)(pass - j1 - 1);
    p[j2].off = (int16_t)(pass - j2 - 1);
    p[j3].off = (int16_t)(pass - j3 - 1);
    p[j4].off = (int16_t)(drop - j4 - 1);
    p[j5].off = (int16_t)(drop - j5 - 1);
    int prog = load("vfsink", p, n, err, errlen);
    if (prog < 0) { close(counts); close(lat); return prog; }
    struct attach_arg a = { ifname, prog, -1 };
    int r = in_netns(netns_path, attach_here, &a);
    if (r < 0) {
        fail(err, errlen, "cannot attach the sink's XDP program to %s%s%s: %s", ifname,
             netns_path ? " in " : "", netns_path ? netns_path : "", strerror(-r));
        close(prog); close(counts); close(lat);
        return r;
    }
    struct cxdpgen_sink *s = calloc(1, sizeof *s);
    if (!s) { close(a.link); close(prog); close(counts); close(lat); return -ENOMEM; }
    s->prog = prog; s->counts = counts; s->latency = lat; s->link = a.link; s->ncpu = ncpu;
    *out = s;
    return 0;
}

int cxdpgen_sink_read(struct cxdpgen_sink *s, struct cxdpgen_counts *c) {
    uint64_t v[s->ncpu * 3];
    uint32_t key = 0;
    memset(c, 0, sizeof *c);
    if (bpf_map_lookup_elem(s->counts, &key, v) < 0) return -errno;
    for (int i = 0; i < s->ncpu; i++) {
        c->frames += v[i * 3];
        c->bytes += v[i * 3 + 1];
        c->generated += v[i * 3 + 2];
    }
    return 0;
}

int cxdpgen_sink_latency(struct cxdpgen_sink *s, uint64_t *buckets) {
    uint64_t v[s->ncpu];
    for (uint32_t k = 0; k < CXDPGEN_LATENCY_BUCKETS; k++) {
        if (bpf_map_lookup_elem(s->latency, &k, v) < 0) return -errno;
        uint64_t sum = 0;
        for (int i = 0; i < s->ncpu; i++) sum += v[i];
        buckets[k] = sum;
    }
    return 0;
}

void cxdpgen_sink_close(struct cxdpgen_sink *s) {
    if (!s) return;
    close(s->link);     // the last reference to the link: the program comes off the interface
    close(s->prog);
    close(s->counts);
    close(s->latency);
    free(s);
}
