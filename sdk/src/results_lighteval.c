/* results_lighteval.c -- the lighteval layout of the results dict
 * (formats.md 4; rules and differences from upstream in
 * docs/sinks/local-json.md 3.3 and 3.4): config_general, results (task
 * rows keyed "task|k", then the suite averages and "all", computed as
 * lighteval's MetricsLogger.aggregate does), versions, config_tasks,
 * summary_tasks and summary_general (xxh64 hashes, results_lhash.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evtrack/sdk/json_write.h"
#include "results_int.h"

/* ---- task keys ---------------------------------------------------------- */

/* Per-render state (in the zone), made by the first builder that needs
 * it: each task's key, whether the task is written, its hashes. */
struct lstate {
    const char **key;      /* "name|k" */
    unsigned char *skip;   /* derived row, or key of an earlier task */
    lhash_compiled *hash;  /* compiled hashes, when hashed[i] */
    unsigned char *hashed;
};

/* s ends with '|' and one or more digits: already lighteval's key. */
static int has_shots(const char *s)
{
    const char *bar = strrchr(s, '|');
    if (!bar || !bar[1])
        return 0;
    for (const char *p = bar + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* "name|k": the name as it is when it ends in "|<digits>" (or is "all",
 * lighteval's mean row), else with "|<n-shot>" (task_config's
 * non-negative integer, else 0). */
static const char *task_key(struct tree *t, const struct rtask *k)
{
    if (has_shots(k->name) || strcmp(k->name, "all") == 0)
        return k->name;
    const msgpack_object *ns = held_get(k->cfg, "n-shot");
    unsigned long long shots =
        ns && ns->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? ns->via.u64 : 0;
    size_t n = strlen(k->name) + 24;
    char *p = zalloc(t, n);
    if (!p)
        return "";
    snprintf(p, n, "%s|%llu", k->name, shots);
    return p;
}

/* A row lighteval derives itself: "all" or "<...>:_average|k". */
static int is_derived(const char *key)
{
    const char *bar = strrchr(key, '|');
    size_t head = bar ? (size_t)(bar - key) : strlen(key), m = 9;
    return strcmp(key, "all") == 0 ||
           (head >= m && memcmp(key + head - m, ":_average", m) == 0);
}

struct keyed {
    const char *key;
    int norows; /* the task has no results */
    size_t idx;
};

/* By key, then tasks with results first, then in order of appearance. */
static int by_key(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (!c)
        c = x->norows - y->norows;
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* skip[i] for derived rows, and for all but one of the tasks that share
 * a key (e.g. "x" with n-shot 0 and "x|0"): the first one with results,
 * else the first one, is written. */
static void mark_skips(struct tree *t, struct lstate *s)
{
    size_t n = t->r->nt;
    struct keyed *kd = malloc((n ? n : 1) * sizeof *kd);
    if (!kd) {
        t->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        kd[i] = (struct keyed){s->key[i], !t->r->t[i]->nm, i};
    qsort(kd, n, sizeof *kd, by_key);
    for (size_t i = 0; i < n; i++)
        s->skip[kd[i].idx] = is_derived(kd[i].key) ||
                             (i > 0 && strcmp(kd[i - 1].key, kd[i].key) == 0);
    free(kd);
}

static void compile_hashes(struct tree *t, struct lstate *s)
{
    for (size_t i = 0; i < t->r->nt && !t->failed; i++) {
        const struct lhash *h = &t->r->t[i]->light;
        s->hashed[i] = !s->skip[i] && evt__lhash_any(h);
        if (s->hashed[i] && evt__lhash_compile(h, s->hash[i]) != 0)
            t->failed = 1;
    }
}

static const struct lstate *lstate(struct tree *t)
{
    static const struct lstate none;
    size_t n = t->r->nt ? t->r->nt : 1;
    struct lstate *s = t->layout_state;
    if (s || t->failed)
        return s ? s : &none;
    s = zalloc(t, sizeof *s);
    if (s) {
        s->key = zalloc(t, n * sizeof *s->key);
        s->skip = zalloc(t, n);
        s->hash = zalloc(t, n * sizeof *s->hash);
        s->hashed = zalloc(t, n);
    }
    if (t->failed)
        return &none;
    for (size_t i = 0; i < t->r->nt; i++)
        s->key[i] = task_key(t, t->r->t[i]);
    mark_skips(t, s);
    compile_hashes(t, s);
    t->layout_state = s;
    return t->failed ? &none : s;
}

/* A written task i (not skipped; with results when rows is set). */
static int written(const struct tree *t, const struct lstate *s, size_t i,
                   int rows)
{
    return s->skip && !s->skip[i] && (!rows || t->r->t[i]->nm);
}

/* ---- results: task rows ------------------------------------------------- */

/* The index of member k[0..n) of map, or its size when absent. */
static uint32_t member_index(const msgpack_object *map, const char *k,
                             size_t n)
{
    uint32_t i = 0;
    for (; i < map->via.map.size; i++) {
        const msgpack_object *key = &map->via.map.ptr[i].key;
        if (key->via.str.size == n && memcmp(key->via.str.ptr, k, n) == 0)
            break;
    }
    return i;
}

static msgpack_object *find_member(const msgpack_object *map, const char *k,
                                   size_t n)
{
    uint32_t i = member_index(map, k, n);
    return i < map->via.map.size ? &map->via.map.ptr[i].val : NULL;
}

/* The slot of member k[0..n): the existing one (a later value replaces it
 * in place), else a new one. */
static msgpack_object *put_unique(struct tree *t, struct omap *m,
                                  const char *k, size_t n)
{
    msgpack_object *v = t->failed ? NULL : find_member(m->obj, k, n);
    return v ? v : map_put(t, m, k, n);
}

/* "<metric>" (filter "none" or empty) or "<metric>,<filter>", then
 * suffix ("_stderr" or none), in the zone. */
static const char *metric_name(struct tree *t, const struct rmetric *m,
                               const char *suffix, size_t *n)
{
    int plain = !*m->filter || strcmp(m->filter, "none") == 0;
    size_t cap = strlen(m->metric) + strlen(m->filter) + strlen(suffix) + 2;
    char *p = zalloc(t, cap);
    *n = 0;
    if (!p)
        return "";
    int len = snprintf(p, cap, "%s%s%s%s", m->metric, plain ? "" : ",",
                       plain ? "" : m->filter, suffix);
    *n = (size_t)len;
    return p;
}

/* value, then "<name>_stderr" when the result has a numeric stderr. The
 * other companions (stderr_clt, ...) have no lighteval form. */
static void put_row(struct tree *t, struct omap *e, const struct rmetric *m)
{
    size_t n;
    const char *k = metric_name(t, m, "", &n);
    *put_unique(t, e, k, n) = *held_get(m->ev, "value");
    const msgpack_object *se = held_get(m->ev, "stderr");
    if (!is_number(se))
        return;
    k = metric_name(t, m, "_stderr", &n);
    *put_unique(t, e, k, n) = *se;
}

/* ---- results: suite averages and "all" ---------------------------------- */

/* A running mean of one key. */
struct mean {
    double sum;
    size_t n;
};

static void mean_add(struct mean *m, const msgpack_object *v)
{
    double d;
    if (is_number(v) && evt_mp_double(v, &d) == 0) {
        m->sum += d;
        m->n++;
    }
}

static void mean_put(msgpack_object *slot, const struct mean *m)
{
    if (m->n)
        v_f64(slot, m->sum / (double)m->n);
    else
        v_empty(slot, MSGPACK_OBJECT_NIL);
}

/* The average row of task key "[prefix|]task|k":
 * "[prefix|]<task up to its first ':'>:_average|k" (lighteval groups
 * "mmlu:anatomy|5" under "mmlu:_average|5"; files of the older
 * "suite|task|k" form keep their suite). In the zone. */
static const char *suite_key(struct tree *t, const char *key)
{
    const char *bar = strrchr(key, '|');
    size_t head = bar ? (size_t)(bar - key) : strlen(key), start = head;
    while (start > 0 && key[start - 1] != '|')
        start--;
    size_t task = start;
    while (task < head && key[task] != ':')
        task++;
    size_t cap = strlen(key) + 16;
    char *p = zalloc(t, cap);
    if (p)
        snprintf(p, cap, "%.*s:_average%s", (int)task, key,
                 bar ? bar : "");
    return p ? p : "";
}

/* Group of each of the n task rows (index into keys), keys of the groups
 * in order of first appearance. Returns the number of groups. */
static size_t group_rows(struct tree *t, const msgpack_object_kv *rows,
                         size_t n, size_t *grp, const char **keys)
{
    size_t ng = 0;
    for (size_t i = 0; i < n && !t->failed; i++) {
        char *k = zalloc(t, rows[i].key.via.str.size + 1);
        if (!k)
            return 0;
        memcpy(k, rows[i].key.via.str.ptr, rows[i].key.via.str.size);
        k[rows[i].key.via.str.size] = '\0';
        const char *sk = suite_key(t, k);
        size_t g = 0;
        while (g < ng && strcmp(keys[g], sk) != 0)
            g++;
        if (g == ng)
            keys[ng++] = sk;
        grp[i] = g;
    }
    return ng;
}

/* One average row: the keys of the group's first task, each the mean of
 * the numeric values the group's tasks have for it (upstream fails when a
 * task lacks one). */
static void put_average(struct tree *t, struct omap *res, const char *key,
                        const msgpack_object_kv *rows, size_t n,
                        const size_t *grp, size_t g)
{
    size_t first = 0;
    while (grp[first] != g)
        first++;
    const msgpack_object *f = &rows[first].val;
    struct omap e;
    map_init(t, &e, put(t, res, key), f->via.map.size);
    for (uint32_t j = 0; j < f->via.map.size && !t->failed; j++) {
        const msgpack_object *mk = &f->via.map.ptr[j].key;
        struct mean m = {0, 0};
        for (size_t i = first; i < n; i++)
            if (grp[i] == g)
                mean_add(&m, find_member(&rows[i].val, mk->via.str.ptr,
                                         mk->via.str.size));
        mean_put(map_put(t, &e, mk->via.str.ptr, mk->via.str.size), &m);
    }
}

/* "<suite>:_average|k" for each suite with more than one task row. */
static void put_averages(struct tree *t, struct omap *res, size_t n)
{
    const msgpack_object_kv *rows = res->obj->via.map.ptr;
    size_t *grp = zalloc(t, (n ? n : 1) * sizeof *grp);
    const char **keys = zalloc(t, (n ? n : 1) * sizeof *keys);
    size_t ng = grp && keys ? group_rows(t, rows, n, grp, keys) : 0;
    for (size_t g = 0; g < ng && !t->failed; g++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
            count += grp[i] == g;
        if (count > 1)
            put_average(t, res, keys[g], rows, n, grp, g);
    }
}

/* "all": every key of the n task rows (stderr keys included) in
 * first-seen order, each the mean of its numeric values. */
static void put_all(struct tree *t, struct omap *res, size_t n)
{
    const msgpack_object_kv *rows = res->obj->via.map.ptr;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += rows[i].val.via.map.size;
    struct mean *m = zalloc(t, (cap ? cap : 1) * sizeof *m);
    struct omap all;
    map_init(t, &all, put(t, res, "all"), cap);
    for (size_t i = 0; i < n && m && !t->failed; i++) {
        const msgpack_object *row = &rows[i].val;
        for (uint32_t j = 0; j < row->via.map.size && !t->failed; j++) {
            const msgpack_object_kv *kv = &row->via.map.ptr[j];
            uint32_t x = member_index(all.obj, kv->key.via.str.ptr,
                                      kv->key.via.str.size);
            if (x == all.obj->via.map.size) {
                map_put(t, &all, kv->key.via.str.ptr, kv->key.via.str.size);
                m[x] = (struct mean){0, 0};
            }
            if (!t->failed)
                mean_add(&m[x], &kv->val);
        }
    }
    for (uint32_t j = 0; m && !t->failed && j < all.obj->via.map.size; j++)
        mean_put(&all.obj->via.map.ptr[j].val, &m[j]);
}

static void b_light_results(struct tree *t, struct omap *top,
                            const struct member *mb)
{
    const struct lstate *s = lstate(t);
    struct omap res;
    size_t nt = t->r->nt, rows = 0;
    map_init(t, &res, put(t, top, mb->key), 2 * nt + 1);
    for (size_t i = 0; i < nt && !t->failed; i++) {
        const struct rtask *k = t->r->t[i];
        if (!written(t, s, i, 1))
            continue;
        struct omap e;
        map_init(t, &e, put(t, &res, s->key[i]), 2 * k->nm);
        for (size_t j = 0; j < k->nm; j++)
            put_row(t, &e, &k->m[j]);
        rows++;
    }
    if (t->failed)
        return;
    put_averages(t, &res, rows);
    put_all(t, &res, rows);
}

/* ---- config_general ----------------------------------------------------- */

/* GeneralConfigLogger's fields, in lighteval's order. */
static const char *const general[] = {
    "lighteval_sha", "num_fewshot_seeds", "max_samples", "job_id",
    "start_time", "end_time", "total_evaluation_time_secondes",
    "model_config", "model_name", NULL};

static int is_general(const msgpack_object *k)
{
    for (int i = 0; general[i]; i++)
        if (evt_mp_str_eq(k, general[i]))
            return 1;
    return 0;
}

/* run_start's "config" map (lighteval's config_general, or the harness's
 * run config), or NULL. */
static const msgpack_object *run_config(const struct tree *t)
{
    const msgpack_object *c = run_field(t->r, "config");
    return c && c->type == MSGPACK_OBJECT_MAP ? c : NULL;
}

/* A field as the events give it: the run field of that name (run_end over
 * run_start), else the member of run_start's config; NULL when neither. */
static const msgpack_object *given(const struct tree *t, const char *key)
{
    const msgpack_object *v = run_field(t->r, key);
    return v ? v : evt_mp_get(run_config(t), key);
}

/* start_time / end_time: the number given, else the wall clock of
 * run_start / run_end in epoch seconds (upstream: perf_counter()). */
static double time_of(const struct tree *t, const char *key, int end)
{
    double d;
    const msgpack_object *v = given(t, key);
    if (is_number(v) && evt_mp_double(v, &d) == 0)
        return d;
    return evt__res_event_secs(t->r, end);
}

static void put_time(struct tree *t, struct omap *g, const char *key, int end)
{
    const msgpack_object *v = given(t, key);
    msgpack_object *slot = put(t, g, key);
    if (is_number(v))
        *slot = *v;
    else
        v_f64(slot, time_of(t, key, end));
}

/* The field given, else fallback (a run field), else str(end - start) as
 * Python prints a float. */
static void put_total(struct tree *t, struct omap *g, const char *key,
                      const char *fallback)
{
    const msgpack_object *v = given(t, key);
    msgpack_object *slot = put(t, g, key);
    char num[32];
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        v = run_field(t->r, fallback);
    if (v && v->type != MSGPACK_OBJECT_NIL) {
        *slot = *v;
        return;
    }
    double d = time_of(t, "end_time", 1) - time_of(t, "start_time", 0);
    v_zstr(t, slot, num, evt_py_float_repr(d, num));
}

/* The field given, else the run field alt (may be NULL), else *dflt. */
static void put_given(struct tree *t, struct omap *g, const char *key,
                      const char *alt, const msgpack_object *dflt)
{
    const msgpack_object *v = given(t, key);
    if (!v && alt)
        v = run_field(t->r, alt);
    if (!v && alt)
        v = evt_mp_get(run_config(t), alt);
    *put(t, g, key) = v ? *v : *dflt;
}

/* The members of run_start's config that are not general fields. */
static void put_extras(struct tree *t, struct omap *m)
{
    const msgpack_object *c = run_config(t);
    for (uint32_t i = 0; c && i < c->via.map.size; i++) {
        const msgpack_object_kv *kv = &c->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && !is_general(&kv->key))
            *map_put(t, m, kv->key.via.str.ptr, kv->key.via.str.size) =
                kv->val;
    }
}

/* model_config when no event gives one: the model name, model_args, then
 * the run config's other members (batch_size, device, gen_kwargs...). */
static void put_model_config(struct tree *t, struct omap *g,
                             const msgpack_object *name)
{
    const msgpack_object *c = run_config(t);
    const msgpack_object *args = run_field(t->r, "model_args");
    struct omap m;
    map_init(t, &m, put(t, g, "model_config"),
             2 + (c ? c->via.map.size : 0));
    *put(t, &m, "model_name") = *name;
    if (args && !evt_mp_get(c, "model_args"))
        *put(t, &m, "model_args") = *args;
    put_extras(t, &m);
}

static void b_config_general(struct tree *t, struct omap *top,
                             const struct member *mb)
{
    static const msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    msgpack_object sha, one, job, name;
    v_str(&sha, "?", 1);
    v_u64(&one, 1);
    v_str(&job, "0", 1);
    char *model = evt__res_model_name(t->r, t->o->layout);
    v_zstr(t, &name, model ? model : "", model ? strlen(model) : 0);
    t->failed |= !model;
    free(model);
    const msgpack_object *c = run_config(t), *mc = given(t, "model_config");
    struct omap g;
    map_init(t, &g, put(t, top, mb->key), 9 + (c ? c->via.map.size : 0));
    put_given(t, &g, "lighteval_sha", "git_hash", &sha);
    put_given(t, &g, "num_fewshot_seeds", NULL, &one);
    put_given(t, &g, "max_samples", "limit", &nil);
    put_given(t, &g, "job_id", NULL, &job);
    put_time(t, &g, "start_time", 0);
    put_time(t, &g, "end_time", 1);
    put_total(t, &g, "total_evaluation_time_secondes",
              "total_evaluation_time_seconds");
    if (mc)
        *put(t, &g, "model_config") = *mc;
    else
        put_model_config(t, &g, &name);
    *put(t, &g, "model_name") = name;
    if (mc)
        put_extras(t, &g);
}

/* ---- versions, config_tasks --------------------------------------------- */

/* {key: task_config[mb->arg]} for the written tasks that have it, in order
 * of appearance. */
static void b_light_by_task(struct tree *t, struct omap *top,
                            const struct member *mb)
{
    const struct lstate *s = lstate(t);
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), t->r->nt);
    for (size_t i = 0; i < t->r->nt && !t->failed; i++) {
        const msgpack_object *v = held_get(t->r->t[i]->cfg, mb->arg);
        if (v && written(t, s, i, 0))
            *put(t, &m, s->key[i]) = *v;
    }
}

/* ---- summary_tasks, summary_general ------------------------------------- */

/* {"hashes": {...}, "truncated": 0, ...}; h NULL: "hashes": {}. */
static void put_summary(struct tree *t, msgpack_object *dst,
                        const lhash_compiled *h)
{
    static const char *const names[] = {"hash_examples", "hash_full_prompts",
                                        "hash_input_tokens",
                                        "hash_cont_tokens"};
    static const char *const counters[] = {"truncated", "non_truncated",
                                           "padded", "non_padded"};
    struct omap e, hs;
    map_init(t, &e, dst, 5);
    map_init(t, &hs, put(t, &e, "hashes"), 4);
    for (int i = 0; h && i < 4; i++)
        v_zstr(t, put(t, &hs, names[i]), (*h)[i], 16);
    for (int i = 0; i < 4; i++) /* never counted upstream */
        v_u64(put(t, &e, counters[i]), 0);
}

static void b_summary_tasks(struct tree *t, struct omap *top,
                            const struct member *mb)
{
    const struct lstate *s = lstate(t);
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), t->r->nt);
    for (size_t i = 0; i < t->r->nt && !t->failed; i++)
        if (s->hashed[i])
            put_summary(t, put(t, &m, s->key[i]), &s->hash[i]);
}

/* Over the hashed tasks in sorted key order; "hashes": {} when none. */
static void b_summary_general(struct tree *t, struct omap *top,
                              const struct member *mb)
{
    const struct lstate *s = lstate(t);
    size_t n = 0, nt = t->r->nt;
    struct keyed *kd = zalloc(t, (nt ? nt : 1) * sizeof *kd);
    lhash_compiled *hs = zalloc(t, (nt ? nt : 1) * sizeof *hs);
    for (size_t i = 0; kd && hs && i < nt; i++)
        if (s->hashed[i])
            kd[n++] = (struct keyed){s->key[i], 0, i};
    if (t->failed)
        return;
    qsort(kd, n, sizeof *kd, by_key);
    for (size_t i = 0; i < n; i++)
        memcpy(hs[i], s->hash[kd[i].idx], sizeof *hs);
    lhash_compiled all;
    if (n && evt__lhash_general((const lhash_compiled *)hs, n, all) != 0)
        t->failed = 1;
    put_summary(t, put(t, top, mb->key),
                n ? (const lhash_compiled *)&all : NULL);
}

/* lighteval 0.13 (formats.md 4). */
const struct member evt__lighteval_members[] = {
    {"config_general", b_config_general, 0, NULL},
    {"results", b_light_results, 0, NULL},
    {"versions", b_light_by_task, 0, "version"},
    {"config_tasks", b_light_by_task, 0, "config"},
    {"summary_tasks", b_summary_tasks, 0, NULL},
    {"summary_general", b_summary_general, 0, NULL},
    {NULL, NULL, 0, NULL}};
