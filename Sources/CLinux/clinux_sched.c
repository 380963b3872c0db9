#define _GNU_SOURCE
#include <sched.h>
#include <pthread.h>
#include "clinux_sched.h"

const int CLINUX_CLONE_NEWNET = CLONE_NEWNET;

int clinux_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int clinux_current_cpu(void) { return sched_getcpu(); }

int clinux_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[n++] = cpu;
    }
    return n;
}

int clinux_setns(int fd, int nstype) { return setns(fd, nstype); }

int clinux_unshare(int flags) { return unshare(flags); }
