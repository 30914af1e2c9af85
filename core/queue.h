/* queue.h -- a fixed-capacity FIFO ring of event pointers. Not locked:
 * the owning sink's mutex protects it. */
#ifndef EVT_CORE_QUEUE_H
#define EVT_CORE_QUEUE_H

#include <stddef.h>

struct evt_event;

struct evt__queue {
    struct evt_event **ring;
    size_t cap, head, count;
};

int evt__queue_init(struct evt__queue *q, size_t cap);
void evt__queue_free(struct evt__queue *q);
static inline int evt__queue_full(const struct evt__queue *q)
{
    return q->count == q->cap;
}
/* Callers check evt__queue_full first. */
void evt__queue_push(struct evt__queue *q, struct evt_event *e);
/* Put e back at the head (room is there: it was just popped). */
void evt__queue_push_front(struct evt__queue *q, struct evt_event *e);
/* NULL when empty. */
struct evt_event *evt__queue_pop(struct evt__queue *q);
/* Remove and return the oldest event whose kind is in mask, or NULL. */
struct evt_event *evt__queue_remove_first(struct evt__queue *q,
                                          unsigned mask);

#endif
