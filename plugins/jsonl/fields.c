/* fields.c -- the top-level fields of a sample event, read from its
 * msgpack bytes (record.h: jl_rec_scan), and the record builder's memory. */
#include <stdlib.h>
#include <string.h>

#include "record_int.h"

/* Names that need no JSON escaping: their text is "\"" name "\": ". */
#define NAME(s) {s, sizeof(s) - 1, "\"" s "\": ", {NULL, 0}}
static const struct jl_key jf_key[JF_COUNT] = {
    NAME("task"), NAME("doc_id"), NAME("doc"), NAME("target"),
    NAME("arguments"), NAME("resps"), NAME("filtered_resps"),
    NAME("filter"), NAME("metrics"), NAME("doc_hash"), NAME("prompt_hash"),
    NAME("target_hash"), NAME("token_counts"), NAME("input_media"),
    NAME("input"), NAME("metric"), NAME("model_response"), NAME("id")};
#undef NAME

/* The known field or header name k[0..n) is, else JF_OTHER. A switch on
 * the length with fixed-size compares: this runs for every top-level key
 * of every event. */
static enum jf classify(const char *k, size_t n)
{
#define IS(name) (memcmp(k, name, sizeof(name) - 1) == 0)
    switch (n) {
    case 2: return IS("id") ? JF_ID : JF_OTHER;
    case 3: return IS("doc") ? JF_DOC : IS("seq") ? JF_HEADER : JF_OTHER;
    case 4: return IS("task") ? JF_TASK : IS("kind") ? JF_HEADER : JF_OTHER;
    case 5: return IS("resps") ? JF_RESPS : IS("input") ? JF_INPUT : JF_OTHER;
    case 6:
        return IS("doc_id")   ? JF_DOC_ID
               : IS("target") ? JF_TARGET
               : IS("filter") ? JF_FILTER
               : IS("metric") ? JF_METRIC
               : IS("run_id") ? JF_HEADER : JF_OTHER;
    case 7:
        return IS("metrics")   ? JF_METRICS
               : IS("time_ns") ? JF_HEADER : JF_OTHER;
    case 8: return IS("doc_hash") ? JF_DOC_HASH : JF_OTHER;
    case 9: return IS("arguments") ? JF_ARGUMENTS : JF_OTHER;
    case 11:
        return IS("prompt_hash")   ? JF_PROMPT_HASH
               : IS("target_hash") ? JF_TARGET_HASH
               : IS("input_media") ? JF_INPUT_MEDIA : JF_OTHER;
    case 12: return IS("token_counts") ? JF_TOKEN_COUNTS : JF_OTHER;
    case 14:
        return IS("filtered_resps")   ? JF_FRESPS
               : IS("model_response") ? JF_MODEL_RESPONSE : JF_OTHER;
    default: return JF_OTHER;
    }
#undef IS
}

const struct jl_key *jl_field_key(enum jf f)
{
    return &jf_key[f];
}

struct jl_rec *jl_rec_new(const struct jl_opts *o)
{
    struct jl_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->o = o;
    evt_buf_init(&r->tmp);
    evt_buf_init(&r->tmp2);
    evt_buf_init(&r->scr);
    evt_buf_init(&r->task);
    return r;
}

void jl_rec_set_secrets(struct jl_rec *r, const struct jl_secrets *k)
{
    r->sec = k && k->n ? k : NULL;
}

void jl_rec_free(struct jl_rec *r)
{
    if (!r)
        return;
    free(r->fields);
    free(r->e);
    evt_buf_free(&r->tmp);
    evt_buf_free(&r->tmp2);
    evt_buf_free(&r->scr);
    evt_buf_free(&r->task);
    free(r);
}

int jl_span_type(struct jl_span s)
{
    struct jl_cur c = jl_span_cur(s);
    struct jl_mv v;
    if (!s.p || jl_mp_read(&c, &v))
        return -1;
    return (int)v.t;
}

/* Room for n fields. 0, or -1 on OOM. */
static int reserve_fields(struct jl_rec *r, size_t n)
{
    if (n <= r->capfields)
        return 0;
    struct jl_field *f = realloc(r->fields, n * sizeof *f);
    if (!f)
        return -1;
    r->fields = f;
    r->capfields = n;
    return 0;
}

int jl_scan_field(struct jl_cur *c, struct jl_field *f)
{
    const unsigned char *kp = c->p;
    struct jl_mv k;
    if (jl_mp_read(c, &k))
        return -1;
    f->key.json = NULL;
    f->key.mp.p = NULL;
    f->key.mp.n = 0;
    if (k.t == JL_MT_STR) {
        f->key.s = k.s;
        f->key.n = k.n;
        f->jf = classify(k.s, k.n);
    } else { /* not from the core, which only makes str keys */
        c->p = kp;
        if (jl_mp_skip(c, JL_MP_MAX_DEPTH - 1))
            return -1;
        f->key.s = NULL;
        f->key.n = 0;
        f->key.mp.p = kp;
        f->key.mp.n = (size_t)(c->p - kp);
        f->jf = JF_OTHER;
    }
    const unsigned char *vp = c->p;
    if (jl_mp_skip(c, JL_MP_MAX_DEPTH - 1))
        return -1;
    f->val.p = vp;
    f->val.n = (size_t)(c->p - vp);
    return 0;
}

/* The fields of the map at c, which must end the bytes. 0 or -1. */
static int scan_map(struct jl_rec *r, struct jl_cur *c, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        struct jl_field *f = &r->fields[i];
        if (jl_scan_field(c, f))
            return -1;
        if (f->jf < JF_COUNT && !r->f[f->jf].p)
            r->f[f->jf] = f->val;
    }
    r->nfields = n;
    return c->p == c->end ? 0 : -1; /* one map, nothing after it */
}

int jl_rec_scan(struct jl_rec *r, const void *buf, size_t len, int *oom)
{
    struct jl_cur c = jl_cur_of(buf, len);
    struct jl_mv m;
    *oom = 0;
    memset(r->f, 0, sizeof r->f);
    r->nfields = 0;
    /* Each field takes 2 bytes at least: a larger count is a lie. */
    if (jl_mp_read(&c, &m) || m.t != JL_MT_MAP || m.n > len / 2)
        return -1;
    if (reserve_fields(r, m.n)) {
        *oom = 1;
        return -1;
    }
    if (scan_map(r, &c, m.n) == 0)
        return 0;
    memset(r->f, 0, sizeof r->f); /* nothing half read stays */
    r->nfields = 0;
    return -1;
}

int jl_rec_task(const struct jl_rec *r, const char **p, size_t *n)
{
    struct jl_cur c = jl_span_cur(r->f[JF_TASK]);
    struct jl_mv v;
    if (!r->f[JF_TASK].p || jl_mp_read(&c, &v) || v.t != JL_MT_STR)
        return 0;
    *p = v.s;
    *n = v.n;
    return 1;
}

int jl_rec_task_name(struct jl_rec *r, const char **p, size_t *n)
{
    if (!jl_rec_task(r, p, n))
        return 0;
    if (!jl_secrets_in(r->sec, *p, *n))
        return 1;
    struct evt_buf *b = &r->task;
    b->len = 0;
    b->oom = 0;
    jl_secrets_scrub(r->sec, *p, *n, b);
    if (b->oom)
        return -1;
    *p = b->data;
    *n = b->len;
    return 1;
}
