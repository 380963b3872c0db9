#ifndef CLINUX_ATOMIC_H
#define CLINUX_ATOMIC_H
/* Atomics on plain memory for Swift code that must not take locks or touch reference counts
 * on the fast path. static inline: Swift inlines them. */
#include <stdint.h>

/* Counters written by the one thread that owns them and read by anyone (statistics).
   Relaxed: plain moves on x86-64, yet no data race. */
static inline void clinux_counter_add(uint64_t *p, uint64_t n) {
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline uint64_t clinux_counter_load(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Flags and generation numbers passed between a control thread and the workers: release on
   store, acquire on load, so what was written before the store is seen after the load. */
static inline void clinux_store_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint64_t clinux_load_acquire(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint64_t clinux_fetch_add(uint64_t *p, uint64_t n) { return __atomic_fetch_add(p, n, __ATOMIC_ACQ_REL); }
/* A spin-wait hint (PAUSE on x86). */
static inline void clinux_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
#endif
