/* jsonl.c -- evtrack-sink-jsonl.so: per-task sample files in the JSONL
 * layout of lmms-eval (default), lm-evaluation-harness or lighteval's
 * details, streamed one line per sample event. Documentation:
 * docs/sinks/jsonl.md.
 *
 * Contract with the host (docs/ABI.md):
 *  - write(): each sample line is appended with one write(2) as its event
 *    arrives. A failing open/write returns EVT_RETRY (the host backs off
 *    and dead-letters the batch after retry.limit); an event that cannot
 *    be turned into a line (undecodable, no str "task", a value JSON
 *    cannot hold) is skipped with a warning and EVT_OK, so one bad event
 *    never blocks or dead-letters the events around it.
 *  - Events of a retried batch that were already written are recognised
 *    by (run_id, seq) and not written twice.
 *  - fsync: "always" after every batch, "flush" in flush(), at run_end and
 *    in destroy(), "none" never. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/json_write.h"
#include "evtrack/sdk/results.h"
#include "evtrack/sink.h"
#include "jfiles.h"
#include "jwrite.h"
#include "record.h"

enum { JL_SYNC_NONE = 0, JL_SYNC_FLUSH = 1, JL_SYNC_ALWAYS = 2 };

#define JL_TASK_MAX 200 /* bytes of a task name in a file name */
#define JL_DATE_MAX 64  /* bytes of the date part of a file name */
#define JL_MODEL_MAX 200

struct jl {
    const struct evt_host_api *api;
    evt_host *h;
    struct jl_opts opts;
    int sync;        /* JL_SYNC_* */
    char *cfg_dir;   /* "dir" resolved, or NULL */
    char *dir;       /* the folder of the task files */
    char *date;      /* the date part of file names */
    struct jl_files files;
    struct jl_rec *rec; /* the line builder's reused memory */
    /* Token values scrubbed from lines and file names (§3.7): copies of
     * the variables read at create, and the long ones of them. */
    char *secret_store[EVT_RESULTS_MAX_SECRETS];
    struct jl_secrets sec;
    struct evt_buf path;
    /* s->path is the file of the task named path_task while path_ok (a
     * run_start may change the folder and the date). */
    struct evt_buf path_task;
    int path_ok;
    char *done_run;  /* run_id and seq of the last event handled */
    uint64_t done_seq;
    /* Lines not yet written: consecutive lines for one file go out in one
     * write(2). They cover a contiguous run of events ending with
     * pend_last, which is marked done only once the write succeeded, so a
     * retried batch neither loses nor repeats a line. */
    struct evt_buf pend;
    char *pend_path;
    const evt_event *pend_last;
};

/* Flush s->pend past this size even within one batch. */
#define JL_PEND_MAX (1u << 20)

static const struct evt_config_key keys[] = {
    {"layout", EVT_CFG_STR, 0, "\"lmms-eval\"",
     "file names and record layout: \"lmms-eval\", \"lm-eval\" or "
     "\"lighteval\""},
    {"dir", EVT_CFG_STR, 0, NULL,
     "folder of the sample files (relative: to output_dir); default "
     "output_dir/<sanitized model> (lmms-eval, lm-eval) or "
     "output_dir/details/<org>/<model>/<date> (lighteval)"},
    {"fsync", EVT_CFG_STR, 0, "\"flush\"",
     "\"none\", \"flush\" (on flush, run_end and close) or \"always\" "
     "(after every batch)"},
    {"drop_fields", EVT_CFG_JSON, 0, "[]",
     "array of top-level keys to leave out of each line, e.g. [\"doc\"]"},
    {"max_field_bytes", EVT_CFG_INT, 0, "0",
     "cut longer string values (at a UTF-8 boundary, with a marker); "
     "0: no cap"},
    {"filter_key", EVT_CFG_BOOL, 0, "true",
     "lmms-eval layout: keep the \"filter\" key (false: as upstream)"},
    {NULL, 0, 0, NULL, NULL}};

/* ---- small helpers ------------------------------------------------------*/

/* a + "/" + b (heap); b alone when it is absolute or a is NULL/empty. */
static char *join(const char *a, const char *b)
{
    if (!a || !a[0] || b[0] == '/')
        return strdup(b);
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (p) {
        memcpy(p, a, na);
        p[na] = '/';
        memcpy(p + na + 1, b, nb + 1);
    }
    return p;
}

static void replace(char **slot, char *v)
{
    free(*slot);
    *slot = v;
}

static const char *out_dir(const struct jl *s)
{
    const char *d = s->api->output_dir(s->h);
    return d && d[0] ? d : ".";
}

/* The date part of file names: ':' -> '-' (as both harnesses do), then
 * one safe file-name component. */
static char *make_date(const char *p, size_t n)
{
    char *tmp = malloc(n + 1);
    if (!tmp)
        return NULL;
    for (size_t i = 0; i < n; i++)
        tmp[i] = p[i] == ':' ? '-' : p[i];
    char *d = evt_safe_component(tmp, n, JL_DATE_MAX);
    free(tmp);
    return d;
}

/* The value of "<key>" at the start of a ','-separated item of args
 * ("pretrained=org/m,dtype=x"), heap; NULL when absent or on OOM. */
static char *arg_value(const char *args, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = args; *p;) {
        if (strncmp(p, key, k) == 0) {
            size_t n = strcspn(p + k, ",");
            char *v = malloc(n + 1);
            if (v) {
                memcpy(v, p + k, n);
                v[n] = '\0';
            }
            return v;
        }
        p += strcspn(p, ",");
        p += *p == ',';
    }
    return NULL;
}

/* The model name lighteval files details under: run_start's
 * "model_name", else the first of the keys local-json reads (sdk
 * results.c) that starts an item of a "model_args" string; "" when there
 * is none. Heap; NULL on OOM. */
static char *le_model_name(const msgpack_object *run_start)
{
    static const char *const arg_keys[] = {
        "peft=",      "delta=",    "pretrained=", "model=", "model_version=",
        "model_name=", "model_id=", "path=",       "engine="};
    const msgpack_object *v = evt_mp_get(run_start, "model_name");
    if (v && v->type == MSGPACK_OBJECT_STR)
        return evt_mp_strdup(v);
    const msgpack_object *a = evt_mp_get(run_start, "model_args");
    char *args = a && a->type == MSGPACK_OBJECT_STR ? evt_mp_strdup(a)
                                                    : strdup("");
    char *name = NULL;
    for (size_t i = 0; args && !name && i < sizeof arg_keys / sizeof *arg_keys;
         i++)
        name = arg_value(args, arg_keys[i]);
    if (args && !name)
        name = strdup("");
    free(args);
    return name;
}

/* Append "/<org>/<model>" as lighteval nests "org/model", with the rule
 * local-json uses for lighteval's results folder: name split on '/'
 * without the empty parts (so a leading '/' cannot make the path
 * absolute); the first part is the org when there are two or more, the
 * others joined with '/' are the model; each is one safe component of at
 * most JL_MODEL_MAX bytes (so "." and ".." cannot appear, and a '/' left
 * in the model becomes '_'). Nothing for an empty name. 0, or -1 on OOM. */
static int append_model_path(struct evt_buf *b, const char *name)
{
    struct evt_buf part[2];
    int np = 0, rc = 0;
    evt_buf_init(&part[0]);
    evt_buf_init(&part[1]);
    for (const char *p = name; *p; p += *p == '/') {
        size_t n = strcspn(p, "/");
        if (n && np == 2)
            evt_buf_puts(&part[1], "/");
        evt_buf_put(&part[np ? 1 : 0], p, n);
        np += n && np < 2;
        p += n;
    }
    for (int i = 0; i < np && rc == 0; i++) {
        char *c = evt_safe_component(part[i].data, part[i].len, JL_MODEL_MAX);
        evt_buf_puts(b, "/");
        evt_buf_puts(b, c ? c : "");
        rc = c ? 0 : -1;
        free(c);
    }
    if (part[0].oom || part[1].oom || b->oom)
        rc = -1;
    evt_buf_free(&part[0]);
    evt_buf_free(&part[1]);
    return rc;
}

/* p[0..n) with the secrets replaced (heap, NUL-terminated); NULL on
 * OOM. */
static char *scrubbed(const struct jl *s, const char *p, size_t n)
{
    struct evt_buf b;
    evt_buf_init(&b);
    jl_secrets_scrub(&s->sec, p, n, &b);
    char *out = b.oom ? NULL : strdup(b.data ? b.data : "");
    evt_buf_free(&b);
    return out;
}

/* lighteval's details folder: output_dir/details/<model path>/<date>. The
 * model name is scrubbed and redacted as the other layouts' folder names
 * are. */
static char *lighteval_dir(const struct jl *s, const msgpack_object *rs,
                           const char *date)
{
    char *le = rs ? le_model_name(rs) : strdup("");
    char *raw = le ? scrubbed(s, le, strlen(le)) : NULL;
    char *name = raw ? evt_results_redact_text(raw, strlen(raw)) : NULL;
    free(le);
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, out_dir(s));
    evt_buf_puts(&b, "/details");
    int rc = name ? append_model_path(&b, name) : -1;
    evt_buf_puts(&b, "/");
    evt_buf_puts(&b, date);
    char *d = rc == 0 && !b.oom ? strdup(b.data) : NULL;
    evt_buf_free(&b);
    free(raw);
    free(name);
    return d;
}

/* The folder of a run's files: the configured "dir"; for lighteval its
 * details folder; else output_dir plus the model subdir that local-json
 * uses for the results file (from run_start, NULL before one arrived:
 * output_dir itself), so that the samples of a run always land next to
 * its results. */
static char *make_dir(const struct jl *s, const msgpack_object *run_start,
                      const char *date)
{
    if (s->cfg_dir)
        return strdup(s->cfg_dir);
    if (s->opts.layout == JL_LIGHTEVAL)
        return lighteval_dir(s, run_start, date);
    struct evt_results_opts o = {.redact = 1};
    o.layout = s->opts.layout == JL_LMEVAL ? EVT_RESULTS_LM_EVAL
                                           : EVT_RESULTS_LMMS_EVAL;
    for (int i = 0; i < EVT_RESULTS_MAX_SECRETS; i++) /* as local-json's */
        o.secrets[i] = s->secret_store[i];
    char *sub = run_start ? evt_run_model_subdir(run_start, &o) : strdup("");
    if (!sub)
        return NULL;
    char *d = sub[0] ? join(out_dir(s), sub) : strdup(out_dir(s));
    free(sub);
    return d;
}

/* ---- config -------------------------------------------------------------*/

static int parse_drop(struct jl *s, const char *json)
{
    cJSON *a = json ? cJSON_Parse(json) : NULL;
    int ok = !json || (a && cJSON_IsArray(a));
    int n = ok && a ? cJSON_GetArraySize(a) : 0;
    if (ok && n > 0 && !(s->opts.drop = calloc((size_t)n, sizeof(char *))))
        ok = 0;
    for (int i = 0; ok && i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsString(it) &&
             (s->opts.drop[s->opts.ndrop] = strdup(it->valuestring)) != NULL;
        s->opts.ndrop += (size_t)ok;
    }
    cJSON_Delete(a);
    if (!ok)
        s->api->log(s->h, EVT_LOG_ERROR,
                    "config: drop_fields must be an array of strings");
    return ok ? 0 : -1;
}

static int pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

static int read_config(struct jl *s, const evt_config *cfg)
{
    static const char *const layouts[] = {"lmms-eval", "lm-eval",
                                          "lighteval"};
    static const char *const syncs[] = {"none", "flush", "always"};
    const struct evt_host_api *api = s->api;
    s->opts.layout = pick(api->cfg_str(cfg, "layout", "lmms-eval"), layouts, 3);
    s->sync = pick(api->cfg_str(cfg, "fsync", "flush"), syncs, 3);
    int64_t cap = api->cfg_int(cfg, "max_field_bytes", 0);
    s->opts.filter_key = api->cfg_bool(cfg, "filter_key", 1);
    const char *err = s->opts.layout < 0 ? "layout must be \"lmms-eval\", "
                                           "\"lm-eval\" or \"lighteval\""
                      : s->sync < 0 ? "fsync must be \"none\", \"flush\" or "
                                      "\"always\""
                      : cap < 0     ? "max_field_bytes must not be negative"
                                    : NULL;
    if (err) {
        api->log(s->h, EVT_LOG_ERROR, "config: %s", err);
        return -1;
    }
    s->opts.max_field_bytes = (size_t)cap;
    const char *dir = api->cfg_str(cfg, "dir", NULL);
    if (dir && !dir[0]) {
        api->log(s->h, EVT_LOG_ERROR, "config: dir must not be empty");
        return -1;
    }
    if (dir && !(s->cfg_dir = join(out_dir(s), dir)))
        return -1;
    return parse_drop(s, api->cfg_json(cfg, "drop_fields"));
}

/* ---- instance -----------------------------------------------------------*/

static void free_inst(struct jl *s)
{
    for (size_t i = 0; i < s->opts.ndrop; i++)
        free(s->opts.drop[i]);
    free(s->opts.drop);
    free(s->cfg_dir);
    free(s->dir);
    free(s->date);
    free(s->done_run);
    jl_rec_free(s->rec);
    evt_results_free_secrets(s->secret_store);
    evt_buf_free(&s->path);
    evt_buf_free(&s->path_task);
    evt_buf_free(&s->pend);
    free(s->pend_path);
    free(s);
}

static int create(evt_host *h, const struct evt_host_api *api,
                  const evt_config *cfg, void **out)
{
    struct jl *s = calloc(1, sizeof *s);
    if (!s)
        return EVT_ENOMEM;
    s->api = api;
    s->h = h;
    evt_buf_init(&s->path);
    evt_buf_init(&s->path_task);
    evt_buf_init(&s->pend);
    if (read_config(s, cfg) != 0) {
        free_inst(s);
        return EVT_ECONFIG;
    }
    struct evt_results_opts ro = {0};
    if (!(s->rec = jl_rec_new(&s->opts)) ||
        evt_results_load_secrets(&ro, s->secret_store) != 0) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        free_inst(s);
        return EVT_ENOMEM;
    }
    jl_secrets_init(&s->sec, ro.secrets, EVT_RESULTS_MAX_SECRETS);
    jl_rec_set_secrets(s->rec, &s->sec);
    jl_files_init(&s->files, s->sync != JL_SYNC_NONE);
    /* Until a run_start says otherwise: output_dir, the run's stamp. */
    const char *stamp = api->run_stamp(h);
    s->date = make_date(stamp, strlen(stamp));
    s->dir = s->date ? make_dir(s, NULL, s->date) : NULL;
    if (!s->date || !s->dir) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        free_inst(s);
        return EVT_ENOMEM;
    }
    *out = s;
    return EVT_OK;
}

/* fsync per policy; log the first error. 0 or -1. */
static int sync_files(struct jl *s)
{
    char err[512];
    if (s->sync == JL_SYNC_NONE || jl_files_sync(&s->files, err, sizeof err)
                                       == 0)
        return 0;
    s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
    return -1;
}

static void destroy(void *inst)
{
    struct jl *s = inst;
    sync_files(s);
    jl_files_close_all(&s->files);
    free_inst(s);
}

static int flush(void *inst, int64_t deadline_ns)
{
    (void)deadline_ns;
    return sync_files(inst) == 0 ? EVT_OK : EVT_EIO;
}

/* ---- events -------------------------------------------------------------*/

/* run_start: the model name and date for the file names that follow. */
static int on_run_start(struct jl *s, const msgpack_object *ev)
{
    const msgpack_object *d = evt_mp_get(ev, "date");
    char *date = NULL;
    if (d && d->type == MSGPACK_OBJECT_STR && d->via.str.size > 0) {
        struct evt_buf t; /* NUL bytes kept: make_date makes them '_' */
        evt_buf_init(&t);
        jl_secrets_scrub(&s->sec, d->via.str.ptr, d->via.str.size, &t);
        date = t.oom ? NULL : make_date(t.data ? t.data : "", t.len);
        evt_buf_free(&t);
    } else
        date = make_date(s->api->run_stamp(s->h),
                         strlen(s->api->run_stamp(s->h)));
    char *dir = date ? make_dir(s, ev, date) : NULL;
    if (!dir || !date) {
        free(dir);
        free(date);
        return EVT_RETRY;
    }
    replace(&s->dir, dir);
    replace(&s->date, date);
    s->path_ok = 0;
    return EVT_OK;
}

/* Length of the prefix of p[0..n) holding none of the bytes of reject
 * (p may hold NUL bytes). */
static size_t strcspn_n(const char *p, size_t n, const char *reject)
{
    size_t i = 0;
    while (i < n && (!p[i] || !strchr(reject, p[i])))
        i++;
    return i;
}

/* A lighteval task name as one file-name component: '|' and ':' are kept
 * ("mmlu:anatomy|5"), each part between them is made safe with
 * evt_safe_component, and the whole is cut to max bytes ("_" when empty).
 * Heap; NULL on OOM. */
static char *le_task_component(const char *name, size_t len, size_t max)
{
    struct evt_buf b;
    evt_buf_init(&b);
    int oom = 0;
    for (size_t i = 0; i < len && b.len < max && !oom;) {
        if (name[i] == '|' || name[i] == ':') {
            evt_buf_put(&b, name + i++, 1);
            continue;
        }
        size_t n = strcspn_n(name + i, len - i, "|:");
        char *part = evt_safe_component(name + i, n, max - b.len);
        if (part)
            evt_buf_puts(&b, part);
        oom = !part;
        free(part);
        i += n;
    }
    if (!oom && b.len == 0)
        evt_buf_puts(&b, "_");
    char *out = oom || b.oom ? NULL : strdup(b.data);
    evt_buf_free(&b);
    return out;
}

/* The task name p[0..n) as it appears in the file name. */
static char *task_component(const struct jl *s, const char *p, size_t n)
{
    return s->opts.layout == JL_LIGHTEVAL
               ? le_task_component(p, n, JL_TASK_MAX)
               : evt_safe_component(p, n, JL_TASK_MAX);
}

/* The file of task p[0..n), built in s->path. */
static int build_path(struct jl *s, const char *task, size_t n)
{
    char *safe = task_component(s, task, n);
    if (!safe)
        return -1;
    struct evt_buf *p = &s->path;
    p->len = 0;
    p->oom = 0;
    evt_buf_puts(p, s->dir);
    evt_buf_puts(p, "/");
    if (s->opts.layout == JL_LIGHTEVAL) {
        evt_buf_puts(p, "details_");
        evt_buf_puts(p, safe);
        evt_buf_puts(p, "_");
        evt_buf_puts(p, s->date);
    } else if (s->opts.layout == JL_LMEVAL) {
        evt_buf_puts(p, "samples_");
        evt_buf_puts(p, safe);
        evt_buf_puts(p, "_");
        evt_buf_puts(p, s->date);
    } else {
        evt_buf_puts(p, s->date);
        evt_buf_puts(p, "_samples_");
        evt_buf_puts(p, safe);
    }
    evt_buf_puts(p, ".jsonl");
    free(safe);
    return p->oom ? -1 : 0;
}

/* The file of task p[0..n) in s->path. Samples come in runs of one task,
 * so the path of the last one is kept. */
static int task_path(struct jl *s, const char *p, size_t n)
{
    struct evt_buf *t = &s->path_task;
    if (s->path_ok && t->len == n && (n == 0 || memcmp(t->data, p, n) == 0))
        return 0;
    s->path_ok = 0;
    t->len = 0;
    t->oom = 0;
    evt_buf_put(t, p, n);
    if (t->oom || build_path(s, p, n) != 0)
        return -1;
    s->path_ok = 1;
    return 0;
}

static void skip_event(struct jl *s, const evt_event *e, const char *why)
{
    const char *kind = s->api->ev_kind(e) == EVT_EV_SAMPLE ? "sample"
                                                           : "run_start";
    s->api->log(s->h, EVT_LOG_WARN, "%s event seq %llu skipped: %s", kind,
                (unsigned long long)s->api->ev_seq(e), why);
}

static void mark_done(struct jl *s, const evt_event *e);

/* Forget the pending lines (written, or to be written again when the
 * host retries the batch: their events are not marked done). */
static void drop_pending(struct jl *s)
{
    free(s->pend_path);
    s->pend_path = NULL;
    s->pend_last = NULL;
    s->pend.len = 0;
    s->pend.oom = 0;
}

/* Write the pending lines to their file in one write(2). */
static int write_pending(struct jl *s)
{
    char err[1024];
    struct jl_file *f;
    long long cut = 0;
    if (jl_files_get(&s->files, s->pend_path, &f, &cut, err, sizeof err)) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
        return EVT_RETRY;
    }
    if (cut)
        s->api->log(s->h, EVT_LOG_WARN,
                    "%s: removed %lld bytes of a torn last line", f->path, cut);
    if (jl_file_append(f, s->pend.data, s->pend.len, err, sizeof err)) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
        jl_files_forget(&s->files, f);
        return EVT_RETRY;
    }
    return EVT_OK;
}

/* Write the pending lines, then mark their events done. When the only
 * samples since the last write were skipped there is no line, and the
 * file is not touched. */
static int flush_pending(struct jl *s)
{
    if (!s->pend_path)
        return EVT_OK;
    int rc = s->pend.len ? write_pending(s) : EVT_OK;
    if (rc == EVT_OK && s->pend_last)
        mark_done(s, s->pend_last);
    drop_pending(s);
    return rc;
}

/* Make s->pend the place for the next line of the file in s->path: the
 * lines waiting for another file, or too many lines, are written first. */
static int pend_for_path(struct jl *s)
{
    if (s->pend_path && (strcmp(s->pend_path, s->path.data) != 0 ||
                         s->pend.len >= JL_PEND_MAX)) {
        int rc = flush_pending(s);
        if (rc != EVT_OK)
            return rc;
    }
    if (!s->pend_path && !(s->pend_path = strdup(s->path.data)))
        return EVT_RETRY;
    return EVT_OK;
}

/* A sample: its line, queued for its task's file. The event is read
 * straight from its bytes (record.h), without msgpack-c's object tree. */
static int on_sample(struct jl *s, const evt_event *e)
{
    const void *buf;
    size_t len;
    int oom;
    s->api->ev_msgpack(e, &buf, &len);
    if (jl_rec_scan(s->rec, buf, len, &oom) != 0) {
        if (oom) {
            s->api->log(s->h, EVT_LOG_ERROR, "out of memory");
            return EVT_RETRY;
        }
        skip_event(s, e, "its bytes are not one msgpack map");
        return EVT_OK;
    }
    const char *task; /* secrets replaced: it names the file */
    size_t tlen;
    int has = jl_rec_task_name(s->rec, &task, &tlen);
    if (has == 0) {
        skip_event(s, e, "no \"task\" string");
        return EVT_OK;
    }
    if (has < 0 || task_path(s, task, tlen) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "out of memory");
        return EVT_RETRY;
    }
    int rc = pend_for_path(s);
    if (rc != EVT_OK)
        return rc;
    char err[512], warn[256]; /* the line goes straight after the others */
    rc = jl_rec_line(s->rec, &s->pend, err, sizeof err, warn, sizeof warn);
    if (rc == JL_REC_SKIP) {
        skip_event(s, e, err);
        return EVT_OK;
    }
    if (rc != JL_REC_OK) {
        s->api->log(s->h, EVT_LOG_ERROR, "out of memory");
        return EVT_RETRY;
    }
    if (warn[0])
        s->api->log(s->h, EVT_LOG_WARN, "sample event seq %llu: %s",
                    (unsigned long long)s->api->ev_seq(e), warn);
    return EVT_OK;
}

/* run_end: make the files durable (per policy) and close them. */
static int on_run_end(struct jl *s)
{
    if (flush_pending(s) != EVT_OK || sync_files(s) != 0)
        return EVT_RETRY;
    jl_files_close_all(&s->files);
    return EVT_OK;
}

static int handle(struct jl *s, const evt_event *e)
{
    uint32_t kind = s->api->ev_kind(e);
    if (kind == EVT_EV_RUN_END)
        return on_run_end(s);
    if (kind == EVT_EV_SAMPLE)
        return on_sample(s, e);
    if (kind != EVT_EV_RUN_START)
        return EVT_OK;
    struct evt_view v;
    if (evt_view_open(&v, s->api, e) != 0) {
        skip_event(s, e, "its bytes are not one msgpack map");
        return EVT_OK;
    }
    int rc = on_run_start(s, &v.root);
    evt_view_close(&v);
    return rc;
}

/* 1 when e was handled already (an earlier try of a retried batch). */
static int already_done(const struct jl *s, const evt_event *e)
{
    return s->done_run && s->api->ev_seq(e) <= s->done_seq &&
           strcmp(s->done_run, s->api->ev_run_id(e)) == 0;
}

static void mark_done(struct jl *s, const evt_event *e)
{
    const char *run = s->api->ev_run_id(e);
    if (!s->done_run || strcmp(s->done_run, run) != 0)
        replace(&s->done_run, strdup(run)); /* NULL on OOM: no dedup */
    s->done_seq = s->api->ev_seq(e);
}

/* A batch failed part way: tell the host how many of its leading events
 * are on disk, so that it retries, and dead-letters when it gives up,
 * only the others (a replay would write those lines a second time). */
static void report_done(struct jl *s, const evt_event *const *ev, size_t n)
{
    size_t k = 0;
    while (k < n && already_done(s, ev[k]))
        k++;
    if (k && EVT_API_HAS(s->api, batch_done))
        s->api->batch_done(s->h, k);
}

static int write_events(void *inst, const evt_event *const *ev, size_t n)
{
    struct jl *s = inst;
    int rc = EVT_OK;
    for (size_t i = 0; i < n && rc == EVT_OK; i++) {
        if (already_done(s, ev[i]))
            continue;
        rc = handle(s, ev[i]);
        if (rc != EVT_OK)
            break;
        if (s->pend_path)
            s->pend_last = ev[i]; /* done once the pending lines are out */
        else
            mark_done(s, ev[i]);
    }
    if (rc != EVT_OK) { /* the host retries this batch: drop what waits */
        drop_pending(s);
        report_done(s, ev, n);
        return rc;
    }
    if (flush_pending(s) != EVT_OK) {
        report_done(s, ev, n);
        return EVT_RETRY;
    }
    if (s->sync == JL_SYNC_ALWAYS && sync_files(s) != 0)
        return EVT_RETRY;
    return EVT_OK;
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "jsonl",
    .version = "0.1.0",
    .description = "per-task sample JSONL files (lmms-eval, lm-eval or "
                   "lighteval layout)",
    .event_mask = EVT_EV_RUN_START | EVT_EV_SAMPLE | EVT_EV_RUN_END,
    .flags = 0,
    .config_keys = keys,
    .create = create,
    .write = write_events,
    .destroy = destroy,
    .flush = flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
