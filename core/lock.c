/* lock.c -- the slow paths of lock.h: spin a little, then sleep on the
 * futex. */
#define _GNU_SOURCE /* syscall */
#include "lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A holder keeps the lock for a few hundred instructions at most, so a
 * short spin usually avoids the system calls of sleeping and waking. */
#define SPINS 100

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void evt__lock_wait(struct evt__lock *l)
{
    for (int i = 0; i < SPINS; i++) {
        cpu_relax();
        int free_state = 0;
        if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->state, &free_state, 1,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    /* From here the lock is marked as waited on (2), so that its holder
     * wakes a sleeper when it lets go. */
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
        syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void evt__lock_wake(struct evt__lock *l)
{
    syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
