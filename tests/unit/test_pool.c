/* test_pool.c -- the futex lock of the per-event paths and the sharded
 * event pool: mutual exclusion under contention, sleepers woken, events
 * going back to the shard of the thread that took them, an empty shard
 * stealing before it allocates, and a pool outliving its tracker until its
 * last event is back (leaks show under ASan and valgrind). */
#include "rel_helpers.h" /* first: it sets the feature macros; rh_scaled */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "event.h"
#include "lock.h"

/* ---- the lock ------------------------------------------------------------*/

#define THREADS 4

static struct evt__lock lock;
static long counter; /* plain: only the lock protects it */
static long rounds;

static void *add_under_lock(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        evt__lock_acquire(&lock);
        long v = counter;
        if ((i & 1023) == 0)
            sched_yield(); /* let another thread find the lock taken */
        counter = v + 1;
        evt__lock_release(&lock);
    }
    return NULL;
}

/* Four threads increment a plain counter under the lock, yielding inside
 * it now and then so that others spin and sleep on it: no increment may
 * be lost. */
static void test_lock_excludes(void **state)
{
    (void)state;
    evt__lock_init(&lock);
    counter = 0;
    rounds = rh_scaled(200000, 5000);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, add_under_lock, NULL),
                         0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(counter, THREADS * rounds);
    assert_int_equal(atomic_load(&lock.state), 0);
}

static atomic_int waiter_has_it;

static void *take_then_mark(void *arg)
{
    (void)arg;
    evt__lock_acquire(&lock);
    atomic_store(&waiter_has_it, 1);
    evt__lock_release(&lock);
    return NULL;
}

/* A waiter that finds the lock held long enough goes to sleep (state 2:
 * "waited on"); the release wakes it and it takes the lock. */
static void test_lock_wakes_sleeper(void **state)
{
    (void)state;
    evt__lock_init(&lock);
    atomic_store(&waiter_has_it, 0);
    evt__lock_acquire(&lock);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_then_mark, NULL), 0);
    for (int i = 0; i < 2000 && atomic_load(&lock.state) != 2; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(atomic_load(&lock.state), 2); /* it sleeps */
    assert_int_equal(atomic_load(&waiter_has_it), 0);
    evt__lock_release(&lock);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&waiter_has_it), 1);
    assert_int_equal(atomic_load(&lock.state), 0);
}

/* ---- the pool ------------------------------------------------------------*/

#define BATCH 64

struct taker {
    struct evt__pool *pool;
    struct evt_event *got[BATCH];
};

static void *take_batch(void *arg)
{
    struct taker *tk = arg;
    for (int i = 0; i < BATCH; i++) {
        tk->got[i] = evt__event_get(tk->pool);
        assert_non_null(tk->got[i]);
    }
    return NULL;
}

static int taken_by(struct evt_event *e, struct evt_event *const *v,
                    size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == e)
            return 1;
    return 0;
}

/* An event given back by another thread (a sink's worker) returns to the
 * shard of the thread that took it: that thread gets the same events
 * again, a fresh thread (another shard) steals them instead of allocating,
 * and every event comes back reset. */
static void test_pool_shards_and_steal(void **state)
{
    (void)state;
    struct evt__pool *p = evt__pool_new("run-1");
    assert_non_null(p);
    struct taker a = {p, {0}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, take_batch, &a), 0);
    pthread_join(th, NULL);
    for (int i = 0; i < BATCH; i++) { /* dirty them, as a builder would */
        struct evt_event *e = a.got[i];
        assert_int_equal(evt__event_reserve(e, 100), 0);
        memset(e->buf, 'x', 100);
        e->len = 100;
        e->kind = EVT_EV_SAMPLE;
        e->seq = 7;
        e->has_step = 1;
    }
    /* This thread plays the worker: it drops the last references. */
    evt__event_release_many(a.got, BATCH);

    /* A new thread has a new (empty) shard: it steals a's events. */
    struct taker b = {p, {0}};
    assert_int_equal(pthread_create(&th, NULL, take_batch, &b), 0);
    pthread_join(th, NULL);
    size_t reused = 0;
    for (int i = 0; i < BATCH; i++) {
        struct evt_event *e = b.got[i];
        reused += (size_t)taken_by(e, a.got, BATCH);
        assert_int_equal(atomic_load(&e->refs), 1);
        assert_int_equal(e->len, 0);
        assert_int_equal(e->kind, 0);
        assert_int_equal(e->seq, 0);
        assert_int_equal(e->has_step, 0);
        assert_string_equal(e->run_id, "run-1");
    }
    assert_int_equal(reused, BATCH); /* stolen, none allocated */

    /* Another thread's events stay out of this thread's shard while that
     * shard has its own: this thread takes from its shard only. */
    struct evt_event *mine[BATCH];
    for (int i = 0; i < BATCH; i++)
        assert_non_null(mine[i] = evt__event_get(p));
    evt__event_release_many(mine, BATCH);
    evt__event_release_many(b.got, BATCH); /* back to b's shard */
    for (int i = 0; i < BATCH; i++) {
        struct evt_event *e = evt__event_get(p);
        assert_true(taken_by(e, mine, BATCH));
        evt__event_release(e); /* the next get takes it again */
    }
    evt__pool_release(p); /* frees every idle event and the pool */
}

/* The tracker lets go of its pool while events are still out (held by a
 * sink that outlives the tracker): the pool lives until the last one is
 * back, and is then freed (ASan and valgrind see no leak). */
static void test_pool_outlives_tracker(void **state)
{
    (void)state;
    struct evt__pool *p = evt__pool_new("run-2");
    assert_non_null(p);
    struct evt_event *out[3];
    for (int i = 0; i < 3; i++)
        assert_non_null(out[i] = evt__event_get(p));
    evt__event_retain(out[2]); /* a second holder */
    evt__event_release(out[0]);  /* idle before the tracker lets go */
    evt__pool_release(p);        /* the tracker is gone */
    assert_string_equal(out[1]->run_id, "run-2"); /* still usable */
    evt__event_release(out[1]);
    evt__event_release(out[2]);
    assert_string_equal(out[2]->run_id, "run-2");
    evt__event_release(out[2]); /* the last: the pool goes with it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_excludes),
        cmocka_unit_test(test_lock_wakes_sleeper),
        cmocka_unit_test(test_pool_shards_and_steal),
        cmocka_unit_test(test_pool_outlives_tracker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
