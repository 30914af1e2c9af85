/* worker.c -- one sink instance: bounded queue, worker thread, retries
 * with backoff, spill to the spool, dead letters.
 *
 * Locking: h->mu guards the queue, the flags, the counters and both spool
 * files. write() and flush() of the plugin run on the worker thread with
 * h->mu released, so producers never wait for a sink's I/O unless its
 * queue is full under the "block" policy. */
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "config.h"
#include "mpcheck.h"
#include "scrub.h"
#include "strbuf.h"

enum outcome { DELIVERED, DEAD_LETTERED, PARKED };

/* ---- spool records: an event with its header ------------------------------*/

#define REC_HDR 32 /* u8 ver, u8 has_step, u16 run_id len, u32 kind,
                      u64 seq, i64 time_ns, i64 step */

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int append_event(struct evt__spool *s, const struct evt_event *e,
                        char *err, size_t errlen)
{
    /* No token reaches evtrack's own files: a copy of the event with
     * them replaced is kept instead (scrub.h). */
    int failed;
    size_t blen = e->len;
    unsigned char *clean = evt__scrub_msgpack(e->buf, e->len, &blen,
                                              &failed);
    const unsigned char *body = clean ? clean : e->buf;
    if (!clean)
        blen = e->len;
    size_t rl = strlen(e->run_id);
    size_t n = REC_HDR + rl + blen;
    unsigned char *rec = malloc(n);
    if (!rec || failed) {
        free(rec);
        free(clean);
        return evt__err(err, errlen, failed ? EVT_EIO : EVT_ENOMEM,
                        failed ? "cannot remove a token from the event "
                                 "(out of memory or bad msgpack)"
                               : "out of memory");
    }
    rec[0] = 1;
    rec[1] = (unsigned char)e->has_step;
    put_le(rec + 2, rl, 2);
    put_le(rec + 4, e->kind, 4);
    put_le(rec + 8, e->seq, 8);
    put_le(rec + 16, (uint64_t)e->time_ns, 8);
    put_le(rec + 24, (uint64_t)e->step, 8);
    memcpy(rec + REC_HDR, e->run_id, rl);
    memcpy(rec + REC_HDR + rl, body, blen);
    int rc = evt__spool_append(s, rec, n, err, errlen);
    free(rec);
    free(clean);
    return rc;
}

/* Rebuild an event from a spool record; NULL if malformed or OOM. A
 * record whose CRC holds may still not be an event (a file written by
 * something else): sinks are only given one known kind and one valid map,
 * as for the events the builder makes (they take an undecodable event for
 * a lack of memory and retry it). */
static struct evt_event *event_from_record(struct evt__pool *pool,
                                           const unsigned char *r, size_t n)
{
    if (n < REC_HDR || r[0] != 1)
        return NULL;
    size_t rl = (size_t)get_le(r + 2, 2);
    if (REC_HDR + rl > n || !evt__kind_name((uint32_t)get_le(r + 4, 4)) ||
        evt__mp_check_event(r + REC_HDR + rl, n - REC_HDR - rl, NULL, 0))
        return NULL;
    struct evt_event *e = evt__event_get(pool);
    if (!e)
        return NULL;
    e->has_step = r[1] != 0;
    e->kind = (uint32_t)get_le(r + 4, 4);
    e->seq = get_le(r + 8, 8);
    e->time_ns = (int64_t)get_le(r + 16, 8);
    e->step = (int64_t)get_le(r + 24, 8);
    e->own_run_id = malloc(rl + 1);
    size_t body = n - REC_HDR - rl;
    if (!e->own_run_id || evt__event_reserve(e, body)) {
        evt__event_release(e);
        return NULL;
    }
    memcpy(e->own_run_id, r + REC_HDR, rl);
    e->own_run_id[rl] = '\0';
    e->run_id = e->own_run_id;
    memcpy(e->buf, r + REC_HDR + rl, body);
    e->len = body;
    return e;
}

/* ---- time ---------------------------------------------------------------------*/

static struct timespec abs_mono(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    return ts;
}

/* Wait on cv until deadline_ns (monotonic); returns ETIMEDOUT or 0. */
static int wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                      int64_t deadline_ns)
{
    struct timespec ts = abs_mono(deadline_ns);
    return pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- init -----------------------------------------------------------------------*/

int evt__sink_init(struct evt_host *h)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC))
        return EVT_ENOMEM;
    int bad = pthread_mutex_init(&h->mu, NULL) ||
              pthread_cond_init(&h->wake, &ca) ||
              pthread_cond_init(&h->not_full, &ca) ||
              pthread_cond_init(&h->changed, &ca);
    pthread_condattr_destroy(&ca);
    if (bad || evt__queue_init(&h->q, h->max_events))
        return EVT_ENOMEM;
    h->rng = (uint64_t)evt__mono_ns() ^ (uint64_t)(uintptr_t)h;
    return EVT_OK;
}

int evt__sink_open_spool(struct evt_host *h, char *err, size_t errlen)
{
    struct evt__spool_recovery rec;
    int rc = evt__spool_open(h->spool_path, EVT_SPOOL_SYNC_NONE, &h->spool,
                             &rec, err, errlen);
    if (rc)
        return rc;
    if (rec.truncated_bytes)
        evt__host_log(h, EVT_LOG_WARN,
                      "spool %s: dropped a torn tail of %llu bytes",
                      h->spool_path, (unsigned long long)rec.truncated_bytes);
    if (rec.pending) {
        h->spilling = 1; /* older events go first */
        evt__host_log(h, EVT_LOG_INFO,
                      "spool %s: %llu events from an earlier run will be "
                      "delivered first",
                      h->spool_path, (unsigned long long)rec.pending);
    }
    return EVT_OK;
}

/* ---- dead letters -------------------------------------------------------------*/

/* Append events to the dead-letter file (under h->mu). */
static void dead_letter(struct evt_host *h, struct evt_event *const *ev,
                        size_t n)
{
    char err[256];
    if (n == 0) /* all of a batch was handled (api->batch_done) */
        return;
    if (!h->dlq &&
        evt__spool_open(h->dlq_path, EVT_SPOOL_SYNC_NONE, &h->dlq, NULL, err,
                        sizeof err) != EVT_OK) {
        h->dropped += n;
        evt__host_log(h, EVT_LOG_ERROR, "%zu events lost: %s", n, err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (append_event(h->dlq, ev[i], err, sizeof err) == EVT_OK) {
            h->dead_lettered++;
        } else {
            h->dropped++;
            evt__host_log(h, EVT_LOG_ERROR, "event lost: %s", err);
        }
    }
    if (h->dlq_sync && evt__spool_sync(h->dlq) != EVT_OK)
        evt__host_log(h, EVT_LOG_ERROR, "%s: fdatasync failed",
                      h->dlq_path);
}

/* Put events back to disk at close: the spool when the sink has one (so
 * they are delivered on the next open or by replay), else dead letters. */
static void park(struct evt_host *h, struct evt_event *const *ev, size_t n)
{
    char err[256];
    for (size_t i = 0; i < n; i++) {
        if (h->spool && append_event(h->spool, ev[i], err, sizeof err) == 0)
            h->spilled++;
        else
            dead_letter(h, &ev[i], 1);
    }
}

/* ---- events a holding sink has not saved yet ----------------------------------
 * An EVT_SINK_F_HOLDS sink (local-json) acknowledges events it only keeps
 * in memory until a flush saves them. Its worker keeps those events
 * (their references move from the batch to h->held) until the sink's next
 * successful flush. A failed flush (reported to its caller) keeps them:
 * the sink still has them and a later flush may save them. They go to the
 * dead-letter file, ahead of anything newer so that replay sees every
 * event in order, when the sink gives up on a later batch, when the
 * worker's own flush fails as it exits (after close's flush), and when
 * HOLD_MAX are kept and the flush the worker then makes fails (memory
 * stays bounded). */
#define HOLD_MAX 8192

/* Release the held events (under h->mu). */
static void held_release(struct evt_host *h)
{
    evt__event_release_many(h->held, h->held_n);
    h->held_n = 0;
}

/* The held events to the dead-letter file, then released (under h->mu).
 * They count as dead letters now, no longer as written. */
static void held_dead_letter(struct evt_host *h, const char *why)
{
    if (!h->held_n)
        return;
    evt__host_log(h, EVT_LOG_WARN, "%s: the %zu events it acknowledged "
                  "since its last save go to %s", why, h->held_n,
                  h->dlq_path);
    h->written -= h->held_n;
    dead_letter(h, h->held, h->held_n);
    held_release(h);
}

/* Move the delivered batch into h->held (under h->mu). On OOM the events
 * are only released, as without the flag, and that is said once. */
static void held_take_batch(struct evt_host *h)
{
    if (h->held_n + h->batch_n > h->held_cap) {
        size_t cap = h->held_cap ? h->held_cap : 1024;
        while (cap < h->held_n + h->batch_n)
            cap *= 2;
        struct evt_event **v = realloc(h->held, cap * sizeof *v);
        if (!v) {
            evt__host_log(h, EVT_LOG_ERROR, "out of memory: %zu events "
                          "it acknowledged are kept by the sink only",
                          h->batch_n);
            evt__event_release_many(h->batch, h->batch_n);
            h->batch_n = 0;
            return;
        }
        h->held = v;
        h->held_cap = cap;
    }
    memcpy(h->held + h->held_n, h->batch, h->batch_n * sizeof *h->batch);
    h->held_n += h->batch_n;
    h->batch_n = 0;
}

/* Flush a holding sink that keeps HOLD_MAX events, or any it keeps when
 * the worker is about to exit (under h->mu, released around flush()). */
static void held_flush(struct evt_host *h)
{
    if (!h->held_n)
        return;
    int rc = EVT_ERROR;
    if (h->enabled && h->plugin.vt.flush) {
        pthread_mutex_unlock(&h->mu);
        rc = h->plugin.vt.flush(h->instance, evt__mono_ns() +
                                                 60 * 1000000000LL);
        pthread_mutex_lock(&h->mu);
    }
    if (atomic_load(&h->abandoned))
        return;
    if (rc == EVT_OK)
        held_release(h);
    else
        held_dead_letter(h, "its flush failed");
}

/* ---- the worker -----------------------------------------------------------------*/

static int spool_has_work(struct evt_host *h)
{
    return h->spool && h->spilling && evt__spool_pending(h->spool) > 0;
}

static int past_stop_deadline(struct evt_host *h)
{
    return h->stop && evt__mono_ns() >= h->stop_deadline_ns;
}

/* The spool cannot be read past a bad record: keep the file as
 * <path>.corrupt for inspection, start a fresh one and go back to the
 * queue (under h->mu). Flush then reports EVT_EIO. */
static void set_spool_aside(struct evt_host *h)
{
    char *aside = evt__asprintf("%s.corrupt", h->spool_path);
    char err[256];
    evt__spool_close(h->spool);
    h->spool = NULL;
    h->spilling = 0;
    h->spool_failed = 1;
    if (aside && rename(h->spool_path, aside) == 0)
        evt__host_log(h, EVT_LOG_ERROR, "spool %s could not be read on; its "
                      "undelivered events were kept in %s", h->spool_path,
                      aside);
    else
        evt__host_log(h, EVT_LOG_ERROR, "spool %s could not be read on and "
                      "could not be set aside", h->spool_path);
    free(aside);
    if (evt__spool_open(h->spool_path, EVT_SPOOL_SYNC_NONE, &h->spool, NULL,
                        err, sizeof err) != EVT_OK) {
        h->spool = NULL; /* the sink blocks from now on instead */
        evt__host_log(h, EVT_LOG_ERROR, "no spool any more: %s", err);
    }
}

/* Fill h->batch from the queue (under h->mu). */
static int take_from_queue(struct evt_host *h)
{
    struct evt_event *e;
    while (h->batch_n < EVT__BATCH_MAX && (e = evt__queue_pop(&h->q)))
        h->batch[h->batch_n++] = e;
    if (h->batch_n)
        pthread_cond_broadcast(&h->not_full);
    return h->batch_n > 0;
}

/* Fill h->batch, oldest events first (under h->mu). While spilling, the
 * spool holds the oldest undelivered events (spill_onset moved the queue
 * there), so it drains before the queue; once it is empty the sink is
 * back to its queue. */
static int take_batch(struct evt_host *h)
{
    h->batch_n = 0;
    h->batch_from_spool = 0;
    if (!spool_has_work(h)) {
        if (h->spool && h->spilling)
            h->spilling = 0; /* caught up */
        if (!h->spilling && h->q.count == 0)
            h->spill_blocked = 0; /* nothing older is left in the queue */
        return take_from_queue(h);
    }
    h->batch_from_spool = 1;
    struct evt_event *e;
    const void *rec;
    size_t len;
    int r;
    while (h->batch_n < EVT__BATCH_MAX &&
           (r = evt__spool_next(h->spool, &rec, &len)) != 0) {
        if (r < 0) {
            set_spool_aside(h);
            break;
        }
        e = event_from_record(h->t->pool, rec, len);
        if (!e) {
            h->dropped++;
            evt__host_log(h, EVT_LOG_ERROR, "spool %s: lost a record that "
                          "could not be read back (malformed, or out of "
                          "memory)", h->spool_path);
            continue;
        }
        h->batch[h->batch_n++] = e;
    }
    return h->batch_n > 0;
}

/* Sleep for a retry backoff; returns 1 if close's deadline cut it short. */
static int backoff_sleep(struct evt_host *h, unsigned attempt)
{
    int64_t ms = evt__backoff_ms(h->retry_base_ms, h->retry_cap_ms, attempt,
                                 &h->rng);
    int64_t until = evt__mono_ns() + ms * 1000000;
    pthread_mutex_lock(&h->mu);
    while (!past_stop_deadline(h) && evt__mono_ns() < until) {
        int64_t wake = until;
        if (h->stop && h->stop_deadline_ns < wake)
            wake = h->stop_deadline_ns;
        wait_until(&h->wake, &h->mu, wake);
    }
    int cut = past_stop_deadline(h);
    pthread_mutex_unlock(&h->mu);
    return cut;
}

/* The sink handled the first h->batch_done events of a batch it did not
 * take whole (api->batch_done): count them written and drop them, so that
 * only the rest is retried or dead-lettered. A holding sink's and a
 * spooled batch are settled whole (the held list and the spool's ack
 * cover whole batches), so there the report is ignored. */
static void drop_done_prefix(struct evt_host *h)
{
    size_t k = h->batch_done; /* reset before each write() */
    if (k == 0 || h->holds || h->batch_from_spool)
        return;
    struct evt_event *done[EVT__BATCH_MAX];
    memcpy(done, h->batch, k * sizeof *done);
    pthread_mutex_lock(&h->mu); /* close may read the batch when it hangs */
    memmove(h->batch, h->batch + k, (h->batch_n - k) * sizeof *h->batch);
    h->batch_n -= k;
    h->written += k;
    pthread_mutex_unlock(&h->mu);
    evt__event_release_many(done, k);
}

/* Call write() until it takes the batch, retries run out, or it fails. */
static enum outcome deliver(struct evt_host *h)
{
    const evt_event *const *ev = (const evt_event *const *)h->batch;
    for (unsigned attempt = 0;; attempt++) {
        if (!h->enabled)
            return DEAD_LETTERED;
        h->batch_done = 0;
        int rc = h->plugin.vt.write(h->instance, ev, h->batch_n);
        if (atomic_load(&h->abandoned))
            return PARKED;
        if (rc != EVT_OK)
            drop_done_prefix(h);
        if (rc == EVT_OK || (rc == EVT_RETRY && h->batch_n == 0)) {
            pthread_mutex_lock(&h->mu);
            h->written += h->batch_n;
            pthread_mutex_unlock(&h->mu);
            return DELIVERED;
        }
        if (rc != EVT_RETRY) {
            evt__host_log(h, EVT_LOG_ERROR,
                          "write failed (status %d): sink disabled; its "
                          "events go to %s", rc, h->dlq_path);
            pthread_mutex_lock(&h->mu);
            h->enabled = 0;
            pthread_mutex_unlock(&h->mu);
            return DEAD_LETTERED;
        }
        pthread_mutex_lock(&h->mu);
        h->retried++;
        pthread_mutex_unlock(&h->mu);
        if ((int)attempt >= h->retry_limit) {
            evt__host_log(h, EVT_LOG_WARN,
                          "gave up after %u retries: %zu events go to %s",
                          attempt, h->batch_n, h->dlq_path);
            return DEAD_LETTERED;
        }
        if (backoff_sleep(h, attempt))
            return PARKED;
    }
}

/* Settle the batch after delivery (under h->mu). */
static void finish_batch(struct evt_host *h, enum outcome out)
{
    if (out == DEAD_LETTERED) {
        held_dead_letter(h, "the sink gave up on a batch");
        dead_letter(h, h->batch, h->batch_n);
    } else if (out == PARKED) {
        held_dead_letter(h, "the close deadline came first");
    }
    if (h->batch_from_spool) {
        if (out == PARKED)
            evt__spool_rewind(h->spool);
        else
            evt__spool_ack(h->spool);
    } else if (out == PARKED) {
        /* The oldest undelivered events: appended behind spooled ones
         * they would replay out of order, so then they are dead letters. */
        if (h->spool && evt__spool_pending(h->spool) > 0)
            dead_letter(h, h->batch, h->batch_n);
        else
            park(h, h->batch, h->batch_n);
    }
    if (out == DELIVERED && h->holds)
        held_take_batch(h); /* the batch's references move to h->held */
    evt__event_release_many(h->batch, h->batch_n);
    h->batch_n = 0;
    pthread_cond_broadcast(&h->changed);
}

static void do_flush(struct evt_host *h)
{
    uint64_t req = h->flush_req;
    int64_t deadline = h->flush_deadline_ns < 0 ? INT64_MAX
                                                : h->flush_deadline_ns;
    pthread_mutex_unlock(&h->mu);
    int rc = EVT_OK;
    if (h->enabled && h->plugin.vt.flush)
        rc = h->plugin.vt.flush(h->instance, deadline);
    pthread_mutex_lock(&h->mu);
    if (atomic_load(&h->abandoned))
        return; /* the caller sees it and lets go of h */
    if (h->held_n && h->enabled && rc == EVT_OK)
        held_release(h); /* saved; on failure the sink still has them */
    if (h->dlq)
        evt__spool_sync(h->dlq);
    h->flush_done = req;
    h->flush_rc = rc == EVT_OK && !h->spool_failed ? EVT_OK : EVT_EIO;
    pthread_cond_broadcast(&h->changed);
}

static void abandoned_exit(struct evt_host *h)
{
    for (size_t i = 0; i < h->batch_n; i++)
        evt__event_release(h->batch[i]);
    h->batch_n = 0;
    held_release(h); /* dead-lettered already when close gave up */
    pthread_mutex_unlock(&h->mu);
    evt__sink_free(h);
}

/* An idle worker lingers this long before it sleeps until signalled.
 * While it lingers producers do not signal it, so a steady stream of
 * events costs the caller no system call at all. */
#define LINGER_NS (1000 * 1000)

static void idle_wait(struct evt_host *h, int *lingered)
{
    if (!*lingered) {
        *lingered = 1;
        wait_until(&h->wake, &h->mu, evt__mono_ns() + LINGER_NS);
        return;
    }
    h->sleeping = 1;
    while (h->sleeping)
        pthread_cond_wait(&h->wake, &h->mu);
    *lingered = 0;
}

/* Wake the worker if it sleeps (under h->mu). */
static void wake_worker(struct evt_host *h)
{
    h->sleeping = 0;
    pthread_cond_signal(&h->wake);
}

static void *worker_main(void *arg)
{
    struct evt_host *h = arg;
    int lingered = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        if (past_stop_deadline(h))
            break;
        if (take_batch(h)) {
            pthread_mutex_unlock(&h->mu);
            enum outcome out = deliver(h);
            pthread_mutex_lock(&h->mu);
            if (atomic_load(&h->abandoned)) {
                abandoned_exit(h);
                return NULL;
            }
            finish_batch(h, out);
            if (h->held_n >= HOLD_MAX) {
                held_flush(h);
                if (atomic_load(&h->abandoned)) { /* hung in flush() */
                    abandoned_exit(h);
                    return NULL;
                }
            }
            lingered = 0;
            continue;
        }
        if (h->flush_req > h->flush_done) {
            do_flush(h);
            if (atomic_load(&h->abandoned)) { /* hung in flush() */
                abandoned_exit(h);
                return NULL;
            }
            continue;
        }
        if (h->stop)
            break;
        idle_wait(h, &lingered);
    }
    if (!atomic_load(&h->abandoned) && h->held_n) {
        /* normally none: close flushed just before */
        if (past_stop_deadline(h))
            held_dead_letter(h, "the close deadline came first");
        else
            held_flush(h);
    }
    if (atomic_load(&h->abandoned)) {
        abandoned_exit(h);
        return NULL;
    }
    h->exited = 1;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int evt__sink_start(struct evt_host *h)
{
    if (pthread_create(&h->thread, NULL, worker_main, h) != 0)
        return EVT_ENOMEM;
    h->thread_started = 1;
    return EVT_OK;
}

/* ---- producers ------------------------------------------------------------------*/

/* The queue is full: from now on the spool holds everything not yet
 * taken by the worker, in order, so move the queue's events there first.
 * An event that cannot be written stays queued (order is then kept only
 * per medium; the failure was logged). */
static int spill_onset(struct evt_host *h)
{
    char err[256];
    struct evt_event *e;
    int rc = 0;
    while ((e = evt__queue_pop(&h->q))) {
        if (append_event(h->spool, e, err, sizeof err) != EVT_OK) {
            evt__queue_push_front(&h->q, e);
            evt__host_log(h, EVT_LOG_ERROR, "cannot spill, blocking "
                          "instead: %s", err);
            rc = -1;
            break;
        }
        h->spilled++;
        h->spilling = 1; /* the spool now holds the oldest events */
        evt__event_release(e);
    }
    pthread_cond_broadcast(&h->not_full);
    return rc;
}

/* Spill e. After any failed append, new events go to the queue until the
 * spool has drained (spill_blocked), so that they never overtake the
 * events that the failure left in the queue. */
static int try_spill(struct evt_host *h, struct evt_event *e)
{
    char err[256];
    if (h->spill_blocked)
        return -1;
    if (!h->spilling && spill_onset(h) != 0) {
        h->spill_blocked = 1;
        return -1;
    }
    if (append_event(h->spool, e, err, sizeof err) != EVT_OK) {
        h->spill_blocked = 1;
        evt__host_log(h, EVT_LOG_ERROR, "cannot spill, blocking instead: %s",
                      err);
        return -1;
    }
    h->spilling = 1;
    h->spilled++;
    if (h->sleeping)
        wake_worker(h);
    return 0;
}

/* Push e (under h->mu; room is there), with a new reference unless the
 * caller's is taken (take != NULL: *take is set). */
static void push(struct evt_host *h, struct evt_event *e, int *take)
{
    if (take)
        *take = 1;
    else
        evt__event_retain(e);
    evt__queue_push(&h->q, e);
    h->queued++;
    if (h->sleeping)
        wake_worker(h);
}

/* Queue full: apply a drop policy. 1 if e was dropped, 0 if room was
 * made, -1 if the caller must wait. */
static int drop_for(struct evt_host *h, struct evt_event *e)
{
    int droppable = (e->kind & EVT__DROPPABLE) != 0;
    if (h->overflow == EVT_OVERFLOW_DROP_NEWEST && droppable) {
        h->dropped++;
        evt__host_log(h, EVT_LOG_WARN, "queue full: dropped a %s event "
                      "(overflow: drop_newest)", evt__kind_name(e->kind));
        return 1;
    }
    if (h->overflow == EVT_OVERFLOW_DROP_OLDEST) {
        struct evt_event *old = evt__queue_remove_first(&h->q, EVT__DROPPABLE);
        if (old) {
            h->dropped++;
            evt__host_log(h, EVT_LOG_WARN, "queue full: dropped the oldest "
                          "%s event (overflow: drop_oldest)",
                          evt__kind_name(old->kind));
            evt__event_release(old);
            return 0;
        }
    }
    return -1;
}

int evt__sink_offer(struct evt_host *h, struct evt_event *e, uint64_t *ticket,
                    int *take)
{
    int rc = EVT_OK;
    pthread_mutex_lock(&h->mu);
    int waiting = h->tickets_issued != h->tickets_served;
    if (waiting && h->overflow == EVT_OVERFLOW_DROP_NEWEST &&
        (e->kind & EVT__DROPPABLE) && drop_for(h, e) == 1) {
        rc = EVT_EDROPPED; /* droppable: never waits behind a ticket */
        goto out;
    }
    if (!waiting && h->spool && (h->spilling || evt__queue_full(&h->q)) &&
        try_spill(h, e) == 0)
        goto out;
    if (!waiting && evt__queue_full(&h->q)) {
        int d = drop_for(h, e);
        if (d == 1) {
            rc = EVT_EDROPPED;
            goto out;
        }
        waiting = d < 0;
    }
    if (!waiting) {
        push(h, e, take);
        goto out;
    }
    /* Blocked: take a ticket so that pushes keep seq order. The ticket
     * holds a reference until its push. */
    *ticket = h->tickets_issued++;
    if (take)
        *take = 1;
    else
        evt__event_retain(e);
    rc = EVT_RETRY;
out:
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int evt__sink_wait_push(struct evt_host *h, struct evt_event *e,
                        uint64_t ticket, int64_t until_ns)
{
    pthread_mutex_lock(&h->mu);
    while (h->tickets_served != ticket || evt__queue_full(&h->q)) {
        if (h->tickets_served == ticket &&
            h->overflow == EVT_OVERFLOW_DROP_OLDEST && drop_for(h, e) == 0)
            break; /* a droppable victim was queued meanwhile */
        if (until_ns == 0 ||
            (wait_until(&h->not_full, &h->mu, until_ns) == ETIMEDOUT &&
             (h->tickets_served != ticket || evt__queue_full(&h->q)))) {
            pthread_mutex_unlock(&h->mu);
            return 0;
        }
    }
    push(h, e, NULL);
    evt__event_release(e); /* the ticket's reference */
    h->tickets_served++;
    pthread_cond_broadcast(&h->not_full);
    pthread_mutex_unlock(&h->mu);
    return 1;
}

/* ---- flush, stop, free ----------------------------------------------------------*/

uint64_t evt__sink_flush_ask(struct evt_host *h, int64_t deadline_ns)
{
    pthread_mutex_lock(&h->mu);
    uint64_t mine = ++h->flush_req;
    if (h->flush_req == h->flush_done + 1 || deadline_ns < 0 ||
        (h->flush_deadline_ns >= 0 && deadline_ns > h->flush_deadline_ns))
        h->flush_deadline_ns = deadline_ns; /* the most patient caller */
    wake_worker(h);
    pthread_mutex_unlock(&h->mu);
    return mine;
}

int evt__sink_flush(struct evt_host *h, int64_t deadline_ns)
{
    return evt__sink_flush_wait(h, evt__sink_flush_ask(h, deadline_ns),
                                deadline_ns);
}

int evt__sink_flush_wait(struct evt_host *h, uint64_t mine,
                         int64_t deadline_ns)
{
    pthread_mutex_lock(&h->mu);
    int rc = EVT_OK;
    while (h->flush_done < mine && !h->exited) {
        if (deadline_ns >= 0 &&
            wait_until(&h->changed, &h->mu, deadline_ns) == ETIMEDOUT &&
            h->flush_done < mine) {
            rc = EVT_ETIMEDOUT;
            break;
        }
        if (deadline_ns < 0)
            pthread_cond_wait(&h->changed, &h->mu);
    }
    if (rc == EVT_OK)
        rc = h->flush_rc;
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* Leave the queue's events on disk (under h->mu). */
static void park_queue(struct evt_host *h)
{
    struct evt_event *e;
    while ((e = evt__queue_pop(&h->q))) {
        park(h, &e, 1);
        evt__event_release(e);
    }
}

static void stop_ask_locked(struct evt_host *h, int64_t deadline_ns)
{
    h->stop = 1;
    h->stop_deadline_ns = deadline_ns;
    h->sleeping = 0;
    pthread_cond_broadcast(&h->wake);
    pthread_cond_broadcast(&h->not_full);
}

void evt__sink_stop_ask(struct evt_host *h, int64_t deadline_ns)
{
    pthread_mutex_lock(&h->mu);
    stop_ask_locked(h, deadline_ns);
    pthread_mutex_unlock(&h->mu);
}

int evt__sink_stop(struct evt_host *h, int64_t deadline_ns)
{
    pthread_mutex_lock(&h->mu);
    stop_ask_locked(h, deadline_ns);
    /* A write() in progress at the deadline gets a short grace period. */
    int64_t give_up = deadline_ns + 100 * 1000000LL;
    while (h->thread_started && !h->exited)
        if (wait_until(&h->changed, &h->mu, give_up) == ETIMEDOUT &&
            !h->exited)
            break;
    if (h->thread_started && !h->exited) {
        /* Hung in write() or flush(): keep its events on disk and let the
         * worker free h. The batch inside write() may or may not arrive:
         * it goes to the dead-letter file, not the spool, so that replay
         * order stays right (it may arrive twice, never zero times). A
         * batch read from the spool simply stays unacknowledged there.
         * The files are closed now, so their locks are free. */
        held_dead_letter(h, "it hung");
        if (!h->batch_from_spool)
            dead_letter(h, h->batch, h->batch_n);
        park_queue(h);
        evt__host_log(h, EVT_LOG_ERROR, "still inside write() or flush() at "
                      "the close deadline; its events were kept on disk");
        if (h->spool) {
            evt__spool_sync(h->spool);
            evt__spool_close(h->spool);
        }
        if (h->dlq) {
            evt__spool_sync(h->dlq);
            evt__spool_close(h->dlq);
        }
        h->spool = h->dlq = NULL;
        atomic_store(&h->abandoned, 1);
        pthread_detach(h->thread);
        pthread_mutex_unlock(&h->mu);
        return EVT_ETIMEDOUT;
    }
    park_queue(h);
    if (h->spool)
        evt__spool_sync(h->spool);
    if (h->dlq)
        evt__spool_sync(h->dlq);
    pthread_mutex_unlock(&h->mu);
    if (h->thread_started)
        pthread_join(h->thread, NULL);
    h->thread_started = 0;
    return EVT_OK;
}

void evt__sink_free(struct evt_host *h)
{
    if (!h)
        return;
    if (h->instance)
        h->plugin.vt.destroy(h->instance);
    evt__event_release_many(h->held, h->held_n);
    free(h->held);
    evt__queue_free(&h->q);
    if (h->spool)
        evt__spool_close(h->spool);
    if (h->dlq)
        evt__spool_close(h->dlq);
    evt__plugin_unload(&h->plugin);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->wake);
    pthread_cond_destroy(&h->not_full);
    pthread_cond_destroy(&h->changed);
    evt__sink_config_free(h->config);
    evt__errbox_unref(h->err);
    free(h->spool_path);
    free(h->dlq_path);
    free(h->output_dir);
    free(h->state_dir);
    free(h->name);
    free(h);
}

void evt__sink_stats(struct evt_host *h, struct evt_sink_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&h->mu);
    evt__strlcpy(out->name, h->name, sizeof out->name);
    evt__strlcpy(out->plugin, h->plugin.vt.name, sizeof out->plugin);
    out->enabled = h->enabled;
    out->queued = h->queued;
    out->written = h->written;
    out->retried = h->retried;
    out->spilled = h->spilled;
    out->dropped = h->dropped;
    out->dead_lettered = h->dead_lettered;
    out->depth = h->q.count;
    pthread_mutex_unlock(&h->mu);
}
