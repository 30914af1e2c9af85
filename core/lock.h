/* lock.h -- the mutex of the per-event paths (event pool, dispatch).
 *
 * Every logged event takes the pool's lock and the dispatch lock; with
 * pthread_mutex that cost about 80 instructions per lock/unlock pair in
 * glibc, a tenth of the caller's budget. This is the three-state futex
 * mutex of Drepper's "Futexes Are Tricky" (0 free, 1 locked, 2 locked and
 * maybe waited on): taking a free lock and releasing a lock nobody waits
 * for are one atomic instruction each, inline. A waiter spins briefly,
 * then sleeps in the kernel. No condition variables: paths that need one
 * keep pthread_mutex. */
#ifndef EVT_CORE_LOCK_H
#define EVT_CORE_LOCK_H

#include <stdatomic.h>

struct evt__lock {
    atomic_int state;
};

void evt__lock_wait(struct evt__lock *l);
void evt__lock_wake(struct evt__lock *l);

static inline void evt__lock_init(struct evt__lock *l)
{
    atomic_init(&l->state, 0);
}

static inline void evt__lock_acquire(struct evt__lock *l)
{
    int free_state = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->state, &free_state, 1,
                                                 memory_order_acquire,
                                                 memory_order_relaxed))
        evt__lock_wait(l);
}

static inline void evt__lock_release(struct evt__lock *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2)
        evt__lock_wake(l);
}

#endif
