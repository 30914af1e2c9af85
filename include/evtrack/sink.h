/* evtrack/sink.h -- the logger-sink ABI.
 *
 * The ONLY header a sink includes. It depends on <stddef.h> and <stdint.h>
 * and nothing else: no msgpack, cJSON or curl type crosses the ABI.
 *
 * Rules (see docs/ABI.md):
 *  - A sink is a shared object exporting exactly one symbol,
 *    evt_sink_entry_v1 (the name carries the ABI major).
 *  - The host passes a host API table and receives a const vtable. Both
 *    structs carry struct_size and abi_version and only ever grow at the end.
 *  - The host accepts a sink when major(sink) == major(host) and
 *    minor(sink) <= minor(host), and copies the vtable only after checking
 *    its size.
 *  - Events are opaque handles; their bytes are one msgpack map encoded once
 *    by the core (docs/EVENTS.md), read through the host API.
 */
#ifndef EVTRACK_SINK_H
#define EVTRACK_SINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVT_SINK_ABI_MAJOR 1
#define EVT_SINK_ABI_MINOR 1
#define EVT_SINK_ABI_VERSION \
    (((uint32_t)EVT_SINK_ABI_MAJOR << 16) | (uint32_t)EVT_SINK_ABI_MINOR)
#define EVT_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define EVT_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)

#if defined(_WIN32)
#define EVT_SINK_EXPORT __declspec(dllexport)
#else
#define EVT_SINK_EXPORT __attribute__((visibility("default")))
#endif

typedef struct evt_host evt_host;     /* opaque: host side of one instance */
typedef struct evt_event evt_event;   /* opaque: immutable, refcounted */
typedef struct evt_config evt_config; /* opaque: this instance's "config" */

/* Status codes. Sink callbacks return EVT_OK, EVT_RETRY or EVT_ERROR; the
 * embedding API returns EVT_OK or one of the negative codes. */
enum evt_status {
    EVT_OK = 0,
    EVT_RETRY = 1,      /* transient: the host retries the same batch */
    EVT_ERROR = -1,     /* permanent: the batch is dead-lettered */
    EVT_EINVAL = -2,    /* bad argument or bad event */
    EVT_ENOMEM = -3,
    EVT_EIO = -4,
    EVT_EABI = -5,      /* plugin refused by the loader */
    EVT_ECONFIG = -6,   /* bad config file or value */
    EVT_ETIMEDOUT = -7, /* a deadline passed */
    EVT_ECLOSED = -8,   /* tracker closed, or used in a forked child */
    EVT_EDROPPED = -9   /* event dropped by an overflow policy */
};

/* Event kinds: each is one bit, so a sink can subscribe with a mask. */
enum evt_event_kind {
    EVT_EV_RUN_START = 1u << 0,
    EVT_EV_TASK_CONFIG = 1u << 1,
    EVT_EV_SAMPLE = 1u << 2,
    EVT_EV_RESULT = 1u << 3,
    EVT_EV_SCALAR = 1u << 4,
    EVT_EV_RUN_END = 1u << 5
};
#define EVT_EV_ALL 0x3fu

enum evt_log_level {
    EVT_LOG_ERROR = 0,
    EVT_LOG_WARN = 1,
    EVT_LOG_INFO = 2,
    EVT_LOG_DEBUG = 3
};

/* Types of declared config keys (struct evt_config_key.type). */
enum evt_config_type {
    EVT_CFG_STR = 1,
    EVT_CFG_INT = 2,
    EVT_CFG_DOUBLE = 3,
    EVT_CFG_BOOL = 4,
    EVT_CFG_JSON = 5 /* any JSON value; read it with cfg_json */
};

/* Host -> sink function table. Append-only: never reorder, never remove.
 * A sink may use a field only when
 *   offsetof(struct evt_host_api, f) + sizeof(f) <= api->struct_size. */
struct evt_host_api {
    uint32_t struct_size; /* sizeof(struct evt_host_api) in the host */
    uint32_t abi_version; /* the host's EVT_SINK_ABI_VERSION */

    /* Logging through the host (rate-limited, secrets never passed). */
    void (*log)(evt_host *h, int level, const char *fmt, ...);

    /* Config accessors. Keys were validated against config_keys before
     * create(); an absent key yields the declared default, then dflt.
     * Returned strings stay valid until destroy(). */
    const char *(*cfg_str)(const evt_config *c, const char *key,
                           const char *dflt);
    int64_t (*cfg_int)(const evt_config *c, const char *key, int64_t dflt);
    double (*cfg_double)(const evt_config *c, const char *key, double dflt);
    int (*cfg_bool)(const evt_config *c, const char *key, int dflt);
    /* Compact JSON text of any key, NULL when absent. */
    const char *(*cfg_json)(const evt_config *c, const char *key);

    /* Instance facts. */
    const char *(*instance_name)(const evt_host *h);
    const char *(*output_dir)(const evt_host *h); /* top-level output_dir */
    /* This instance's own state folder, <state_dir>/sinks/<name>; the sink
     * creates it when it needs it. */
    const char *(*state_dir)(const evt_host *h);
    /* This run's time stamp for file names, "YYYYMMDD_HHMMSS" (UTC, when
     * the tracker opened), made unique within output_dir: a second run
     * in the same second gets "..._2". Every sink of a run sees the same
     * stamp, so its results and samples files share it. */
    const char *(*run_stamp)(const evt_host *h);

    /* Event accessors. Pointers stay valid while the event is held. */
    uint32_t (*ev_kind)(const evt_event *e);
    uint64_t (*ev_seq)(const evt_event *e);    /* monotonic per tracker */
    int64_t (*ev_time_ns)(const evt_event *e); /* wall clock, Unix ns */
    int (*ev_step)(const evt_event *e, int64_t *step); /* 1 if it has one */
    const char *(*ev_run_id)(const evt_event *e);
    void (*ev_msgpack)(const evt_event *e, const void **buf, size_t *len);
    /* write() lends events for the call only; retain keeps one longer. */
    void (*ev_retain)(const evt_event *e);
    void (*ev_release)(const evt_event *e);

    /* v1.1. From write(), before it returns anything but EVT_OK: the
     * first n events of the batch are handled for good (on disk, sent),
     * so the host counts them written, calls write() again with the rest
     * only, and when it gives up puts only the rest in the dead-letter
     * file, where a replay would deliver them a second time. Ignored for
     * a sink with EVT_SINK_F_HOLDS and for a batch read back from the
     * spool (both settle whole batches). */
    void (*batch_done)(evt_host *h, size_t n);
    /* v1.2+ fields go here. */
};

/* 1 when the host's api table has field f: for a sink that declares an
 * older minor than the header it was built with (ABI.md section 3). */
#define EVT_API_HAS(api, f)                                              \
    (offsetof(struct evt_host_api, f) + sizeof((api)->f) <=              \
         (api)->struct_size &&                                           \
     (api)->f != NULL)

/* A declared config key; arrays end with a {NULL} entry. */
struct evt_config_key {
    const char *name;
    int type;            /* enum evt_config_type */
    int required;        /* 1: create() is not called without it */
    const char *dflt;    /* default as JSON text, or NULL */
    const char *description;
};

/* Sink -> host. Append-only. The pointer stays valid until unload. */
struct evt_sink_vtable {
    uint32_t struct_size; /* sizeof(struct evt_sink_vtable) in the sink */
    uint32_t abi_version; /* EVT_SINK_ABI_VERSION the sink was built with */
    const char *name;     /* short name, e.g. "jsonl" */
    const char *version;  /* the sink's own version string */
    const char *description;
    uint32_t event_mask;  /* enum evt_event_kind bits it wants */
    uint32_t flags;       /* EVT_SINK_F_* */
    const struct evt_config_key *config_keys; /* NULL: accepts no keys */

    /* Required. create() returns EVT_OK and sets *instance, or an error
     * after logging the reason through api->log. */
    int (*create)(evt_host *h, const struct evt_host_api *api,
                  const evt_config *cfg, void **instance);
    /* Called from the sink's own worker thread only, with events in seq
     * order. EVT_RETRY: the host calls again later with the same batch.
     * EVT_ERROR: the batch is dead-lettered and the sink disabled. */
    int (*write)(void *instance, const evt_event *const *events, size_t n);
    void (*destroy)(void *instance);

    /* Optional (NULL: not supported). Make everything written so far
     * durable; deadline_ns is CLOCK_MONOTONIC ns. */
    int (*flush)(void *instance, int64_t deadline_ns);
};

#define EVT_SINK_F_NETWORK (1u << 0) /* default overflow policy: spill */
/* write() takes events into memory that only a later flush() (or a
 * write() that saves) puts on disk, as an aggregating sink does. The host
 * then keeps each event this sink acknowledged until its next successful
 * flush(), and puts them in the dead-letter file when that flush fails or
 * the sink gives up, so that no acknowledged event is lost. A host that
 * does not know the flag ignores it. */
#define EVT_SINK_F_HOLDS (1u << 1)

typedef const struct evt_sink_vtable *(*evt_sink_entry_fn)(
    const struct evt_host_api *api);

#define EVT_SINK_ENTRY_NAME "evt_sink_entry_v1"

/* Every sink defines exactly this function. */
EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api);

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_SINK_H */
