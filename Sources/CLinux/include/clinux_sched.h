#ifndef CLINUX_SCHED_H
#define CLINUX_SCHED_H
#include <sys/types.h>

/* CPU affinity and namespace entry: macros and GNU-only prototypes that
   Swift's Glibc module does not expose. */
int clinux_pin_current_thread(int cpu);
int clinux_current_cpu(void);
/* The CPUs this process may run on, ascending, at most `capacity`: how many, or -1. */
int clinux_allowed_cpus(int *cpus, int capacity);
int clinux_setns(int fd, int nstype);
int clinux_unshare(int flags);
extern const int CLINUX_CLONE_NEWNET;

#endif
