/* wb_samples.c -- samples tables and samples files, written at run_end
 * from the run's journal (wb_samples.h). */
#include "wb_samples.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"

/* Tasks written per pass over the journal: two files open per task. */
#define GROUP 16

/* ---- what a sample leaves behind --------------------------------------- */

struct stask {
    char *name;
    size_t namelen;     /* bytes of the name (it may hold a NUL) */
    size_t n;           /* samples taken */
    struct wb_kvs cols; /* metric column names, in first-seen order */
};

struct wb_samples {
    struct stask *t;
    size_t n, cap;
};

struct wb_samples *wb_samples_new(void)
{
    return calloc(1, sizeof(struct wb_samples));
}

void wb_samples_free(struct wb_samples *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->t[i].name);
        wb_kvs_free(&s->t[i].cols);
    }
    free(s->t);
    free(s);
}

/* name is t's name, byte for byte (a name may hold a NUL byte). */
static int name_is(const msgpack_object *name, const struct stask *t)
{
    return name->type == MSGPACK_OBJECT_STR &&
           name->via.str.size == t->namelen &&
           (t->namelen == 0 ||
            memcmp(name->via.str.ptr, t->name, t->namelen) == 0);
}

static struct stask *find_task(struct wb_samples *s,
                               const msgpack_object *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (name_is(name, &s->t[i]))
            return &s->t[i];
    return NULL;
}

static struct stask *task_of(struct wb_samples *s, const msgpack_object *name)
{
    struct stask *t = find_task(s, name);
    if (t)
        return t;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        struct stask *v = realloc(s->t, cap * sizeof *v);
        if (!v)
            return NULL;
        s->t = v;
        s->cap = cap;
    }
    t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = evt_mp_strdup(name)))
        return NULL;
    t->namelen = name->via.str.size;
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

/* Where the metrics are: the "metrics" map (*own 1), else the event's
 * fields that are not known sample fields. */
static const msgpack_object *metric_source(const msgpack_object *ev,
                                           int *own)
{
    const msgpack_object *m = evt_mp_get(ev, "metrics");
    *own = m && m->type == MSGPACK_OBJECT_MAP;
    return *own ? m : ev;
}

static int is_metric(const msgpack_object_kv *kv, int own)
{
    return kv->key.type == MSGPACK_OBJECT_STR &&
           (own || !known_field(&kv->key));
}

int wb_samples_add(struct wb_samples *s, const msgpack_object *ev)
{
    const msgpack_object *task = evt_mp_get(ev, "task");
    if (!task || task->type != MSGPACK_OBJECT_STR)
        return 0;
    struct stask *t = task_of(s, task);
    if (!t)
        return -1;
    int own;
    const msgpack_object *src = metric_source(ev, &own);
    for (uint32_t i = 0; i < src->via.map.size; i++) {
        const msgpack_object_kv *kv = &src->via.map.ptr[i];
        if (is_metric(kv, own) &&
            wb_kvs_set(&t->cols, kv->key.via.str.ptr, kv->key.via.str.size,
                       "", 0) != 0)
            return -1;
    }
    t->n++;
    return 0;
}

/* ---- one sample's cells and element ------------------------------------ */

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
        wb_json_obj_text(b, o);
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

/* The cells id, data, input_len, labels. */
static void head_cells(struct evt_buf *b, const msgpack_object *ev)
{
    cell(b, evt_mp_get(ev, "doc_id"));
    evt_buf_puts(b, ", ");
    const msgpack_object *p = prompt_of(ev);
    if (p)
        wb_json_str(b, p->via.str.ptr, p->via.str.size);
    else
        evt_buf_puts(b, "\"\"");
    evt_buf_puts(b, ", ");
    wb_json_int(b, p ? (int64_t)utf8_chars(p->via.str.ptr, p->via.str.size)
                     : 0);
    evt_buf_puts(b, ", ");
    cell(b, evt_mp_get(ev, "target"));
}

/* The cells raw_predictions, filtered_predictions, filter. */
static void tail_cells(struct evt_buf *b, const msgpack_object *ev)
{
    cell(b, first_of(evt_mp_get(ev, "resps"), 2));
    evt_buf_puts(b, ", ");
    cell(b, first_of(evt_mp_get(ev, "filtered_resps"), 1));
    evt_buf_puts(b, ", ");
    const msgpack_object *f = evt_mp_get(ev, "filter");
    if (f && f->type == MSGPACK_OBJECT_STR)
        wb_json_str(b, f->via.str.ptr, f->via.str.size);
    else
        evt_buf_puts(b, "\"none\"");
}

/* The sample's metric cells, by name, into m (emptied first). 0 or -1. */
static int row_metrics(struct wb_kvs *m, struct evt_buf *v,
                       const msgpack_object *ev)
{
    int own;
    const msgpack_object *src = metric_source(ev, &own);
    wb_kvs_clear(m);
    for (uint32_t i = 0; i < src->via.map.size; i++) {
        const msgpack_object_kv *kv = &src->via.map.ptr[i];
        if (!is_metric(kv, own))
            continue;
        v->len = 0;
        cell(v, &kv->val);
        if (v->oom || wb_kvs_set(m, kv->key.via.str.ptr, kv->key.via.str.size,
                                 v->data, v->len) != 0)
            return -1;
    }
    return 0;
}

/* The sample's members after the header, as one pretty JSON element of
 * the samples file (indent 2, one level deeper than the array), after
 * ",\n" unless first. 1 appended, 0 left out (a bin or ext value has no
 * JSON form), -1 OOM. */
static int file_element(struct evt_buf *b, const msgpack_object *ev,
                        int first)
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
        return j.oom ? -1 : 0;
    }
    evt_buf_puts(b, first ? "  " : ",\n  ");
    for (size_t i = 0; i < j.len; i++) {
        evt_buf_put(b, &j.data[i], 1);
        if (j.data[i] == '\n')
            evt_buf_puts(b, "  ");
    }
    evt_buf_free(&j);
    return b->oom ? -1 : 1;
}

/* ---- temporary files being written ------------------------------------- */

struct out {
    FILE *f;
    char *path;
    uint64_t size;
    int err; /* errno of the first failed write */
};

static int out_open(struct out *o, struct wb_files *fs, char *err,
                    size_t errlen)
{
    if (!(o->path = wb_files_tmp(fs, err, errlen)))
        return -1;
    /* O_EXCL: a name taken by another process (a pid reused in another
     * container on a shared state folder) is never truncated, nor removed
     * by out_discard (the path is dropped before it). */
    int fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int e = errno;
    if (fd >= 0 && !(o->f = fdopen(fd, "wb"))) {
        e = errno;
        close(fd);
        (void)unlink(o->path);
    }
    if (!o->f) {
        snprintf(err, errlen, "%s: open: %s", o->path, strerror(e));
        free(o->path);
        o->path = NULL;
        return -1;
    }
    return 0;
}

static void out_put(struct out *o, const void *p, size_t n)
{
    if (n && !o->err && fwrite(p, 1, n, o->f) != n)
        o->err = errno ? errno : EIO;
    o->size += n;
}

static int out_close(struct out *o, char *err, size_t errlen)
{
    int rc = fclose(o->f);
    o->f = NULL;
    if (rc != 0 && !o->err)
        o->err = errno ? errno : EIO;
    if (o->err)
        snprintf(err, errlen, "%s: write: %s", o->path, strerror(o->err));
    return o->err ? -1 : 0;
}

/* Close and remove what did not move into the file list. */
static void out_discard(struct out *o)
{
    if (o->f)
        fclose(o->f);
    if (o->path)
        (void)unlink(o->path);
    free(o->path);
    memset(o, 0, sizeof *o);
}

/* ---- one pass over the journal ----------------------------------------- */

/* The table and samples file of one task. */
struct writer {
    struct stask *t; /* NULL: not written in this pass */
    struct out tab, file;
    size_t rows, elements;
    char *otype; /* the output_type cell */
};

struct pass {
    struct wb_samples *s;
    struct writer w[GROUP];
    size_t first, n; /* tasks first .. first + n - 1 */
    struct evt_buf row, el, v;
    struct wb_kvs metrics;
    char *err;
    size_t errlen;
};

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

static void table_head(struct out *o, const struct stask *t,
                       struct evt_buf *b)
{
    static const char *const fixed[] = {
        "id",     "data",           "input_len",            "labels",
        "output_type", "raw_predictions", "filtered_predictions", "filter"};
    b->len = 0;
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
    out_put(o, b->data, b->len);
}

/* Open the files of the pass's tasks that have samples. 0 or -1. */
static int open_writers(struct pass *ps, const msgpack_object *dict,
                        struct wb_files *fs)
{
    for (size_t i = 0; i < ps->n; i++) {
        struct writer *w = &ps->w[i];
        struct stask *t = &ps->s->t[ps->first + i];
        if (!t->n)
            continue;
        w->t = t;
        if (out_open(&w->tab, fs, ps->err, ps->errlen) != 0 ||
            out_open(&w->file, fs, ps->err, ps->errlen) != 0)
            return -1;
        ps->v.len = 0;
        output_type(&ps->v, dict, t->name);
        if (ps->v.oom || !(w->otype = strndup(ps->v.data, ps->v.len)))
            goto oom;
        table_head(&w->tab, t, &ps->v);
        out_put(&w->file, "[\n", 2);
        if (ps->v.oom)
            goto oom;
    }
    return 0;
oom:
    snprintf(ps->err, ps->errlen, "samples tables: out of memory");
    return -1;
}

static struct writer *writer_of(struct pass *ps, const msgpack_object *task)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->w[i].t && name_is(task, ps->w[i].t))
            return &ps->w[i];
    return NULL;
}

/* The sample's row of the table into ps->row. 0 or -1 (OOM). */
static int render_row(struct pass *ps, const struct writer *w,
                      const msgpack_object *ev)
{
    struct evt_buf *b = &ps->row;
    b->len = 0;
    evt_buf_puts(b, w->rows ? ", [" : "[");
    head_cells(b, ev);
    evt_buf_puts(b, ", ");
    evt_buf_puts(b, w->otype);
    evt_buf_puts(b, ", ");
    tail_cells(b, ev);
    if (row_metrics(&ps->metrics, &ps->v, ev) != 0)
        return -1;
    for (size_t c = 0; c < w->t->cols.n; c++) {
        const char *v = wb_kvs_get(&ps->metrics, w->t->cols.v[c].key);
        evt_buf_puts(b, ", ");
        evt_buf_puts(b, v ? v : "null");
    }
    evt_buf_puts(b, "]");
    return b->oom ? -1 : 0;
}

static int put_sample(struct pass *ps, const msgpack_object *ev)
{
    const msgpack_object *task = evt_mp_get(ev, "task");
    struct writer *w = task && task->type == MSGPACK_OBJECT_STR
                           ? writer_of(ps, task)
                           : NULL;
    if (!w)
        return 0;
    if (render_row(ps, w, ev) != 0)
        goto oom;
    out_put(&w->tab, ps->row.data, ps->row.len);
    w->rows++;
    ps->el.len = 0;
    int rc = file_element(&ps->el, ev, w->elements == 0);
    if (rc < 0)
        goto oom;
    if (rc > 0) {
        out_put(&w->file, ps->el.data, ps->el.len);
        w->elements++;
    }
    return 0;
oom:
    snprintf(ps->err, ps->errlen, "samples tables: out of memory");
    return -1;
}

static int on_record(void *ctx, int type, const void *p, size_t n)
{
    struct evt_view v;
    if (type != WB_J_EVENT || evt_view_open_bytes(&v, p, n) != 0)
        return 0;
    int rc = evt_mp_str_eq(evt_mp_get(&v.root, "kind"), "sample")
                 ? put_sample(ctx, &v.root)
                 : 0;
    evt_view_close(&v);
    return rc;
}

/* ---- a task's files into the list --------------------------------------- */

static int table_sha(const struct out *o, char sha[65], char *err,
                     size_t errlen)
{
    struct wb_bytes b;
    if (wb_bytes_map(&b, o->path, o->size, err, errlen) != 0)
        return -1;
    evt_results_sha256_hex(b.p, b.n, sha);
    wb_bytes_close(&b);
    return 0;
}

/* Close w's files and add them: the table (row[key]) and the samples
 * file. 0 or -1 with err. */
static int add_task(struct writer *w, int64_t step, struct wb_files *fs,
                    struct wb_kvs *row, char *err, size_t errlen)
{
    char sha[65];
    out_put(&w->tab, "]}", 2);
    out_put(&w->file, "\n]", 2);
    if (out_close(&w->tab, err, errlen) != 0 ||
        out_close(&w->file, err, errlen) != 0 ||
        table_sha(&w->tab, sha, err, errlen) != 0)
        return -1;
    const char *name = w->t->name;
    char *safe = evt_safe_component(name, strlen(name), 120);
    size_t n = strlen(name) + 32, sn = safe ? strlen(safe) + 64 : 0;
    char *key = malloc(n), *stem = safe ? malloc(sn) : NULL;
    int rc = -1;
    if (key && stem) {
        snprintf(key, n, "%s_eval_results", name);
        snprintf(stem, sn, "%s_eval_results", safe);
        rc = wb_table_file_at(fs, row, key, stem, step, &w->tab.path,
                              w->tab.size, sha, 8 + w->t->cols.n, w->rows);
        snprintf(stem, sn, "samples/%s_eval_samples.json", safe);
        if (rc == 0)
            rc = wb_files_add_path(fs, stem, &w->file.path, w->file.size);
    }
    if (rc != 0)
        snprintf(err, errlen, "samples tables: out of memory");
    free(safe);
    free(key);
    free(stem);
    return rc;
}

/* Tasks first .. first + n - 1: one pass over the journal. */
static int run_pass(struct pass *ps, struct wb_journal *j,
                    const msgpack_object *dict, int64_t step,
                    struct wb_files *fs, struct wb_kvs *row)
{
    int rc = open_writers(ps, dict, fs);
    if (rc == 0)
        rc = wb_journal_each(j, on_record, ps, ps->err, ps->errlen) != 0
                 ? -1
                 : 0;
    for (size_t i = 0; i < ps->n; i++) {
        struct writer *w = &ps->w[i];
        if (rc == 0 && w->t)
            rc = add_task(w, step, fs, row, ps->err, ps->errlen);
        out_discard(&w->tab);
        out_discard(&w->file);
        free(w->otype);
        memset(w, 0, sizeof *w);
    }
    return rc;
}

int wb_samples_finish(struct wb_samples *s, struct wb_journal *j,
                      const msgpack_object *dict, int64_t step,
                      struct wb_files *fs, struct wb_kvs *row, char *err,
                      size_t errlen)
{
    if (!s || !s->n)
        return 0;
    struct pass ps;
    memset(&ps, 0, sizeof ps);
    ps.s = s;
    ps.err = err;
    ps.errlen = errlen;
    evt_buf_init(&ps.row);
    evt_buf_init(&ps.el);
    evt_buf_init(&ps.v);
    int rc = 0;
    for (size_t first = 0; first < s->n && rc == 0; first += GROUP) {
        ps.first = first;
        ps.n = s->n - first < GROUP ? s->n - first : GROUP;
        rc = run_pass(&ps, j, dict, step, fs, row);
    }
    evt_buf_free(&ps.row);
    evt_buf_free(&ps.el);
    evt_buf_free(&ps.v);
    wb_kvs_free(&ps.metrics);
    return rc;
}
