/* replay.h -- send a sink's dead letters again (`evtrack replay`,
 * docs/REPLAY.md).
 *
 * Exported by libevtrack for the evtrack command; not an installed
 * header. Each sink instance's dead letters are in
 * <state_dir>/rejected/<name>.spool. A replay renames that file to
 * <name>.spool.replaying, delivers its records through that instance only
 * (with their original run_id and seq), acknowledges each batch in the
 * file's cursor only after write() returned EVT_OK, and appends the
 * batches that fail again to a fresh rejected/<name>.spool. A replay that
 * was killed is resumed from the .replaying file first. Delivery is
 * at-least-once per batch: a kill can resend the batch that was in
 * write(), never skip one. */
#ifndef EVT_CORE_REPLAY_H
#define EVT_CORE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/evtrack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One sink instance of a config and its waiting dead letters. */
struct evt_replay_sink {
    char name[72];
    int enabled;      /* 0: "enabled": false in the config */
    uint64_t pending; /* records in rejected/<name>.spool plus those an
                         interrupted replay left in <name>.spool.replaying */
};

/* The sink instances of the config file, in config order. Returns their
 * count (may exceed cap; out gets the first cap), or a negative status
 * with err naming the file: config errors, or a dead-letter file that
 * cannot be read or is in use by a running tracker. Plugins are not
 * loaded (use evt_check_config for that). */
EVT_API int evt_replay_list(const char *config,
                            struct evt_replay_sink *out, size_t cap,
                            char *err, size_t errlen);

/* Calls fn for each dead letter the replay of sink would send, in the
 * order it would send them; sends nothing. The files are only opened (and
 * recovered, as every open of a spool does: a torn tail is cut). */
typedef void (*evt_replay_visit_fn)(void *ud, const char *run_id,
                                    uint32_t kind, uint64_t seq);
EVT_API int evt_replay_scan(const char *config, const char *sink,
                            evt_replay_visit_fn fn, void *ud, char *err,
                            size_t errlen);

/* Called about every 200 ms while a replay runs (and once at the end of
 * each pass): done of total records of the pass are settled. */
typedef void (*evt_replay_progress_fn)(void *ud, const char *sink,
                                       uint64_t done, uint64_t total);

struct evt_replay_result {
    uint64_t total;     /* dead letters waiting when the replay started */
    uint64_t delivered; /* records the sink accepted (write() == EVT_OK) */
    uint64_t failed;    /* records that failed again: kept in rejected/ */
    uint64_t lost;      /* records that could not be read back or kept
                           (each was logged as an error) */
    uint64_t left;      /* dead letters waiting after the replay */
    int resumed;        /* an interrupted replay was resumed first */
    int incomplete;     /* a file could not be read or written, or the
                           sink's flush failed (logged) */
};

/* Replay the dead letters of the sink instance named sink of the config
 * file through that instance only. Returns EVT_OK when the replay ran to
 * its end (res tells how it went), or a negative status with err:
 * EVT_ECONFIG (config errors, no such sink, sink disabled), EVT_EABI,
 * EVT_EIO (a dead-letter file unreadable or in use), EVT_ENOMEM. */
EVT_API int evt_replay_run(const char *config, const char *sink,
                           evt_replay_progress_fn fn, void *ud,
                           struct evt_replay_result *res, char *err,
                           size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
