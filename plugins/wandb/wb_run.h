/* wb_run.h -- one W&B run of the wandb sink: its journal and confirmed
 * state (wb_journal.h, wb_state.h), and what is derived from the journal's
 * events, the same way live and when the journal is read back:
 *
 *  - history rows: a scalar event, or a result event with a step, puts
 *    its value at its step ("tag", or "{task}/{metric}[,{filter}]" and
 *    "{task}/{metric}_stderr[,{filter}]"); consecutive values of one step
 *    share one row, which stays open until a value of another step, a
 *    run_end, a flush or a close seals it (recorded in the journal, so the
 *    rows do not depend on how events were batched); a value without a
 *    step gets its own row at the next step. At run_end: one row with
 *    every flattened result (wb_flatten.h) and the results and samples
 *    tables (wb_files.h, wb_samples.h), at the next step. Each row gets
 *    _step, _runtime and _timestamp.
 *  - the summary: every history key's last value, the results' strings,
 *    _step, _runtime, _timestamp and _wandb.runtime.
 *  - the run config (wb_flatten.h) and the run files (tables,
 *    results.json, samples files).
 *
 * Events are identified by (run_id, seq): one already taken is ignored.
 * Rows are numbered from 0 in journal order; row i goes to history line
 * st.base_offset + i. Not thread-safe (the sink's lock). */
#ifndef WB_RUN_H
#define WB_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/results.h"
#include "wb_files.h"
#include "wb_journal.h"
#include "wb_json.h"
#include "wb_offline.h"
#include "wb_samples.h"
#include "wb_state.h"

struct wb_row {
    int64_t step;
    int64_t ns; /* time of the row's last event */
    struct wb_kvs kv;
    char *line; /* the history line, once sealed */
};

struct wb_taken; /* seq ranges per evtrack run id */

/* The online side of a run (wb_sync.c). */
struct wb_link {
    int connected;      /* UpsertBucket answered in this process */
    char *fs_path;      /* /files/{entity}/{project}/{run}/file_stream */
    int64_t last_fs_ns; /* monotonic time of the last file_stream request */
    char *config_sent;  /* config text of the last UpsertBucket */
    char *summary_sent; /* summary line last acknowledged */
    char **announce;    /* uploaded files not yet listed in "uploaded" */
    size_t nannounce;
    int complete_req;   /* send complete (exit code complete_code) */
    int complete_code;
};

struct wb_run {
    char *id;         /* W&B run id */
    char *evt_run_id; /* evtrack run id of the first event */
    char *dir, *state_path;
    struct wb_journal jnl;
    struct wb_state st;
    const struct evt_results_opts *opts;
    struct evt_results *agg;
    struct wb_samples *samples; /* NULL when samples are not logged */
    struct wb_taken *taken;
    size_t ntaken;
    int64_t start_ns;  /* time of the run's first event */
    int64_t next_step; /* step of a row without an explicit one */
    struct wb_row open;
    int has_open;
    struct wb_row *rows; /* sealed rows not acknowledged yet */
    size_t nrows, caprows;
    uint64_t rows_total; /* rows sealed since the journal began */
    struct wb_kvs summary;
    struct wb_kvs config;
    int config_dirty;
    char *commit;        /* run_start's git_hash */
    int ended, exitcode; /* a run_end was taken; its exit_code */
    int64_t end_ns;      /* its time */
    int end_built;       /* the run_end row and files exist */
    struct wb_files files;
    struct wb_link link;
    struct wb_offline off; /* offline .wandb writer (fd -1: none) */
    uint64_t rows_offline; /* rows written to the .wandb file */
    int off_started, off_ended;
    char *off_config;      /* config text last written to the .wandb file */
    uint64_t batch_taken; /* events taken in the current batch */
    int in_batch;         /* the sink's current batch touched this run */
    char err[512];        /* why the run files could not be made, or "" */
};

/* Open the run whose state lives in dir (made if missing): lock and read
 * its journal, deriving everything, and load state.json; rows the state
 * says were acknowledged are dropped. 0; 1 when another process holds the
 * run; -1 with err. */
int wb_run_open(struct wb_run *r, const char *id, const char *dir,
                const struct evt_results_opts *opts, int log_samples,
                char *err, size_t errlen);

void wb_run_close(struct wb_run *r);

/* Take one event (msgpack map bytes, secrets already scrubbed): journal
 * it (queued until wb_run_commit) and derive from it. 1 taken, 0 already
 * taken (or not an event), -1 out of memory, or the run files of a
 * run_end could not be written (r->err says why, or is
 * empty: out of memory). */
int wb_run_take(struct wb_run *r, const void *mp, size_t len);

/* End of a batch: update the config, then write the queued journal
 * records. 0, or -1 with err (the run must then be closed and opened
 * again: memory is ahead of the journal). */
int wb_run_commit(struct wb_run *r, char *err, size_t errlen);

/* Seal the open row (a flush or a close), journaled. 0 or -1 with err
 * (close and reopen the run). */
int wb_run_seal(struct wb_run *r, char *err, size_t errlen);

/* The summary line: {summary..., "_wandb": {"runtime": N}}. Heap. */
char *wb_run_summary_line(const struct wb_run *r);

/* The config object text for UpsertBucket ({"k": {"value": v}}). Heap. */
char *wb_run_config_text(const struct wb_run *r);

/* The first n pending rows were acknowledged: drop them. */
void wb_run_rows_sent(struct wb_run *r, size_t n);

/* History line number of the first pending row. */
int64_t wb_run_first_offset(const struct wb_run *r);

/* Save st to state.json. 0 or -1 with err. */
int wb_run_save_state(struct wb_run *r, char *err, size_t errlen);

#endif /* WB_RUN_H */
