// cxdpgen: a traffic generator and a sink counter made of XDP programs (libbpf), for
// `vfwall gen --engine xdp` and the rate search. No BPF header is visible from here.
//
// Generator: an XDP program of a few raw BPF instructions, run by BPF_PROG_TEST_RUN with
// BPF_F_TEST_XDP_LIVE_FRAMES (Linux >= 5.18): the kernel makes real frames from a template and
// the program redirects them out of an interface. Per frame, the program writes a sequence
// number, the send time (bpf_ktime_get_ns, CLOCK_MONOTONIC) and a UDP source port chosen from
// `flows` ports into the frame, so every frame carries its own sequence and time stamp.
//
// Sink: an XDP program attached (as a bpf_link, gone when the process is) to the receiving
// interface: counts frames and bytes in a per-CPU array, drops the generator's frames (passes
// the rest) and files each generator frame's one-way delay in 1-microsecond buckets.
#ifndef CXDPGEN_H
#define CXDPGEN_H

#include <stddef.h>
#include <stdint.h>

#define CXDPGEN_LATENCY_BUCKETS 16384   /* 1 us each; the last holds everything above */

struct cxdpgen;
struct cxdpgen_sink;

struct cxdpgen_template {
    const void *data;   /* the frame in memory (no FCS) */
    uint32_t length;    /* bytes in memory */
    uint32_t weight;    /* share of the frames sent (IMIX: 7, 4, 1) */
};

struct cxdpgen_result {
    uint64_t frames;    /* frames the program redirected (the kernel's repeat count) */
    uint64_t bytes;     /* bytes on the wire: length + 4 (FCS) per frame */
    double seconds;     /* from the first to the end of the last test run */
    uint64_t runs;      /* BPF_PROG_TEST_RUN calls */
};

struct cxdpgen_counts {
    uint64_t frames;    /* every frame the sink saw */
    uint64_t bytes;     /* in memory (no FCS) */
    uint64_t generated; /* frames carrying the generator's header */
};

/* Loads the generator for the interface `ifindex` (in the calling thread's network namespace).
   Source ports: sport_base + (seq * stride + offset) % flows. Returns 0 or -errno, a message in err. */
int cxdpgen_open(struct cxdpgen **out, int ifindex, uint32_t flows, uint32_t stride, uint32_t offset,
                 uint16_t sport_base, uint32_t batch, char *err, size_t errlen);
/* Sends for `seconds` at `rate` frames/s (0: as fast as it goes), templates mixed by weight.
   The sequence number continues across calls. Returns 0 or -errno. */
int cxdpgen_send(struct cxdpgen *g, const struct cxdpgen_template *t, int ntemplates, double rate, double seconds,
                 struct cxdpgen_result *r, char *err, size_t errlen);
void cxdpgen_close(struct cxdpgen *g);

/* Loads the sink counter and attaches it to `ifname` inside the network namespace at
   `netns_path` (NULL: the calling thread's). Returns 0 or -errno, a message in err. */
int cxdpgen_sink_open(struct cxdpgen_sink **out, const char *netns_path, const char *ifname, char *err, size_t errlen);
/* Sums the per-CPU counters. */
int cxdpgen_sink_read(struct cxdpgen_sink *s, struct cxdpgen_counts *c);
/* Sums the per-CPU delay buckets into `buckets` (CXDPGEN_LATENCY_BUCKETS entries). */
int cxdpgen_sink_latency(struct cxdpgen_sink *s, uint64_t *buckets);
void cxdpgen_sink_close(struct cxdpgen_sink *s);

/* The network namespace's interface index for a name (netns_path NULL: the caller's), or -errno. */
int cxdpgen_ifindex(const char *netns_path, const char *ifname);

#endif
