/* event.h -- the event object shared by all sinks, and its pool.
 *
 * An event is one msgpack map (docs/EVENTS.md) encoded once on the
 * producer's thread, then shared read-only by every sink that wants its
 * kind, by reference count. Events come from a pool so that steady-state
 * logging performs no heap allocation. */
#ifndef EVT_CORE_EVENT_H
#define EVT_CORE_EVENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "evtrack/sink.h"

struct evt__pool;

struct evt_event {
    atomic_uint refs;
    uint32_t kind;
    uint64_t seq;
    int64_t time_ns;
    int64_t step;
    int has_step;
    size_t seq_off; /* where the 8 big-endian seq bytes sit in buf */
    const char *run_id;
    char *own_run_id; /* set for events read back from a spool */
    unsigned char *buf;
    size_t len, cap;
    struct evt_event *next_free;
    struct evt__pool *pool;
    unsigned shard; /* of the pool, where it goes back */
};

/* A pool of reusable events for one tracker. run_id is copied. */
struct evt__pool *evt__pool_new(const char *run_id);

/* At most keep idle events are kept for reuse. */
void evt__pool_set_keep(struct evt__pool *p, size_t keep);

/* Drop the tracker's reference; the pool is freed once every event taken
 * from it came back. */
void evt__pool_release(struct evt__pool *p);

/* Give back a chain of dead events (linked by next_free) of pool p. */
void evt__pool_put(struct evt__pool *p, struct evt_event *chain);

/* An empty event with refs == 1, or NULL on OOM. */
struct evt_event *evt__event_get(struct evt__pool *p);

/* Grow the buffer to hold extra more bytes; 0 or -1 on OOM. */
int evt__event_grow(struct evt_event *e, size_t extra);

/* Ensure room for extra more bytes; 0 or -1 on OOM. Inline: the builder
 * calls it for every value. */
static inline int evt__event_reserve(struct evt_event *e, size_t extra)
{
    return e->cap - e->len >= extra ? 0 : evt__event_grow(e, extra);
}

void evt__event_retain(const struct evt_event *e);

/* Release n events with one lock of their pool (a worker's batch; all
 * from the same pool). */
void evt__event_release_many(struct evt_event *const *ev, size_t n);
void evt__event_release(const struct evt_event *e);

/* 0..5 for one kind bit (its position). */
static inline unsigned evt__kind_index(uint32_t kind)
{
    return (unsigned)__builtin_ctz(kind);
}

/* 1 when kind is exactly one known kind bit. */
static inline int evt__kind_valid(uint32_t kind)
{
    return kind != 0 && (kind & (kind - 1)) == 0 && kind < (1u << 6);
}

/* Name of one kind bit ("sample"), NULL if not exactly one known bit. */
const char *evt__kind_name(uint32_t kind);

/* Kind bit from a name, 0 if unknown. */
uint32_t evt__kind_from_name(const char *name);

/* Wall clock in Unix ns, and CLOCK_MONOTONIC in ns. */
int64_t evt__now_ns(void);
int64_t evt__mono_ns(void);

#endif
