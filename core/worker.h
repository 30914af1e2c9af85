/* worker.h -- one sink instance's queue and worker thread. */
#ifndef EVT_CORE_WORKER_H
#define EVT_CORE_WORKER_H

#include <stdint.h>

#include "tracker.h"

/* Initialise locks and the queue of h (fields from the config set). */
int evt__sink_init(struct evt_host *h);

/* Start the worker thread. */
int evt__sink_start(struct evt_host *h);

/* Hand e to h under the sink's overflow policy without waiting; takes a
 * new reference when queued, or the caller's when take is not NULL (then
 * *take is set to 1 if it was taken: the caller must not touch e again
 * unless it holds another reference). EVT_OK, EVT_EDROPPED when a drop
 * policy dropped it, or EVT_RETRY when the queue is full under "block":
 * then *ticket holds e's place in line and the caller must, after
 * releasing the dispatch lock, call evt__sink_wait_push. Called under the
 * dispatch lock, so tickets follow seq order. */
int evt__sink_offer(struct evt_host *h, struct evt_event *e,
                    uint64_t *ticket, int *take);

/* Queue e once it is its turn and there is room: 1 when queued, 0 when
 * until_ns (monotonic) passed first; until_ns 0 only tries. */
int evt__sink_wait_push(struct evt_host *h, struct evt_event *e,
                        uint64_t ticket, int64_t until_ns);

/* Ask the worker to drain and flush; wait until deadline_ns (monotonic). */
int evt__sink_flush(struct evt_host *h, int64_t deadline_ns);

/* The same in two steps, so that a tracker can ask every sink before it
 * waits for any: then the sinks drain at the same time, and one that
 * hangs does not use up the deadline of the others. ask returns the
 * ticket to wait for. */
uint64_t evt__sink_flush_ask(struct evt_host *h, int64_t deadline_ns);
int evt__sink_flush_wait(struct evt_host *h, uint64_t ticket,
                         int64_t deadline_ns);

/* Tell the worker to stop at deadline_ns without waiting (evt__sink_stop
 * then waits). A tracker tells every sink first, so that an idle worker
 * is already gone when a hung one has used up the grace period. */
void evt__sink_stop_ask(struct evt_host *h, int64_t deadline_ns);

/* Stop the worker: it drains until deadline_ns; what is left is spilled
 * or dead-lettered. Returns EVT_OK once joined, or EVT_ETIMEDOUT when
 * the sink hung in write(): then h was abandoned to its worker, which
 * frees it when write() returns, and the caller must not touch h. */
int evt__sink_stop(struct evt_host *h, int64_t deadline_ns);

/* Destroy the instance and free h (after a successful stop). */
void evt__sink_free(struct evt_host *h);

/* Copy the counters of h. */
void evt__sink_stats(struct evt_host *h, struct evt_sink_stats *out);

/* Open the spool at the sink's spool path; pending records from an
 * earlier process are delivered before new events. */
int evt__sink_open_spool(struct evt_host *h, char *err, size_t errlen);

#endif
