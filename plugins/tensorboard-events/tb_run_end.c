/* tb_run_end.c -- the results table and the HParams session of a run
 * (see tb_run_end.h). */
#include "tb_run_end.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_encode.h"

/* ---- cells ---------- */

/* A growing list of heap strings (the table's cells, row-major). */
struct cells {
    char **s;
    size_t n, cap;
    int oom;
};

static void cells_add(struct cells *c, char *s)
{
    if (!s || c->oom) {
        c->oom = 1;
        free(s);
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        char **p = realloc(c->s, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            free(s);
            return;
        }
        c->s = p;
        c->cap = cap;
    }
    c->s[c->n++] = s;
}

static void cells_free(struct cells *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->s[i]);
    free(c->s);
}

static char *fmt_double(const char *fmt, double d)
{
    char tmp[400];
    snprintf(tmp, sizeof tmp, fmt, d);
    return strdup(tmp);
}

/* A number as Python prints it: 1, 0.5 (cJSON keeps no int/float
 * distinction, so an integral value prints as an int). */
static char *py_number(double d)
{
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e15)
        return fmt_double("%.0f", d);
    char tmp[32];
    evt_py_float_repr(d, tmp);
    return strdup(tmp);
}

/* Value cell: %.4f, a string as is, N/A for null. */
static char *value_cell(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return fmt_double("%.4f", v->valuedouble);
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "True" : "False");
    if (!v || cJSON_IsNull(v))
        return strdup("N/A");
    char *json = cJSON_PrintUnformatted(v);
    return json ? json : NULL;
}

static char *version_cell(const cJSON *dict, const char *task)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(dict, "versions"), task);
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v))
        return py_number(v->valuedouble);
    return strdup("N/A");
}

static char *nshot_cell(const cJSON *dict, const char *task)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(dict, "n-shot"), task);
    if (cJSON_IsNumber(v))
        return py_number(v->valuedouble);
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    return strdup("");
}

static char *stderr_cell(const cJSON *task, const char *metric,
                         const char *filter)
{
    size_t n = strlen(metric) + strlen(filter) + 16;
    char *key = malloc(n);
    if (!key)
        return NULL;
    snprintf(key, n, "%s_stderr,%s", metric, filter);
    const cJSON *se = cJSON_GetObjectItemCaseSensitive(task, key);
    free(key);
    if (cJSON_IsNumber(se))
        return fmt_double("%.4f", se->valuedouble);
    if (cJSON_IsString(se))
        return strdup(se->valuestring);
    return strdup("");
}

/* "<metric>,<filter>" keys of a task that are rows: not alias, not a
 * "<metric>_stderr" member (W&B's eval_results rule, formats.md 7.1). */
static int is_row(const char *key, size_t mlen)
{
    static const char suffix[] = "_stderr";
    size_t k = sizeof suffix - 1;
    if (strcmp(key, "alias") == 0)
        return 0;
    return !(mlen >= k && memcmp(key + mlen - k, suffix, k) == 0);
}

static void add_row(struct cells *c, const cJSON *dict, const cJSON *task,
                    const cJSON *item)
{
    const char *key = item->string, *comma = strchr(key, ',');
    size_t mlen = comma ? (size_t)(comma - key) : strlen(key);
    if (!is_row(key, mlen))
        return;
    char *metric = strndup(key, mlen);
    const char *filter = comma ? comma + 1 : "";
    cells_add(c, strdup(task->string));
    cells_add(c, version_cell(dict, task->string));
    cells_add(c, strdup(filter));
    cells_add(c, nshot_cell(dict, task->string));
    cells_add(c, metric ? strdup(metric) : NULL);
    cells_add(c, value_cell(item));
    cells_add(c, metric ? stderr_cell(task, metric, filter) : NULL);
    free(metric);
}

int tb_table_event(struct evt_buf *out, const cJSON *dict, const char *tag,
                   double wall_time, int64_t step)
{
    static const char *const header[TB_TABLE_COLS] = {
        "Tasks", "Version", "Filter", "n-shot", "Metric", "Value", "Stderr"};
    struct cells c = {0};
    for (int i = 0; i < TB_TABLE_COLS; i++)
        cells_add(&c, strdup(header[i]));
    const cJSON *task, *item;
    cJSON_ArrayForEach(task, cJSON_GetObjectItemCaseSensitive(dict, "results"))
        cJSON_ArrayForEach(item, task) add_row(&c, dict, task, item);
    int rc = -1;
    if (!c.oom) {
        int64_t dims[2] = {(int64_t)(c.n / TB_TABLE_COLS), TB_TABLE_COLS};
        size_t before = out->len;
        tb_event_text(out, wall_time, step, tag, dims, 2,
                      (const char *const *)c.s, c.n);
        rc = out->oom ? -1 : 0;
        if (rc != 0)
            out->len = before;
    }
    cells_free(&c);
    return rc;
}

/* ---- hparams ---------- */

struct hp_list {
    struct tb_hparam *hp;
    char **keys; /* owned copies of the composed keys */
    size_t n, cap;
    int oom;
};

static void hp_add(struct hp_list *l, char *key, const cJSON *v)
{
    if (!key || l->oom) {
        l->oom = 1;
        free(key);
        return;
    }
    if (!cJSON_IsString(v) && !cJSON_IsNumber(v) && !cJSON_IsBool(v)) {
        free(key);
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct tb_hparam *hp = realloc(l->hp, cap * sizeof *hp);
        if (hp)
            l->hp = hp;
        char **keys = hp ? realloc(l->keys, cap * sizeof *keys) : NULL;
        if (!keys) {
            l->oom = 1;
            free(key);
            return;
        }
        l->keys = keys;
        l->cap = cap;
    }
    struct tb_hparam *h = &l->hp[l->n];
    memset(h, 0, sizeof *h);
    h->key = key;
    if (cJSON_IsString(v)) {
        h->kind = TB_HP_STRING;
        h->string = v->valuestring;
    } else if (cJSON_IsNumber(v)) {
        h->kind = TB_HP_NUMBER;
        h->number = v->valuedouble;
    } else {
        h->kind = TB_HP_BOOL;
        h->boolean = cJSON_IsTrue(v);
    }
    l->keys[l->n++] = key;
}

static char *joined(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

static void hp_add_map(struct hp_list *l, const cJSON *map, const char *pfx)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, map) hp_add(l, joined(pfx, it->string), it);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct tb_hparam *)a)->key,
                  ((const struct tb_hparam *)b)->key);
}

/* A key given twice (a config member named "model_name") keeps the
 * first after sorting; qsort is not stable, so the later ones are
 * dropped by name, whichever they were. */
static size_t drop_repeats(struct tb_hparam *hp, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(hp[k - 1].key, hp[i].key) != 0)
            hp[k++] = hp[i];
    return k;
}

int tb_hparams_records(struct evt_buf *out, const cJSON *dict,
                       double wall_time, double start_secs, double end_secs)
{
    struct hp_list l = {0};
    hp_add_map(&l, cJSON_GetObjectItemCaseSensitive(dict, "config"), "");
    hp_add(&l, strdup("model_name"),
           cJSON_GetObjectItemCaseSensitive(dict, "model_name"));
    hp_add_map(&l, cJSON_GetObjectItemCaseSensitive(dict, "n-shot"),
               "n-shot/");
    hp_add_map(&l, cJSON_GetObjectItemCaseSensitive(dict, "versions"),
               "version/");
    int rc = -1;
    if (!l.oom) {
        if (l.n)
            qsort(l.hp, l.n, sizeof *l.hp, by_key);
        size_t n = l.n ? drop_repeats(l.hp, l.n) : 0;
        size_t before = out->len;
        struct evt_buf ev;
        evt_buf_init(&ev);
        tb_event_hparams_start(&ev, wall_time, l.hp, n, NULL, start_secs);
        tb_record_frame(out, ev.data, ev.len);
        ev.len = 0;
        tb_event_hparams_end(&ev, wall_time, TB_STATUS_SUCCESS, end_secs);
        tb_record_frame(out, ev.data, ev.len);
        rc = ev.oom || out->oom ? -1 : 0;
        if (rc != 0)
            out->len = before;
        evt_buf_free(&ev);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.keys[i]);
    free(l.keys);
    free(l.hp);
    return rc;
}
