/* wb_sync.h -- bring a run's server side up to date with its journal
 * (docs/sinks/wandb.md section 3):
 *
 *  1. UpsertBucket once per process (create or resume; the first answer
 *     fixes the history base for a run without one), and again whenever
 *     the config changed;
 *  2. after run_end, the run files through CreateRunFiles + PUT;
 *  3. one file_stream request with the pending rows (at the line numbers
 *     the state gives them), the summary when it changed, the uploaded
 *     files, and complete/exitcode once everything else has arrived;
 *     at most one such request every stream_interval;
 *  4. state.json saved after each confirmed step.
 *
 * A failed request leaves everything pending; sending it again is
 * idempotent (same offsets, same content). */
#ifndef WB_SYNC_H
#define WB_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "wb_config.h"
#include "wb_http.h"
#include "wb_run.h"

enum wb_sync_rc {
    WB_SYNC_OK = 0,        /* nothing left to send */
    WB_SYNC_DEFERRED = 1,  /* data left, waiting for the stream interval */
    WB_SYNC_TRANSIENT = 2, /* the server could not be reached (err) */
    WB_SYNC_FINAL = 3      /* the server refused (err): do not retry */
};

struct wb_sync_ctx {
    struct wb_conn *conn;
    const struct wb_cfg *cfg;
    const char *host; /* this machine's name, for UpsertBucket */
    int probe;        /* one try per request (offline, testing the way) */
};

/* Send what r has pending. wait 0: return DEFERRED when the interval has
 * not passed; 1: sleep until it has (never past deadline_ns, which
 * bounds every retry too; 0: none). */
int wb_sync_run(struct wb_run *r, const struct wb_sync_ctx *c, int wait,
                int64_t deadline_ns, char *err, size_t errlen);

/* A heartbeat ({}) when the run is connected and has had no request for
 * heartbeat_ms. Failures are ignored (the next data request reports). */
void wb_sync_heartbeat(struct wb_run *r, const struct wb_sync_ctx *c);

/* 1 when r has something to send (rows, summary, config, files,
 * completion). */
int wb_sync_pending(const struct wb_run *r);

/* Monotonic clock in ns. */
int64_t wb_mono_ns(void);

#endif /* WB_SYNC_H */
