/* evtrack/evtrack.h -- the embedding API.
 *
 * Open a tracker from a config, log events from any number of threads,
 * flush, close. The calling thread only encodes and enqueues; every sink
 * runs on its own worker thread behind its own bounded queue.
 *
 * Thread safety: every function may be called concurrently on one tracker,
 * except evt_close(), which must be the last call.
 * Fork: a tracker is not fork-safe. In a forked child every call on a
 * tracker opened by the parent returns EVT_ECLOSED and writes nothing.
 */
#ifndef EVTRACK_EVTRACK_H
#define EVTRACK_EVTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define EVT_API __declspec(dllexport)
#else
#define EVT_API __attribute__((visibility("default")))
#endif

#define EVT_VERSION_STRING "0.1.0"

typedef struct evt_tracker evt_tracker;
typedef struct evt_ev evt_ev; /* an event under construction */

/* Recommended size of error buffers passed to the open functions. */
#define EVT_ERRMSG_SIZE 512

/* Open a tracker from a JSON config file. On error returns a negative
 * status, sets *out to NULL and writes a one-line message into err (if
 * errlen > 0) naming the file and the JSON path (or line:column for a
 * syntax error) and the reason. */
EVT_API int evt_open_file(const char *path, evt_tracker **out, char *err,
                          size_t errlen);

/* The same from JSON text; base_dir resolves relative paths (NULL: cwd). */
EVT_API int evt_open_json(const char *json, const char *base_dir,
                          evt_tracker **out, char *err, size_t errlen);

/* The run id every event carries (config "run_id", or generated). */
EVT_API const char *evt_run_id(const evt_tracker *t);

/* The run's file-name stamp ("YYYYMMDD_HHMMSS", "_2"... when a run of the
 * same second exists), the one every sink sees (evt_host_api.run_stamp). */
EVT_API const char *evt_run_stamp(const evt_tracker *t);

/* ---- Event builder ------------------------------------------------------
 * evt_ev *e = evt_begin(t, EVT_EV_RESULT);
 * evt_str(e, "task", "mme"); evt_str(e, "metric", "acc");
 * evt_double(e, "value", 0.5);
 * rc = evt_commit(e);
 *
 * Values are written in call order. Inside an array the key is ignored
 * (pass NULL). Errors (invalid UTF-8, unbalanced containers, missing
 * required fields) are sticky and reported by evt_commit, which always
 * consumes the builder. A builder belongs to the thread that began it.
 * In steady state the builder performs no heap allocation. */
EVT_API evt_ev *evt_begin(evt_tracker *t, enum evt_event_kind kind);
EVT_API void evt_step(evt_ev *e, int64_t step); /* training step */
EVT_API void evt_str(evt_ev *e, const char *key, const char *val);
EVT_API void evt_strn(evt_ev *e, const char *key, const char *val,
                      size_t len);
EVT_API void evt_int(evt_ev *e, const char *key, int64_t val);
EVT_API void evt_double(evt_ev *e, const char *key, double val);
EVT_API void evt_bool(evt_ev *e, const char *key, int val);
EVT_API void evt_null(evt_ev *e, const char *key);
EVT_API void evt_map_begin(evt_ev *e, const char *key);
EVT_API void evt_map_end(evt_ev *e);
EVT_API void evt_array_begin(evt_ev *e, const char *key);
EVT_API void evt_array_end(evt_ev *e);
/* Embed a JSON value (any type) parsed from text. */
EVT_API void evt_json(evt_ev *e, const char *key, const char *json);
/* Embed one msgpack object (validated). */
EVT_API void evt_msgpack(evt_ev *e, const char *key, const void *buf,
                         size_t len);
/* The same as evt_str/evt_strn, evt_int, evt_double, evt_bool, evt_null,
 * evt_map_begin and evt_array_begin, with the key's length given (klen:
 * strlen(key); ignored when key is NULL) and, for evt_str_k, the value's
 * (vlen, as evt_strn). Call them directly, or let the names above do it:
 * unless EVT_NO_KEY_MACROS is defined, GNU C compilers (gcc, clang) route
 * those names through inline functions that measure the key where it is
 * written, so a literal key is measured once, at build time, and not on
 * every call (3 % of a sample event). A non-NULL key inside
 * an array is then measured too: it must be a string. */
EVT_API void evt_str_k(evt_ev *e, const char *key, size_t klen,
                       const char *val, size_t vlen);
EVT_API void evt_int_k(evt_ev *e, const char *key, size_t klen, int64_t val);
EVT_API void evt_double_k(evt_ev *e, const char *key, size_t klen,
                          double val);
EVT_API void evt_bool_k(evt_ev *e, const char *key, size_t klen, int val);
EVT_API void evt_null_k(evt_ev *e, const char *key, size_t klen);
EVT_API void evt_map_begin_k(evt_ev *e, const char *key, size_t klen);
EVT_API void evt_array_begin_k(evt_ev *e, const char *key, size_t klen);
/* Validate and enqueue to every sink that wants this kind. Returns EVT_OK,
 * or a negative status (see evt_last_error). Consumes e in every case. */
EVT_API int evt_commit(evt_ev *e);
EVT_API void evt_cancel(evt_ev *e);

/* ---- One-call helpers ---------------------------------------------------*/
/* Any kind from one JSON object whose members become the event's fields. */
EVT_API int evt_log_json(evt_tracker *t, enum evt_event_kind kind,
                         const char *json_object);
/* A sample from a ready msgpack map (must contain task and doc_id). */
EVT_API int evt_log_sample_msgpack(evt_tracker *t, const void *map,
                                   size_t len);
/* An aggregated metric. filter NULL means "none"; stderr_value NaN means
 * none; step < 0 means no step. */
EVT_API int evt_log_result(evt_tracker *t, const char *task,
                           const char *metric, const char *filter,
                           double value, double stderr_value, int64_t step);
/* A training-loop scalar. */
EVT_API int evt_log_scalar(evt_tracker *t, const char *tag, double value,
                           int64_t step);
/* The end of the run: end time and total seconds since open. */
EVT_API int evt_log_run_end(evt_tracker *t);

/* ---- Flush, close, stats -------------------------------------------------*/
/* Wait until every queued event was written and each sink flushed, or
 * timeout_ms passed (EVT_ETIMEDOUT). timeout_ms < 0 waits forever. */
EVT_API int evt_flush(evt_tracker *t, int64_t timeout_ms);

/* Drain queues until timeout_ms, flush and destroy every sink, free t.
 * Events still queued at the deadline are spilled to the spool where the
 * sink has one, else dead-lettered; nothing is dropped silently. Returns
 * EVT_OK or EVT_ETIMEDOUT. t is freed in every case. */
EVT_API int evt_close(evt_tracker *t, int64_t timeout_ms);

struct evt_sink_stats {
    char name[64];
    char plugin[64];
    int enabled; /* 0 once disabled by an error */
    uint64_t queued;        /* events accepted into its queue */
    uint64_t written;       /* events a write() accepted (of a sink that
                               saves at flush, those it did not save
                               count as dead_lettered instead) */
    uint64_t retried;       /* write() calls that returned EVT_RETRY */
    uint64_t spilled;       /* events appended to the spool */
    uint64_t dropped;       /* events dropped by drop_* policies */
    uint64_t dead_lettered; /* events in the dead-letter file */
    uint64_t depth;         /* events in the queue now */
};

/* Number of sinks; fills up to cap entries of out. */
EVT_API size_t evt_stats(evt_tracker *t, struct evt_sink_stats *out,
                         size_t cap);

/* Copy the last error message of this tracker into buf. Returns its
 * length (0 when there was none). */
EVT_API size_t evt_last_error(evt_tracker *t, char *buf, size_t len);

/* Where messages of the core and of sinks go. Default: stderr, warnings
 * and errors only ($EVTRACK_LOG=debug|info|warn|error|quiet changes the
 * level). Process-wide; fn NULL restores the default. Messages never hold
 * config values, so secrets cannot leak through them.
 * fn may be called with evtrack's internal locks held, from any thread:
 * it must not call evtrack functions, and must not wait for a lock that a
 * thread may hold while calling evtrack (e.g. Python's GIL); copy the
 * message and return. */
typedef void (*evt_log_fn)(void *ud, int level, const char *msg);
EVT_API void evt_set_log_handler(evt_log_fn fn, void *ud);

/* Name of a status code, e.g. "EVT_ETIMEDOUT". */
EVT_API const char *evt_status_name(int status);

/* ---- Plugin discovery (for `evtrack plugins`) ---------------------------*/
struct evt_plugin_info {
    char name[64];
    char version[32];
    uint32_t abi_version;
    char path[1024];
    char error[256]; /* non-empty when the file was refused */
};

/* Scan the plugin directories (those of config_path if not NULL, then the
 * built-in ones) and describe each evtrack-sink-*.so found. Returns the
 * count (may exceed cap) or a negative status with err filled. */
EVT_API int evt_list_plugins(const char *config_path,
                             struct evt_plugin_info *out, size_t cap,
                             char *err, size_t errlen);

/* Validate a config file without starting sinks' work (plugins are loaded
 * and their config keys checked). */
EVT_API int evt_check_config(const char *path, char *err, size_t errlen);

#if defined(__GNUC__) && !defined(EVT_NO_KEY_MACROS)
#define EVT__INLINE static inline __attribute__((always_inline))
EVT__INLINE size_t evt__len(const char *s)
{
    return s ? __builtin_strlen(s) : 0;
}
EVT__INLINE void evt__str(evt_ev *e, const char *key, const char *val)
{
    evt_str_k(e, key, evt__len(key), val, evt__len(val));
}
EVT__INLINE void evt__strn(evt_ev *e, const char *key, const char *val,
                           size_t len)
{
    evt_str_k(e, key, evt__len(key), val, val ? len : 0);
}
EVT__INLINE void evt__int(evt_ev *e, const char *key, int64_t val)
{
    evt_int_k(e, key, evt__len(key), val);
}
EVT__INLINE void evt__double(evt_ev *e, const char *key, double val)
{
    evt_double_k(e, key, evt__len(key), val);
}
EVT__INLINE void evt__bool(evt_ev *e, const char *key, int val)
{
    evt_bool_k(e, key, evt__len(key), val);
}
EVT__INLINE void evt__null(evt_ev *e, const char *key)
{
    evt_null_k(e, key, evt__len(key));
}
EVT__INLINE void evt__map_begin(evt_ev *e, const char *key)
{
    evt_map_begin_k(e, key, evt__len(key));
}
EVT__INLINE void evt__array_begin(evt_ev *e, const char *key)
{
    evt_array_begin_k(e, key, evt__len(key));
}
#undef EVT__INLINE
#define evt_str evt__str
#define evt_strn evt__strn
#define evt_int evt__int
#define evt_double evt__double
#define evt_bool evt__bool
#define evt_null evt__null
#define evt_map_begin evt__map_begin
#define evt_array_begin evt__array_begin
#endif

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_EVTRACK_H */
