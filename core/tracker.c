/* tracker.c -- open, dispatch, flush, close, stats: the embedding API's
 * life cycle around the sink workers. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "plugin_dirs.h"
#include "scrub.h"
#include "strbuf.h"
#include "worker.h"

/* ---- fork detection ------------------------------------------------------*/

atomic_uint evt__fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&evt__fork_generation, 1);
}
static void register_atfork(void) { pthread_atfork(NULL, NULL, on_fork_child); }

/* Zeroed memory starting on a cache line, for the structs whose hot fields
 * are laid out on lines of their own (tracker.h). free() releases it. */
static void *calloc_lines(size_t n)
{
    n = (n + 63) / 64 * 64; /* aligned_alloc wants a multiple */
    void *p = aligned_alloc(64, n);
    if (p)
        memset(p, 0, n);
    return p;
}

/* ---- errors -----------------------------------------------------------------*/

struct evt__errbox *evt__errbox_new(void)
{
    struct evt__errbox *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    atomic_init(&b->refs, 1);
    return b;
}

struct evt__errbox *evt__errbox_ref(struct evt__errbox *b)
{
    if (b)
        atomic_fetch_add(&b->refs, 1);
    return b;
}

void evt__errbox_unref(struct evt__errbox *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

void evt__errbox_vset(struct evt__errbox *b, const char *fmt, va_list ap)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    pthread_mutex_unlock(&b->mu);
}

void evt__set_error(struct evt_tracker *t, const char *fmt, ...)
{
    if (!t)
        return;
    va_list ap;
    va_start(ap, fmt);
    evt__errbox_vset(t->err, fmt, ap);
    va_end(ap);
}

size_t evt_last_error(evt_tracker *t, char *buf, size_t len)
{
    if (!t || !t->err || evt__forked(t)) /* a parent's lock may be held */
        return 0;
    pthread_mutex_lock(&t->err->mu);
    size_t n = strlen(t->err->msg);
    evt__strlcpy(buf, t->err->msg, len);
    pthread_mutex_unlock(&t->err->mu);
    return n;
}

const char *evt_status_name(int status)
{
    switch (status) {
    case EVT_OK: return "EVT_OK";
    case EVT_RETRY: return "EVT_RETRY";
    case EVT_ERROR: return "EVT_ERROR";
    case EVT_EINVAL: return "EVT_EINVAL";
    case EVT_ENOMEM: return "EVT_ENOMEM";
    case EVT_EIO: return "EVT_EIO";
    case EVT_EABI: return "EVT_EABI";
    case EVT_ECONFIG: return "EVT_ECONFIG";
    case EVT_ETIMEDOUT: return "EVT_ETIMEDOUT";
    case EVT_ECLOSED: return "EVT_ECLOSED";
    case EVT_EDROPPED: return "EVT_EDROPPED";
    default: return "EVT_UNKNOWN";
    }
}

const char *evt_run_id(const evt_tracker *t) { return t ? t->run_id : NULL; }

const char *evt_run_stamp(const evt_tracker *t)
{
    return t ? t->run_stamp : NULL;
}

/* ---- building sinks from the config ----------------------------------------*/

static char *new_run_id(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    uint64_t r = (uint64_t)evt__mono_ns() * 0x9e3779b97f4a7c15ull ^
                 (uint64_t)getpid() << 32 ^ (uint64_t)evt__now_ns();
    return evt__asprintf("%s-%08x", stamp, (unsigned)(r >> 32 ^ r));
}

/* Load the plugin of spec and check its config; the host is not started. */
static int load_sink(const struct evt__config_file *cf,
                     struct evt__sink_spec *spec, struct evt_host **out,
                     char *err, size_t errlen)
{
    struct evt_host *h = calloc_lines(sizeof *h);
    if (!h)
        return evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    char msg[EVT_ERRMSG_SIZE];
    int rc = evt__plugin_load(spec->path, &h->plugin, msg, sizeof msg);
    if (rc) {
        free(h);
        return evt__err(err, errlen, rc, "%s: %s: %s", cf->source,
                        spec->where, msg);
    }
    h->config = spec->config;
    spec->config = NULL;
    memcpy(h->where, spec->where, sizeof h->where);
    h->name = spec->name;
    spec->name = NULL;
    *out = h;
    const struct evt_sink_vtable *vt = &h->plugin.vt;
    rc = evt__config_bind(h->config, vt->config_keys, vt->name, cf->source,
                          spec->where, err, errlen);
    if (rc)
        return rc;
    h->mask = spec->events ? spec->events & vt->event_mask : vt->event_mask;
    if (!h->mask)
        return evt__err(err, errlen, EVT_ECONFIG,
                        "%s: %s.events: plugin \"%s\" takes none of these "
                        "event kinds", cf->source, spec->where, vt->name);
    h->overflow = spec->overflow_set ? spec->overflow
                  : (vt->flags & EVT_SINK_F_NETWORK) ? EVT_OVERFLOW_SPILL
                                                     : EVT_OVERFLOW_BLOCK;
    h->holds = (vt->flags & EVT_SINK_F_HOLDS) && vt->flush; /* needs a save */
    h->max_events = spec->max_events;
    h->retry_limit = spec->retry_limit;
    h->retry_base_ms = spec->retry_base_ms;
    h->retry_cap_ms = spec->retry_cap_ms;
    h->enabled = 1;
    return EVT_OK;
}

/* Paths, locks, spool and instance of a loaded sink. A failing create()
 * disables the sink (its events go to the dead-letter file); the tracker
 * still opens. */
static int prepare_sink(struct evt_tracker *t, struct evt_host *h,
                        const char *source, char *err, size_t errlen)
{
    h->t = t;
    h->err = evt__errbox_ref(t->err);
    memcpy(h->run_stamp, t->run_stamp, sizeof h->run_stamp);
    h->output_dir = evt__strdup(t->output_dir);
    h->state_dir = evt__asprintf("%s/sinks/%s", t->state_dir, h->name);
    h->spool_path = evt__asprintf("%s/spool/%s.spool", t->state_dir, h->name);
    h->dlq_path = evt__asprintf("%s/rejected/%s.spool", t->state_dir, h->name);
    if (!h->output_dir || !h->state_dir || !h->spool_path || !h->dlq_path ||
        evt__sink_init(h))
        return evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    if (h->overflow == EVT_OVERFLOW_SPILL) {
        char msg[EVT_ERRMSG_SIZE];
        int rc = evt__sink_open_spool(h, msg, sizeof msg);
        if (rc)
            return evt__err(err, errlen, rc, "%s: %s: %s", source,
                            h->where, msg);
    }
    int rc = h->plugin.vt.create(h, &evt__host_api, h->config, &h->instance);
    if (rc != EVT_OK || !h->instance) {
        h->instance = NULL;
        h->enabled = 0;
        evt__host_log(h, EVT_LOG_ERROR,
                      "create failed (status %d): sink disabled; its events "
                      "go to %s", rc, h->dlq_path);
    }
    return EVT_OK;
}

static void free_unstarted(struct evt_host *h)
{
    if (!h)
        return;
    if (h->t) { /* initialised by prepare_sink */
        evt__sink_free(h);
        return;
    }
    evt__plugin_unload(&h->plugin);
    evt__sink_config_free(h->config);
    free(h->name);
    free(h);
}

static void tracker_free(struct evt_tracker *t)
{
    for (size_t i = 0; i < t->nsinks; i++)
        free_unstarted(t->sinks[i]);
    free(t->sinks);
    evt__pool_release(t->pool);
    evt__errbox_unref(t->err);
    free(t->output_dir);
    free(t->state_dir);
    free(t->run_id);
    free(t);
}

static int tracker_new(struct evt__config_file *cf, struct evt_tracker **out)
{
    struct evt_tracker *t = calloc_lines(sizeof *t);
    if (!t)
        return EVT_ENOMEM;
    evt__lock_init(&t->dispatch_mu);
    t->err = evt__errbox_new();
    t->output_dir = cf->output_dir;
    cf->output_dir = NULL;
    t->state_dir = cf->state_dir;
    cf->state_dir = NULL;
    t->run_id = cf->run_id ? cf->run_id : new_run_id();
    cf->run_id = NULL;
    t->open_time_ns = evt__now_ns();
    t->pool = t->run_id ? evt__pool_new(t->run_id) : NULL;
    t->sinks = calloc(cf->nsinks ? cf->nsinks : 1, sizeof *t->sinks);
    pthread_once(&atfork_once, register_atfork);
    t->fork_gen = atomic_load(&evt__fork_generation);
    *out = t;
    if (!t->err || !t->pool || !t->sinks || evt__build_headers(t))
        return EVT_ENOMEM;
    return EVT_OK;
}

/* The run's file-name stamp: UTC time of opening, made unique among the
 * runs of one output_dir by claiming <state_dir>/stamps/<stamp> with an
 * exclusive mkdir (two processes cannot both get one). */
static int claim_run_stamp(struct evt_tracker *t, const char *source,
                           char *err, size_t errlen)
{
    time_t now = (time_t)(t->open_time_ns / 1000000000);
    struct tm tm;
    gmtime_r(&now, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y%m%d_%H%M%S", &tm);
    char *dir = evt__path_join(t->state_dir, "stamps");
    if (!dir || (evt__mkdirs(dir, 0755) != 0 && errno != EEXIST)) {
        int e = errno;
        free(dir);
        return evt__err(err, errlen, EVT_EIO, "%s: state_dir: %s/stamps: %s",
                        source, t->state_dir, strerror(e));
    }
    for (int i = 1; i < 10000; i++) {
        if (i == 1)
            snprintf(t->run_stamp, sizeof t->run_stamp, "%s", base);
        else
            snprintf(t->run_stamp, sizeof t->run_stamp, "%s_%d", base, i);
        char *claim = evt__path_join(dir, t->run_stamp);
        int rc = claim ? mkdir(claim, 0755) : -1;
        int e = errno;
        free(claim);
        if (rc == 0) {
            free(dir);
            return EVT_OK;
        }
        if (e != EEXIST)
            break;
    }
    free(dir);
    return evt__err(err, errlen, EVT_EIO, "%s: state_dir: %s/stamps: cannot "
                    "claim a run stamp", source, t->state_dir);
}

/* Load every enabled sink of cf into t (not yet created). */
static int load_all(struct evt_tracker *t, struct evt__config_file *cf,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < cf->nsinks; i++) {
        struct evt_host *h = NULL;
        int rc = load_sink(cf, &cf->sinks[i], &h, err, errlen);
        if (rc) {
            free_unstarted(h);
            return rc;
        }
        if (!cf->sinks[i].enabled) {
            free_unstarted(h); /* validated, then left out */
            continue;
        }
        t->sinks[t->nsinks++] = h;
    }
    return EVT_OK;
}

/* evt__open_file_only: the kept sink must exist and be enabled. */
static int check_only(const struct evt__config_file *cf, const char *name,
                      char *err, size_t errlen)
{
    for (size_t i = 0; i < cf->nsinks; i++) {
        const struct evt__sink_spec *sp = &cf->sinks[i];
        if (!sp->name || strcmp(sp->name, name) != 0)
            continue;
        if (sp->enabled)
            return EVT_OK;
        return evt__err(err, errlen, EVT_ECONFIG, "%s: %s: sink \"%s\" is "
                        "disabled (\"enabled\": false)", cf->source,
                        sp->where, name);
    }
    return evt__err(err, errlen, EVT_ECONFIG, "%s: no sink named \"%s\"",
                    cf->source, name);
}

/* Leave out every loaded sink but the one named name; it never spills. */
static void keep_only(struct evt_tracker *t, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nsinks; i++) {
        struct evt_host *h = t->sinks[i];
        if (strcmp(h->name, name) != 0) {
            free_unstarted(h);
            continue;
        }
        h->overflow = EVT_OVERFLOW_BLOCK;
        t->sinks[n++] = h;
    }
    t->nsinks = n;
}

/* Claim the stamp, create the instances, size the pool, start the
 * workers. */
static int start_all(struct evt_tracker *t, struct evt__config_file *cf,
                     const struct evt__only *only, char *err, size_t errlen)
{
    int rc = claim_run_stamp(t, cf->source, err, errlen);
    for (size_t i = 0; !rc && i < t->nsinks; i++)
        rc = prepare_sink(t, t->sinks[i], cf->source, err, errlen);
    for (size_t i = 0; !rc && only && only->setup && i < t->nsinks; i++)
        rc = only->setup(t->sinks[i], only->ud, err, errlen);
    size_t keep = 2 * EVT__BATCH_MAX;
    for (size_t i = 0; !rc && i < t->nsinks; i++)
        keep += t->sinks[i]->max_events;
    if (!rc)
        evt__pool_set_keep(t->pool, keep);
    for (size_t i = 0; !rc && i < t->nsinks; i++)
        if ((rc = evt__sink_start(t->sinks[i])))
            evt__err(err, errlen, rc, "cannot start a worker thread");
    return rc;
}

static int open_config(struct evt__config_file *cf, evt_tracker **out,
                       int start, const struct evt__only *only, char *err,
                       size_t errlen)
{
    struct evt_tracker *t = NULL;
    int rc = only ? check_only(cf, only->name, err, errlen) : EVT_OK;
    if (!rc && (rc = tracker_new(cf, &t)))
        evt__err(err, errlen, rc, "out of memory");
    if (!rc)
        rc = load_all(t, cf, err, errlen);
    if (!rc && only)
        keep_only(t, only->name);
    if (!rc && start)
        rc = start_all(t, cf, only, err, errlen);
    if (rc) {
        if (t)
            evt_close(t, 0); /* stops the workers already started */
        *out = NULL;
        return rc;
    }
    if (!start) {
        tracker_free(t);
        t = NULL;
    }
    *out = t;
    return EVT_OK;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return evt__strdup(".");
    if (slash == path)
        return evt__strdup("/");
    char *d = evt__strdup(path);
    if (d)
        d[slash - path] = '\0';
    return d;
}

static int open_common(const char *text, size_t len, const char *source,
                       const char *base_dir, int start,
                       const struct evt__only *only, evt_tracker **out,
                       char *err, size_t errlen)
{
    struct evt__config_file cf;
    int rc = evt__config_parse(text, len, source, base_dir, &cf, err, errlen);
    if (rc == EVT_OK) {
        rc = open_config(&cf, out, start, only, err, errlen);
        evt__config_free(&cf);
    }
    /* Messages name values only where they are names (a plugin, a sink);
     * a ${TOKEN} expanded into one must not show. */
    if (rc != EVT_OK && err && errlen)
        evt__scrub_text(err, errlen);
    return rc;
}

static int open_file(const char *path, int start,
                     const struct evt__only *only, evt_tracker **out,
                     char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!path)
        return evt__err(err, errlen, EVT_EINVAL, "no config file given");
    char *text, *dir = dir_of(path);
    size_t len;
    int rc = dir ? evt__read_file(path, &text, &len, err, errlen)
                 : evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    if (rc == EVT_OK) {
        evt_tracker *t = NULL;
        rc = open_common(text, len, path, dir, start, only, &t, err,
                         errlen);
        if (out)
            *out = t;
        free(text);
    }
    free(dir);
    return rc;
}

int evt_open_file(const char *path, evt_tracker **out, char *err,
                  size_t errlen)
{
    if (!out)
        return evt__err(err, errlen, EVT_EINVAL, "out is NULL");
    return open_file(path, 1, NULL, out, err, errlen);
}

int evt__open_file_only(const char *path, const struct evt__only *only,
                        evt_tracker **out, char *err, size_t errlen)
{
    if (!out || !only || !only->name)
        return evt__err(err, errlen, EVT_EINVAL, "out or only is NULL");
    return open_file(path, 1, only, out, err, errlen);
}

int evt_open_json(const char *json, const char *base_dir, evt_tracker **out,
                  char *err, size_t errlen)
{
    if (!out)
        return evt__err(err, errlen, EVT_EINVAL, "out is NULL");
    *out = NULL;
    if (!json)
        return evt__err(err, errlen, EVT_EINVAL, "no config text given");
    return open_common(json, strlen(json), "<config>", base_dir, 1, NULL, out,
                       err, errlen);
}

int evt_check_config(const char *path, char *err, size_t errlen)
{
    evt_tracker *t = NULL;
    return open_file(path, 0, NULL, &t, err, errlen);
}

/* ---- dispatch --------------------------------------------------------------*/

/* A sink whose queue was full: the producer waits for it after the
 * dispatch lock is released, so one blocked sink never holds up the fan-out
 * to the others nor other producers' events to other sinks. */
struct blocked {
    struct evt_host *h;
    uint64_t ticket;
};

#define INLINE_BLOCKED 16
#define BLOCKED_POLL_NS (2 * 1000000)

/* Queue e to every sink it is blocked on. Waiting on one sink while the
 * ticket of another is due would make that other sink (and every later
 * producer's event for it) wait too, so serve whatever can be served and
 * wait on the first remaining sink only briefly before looking again. */
static void wait_blocked(struct blocked *b, size_t n, struct evt_event *e)
{
    size_t left = n;
    while (left) {
        int progress = 0;
        for (size_t i = 0; i < n; i++)
            if (b[i].h && evt__sink_wait_push(b[i].h, e, b[i].ticket, 0)) {
                b[i].h = NULL;
                left--;
                progress = 1;
            }
        for (size_t i = 0; !progress && i < n; i++)
            if (b[i].h) {
                if (evt__sink_wait_push(b[i].h, e, b[i].ticket,
                                        evt__mono_ns() + BLOCKED_POLL_NS)) {
                    b[i].h = NULL;
                    left--;
                }
                break;
            }
    }
}

int evt__dispatch(struct evt_tracker *t, struct evt_event *e)
{
    if (evt__forked(t)) {
        evt__event_release(e);
        return EVT_ECLOSED;
    }
    struct blocked inline_blocked[INLINE_BLOCKED], *blocked = inline_blocked;
    if (t->nsinks > INLINE_BLOCKED &&
        !(blocked = malloc(t->nsinks * sizeof *blocked))) {
        evt__event_release(e);
        return EVT_ENOMEM;
    }
    size_t nblocked = 0;
    int rc = EVT_OK, given = 0;
    evt__lock_acquire(&t->dispatch_mu);
    if (t->closed) {
        rc = EVT_ECLOSED;
    } else {
        e->seq = ++t->seq;
        uint64_t be = e->seq;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        be = __builtin_bswap64(be);
#endif
        memcpy(e->buf + e->seq_off, &be, 8);
        size_t last = SIZE_MAX; /* the last sink that wants e */
        for (size_t i = 0; i < t->nsinks; i++)
            if (t->sinks[i]->mask & e->kind)
                last = i;
        for (size_t i = 0; i < t->nsinks; i++) {
            struct evt_host *h = t->sinks[i];
            if (!(h->mask & e->kind))
                continue;
            /* The last sink may take the caller's reference instead of one
             * of its own: one pair of atomic operations less per event.
             * Earlier sinks that block hold a reference of their own. */
            int r = evt__sink_offer(h, e, &blocked[nblocked].ticket,
                                    i == last ? &given : NULL);
            if (r == EVT_RETRY)
                blocked[nblocked++].h = h;
            else if (r == EVT_EDROPPED)
                rc = EVT_EDROPPED;
        }
    }
    evt__lock_release(&t->dispatch_mu);
    if (nblocked)
        wait_blocked(blocked, nblocked, e);
    if (blocked != inline_blocked)
        free(blocked);
    if (!given) /* else e may be gone already: a worker may have finished */
        evt__event_release(e);
    if (rc == EVT_ECLOSED)
        evt__set_error(t, "the tracker is closed");
    else if (rc == EVT_EDROPPED)
        evt__set_error(t, "a sink's queue was full: the event was dropped "
                          "there (overflow policy)");
    return rc;
}

/* ---- flush and close ----------------------------------------------------------*/

static int64_t deadline_of(int64_t timeout_ms)
{
    const int64_t max_ms = INT64_MAX / 4 / 1000000; /* ~73 years */
    if (timeout_ms < 0 || timeout_ms > max_ms)
        return timeout_ms < 0 ? -1 : evt__mono_ns() + max_ms * 1000000;
    return evt__mono_ns() + timeout_ms * 1000000;
}

/* Ask every sink to flush before waiting for any, so that they all drain
 * at the same time and a hung sink does not use up the deadline of the
 * sinks after it. */
static int flush_all(struct evt_tracker *t, int64_t deadline)
{
    int rc = EVT_OK;
    uint64_t one, *ticket = t->nsinks > 1 ? malloc(t->nsinks * sizeof *ticket)
                                          : &one;
    for (size_t i = 0; ticket && i < t->nsinks; i++)
        if (t->sinks[i]->thread_started)
            ticket[i] = evt__sink_flush_ask(t->sinks[i], deadline);
    for (size_t i = 0; i < t->nsinks; i++) {
        if (!t->sinks[i]->thread_started)
            continue;
        int r = ticket ? evt__sink_flush_wait(t->sinks[i], ticket[i], deadline)
                       : evt__sink_flush(t->sinks[i], deadline); /* OOM */
        if (r != EVT_OK && rc == EVT_OK)
            rc = r;
    }
    if (ticket != &one)
        free(ticket);
    return rc;
}

int evt_flush(evt_tracker *t, int64_t timeout_ms)
{
    if (!t)
        return EVT_EINVAL;
    if (evt__forked(t))
        return EVT_ECLOSED;
    int rc = flush_all(t, deadline_of(timeout_ms));
    if (rc == EVT_ETIMEDOUT)
        evt__set_error(t, "flush: the deadline passed before every sink "
                          "was drained");
    return rc;
}

int evt_close(evt_tracker *t, int64_t timeout_ms)
{
    if (!t)
        return EVT_EINVAL;
    if (evt__forked(t))
        return EVT_ECLOSED; /* the parent owns the threads and files */
    int64_t deadline = deadline_of(timeout_ms);
    evt__lock_acquire(&t->dispatch_mu);
    t->closed = 1;
    evt__lock_release(&t->dispatch_mu);
    int rc = flush_all(t, deadline);
    int64_t stop_at = deadline < 0 ? INT64_MAX / 2 : deadline;
    /* Tell every worker first: an idle one is gone before a hung one has
     * used up the grace period, instead of being abandoned with it. */
    for (size_t i = 0; i < t->nsinks; i++)
        if (t->sinks[i]->thread_started)
            evt__sink_stop_ask(t->sinks[i], stop_at);
    for (size_t i = 0; i < t->nsinks; i++) {
        struct evt_host *h = t->sinks[i];
        if (!h->thread_started)
            continue;
        if (evt__sink_stop(h, stop_at) == EVT_ETIMEDOUT) {
            t->sinks[i] = NULL; /* its worker frees it */
            rc = EVT_ETIMEDOUT;
        }
    }
    tracker_free(t);
    return rc == EVT_ETIMEDOUT ? EVT_ETIMEDOUT : EVT_OK;
}

size_t evt_stats(evt_tracker *t, struct evt_sink_stats *out, size_t cap)
{
    if (!t || evt__forked(t)) /* the parent's locks may be held forever */
        return 0;
    for (size_t i = 0; i < t->nsinks && i < cap; i++)
        evt__sink_stats(t->sinks[i], &out[i]);
    return t->nsinks;
}

/* ---- plugin discovery -----------------------------------------------------------*/

static void describe(const char *path, struct evt_plugin_info *info)
{
    memset(info, 0, sizeof *info);
    evt__strlcpy(info->path, path, sizeof info->path);
    struct evt__plugin p;
    char msg[EVT_ERRMSG_SIZE];
    if (evt__plugin_load(path, &p, msg, sizeof msg) != EVT_OK) {
        evt__strlcpy(info->error, msg, sizeof info->error);
        return;
    }
    evt__strlcpy(info->name, p.vt.name, sizeof info->name);
    evt__strlcpy(info->version, p.vt.version ? p.vt.version : "",
                 sizeof info->version);
    info->abi_version = p.vt.abi_version;
    evt__plugin_unload(&p);
}

static int scan_dir(const char *dir, struct evt_plugin_info *out, size_t cap,
                    size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    size_t plen = strlen(EVT__PLUGIN_PREFIX), slen = strlen(EVT__PLUGIN_SUFFIX);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= plen + slen ||
            strncmp(de->d_name, EVT__PLUGIN_PREFIX, plen) != 0 ||
            strcmp(de->d_name + len - slen, EVT__PLUGIN_SUFFIX) != 0)
            continue;
        if (*n < cap) {
            char *path = evt__path_join(dir, de->d_name);
            if (path)
                describe(path, &out[*n]);
            free(path);
        }
        (*n)++;
    }
    closedir(d);
    return 0;
}

int evt_list_plugins(const char *config_path, struct evt_plugin_info *out,
                     size_t cap, char *err, size_t errlen)
{
    char **dirs = NULL;
    struct evt__config_file cf = {0};
    if (config_path) {
        char *text, *dir = dir_of(config_path);
        size_t len;
        int rc = dir ? evt__read_file(config_path, &text, &len, err, errlen)
                     : evt__err(err, errlen, EVT_ENOMEM, "out of memory");
        if (rc == EVT_OK) {
            rc = evt__config_parse(text, len, config_path, dir, &cf, err,
                                   errlen);
            free(text);
        }
        free(dir);
        if (rc)
            return rc;
        dirs = cf.plugin_dirs;
    } else {
        dirs = evt__plugin_search_dirs(NULL, 0);
        if (!dirs)
            return evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; dirs[i]; i++)
        scan_dir(dirs[i], out, cap, &n);
    if (config_path)
        evt__config_free(&cf);
    else
        evt__strv_free(dirs);
    return (int)n;
}
