/* conformance_spy.c -- the conformance kit's wrapper between the host and
 * the sink under test. It replaces write, flush and destroy in the
 * instance's copy of the vtable (core/loader.c copies it), so the real
 * host, with its real worker thread, calls the sink through it. It counts
 * what the sink answered, checks the host's side of the contract (destroy
 * once, nothing after it, one call at a time, 1 <= n <= 256), and on
 * request turns the sink's EVT_OK into one EVT_RETRY per batch, hides
 * flush(), delays the first write(), or holds every event to check that
 * the sink neither changes its bytes nor keeps references past destroy().
 *
 * One child process runs one instance, so the state is process-wide. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance_int.h"
#include "event.h"

#define MAX_TRACKED 65536

struct tracked {
    const struct evt_event *e;
    uint64_t hash;
};

static struct {
    pthread_mutex_t mu;
    struct evt_sink_vtable real;
    void *instance;
    struct conf_spy_opts o;
    atomic_int in_call;
    int destroyed;
    int delayed;
    /* retry_once: the batch written once and answered EVT_RETRY */
    int pending;
    uint64_t pending_seq;
    size_t pending_n;
    struct tracked *ev;
    size_t nev;
    uint64_t last_tracked_seq;
    struct conf_spy_report rep;
} spy = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash_bytes(const struct evt_event *e)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < e->len; i++)
        h = (h ^ e->buf[i]) * 1099511628211ull;
    return h ^ e->len;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Entering a callback: host-side contract checks. */
static void enter(const char *what, void *inst)
{
    if (atomic_fetch_add(&spy.in_call, 1) != 0) {
        pthread_mutex_lock(&spy.mu);
        spy.rep.overlapping++;
        pthread_mutex_unlock(&spy.mu);
    }
    pthread_mutex_lock(&spy.mu);
    if (spy.destroyed)
        spy.rep.after_destroy++;
    if (inst != spy.instance)
        spy.rep.bad_batch++;
    pthread_mutex_unlock(&spy.mu);
    conf_in_callback(what);
}

static void leave(void)
{
    conf_in_callback(NULL);
    atomic_fetch_sub(&spy.in_call, 1);
}

/* Hold and hash the events not seen yet (seq grows within a run). */
static void track(const evt_event *const *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct evt_event *e = ev[i];
        if (e->seq <= spy.last_tracked_seq || spy.nev >= MAX_TRACKED)
            continue;
        evt__event_retain(e);
        spy.ev[spy.nev].e = e;
        spy.ev[spy.nev].hash = hash_bytes(e);
        spy.nev++;
        spy.last_tracked_seq = e->seq;
    }
}

/* After write(): did it change the bytes of a held event? */
static void verify_unchanged(const evt_event *const *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = spy.nev; j-- > 0;) {
            if (spy.ev[j].e != ev[i])
                continue;
            if (hash_bytes(ev[i]) != spy.ev[j].hash) {
                if (!spy.rep.modified)
                    spy.rep.modified_seq = ev[i]->seq;
                spy.rep.modified++;
                spy.ev[j].hash = hash_bytes(ev[i]); /* count it once */
            }
            break;
        }
}

static void note_answer(int rc, int replay)
{
    if (rc == EVT_RETRY) {
        spy.rep.sink_retries++;
        return;
    }
    if (rc == EVT_OK || spy.rep.error_rc)
        return;
    spy.rep.error_rc = rc;
    spy.rep.replay_error_rc = replay;
}

static int spy_write(void *inst, const evt_event *const *ev, size_t n)
{
    enter("write()", inst);
    pthread_mutex_lock(&spy.mu);
    spy.rep.entered++;
    pthread_mutex_unlock(&spy.mu);
    if (spy.o.delay_first_write_ms > 0 && !spy.delayed) {
        spy.delayed = 1;
        sleep_ms(spy.o.delay_first_write_ms);
    }
    if (n == 0 || n > EVT__BATCH_MAX)
        spy.rep.bad_batch++;
    if (spy.o.track_events)
        track(ev, n);
    int replay = spy.pending && n == spy.pending_n && n > 0 &&
                 ev[0]->seq == spy.pending_seq;
    int rc = spy.real.write(inst, ev, n);
    pthread_mutex_lock(&spy.mu);
    spy.rep.writes++;
    if (spy.o.track_events)
        verify_unchanged(ev, n);
    note_answer(rc, replay);
    if (replay && rc != EVT_RETRY) {
        spy.pending = 0;
        spy.rep.replays++;
    } else if (spy.o.retry_once && !replay && rc == EVT_OK && n > 0) {
        spy.pending = 1; /* the host retries: the same batch again */
        spy.pending_seq = ev[0]->seq;
        spy.pending_n = n;
        rc = EVT_RETRY;
    }
    if (rc == EVT_OK)
        spy.rep.accepted += n;
    pthread_mutex_unlock(&spy.mu);
    leave();
    return rc;
}

static int spy_flush(void *inst, int64_t deadline_ns)
{
    enter("flush()", inst);
    int rc = spy.real.flush(inst, deadline_ns);
    pthread_mutex_lock(&spy.mu);
    spy.rep.flushes++;
    if (rc != EVT_OK && !spy.rep.flush_rc)
        spy.rep.flush_rc = rc;
    pthread_mutex_unlock(&spy.mu);
    leave();
    return rc;
}

/* Refcounts of the held events once the sink is gone: the host has let
 * go of them all by now, so only the spy's own reference may be left. */
static void settle_tracked(void)
{
    for (size_t i = 0; i < spy.nev; i++) {
        unsigned refs = atomic_load(&spy.ev[i].e->refs);
        if (refs > 1)
            spy.rep.still_held++;
        else if (refs == 0)
            spy.rep.over_released++;
        if (refs >= 1)
            evt__event_release(spy.ev[i].e);
    }
    spy.rep.tracked = spy.nev;
    spy.nev = 0;
}

static void spy_destroy(void *inst)
{
    enter("destroy()", inst);
    pthread_mutex_lock(&spy.mu);
    spy.rep.destroys++;
    spy.destroyed = 1;
    pthread_mutex_unlock(&spy.mu);
    spy.real.destroy(inst);
    pthread_mutex_lock(&spy.mu);
    settle_tracked();
    free(spy.ev);
    spy.ev = NULL;
    pthread_mutex_unlock(&spy.mu);
    leave();
}

void conf_spy_install(struct evt_host *h, const struct conf_spy_opts *o)
{
    pthread_mutex_lock(&spy.mu);
    memset(&spy.rep, 0, sizeof spy.rep);
    spy.o = o ? *o : (struct conf_spy_opts){0};
    spy.instance = h->instance;
    spy.destroyed = spy.delayed = spy.pending = 0;
    spy.nev = 0;
    spy.last_tracked_seq = 0;
    spy.ev = spy.o.track_events ? calloc(MAX_TRACKED, sizeof *spy.ev) : NULL;
    if (!spy.ev)
        spy.o.track_events = 0;
    pthread_mutex_unlock(&spy.mu);
    /* the worker reads the vtable only with work, which it takes under
     * h->mu: swapping under it orders the change before any use */
    pthread_mutex_lock(&h->mu);
    spy.real = h->plugin.vt;
    h->plugin.vt.write = spy_write;
    h->plugin.vt.destroy = spy_destroy;
    h->plugin.vt.flush = spy.real.flush && !spy.o.no_flush ? spy_flush
                                                          : NULL;
    pthread_mutex_unlock(&h->mu);
}

void conf_spy_get(struct conf_spy_report *out)
{
    pthread_mutex_lock(&spy.mu);
    *out = spy.rep;
    pthread_mutex_unlock(&spy.mu);
}
