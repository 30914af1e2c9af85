/* pool.c -- the events of one tracker, reused so that steady logging
 * allocates nothing.
 *
 * The pool is split in shards, one per producer thread (threads share a
 * shard only past POOL_SHARDS of them): an event goes back to the shard
 * of the thread that took it, so its buffer is reused by the same thread,
 * from that core's cache, and two producers never take the same lock or
 * write the same memory to get an event. (One shared free list made two
 * producers on two cores each pay for the other's cache lines: 290 ns per
 * event instead of 150.)
 *
 * The pool lives as long as its events: it holds one reference per event
 * allocated and one for the tracker, and is freed by whoever drops the
 * last. Handing events out and taking them back touches no shared
 * counter. */
#include <stdatomic.h>
#include <stdlib.h>

#include "event.h"
#include "lock.h"
#include "strbuf.h"

#define POOL_SHARDS 8
/* Idle events a shard keeps, unless the tracker sets its own bound (the
 * sum of its queues' capacities: events beyond it cannot be in flight
 * anyway). Buffers grown past BIG_EVENT are never kept. */
#define POOL_KEEP_DEFAULT 4096
#define BIG_EVENT (256u * 1024u)
/* Bytes of idle buffers a shard keeps at most, whatever the count: after
 * a burst of large events the memory goes back to the system. */
#define POOL_KEEP_BYTES (32u * 1024u * 1024u)

struct shard {
    _Alignas(64) struct evt__lock mu;
    struct evt_event *free_list;
    atomic_size_t nfree; /* written under mu; read without it as a hint */
    size_t kept_bytes;   /* buffer bytes of the idle events */
};

struct evt__pool {
    struct shard shards[POOL_SHARDS];
    atomic_size_t refs; /* events allocated and not freed, + 1 if open */
    atomic_int orphaned; /* the tracker let go: nothing is kept any more */
    atomic_size_t keep; /* idle events kept per shard at most */
    char *run_id;
};

static size_t nfree_of(struct shard *s)
{
    return atomic_load_explicit(&s->nfree, memory_order_relaxed);
}

static void set_nfree(struct shard *s, size_t n)
{
    atomic_store_explicit(&s->nfree, n, memory_order_relaxed);
}

static void put_shard(struct evt__pool *p, struct shard *s,
                      struct evt_event *chain);

static atomic_uint next_shard;
static _Thread_local unsigned my_shard_plus1;

/* The calling thread's shard, given out round-robin on first use. */
static unsigned my_shard(void)
{
    if (!my_shard_plus1)
        my_shard_plus1 = 1 + atomic_fetch_add_explicit(&next_shard, 1,
                                                       memory_order_relaxed) %
                                 POOL_SHARDS;
    return my_shard_plus1 - 1;
}

struct evt__pool *evt__pool_new(const char *run_id)
{
    struct evt__pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->run_id = evt__strdup(run_id);
    if (!p->run_id) {
        free(p);
        return NULL;
    }
    for (unsigned i = 0; i < POOL_SHARDS; i++) {
        evt__lock_init(&p->shards[i].mu);
        atomic_init(&p->shards[i].nfree, 0);
    }
    atomic_init(&p->refs, 1);
    atomic_init(&p->orphaned, 0);
    atomic_init(&p->keep, POOL_KEEP_DEFAULT);
    return p;
}

static void pool_unref(struct evt__pool *p, size_t n)
{
    if (n && atomic_fetch_sub_explicit(&p->refs, n, memory_order_acq_rel) == n) {
        free(p->run_id);
        free(p);
    }
}

/* Free a chain of n events (linked by next_free) and their references. */
static void free_chain(struct evt__pool *p, struct evt_event *e, size_t n)
{
    while (e) {
        struct evt_event *next = e->next_free;
        free(e->own_run_id);
        free(e->buf);
        free(e);
        e = next;
    }
    pool_unref(p, n);
}

void evt__pool_set_keep(struct evt__pool *p, size_t keep)
{
    atomic_store_explicit(&p->keep, keep, memory_order_relaxed);
}

void evt__pool_release(struct evt__pool *p)
{
    if (!p)
        return;
    atomic_store(&p->orphaned, 1);
    /* A shard's lock orders this with evt__pool_put: an event put back
     * before is freed here, one put back after sees orphaned. */
    for (unsigned i = 0; i < POOL_SHARDS; i++) {
        struct shard *s = &p->shards[i];
        evt__lock_acquire(&s->mu);
        struct evt_event *idle = s->free_list;
        size_t n = nfree_of(s);
        s->free_list = NULL;
        set_nfree(s, 0);
        s->kept_bytes = 0;
        evt__lock_release(&s->mu);
        free_chain(p, idle, n);
    }
    pool_unref(p, 1);
}

/* Ask for the lines of an idle event for writing (NULL: none). An event
 * comes back from a sink's worker, which wrote its refs and next_free on
 * the other core; moving a line between the two vCPUs cost 27-250 ns
 * (bench_handoff), and the builder stalled on it at every evt_begin: 280-
 * 300 ns per event with a null sink against 160 without one. Fetched two
 * takes ahead, the transfer overlaps the building of the events before. */
static inline void prefetch_event(const struct evt_event *e)
{
    if (e) { /* the struct spans two or three lines */
        __builtin_prefetch(e, 1, 3);
        __builtin_prefetch((const char *)e + 64, 1, 3);
        __builtin_prefetch((const char *)(e + 1) - 1, 1, 3);
    }
}

/* Take up to max idle events from s (linked by next_free). */
static struct evt_event *take(struct shard *s, size_t max)
{
    evt__lock_acquire(&s->mu);
    struct evt_event *first = s->free_list, *e = NULL;
    size_t n = 0;
    for (struct evt_event *it = first; it && n < max; it = it->next_free) {
        s->kept_bytes -= it->cap;
        e = it;
        n++;
    }
    if (e) {
        s->free_list = e->next_free;
        e->next_free = NULL;
        set_nfree(s, nfree_of(s) - n);
        struct evt_event *next = s->free_list;
        if (next) { /* one ahead is too close: a transfer outlasts an event */
            prefetch_event(next);
            prefetch_event(next->next_free);
        }
    }
    evt__lock_release(&s->mu);
    return n ? first : NULL;
}

/* The shard of this thread is empty: take a few idle events from another
 * before allocating, so that the pool as a whole, not each shard, grows to
 * the number of events in flight. The rest of the batch goes to the
 * thread's own shard. */
static struct evt_event *steal(struct evt__pool *p, unsigned mine)
{
    for (unsigned k = 1; k < POOL_SHARDS; k++) {
        struct shard *s = &p->shards[(mine + k) % POOL_SHARDS];
        struct evt_event *got;
        if (nfree_of(s) == 0 || !(got = take(s, 32)))
            continue;
        struct evt_event *rest = got->next_free;
        got->next_free = NULL;
        if (rest)
            put_shard(p, &p->shards[mine], rest);
        return got;
    }
    return NULL;
}

struct evt_event *evt__event_get(struct evt__pool *p)
{
    unsigned i = my_shard();
    struct evt_event *e = take(&p->shards[i], 1);
    if (!e)
        e = steal(p, i);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            return NULL;
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
        e->pool = p;
    }
    atomic_store_explicit(&e->refs, 1, memory_order_relaxed);
    e->shard = i;
    e->run_id = p->run_id;
    e->kind = 0;
    e->seq = 0;
    e->time_ns = 0;
    e->step = 0;
    e->has_step = 0;
    e->seq_off = 0;
    e->len = 0;
    e->next_free = NULL;
    return e;
}

/* Make a dead event ready for reuse. */
static void recycle(struct evt_event *e)
{
    free(e->own_run_id);
    e->own_run_id = NULL;
    if (e->cap > BIG_EVENT) { /* do not pin a burst's memory */
        free(e->buf);
        e->buf = NULL;
        e->cap = 0;
    }
}

/* Put a chain of events of one shard back; what the shard cannot keep is
 * freed. */
static void put_shard(struct evt__pool *p, struct shard *s,
                      struct evt_event *chain)
{
    struct evt_event *drop = NULL;
    size_t ndrop = 0, keep = atomic_load_explicit(&p->keep,
                                                  memory_order_relaxed);
    evt__lock_acquire(&s->mu);
    int orphaned = atomic_load_explicit(&p->orphaned, memory_order_relaxed);
    while (chain) {
        struct evt_event *e = chain;
        chain = e->next_free;
        if (!orphaned && nfree_of(s) < keep) {
            if (s->kept_bytes + e->cap > POOL_KEEP_BYTES) {
                free(e->buf); /* keep the event, not its memory */
                e->buf = NULL;
                e->cap = 0;
            }
            s->kept_bytes += e->cap;
            e->next_free = s->free_list;
            s->free_list = e;
            set_nfree(s, nfree_of(s) + 1);
        } else {
            e->next_free = drop;
            drop = e;
            ndrop++;
        }
    }
    evt__lock_release(&s->mu);
    free_chain(p, drop, ndrop);
}

void evt__pool_put(struct evt__pool *p, struct evt_event *chain)
{
    unsigned first = chain->shard;
    int mixed = 0;
    for (struct evt_event *e = chain; e; e = e->next_free) {
        recycle(e);
        mixed |= e->shard != first;
    }
    if (!mixed) { /* one event, or a worker's batch of one producer's */
        put_shard(p, &p->shards[first], chain);
        return;
    }
    struct evt_event *by_shard[POOL_SHARDS] = {0};
    while (chain) {
        struct evt_event *e = chain;
        chain = e->next_free;
        e->next_free = by_shard[e->shard];
        by_shard[e->shard] = e;
    }
    for (unsigned i = 0; i < POOL_SHARDS; i++)
        if (by_shard[i])
            put_shard(p, &p->shards[i], by_shard[i]);
}
