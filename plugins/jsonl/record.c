/* record.c -- sample event to JSONL line (record.h): the entries of the
 * lmms-eval and lm-eval layouts, and the writing of a line's entries
 * (record_int.h). lighteval's details are in lighteval.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"
#include "record_int.h"

/* The fields each layout consumes; any other field is an "extra". */
static const unsigned known_lmms =
    JB(JF_TASK) | JB(JF_DOC_ID) | JB(JF_DOC) | JB(JF_TARGET) |
    JB(JF_ARGUMENTS) | JB(JF_RESPS) | JB(JF_FRESPS) | JB(JF_FILTER) |
    JB(JF_METRICS) | JB(JF_DOC_HASH) | JB(JF_TOKEN_COUNTS) |
    JB(JF_INPUT_MEDIA) | JB(JF_INPUT);
static const unsigned known_lmeval =
    JB(JF_TASK) | JB(JF_DOC_ID) | JB(JF_DOC) | JB(JF_TARGET) |
    JB(JF_ARGUMENTS) | JB(JF_RESPS) | JB(JF_FRESPS) | JB(JF_FILTER) |
    JB(JF_METRICS) | JB(JF_DOC_HASH) | JB(JF_PROMPT_HASH) |
    JB(JF_TARGET_HASH);

int jl_skip(struct jl_rec *r, const char *why)
{
    if (r->err && r->errlen)
        snprintf(r->err, r->errlen, "%s", why);
    return JL_REC_SKIP;
}

/* ---- entries ------------------------------------------------------------*/

static int is_dropped(const struct jl_rec *r, const struct jl_key *k)
{
    for (size_t i = 0; !k->mp.p && i < r->o->ndrop; i++) {
        const char *d = r->o->drop[i];
        if (strlen(d) == k->n && memcmp(d, k->s, k->n) == 0)
            return 1;
    }
    return 0;
}

int jl_add(struct jl_rec *r, const struct jl_key *k, enum jl_vk kind,
           struct jl_span val)
{
    if (r->o->ndrop && is_dropped(r, k))
        return 0;
    if (r->ne == r->cape) {
        size_t cap = r->cape ? 2 * r->cape : 32;
        struct jl_entry *e = realloc(r->e, cap * sizeof *e);
        if (!e)
            return JL_REC_NOMEM;
        r->e = e;
        r->cape = cap;
    }
    struct jl_entry *e = &r->e[r->ne];
    e->key = *k;
    e->kind = kind;
    e->val = val;
    e->order = r->ne++;
    return 0;
}

int jl_add_field(struct jl_rec *r, enum jf f, enum jl_vk kind)
{
    return r->f[f].p ? jl_add(r, jl_field_key(f), kind, r->f[f]) : 0;
}

/* 1 when a key of this name is the layout's own or the header's. */
static int is_own(const struct jl_rec *r, enum jf f)
{
    return f == JF_HEADER || (f < JF_COUNT && (r->known & JB(f)));
}

int jl_add_extras(struct jl_rec *r)
{
    for (size_t i = 0; i < r->nfields; i++) {
        const struct jl_field *f = &r->fields[i];
        int rc = is_own(r, f->jf) ? 0 : jl_add(r, &f->key, VK_RAW, f->val);
        if (rc)
            return rc;
    }
    return 0;
}

/* The values of the "metrics" map as top-level keys. A metric named like
 * a field of the layout is left out (and reported through warn). */
static int add_metric_values(struct jl_rec *r)
{
    struct jl_cur c = jl_span_cur(r->f[JF_METRICS]);
    struct jl_mv m;
    if (!r->f[JF_METRICS].p || jl_mp_read(&c, &m) || m.t != JL_MT_MAP)
        return 0;
    for (uint32_t i = 0; i < m.n; i++) {
        struct jl_field f;
        if (jl_scan_field(&c, &f))
            return jl_skip(r, "malformed metrics");
        if (is_own(r, f.jf)) {
            if (r->warn && r->warnlen)
                snprintf(r->warn, r->warnlen,
                         "metric \"%.*s\" left out: the layout has a field "
                         "of that name", (int)f.key.n, f.key.s);
            continue;
        }
        int rc = jl_add(r, &f.key, VK_RAW, f.val);
        if (rc)
            return rc;
    }
    return 0;
}

struct jl_span jl_first_argument(const struct jl_rec *r)
{
    struct jl_span none = {NULL, 0};
    struct jl_cur c = jl_span_cur(r->f[JF_ARGUMENTS]);
    struct jl_mv v;
    if (!r->f[JF_ARGUMENTS].p || jl_mp_read(&c, &v) ||
        v.t != JL_MT_ARRAY || v.n == 0)
        return none;
    const unsigned char *p = c.p;
    if (jl_mp_skip(&c, JL_MP_MAX_DEPTH))
        return none;
    struct jl_span first = {p, (size_t)(c.p - p)};
    return first;
}

/* ---- lmms-eval: resps and filtered_resps --------------------------------*/

/* The element of a 1-element array, else s itself. */
static struct jl_span unwrap(struct jl_span s)
{
    struct jl_cur c = jl_span_cur(s);
    struct jl_mv v;
    if (jl_mp_read(&c, &v) || v.t != JL_MT_ARRAY || v.n != 1)
        return s;
    struct jl_span item = {c.p, (size_t)(c.end - c.p)}; /* all that is left */
    return item;
}

/* str() of the value at c into b (emptied first). 0, or -1 (b->oom set
 * when out of memory). */
static int str_text(struct evt_buf *b, struct jl_cur *c)
{
    b->len = 0;
    b->oom = 0;
    return jl_py_str(b, c) || b->oom ? -1 : 0;
}

/* Whether the values at a and b are equal once sanitized (sanitize_list:
 * arrays stay, the rest becomes str()): arrays item by item, other values
 * by their str(). 1 equal, 0 not, -1 out of memory. */
static int san_equal(struct jl_rec *r, struct jl_cur *a, struct jl_cur *b,
                     int depth)
{
    struct jl_cur pa = *a, pb = *b;
    struct jl_mv va, vb;
    if (depth > JL_PY_MAX_DEPTH || jl_mp_read(&pa, &va) ||
        jl_mp_read(&pb, &vb))
        return 0;
    if (va.t == JL_MT_ARRAY || vb.t == JL_MT_ARRAY) {
        if (va.t != vb.t || va.n != vb.n)
            return 0;
        *a = pa;
        *b = pb;
        int eq = 1;
        for (uint32_t i = 0; i < va.n && eq == 1; i++)
            eq = san_equal(r, a, b, depth + 1);
        return eq;
    }
    if (va.t == JL_MT_STR && vb.t == JL_MT_STR) {
        *a = pa;
        *b = pb;
        return va.n == vb.n && memcmp(va.s, vb.s, va.n) == 0;
    }
    if (str_text(&r->tmp, a) || str_text(&r->tmp2, b))
        return r->tmp.oom || r->tmp2.oom ? -1 : 0;
    return r->tmp.len == r->tmp2.len &&
           (r->tmp.len == 0 || memcmp(r->tmp.data, r->tmp2.data,
                                      r->tmp.len) == 0);
}

/* 1 when resps (unwrapped) say what filtered_resps (unwrapped) say: equal,
 * or a 1-element array of it. -1 out of memory. */
static int resps_repeat(struct jl_rec *r, struct jl_span rs,
                        struct jl_span fr)
{
    struct jl_cur a = jl_span_cur(rs), b = jl_span_cur(fr);
    int eq = san_equal(r, &a, &b, 0);
    struct jl_span in = unwrap(rs);
    if (eq != 0 || in.p == rs.p)
        return eq;
    a = jl_span_cur(in);
    b = jl_span_cur(fr);
    return san_equal(r, &a, &b, 0);
}

/* lmms-eval steps 2-4: sanitize, unwrap 1-element lists, drop resps when
 * they say the same as filtered_resps. */
static int lmms_resps(struct jl_rec *r)
{
    struct jl_span rs = r->f[JF_RESPS], fr = r->f[JF_FRESPS];
    if (rs.p)
        rs = unwrap(rs);
    if (fr.p)
        fr = unwrap(fr);
    if (rs.p && fr.p) {
        int eq = resps_repeat(r, rs, fr);
        if (eq < 0)
            return JL_REC_NOMEM;
        if (eq)
            rs.p = NULL;
    }
    int rc = rs.p ? jl_add(r, jl_field_key(JF_RESPS), VK_SANITIZED, rs) : 0;
    if (!rc && fr.p)
        rc = jl_add(r, jl_field_key(JF_FRESPS), VK_SANITIZED, fr);
    return rc;
}

/* ---- layouts ------------------------------------------------------------*/

/* doc_id, target, [resps], filtered_resps, [filter], token_counts,
 * doc_hash, [input_media], <extras>, <metrics>, input */
static int build_lmms(struct jl_rec *r)
{
    int rc = jl_add_field(r, JF_DOC_ID, VK_RAW);
    if (!rc)
        rc = jl_add_field(r, JF_TARGET, VK_STR);
    if (!rc)
        rc = lmms_resps(r);
    if (!rc && r->o->filter_key)
        rc = jl_add_field(r, JF_FILTER, VK_RAW);
    if (!rc)
        rc = jl_add_field(r, JF_TOKEN_COUNTS, VK_RAW);
    if (!rc)
        rc = jl_add_field(r, JF_DOC_HASH, VK_RAW);
    if (!rc)
        rc = jl_add_field(r, JF_INPUT_MEDIA, VK_RAW);
    if (!rc)
        rc = jl_add_extras(r);
    if (!rc)
        rc = add_metric_values(r);
    if (rc)
        return rc;
    /* input = arguments[0]; without arguments the event's own "input". */
    struct jl_span first = jl_first_argument(r);
    if (first.p)
        return jl_add(r, jl_field_key(JF_INPUT), VK_RAW, first);
    return jl_add_field(r, JF_INPUT, VK_RAW);
}

/* doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics,
 * doc_hash, prompt_hash, target_hash, <extras>, <metric values> */
static int build_lmeval(struct jl_rec *r)
{
    static const struct {
        enum jf f;
        enum jl_vk kind;
    } order[] = {
        {JF_DOC_ID, VK_RAW},       {JF_DOC, VK_RAW},
        {JF_TARGET, VK_STR},       {JF_ARGUMENTS, VK_ARGS},
        {JF_RESPS, VK_SANITIZED},  {JF_FRESPS, VK_SANITIZED},
        {JF_FILTER, VK_RAW},       {JF_METRICS, VK_NAMES},
        {JF_DOC_HASH, VK_RAW},     {JF_PROMPT_HASH, VK_RAW},
        {JF_TARGET_HASH, VK_RAW}};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof order / sizeof order[0]; i++)
        rc = jl_add_field(r, order[i].f, order[i].kind);
    if (!rc)
        rc = jl_add_extras(r);
    if (!rc)
        rc = add_metric_values(r);
    return rc;
}

/* The fields the layout consumes (the others are extras). */
static unsigned layout_known(const struct jl_rec *r)
{
    if (r->o->layout == JL_LIGHTEVAL)
        return jl_le_known(r);
    if (r->o->layout == JL_LMEVAL)
        return known_lmeval;
    /* lmms-eval spreads a metrics map into keys; any other value of
     * "metrics" is an ordinary extra field there. */
    if (r->f[JF_METRICS].p && jl_span_type(r->f[JF_METRICS]) != JL_MT_MAP)
        return known_lmms & ~JB(JF_METRICS);
    return known_lmms;
}

/* ---- writing the entries ------------------------------------------------*/

/* sanitize_list: arrays stay arrays, every other value becomes str(). */
static int put_sanitized(struct jl_jw *w, struct jl_cur *c, int depth)
{
    struct jl_cur peek = *c;
    struct jl_mv v;
    if (jl_mp_read(&peek, &v))
        return jl_jw_fail(w, "malformed msgpack");
    if (v.t != JL_MT_ARRAY)
        return jl_jw_pystr(w, c);
    if (depth > JL_PY_MAX_DEPTH)
        return jl_jw_fail(w, "resps nest too deep");
    *c = peek;
    if (jl_jw_raw(w, "[", 1))
        return -1;
    for (uint32_t i = 0; i < v.n; i++)
        if ((i && jl_jw_raw(w, ", ", 2)) || put_sanitized(w, c, depth + 1))
            return -1;
    return jl_jw_raw(w, "]", 1);
}

/* "<prefix><i>" as a key. */
static int index_key(struct jl_jw *w, const char *prefix, uint32_t i)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%s%u", prefix, (unsigned)i);
    return jl_jw_key_text(w, t, (size_t)n);
}

/* One request's args as {"arg_0": ..., "arg_1": ...}; a request that is
 * not an array is its own arg_0. */
static int put_request_args(struct jl_jw *w, struct jl_cur *c)
{
    struct jl_cur peek = *c;
    struct jl_mv v;
    if (jl_mp_read(&peek, &v))
        return jl_jw_fail(w, "malformed msgpack");
    if (v.t != JL_MT_ARRAY)
        return jl_jw_raw(w, "{", 1) || index_key(w, "arg_", 0) ||
               jl_jw_value(w, c, 3) || jl_jw_raw(w, "}", 1);
    *c = peek;
    if (jl_jw_raw(w, "{", 1))
        return -1;
    for (uint32_t j = 0; j < v.n; j++)
        if ((j && jl_jw_raw(w, ", ", 2)) || index_key(w, "arg_", j) ||
            jl_jw_value(w, c, 3))
            return -1;
    return jl_jw_raw(w, "}", 1);
}

/* lm-eval's arguments: a list of requests becomes
 * {"gen_args_<i>": {"arg_<j>": ...}}; any other value is written as it
 * is. */
static int put_args(struct jl_jw *w, struct jl_cur *c)
{
    struct jl_cur peek = *c;
    struct jl_mv v;
    if (jl_mp_read(&peek, &v) || v.t != JL_MT_ARRAY)
        return jl_jw_value(w, c, 1);
    *c = peek;
    if (jl_jw_raw(w, "{", 1))
        return -1;
    for (uint32_t i = 0; i < v.n; i++)
        if ((i && jl_jw_raw(w, ", ", 2)) || index_key(w, "gen_args_", i) ||
            put_request_args(w, c))
            return -1;
    return jl_jw_raw(w, "}", 1);
}

/* lm-eval's "metrics": the names of the metrics map, written as values
 * (kept as it is when it is not a map). */
static int put_names(struct jl_jw *w, struct jl_cur *c)
{
    struct jl_cur peek = *c;
    struct jl_mv v;
    if (jl_mp_read(&peek, &v) || v.t != JL_MT_MAP)
        return jl_jw_value(w, c, 1);
    *c = peek;
    if (jl_jw_raw(w, "[", 1))
        return -1;
    for (uint32_t i = 0; i < v.n; i++) {
        if ((i && jl_jw_raw(w, ", ", 2)) || jl_jw_value(w, c, 2))
            return -1;
        if (jl_mp_skip(c, JL_MP_MAX_DEPTH)) /* the metric's value */
            return jl_jw_fail(w, "malformed msgpack");
    }
    return jl_jw_raw(w, "]", 1);
}

static int put_value(struct jl_rec *r, struct jl_jw *w,
                     const struct jl_entry *e)
{
    struct jl_cur c = jl_span_cur(e->val);
    switch (e->kind) {
    case VK_RAW: return jl_jw_value(w, &c, 1);
    case VK_STR: return jl_jw_pystr(w, &c);
    case VK_SANITIZED: return put_sanitized(w, &c, 0);
    case VK_ARGS: return put_args(w, &c);
    case VK_NAMES: return put_names(w, &c);
    default: return jl_le_write(r, w, e);
    }
}

static int put_key(struct jl_jw *w, const struct jl_key *k)
{
    if (k->json)
        return jl_jw_raw(w, k->json, k->n + 4);
    if (!k->mp.p)
        return jl_jw_key_text(w, k->s, k->n);
    struct jl_cur c = jl_span_cur(k->mp);
    return jl_jw_key(w, &c);
}

/* Prefix the error of entry e's value with its key. */
static void name_error(struct jl_rec *r, const struct jl_entry *e)
{
    char msg[256];
    if (!r->err || !r->errlen || e->key.mp.p)
        return;
    snprintf(msg, sizeof msg, "%s", r->err);
    snprintf(r->err, r->errlen, "%.*s: %s", (int)e->key.n, e->key.s, msg);
}

/* The entries as one JSON object and '\n'. 0, or -1 on failure (r->err)
 * or out of memory (line->oom). */
static int put_line(struct jl_rec *r, struct evt_buf *line)
{
    struct jl_jw w = {line,   &r->tmp, r->o->max_field_bytes,
                      r->err, r->errlen, r->sec, &r->scr};
    if (jl_jw_raw(&w, "{", 1))
        return -1;
    for (size_t i = 0; i < r->ne; i++) {
        const struct jl_entry *e = &r->e[i];
        if ((i && jl_jw_raw(&w, ", ", 2)) || put_key(&w, &e->key))
            return -1;
        if (put_value(r, &w, e)) {
            if (!line->oom)
                name_error(r, e);
            return -1;
        }
    }
    return jl_jw_raw(&w, "}\n", 2);
}

/* ---- entry --------------------------------------------------------------*/

int jl_rec_line(struct jl_rec *r, struct evt_buf *line, char *err,
                size_t errlen, char *warn, size_t warnlen)
{
    r->err = err;
    r->errlen = errlen;
    r->warn = warn;
    r->warnlen = warnlen;
    if (warn && warnlen)
        warn[0] = '\0';
    if (err && errlen)
        err[0] = '\0';
    r->ne = 0;
    r->known = layout_known(r);
    int rc = r->o->layout == JL_LMEVAL      ? build_lmeval(r)
             : r->o->layout == JL_LIGHTEVAL ? jl_le_build(r)
                                            : build_lmms(r);
    if (rc)
        return rc;
    size_t start = line->len;
    if (put_line(r, line) == 0) {
        line->data[line->len] = '\0'; /* room() keeps space for it */
        return JL_REC_OK;
    }
    rc = line->oom ? JL_REC_NOMEM : JL_REC_SKIP;
    line->len = start;
    if (line->data)
        line->data[start] = '\0';
    return rc;
}
