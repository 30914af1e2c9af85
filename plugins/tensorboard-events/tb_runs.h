/* tb_runs.h -- the tensorboard-events sink's runs: one event file and one
 * results aggregator per run id, at most TB_MAX_RUNS at a time (the least
 * recently used run is closed first).
 *
 * Records of a batch collect in each run's pending buffer; tb_runs_commit
 * writes them with write(2) and, when any write fails, cuts every file
 * written in the batch back to its size before the batch, so a retried
 * batch never leaves a torn or doubled record behind. No stdio: nothing
 * sits in a user-space buffer once write() has returned.
 * Not thread-safe (one instance, one worker). */
#ifndef TB_RUNS_H
#define TB_RUNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "evtrack/sdk/json_write.h"

#define TB_MAX_RUNS 16

struct evt_results;

struct tb_run {
    char *run_id;
    char *dir;               /* <logdir>/<run_name> */
    char *path;              /* the open event file; NULL before the first */
    int fd;                  /* -1 when no file is open */
    off_t size;              /* bytes in the file that are complete records */
    int dirty;               /* written since the last fdatasync */
    uint64_t used;           /* LRU clock of the last use */
    struct evt_buf pending;  /* framed records of the current batch */
    struct evt_results *agg; /* for the table and the hparams */
    int64_t max_step;        /* largest step seen, 0 when none */
    int64_t first_ns;        /* time of the run's first event */
    int64_t start_ns;        /* run_start's time, 0 when none yet */
};

struct tb_runs {
    struct tb_run r[TB_MAX_RUNS];
    size_t n;
    uint64_t clock;
    char *logdir;
    char *run_name; /* template; "{run_id}" is replaced */
};

/* logdir and run_name are copied. 0, or -1 on OOM. */
int tb_runs_init(struct tb_runs *rs, const char *logdir,
                 const char *run_name);

/* Sync and close every file, free everything. */
void tb_runs_free(struct tb_runs *rs);

/* The run of run_id, made (and the least recently used one closed, synced
 * first) when it is new. Its file is not opened yet. NULL on OOM, with
 * err set. */
struct tb_run *tb_runs_get(struct tb_runs *rs, const char *run_id,
                           char *err, size_t errlen);

/* Write every run's pending records, opening a run's file first when it
 * has none (folder created, first record the file_version event). On
 * success the pending buffers are empty and 0 is returned. On failure
 * every file keeps only the records it had before the call, the pending
 * buffers are dropped, err says which file and why, and -1 is returned. */
int tb_runs_commit(struct tb_runs *rs, char *err, size_t errlen);

/* Forget every run's pending records (a batch that could not be encoded
 * whole; the host retries it). */
void tb_runs_drop(struct tb_runs *rs);

/* fdatasync every file written since its last sync. 0, or -1 with err
 * (all files are still tried). */
int tb_runs_sync(struct tb_runs *rs, char *err, size_t errlen);

/* The file name TensorBoard's writer uses, from its parts:
 * "events.out.tfevents.<secs, 10 digits>.<host>.<pid>.<n>". Heap; NULL on
 * OOM. Exposed for the tests of the name. */
char *tb_event_file_name(int64_t secs, const char *host, long pid,
                         unsigned long n);

#endif /* TB_RUNS_H */
