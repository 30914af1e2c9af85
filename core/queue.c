/* queue.c -- a fixed-capacity FIFO ring of event pointers. */
#include "queue.h"

#include <stdlib.h>

#include "event.h"

int evt__queue_init(struct evt__queue *q, size_t cap)
{
    q->ring = calloc(cap ? cap : 1, sizeof *q->ring);
    q->cap = cap ? cap : 1;
    q->head = q->count = 0;
    return q->ring ? 0 : -1;
}

void evt__queue_free(struct evt__queue *q)
{
    struct evt_event *e;
    while ((e = evt__queue_pop(q)))
        evt__event_release(e);
    free(q->ring);
    q->ring = NULL;
}

/* head + i wrapped around the ring; i < cap. A compare, not a division:
 * this runs for every event. */
static size_t ring_at(const struct evt__queue *q, size_t i)
{
    size_t at = q->head + i;
    return at >= q->cap ? at - q->cap : at;
}

void evt__queue_push(struct evt__queue *q, struct evt_event *e)
{
    q->ring[ring_at(q, q->count)] = e;
    q->count++;
}

void evt__queue_push_front(struct evt__queue *q, struct evt_event *e)
{
    q->head = (q->head + q->cap - 1) % q->cap;
    q->ring[q->head] = e;
    q->count++;
}

struct evt_event *evt__queue_pop(struct evt__queue *q)
{
    if (q->count == 0)
        return NULL;
    struct evt_event *e = q->ring[q->head];
    q->head = ring_at(q, 1);
    q->count--;
    return e;
}

struct evt_event *evt__queue_remove_first(struct evt__queue *q,
                                          unsigned mask)
{
    for (size_t i = 0; i < q->count; i++) {
        size_t at = (q->head + i) % q->cap;
        struct evt_event *e = q->ring[at];
        if (!(e->kind & mask))
            continue;
        /* Close the gap by shifting the older part forward by one. */
        for (size_t k = i; k > 0; k--)
            q->ring[(q->head + k) % q->cap] = q->ring[(q->head + k - 1) % q->cap];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        return e;
    }
    return NULL;
}
