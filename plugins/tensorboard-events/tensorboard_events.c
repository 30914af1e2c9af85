/* evtrack-sink-tensorboard-events.so -- TensorBoard event files, written
 * natively (TFRecord framing and protobuf by hand, tb_encode.c).
 *
 *  - result: value and stderr as scalars at eval/{task}/{metric} and
 *    stderr_eval/{task}/{metric} (lighteval's tags), at the event's step;
 *  - scalar: its own tag, value and step;
 *  - run_end: the results table (Text tab) and the run configuration
 *    (HParams dashboard), read from the run's sdk aggregator.
 * One file per run id under <logdir>/<run_name> (tb_runs.c). Each batch's
 * records reach the files with write(2) before write() returns; they are
 * fdatasync'ed at run_end, flush, close and every flush_secs.
 * Documentation: docs/sinks/tensorboard-events.md. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "evtrack/sink.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"
#include "tb_encode.h"
#include "tb_run_end.h"
#include "tb_runs.h"

struct tbs {
    evt_host *h;
    const struct evt_host_api *api;
    struct tb_runs runs;
    char *tag, *stderr_tag, *table_tag;
    enum tb_scalar_form form;
    int hparams;
    int64_t flush_ns;       /* 0: sync after every batch */
    int64_t last_sync_ns;   /* CLOCK_MONOTONIC */
    uint64_t skipped;       /* values that were not numbers */
    struct evt_results_opts opts; /* redaction for the table and hparams */
    char *secrets[EVT_RESULTS_MAX_SECRETS];
    struct evt_buf scratch; /* tags and Event bytes, reused */
    struct evt_buf msg;
};

static const struct evt_config_key keys[] = {
    {"logdir", EVT_CFG_STR, 0, "\"tb\"",
     "TensorBoard log folder; relative paths are under output_dir"},
    {"run_name", EVT_CFG_STR, 0, "\"{run_id}\"",
     "the run's sub-folder of logdir ({run_id} replaced; \"\": none)"},
    {"tag", EVT_CFG_STR, 0, "\"eval/{task}/{metric}\"",
     "tag of a result's value ({task} {metric} {metric_name} {filter})"},
    {"stderr_tag", EVT_CFG_STR, 0, "\"stderr_eval/{task}/{metric}\"",
     "tag of a result's stderr (\"\": not written)"},
    {"scalar_form", EVT_CFG_STR, 0, "\"simple\"",
     "\"simple\" (simple_value) or \"tensor\" (rank-0 DT_FLOAT)"},
    {"table_tag", EVT_CFG_STR, 0, "\"eval_results\"",
     "tag of the results table at run_end (\"\": no table)"},
    {"hparams", EVT_CFG_BOOL, 0, "true",
     "write the run configuration as an HParams session at run_end"},
    {"flush_secs", EVT_CFG_DOUBLE, 0, "10",
     "fdatasync the files at most this many seconds apart (0: every batch)"},
    {NULL, 0, 0, NULL, NULL}};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- tags ---------- */

struct tag_parts {
    const msgpack_object *task, *metric, *filter;
};

static void put_str(struct evt_buf *b, const msgpack_object *o)
{
    if (o && o->type == MSGPACK_OBJECT_STR)
        evt_buf_put(b, o->via.str.ptr, o->via.str.size);
}

static int filter_is_none(const msgpack_object *f)
{
    return !f || f->type != MSGPACK_OBJECT_STR || f->via.str.size == 0 ||
           evt_mp_str_eq(f, "none");
}

/* Append the placeholder at p (one of ours) and return its length, or 0
 * when p does not start a placeholder. */
static size_t put_placeholder(struct evt_buf *b, const char *p,
                              const struct tag_parts *tp)
{
    static const char *const names[] = {"{task}", "{metric}",
                                        "{metric_name}", "{filter}"};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(p, names[i], n) != 0)
            continue;
        if (i == 0)
            put_str(b, tp->task);
        if (i == 1 || i == 2)
            put_str(b, tp->metric);
        if (i == 1 && !filter_is_none(tp->filter)) {
            evt_buf_put(b, ",", 1);
            put_str(b, tp->filter);
        }
        if (i == 3) {
            if (filter_is_none(tp->filter))
                evt_buf_puts(b, "none");
            else
                put_str(b, tp->filter);
        }
        return n;
    }
    return 0;
}

static void expand_tag(struct evt_buf *b, const char *tmpl,
                       const struct tag_parts *tp)
{
    b->len = 0;
    for (const char *p = tmpl; *p;) {
        size_t n = *p == '{' ? put_placeholder(b, p, tp) : 0;
        if (n == 0)
            evt_buf_put(b, p, 1);
        p += n ? n : 1;
    }
}

/* A secret inside a tag becomes [REDACTED] (secrets of 8+ bytes, as the
 * results files do), so no token reaches a file through a task name. */
static void scrub(struct tbs *s, struct evt_buf *b)
{
    for (int i = 0; i < EVT_RESULTS_MAX_SECRETS; i++) {
        const char *sec = s->opts.secrets[i];
        size_t n = sec ? strlen(sec) : 0;
        char *hit;
        while (n >= 8 && b->len && (hit = memmem(b->data, b->len, sec, n))) {
            size_t at = (size_t)(hit - b->data), tail = b->len - at - n;
            char *rest = malloc(tail ? tail : 1);
            if (!rest) {
                b->oom = 1;
                return;
            }
            memcpy(rest, hit + n, tail);
            b->len = at;
            evt_buf_puts(b, "[REDACTED]");
            evt_buf_put(b, rest, tail);
            free(rest);
        }
    }
}

/* ---- records ---------- */

static double wall_of(const struct tbs *s, const evt_event *e)
{
    return (double)s->api->ev_time_ns(e) / 1e9;
}

static int64_t step_of(const struct tbs *s, const evt_event *e)
{
    int64_t step = 0;
    return s->api->ev_step(e, &step) == 1 ? step : 0;
}

/* One scalar record into the run's pending buffer; the tag is in
 * s->scratch. */
static void add_scalar(struct tbs *s, struct tb_run *r, const evt_event *e,
                       double value)
{
    scrub(s, &s->scratch);
    s->msg.len = 0;
    tb_event_scalar(&s->msg, wall_of(s, e), step_of(s, e), s->scratch.data,
                    s->scratch.len, (float)value, s->form);
    if (s->msg.oom || s->scratch.oom) {
        r->pending.oom = 1;
        s->msg.oom = s->scratch.oom = 0;
        return;
    }
    tb_record_frame(&r->pending, s->msg.data, s->msg.len);
}

static void warn_skipped(struct tbs *s, const evt_event *e, const char *what)
{
    if (s->skipped++ == 0)
        s->api->log(s->h, EVT_LOG_WARN,
                    "%s event seq %llu (%s): value is not a number; skipped"
                    " (further ones are counted, not logged)",
                    s->api->ev_kind(e) == EVT_EV_RESULT ? "result" : "scalar",
                    (unsigned long long)s->api->ev_seq(e), what);
}

static void describe(char *out, size_t n, const struct tag_parts *tp)
{
    const msgpack_object *t = tp->task, *m = tp->metric;
    snprintf(out, n, "task \"%.*s\", metric \"%.*s\"",
             t ? (int)t->via.str.size : 0, t ? t->via.str.ptr : "",
             m ? (int)m->via.str.size : 0, m ? m->via.str.ptr : "");
}

static void on_result(struct tbs *s, struct tb_run *r, const evt_event *e,
                      const msgpack_object *ev)
{
    struct tag_parts tp = {evt_mp_get(ev, "task"), evt_mp_get(ev, "metric"),
                           evt_mp_get(ev, "filter")};
    if (!tp.task || tp.task->type != MSGPACK_OBJECT_STR || !tp.metric ||
        tp.metric->type != MSGPACK_OBJECT_STR)
        return; /* the core refuses such events; nothing to name it by */
    double v;
    if (evt_mp_double(evt_mp_get(ev, "value"), &v) == 0) {
        expand_tag(&s->scratch, s->tag, &tp);
        add_scalar(s, r, e, v);
    } else {
        char what[300];
        describe(what, sizeof what, &tp);
        warn_skipped(s, e, what);
    }
    if (s->stderr_tag[0] &&
        evt_mp_double(evt_mp_get(ev, "stderr"), &v) == 0) {
        expand_tag(&s->scratch, s->stderr_tag, &tp);
        add_scalar(s, r, e, v);
    }
}

static void on_scalar(struct tbs *s, struct tb_run *r, const evt_event *e,
                      const msgpack_object *ev)
{
    const msgpack_object *tag = evt_mp_get(ev, "tag");
    double v;
    if (!tag || tag->type != MSGPACK_OBJECT_STR)
        return;
    if (evt_mp_double(evt_mp_get(ev, "value"), &v) != 0) {
        char what[300];
        snprintf(what, sizeof what, "tag \"%.*s\"", (int)tag->via.str.size,
                 tag->via.str.ptr);
        warn_skipped(s, e, what);
        return;
    }
    s->scratch.len = 0;
    evt_buf_put(&s->scratch, tag->via.str.ptr, tag->via.str.size);
    add_scalar(s, r, e, v);
}

static void on_run_end(struct tbs *s, struct tb_run *r, const evt_event *e)
{
    if (!s->table_tag[0] && !s->hparams)
        return;
    char err[256] = "out of memory";
    cJSON *dict = evt_results_to_cjson(r->agg, &s->opts, err, sizeof err);
    if (!dict) {
        s->api->log(s->h, EVT_LOG_ERROR, "run %s: no table or hparams: %s",
                    r->run_id, err);
        return;
    }
    double wall = wall_of(s, e);
    int64_t start = r->start_ns ? r->start_ns : r->first_ns;
    s->msg.len = 0;
    if (s->table_tag[0] &&
        tb_table_event(&s->msg, dict, s->table_tag, wall, r->max_step) == 0)
        tb_record_frame(&r->pending, s->msg.data, s->msg.len);
    if (s->hparams)
        (void)tb_hparams_records(&r->pending, dict, wall,
                                 (double)start / 1e9, wall);
    if (s->msg.oom)
        r->pending.oom = 1;
    s->msg.oom = 0;
    cJSON_Delete(dict);
}

/* The aggregator keeps what the table and hparams need. A refusal is
 * logged; the event's scalars are still written. */
static void aggregate(struct tbs *s, struct tb_run *r, const evt_event *e,
                      const msgpack_object *ev)
{
    char err[256];
    int rc = evt_results_add(r->agg, ev, err, sizeof err);
    if (rc == -1)
        s->api->log(s->h, EVT_LOG_WARN, "event seq %llu not in the table: %s",
                    (unsigned long long)s->api->ev_seq(e), err);
    else if (rc == -2)
        r->pending.oom = 1;
}

static void track_run(struct tbs *s, struct tb_run *r, const evt_event *e,
                      uint32_t kind)
{
    int64_t t = s->api->ev_time_ns(e), step = step_of(s, e);
    if (!r->first_ns)
        r->first_ns = t;
    if (kind == EVT_EV_RUN_START)
        r->start_ns = t;
    if (step > r->max_step)
        r->max_step = step;
}

/* Records of one event into its run's pending buffer. 0, or -1 (OOM). */
static int take(struct tbs *s, const evt_event *e, int *run_end)
{
    char err[256];
    struct tb_run *r = tb_runs_get(&s->runs, s->api->ev_run_id(e), err,
                                   sizeof err);
    struct evt_view v;
    if (!r || evt_view_open(&v, s->api, e) != 0)
        return -1;
    uint32_t kind = s->api->ev_kind(e);
    track_run(s, r, e, kind);
    if (kind != EVT_EV_SCALAR)
        aggregate(s, r, e, &v.root);
    if (kind == EVT_EV_RESULT)
        on_result(s, r, e, &v.root);
    else if (kind == EVT_EV_SCALAR)
        on_scalar(s, r, e, &v.root);
    else if (kind == EVT_EV_RUN_END) {
        on_run_end(s, r, e);
        *run_end = 1;
    }
    evt_view_close(&v);
    return 0;
}

/* ---- callbacks ---------- */

static int sync_all(struct tbs *s)
{
    char err[600];
    s->last_sync_ns = mono_ns();
    if (tb_runs_sync(&s->runs, err, sizeof err) == 0)
        return EVT_OK;
    s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
    return EVT_RETRY;
}

static int tb_write(void *inst, const evt_event *const *events, size_t n)
{
    struct tbs *s = inst;
    int run_end = 0, oom = 0;
    for (size_t i = 0; i < n && !oom; i++)
        oom = take(s, events[i], &run_end) != 0;
    char err[600] = "out of memory";
    if (oom || tb_runs_commit(&s->runs, err, sizeof err) != 0) {
        if (oom) /* drop what the batch left pending; it is retried */
            tb_runs_drop(&s->runs);
        s->api->log(s->h, EVT_LOG_ERROR, "cannot write the events: %s", err);
        return EVT_RETRY;
    }
    if (run_end || mono_ns() - s->last_sync_ns >= s->flush_ns)
        return sync_all(s);
    return EVT_OK;
}

static int tb_flush(void *inst, int64_t deadline_ns)
{
    (void)deadline_ns;
    return sync_all(inst);
}

static void tbs_free(struct tbs *s)
{
    tb_runs_free(&s->runs);
    evt_results_free_secrets(s->secrets);
    free(s->tag);
    free(s->stderr_tag);
    free(s->table_tag);
    evt_buf_free(&s->scratch);
    evt_buf_free(&s->msg);
    free(s);
}

static void tb_destroy(void *inst)
{
    struct tbs *s = inst;
    (void)sync_all(s);
    if (s->skipped)
        s->api->log(s->h, EVT_LOG_WARN,
                    "%llu values were not numbers and were skipped",
                    (unsigned long long)s->skipped);
    tbs_free(s);
}

/* ---- create ---------- */

static int bad_key(struct tbs *s, const char *key, const char *expected)
{
    s->api->log(s->h, EVT_LOG_ERROR, "config key \"%s\": %s", key, expected);
    return -1;
}

static char *logdir_of(struct tbs *s, const evt_config *cfg)
{
    const char *dir = s->api->cfg_str(cfg, "logdir", "tb");
    const char *out = s->api->output_dir(s->h);
    if (dir[0] == '/' || !out || !out[0])
        return strdup(dir[0] ? dir : ".");
    return dir[0] ? evt_path_join(out, dir) : strdup(out);
}

static int read_config(struct tbs *s, const evt_config *cfg)
{
    const struct evt_host_api *api = s->api;
    const char *form = api->cfg_str(cfg, "scalar_form", "simple");
    if (strcmp(form, "simple") == 0)
        s->form = TB_SCALAR_SIMPLE;
    else if (strcmp(form, "tensor") == 0)
        s->form = TB_SCALAR_TENSOR;
    else
        return bad_key(s, "scalar_form", "expected \"simple\" or \"tensor\"");
    double secs = api->cfg_double(cfg, "flush_secs", 10);
    if (!(secs >= 0) || secs > 1e9)
        return bad_key(s, "flush_secs", "expected a number of seconds >= 0");
    s->flush_ns = (int64_t)(secs * 1e9);
    s->tag = strdup(api->cfg_str(cfg, "tag", "eval/{task}/{metric}"));
    if (s->tag && !s->tag[0])
        return bad_key(s, "tag", "must not be empty");
    s->stderr_tag = strdup(
        api->cfg_str(cfg, "stderr_tag", "stderr_eval/{task}/{metric}"));
    s->table_tag = strdup(api->cfg_str(cfg, "table_tag", "eval_results"));
    s->hparams = api->cfg_bool(cfg, "hparams", 1);
    char *logdir = logdir_of(s, cfg);
    int rc = logdir && s->tag && s->stderr_tag && s->table_tag &&
                     tb_runs_init(&s->runs, logdir,
                                  api->cfg_str(cfg, "run_name", "{run_id}")) ==
                         0
                 ? 0
                 : -1;
    free(logdir);
    if (rc != 0)
        api->log(s->h, EVT_LOG_ERROR, "out of memory");
    return rc;
}

static int tb_create(evt_host *h, const struct evt_host_api *api,
                     const evt_config *cfg, void **instance)
{
    struct tbs *s = calloc(1, sizeof *s);
    if (!s) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        return EVT_ENOMEM;
    }
    s->h = h;
    s->api = api;
    evt_buf_init(&s->scratch);
    evt_buf_init(&s->msg);
    s->opts.layout = EVT_RESULTS_LM_EVAL; /* the W&B table's dict */
    s->opts.nan = EVT_RESULTS_NAN_BARE;
    s->opts.redact = 1;
    if (read_config(s, cfg) != 0 ||
        evt_results_load_secrets(&s->opts, s->secrets) != 0) {
        tbs_free(s);
        return EVT_ECONFIG;
    }
    s->last_sync_ns = mono_ns();
    *instance = s;
    return EVT_OK;
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "tensorboard-events",
    .version = "0.1.0",
    .description = "TensorBoard event files: eval scalars, training "
                   "scalars, the results table and the run's hparams",
    .event_mask = EVT_EV_RUN_START | EVT_EV_TASK_CONFIG | EVT_EV_RESULT |
                  EVT_EV_SCALAR | EVT_EV_RUN_END,
    .flags = 0,
    .config_keys = keys,
    .create = tb_create,
    .write = tb_write,
    .destroy = tb_destroy,
    .flush = tb_flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
