/* wb_files.c -- table files, samples tables and files, and the run-files
 * upload (wb_files.h). */
#include "wb_files.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"
#include "wb_graphql.h"
#include "wb_http.h"

/* ---- the file list ----------------------------------------------------- */

int wb_files_add(struct wb_files *fs, const char *name, struct evt_buf *data)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->v[i].name, name) == 0) {
            evt_buf_free(&fs->v[i].data);
            fs->v[i].data = *data;
            fs->v[i].uploaded = 0;
            evt_buf_init(data);
            return 0;
        }
    char *nm = strdup(name);
    if (nm && !data->oom && fs->n == fs->cap) {
        size_t cap = fs->cap ? 2 * fs->cap : 8;
        struct wb_file *v = realloc(fs->v, cap * sizeof *v);
        if (v) {
            fs->v = v;
            fs->cap = cap;
        }
    }
    if (!nm || data->oom || fs->n == fs->cap) {
        free(nm);
        evt_buf_free(data);
        return -1;
    }
    fs->v[fs->n].name = nm;
    fs->v[fs->n].data = *data;
    fs->v[fs->n].uploaded = 0;
    fs->n++;
    evt_buf_init(data);
    return 0;
}

void wb_files_free(struct wb_files *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].name);
        evt_buf_free(&fs->v[i].data);
    }
    free(fs->v);
    memset(fs, 0, sizeof *fs);
}

/* ---- table files ------------------------------------------------------- */

int wb_table_file(struct wb_files *fs, struct wb_kvs *row, const char *key,
                  const char *stem, int64_t step, struct evt_buf *content,
                  size_t ncols, size_t nrows)
{
    char sha[65], *path;
    size_t size = content->len;
    evt_results_sha256_hex(content->data ? content->data : "", content->len,
                           sha);
    size_t n = strlen(stem) + 96;
    if (content->oom || !(path = malloc(n))) {
        evt_buf_free(content);
        return -1;
    }
    snprintf(path, n, "media/table/%s_%" PRId64 "_%.20s.table.json", stem,
             step, sha);
    struct evt_buf ref;
    evt_buf_init(&ref);
    evt_buf_puts(&ref, "{\"_type\": \"table-file\", \"path\": ");
    wb_json_cstr(&ref, path);
    evt_buf_puts(&ref, ", \"sha256\": ");
    wb_json_cstr(&ref, sha);
    evt_buf_puts(&ref, ", \"size\": ");
    wb_json_int(&ref, (int64_t)size);
    evt_buf_puts(&ref, ", \"ncols\": ");
    wb_json_int(&ref, (int64_t)ncols);
    evt_buf_puts(&ref, ", \"nrows\": ");
    wb_json_int(&ref, (int64_t)nrows);
    evt_buf_puts(&ref, ", \"log_mode\": \"IMMUTABLE\"}");
    int rc = ref.oom || wb_files_add(fs, path, content) != 0 ||
                     wb_kvs_set(row, key, strlen(key), ref.data, ref.len) != 0
                 ? -1
                 : 0;
    evt_buf_free(&ref);
    evt_buf_free(content);
    free(path);
    return rc;
}

/* ---- samples ----------------------------------------------------------- */

struct srow {
    char *head;   /* JSON cells id, data, input_len, labels */
    char *tail;   /* JSON cells raw_predictions, filtered_predictions, filter */
    struct wb_kvs metrics;
};

struct stask {
    char *name;
    struct srow *rows;
    size_t n, cap;
    struct wb_kvs cols; /* metric column names, in first-seen order */
    struct evt_buf file; /* the samples file's elements so far */
};

struct wb_samples {
    struct stask *t;
    size_t n, cap;
};

struct wb_samples *wb_samples_new(void)
{
    return calloc(1, sizeof(struct wb_samples));
}

static void stask_free(struct stask *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].head);
        free(t->rows[i].tail);
        wb_kvs_free(&t->rows[i].metrics);
    }
    free(t->rows);
    free(t->name);
    wb_kvs_free(&t->cols);
    evt_buf_free(&t->file);
}

void wb_samples_free(struct wb_samples *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        stask_free(&s->t[i]);
    free(s->t);
    free(s);
}

static struct stask *task_of(struct wb_samples *s, const msgpack_object *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (evt_mp_str_eq(name, s->t[i].name))
            return &s->t[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        struct stask *v = realloc(s->t, cap * sizeof *v);
        if (!v)
            return NULL;
        s->t = v;
        s->cap = cap;
    }
    struct stask *t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = evt_mp_strdup(name)))
        return NULL;
    s->n++;
    return t;
}

/* Fields of a sample event that are not metrics. */
static int known_field(const msgpack_object *k)
{
    static const char *const names[] = {
        "kind",       "run_id",      "seq",          "time_ns",
        "task",       "doc_id",      "doc",          "target",
        "arguments",  "resps",       "filtered_resps", "filter",
        "input",      "input_media", "doc_hash",     "prompt_hash",
        "target_hash", "token_counts", "step",       "metrics",
        "choices",    NULL};
    for (int i = 0; names[i]; i++)
        if (evt_mp_str_eq(k, names[i]))
            return 1;
    return 0;
}

static int scalar(const msgpack_object *o)
{
    return o->type != MSGPACK_OBJECT_ARRAY && o->type != MSGPACK_OBJECT_MAP &&
           o->type != MSGPACK_OBJECT_BIN && o->type != MSGPACK_OBJECT_EXT;
}

/* A cell: scalars as JSON values, containers as their JSON text, a
 * missing value as null. */
static void cell(struct evt_buf *b, const msgpack_object *o)
{
    if (!o) {
        evt_buf_puts(b, "null");
    } else if (scalar(o)) {
        wb_json_obj(b, o);
    } else {
        struct evt_buf t;
        evt_buf_init(&t);
        wb_json_obj(&t, o);
        wb_json_str(b, t.data ? t.data : "", t.len);
        if (t.oom)
            b->oom = 1;
        evt_buf_free(&t);
    }
}

/* x[0] while x is a non-empty array, at most depth times. */
static const msgpack_object *first_of(const msgpack_object *o, int depth)
{
    while (o && depth-- > 0 && o->type == MSGPACK_OBJECT_ARRAY &&
           o->via.array.size > 0)
        o = &o->via.array.ptr[0];
    return o;
}

static size_t utf8_chars(const char *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)p[i] & 0xc0) != 0x80;
    return c;
}

/* The prompt: "input", else the first argument. */
static const msgpack_object *prompt_of(const msgpack_object *ev)
{
    const msgpack_object *in = evt_mp_get(ev, "input");
    if (in && in->type == MSGPACK_OBJECT_STR)
        return in;
    const msgpack_object *a = first_of(evt_mp_get(ev, "arguments"), 2);
    return a && a->type == MSGPACK_OBJECT_STR ? a : NULL;
}

static char *head_cells(const msgpack_object *ev)
{
    struct evt_buf b;
    evt_buf_init(&b);
    cell(&b, evt_mp_get(ev, "doc_id"));
    evt_buf_puts(&b, ", ");
    const msgpack_object *p = prompt_of(ev);
    if (p)
        wb_json_str(&b, p->via.str.ptr, p->via.str.size);
    else
        evt_buf_puts(&b, "\"\"");
    evt_buf_puts(&b, ", ");
    wb_json_int(&b, p ? (int64_t)utf8_chars(p->via.str.ptr, p->via.str.size)
                      : 0);
    evt_buf_puts(&b, ", ");
    cell(&b, evt_mp_get(ev, "target"));
    if (b.oom) {
        evt_buf_free(&b);
        return NULL;
    }
    return b.data ? b.data : strdup("");
}

static char *tail_cells(const msgpack_object *ev)
{
    struct evt_buf b;
    evt_buf_init(&b);
    cell(&b, first_of(evt_mp_get(ev, "resps"), 2));
    evt_buf_puts(&b, ", ");
    cell(&b, first_of(evt_mp_get(ev, "filtered_resps"), 1));
    evt_buf_puts(&b, ", ");
    const msgpack_object *f = evt_mp_get(ev, "filter");
    if (f && f->type == MSGPACK_OBJECT_STR)
        wb_json_str(&b, f->via.str.ptr, f->via.str.size);
    else
        evt_buf_puts(&b, "\"none\"");
    if (b.oom) {
        evt_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The metric cells: the "metrics" map, else the fields that are not
 * known sample fields. Column names join t->cols. */
static int metric_cells(struct stask *t, struct srow *r,
                        const msgpack_object *ev)
{
    const msgpack_object *m = evt_mp_get(ev, "metrics");
    int own = m && m->type == MSGPACK_OBJECT_MAP;
    const msgpack_object *src = own ? m : ev;
    struct evt_buf v;
    evt_buf_init(&v);
    int rc = 0;
    for (uint32_t i = 0; i < src->via.map.size && rc == 0; i++) {
        const msgpack_object_kv *kv = &src->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR ||
            (!own && known_field(&kv->key)))
            continue;
        v.len = 0;
        cell(&v, &kv->val);
        const char *k = kv->key.via.str.ptr;
        size_t kn = kv->key.via.str.size;
        rc = v.oom || wb_kvs_set(&r->metrics, k, kn, v.data, v.len) != 0 ||
                     wb_kvs_set(&t->cols, k, kn, "", 0) != 0
                 ? -1
                 : 0;
    }
    evt_buf_free(&v);
    return rc;
}

/* The sample's members after the header, as one pretty JSON element of
 * the samples file (indent 2, one level deeper than the array). */
static int file_element(struct stask *t, const msgpack_object *ev)
{
    msgpack_object_kv *kv = malloc((ev->via.map.size + 1) * sizeof *kv);
    if (!kv)
        return -1;
    uint32_t n = 0;
    for (uint32_t i = 0; i < ev->via.map.size; i++) {
        const msgpack_object *k = &ev->via.map.ptr[i].key;
        if (!evt_mp_str_eq(k, "kind") && !evt_mp_str_eq(k, "run_id") &&
            !evt_mp_str_eq(k, "seq") && !evt_mp_str_eq(k, "time_ns") &&
            !evt_mp_str_eq(k, "task"))
            kv[n++] = ev->via.map.ptr[i];
    }
    msgpack_object m;
    memset(&m, 0, sizeof m);
    m.type = MSGPACK_OBJECT_MAP;
    m.via.map.size = n;
    m.via.map.ptr = kv;
    struct evt_buf j;
    evt_buf_init(&j);
    struct evt_json_style st = {2, EVT_NAN_BARE, 0};
    int rc = evt_json_write(&j, &m, &st, NULL, 0);
    free(kv);
    if (rc != 0 || j.oom) {
        evt_buf_free(&j);
        return j.oom ? -1 : 0; /* bin/ext: not in the file */
    }
    evt_buf_puts(&t->file, t->file.len ? ",\n  " : "  ");
    for (size_t i = 0; i < j.len; i++) {
        evt_buf_put(&t->file, &j.data[i], 1);
        if (j.data[i] == '\n')
            evt_buf_puts(&t->file, "  ");
    }
    evt_buf_free(&j);
    return t->file.oom ? -1 : 0;
}

int wb_samples_add(struct wb_samples *s, const msgpack_object *ev)
{
    const msgpack_object *task = evt_mp_get(ev, "task");
    if (!task || task->type != MSGPACK_OBJECT_STR)
        return 0;
    struct stask *t = task_of(s, task);
    if (!t)
        return -1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        struct srow *v = realloc(t->rows, cap * sizeof *v);
        if (!v)
            return -1;
        t->rows = v;
        t->cap = cap;
    }
    struct srow *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->head = head_cells(ev);
    r->tail = tail_cells(ev);
    if (!r->head || !r->tail || metric_cells(t, r, ev) != 0 ||
        file_element(t, ev) != 0) {
        free(r->head);
        free(r->tail);
        wb_kvs_free(&r->metrics);
        return -1;
    }
    t->n++;
    return 0;
}

/* ---- finishing --------------------------------------------------------- */

static void output_type(struct evt_buf *b, const msgpack_object *dict,
                        const char *task)
{
    const msgpack_object *ot =
        evt_mp_get(evt_mp_get(evt_mp_get(dict, "configs"), task),
                   "output_type");
    if (ot && ot->type == MSGPACK_OBJECT_STR)
        wb_json_str(b, ot->via.str.ptr, ot->via.str.size);
    else
        evt_buf_puts(b, "\"\"");
}

static void table_text(const struct stask *t, const msgpack_object *dict,
                       struct evt_buf *b)
{
    static const char *const fixed[] = {
        "id",     "data",           "input_len",            "labels",
        "output_type", "raw_predictions", "filtered_predictions", "filter"};
    evt_buf_puts(b, "{\"columns\": [");
    for (size_t i = 0; i < 8; i++) {
        evt_buf_puts(b, i ? ", " : "");
        wb_json_cstr(b, fixed[i]);
    }
    for (size_t i = 0; i < t->cols.n; i++) {
        evt_buf_puts(b, ", ");
        wb_json_cstr(b, t->cols.v[i].key);
    }
    evt_buf_puts(b, "], \"data\": [");
    for (size_t i = 0; i < t->n; i++) {
        const struct srow *r = &t->rows[i];
        evt_buf_puts(b, i ? ", [" : "[");
        evt_buf_puts(b, r->head);
        evt_buf_puts(b, ", ");
        output_type(b, dict, t->name);
        evt_buf_puts(b, ", ");
        evt_buf_puts(b, r->tail);
        for (size_t c = 0; c < t->cols.n; c++) {
            const char *v = wb_kvs_get(&r->metrics, t->cols.v[c].key);
            evt_buf_puts(b, ", ");
            evt_buf_puts(b, v ? v : "null");
        }
        evt_buf_puts(b, "]");
    }
    evt_buf_puts(b, "]}");
}

static int finish_task(const struct stask *t, const msgpack_object *dict,
                       int64_t step, struct wb_files *fs, struct wb_kvs *row)
{
    char *safe = evt_safe_component(t->name, strlen(t->name), 120);
    size_t n = strlen(t->name) + 32, sn = safe ? strlen(safe) + 64 : 0;
    char *key = malloc(n), *stem = safe ? malloc(sn) : NULL;
    struct evt_buf tab, file;
    evt_buf_init(&tab);
    evt_buf_init(&file);
    int rc = -1;
    if (key && stem) {
        snprintf(key, n, "%s_eval_results", t->name);
        snprintf(stem, sn, "%s_eval_results", safe);
        table_text(t, dict, &tab);
        evt_buf_puts(&file, "[\n");
        evt_buf_put(&file, t->file.data, t->file.len);
        evt_buf_puts(&file, "\n]");
        rc = wb_table_file(fs, row, key, stem, step, &tab, 8 + t->cols.n,
                           t->n);
        snprintf(stem, sn, "samples/%s_eval_samples.json", safe);
        if (rc == 0)
            rc = wb_files_add(fs, stem, &file);
    }
    evt_buf_free(&tab);
    evt_buf_free(&file);
    free(safe);
    free(key);
    free(stem);
    return rc;
}

int wb_samples_finish(struct wb_samples *s, const msgpack_object *dict,
                      int64_t step, struct wb_files *fs, struct wb_kvs *row)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->t[i].n && finish_task(&s->t[i], dict, step, fs, row) != 0)
            return -1;
    return 0;
}

/* ---- upload ------------------------------------------------------------ */

/* PUT one file to its URL with the server's headers. */
static int put_file(struct wb_conn *c, const struct wb_upload *u,
                    struct wb_file *f, int64_t deadline_ns, char *err,
                    size_t errlen)
{
    struct evt_http_response resp;
    int out = wb_conn_put(c, u->url, (const char *const *)u->headers,
                          f->data.data, f->data.len, deadline_ns, &resp, err,
                          errlen);
    evt_http_response_free(&resp);
    if (out == EVT_HTTP_DONE)
        f->uploaded = 1;
    return out;
}

int wb_files_upload(struct wb_conn *c, const char *entity,
                    const char *project, const char *run, struct wb_files *fs,
                    int64_t deadline_ns, char *err, size_t errlen)
{
    const char *names[256];
    size_t n = 0, idx[256];
    for (size_t i = 0; i < fs->n && n < 256; i++)
        if (!fs->v[i].uploaded) {
            idx[n] = i;
            names[n++] = fs->v[i].name;
        }
    if (n == 0)
        return EVT_HTTP_DONE;
    struct wb_upload *ups = NULL;
    int out = wb_gql_create_run_files(c, entity, project, run, names, n,
                                      deadline_ns, &ups, err, errlen);
    for (size_t i = 0; i < n && out == EVT_HTTP_DONE; i++) {
        const struct wb_upload *u = wb_upload_find(ups, n, names[i]);
        if (!u) {
            snprintf(err, errlen, "CreateRunFiles: no upload URL for %s",
                     names[i]);
            out = EVT_HTTP_FINAL;
        } else {
            out = put_file(c, u, &fs->v[idx[i]], deadline_ns, err, errlen);
        }
    }
    wb_uploads_free(ups, n);
    if (out == EVT_HTTP_DONE && n < fs->n)
        for (size_t i = 0; i < fs->n; i++)
            if (!fs->v[i].uploaded)
                return wb_files_upload(c, entity, project, run, fs,
                                       deadline_ns, err, errlen);
    return out;
}
