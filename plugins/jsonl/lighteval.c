/* lighteval.c -- the lighteval details layout (docs/sinks/jsonl.md §3.3):
 * one Detail per line, {"doc", "metric", "model_response", <extras>} with
 * the top-level keys sorted. A sample that already carries lighteval's
 * "metric" or "model_response" passes through; otherwise the Doc and the
 * ModelResponse are built from the evtrack fields as they are written. */
#include <stdlib.h>
#include <string.h>

#include "record_int.h"

/* 1 when the event is a lighteval detail already: it carries lighteval's
 * "metric" or "model_response", so its "doc" is a lighteval Doc. */
static int le_native(const struct jl_rec *r)
{
    return r->f[JF_METRIC].p || r->f[JF_MODEL_RESPONSE].p;
}

static int is_map(struct jl_span s)
{
    return jl_span_type(s) == JL_MT_MAP;
}

/* The fields the layout consumes: the three columns and the id lighteval
 * drops, plus the evtrack fields of each column it builds. */
unsigned jl_le_known(const struct jl_rec *r)
{
    unsigned k = JB(JF_TASK) | JB(JF_DOC_ID) | JB(JF_DOC) | JB(JF_METRIC) |
                 JB(JF_MODEL_RESPONSE) | JB(JF_ID);
    if (!le_native(r))
        k |= JB(JF_TARGET);
    if (!r->f[JF_METRIC].p && is_map(r->f[JF_METRICS]))
        k |= JB(JF_METRICS);
    if (!r->f[JF_MODEL_RESPONSE].p)
        k |= JB(JF_INPUT) | JB(JF_ARGUMENTS) | JB(JF_RESPS) | JB(JF_FRESPS);
    return k;
}

/* ModelResponse.input: the sample's "input", else arguments[0]. */
static struct jl_span le_input(const struct jl_rec *r)
{
    return r->f[JF_INPUT].p ? r->f[JF_INPUT] : jl_first_argument(r);
}

/* msgpack-c's type numbers, by which keys that are not str were sorted
 * (the core only makes str keys). */
static int key_rank(const struct jl_key *k)
{
    static const int rank[] = {
        [JL_MT_NIL] = 0, [JL_MT_BOOL] = 1, [JL_MT_UINT] = 2,
        [JL_MT_NEG] = 3, [JL_MT_F64] = 4,  [JL_MT_STR] = 5,
        [JL_MT_ARRAY] = 6, [JL_MT_MAP] = 7, [JL_MT_BIN] = 8,
        [JL_MT_EXT] = 9, [JL_MT_F32] = 10};
    int t = k->mp.p ? jl_span_type(k->mp) : JL_MT_STR;
    return t < 0 ? 11 : rank[t];
}

/* Python's sorted() on str keys: code point order, which is UTF-8 byte
 * order. Equal keys (a producer's bug) keep the order they came in. */
static int key_cmp(const void *pa, const void *pb)
{
    const struct jl_entry *a = pa, *b = pb;
    int ra = key_rank(&a->key), rb = key_rank(&b->key), r = 0;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (!a->key.mp.p && !b->key.mp.p) {
        size_t na = a->key.n, nb = b->key.n;
        r = memcmp(a->key.s, b->key.s, na < nb ? na : nb);
        if (!r && na != nb)
            r = na < nb ? -1 : 1;
    }
    if (r)
        return r;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* doc, metric, model_response and every field the layout does not
 * consume, sorted by key, as lighteval sorts its detail columns. */
int jl_le_build(struct jl_rec *r)
{
    /* Built columns are written from r->f; their span is never read. */
    static const struct jl_span built = {(const unsigned char *)"", 0};
    int rc;
    if (le_native(r))
        rc = jl_add_field(r, JF_DOC, VK_RAW);
    else
        rc = jl_add(r, jl_field_key(JF_DOC), VK_LE_DOC, built);
    if (!rc && r->f[JF_METRIC].p)
        rc = jl_add_field(r, JF_METRIC, VK_RAW);
    else if (!rc && is_map(r->f[JF_METRICS]))
        rc = jl_add(r, jl_field_key(JF_METRIC), VK_RAW, r->f[JF_METRICS]);
    if (!rc && r->f[JF_MODEL_RESPONSE].p)
        rc = jl_add_field(r, JF_MODEL_RESPONSE, VK_RAW);
    else if (!rc && (le_input(r).p || r->f[JF_RESPS].p || r->f[JF_FRESPS].p))
        rc = jl_add(r, jl_field_key(JF_MODEL_RESPONSE), VK_LE_RESPONSE,
                    built);
    if (!rc)
        rc = jl_add_extras(r);
    if (!rc && r->ne > 1)
        qsort(r->e, r->ne, sizeof *r->e, key_cmp);
    return rc;
}

/* ---- writing the built columns ------------------------------------------*/

/* ", " before all but the first member, then the key. */
static int member(struct jl_jw *w, int *n, const char *key)
{
    if ((*n)++ && jl_jw_raw(w, ", ", 2))
        return -1;
    return jl_jw_key_text(w, key, strlen(key));
}

static int put_span(struct jl_jw *w, struct jl_span s)
{
    struct jl_cur c = jl_span_cur(s);
    return jl_jw_value(w, &c, 2);
}

/* Doc.choices and Doc.gold_index from the target: an array lists every
 * gold answer, any other value is the one gold answer. Each choice is its
 * Python str(); gold_index is always a list, so the column keeps one type
 * (formats.md §9 #12). */
static int put_golds(struct jl_jw *w, struct jl_span target, int *n)
{
    struct jl_cur c = jl_span_cur(target);
    struct jl_mv v;
    if (jl_mp_read(&c, &v))
        return jl_jw_fail(w, "malformed msgpack");
    uint32_t count = v.t == JL_MT_ARRAY ? v.n : 1;
    if (v.t != JL_MT_ARRAY)
        c = jl_span_cur(target);
    if (member(w, n, "choices") || jl_jw_raw(w, "[", 1))
        return -1;
    for (uint32_t i = 0; i < count; i++)
        if ((i && jl_jw_raw(w, ", ", 2)) || jl_jw_pystr(w, &c))
            return -1;
    if (jl_jw_raw(w, "]", 1) || member(w, n, "gold_index") ||
        jl_jw_raw(w, "[", 1))
        return -1;
    for (uint32_t i = 0; i < count; i++)
        if ((i && jl_jw_raw(w, ", ", 2)) || jl_jw_uint(w, i))
            return -1;
    return jl_jw_raw(w, "]", 1);
}

/* lighteval's Doc from an evtrack sample, in the order of the Doc fields:
 * choices, gold_index (from target), id (str(doc_id)), specific (the
 * sample's doc), task_name (task). */
static int put_doc(const struct jl_rec *r, struct jl_jw *w)
{
    int n = 0, t = jl_span_type(r->f[JF_TARGET]);
    if (jl_jw_raw(w, "{", 1))
        return -1;
    if (t >= 0 && t != JL_MT_NIL && put_golds(w, r->f[JF_TARGET], &n))
        return -1;
    if (r->f[JF_DOC_ID].p) {
        struct jl_cur c = jl_span_cur(r->f[JF_DOC_ID]);
        if (member(w, &n, "id") || jl_jw_pystr(w, &c))
            return -1;
    }
    if (r->f[JF_DOC].p &&
        (member(w, &n, "specific") || put_span(w, r->f[JF_DOC])))
        return -1;
    if (r->f[JF_TASK].p &&
        (member(w, &n, "task_name") || put_span(w, r->f[JF_TASK])))
        return -1;
    return jl_jw_raw(w, "}", 1);
}

/* 1 when the value at c is a loglikelihood result as the harnesses log
 * it: [logprob, is_greedy]. */
static int is_ll_pair(struct jl_cur c)
{
    struct jl_mv v, a, b;
    return !jl_mp_read(&c, &v) && v.t == JL_MT_ARRAY && v.n == 2 &&
           !jl_mp_read(&c, &a) && jl_mt_number(a.t) &&
           !jl_mp_read(&c, &b) && b.t == JL_MT_BOOL;
}

/* Walks the items of resps or filtered_resps: the repeats of each request
 * in turn. A request that is not an array, or is one loglikelihood pair,
 * is one item; so is a whole value that is not an array. */
struct le_iter {
    struct jl_cur c; /* the next request, or the next item of one */
    uint32_t left;   /* requests not started */
    uint32_t inner;  /* items left in the request being walked */
};

static void le_start(struct le_iter *it, struct jl_span l)
{
    struct jl_cur c = jl_span_cur(l);
    struct jl_mv v;
    it->c = c;
    it->left = 1; /* a value that is not an array: one request */
    it->inner = 0;
    if (!jl_mp_read(&c, &v) && v.t == JL_MT_ARRAY) {
        it->c = c;
        it->left = v.n;
    }
}

/* The next item in *item; 0 at the end. */
static int le_next(struct le_iter *it, struct jl_span *item)
{
    for (;;) {
        if (it->inner) {
            it->inner--;
        } else {
            if (!it->left)
                return 0;
            it->left--;
            struct jl_cur c = it->c;
            struct jl_mv v;
            if (jl_mp_read(&c, &v))
                return 0;
            if (v.t == JL_MT_ARRAY && !is_ll_pair(it->c)) {
                it->c = c; /* walk its items */
                it->inner = v.n;
                continue;
            }
        }
        const unsigned char *p = it->c.p;
        if (jl_mp_skip(&it->c, JL_MP_MAX_DEPTH))
            return 0;
        item->p = p;
        item->n = (size_t)(it->c.p - p);
        return 1;
    }
}

/* Which ModelResponse list put_items writes. */
enum le_part {
    LE_TEXT,    /* str() of every item that is not a number or a pair */
    LE_LOGPROB, /* numbers, and the first member of pairs */
    LE_EQ       /* the second member of pairs */
};

/* The member of a pair that part writes, else the item itself. */
static struct jl_cur part_of(struct jl_span x, int pair, enum le_part part)
{
    struct jl_cur c = jl_span_cur(x);
    struct jl_mv v;
    if (pair) {
        jl_mp_read(&c, &v); /* the pair's header */
        if (part == LE_EQ)
            jl_mp_skip(&c, 1); /* the logprob */
    }
    return c;
}

static int put_items(struct jl_jw *w, struct jl_span l, enum le_part part)
{
    struct le_iter it;
    struct jl_span x;
    int n = 0;
    le_start(&it, l);
    if (jl_jw_raw(w, "[", 1))
        return -1;
    while (le_next(&it, &x)) {
        int pair = is_ll_pair(jl_span_cur(x));
        int num = jl_mt_number(jl_span_type(x));
        int wanted = part == LE_TEXT      ? !pair && !num
                     : part == LE_LOGPROB ? pair || num
                                          : pair;
        if (!wanted)
            continue;
        struct jl_cur c = part_of(x, pair, part);
        if ((n++ && jl_jw_raw(w, ", ", 2)) ||
            (part == LE_TEXT ? jl_jw_pystr(w, &c) : jl_jw_value(w, &c, 3)))
            return -1;
    }
    return jl_jw_raw(w, "]", 1);
}

/* lighteval's ModelResponse from an evtrack sample, in the order of its
 * fields: input, text (resps), text_post_processed (filtered_resps),
 * logprobs, argmax_logits_eq_gold (resps). */
static int put_response(const struct jl_rec *r, struct jl_jw *w)
{
    struct jl_span in = le_input(r), rs = r->f[JF_RESPS],
                   fr = r->f[JF_FRESPS];
    int n = 0;
    if (jl_jw_raw(w, "{", 1))
        return -1;
    if (in.p && (member(w, &n, "input") || put_span(w, in)))
        return -1;
    if (rs.p && (member(w, &n, "text") || put_items(w, rs, LE_TEXT)))
        return -1;
    if (fr.p && (member(w, &n, "text_post_processed") ||
                 put_items(w, fr, LE_TEXT)))
        return -1;
    if (rs.p && (member(w, &n, "logprobs") || put_items(w, rs, LE_LOGPROB) ||
                 member(w, &n, "argmax_logits_eq_gold") ||
                 put_items(w, rs, LE_EQ)))
        return -1;
    return jl_jw_raw(w, "}", 1);
}

int jl_le_write(struct jl_rec *r, struct jl_jw *w, const struct jl_entry *e)
{
    return e->kind == VK_LE_DOC ? put_doc(r, w) : put_response(r, w);
}
