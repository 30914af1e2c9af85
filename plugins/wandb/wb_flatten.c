/* wb_flatten.c -- flattened metrics, run config and results tables from a
 * results dict (wb_flatten.h; formats.md section 7.1). */
#include "wb_flatten.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtrack/sdk/event_view.h"

#define NONE_SUFFIX ",none"
#define NONE_LEN 5

static int ends_with_none(const msgpack_object *k)
{
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size >= NONE_LEN &&
           memcmp(k->via.str.ptr + k->via.str.size - NONE_LEN, NONE_SUFFIX,
                  NONE_LEN) == 0;
}

void wb_flat_key(struct evt_buf *out, const char *task, size_t tn,
                 const char *metric, size_t mn)
{
    if (mn >= NONE_LEN && memcmp(metric + mn - NONE_LEN, NONE_SUFFIX,
                                 NONE_LEN) == 0)
        mn -= NONE_LEN;
    evt_buf_put(out, task, tn);
    evt_buf_put(out, "/", 1);
    evt_buf_put(out, metric, mn);
}

/* One metric of a task into row or summary (the latter for strings). */
static int put_metric(const msgpack_object *task, const msgpack_object_kv *kv,
                      struct wb_kvs *row, struct wb_kvs *summary,
                      struct evt_buf *k, struct evt_buf *v)
{
    if (kv->key.type != MSGPACK_OBJECT_STR)
        return 0;
    k->len = v->len = 0;
    wb_flat_key(k, task->via.str.ptr, task->via.str.size, kv->key.via.str.ptr,
                kv->key.via.str.size);
    wb_json_obj(v, &kv->val);
    if (k->oom || v->oom)
        return -1;
    struct wb_kvs *dst = kv->val.type == MSGPACK_OBJECT_STR ? summary : row;
    /* the same flat key may already be in the other map (a renamed
     * ",none" key meeting a plain one of another type): last one wins */
    struct wb_kvs *other = dst == row ? summary : row;
    for (size_t i = 0; i < other->n; i++)
        if (strcmp(other->v[i].key, k->data) == 0) {
            free(other->v[i].key);
            free(other->v[i].json);
            memmove(&other->v[i], &other->v[i + 1],
                    (other->n - i - 1) * sizeof *other->v);
            other->n--;
            break;
        }
    return wb_kvs_set(dst, k->data, k->len, v->data, v->len);
}

/* The members of one results entry: the others in order, then the
 * ",none" ones (renamed), as the trackers' pop-and-reinsert leaves them. */
static int flatten_task(const msgpack_object_kv *entry, struct wb_kvs *row,
                        struct wb_kvs *summary, struct evt_buf *k,
                        struct evt_buf *v)
{
    const msgpack_object *m = &entry->val;
    if (entry->key.type != MSGPACK_OBJECT_STR || m->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < m->via.map.size; i++) {
            const msgpack_object_kv *kv = &m->via.map.ptr[i];
            if (ends_with_none(&kv->key) == pass &&
                put_metric(&entry->key, kv, row, summary, k, v) != 0)
                return -1;
        }
    return 0;
}

int wb_flatten_results(const msgpack_object *dict, struct wb_kvs *row,
                       struct wb_kvs *summary)
{
    const msgpack_object *res = evt_mp_get(dict, "results");
    struct evt_buf k, v;
    int rc = 0;
    evt_buf_init(&k);
    evt_buf_init(&v);
    for (uint32_t i = 0; res && res->type == MSGPACK_OBJECT_MAP &&
                         i < res->via.map.size && rc == 0;
         i++)
        rc = flatten_task(&res->via.map.ptr[i], row, summary, &k, &v);
    evt_buf_free(&k);
    evt_buf_free(&v);
    return rc;
}

/* ---- config ------------------------------------------------------------ */

static int put_value(struct wb_kvs *out, const char *key,
                     const msgpack_object *o)
{
    if (!o)
        return 0;
    struct evt_buf b;
    evt_buf_init(&b);
    wb_json_obj(&b, o);
    int rc = b.oom ? -1 : wb_kvs_set(out, key, strlen(key), b.data, b.len);
    evt_buf_free(&b);
    return rc;
}

int wb_run_config(const msgpack_object *dict, struct wb_kvs *out)
{
    const msgpack_object *cfg = evt_mp_get(dict, "config");
    const msgpack_object *model = evt_mp_get(cfg, "model");
    if (!model)
        model = evt_mp_get(dict, "model_source");
    return put_value(out, "model", model) ||
                   put_value(out, "model_name",
                             evt_mp_get(dict, "model_name")) ||
                   put_value(out, "model_args",
                             evt_mp_get(cfg, "model_args")) ||
                   put_value(out, "cli_configs", cfg) ||
                   put_value(out, "task_configs",
                             evt_mp_get(dict, "configs")) ||
                   put_value(out, "n-shot", evt_mp_get(dict, "n-shot")) ||
                   put_value(out, "versions", evt_mp_get(dict, "versions"))
               ? -1
               : 0;
}

void wb_config_text(const struct wb_kvs *cfg, struct evt_buf *out)
{
    int first = 1;
    evt_buf_puts(out, "{");
    for (size_t i = 0; i < cfg->n; i++) {
        wb_json_key(out, &first, cfg->v[i].key);
        evt_buf_puts(out, "{\"value\": ");
        evt_buf_puts(out, cfg->v[i].json);
        evt_buf_puts(out, "}");
    }
    evt_buf_puts(out, "}");
}

/* ---- results tables ---------------------------------------------------- */

/* Python str() of a value, as a JSON string cell. */
static void py_str_cell(struct evt_buf *b, const msgpack_object *o)
{
    char t[64];
    switch (o->type) {
    case MSGPACK_OBJECT_STR: wb_json_str(b, o->via.str.ptr, o->via.str.size);
        return;
    case MSGPACK_OBJECT_NIL: wb_json_cstr(b, "None"); return;
    case MSGPACK_OBJECT_BOOLEAN:
        wb_json_cstr(b, o->via.boolean ? "True" : "False");
        return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(t, sizeof t, "%" PRIu64, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(t, sizeof t, "%" PRId64, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isnan(o->via.f64))
            snprintf(t, sizeof t, "nan");
        else if (isinf(o->via.f64))
            snprintf(t, sizeof t, "%s", o->via.f64 > 0 ? "inf" : "-inf");
        else
            evt_py_float_repr(o->via.f64, t);
        break;
    default: /* containers: their JSON text */
        wb_json_obj_text(b, o);
        return;
    }
    wb_json_cstr(b, t);
}

/* "%.4f" % se, or str(se) for anything that is not a number. */
static void stderr_cell(struct evt_buf *b, const msgpack_object *se)
{
    double d;
    char t[400];
    if (se->type == MSGPACK_OBJECT_STR || evt_mp_double(se, &d) != 0) {
        py_str_cell(b, se);
        return;
    }
    if (isnan(d))
        snprintf(t, sizeof t, "nan");
    else if (isinf(d))
        snprintf(t, sizeof t, "%s", d > 0 ? "inf" : "-inf");
    else
        snprintf(t, sizeof t, "%.4f", d);
    wb_json_cstr(b, t);
}

static int is_group(const msgpack_object *groups, const msgpack_object *k)
{
    if (!groups || groups->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < groups->via.map.size; i++) {
        const msgpack_object *g = &groups->via.map.ptr[i].key;
        if (g->type == MSGPACK_OBJECT_STR && k->type == MSGPACK_OBJECT_STR &&
            g->via.str.size == k->via.str.size &&
            memcmp(g->via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)
            return 1;
    }
    return 0;
}

/* The value of name in map m, for a name given as bytes. */
static const msgpack_object *get_n(const msgpack_object *m, const char *name,
                                   size_t n)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, name, n) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

struct trow {
    const msgpack_object *task, *version, *nshot, *entry;
};

static void put_opt(struct evt_buf *b, const msgpack_object *o)
{
    if (o)
        wb_json_obj(b, o);
    else
        evt_buf_puts(b, "null");
}

/* One table row for member kv of a task entry; 0 when skipped. */
static int table_row(struct evt_buf *b, const struct trow *r,
                     const msgpack_object_kv *kv, int first)
{
    if (kv->key.type != MSGPACK_OBJECT_STR)
        return 0;
    const char *mf = kv->key.via.str.ptr, *comma;
    size_t n = kv->key.via.str.size;
    comma = memchr(mf, ',', n);
    size_t mn = comma ? (size_t)(comma - mf) : n;
    const char *f = comma ? comma + 1 : mf + n;
    size_t fn = comma ? n - mn - 1 : 0;
    if ((mn >= 7 && memcmp(mf + mn - 7, "_stderr", 7) == 0) ||
        (mn == 5 && memcmp(mf, "alias", 5) == 0))
        return 0;
    if (!first)
        evt_buf_puts(b, ", ");
    evt_buf_puts(b, "[");
    wb_json_str(b, r->task->via.str.ptr, r->task->via.str.size);
    evt_buf_puts(b, ", ");
    if (!r->version || evt_mp_str_eq(r->version, "N/A"))
        evt_buf_puts(b, "null");
    else
        wb_json_obj(b, r->version);
    evt_buf_puts(b, ", ");
    wb_json_str(b, f, fn);
    evt_buf_puts(b, ", ");
    put_opt(b, r->nshot);
    evt_buf_puts(b, ", ");
    wb_json_str(b, mf, mn);
    evt_buf_puts(b, ", ");
    py_str_cell(b, &kv->val);
    evt_buf_puts(b, ", ");
    struct evt_buf sk;
    evt_buf_init(&sk);
    evt_buf_put(&sk, mf, mn);
    evt_buf_puts(&sk, "_stderr,");
    evt_buf_put(&sk, f, fn);
    const msgpack_object *se =
        sk.oom ? NULL : get_n(r->entry, sk.data, sk.len);
    if (sk.oom)
        b->oom = 1;
    evt_buf_free(&sk);
    if (se)
        stderr_cell(b, se);
    else
        evt_buf_puts(b, "\"\"");
    evt_buf_puts(b, "]");
    return 1;
}

static size_t table_rows(const msgpack_object *dict, int groups,
                         struct evt_buf *b)
{
    const msgpack_object *src =
        evt_mp_get(dict, groups ? "groups" : "results");
    const msgpack_object *gset = evt_mp_get(dict, "groups");
    size_t rows = 0;
    for (uint32_t i = 0; src && src->type == MSGPACK_OBJECT_MAP &&
                         i < src->via.map.size;
         i++) {
        const msgpack_object_kv *t = &src->via.map.ptr[i];
        if (t->key.type != MSGPACK_OBJECT_STR ||
            t->val.type != MSGPACK_OBJECT_MAP ||
            (!groups && is_group(gset, &t->key)))
            continue;
        struct trow r = {&t->key,
                         get_n(evt_mp_get(dict, "versions"),
                               t->key.via.str.ptr, t->key.via.str.size),
                         get_n(evt_mp_get(dict, "n-shot"), t->key.via.str.ptr,
                               t->key.via.str.size),
                         &t->val};
        for (uint32_t j = 0; j < t->val.via.map.size; j++)
            rows += (size_t)table_row(b, &r, &t->val.via.map.ptr[j],
                                      rows == 0);
    }
    return rows;
}

int wb_results_table(const msgpack_object *dict, int groups,
                     struct evt_buf *out, size_t *nrows)
{
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, groups ? "{\"columns\": [\"Groups\", "
                            : "{\"columns\": [\"Tasks\", ");
    evt_buf_puts(&b, "\"Version\", \"Filter\", \"num_fewshot\", \"Metric\", "
                     "\"Value\", \"Stderr\"], \"data\": [");
    *nrows = table_rows(dict, groups, &b);
    evt_buf_puts(&b, "]}");
    int rc = b.oom ? -1 : *nrows == 0 ? 1 : 0;
    if (rc == 0)
        evt_buf_put(out, b.data, b.len);
    evt_buf_free(&b);
    return rc == 0 && out->oom ? -1 : rc;
}
