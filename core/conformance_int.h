/* conformance_int.h -- what the files of the conformance kit share
 * (internal; see conformance.h and docs/CONFORMANCE.md).
 *
 * conformance.c        the check list, one forked child per check, verdicts
 * conformance_abi.c    abi.*: what core/loader.c accepts or refuses
 * conformance_config.c config.*: the declared key schema and bad values
 * conformance_run.c    one tracker run of the sink in the sandbox, judged
 * conformance_spy.c    the wrapper around the sink's callbacks in the host
 * conformance_events.c the events sent: every kind, and hostile ones
 * conformance_checks.c lifecycle.*, events.*, hostile.*, retry.*, host.*,
 *                      threads.* */
#ifndef EVT_CORE_CONFORMANCE_INT_H
#define EVT_CORE_CONFORMANCE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "conformance.h"
#include "tracker.h"

/* Instance name of the sink in every config the kit writes. */
#define CONF_SINK_NAME "conformance"

/* One check, inside its child process. The current folder is cwd. */
struct conf_ctx {
    const char *so_path;      /* absolute */
    const cJSON *user_config; /* the sink's "config" object */
    const char *dir;          /* this check's own folder */
    char jail[1024];          /* <dir>/jail: everything the sink may touch */
    char out[1100];           /* <jail>/out: output_dir */
    char state[1100];         /* <jail>/state: state_dir */
    char marker[64];          /* unique part of names that must not escape */
};

/* ---- conformance.c: reporting from the child ---------------------------*/

/* The verdict of the check name, with a printf reason (one line). */
void conf_verdict(enum evt_conf_verdict v, const char *name, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

/* What the check does now; a crash or a timeout names it. */
void conf_step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The sink callback running now ("flush()"), or NULL when it returned. */
void conf_in_callback(const char *what);

/* ---- conformance_abi.c / conformance_config.c ---------------------------*/

/* abi.load, abi.entry, abi.version, abi.struct_size, abi.callbacks,
 * abi.identity. */
void conf_check_abi(struct conf_ctx *c);
/* config.schema, config.defaults */
void conf_check_schema(struct conf_ctx *c);
void conf_check_defaults(struct conf_ctx *c);
void conf_check_unknown_key(struct conf_ctx *c);
void conf_check_wrong_type(struct conf_ctx *c);
void conf_check_missing_required(struct conf_ctx *c);
void conf_check_hostile_values(struct conf_ctx *c);

/* The tracker config the kit runs the sink with, as JSON text (heap);
 * config NULL: the user's. */
char *conf_tracker_json(const struct conf_ctx *c, const cJSON *config);

/* Load the plugin (core/loader.c) to read its vtable; 0, or -1 with the
 * loader's message in err. */
int conf_load(const struct conf_ctx *c, struct evt__plugin *p, char *err,
              size_t errlen);

/* ---- conformance_spy.c --------------------------------------------------*/

struct conf_spy_opts {
    int retry_once;      /* after write() took a batch, answer EVT_RETRY so
                            that the host writes the same batch again */
    int no_flush;        /* hide flush(): the host never calls it */
    int64_t delay_first_write_ms; /* before the first write() (hang) */
    int track_events;    /* hash every event around write(), hold a
                            reference, check refcounts after destroy() */
};

struct conf_spy_report {
    uint64_t entered;       /* write() calls the host began */
    uint64_t writes;        /* write() calls that reached the sink */
    uint64_t accepted;      /* events of batches finally answered EVT_OK */
    uint64_t sink_retries;  /* EVT_RETRY answers of the sink itself */
    uint64_t replays;       /* batches written again after retry_once */
    int error_rc;           /* first answer other than OK / RETRY, or 0 */
    int replay_error_rc;    /* that answer came on a replayed batch */
    uint64_t flushes;
    int flush_rc;           /* first non-OK flush() answer, or 0 */
    unsigned destroys;
    unsigned after_destroy; /* write/flush/destroy calls after destroy */
    unsigned overlapping;   /* calls that overlapped another call */
    unsigned bad_batch;     /* n == 0 or n > 256, or a foreign instance */
    uint64_t modified;      /* events whose bytes write() changed */
    uint64_t modified_seq;
    uint64_t still_held;    /* events still retained after destroy() */
    uint64_t over_released; /* events released more than retained */
    uint64_t tracked;
};

/* Put the spy between the host and the sink of h (after create). */
void conf_spy_install(struct evt_host *h, const struct conf_spy_opts *o);

/* A copy of the counters (thread-safe). */
void conf_spy_get(struct conf_spy_report *out);

/* ---- conformance_run.c --------------------------------------------------*/

/* One tracker running the sink alone. */
struct conf_run {
    struct conf_ctx *c;
    evt_tracker *t;
    struct evt_host *h;
    uint32_t mask;     /* kinds the instance takes */
    uint64_t queued;   /* events its queue took (read before close) */
    int flush_rc;      /* first evt_flush status other than EVT_OK */
    int close_rc;
    int closed;
    int threads_before;
    char problem[512]; /* the first problem, empty when none */
};

/* Open a tracker that runs the plugin with config (NULL: the user's),
 * install the spy. 0, or -1 with r->problem set. */
int conf_open(struct conf_run *r, struct conf_ctx *c, const cJSON *config,
              const struct conf_spy_opts *spy);

/* evt_flush / evt_close with the kit's deadlines; the status. */
int conf_flush(struct conf_run *r);
int conf_close(struct conf_run *r, int64_t timeout_ms);

/* An event commit of the kit that the core refused: recorded as a
 * problem of the kit (never expected). */
void conf_commit_failed(struct conf_run *r, int rc);

/* Everything wrong with the run once closed, as one line in buf; 0 when
 * nothing is. */
int conf_judge(struct conf_run *r, char *buf, size_t len);

/* Close if needed, judge, and give name its verdict with pass_note as the
 * PASS reason. */
void conf_finish(struct conf_run *r, const char *name, const char *pass_note);

/* Threads of this process (/proc/self/task), -1 if unknown. */
int conf_threads(void);

/* A file or folder the sink made outside the sandbox: 0 when none, else 1
 * with a description in buf. */
int conf_escaped(const struct conf_ctx *c, char *buf, size_t len);

/* Remove path and everything under it. */
void conf_rmtree(const char *path);

/* The first error the sink logged itself (not the host's), or "". */
const char *conf_sink_error(void);

/* ---- conformance_events.c -----------------------------------------------*/

/* Realistic events; each returns EVT_OK or the first commit status. */
int conf_send_kind(evt_tracker *t, uint32_t kind, int64_t n);
/* A whole run: run_start, a group and two tasks, samples over more than
 * one batch, results, scalars, run_end. */
int conf_send_run(evt_tracker *t, int samples_per_task);

enum conf_hostile {
    CONF_H_NONFINITE,
    CONF_H_LONG_STRINGS,
    CONF_H_CONTROL_CHARS,
    CONF_H_PATH_NAMES,
    CONF_H_DEEP_NESTING,
    CONF_H_EMPTY,
    CONF_H_TYPES,
    CONF_H_MSGPACK_TYPES
};
/* run_start, the hostile events, run_end. marker goes into names that
 * would escape the sandbox if a sink used them as paths. */
int conf_send_hostile(evt_tracker *t, enum conf_hostile which,
                      const char *marker);

/* ---- conformance_checks.c -----------------------------------------------*/

void conf_check_create_close(struct conf_ctx *c);
void conf_check_create_destroy(struct conf_ctx *c);
void conf_check_flush_before_write(struct conf_ctx *c);
void conf_check_flush_twice(struct conf_ctx *c);
void conf_check_write_after_flush(struct conf_ctx *c);
void conf_check_close_drains(struct conf_ctx *c);
void conf_check_kind(struct conf_ctx *c, uint32_t kind);
void conf_check_full_run(struct conf_ctx *c);
void conf_check_immutable(struct conf_ctx *c);
void conf_check_hostile(struct conf_ctx *c, enum conf_hostile which);
void conf_check_retry(struct conf_ctx *c);
void conf_check_close_once(struct conf_ctx *c);
void conf_check_close_abandoned(struct conf_ctx *c);
void conf_check_threads(struct conf_ctx *c);

#endif
