/* evtrack-sink-local-json.so -- the aggregated results file of lmms-eval
 * ({dir}/{model_name_sanitized}/{date}_results.json), lm-eval
 * ({dir}/{model_name_sanitized}/results_{date}.json) or lighteval
 * ({dir}/results/{org}/{model}/results_{date}.json), rebuilt from the
 * run's events by the sdk aggregator (evtrack/sdk/results.h) and replaced
 * atomically at every flush, at run_end and at destroy, so a crash leaves
 * the last complete version. Docs: docs/sinks/local-json.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evtrack/sink.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/json_write.h"
#include "evtrack/sdk/results.h"
#include "evtrack/sdk/results_feed.h"

struct lj {
    /* the aggregator; its secrets (env values) never reach the file */
    struct evt_results_feed feed;
    char *dir;          /* the output folder */
    char *path;         /* the results file, fixed by the first write */
    uint64_t saved;     /* evt_results_count at the last write */
};

static const struct evt_config_key keys[] = {
    {"layout", EVT_CFG_STR, 0, "\"lmms-eval\"",
     "results file layout: \"lmms-eval\", \"lm-eval\" or \"lighteval\""},
    {"dir", EVT_CFG_STR, 0, NULL,
     "output folder (default: the tracker's output_dir; a relative path is "
     "taken inside it)"},
    {"nan", EVT_CFG_STR, 0, "\"strict\"",
     "NaN/Infinity: \"strict\" (null + nonfinite_values) or \"bare\" (as "
     "json.dumps)"},
    {"redact", EVT_CFG_BOOL, 0, "true",
     "redact tokens and keys in config/model_args as lmms-eval does"},
    {NULL, 0, 0, NULL, NULL}};

/* ---- files ------------------------------------------------------------ */

/* name with "_<i>" before its "_results.json" / ".json" tail. */
static char *numbered(const char *name, int i, enum evt_results_layout l)
{
    const char *tail = l == EVT_RESULTS_LMMS_EVAL ? "_results.json" : ".json";
    size_t stem = strlen(name) - strlen(tail), n = strlen(name) + 16;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%.*s_%d%s", (int)stem, name, i, tail);
    return p;
}

/* First write: pick the file name (the tool's, or the first free one with
 * "_2", "_3", ... when a file of that name already exists: another run
 * with the same date) and create it. 0 or -1 (logged). */
static int claim(struct lj *s, const struct evt_buf *b)
{
    const struct evt_results_feed *f = &s->feed;
    char err[600], *sub = NULL, *name = NULL, *dir = NULL;
    int rc = -1;
    if (evt_results_file_path(f->agg, &f->opts, &sub, &name) != 0 ||
        !(dir = evt_path_join(s->dir, sub))) {
        snprintf(err, sizeof err, "%s: out of memory", s->dir);
    } else if (evt_mkdirs(*dir ? dir : ".", err, sizeof err) == 0) {
        snprintf(err, sizeof err, "%s/%s: no free file name", dir, name);
        for (int i = 1; i < 10000 && rc == -1; i++) {
            char *nm =
                i == 1 ? strdup(name) : numbered(name, i, f->opts.layout);
            char *path = nm ? evt_path_join(dir, nm) : NULL;
            int c = path ? evt_create_file_new(path, b->data, b->len, err,
                                               sizeof err)
                     : -1;
            if (!path)
                snprintf(err, sizeof err, "%s: out of memory", dir);
            if (c == 0) {
                s->path = path;
                path = NULL;
                rc = 0;
            }
            free(nm);
            free(path);
            if (c < 0)
                break;
        }
    }
    if (rc != 0)
        f->api->log(f->h, EVT_LOG_ERROR, "cannot write the results file: %s",
                    err);
    free(sub);
    free(name);
    free(dir);
    return rc;
}

/* Render the dict and put it on disk. 0 or -1 (logged). */
static int save(struct lj *s)
{
    const struct evt_results_feed *f = &s->feed;
    struct evt_buf b;
    char err[600];
    evt_buf_init(&b);
    int rc = evt_results_render_json(f->agg, &f->opts, &b, err, sizeof err);
    if (rc != 0)
        f->api->log(f->h, EVT_LOG_ERROR, "cannot render the results for "
                    "%s: %s", s->path ? s->path : s->dir, err);
    else if (!s->path)
        rc = claim(s, &b);
    else if ((rc = evt_write_file_atomic(s->path, b.data, b.len, err,
                                         sizeof err)) != 0)
        f->api->log(f->h, EVT_LOG_ERROR, "cannot write the results file: %s",
                    err);
    if (rc == 0)
        s->saved = evt_results_count(f->agg);
    evt_buf_free(&b);
    return rc;
}

static int dirty(const struct lj *s)
{
    uint64_t n = evt_results_count(s->feed.agg);
    return n > 0 && (n != s->saved || !s->path);
}

/* ---- callbacks ---------------------------------------------------------- */

static int read_enums(struct lj *s, const evt_config *cfg)
{
    const struct evt_host_api *api = s->feed.api;
    if (evt_results_layout_from_name(api->cfg_str(cfg, "layout", "lmms-eval"),
                                     &s->feed.opts.layout) != 0) {
        api->log(s->feed.h, EVT_LOG_ERROR, "config key \"layout\": expected "
                 "\"lmms-eval\", \"lm-eval\" or \"lighteval\"");
        return -1;
    }
    if (evt_results_nan_from_name(api->cfg_str(cfg, "nan", "strict"),
                                  &s->feed.opts.nan) != 0) {
        api->log(s->feed.h, EVT_LOG_ERROR,
                 "config key \"nan\": expected \"strict\" or \"bare\"");
        return -1;
    }
    s->feed.opts.redact = api->cfg_bool(cfg, "redact", 1);
    return 0;
}

/* The output folder: "dir" (inside output_dir when relative), else
 * output_dir. */
static char *out_dir(const struct evt_host_api *api, evt_host *h,
                     const evt_config *cfg)
{
    const char *base = api->output_dir(h);
    const char *dir = api->cfg_str(cfg, "dir", NULL);
    if (!base)
        base = "";
    if (!dir || !*dir)
        return strdup(base);
    return dir[0] == '/' ? strdup(dir) : evt_path_join(base, dir);
}

static void lj_free(struct lj *s)
{
    evt_results_feed_free(&s->feed);
    free(s->dir);
    free(s->path);
    free(s);
}

static int lj_create(evt_host *h, const struct evt_host_api *api,
                     const evt_config *cfg, void **out)
{
    struct lj *s = calloc(1, sizeof *s);
    if (!s)
        return EVT_ENOMEM;
    if (evt_results_feed_init(&s->feed, h, api) != 0) {
        lj_free(s); /* logged */
        return EVT_ENOMEM;
    }
    if (!(s->dir = out_dir(api, h, cfg))) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        lj_free(s);
        return EVT_ENOMEM;
    }
    if (read_enums(s, cfg) != 0) {
        lj_free(s);
        return EVT_ECONFIG;
    }
    *out = s;
    return EVT_OK;
}

static int lj_write(void *inst, const evt_event *const *events, size_t n)
{
    struct lj *s = inst;
    int ended = 0;
    for (size_t i = 0; i < n; i++) {
        if (evt_results_feed_take(&s->feed, events[i]) == -2)
            return EVT_RETRY; /* events already taken are deduplicated */
        ended |= s->feed.api->ev_kind(events[i]) == EVT_EV_RUN_END;
    }
    if (ended && dirty(s) && save(s) != 0)
        return EVT_RETRY;
    return EVT_OK;
}

static int lj_flush(void *inst, int64_t deadline_ns)
{
    struct lj *s = inst;
    (void)deadline_ns;
    return !dirty(s) || save(s) == 0 ? EVT_OK : EVT_ERROR;
}

static void lj_destroy(void *inst)
{
    struct lj *s = inst;
    if (dirty(s))
        save(s);
    lj_free(s);
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "local-json",
    .version = "1.0.0",
    .description = "lmms-eval / lm-eval / lighteval results file, "
                   "atomically rewritten",
    .event_mask = EVT_EV_RUN_START | EVT_EV_TASK_CONFIG | EVT_EV_SAMPLE |
                  EVT_EV_RESULT | EVT_EV_RUN_END,
    .flags = EVT_SINK_F_HOLDS, /* the results live in memory until saved */
    .config_keys = keys,
    .create = lj_create,
    .write = lj_write,
    .destroy = lj_destroy,
    .flush = lj_flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
