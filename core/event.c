/* event.c -- refcounted events (their pool: pool.c). */
#include "event.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

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

static int last_ref(const struct evt_event *ce)
{
    struct evt_event *e = (struct evt_event *)ce;
    return atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1;
}

void evt__event_release(const struct evt_event *ce)
{
    struct evt_event *e = (struct evt_event *)ce;
    if (!last_ref(ce))
        return;
    e->next_free = NULL;
    evt__pool_put(e->pool, e);
}

void evt__event_release_many(struct evt_event *const *ev, size_t n)
{
    struct evt_event *chain = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!last_ref(ev[i]))
            continue;
        ev[i]->next_free = chain;
        chain = ev[i];
    }
    if (chain)
        evt__pool_put(chain->pool, chain);
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
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t evt__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
