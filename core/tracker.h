/* tracker.h -- the tracker and its sink instances (internal). */
#ifndef EVT_CORE_TRACKER_H
#define EVT_CORE_TRACKER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "evtrack/evtrack.h"
#include "event.h"
#include "loader.h"
#include "lock.h"
#include "queue.h"
#include "spool.h"

enum evt__overflow {
    EVT_OVERFLOW_BLOCK = 0,
    EVT_OVERFLOW_SPILL,
    EVT_OVERFLOW_DROP_NEWEST,
    EVT_OVERFLOW_DROP_OLDEST
};

/* Kinds an overflow policy may drop; the others are never dropped. */
#define EVT__DROPPABLE (EVT_EV_SAMPLE | EVT_EV_SCALAR)

#define EVT__BATCH_MAX 256

/* The config of one sink's "config" object, handed to the plugin. */
struct evt_config;

/* Everything the config file says about one sink. */
struct evt__sink_spec {
    char *name;
    char *path;      /* resolved plugin file */
    int enabled;
    uint32_t events; /* 0: the plugin's own mask */
    size_t max_events;
    int overflow;
    int overflow_set;
    int retry_limit;
    int64_t retry_base_ms, retry_cap_ms;
    struct evt_config *config;
    char where[32]; /* "sinks[2]" for messages */
};

/* One sink instance: plugin, queue, worker, spool, counters. */
struct evt_host {
    struct evt_tracker *t;
    char *name;
    char *output_dir, *state_dir; /* copies: a hung sink may outlive t */
    char where[32]; /* "sinks[N]": its place in the config, for messages */
    char run_stamp[32]; /* copy of the tracker's */
    struct evt__errbox *err; /* the tracker's, by reference */
    struct evt__plugin plugin;
    void *instance;
    struct evt_config *config;
    uint32_t mask;
    int overflow;
    size_t max_events;
    int retry_limit;
    int64_t retry_base_ms, retry_cap_ms;
    uint64_t rng;

    /* From here to stop_deadline_ns: what producers write for every event
     * (the lock, the queue), on cache lines of their own, away from the
     * fields above that they only read and the worker's below. */
    _Alignas(64) pthread_mutex_t mu;
    pthread_cond_t wake;     /* worker: work, flush or stop */
    pthread_cond_t not_full; /* producers */
    pthread_cond_t changed;  /* flush and close waiters */
    struct evt__queue q;
    uint64_t tickets_issued, tickets_served; /* producers blocked, in order */
    int enabled;     /* 0: everything goes to the dead-letter file */
    int spilling;    /* new events go to the spool until it drains */
    int spill_blocked; /* an append failed: queue only until drained */
    int spool_failed;  /* the spool was set aside: flush says EVT_EIO */
    int stop;        /* close() asked the worker to finish */
    int sleeping;    /* the worker waits for a signal (not lingering) */
    _Alignas(64) int64_t stop_deadline_ns; /* monotonic; after it, no more
                                              write() */
    int exited;      /* the worker returned */
    atomic_int abandoned; /* close() gave up; the worker frees h */
    uint64_t flush_req, flush_done;
    int64_t flush_deadline_ns; /* latest deadline asked for; -1: none */
    int flush_rc;

    /* Events an EVT_SINK_F_HOLDS sink acknowledged since its last
     * successful flush, oldest first; the worker owns their references. */
    int holds;
    struct evt_event **held;
    size_t held_n, held_cap;

    /* the batch the worker is delivering (owned by the worker) */
    struct evt_event *batch[EVT__BATCH_MAX];
    size_t batch_n;
    int batch_from_spool;
    /* Leading events of the batch the sink said it handled during the
     * current write() (api->batch_done); written by the worker only. */
    size_t batch_done;

    struct evt__spool *spool; /* for overflow: spill, else NULL */
    struct evt__spool *dlq;   /* opened on first dead letter */
    char *spool_path, *dlq_path;
    int dlq_sync; /* fdatasync the dead letters of each batch before the
                     spool is acked (replay) */

    uint64_t queued, written, retried, spilled, dropped, dead_lettered;
    int64_t last_log_ns;
    unsigned logs_in_window, logs_suppressed;

    pthread_t thread;
    int thread_started;
};

/* The first bytes of every event of one kind: map32 header, kind, run_id,
 * seq (patched at dispatch) and time_ns (patched at evt_begin). */
struct evt__header {
    unsigned char bytes[192];
    size_t len, seq_off, time_off;
};

struct evt_tracker {
    char *output_dir;
    char *state_dir;
    char *run_id;
    char run_stamp[32]; /* see evt_host_api.run_stamp */
    int64_t open_time_ns;
    struct evt__pool *pool;
    struct evt__header headers[6]; /* one per kind, see evt__kind_index */
    struct evt_host **sinks;
    size_t nsinks;
    unsigned fork_gen;

    /* Written by every event, so on a cache line of its own: the fields
     * above are read by every event. */
    _Alignas(64) struct evt__lock dispatch_mu; /* seq order == enqueue order */
    uint64_t seq;
    int closed;

    _Alignas(64) struct evt__errbox *err; /* shared with the sinks */
};

/* The last error message, shared by the tracker and its sinks and
 * refcounted: a hung sink abandoned at close may still log after the
 * tracker is gone. */
struct evt__errbox {
    pthread_mutex_t mu;
    atomic_int refs;
    char msg[EVT_ERRMSG_SIZE];
};

struct evt__errbox *evt__errbox_new(void);
struct evt__errbox *evt__errbox_ref(struct evt__errbox *b);
void evt__errbox_unref(struct evt__errbox *b);
void evt__errbox_vset(struct evt__errbox *b, const char *fmt, va_list ap);

/* Record msg as the tracker's last error (thread-safe). */
void evt__set_error(struct evt_tracker *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 if this process is a fork child of the one that opened t. */
extern atomic_uint evt__fork_generation; /* + 1 in each forked child */

static inline int evt__forked(const struct evt_tracker *t)
{
    return t->fork_gen != atomic_load_explicit(&evt__fork_generation,
                                               memory_order_relaxed);
}

/* Fill t->headers from t->run_id; -1 on OOM. */
int evt__build_headers(struct evt_tracker *t);

/* A tracker that runs one sink of its config (evtrack replay,
 * core/replay.c). */
struct evt__only {
    const char *name; /* the sink instance to keep */
    /* Called once the instance is created, before its worker starts (it
     * may set h->spool); a non-zero status stops the open, err filled. */
    int (*setup)(struct evt_host *h, void *ud, char *err, size_t errlen);
    void *ud;
};

/* Open the config file at path as evt_open_file does (every plugin loaded
 * and its keys checked), but create and start only the sink only->name.
 * That sink opens no spill spool (its overflow becomes "block"). Errors
 * name the file: "<path>: no sink named \"x\"", or "<path>: sinks[N]:
 * sink \"x\" is disabled (\"enabled\": false)" (EVT_ECONFIG). */
int evt__open_file_only(const char *path, const struct evt__only *only,
                        evt_tracker **out, char *err, size_t errlen);

/* Seq-number and enqueue e to every sink that wants it; consumes the
 * producer's reference. */
int evt__dispatch(struct evt_tracker *t, struct evt_event *e);

/* Host logging (rate-limited per sink; ERROR also sets last_error). */
void evt__host_log(struct evt_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void evt__host_vlog(struct evt_host *h, int level, const char *fmt,
                    va_list ap);

/* The host API table handed to plugins. */
extern const struct evt_host_api evt__host_api;

#endif
