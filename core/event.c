/* event.c -- pooled, refcounted events. */
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

/* Idle events kept for reuse, unless the tracker sets its own bound (the
 * sum of its queues' capacities: events beyond it cannot be in flight
 * anyway). Buffers grown past BIG_EVENT are never kept. */
#define POOL_KEEP_DEFAULT 4096
#define BIG_EVENT (256u * 1024u)
/* Bytes of idle buffers kept at most, whatever the count: after a burst
 * of large events the memory goes back to the system. */
#define POOL_KEEP_BYTES (32u * 1024u * 1024u)

struct evt__pool {
    pthread_mutex_t mu;
    struct evt_event *free_list;
    size_t nfree;
    size_t outstanding; /* events handed out and not yet back */
    size_t keep;        /* idle events kept at most */
    size_t kept_bytes;  /* buffer bytes of the idle events */
    int orphaned;       /* the tracker let go */
    char *run_id;
};

struct evt__pool *evt__pool_new(const char *run_id)
{
    struct evt__pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->run_id = evt__strdup(run_id);
    p->keep = POOL_KEEP_DEFAULT;
    if (!p->run_id || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->run_id);
        free(p);
        return NULL;
    }
    return p;
}

static void pool_free(struct evt__pool *p)
{
    struct evt_event *e = p->free_list;
    while (e) {
        struct evt_event *next = e->next_free;
        free(e->buf);
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&p->mu);
    free(p->run_id);
    free(p);
}

void evt__pool_set_keep(struct evt__pool *p, size_t keep)
{
    pthread_mutex_lock(&p->mu);
    p->keep = keep;
    pthread_mutex_unlock(&p->mu);
}

void evt__pool_release(struct evt__pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->orphaned = 1;
    int done = p->outstanding == 0;
    pthread_mutex_unlock(&p->mu);
    if (done)
        pool_free(p);
}

struct evt_event *evt__event_get(struct evt__pool *p)
{
    pthread_mutex_lock(&p->mu);
    struct evt_event *e = p->free_list;
    if (e) {
        p->free_list = e->next_free;
        p->nfree--;
        p->kept_bytes -= e->cap;
    }
    p->outstanding++;
    pthread_mutex_unlock(&p->mu);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) {
            pthread_mutex_lock(&p->mu);
            p->outstanding--;
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        e->pool = p;
        e->run_id = p->run_id;
    }
    atomic_store_explicit(&e->refs, 1, memory_order_relaxed);
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

int evt__event_grow(struct evt_event *e, size_t extra)
{
    size_t need = e->len + extra;
    size_t cap = e->cap ? e->cap : 512;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *nb = realloc(e->buf, cap);
    if (!nb)
        return -1;
    e->buf = nb;
    e->cap = cap;
    return 0;
}

void evt__event_retain(const struct evt_event *e)
{
    struct evt_event *m = (struct evt_event *)e;
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* Reset an event whose last reference is gone. */
static void recycle(struct evt_event *e)
{
    free(e->own_run_id);
    e->own_run_id = NULL;
    e->run_id = e->pool->run_id;
    if (e->cap > BIG_EVENT) { /* do not pin a burst's memory */
        free(e->buf);
        e->buf = NULL;
        e->cap = 0;
    }
}

static int last_ref(const struct evt_event *ce)
{
    struct evt_event *e = (struct evt_event *)ce;
    return atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1;
}

/* Return dead events to their pool (chain linked by next_free). */
static void give_back(struct evt__pool *p, struct evt_event *chain, size_t n)
{
    pthread_mutex_lock(&p->mu);
    p->outstanding -= n;
    struct evt_event *drop = NULL;
    while (chain) {
        struct evt_event *e = chain;
        chain = e->next_free;
        if (!p->orphaned && p->nfree < p->keep) {
            if (p->kept_bytes + e->cap > POOL_KEEP_BYTES) {
                free(e->buf); /* keep the event, not its memory */
                e->buf = NULL;
                e->cap = 0;
            }
            p->kept_bytes += e->cap;
            e->next_free = p->free_list;
            p->free_list = e;
            p->nfree++;
        } else {
            e->next_free = drop;
            drop = e;
        }
    }
    int done = p->orphaned && p->outstanding == 0;
    pthread_mutex_unlock(&p->mu);
    while (drop) {
        struct evt_event *e = drop;
        drop = e->next_free;
        free(e->buf);
        free(e);
    }
    if (done)
        pool_free(p);
}

void evt__event_release(const struct evt_event *ce)
{
    struct evt_event *e = (struct evt_event *)ce;
    if (!last_ref(ce))
        return;
    recycle(e);
    e->next_free = NULL;
    give_back(e->pool, e, 1);
}

void evt__event_release_many(struct evt_event *const *ev, size_t n)
{
    struct evt_event *chain = NULL;
    size_t dead = 0;
    for (size_t i = 0; i < n; i++) {
        if (!last_ref(ev[i]))
            continue;
        recycle(ev[i]);
        ev[i]->next_free = chain;
        chain = ev[i];
        dead++;
    }
    if (dead)
        give_back(chain->pool, chain, dead);
}

static const char *const kind_names[] = {
    "run_start", "task_config", "sample", "result", "scalar", "run_end"};

const char *evt__kind_name(uint32_t kind)
{
    for (unsigned i = 0; i < 6; i++)
        if (kind == (1u << i))
            return kind_names[i];
    return NULL;
}

uint32_t evt__kind_from_name(const char *name)
{
    for (unsigned i = 0; i < 6; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return 1u << i;
    return 0;
}

int64_t evt__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t evt__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
