/* record.c -- sample event to JSONL line (record.h).
 *
 * The event's fields are picked by name, transformed in a msgpack zone
 * (str() of leaves, unwrapping, argument maps, lighteval's Doc and
 * ModelResponse structs), laid out as one msgpack
 * map in the key order of the layout, passed once through fix() (string
 * caps, bin/ext and container keys to their Python str()), and written
 * with the sdk's json.dumps-compatible writer. */
#include "record.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"

/* Fields the layouts know by name. */
enum jf {
    JF_TASK, JF_DOC_ID, JF_DOC, JF_TARGET, JF_ARGUMENTS, JF_RESPS,
    JF_FRESPS, JF_FILTER, JF_METRICS, JF_DOC_HASH, JF_PROMPT_HASH,
    JF_TARGET_HASH, JF_TOKEN_COUNTS, JF_INPUT_MEDIA, JF_INPUT,
    /* lighteval's own names (the lighteval layout) */
    JF_METRIC, JF_MODEL_RESPONSE, JF_ID, JF_COUNT
};

static const char *const jf_name[JF_COUNT] = {
    "task", "doc_id", "doc", "target", "arguments", "resps",
    "filtered_resps", "filter", "metrics", "doc_hash", "prompt_hash",
    "target_hash", "token_counts", "input_media", "input", "metric",
    "model_response", "id"};

#define JB(f) (1u << (f))
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

/* The event header (docs/EVENTS.md §1): never written. */
static const char *const header_name[] = {"kind", "run_id", "seq",
                                          "time_ns"};

/* Deepest value fix() follows: events nest at most 31 levels and the
 * layouts add at most 2. */
#define FIX_MAX_DEPTH 64

struct ctx {
    const struct jl_opts *o;
    msgpack_zone *z;
    struct evt_buf tmp; /* scratch for Python str() texts */
    const msgpack_object *f[JF_COUNT];
    unsigned known; /* JB bits of the fields the layout consumes */
    msgpack_object_kv *kv; /* the output record */
    uint32_t n, cap;
    char *err, *warn;
    size_t errlen, warnlen;
};

/* ---- small helpers ------------------------------------------------------*/

static int str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* The enum jf of a key, or -1. */
static int jf_index(const msgpack_object *key)
{
    for (int i = 0; i < JF_COUNT; i++)
        if (str_is(key, jf_name[i]))
            return i;
    return -1;
}

static int is_header(const msgpack_object *key)
{
    for (size_t i = 0; i < sizeof header_name / sizeof header_name[0]; i++)
        if (str_is(key, header_name[i]))
            return 1;
    return 0;
}

/* 1 when the key names a field the layout consumes or the header. */
static int is_own_key(const struct ctx *c, const msgpack_object *key)
{
    int i = jf_index(key);
    return (i >= 0 && (c->known & JB(i))) || is_header(key);
}

static int skip(struct ctx *c, const char *what)
{
    snprintf(c->err, c->errlen, "%s", what);
    return JL_REC_SKIP;
}

static void *zalloc(struct ctx *c, size_t n)
{
    return msgpack_zone_malloc(c->z, n ? n : 1);
}

/* A str object holding a zone copy of p[0..n). */
static int mk_str(struct ctx *c, const char *p, size_t n, msgpack_object *out)
{
    char *m = zalloc(c, n);
    if (!m)
        return JL_REC_NOMEM;
    if (n)
        memcpy(m, p, n);
    out->type = MSGPACK_OBJECT_STR;
    out->via.str.ptr = m;
    out->via.str.size = (uint32_t)n;
    return 0;
}

/* Python str(in) as a str object. */
static int to_str(struct ctx *c, const msgpack_object *in, msgpack_object *out)
{
    if (in->type == MSGPACK_OBJECT_STR) {
        *out = *in;
        return 0;
    }
    c->tmp.len = 0;
    if (jl_py_str(&c->tmp, in) != 0)
        return skip(c, "a value nests too deep for str()");
    if (c->tmp.oom)
        return JL_REC_NOMEM;
    return mk_str(c, c->tmp.data ? c->tmp.data : "", c->tmp.len, out);
}

/* ---- the output record --------------------------------------------------*/

static int is_dropped(const struct ctx *c, const msgpack_object *key)
{
    for (size_t i = 0; i < c->o->ndrop; i++)
        if (str_is(key, c->o->drop[i]))
            return 1;
    return 0;
}

static int add_obj(struct ctx *c, const msgpack_object *key,
                   const msgpack_object *val)
{
    if (is_dropped(c, key))
        return 0;
    if (c->n == c->cap)
        return skip(c, "internal error: record overflow");
    c->kv[c->n].key = *key;
    c->kv[c->n].val = *val;
    c->n++;
    return 0;
}

/* Add key (a static string) when val is not NULL. */
/* A str object for a static C string. */
static msgpack_object cstr(const char *s)
{
    msgpack_object k;
    k.type = MSGPACK_OBJECT_STR;
    k.via.str.ptr = s;
    k.via.str.size = (uint32_t)strlen(s);
    return k;
}

static int add(struct ctx *c, const char *key, const msgpack_object *val)
{
    if (!val)
        return 0;
    msgpack_object k = cstr(key);
    return add_obj(c, &k, val);
}

static int add_field(struct ctx *c, enum jf f)
{
    return add(c, jf_name[f], c->f[f]);
}

/* Every field the layout does not consume, in event order. */
static int add_extras(struct ctx *c, const msgpack_object *ev)
{
    for (uint32_t i = 0; i < ev->via.map.size; i++) {
        const msgpack_object_kv *kv = &ev->via.map.ptr[i];
        if (is_own_key(c, &kv->key))
            continue;
        int rc = add_obj(c, &kv->key, &kv->val);
        if (rc)
            return rc;
    }
    return 0;
}

/* The values of the "metrics" map as top-level keys. A metric named like
 * a field of the layout is left out (and reported through warn). */
static int add_metric_values(struct ctx *c)
{
    const msgpack_object *m = c->f[JF_METRICS];
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return 0;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];
        if (is_own_key(c, &kv->key)) {
            if (c->warn && c->warnlen)
                snprintf(c->warn, c->warnlen,
                         "metric \"%.*s\" left out: the layout has a field "
                         "of that name",
                         (int)kv->key.via.str.size, kv->key.via.str.ptr);
            continue;
        }
        int rc = add_obj(c, &kv->key, &kv->val);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- transformations ----------------------------------------------------*/

/* sanitize_list: lists stay lists, every other value becomes str(). */
static int sanitize(struct ctx *c, const msgpack_object *in,
                    msgpack_object *out, int depth)
{
    if (depth > JL_PY_MAX_DEPTH)
        return skip(c, "resps nest too deep");
    if (in->type != MSGPACK_OBJECT_ARRAY)
        return to_str(c, in, out);
    uint32_t n = in->via.array.size;
    msgpack_object *items = zalloc(c, (size_t)n * sizeof *items);
    if (!items)
        return JL_REC_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int rc = sanitize(c, &in->via.array.ptr[i], &items[i], depth + 1);
        if (rc)
            return rc;
    }
    out->type = MSGPACK_OBJECT_ARRAY;
    out->via.array.size = n;
    out->via.array.ptr = items;
    return 0;
}

static void unwrap(msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 1)
        *o = o->via.array.ptr[0];
}

/* lmms-eval steps 2-4: sanitize, unwrap 1-element lists, drop resps when
 * they say the same as filtered_resps. */
static int lmms_resps(struct ctx *c)
{
    msgpack_object r, fr;
    const msgpack_object *pr = NULL, *pfr = NULL;
    int rc = 0;
    if (c->f[JF_RESPS] && !(rc = sanitize(c, c->f[JF_RESPS], &r, 0))) {
        unwrap(&r);
        pr = &r;
    }
    if (!rc && c->f[JF_FRESPS] &&
        !(rc = sanitize(c, c->f[JF_FRESPS], &fr, 0))) {
        unwrap(&fr);
        pfr = &fr;
    }
    if (rc)
        return rc;
    if (pr && pfr &&
        (msgpack_object_equal(r, fr) ||
         (r.type == MSGPACK_OBJECT_ARRAY && r.via.array.size == 1 &&
          msgpack_object_equal(r.via.array.ptr[0], fr))))
        pr = NULL;
    if ((rc = add(c, "resps", pr)))
        return rc;
    return add(c, "filtered_resps", pfr);
}

/* A str object "<prefix><i>" in the zone. */
static int mk_index_key(struct ctx *c, const char *prefix, uint32_t i,
                        msgpack_object *out)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%s%u", prefix, (unsigned)i);
    return mk_str(c, tmp, (size_t)n, out);
}

/* One request's args as {"arg_0": ..., "arg_1": ...}; a request that is
 * not an array is its own arg_0. */
static int lmeval_args_of(struct ctx *c, const msgpack_object *req,
                          msgpack_object *out)
{
    int is_arr = req->type == MSGPACK_OBJECT_ARRAY;
    uint32_t n = is_arr ? req->via.array.size : 1;
    msgpack_object_kv *kv = zalloc(c, (size_t)n * sizeof *kv);
    if (!kv)
        return JL_REC_NOMEM;
    for (uint32_t j = 0; j < n; j++) {
        int rc = mk_index_key(c, "arg_", j, &kv[j].key);
        if (rc)
            return rc;
        kv[j].val = is_arr ? req->via.array.ptr[j] : *req;
    }
    out->type = MSGPACK_OBJECT_MAP;
    out->via.map.size = n;
    out->via.map.ptr = kv;
    return 0;
}

/* lm-eval's arguments: a list of requests becomes
 * {"gen_args_<i>": {"arg_<j>": ...}}; any other value is kept. */
static int lmeval_arguments(struct ctx *c, msgpack_object *out)
{
    const msgpack_object *a = c->f[JF_ARGUMENTS];
    if (a->type != MSGPACK_OBJECT_ARRAY) {
        *out = *a;
        return 0;
    }
    uint32_t n = a->via.array.size;
    msgpack_object_kv *kv = zalloc(c, (size_t)n * sizeof *kv);
    if (!kv)
        return JL_REC_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int rc = mk_index_key(c, "gen_args_", i, &kv[i].key);
        if (!rc)
            rc = lmeval_args_of(c, &a->via.array.ptr[i], &kv[i].val);
        if (rc)
            return rc;
    }
    out->type = MSGPACK_OBJECT_MAP;
    out->via.map.size = n;
    out->via.map.ptr = kv;
    return 0;
}

/* lm-eval's "metrics": the names of the metrics map (kept when it is not
 * a map). */
static int lmeval_metric_names(struct ctx *c, msgpack_object *out)
{
    const msgpack_object *m = c->f[JF_METRICS];
    if (m->type != MSGPACK_OBJECT_MAP) {
        *out = *m;
        return 0;
    }
    uint32_t n = m->via.map.size;
    msgpack_object *names = zalloc(c, (size_t)n * sizeof *names);
    if (!names)
        return JL_REC_NOMEM;
    for (uint32_t i = 0; i < n; i++)
        names[i] = m->via.map.ptr[i].key;
    out->type = MSGPACK_OBJECT_ARRAY;
    out->via.array.size = n;
    out->via.array.ptr = names;
    return 0;
}

/* ---- layouts ------------------------------------------------------------*/

/* doc_id, target, [resps], filtered_resps, [filter], token_counts,
 * doc_hash, [input_media], <extras>, <metrics>, input */
static int build_lmms(struct ctx *c, const msgpack_object *ev)
{
    msgpack_object target;
    int rc = add_field(c, JF_DOC_ID);
    if (!rc && c->f[JF_TARGET] && !(rc = to_str(c, c->f[JF_TARGET], &target)))
        rc = add(c, "target", &target);
    if (!rc)
        rc = lmms_resps(c);
    if (!rc && c->o->filter_key)
        rc = add_field(c, JF_FILTER);
    if (!rc)
        rc = add_field(c, JF_TOKEN_COUNTS);
    if (!rc)
        rc = add_field(c, JF_DOC_HASH);
    if (!rc)
        rc = add_field(c, JF_INPUT_MEDIA);
    if (!rc)
        rc = add_extras(c, ev);
    if (!rc)
        rc = add_metric_values(c);
    if (rc)
        return rc;
    /* input = arguments[0]; without arguments the event's own "input". */
    const msgpack_object *a = c->f[JF_ARGUMENTS];
    if (a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size > 0)
        return add(c, "input", &a->via.array.ptr[0]);
    return add_field(c, JF_INPUT);
}

static int lmeval_transformed(struct ctx *c)
{
    msgpack_object v;
    int rc = 0;
    if (c->f[JF_TARGET] && !(rc = to_str(c, c->f[JF_TARGET], &v)))
        rc = add(c, "target", &v);
    if (!rc && c->f[JF_ARGUMENTS] && !(rc = lmeval_arguments(c, &v)))
        rc = add(c, "arguments", &v);
    if (!rc && c->f[JF_RESPS] && !(rc = sanitize(c, c->f[JF_RESPS], &v, 0)))
        rc = add(c, "resps", &v);
    if (!rc && c->f[JF_FRESPS] &&
        !(rc = sanitize(c, c->f[JF_FRESPS], &v, 0)))
        rc = add(c, "filtered_resps", &v);
    return rc;
}

/* doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics,
 * doc_hash, prompt_hash, target_hash, <extras>, <metric values> */
static int build_lmeval(struct ctx *c, const msgpack_object *ev)
{
    msgpack_object names;
    int rc = add_field(c, JF_DOC_ID);
    if (!rc)
        rc = add_field(c, JF_DOC);
    if (!rc)
        rc = lmeval_transformed(c);
    if (!rc)
        rc = add_field(c, JF_FILTER);
    if (!rc && c->f[JF_METRICS] && !(rc = lmeval_metric_names(c, &names)))
        rc = add(c, "metrics", &names);
    for (enum jf f = JF_DOC_HASH; !rc && f <= JF_TARGET_HASH; f++)
        rc = add_field(c, f);
    if (!rc)
        rc = add_extras(c, ev);
    if (!rc)
        rc = add_metric_values(c);
    return rc;
}

/* ---- lighteval details --------------------------------------------------*/

/* 1 when the event is a lighteval detail already: it carries lighteval's
 * "metric" or "model_response", so its "doc" is a lighteval Doc. */
static int le_native(const struct ctx *c)
{
    return c->f[JF_METRIC] || c->f[JF_MODEL_RESPONSE];
}

static int is_map(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_MAP;
}

/* The fields the lighteval layout consumes: the three columns and the id
 * lighteval drops, plus the evtrack fields of each column it builds. */
static unsigned le_known(const struct ctx *c)
{
    unsigned k = JB(JF_TASK) | JB(JF_DOC_ID) | JB(JF_DOC) | JB(JF_METRIC) |
                 JB(JF_MODEL_RESPONSE) | JB(JF_ID);
    if (!le_native(c))
        k |= JB(JF_TARGET);
    if (!c->f[JF_METRIC] && is_map(c->f[JF_METRICS]))
        k |= JB(JF_METRICS);
    if (!c->f[JF_MODEL_RESPONSE])
        k |= JB(JF_INPUT) | JB(JF_ARGUMENTS) | JB(JF_RESPS) | JB(JF_FRESPS);
    return k;
}

static void mk_array(msgpack_object *out, msgpack_object *items, uint32_t n)
{
    out->type = MSGPACK_OBJECT_ARRAY;
    out->via.array.size = n;
    out->via.array.ptr = items;
}

static void put_kv(msgpack_object_kv *kv, uint32_t *n, const char *key,
                   const msgpack_object *val)
{
    kv[*n].key = cstr(key);
    kv[*n].val = *val;
    (*n)++;
}

/* Doc.choices and Doc.gold_index from the target: an array lists every
 * gold answer, any other value is the one gold answer. Each choice is its
 * Python str(); gold_index is always a list, so the column keeps one type
 * (formats.md §9 #12). */
static int le_golds(struct ctx *c, msgpack_object_kv *kv, uint32_t *nkv)
{
    const msgpack_object *t = c->f[JF_TARGET];
    int is_arr = t->type == MSGPACK_OBJECT_ARRAY;
    uint32_t n = is_arr ? t->via.array.size : 1;
    msgpack_object *ch = zalloc(c, (size_t)n * sizeof *ch);
    msgpack_object *ix = zalloc(c, (size_t)n * sizeof *ix);
    if (!ch || !ix)
        return JL_REC_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int rc = to_str(c, is_arr ? &t->via.array.ptr[i] : t, &ch[i]);
        if (rc)
            return rc;
        ix[i].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        ix[i].via.u64 = i;
    }
    msgpack_object v;
    mk_array(&v, ch, n);
    put_kv(kv, nkv, "choices", &v);
    mk_array(&v, ix, n);
    put_kv(kv, nkv, "gold_index", &v);
    return 0;
}

/* lighteval's Doc from an evtrack sample, in the order of the Doc fields:
 * choices, gold_index (from target), id (str(doc_id)), specific (the
 * sample's doc), task_name (task). */
static int le_doc(struct ctx *c, msgpack_object *out)
{
    msgpack_object_kv *kv = zalloc(c, 5 * sizeof *kv);
    if (!kv)
        return JL_REC_NOMEM;
    uint32_t n = 0;
    int rc = 0;
    const msgpack_object *t = c->f[JF_TARGET];
    if (t && t->type != MSGPACK_OBJECT_NIL)
        rc = le_golds(c, kv, &n);
    msgpack_object id;
    if (!rc && c->f[JF_DOC_ID] && !(rc = to_str(c, c->f[JF_DOC_ID], &id)))
        put_kv(kv, &n, "id", &id);
    if (rc)
        return rc;
    if (c->f[JF_DOC])
        put_kv(kv, &n, "specific", c->f[JF_DOC]);
    if (c->f[JF_TASK])
        put_kv(kv, &n, "task_name", c->f[JF_TASK]);
    out->type = MSGPACK_OBJECT_MAP;
    out->via.map.size = n;
    out->via.map.ptr = kv;
    return 0;
}

static int is_number(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
           o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
           o->type == MSGPACK_OBJECT_FLOAT32 ||
           o->type == MSGPACK_OBJECT_FLOAT64;
}

/* A loglikelihood result as the harnesses log it: [logprob, is_greedy]. */
static int is_ll_pair(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 2 &&
           is_number(&o->via.array.ptr[0]) &&
           o->via.array.ptr[1].type == MSGPACK_OBJECT_BOOLEAN;
}

/* Walks the items of resps or filtered_resps: the repeats of each request
 * in turn. A request that is not an array, or is one loglikelihood pair,
 * is one item; so is a whole value that is not an array. */
struct le_iter {
    const msgpack_object *l;
    uint32_t i, j;
};

static const msgpack_object *le_next(struct le_iter *it)
{
    const msgpack_object *l = it->l;
    if (l->type != MSGPACK_OBJECT_ARRAY)
        return it->i++ == 0 ? l : NULL;
    while (it->i < l->via.array.size) {
        const msgpack_object *r = &l->via.array.ptr[it->i];
        if (r->type != MSGPACK_OBJECT_ARRAY || is_ll_pair(r)) {
            it->i++;
            return r;
        }
        if (it->j < r->via.array.size)
            return &r->via.array.ptr[it->j++];
        it->i++;
        it->j = 0;
    }
    return NULL;
}

/* The items of a resps-like value sorted into ModelResponse lists: texts
 * (str() of every item that is not a number or a pair), logprobs (numbers
 * and the first member of pairs), argmax_logits_eq_gold (the second). */
struct le_lists {
    msgpack_object *text, *lp, *eq;
    uint32_t nt, nl, ne;
};

static int le_split(struct ctx *c, const msgpack_object *l,
                    struct le_lists *o)
{
    struct le_iter it = {l, 0, 0};
    size_t n = 0;
    while (le_next(&it))
        n++;
    if (n > UINT32_MAX)
        return skip(c, "too many responses");
    *o = (struct le_lists){zalloc(c, n * sizeof *o->text),
                           zalloc(c, n * sizeof *o->lp),
                           zalloc(c, n * sizeof *o->eq), 0, 0, 0};
    if (!o->text || !o->lp || !o->eq)
        return JL_REC_NOMEM;
    it = (struct le_iter){l, 0, 0};
    for (const msgpack_object *x; (x = le_next(&it));) {
        int rc = 0;
        if (is_ll_pair(x)) {
            o->lp[o->nl++] = x->via.array.ptr[0];
            o->eq[o->ne++] = x->via.array.ptr[1];
        } else if (is_number(x)) {
            o->lp[o->nl++] = *x;
        } else if ((rc = to_str(c, x, &o->text[o->nt++]))) {
            return rc;
        }
    }
    return 0;
}

/* ModelResponse.input: the sample's "input", else arguments[0]. */
static const msgpack_object *le_input(const struct ctx *c)
{
    const msgpack_object *a = c->f[JF_ARGUMENTS];
    if (c->f[JF_INPUT])
        return c->f[JF_INPUT];
    if (a && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size > 0)
        return &a->via.array.ptr[0];
    return NULL;
}

static void put_list(msgpack_object_kv *kv, uint32_t *n, const char *key,
                     msgpack_object *items, uint32_t len)
{
    msgpack_object v;
    mk_array(&v, items, len);
    put_kv(kv, n, key, &v);
}

/* lighteval's ModelResponse from an evtrack sample, in the order of its
 * fields: input, text (resps), text_post_processed (filtered_resps),
 * logprobs, argmax_logits_eq_gold (resps). out->via.map.size is 0 when
 * the sample has none of these. */
static int le_model_response(struct ctx *c, msgpack_object *out)
{
    msgpack_object_kv *kv = zalloc(c, 5 * sizeof *kv);
    if (!kv)
        return JL_REC_NOMEM;
    uint32_t n = 0;
    int rc = 0;
    struct le_lists r = {0}, f = {0};
    if (le_input(c))
        put_kv(kv, &n, "input", le_input(c));
    if (c->f[JF_RESPS] && !(rc = le_split(c, c->f[JF_RESPS], &r)))
        put_list(kv, &n, "text", r.text, r.nt);
    if (!rc && c->f[JF_FRESPS] && !(rc = le_split(c, c->f[JF_FRESPS], &f)))
        put_list(kv, &n, "text_post_processed", f.text, f.nt);
    if (rc)
        return rc;
    if (c->f[JF_RESPS]) {
        put_list(kv, &n, "logprobs", r.lp, r.nl);
        put_list(kv, &n, "argmax_logits_eq_gold", r.eq, r.ne);
    }
    out->type = MSGPACK_OBJECT_MAP;
    out->via.map.size = n;
    out->via.map.ptr = kv;
    return 0;
}

/* Python's sorted() on str keys: code point order, which is UTF-8 byte
 * order. Equal keys (a producer's bug) keep a fixed order by address. */
static int key_cmp(const void *pa, const void *pb)
{
    const msgpack_object_kv *a = pa, *b = pb;
    if (a->key.type != b->key.type || a->key.type != MSGPACK_OBJECT_STR)
        return a->key.type < b->key.type ? -1 : a->key.type > b->key.type;
    uint32_t na = a->key.via.str.size, nb = b->key.via.str.size;
    int r = memcmp(a->key.via.str.ptr, b->key.via.str.ptr, na < nb ? na : nb);
    if (r || na != nb)
        return r ? r : (na < nb ? -1 : 1);
    uintptr_t x = (uintptr_t)a->key.via.str.ptr;
    uintptr_t y = (uintptr_t)b->key.via.str.ptr;
    return x < y ? -1 : x > y;
}

/* doc, metric, model_response and every field the layout does not
 * consume, sorted by key, as lighteval sorts its detail columns. */
static int build_lighteval(struct ctx *c, const msgpack_object *ev)
{
    msgpack_object v;
    int rc = 0;
    if (le_native(c))
        rc = add_field(c, JF_DOC);
    else if (!(rc = le_doc(c, &v)))
        rc = add(c, "doc", &v);
    if (!rc && c->f[JF_METRIC])
        rc = add_field(c, JF_METRIC);
    else if (!rc && is_map(c->f[JF_METRICS]))
        rc = add(c, "metric", c->f[JF_METRICS]);
    if (!rc && c->f[JF_MODEL_RESPONSE])
        rc = add_field(c, JF_MODEL_RESPONSE);
    else if (!rc && !(rc = le_model_response(c, &v)) && v.via.map.size > 0)
        rc = add(c, "model_response", &v);
    if (!rc)
        rc = add_extras(c, ev);
    if (!rc && c->n > 1)
        qsort(c->kv, c->n, sizeof *c->kv, key_cmp);
    return rc;
}

/* ---- fix: string caps, bin/ext and container keys -----------------------*/

/* out = p[0..n), cut to max_field_bytes on a UTF-8 boundary plus the
 * marker when longer; copied when copy is set. 1 if out is new. */
static int cap_str(struct ctx *c, const char *p, size_t n, int copy,
                   msgpack_object *out)
{
    size_t cap = c->o->max_field_bytes;
    if (!cap || n <= cap) {
        if (!copy)
            return 0;
        int rc = mk_str(c, p, n, out);
        return rc ? rc : 1;
    }
    size_t cut = cap;
    while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
        cut--;
    char mark[64];
    int mlen = snprintf(mark, sizeof mark, JL_TRUNC_FMT, n - cut);
    char *m = zalloc(c, cut + (size_t)mlen);
    if (!m)
        return JL_REC_NOMEM;
    memcpy(m, p, cut);
    memcpy(m + cut, mark, (size_t)mlen);
    out->type = MSGPACK_OBJECT_STR;
    out->via.str.ptr = m;
    out->via.str.size = (uint32_t)(cut + (size_t)mlen);
    return 1;
}

/* bin or ext (no JSON form) as the str() Python's json hook would give. */
static int fix_opaque(struct ctx *c, const msgpack_object *in,
                      msgpack_object *out)
{
    c->tmp.len = 0;
    jl_py_repr(&c->tmp, in);
    if (c->tmp.oom)
        return JL_REC_NOMEM;
    return cap_str(c, c->tmp.data ? c->tmp.data : "", c->tmp.len, 1, out);
}

static int fix(struct ctx *c, const msgpack_object *in, msgpack_object *out,
               int depth);

static int fix_array(struct ctx *c, const msgpack_object *in,
                     msgpack_object *out, int depth)
{
    uint32_t n = in->via.array.size;
    msgpack_object *copy = NULL;
    for (uint32_t i = 0; i < n; i++) {
        msgpack_object o;
        int rc = fix(c, &in->via.array.ptr[i], &o, depth + 1);
        if (rc < 0)
            return rc;
        if (rc == 1 && !copy) {
            if (!(copy = zalloc(c, (size_t)n * sizeof *copy)))
                return JL_REC_NOMEM;
            memcpy(copy, in->via.array.ptr, (size_t)n * sizeof *copy);
        }
        if (copy)
            copy[i] = o;
    }
    if (copy)
        out->via.array.ptr = copy;
    return copy != NULL;
}

/* A map key JSON cannot express (array, map, bin, ext) becomes its str(). */
static int fix_key(struct ctx *c, const msgpack_object *in,
                   msgpack_object *out)
{
    *out = *in;
    switch (in->type) {
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
    case MSGPACK_OBJECT_BIN:
    case MSGPACK_OBJECT_EXT:
        c->tmp.len = 0;
        if (jl_py_repr(&c->tmp, in) != 0)
            return skip(c, "a map key nests too deep");
        if (c->tmp.oom)
            return JL_REC_NOMEM;
        if (mk_str(c, c->tmp.data ? c->tmp.data : "", c->tmp.len, out))
            return JL_REC_NOMEM;
        return 1;
    default: return 0;
    }
}

static int fix_map(struct ctx *c, const msgpack_object *in,
                   msgpack_object *out, int depth)
{
    uint32_t n = in->via.map.size;
    msgpack_object_kv *copy = NULL;
    for (uint32_t i = 0; i < n; i++) {
        msgpack_object_kv kv;
        int rk = fix_key(c, &in->via.map.ptr[i].key, &kv.key);
        int rv = rk < 0 ? rk : fix(c, &in->via.map.ptr[i].val, &kv.val,
                                   depth + 1);
        if (rk < 0 || rv < 0)
            return rk < 0 ? rk : rv;
        if ((rk == 1 || rv == 1) && !copy) {
            if (!(copy = zalloc(c, (size_t)n * sizeof *copy)))
                return JL_REC_NOMEM;
            memcpy(copy, in->via.map.ptr, (size_t)n * sizeof *copy);
        }
        if (copy)
            copy[i] = kv;
    }
    if (copy)
        out->via.map.ptr = copy;
    return copy != NULL;
}

/* out = in with the fixes applied: 0 unchanged, 1 changed, or < 0. */
static int fix(struct ctx *c, const msgpack_object *in, msgpack_object *out,
               int depth)
{
    *out = *in;
    if (depth > FIX_MAX_DEPTH)
        return skip(c, "a value nests too deep");
    switch (in->type) {
    case MSGPACK_OBJECT_STR:
        return cap_str(c, in->via.str.ptr, in->via.str.size, 0, out);
    case MSGPACK_OBJECT_BIN:
    case MSGPACK_OBJECT_EXT: return fix_opaque(c, in, out);
    case MSGPACK_OBJECT_ARRAY: return fix_array(c, in, out, depth);
    case MSGPACK_OBJECT_MAP: return fix_map(c, in, out, depth);
    default: return 0;
    }
}

/* ---- entry --------------------------------------------------------------*/

static void collect(struct ctx *c, const msgpack_object *ev)
{
    for (uint32_t i = 0; i < ev->via.map.size; i++) {
        const msgpack_object_kv *kv = &ev->via.map.ptr[i];
        int f = jf_index(&kv->key);
        if (f >= 0 && !c->f[f])
            c->f[f] = &kv->val;
    }
    if (c->o->layout == JL_LIGHTEVAL) {
        c->known = le_known(c);
        return;
    }
    c->known = c->o->layout == JL_LMEVAL ? known_lmeval : known_lmms;
    /* lmms-eval spreads a metrics map into keys; any other value of
     * "metrics" is an ordinary extra field there. */
    if (c->o->layout != JL_LMEVAL && c->f[JF_METRICS] &&
        c->f[JF_METRICS]->type != MSGPACK_OBJECT_MAP)
        c->known &= ~JB(JF_METRICS);
}

static int alloc_record(struct ctx *c, const msgpack_object *ev)
{
    const msgpack_object *m = c->f[JF_METRICS];
    size_t cap = (size_t)ev->via.map.size + 3; /* + built columns */
    if (m && m->type == MSGPACK_OBJECT_MAP)
        cap += m->via.map.size;
    if (cap > UINT32_MAX)
        return skip(c, "too many fields");
    c->cap = (uint32_t)cap;
    c->kv = zalloc(c, cap * sizeof *c->kv);
    return c->kv ? 0 : JL_REC_NOMEM;
}

static int finish(struct ctx *c, struct evt_buf *line)
{
    msgpack_object rec, fixed;
    rec.type = MSGPACK_OBJECT_MAP;
    rec.via.map.size = c->n;
    rec.via.map.ptr = c->kv;
    int rc = fix(c, &rec, &fixed, 0);
    if (rc < 0)
        return rc;
    size_t start = line->len;
    if (evt_json_write(line, &fixed, NULL, c->err, c->errlen) != 0)
        return line->oom ? JL_REC_NOMEM : JL_REC_SKIP;
    evt_buf_put(line, "\n", 1);
    if (line->oom) {
        line->len = start;
        return JL_REC_NOMEM;
    }
    return 0;
}

int jl_record_line(const struct jl_opts *o, const msgpack_object *ev,
                   struct evt_buf *line, char *err, size_t errlen,
                   char *warn, size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = '\0';
    if (err && errlen)
        err[0] = '\0';
    if (ev->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "the event is not a map");
        return JL_REC_SKIP;
    }
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 4096))
        return JL_REC_NOMEM;
    struct ctx c = {.o = o, .z = &zone, .err = err, .errlen = errlen,
                    .warn = warn, .warnlen = warnlen};
    evt_buf_init(&c.tmp);
    collect(&c, ev);
    int rc = alloc_record(&c, ev);
    if (!rc)
        rc = o->layout == JL_LMEVAL       ? build_lmeval(&c, ev)
             : o->layout == JL_LIGHTEVAL ? build_lighteval(&c, ev)
                                         : build_lmms(&c, ev);
    if (!rc)
        rc = finish(&c, line);
    evt_buf_free(&c.tmp);
    msgpack_zone_destroy(&zone);
    return rc;
}
