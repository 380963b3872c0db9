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

int clinux_setns(int fd, int nstype) { return setns(fd, nstype); }

int clinux_unshare(int flags) { return unshare(flags); }
