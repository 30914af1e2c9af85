/* results_int.h -- internal to the sdk results aggregator, shared by its
 * files (not installed):
 *   results.c            taking events, the lmms-eval / lm-eval layouts,
 *                        the output rules (NaN, redaction), file names;
 *   results_lighteval.c  the lighteval layout;
 *   results_lhash.c      lighteval's xxh64 summary hashes of samples.
 * It holds the aggregator's state, the dict under construction (a
 * msgpack_object tree in a zone) with its small builders, and the
 * functions one file offers the others (prefix evt__res_ / evt__lhash_). */
#ifndef EVTRACK_SDK_RESULTS_INT_H
#define EVTRACK_SDK_RESULTS_INT_H

#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/results.h"

/* ---- lighteval sample hashes (results_lhash.c) ------------------------ */

/* Per-sample xxh64 values of one task, kept until rendering: lighteval
 * compiles them sorted, so they cannot be folded as they arrive. */
struct lhash_list {
    uint64_t *v;
    size_t n, cap;
};

struct lhash {
    struct lhash_list example, input, cont; /* query, input / output tokens */
};

/* One sample's hashes, computed before anything is changed. */
struct lhash_sample {
    uint64_t example, input, cont;
    unsigned has; /* LHASH_* bits */
};

enum { LHASH_EXAMPLE = 1, LHASH_INPUT = 2, LHASH_CONT = 4 };

/* The four compiled hashes of lighteval's "hashes" member, in its order:
 * hash_examples, hash_full_prompts, hash_input_tokens, hash_cont_tokens. */
typedef char lhash_compiled[4][17];

/* Hash what the sample event carries (docs/sinks/local-json.md 3.4):
 * "query" (or doc.query), "input_tokens", "output_tokens". 0, or -1 on
 * OOM. */
int evt__lhash_prepare(struct lhash_sample *s, const msgpack_object *ev);
/* Room for s in h (so that evt__lhash_add cannot fail). 0 or -1 (OOM). */
int evt__lhash_reserve(struct lhash *h, const struct lhash_sample *s);
void evt__lhash_add(struct lhash *h, const struct lhash_sample *s);
void evt__lhash_free(struct lhash *h);
/* 1 when some sample of the task was hashed. */
int evt__lhash_any(const struct lhash *h);
/* The task's compiled hashes. 0, or -1 on OOM. */
int evt__lhash_compile(const struct lhash *h, lhash_compiled out);
/* summary_general's hashes over n tasks' compiled hashes, given in sorted
 * task-key order. 0, or -1 on OOM. */
int evt__lhash_general(const lhash_compiled *tasks, size_t n,
                       lhash_compiled out);

/* ---- aggregator state (results.c) ------------------------------------- */

struct sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char blk[64];
    size_t fill;
};

struct held {
    char *bytes;          /* the event's msgpack bytes (owned) */
    struct evt_view view; /* decoded; strings point into bytes */
};

struct rmetric {
    char *metric, *filter;
    struct held *ev; /* the last result event for this pair */
};

struct rtask {
    char *name;
    struct held *cfg; /* the last task_config */
    struct rmetric *m; /* in first-seen order */
    size_t nm, capm;
    uint64_t nsamples;   /* samples of the first filter seen: docs */
    char *count_filter;  /* that filter ("" for samples without one) */
    uint64_t nhashed;
    struct sha256 h_lmms, h_lmeval; /* running task_hashes */
    struct lhash light;             /* lighteval's per-sample hashes */
};

struct seen {
    char *run_id;
    uint64_t seq; /* highest seq taken from this run id */
};

struct evt_results {
    struct rtask **t; /* in order of first appearance */
    size_t nt, capt;
    struct held *start, *end;
    struct seen *seen;
    size_t nseen;
    int64_t first_ns, last_ns;
    uint64_t count;
};

static inline const msgpack_object *held_get(const struct held *h,
                                             const char *key)
{
    return h ? evt_mp_get(&h->view.root, key) : NULL;
}

static inline const msgpack_object *str_field(const msgpack_object *ev,
                                              const char *key)
{
    const msgpack_object *v = evt_mp_get(ev, key);
    return v && v->type == MSGPACK_OBJECT_STR ? v : NULL;
}

/* A run field: run_end's, else run_start's. */
static inline const msgpack_object *run_field(const struct evt_results *r,
                                              const char *key)
{
    const msgpack_object *v = held_get(r->end, key);
    return v ? v : held_get(r->start, key);
}

/* An int or a float (not a bool). */
static inline int is_number(const msgpack_object *v)
{
    double d;
    return v && v->type != MSGPACK_OBJECT_BOOLEAN && evt_mp_double(v, &d) == 0;
}

/* The model name: run_start's "model_name", else taken from "model_args"
 * as the layout's tool does. Heap string, NULL on OOM. */
char *evt__res_model_name(const struct evt_results *r,
                          enum evt_results_layout layout);

/* Wall clock of run_start (end 0) or run_end (end 1), else of the first /
 * latest event, in epoch seconds. */
double evt__res_event_secs(const struct evt_results *r, int end);

/* ---- the dict under construction -------------------------------------- */

struct tree {
    msgpack_zone zone;
    int failed; /* out of memory (or a capacity bug) */
    const struct evt_results *r;
    const struct evt_results_opts *o;
    struct rtask **sorted; /* tasks sorted by name */
    void *layout_state;    /* a layout's per-render state (in the zone) */
    msgpack_object sink;   /* written to after a failure */
};

/* A map under construction with room for cap members. */
struct omap {
    msgpack_object *obj;
    uint32_t cap;
};

static inline void *zalloc(struct tree *t, size_t n)
{
    void *p = t->failed ? NULL : msgpack_zone_malloc(&t->zone, n ? n : 1);
    if (!p)
        t->failed = 1;
    return p;
}

static inline void map_init(struct tree *t, struct omap *m,
                            msgpack_object *obj, size_t cap)
{
    m->obj = obj;
    m->cap = (uint32_t)cap;
    obj->type = MSGPACK_OBJECT_MAP;
    obj->via.map.size = 0;
    obj->via.map.ptr = zalloc(t, cap * sizeof(msgpack_object_kv));
}

/* The value slot of a new member k[0..n) (k must outlive the tree). */
static inline msgpack_object *map_put(struct tree *t, struct omap *m,
                                      const char *k, size_t n)
{
    msgpack_object_map *mp = &m->obj->via.map;
    if (t->failed || !mp->ptr || mp->size >= m->cap) {
        t->failed = 1;
        return &t->sink;
    }
    msgpack_object_kv *kv = &mp->ptr[mp->size++];
    kv->key.type = MSGPACK_OBJECT_STR;
    kv->key.via.str.ptr = k;
    kv->key.via.str.size = (uint32_t)n;
    memset(&kv->val, 0, sizeof kv->val);
    kv->val.type = MSGPACK_OBJECT_NIL;
    return &kv->val;
}

static inline msgpack_object *put(struct tree *t, struct omap *m,
                                  const char *k)
{
    return map_put(t, m, k, strlen(k));
}

static inline void v_str(msgpack_object *o, const char *s, size_t n)
{
    o->type = MSGPACK_OBJECT_STR;
    o->via.str.ptr = s;
    o->via.str.size = (uint32_t)n;
}

/* A copy of s[0..n) in the zone as the string value of o. */
static inline void v_zstr(struct tree *t, msgpack_object *o, const char *s,
                          size_t n)
{
    char *p = zalloc(t, n);
    if (p)
        memcpy(p, s, n);
    v_str(o, p ? p : "", p ? n : 0);
}

static inline void v_f64(msgpack_object *o, double d)
{
    o->type = MSGPACK_OBJECT_FLOAT64;
    o->via.f64 = d;
}

static inline void v_u64(msgpack_object *o, uint64_t u)
{
    o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o->via.u64 = u;
}

static inline void v_empty(msgpack_object *o, msgpack_object_type type)
{
    memset(o, 0, sizeof *o);
    o->type = type;
}

/* ---- layouts ---------------------------------------------------------- */

struct member;
typedef void build_fn(struct tree *t, struct omap *top,
                      const struct member *mb);

/* One top-level member of a layout. */
struct member {
    const char *key;
    build_fn *build;
    int dflt;        /* b_run: what to write when no event has it */
    const char *arg; /* b_sorted: task_config field; b_sha_of: source */
};

/* lighteval 0.13 (results_lighteval.c), ended by a NULL key. */
extern const struct member evt__lighteval_members[];

#endif /* EVTRACK_SDK_RESULTS_INT_H */
