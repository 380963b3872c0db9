// Software prefetch for FirewallCore, which Swift does not spell. Header only: the functions are
// static inline, so the Swift compiler inlines each into one instruction (prefetcht0 on x86-64,
// prfm pldl1keep on arm64). No OS header, no library: FirewallCore stays portable.
#ifndef CPREFETCH_H
#define CPREFETCH_H

static inline void cprefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }
static inline void cprefetch_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
