/* evtrack-sink-markdown-table.so -- the Markdown results table that
 * lmms-eval, lm-evaluation-harness or lighteval prints at the end of a run,
 * rebuilt from the run's events: the sdk aggregator (evtrack/sdk/results.h)
 * makes the results dict, evt_make_table (evtrack/sdk/make_table.h)
 * renders it.
 *
 *  - run_end: the table goes to stdout with one write(2) on fd 1 (no stdio:
 *    no buffer shared with the host, nothing interleaved inside the
 *    table), and to "<results file stem>_table.md" next to the results
 *    file that local-json writes, replaced atomically.
 *  - flush() and destroy() rewrite the file when events arrived since the
 *    last write; they never print.
 * Documentation: docs/sinks/markdown-table.md. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "evtrack/sink.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/make_table.h"
#include "evtrack/sdk/results.h"
#include "evtrack/sdk/results_feed.h"

struct mt {
    /* the aggregator; its secrets (env values) never reach the table or a
     * path (the same as local-json's, so both sinks pick the same folder) */
    struct evt_results_feed feed;
    enum evt_table_style style;
    int to_stdout, to_file, groups;
    int print_pending;  /* a run_end was taken and its table not printed */
    int print_failed;   /* stdout failed once: warned, not again */
    char *dir;          /* output_dir */
    char *path;         /* the .md file, fixed by the first write */
    uint64_t saved;     /* evt_results_count at the last write */
};

static const struct evt_config_key keys[] = {
    {"style", EVT_CFG_STR, 0, "\"lmms-eval\"",
     "table of \"lmms-eval\", \"lm-eval\" or \"lighteval\""},
    {"stdout", EVT_CFG_BOOL, 0, "true", "print the table at run_end"},
    {"file", EVT_CFG_BOOL, 0, "true",
     "also write it as <results file stem>_table.md next to the results "
     "file"},
    {"groups", EVT_CFG_BOOL, 0, "true",
     "add the groups table when the run has groups (not lighteval)"},
    {NULL, 0, 0, NULL, NULL}};

/* ---- small helpers ------------------------------------------------------ */

/* Print on fd 1 without letting a closed pipe kill the host: SIGPIPE is
 * blocked in this thread for the call, and one it raised is taken back.
 * 0, or -1 with errno. */
static int print_text(const char *p, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0)
        return evt_write_all(1, p, n);
    int rc = evt_write_all(1, p, n), e = errno;
    if (rc != 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return rc;
}

/* ---- the text ----------------------------------------------------------- */

static const char *const companions[] = {
    "_stderr",            "_stderr_clt",         "_stderr_clustered",
    "_expected_accuracy", "_consensus_accuracy", "_internal_variance",
    "_consistency_rate",  NULL};

static int is_companion(const char *m, size_t n)
{
    for (int i = 0; companions[i]; i++) {
        size_t k = strlen(companions[i]);
        if (n > k && memcmp(m + n - k, companions[i], k) == 0)
            return 1;
    }
    return 0;
}

static int add_copy(cJSON *obj, const char *key, const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 1);
    if (c && cJSON_AddItemToObject(obj, key, c))
        return 0;
    cJSON_Delete(c);
    return -1;
}

/* One "<metric>,<filter>" member of an aggregated task as lighteval keys
 * it: "<metric>" (filter "none" or empty) or "<metric>,<filter>", then
 * "<name>_stderr" when the stderr is a number. 0, or -1 on OOM. */
static int light_metric(cJSON *out, const cJSON *task, const cJSON *it)
{
    const char *key = it->string, *comma = strchr(key, ',');
    size_t mlen = comma ? (size_t)(comma - key) : strlen(key);
    if (strcmp(key, "alias") == 0 || is_companion(key, mlen))
        return 0;
    int plain = !comma || !comma[1] || strcmp(comma + 1, "none") == 0;
    size_t n = strlen(key) + 16;
    char *name = malloc(n), *se_key = malloc(n);
    int rc = -1;
    if (name && se_key) {
        snprintf(name, n, "%.*s", (int)(plain ? mlen : strlen(key)), key);
        snprintf(se_key, n, "%.*s_stderr%s", (int)mlen, key,
                 comma ? comma : "");
        const cJSON *se = cJSON_GetObjectItemCaseSensitive(task, se_key);
        snprintf(se_key, n, "%s_stderr", name);
        rc = add_copy(out, name, it) == 0 &&
                     (!cJSON_IsNumber(se) || add_copy(out, se_key, se) == 0)
                 ? 0
                 : -1;
    }
    free(name);
    free(se_key);
    return rc;
}

/* lighteval's shape of the dict: {"results": {task: {metric: v,
 * metric_stderr: se}}, "versions": ...}. NULL on OOM. */
static cJSON *lighteval_dict(const cJSON *dict)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *res = out ? cJSON_AddObjectToObject(out, "results") : NULL;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(dict, "versions");
    int ok = res && (!ver || add_copy(out, "versions", ver) == 0);
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(dict, "results");
    for (const cJSON *t = tasks ? tasks->child : NULL; ok && t; t = t->next) {
        cJSON *task = cJSON_AddObjectToObject(res, t->string);
        ok = task != NULL;
        for (const cJSON *it = t->child; ok && it; it = it->next)
            ok = light_metric(task, t, it) == 0;
    }
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

/* The results table, then "\n" and the groups table when the dict has
 * "groups" and they are wanted: what the tools' CLIs print, less print()'s
 * final "\n". Heap string, or NULL with err. */
static char *tables(const struct mt *s, const cJSON *dict, char *err,
                    size_t errlen)
{
    char *a = evt_make_table(dict, s->style, "results", err, errlen);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(dict, "groups");
    if (!a || !s->groups || s->style == EVT_TABLE_LIGHTEVAL ||
        !cJSON_IsObject(g))
        return a;
    char *b = evt_make_table(dict, s->style, "groups", err, errlen);
    size_t na = strlen(a), nb = b ? strlen(b) : 0;
    char *all = b ? malloc(na + nb + 2) : NULL;
    if (all) {
        memcpy(all, a, na);
        all[na] = '\n';
        memcpy(all + na + 1, b, nb + 1);
    } else if (b) {
        snprintf(err, errlen, "out of memory");
    }
    free(a);
    free(b);
    return all;
}

/* The whole text for stdout and the file. NULL (logged) on failure. */
static char *render(const struct mt *s)
{
    const struct evt_results_feed *f = &s->feed;
    char err[256] = "out of memory";
    char *text = NULL;
    cJSON *dict = evt_results_to_cjson(f->agg, &f->opts, err, sizeof err);
    if (dict && s->style == EVT_TABLE_LIGHTEVAL) {
        cJSON *light = lighteval_dict(dict);
        cJSON_Delete(dict);
        dict = light;
    }
    if (dict)
        text = tables(s, dict, err, sizeof err);
    cJSON_Delete(dict);
    if (!text)
        f->api->log(f->h, EVT_LOG_ERROR, "cannot render the table: %s", err);
    return text;
}

/* ---- the file ------------------------------------------------------------ */

/* The table file of the i-th results file name that local-json would take
 * (i > 1: "_<i>" before the layout's tail): ".json" -> "_table.md". */
static char *table_name(const char *results_name, int i,
                        enum evt_results_layout l)
{
    const char *tail = l == EVT_RESULTS_LM_EVAL ? ".json" : "_results.json";
    size_t stem = strlen(results_name) - strlen(tail);
    size_t keep = strlen(tail) - strlen(".json");
    size_t n = strlen(results_name) + 32;
    char *p = malloc(n);
    char num[16] = "";
    if (i > 1)
        snprintf(num, sizeof num, "_%d", i);
    if (p)
        snprintf(p, n, "%.*s%s%.*s_table.md", (int)stem, results_name, num,
                 (int)keep, tail);
    return p;
}

/* Try the table names of "_2", "_3", ... after a taken one. 0 or -1. */
static int claim_in(struct mt *s, const char *dir, const char *name,
                    const char *text, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: no free file name", dir);
    for (int i = 1; i < 10000; i++) {
        char *nm = table_name(name, i, s->feed.opts.layout);
        char *path = nm ? evt_path_join(dir, nm) : NULL;
        int c = path ? evt_create_file_new(path, text, strlen(text), err,
                                               errlen)
                     : -1;
        if (!path)
            snprintf(err, errlen, "%s: out of memory", dir);
        free(nm);
        if (c == 0) {
            s->path = path;
            return 0;
        }
        free(path);
        if (c < 0)
            return -1;
    }
    return -1;
}

/* First write: the folder and name local-json uses for the results file,
 * with the first table name no other file has. 0 or -1 (logged). */
static int claim(struct mt *s, const char *text)
{
    const struct evt_results_feed *f = &s->feed;
    char err[600], *sub = NULL, *name = NULL, *dir = NULL;
    int rc = -1;
    if (evt_results_file_path(f->agg, &f->opts, &sub, &name) != 0 ||
        !(dir = evt_path_join(s->dir, sub)))
        snprintf(err, sizeof err, "%s: out of memory", s->dir);
    else if (evt_mkdirs(*dir ? dir : ".", err, sizeof err) == 0)
        rc = claim_in(s, dir, name, text, err, sizeof err);
    if (rc != 0)
        f->api->log(f->h, EVT_LOG_ERROR, "cannot write the table file: %s",
                    err);
    free(sub);
    free(name);
    free(dir);
    return rc;
}

static int save(struct mt *s, const char *text)
{
    const struct evt_results_feed *f = &s->feed;
    char err[600];
    int rc = 0;
    if (!s->path)
        rc = claim(s, text);
    else if ((rc = evt_write_file_atomic(s->path, text, strlen(text), err,
                                         sizeof err)) != 0)
        f->api->log(f->h, EVT_LOG_ERROR, "cannot write the table file: %s",
                    err);
    if (rc == 0)
        s->saved = evt_results_count(f->agg);
    return rc;
}

static int dirty(const struct mt *s)
{
    uint64_t n = evt_results_count(s->feed.agg);
    return s->to_file && n > 0 && (n != s->saved || !s->path);
}

/* Render and write the file if it is out of date. 0 or -1 (logged). */
static int save_if_dirty(struct mt *s)
{
    if (!dirty(s))
        return 0;
    char *text = render(s);
    int rc = text ? save(s, text) : -1;
    free(text);
    return rc;
}

/* ---- callbacks ----------------------------------------------------------- */

static void mt_free(struct mt *s)
{
    evt_results_feed_free(&s->feed);
    free(s->dir);
    free(s->path);
    free(s);
}

/* style -> table style and the aggregator layout that suits it: lm-eval
 * and lighteval read the lm-eval dict, lmms-eval its own. 0 or -1. */
static int read_config(struct mt *s, const evt_config *cfg)
{
    const struct evt_host_api *api = s->feed.api;
    struct evt_results_opts *o = &s->feed.opts;
    if (evt_table_style_from_name(api->cfg_str(cfg, "style", "lmms-eval"),
                                  &s->style) != 0) {
        api->log(s->feed.h, EVT_LOG_ERROR, "config key \"style\": expected "
                 "\"lmms-eval\", \"lm-eval\" or \"lighteval\"");
        return -1;
    }
    o->layout = s->style == EVT_TABLE_LMMS_EVAL ? EVT_RESULTS_LMMS_EVAL
                                                : EVT_RESULTS_LM_EVAL;
    o->nan = EVT_RESULTS_NAN_BARE; /* NaN prints "NaN", as upstream */
    o->redact = 1;
    s->to_stdout = api->cfg_bool(cfg, "stdout", 1);
    s->to_file = api->cfg_bool(cfg, "file", 1);
    s->groups = api->cfg_bool(cfg, "groups", 1);
    return 0;
}

static int mt_create(evt_host *h, const struct evt_host_api *api,
                     const evt_config *cfg, void **out)
{
    struct mt *s = calloc(1, sizeof *s);
    if (!s)
        return EVT_ENOMEM;
    if (evt_results_feed_init(&s->feed, h, api) != 0) {
        mt_free(s); /* logged */
        return EVT_ENOMEM;
    }
    const char *dir = api->output_dir(h);
    if (!(s->dir = strdup(dir ? dir : ""))) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        mt_free(s);
        return EVT_ENOMEM;
    }
    if (read_config(s, cfg) != 0) {
        mt_free(s);
        return EVT_ECONFIG;
    }
    *out = s;
    return EVT_OK;
}

static void print_table(struct mt *s, const char *text)
{
    const struct evt_results_feed *f = &s->feed;
    if (print_text(text, strlen(text)) == 0 || s->print_failed)
        return;
    s->print_failed = 1;
    f->api->log(f->h, EVT_LOG_WARN, "cannot print the table on stdout: %s",
                strerror(errno));
}

/* After a batch with a run_end: print once per run_end taken, and write
 * the file. EVT_OK or EVT_RETRY. */
static int at_run_end(struct mt *s)
{
    int print = s->print_pending && s->to_stdout, write_file = dirty(s);
    if (!print && !write_file) {
        s->print_pending = 0;
        return EVT_OK;
    }
    char *text = render(s);
    if (!text)
        return EVT_RETRY; /* the print is still pending */
    if (print)
        print_table(s, text);
    s->print_pending = 0;
    int rc = write_file && save(s, text) != 0 ? EVT_RETRY : EVT_OK;
    free(text);
    return rc;
}

static int mt_write(void *inst, const evt_event *const *events, size_t n)
{
    struct mt *s = inst;
    int ended = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = evt_results_feed_take(&s->feed, events[i]);
        uint32_t kind = s->feed.api->ev_kind(events[i]);
        int end = kind == EVT_EV_RUN_END;
        if (rc == -2)
            return EVT_RETRY; /* events already taken are deduplicated */
        s->print_pending |= end && rc == 1;
        ended |= end;
    }
    return ended ? at_run_end(s) : EVT_OK;
}

static int mt_flush(void *inst, int64_t deadline_ns)
{
    (void)deadline_ns;
    return save_if_dirty(inst) == 0 ? EVT_OK : EVT_ERROR;
}

static void mt_destroy(void *inst)
{
    struct mt *s = inst;
    save_if_dirty(s);
    mt_free(s);
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "markdown-table",
    .version = "0.1.0",
    .description = "the Markdown results table of lmms-eval, lm-eval or "
                   "lighteval, printed at run_end and kept as a .md file",
    .event_mask = EVT_EV_RUN_START | EVT_EV_TASK_CONFIG | EVT_EV_SAMPLE |
                  EVT_EV_RESULT | EVT_EV_RUN_END,
    .flags = 0,
    .config_keys = keys,
    .create = mt_create,
    .write = mt_write,
    .destroy = mt_destroy,
    .flush = mt_flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
