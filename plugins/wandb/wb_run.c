/* wb_run.c -- a W&B run's journal and everything derived from it
 * (wb_run.h). */
#include "wb_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "wb_flatten.h"

struct wb_taken {
    char *run_id;
    uint64_t (*r)[2]; /* sorted, disjoint, non-adjacent [lo, hi] */
    size_t n, cap;
};

/* ---- (run_id, seq) already taken -------------------------------------- */

static struct wb_taken *taken_of(struct wb_run *r, const char *id, size_t n,
                                 int make)
{
    for (size_t i = 0; i < r->ntaken; i++)
        if (strlen(r->taken[i].run_id) == n &&
            memcmp(r->taken[i].run_id, id, n) == 0)
            return &r->taken[i];
    if (!make)
        return NULL;
    struct wb_taken *v = realloc(r->taken, (r->ntaken + 1) * sizeof *v);
    if (!v)
        return NULL;
    r->taken = v;
    struct wb_taken *t = &v[r->ntaken];
    memset(t, 0, sizeof *t);
    if (!(t->run_id = malloc(n + 1)))
        return NULL;
    memcpy(t->run_id, id, n);
    t->run_id[n] = '\0';
    r->ntaken++;
    return t;
}

/* Index of the first range with hi >= seq. */
static size_t lower(const struct wb_taken *t, uint64_t seq)
{
    size_t a = 0, b = t->n;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (t->r[m][1] < seq)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static int taken_has(const struct wb_taken *t, uint64_t seq)
{
    size_t i = t ? lower(t, seq) : 0;
    return t && i < t->n && t->r[i][0] <= seq;
}

static int taken_add(struct wb_taken *t, uint64_t seq)
{
    size_t i = lower(t, seq);
    if (i > 0 && t->r[i - 1][1] + 1 == seq) {
        t->r[i - 1][1] = seq;
        if (i < t->n && t->r[i][0] == seq + 1) { /* join the next range */
            t->r[i - 1][1] = t->r[i][1];
            memmove(&t->r[i], &t->r[i + 1], (t->n - i - 1) * sizeof *t->r);
            t->n--;
        }
        return 0;
    }
    if (i < t->n && t->r[i][0] == seq + 1) {
        t->r[i][0] = seq;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 4;
        uint64_t(*v)[2] = realloc(t->r, cap * sizeof *v);
        if (!v)
            return -1;
        t->r = v;
        t->cap = cap;
    }
    memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof *t->r);
    t->r[i][0] = t->r[i][1] = seq;
    t->n++;
    return 0;
}

/* ---- rows -------------------------------------------------------------- */

static void row_free(struct wb_row *w)
{
    wb_kvs_free(&w->kv);
    free(w->line);
    memset(w, 0, sizeof *w);
}

static double secs(int64_t ns)
{
    return (double)ns / 1e9;
}

/* Add _step, _runtime and _timestamp to the row's items. 0 or -1. */
static int add_meta(const struct wb_run *r, struct wb_row *w)
{
    struct evt_buf v[3];
    static const char *const keys[] = {"_step", "_runtime", "_timestamp"};
    int64_t rt = w->ns > r->start_ns ? w->ns - r->start_ns : 0;
    int rc = 0;
    for (int i = 0; i < 3; i++)
        evt_buf_init(&v[i]);
    wb_json_int(&v[0], w->step);
    wb_json_double(&v[1], secs(rt));
    wb_json_double(&v[2], secs(w->ns));
    for (int i = 0; i < 3; i++) {
        if (rc == 0)
            rc = v[i].oom ? -1
                          : wb_kvs_set(&w->kv, keys[i], strlen(keys[i]),
                                       v[i].data, v[i].len);
        evt_buf_free(&v[i]);
    }
    return rc;
}

static char *render_line(const struct wb_row *w)
{
    struct evt_buf b;
    evt_buf_init(&b);
    wb_kvs_object(&w->kv, &b);
    if (b.oom) {
        evt_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int push_row(struct wb_run *r, struct wb_row *w)
{
    if (r->nrows == r->caprows) {
        size_t cap = r->caprows ? 2 * r->caprows : 16;
        struct wb_row *v = realloc(r->rows, cap * sizeof *v);
        if (!v)
            return -1;
        r->rows = v;
        r->caprows = cap;
    }
    r->rows[r->nrows++] = *w;
    memset(w, 0, sizeof *w);
    return 0;
}

/* Seal w: its items and line, the summary (every item: the row's keys
 * and its _step, _runtime, _timestamp), the pending list (rows the state
 * says were acknowledged are only summarized). */
static int seal(struct wb_run *r, struct wb_row *w)
{
    int rc = add_meta(r, w) == 0 && (w->line = render_line(w)) &&
                     wb_kvs_merge(&r->summary, &w->kv) == 0
                 ? 0
                 : -1;
    if (rc == 0 && r->rows_total < r->st.rows_sent)
        row_free(w);
    else if (rc == 0)
        rc = push_row(r, w);
    if (rc == 0)
        r->rows_total++;
    return rc;
}

static int seal_open(struct wb_run *r)
{
    if (!r->has_open)
        return 0;
    r->has_open = 0;
    int rc = seal(r, &r->open);
    row_free(&r->open);
    return rc;
}

/* The step after s: a step may be as large as INT64_MAX (EVENTS.md), and
 * the next row then shares it rather than overflowing. */
static int64_t step_after(int64_t s)
{
    return s < INT64_MAX ? s + 1 : INT64_MAX;
}

/* Put key = json at step (has_step 0: a row of its own at the next
 * step). */
static int row_put(struct wb_run *r, int has_step, int64_t step,
                   const char *key, size_t klen, const char *json,
                   size_t jlen, int64_t ns)
{
    if (!has_step || !r->has_open || r->open.step != step) {
        if (seal_open(r) != 0)
            return -1;
        r->open.step = has_step ? step : r->next_step;
        r->has_open = 1;
    }
    r->open.ns = ns;
    if (r->open.step >= r->next_step)
        r->next_step = step_after(r->open.step);
    return wb_kvs_set(&r->open.kv, key, klen, json, jlen);
}

/* ---- taking events ----------------------------------------------------- */

struct evinfo {
    const msgpack_object *root;
    int64_t ns, step;
    int has_step;
};

static int put_value(struct wb_run *r, const struct evinfo *e,
                     const struct evt_buf *key, const msgpack_object *v)
{
    struct evt_buf j;
    evt_buf_init(&j);
    wb_json_obj(&j, v);
    int rc = j.oom || key->oom ? -1
                               : row_put(r, e->has_step, e->step, key->data,
                                         key->len, j.data, j.len, e->ns);
    evt_buf_free(&j);
    return rc;
}

static int on_scalar(struct wb_run *r, const struct evinfo *e)
{
    const msgpack_object *tag = evt_mp_get(e->root, "tag");
    const msgpack_object *v = evt_mp_get(e->root, "value");
    if (!tag || tag->type != MSGPACK_OBJECT_STR || !v)
        return 0;
    struct evt_buf k;
    evt_buf_init(&k);
    evt_buf_put(&k, tag->via.str.ptr, tag->via.str.size);
    int rc = put_value(r, e, &k, v);
    evt_buf_free(&k);
    return rc;
}

/* "{task}/{metric}{suffix}[,{filter}]" with ",none" left out. */
static void result_key(struct evt_buf *k, const msgpack_object *task,
                       const msgpack_object *metric, const char *suffix,
                       const msgpack_object *filter)
{
    struct evt_buf m;
    evt_buf_init(&m);
    evt_buf_put(&m, metric->via.str.ptr, metric->via.str.size);
    evt_buf_puts(&m, suffix);
    if (filter && filter->type == MSGPACK_OBJECT_STR && filter->via.str.size) {
        evt_buf_puts(&m, ",");
        evt_buf_put(&m, filter->via.str.ptr, filter->via.str.size);
    }
    k->len = 0;
    wb_flat_key(k, task->via.str.ptr, task->via.str.size,
                m.data ? m.data : "", m.len);
    if (m.oom)
        k->oom = 1;
    evt_buf_free(&m);
}

/* A result with a step: its value and stderr at that step; strings go to
 * the summary only (formats.md 7.1). */
static int on_stepped_result(struct wb_run *r, const struct evinfo *e)
{
    const msgpack_object *task = evt_mp_get(e->root, "task");
    const msgpack_object *metric = evt_mp_get(e->root, "metric");
    const msgpack_object *filter = evt_mp_get(e->root, "filter");
    static const char *const parts[][2] = {{"value", ""},
                                           {"stderr", "_stderr"}};
    if (!task || task->type != MSGPACK_OBJECT_STR || !metric ||
        metric->type != MSGPACK_OBJECT_STR)
        return 0;
    struct evt_buf k;
    evt_buf_init(&k);
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        const msgpack_object *v = evt_mp_get(e->root, parts[i][0]);
        if (!v)
            continue;
        result_key(&k, task, metric, parts[i][1], filter);
        if (v->type != MSGPACK_OBJECT_STR) {
            rc = put_value(r, e, &k, v);
            continue;
        }
        struct evt_buf j;
        evt_buf_init(&j);
        wb_json_obj(&j, v);
        rc = j.oom || k.oom ? -1
                            : wb_kvs_set(&r->summary, k.data, k.len, j.data,
                                         j.len);
        evt_buf_free(&j);
    }
    evt_buf_free(&k);
    return rc;
}

static int on_run_meta(struct wb_run *r, const struct evinfo *e, int start)
{
    r->config_dirty = 1;
    if (!start)
        return 0;
    const msgpack_object *g = evt_mp_get(e->root, "git_hash");
    if (!g || g->type != MSGPACK_OBJECT_STR)
        return 0;
    free(r->commit);
    return (r->commit = evt_mp_strdup(g)) ? 0 : -1;
}

static void on_run_end(struct wb_run *r, const struct evinfo *e)
{
    int64_t code = 0;
    r->ended = 1;
    r->exitcode = evt_mp_int64(evt_mp_get(e->root, "exit_code"), &code) == 0
                      ? (int)code
                      : 0;
    r->end_built = 0; /* a later run_end gets its own end row */
}

static int build_end(struct wb_run *r);

static int aggregate(struct wb_run *r, const struct evinfo *e)
{
    return evt_results_add(r->agg, e->root, NULL, 0) == -2 ? -1 : 0;
}

static int derive(struct wb_run *r, const struct evinfo *e, const char *kind)
{
    if (strcmp(kind, "scalar") == 0)
        return on_scalar(r, e);
    if (aggregate(r, e) != 0)
        return -1;
    if (strcmp(kind, "result") == 0)
        return e->has_step ? on_stepped_result(r, e) : 0;
    if (strcmp(kind, "sample") == 0)
        return r->samples ? wb_samples_add(r->samples, e->root) : 0;
    if (strcmp(kind, "run_start") == 0 || strcmp(kind, "task_config") == 0)
        return on_run_meta(r, e, kind[4] == 's');
    if (strcmp(kind, "run_end") == 0) {
        on_run_end(r, e);
        r->end_ns = e->ns;
        return build_end(r);
    }
    return 0;
}

/* Header fields of an event map: 0, or -1 when it is not an event. */
static int header(const msgpack_object *root, char *kind, size_t kindlen,
                  const msgpack_object **run_id, uint64_t *seq,
                  struct evinfo *e)
{
    const msgpack_object *k = evt_mp_get(root, "kind");
    int64_t s = 0, ns = 0;
    *run_id = evt_mp_get(root, "run_id");
    if (!k || k->type != MSGPACK_OBJECT_STR || k->via.str.size >= kindlen ||
        !*run_id || (*run_id)->type != MSGPACK_OBJECT_STR ||
        evt_mp_int64(evt_mp_get(root, "seq"), &s) != 0)
        return -1;
    memcpy(kind, k->via.str.ptr, k->via.str.size);
    kind[k->via.str.size] = '\0';
    (void)evt_mp_int64(evt_mp_get(root, "time_ns"), &ns);
    *seq = (uint64_t)s;
    e->root = root;
    e->ns = ns;
    e->has_step = evt_mp_int64(evt_mp_get(root, "step"), &e->step) == 0 &&
                  e->step >= 0;
    return 0;
}

static int take(struct wb_run *r, const void *mp, size_t len, int journal)
{
    struct evt_view v;
    struct evinfo e = {0};
    const msgpack_object *rid;
    uint64_t seq;
    char kind[16];
    if (evt_view_open_bytes(&v, mp, len) != 0)
        return 0;
    int rc = 0;
    if (header(&v.root, kind, sizeof kind, &rid, &seq, &e) == 0 &&
        !taken_has(taken_of(r, rid->via.str.ptr, rid->via.str.size, 0), seq)) {
        struct wb_taken *t =
            taken_of(r, rid->via.str.ptr, rid->via.str.size, 1);
        if (!r->start_ns)
            r->start_ns = e.ns;
        if (!r->evt_run_id && !(r->evt_run_id = evt_mp_strdup(rid)))
            t = NULL;
        rc = !t || derive(r, &e, kind) != 0 || taken_add(t, seq) != 0 ? -1
                                                                       : 1;
        if (rc == 1 && journal)
            wb_journal_add(&r->jnl, WB_J_EVENT, mp, len);
    }
    evt_view_close(&v);
    return rc;
}

int wb_run_take(struct wb_run *r, const void *mp, size_t len)
{
    int rc = take(r, mp, len, 1);
    if (rc == 1)
        r->batch_taken++;
    return rc;
}

/* ---- end of a batch ---------------------------------------------------- */

/* The results dict as msgpack in mp, decoded in v, which points into mp:
 * close v, then free mp. 0 or -1. */
static int dict_view(struct wb_run *r, struct evt_view *v, struct evt_buf *mp)
{
    evt_buf_init(mp);
    v->open = 0;
    return evt_results_render_msgpack(r->agg, r->opts, mp, NULL, 0) == 0 &&
                   evt_view_open_bytes(v, mp->data, mp->len) == 0
               ? 0
               : -1;
}

static int update_config(struct wb_run *r)
{
    struct evt_view v;
    struct evt_buf mp;
    int rc = dict_view(r, &v, &mp);
    wb_kvs_clear(&r->config);
    if (rc == 0)
        rc = wb_run_config(&v.root, &r->config);
    evt_view_close(&v);
    evt_buf_free(&mp);
    if (rc != 0)
        return -1;
    r->config_dirty = 0;
    return rc;
}

static int add_results_file(struct wb_run *r)
{
    struct evt_buf j;
    evt_buf_init(&j);
    if (evt_results_render_json(r->agg, r->opts, &j, NULL, 0) != 0) {
        evt_buf_free(&j);
        return -1;
    }
    return wb_files_add(&r->files, "results.json", &j);
}

static int add_tables(struct wb_run *r, const msgpack_object *dict,
                      struct wb_row *w)
{
    static const char *const keys[] = {"evaluation/eval_results",
                                       "evaluation/group_eval_results"};
    for (int g = 0; g < 2; g++) {
        struct evt_buf t;
        size_t nrows = 0;
        evt_buf_init(&t);
        int rc = wb_results_table(dict, g, &t, &nrows);
        if (rc == 0)
            rc = wb_table_file(&r->files, &w->kv, keys[g], keys[g], w->step,
                               &t, WB_RESULTS_TABLE_COLS, nrows);
        evt_buf_free(&t);
        if (rc < 0)
            return -1;
    }
    return wb_samples_finish(r->samples, &r->jnl, dict, w->step, &r->files,
                             &w->kv, r->err, sizeof r->err);
}

/* The run_end row: every flattened result, the tables; strings to the
 * summary; the run files. The open row is sealed first. */
static int build_end(struct wb_run *r)
{
    struct evt_view v;
    struct evt_buf mp;
    struct wb_row w;
    struct wb_kvs strs = {0};
    r->err[0] = '\0';
    if (seal_open(r) != 0)
        return -1;
    if (dict_view(r, &v, &mp) != 0) {
        evt_view_close(&v);
        evt_buf_free(&mp);
        return -1;
    }
    memset(&w, 0, sizeof w);
    w.step = r->next_step;
    w.ns = r->end_ns;
    int rc = wb_flatten_results(&v.root, &w.kv, &strs) != 0 ||
                     add_tables(r, &v.root, &w) != 0 ||
                     (evt_results_count(r->agg) && add_results_file(r) != 0)
                 ? -1
                 : 0;
    evt_view_close(&v);
    evt_buf_free(&mp);
    if (rc == 0 && w.kv.n) {
        r->next_step = step_after(w.step);
        rc = seal(r, &w);
    }
    if (rc == 0)
        rc = wb_kvs_merge(&r->summary, &strs);
    for (size_t i = 0; rc == 0 && i < r->files.n; i++) {
        char *key = wb_file_key(&r->files.v[i]);
        r->files.v[i].uploaded = key && wb_state_has_uploaded(&r->st, key);
        free(key);
    }
    row_free(&w);
    wb_kvs_free(&strs);
    if (rc == 0)
        r->end_built = 1;
    return rc;
}

int wb_run_commit(struct wb_run *r, char *err, size_t errlen)
{
    if (r->batch_taken == 0 && r->jnl.pend.len == 0)
        return 0;
    r->batch_taken = 0;
    if (r->config_dirty && update_config(r) != 0) {
        snprintf(err, errlen, "%s: out of memory", r->dir);
        return -1;
    }
    return wb_journal_commit(&r->jnl, err, errlen);
}

int wb_run_seal(struct wb_run *r, char *err, size_t errlen)
{
    if (!r->has_open)
        return 0;
    wb_journal_add(&r->jnl, WB_J_SEAL, NULL, 0);
    if (seal_open(r) != 0) {
        snprintf(err, errlen, "%s: out of memory", r->dir);
        return -1;
    }
    return wb_run_commit(r, err, errlen);
}

/* ---- open / close ------------------------------------------------------ */

static int on_record(void *ctx, int type, const void *p, size_t n)
{
    struct wb_run *r = ctx;
    if (type == WB_J_SEAL)
        return seal_open(r) == 0 ? 0 : -2;
    return take(r, p, n, 0) < 0 ? -2 : 0;
}

static int alloc_parts(struct wb_run *r, const char *id, const char *dir,
                       int log_samples)
{
    r->id = strdup(id);
    r->dir = strdup(dir);
    r->state_path = evt_path_join(dir, "state.json");
    r->files.dir = evt_path_join(dir, "run-files");
    r->agg = evt_results_new();
    r->samples = log_samples ? wb_samples_new() : NULL;
    return r->id && r->dir && r->state_path && r->files.dir && r->agg &&
                   (!log_samples || r->samples)
               ? 0
               : -1;
}

int wb_run_open(struct wb_run *r, const char *id, const char *dir,
                const struct evt_results_opts *opts, int log_samples,
                char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->jnl.fd = -1;
    r->opts = opts;
    wb_offline_init(&r->off);
    if (alloc_parts(r, id, dir, log_samples) != 0) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    if (evt_mkdirs(dir, err, errlen) != 0 ||
        wb_state_load(r->state_path, &r->st, err, errlen) != 0)
        return -1;
    char *jp = evt_path_join(dir, "events.jnl");
    int rc = jp ? wb_journal_open(&r->jnl, jp, on_record, r, err, errlen) : -1;
    free(jp);
    if (rc == -2 && r->err[0])
        snprintf(err, errlen, "%s", r->err);
    else if (rc == -2 || !jp)
        snprintf(err, errlen, "%s: out of memory", dir);
    if (rc != 0)
        return rc == 1 ? 1 : -1;
    wb_files_sweep(&r->files); /* when no run_end made files yet */
    if (r->config_dirty && update_config(r) != 0) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    r->rows_offline = r->rows_total - r->nrows;
    return 0;
}

void wb_run_close(struct wb_run *r)
{
    for (size_t i = 0; i < r->ntaken; i++) {
        free(r->taken[i].run_id);
        free(r->taken[i].r);
    }
    free(r->taken);
    for (size_t i = 0; i < r->nrows; i++)
        row_free(&r->rows[i]);
    free(r->rows);
    row_free(&r->open);
    wb_files_free(&r->files); /* its temporary files, under the lock */
    wb_journal_close(&r->jnl);
    wb_offline_close(&r->off);
    wb_state_free(&r->st);
    evt_results_free(r->agg);
    wb_samples_free(r->samples);
    wb_kvs_free(&r->summary);
    wb_kvs_free(&r->config);
    for (size_t i = 0; i < r->link.nannounce; i++)
        free(r->link.announce[i]);
    free(r->link.announce);
    free(r->link.fs_path);
    free(r->link.config_sent);
    free(r->link.summary_sent);
    free(r->off_config);
    free(r->commit);
    free(r->evt_run_id);
    free(r->id);
    free(r->dir);
    free(r->state_path);
    memset(r, 0, sizeof *r);
    r->jnl.fd = -1;
    r->off.fd = -1;
}

/* ---- products ---------------------------------------------------------- */

char *wb_run_summary_line(const struct wb_run *r)
{
    struct evt_buf b;
    int first = 1;
    const char *rt = wb_kvs_get(&r->summary, "_runtime");
    evt_buf_init(&b);
    evt_buf_puts(&b, "{");
    wb_kvs_members(&r->summary, &b, &first);
    wb_json_key(&b, &first, "_wandb");
    evt_buf_puts(&b, "{\"runtime\": ");
    wb_json_int(&b, rt ? (int64_t)floor(strtod(rt, NULL)) : 0);
    evt_buf_puts(&b, "}}");
    if (b.oom) {
        evt_buf_free(&b);
        return NULL;
    }
    return b.data;
}

char *wb_run_config_text(const struct wb_run *r)
{
    struct evt_buf b;
    evt_buf_init(&b);
    wb_config_text(&r->config, &b);
    if (b.oom) {
        evt_buf_free(&b);
        return NULL;
    }
    return b.data;
}

void wb_run_rows_sent(struct wb_run *r, size_t n)
{
    if (n > r->nrows)
        n = r->nrows;
    for (size_t i = 0; i < n; i++)
        row_free(&r->rows[i]);
    if (n) {
        memmove(r->rows, r->rows + n, (r->nrows - n) * sizeof *r->rows);
        r->nrows -= n;
    }
    r->st.rows_sent = r->rows_total - r->nrows;
}

int64_t wb_run_first_offset(const struct wb_run *r)
{
    return r->st.base_offset + (int64_t)(r->rows_total - r->nrows);
}

int wb_run_save_state(struct wb_run *r, char *err, size_t errlen)
{
    return wb_state_save(r->state_path, &r->st, err, errlen);
}
