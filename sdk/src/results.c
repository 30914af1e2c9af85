/* results.c -- the results dict of lmms-eval / lm-eval from a run's events
 * (see evtrack/sdk/results.h and docs/sinks/local-json.md); the lighteval
 * layout is in results_lighteval.c, its sample hashes in results_lhash.c.
 *
 * The aggregator keeps a private msgpack copy of the run_start, run_end,
 * each task's last task_config and each (task, metric, filter)'s last
 * result, plus running SHA-256 states of the samples' hashes (and their
 * lighteval xxh64 values, which must be sorted before use). Rendering
 * builds the dict as a msgpack_object tree in a zone (members pointing into
 * those copies), then copies it once more while applying the NaN policy,
 * the redaction and the secret scrub, and hands it to evt_json_write,
 * msgpack_pack_object or a cJSON converter. */
#include "evtrack/sdk/results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "results_int.h"

#define REDACTED "[REDACTED]"

static int set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_init(struct sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->fill = 0;
}

static void sha_schedule(const unsigned char *p, uint32_t w[64])
{
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t a = w[i - 15], b = w[i - 2];
        uint32_t s0 = ROR32(a, 7) ^ ROR32(a, 18) ^ (a >> 3);
        uint32_t s1 = ROR32(b, 17) ^ ROR32(b, 19) ^ (b >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
}

static void sha_block(struct sha256 *s, const unsigned char *p)
{
    uint32_t w[64], v[8];
    sha_schedule(p, w);
    memcpy(v, s->h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t a = v[0], e = v[4];
        uint32_t t1 = v[7] + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) +
                      ((e & v[5]) ^ (~e & v[6])) + sha_k[i] + w[i];
        uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) +
                      ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof *v);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += v[i];
}

static void sha_update(struct sha256 *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    s->bytes += n;
    while (n) {
        size_t k = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->blk + s->fill, p, k);
        s->fill += k;
        p += k;
        n -= k;
        if (s->fill == 64) {
            sha_block(s, s->blk);
            s->fill = 0;
        }
    }
}

/* The digest of what was fed so far, as hex; *in is not changed. */
static void sha_hex(const struct sha256 *in, char out[65])
{
    struct sha256 s = *in;
    uint64_t bits = s.bytes * 8;
    unsigned char pad = 0x80, zero = 0, len[8];
    sha_update(&s, &pad, 1);
    while (s.fill != 56)
        sha_update(&s, &zero, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(&s, len, 8);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        unsigned b = (s.h[i / 4] >> (24 - 8 * (i % 4))) & 0xff;
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15];
    }
    out[64] = '\0';
}

void evt_results_sha256_hex(const void *data, size_t len, char out[65])
{
    struct sha256 s;
    sha_init(&s);
    sha_update(&s, data, len);
    sha_hex(&s, out);
}

/* ---- private copies of events --------------------------------------- */

static struct held *held_new(const msgpack_object *ev)
{
    struct held *h = calloc(1, sizeof *h);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (!h || msgpack_pack_object(&pk, *ev) != 0 ||
        evt_view_open_bytes(&h->view, sb.data, sb.size) != 0) {
        msgpack_sbuffer_destroy(&sb);
        free(h);
        return NULL;
    }
    h->bytes = sb.data; /* the view refers to it: keep it */
    return h;
}

static void held_free(struct held *h)
{
    if (!h)
        return;
    evt_view_close(&h->view);
    free(h->bytes);
    free(h);
}

static int64_t held_time_ns(const struct held *h)
{
    int64_t ns = 0;
    if (evt_mp_int64(held_get(h, "time_ns"), &ns) != 0)
        ns = 0;
    return ns;
}

/* ---- aggregator state ----------------------------------------------- */

struct evt_results *evt_results_new(void)
{
    return calloc(1, sizeof(struct evt_results));
}

static void task_free(struct rtask *k)
{
    for (size_t i = 0; i < k->nm; i++) {
        free(k->m[i].metric);
        free(k->m[i].filter);
        held_free(k->m[i].ev);
    }
    free(k->m);
    held_free(k->cfg);
    free(k->count_filter);
    evt__lhash_free(&k->light);
    free(k->name);
    free(k);
}

void evt_results_free(struct evt_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nt; i++)
        task_free(r->t[i]);
    for (size_t i = 0; i < r->nseen; i++)
        free(r->seen[i].run_id);
    free(r->t);
    free(r->seen);
    held_free(r->start);
    held_free(r->end);
    free(r);
}

uint64_t evt_results_count(const struct evt_results *r)
{
    return r->count;
}

int evt_results_has_run_start(const struct evt_results *r)
{
    return r->start != NULL;
}

int evt_results_has_run_end(const struct evt_results *r)
{
    return r->end != NULL;
}

static struct rtask *task_find(const struct evt_results *r,
                               const msgpack_object *name)
{
    for (size_t i = r->nt; i-- > 0;)
        if (evt_mp_str_eq(name, r->t[i]->name))
            return r->t[i];
    return NULL;
}

/* The task named name, made (and *made set) if new; NULL on OOM. */
static struct rtask *task_get(struct evt_results *r,
                              const msgpack_object *name, int *made)
{
    *made = 0;
    struct rtask *k = task_find(r, name);
    if (k)
        return k;
    if (r->nt == r->capt) {
        size_t cap = r->capt ? 2 * r->capt : 16;
        struct rtask **p = realloc(r->t, cap * sizeof *p);
        if (!p)
            return NULL;
        r->t = p;
        r->capt = cap;
    }
    k = calloc(1, sizeof *k);
    if (!k || !(k->name = evt_mp_strdup(name))) {
        free(k);
        return NULL;
    }
    sha_init(&k->h_lmms);
    sha_init(&k->h_lmeval);
    r->t[r->nt++] = k;
    *made = 1;
    return k;
}

/* Undo task_get's creation after a later failure. */
static void task_unmake(struct evt_results *r, int made)
{
    if (made)
        task_free(r->t[--r->nt]);
}

/* ---- taking events ---------------------------------------------------- */

/* *slot: the seen-entry of the event's run id (made if new), or NULL when
 * the event carries no run_id/seq. 0, or -1 on OOM. */
static int seen_slot(struct evt_results *r, const msgpack_object *ev,
                     struct seen **slot, uint64_t *seq)
{
    const msgpack_object *id = evt_mp_get(ev, "run_id");
    const msgpack_object *s = evt_mp_get(ev, "seq");
    *slot = NULL;
    if (!id || id->type != MSGPACK_OBJECT_STR || !s ||
        s->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return 0;
    *seq = s->via.u64;
    for (size_t i = 0; i < r->nseen; i++)
        if (evt_mp_str_eq(id, r->seen[i].run_id)) {
            *slot = &r->seen[i];
            return 0;
        }
    struct seen *p = realloc(r->seen, (r->nseen + 1) * sizeof *p);
    if (!p)
        return -1;
    r->seen = p;
    if (!(p[r->nseen].run_id = evt_mp_strdup(id)))
        return -1;
    p[r->nseen].seq = 0;
    *slot = &p[r->nseen++];
    return 0;
}

static int take_run(struct held **dst, const msgpack_object *ev)
{
    struct held *h = held_new(ev);
    if (!h)
        return -1;
    held_free(*dst);
    *dst = h;
    return 1;
}

static int take_config(struct evt_results *r, const msgpack_object *ev)
{
    int made;
    struct held *h = held_new(ev);
    struct rtask *k = h ? task_get(r, str_field(ev, "task"), &made) : NULL;
    if (!k) {
        held_free(h);
        return -1;
    }
    held_free(k->cfg);
    k->cfg = h;
    return 1;
}

static struct rmetric *metric_find(struct rtask *k, const char *metric,
                                   const char *filter)
{
    for (size_t i = 0; i < k->nm; i++)
        if (strcmp(k->m[i].metric, metric) == 0 &&
            strcmp(k->m[i].filter, filter) == 0)
            return &k->m[i];
    return NULL;
}

/* Append (metric, filter, h) to k; takes the two strings. 0 or -1. */
static int metric_append(struct rtask *k, char *metric, char *filter,
                         struct held *h)
{
    if (k->nm == k->capm) {
        size_t cap = k->capm ? 2 * k->capm : 4;
        struct rmetric *p = realloc(k->m, cap * sizeof *p);
        if (!p)
            return -1;
        k->m = p;
        k->capm = cap;
    }
    k->m[k->nm++] = (struct rmetric){metric, filter, h};
    return 0;
}

static int take_result(struct evt_results *r, const msgpack_object *ev)
{
    const msgpack_object *f = str_field(ev, "filter");
    char *metric = evt_mp_strdup(str_field(ev, "metric"));
    char *filter = f ? evt_mp_strdup(f) : strdup("none");
    struct held *h = metric && filter ? held_new(ev) : NULL;
    int made = 0;
    struct rtask *k = h ? task_get(r, str_field(ev, "task"), &made) : NULL;
    struct rmetric *m = k ? metric_find(k, metric, filter) : NULL;
    if (m) {
        held_free(m->ev);
        m->ev = h;
        free(metric);
        free(filter);
        return 1;
    }
    if (k && metric_append(k, metric, filter, h) == 0)
        return 1;
    task_unmake(r, made);
    held_free(h);
    free(metric);
    free(filter);
    return -1;
}

/* The sample's doc hash: its doc_hash (any string), else sha256 of its
 * doc as json.dumps(doc, indent=2, ensure_ascii=False) in hex[]; *p and *n
 * point at it, *n == 0 when the sample has neither (or its doc has no
 * JSON form). 0, or -1 on OOM. */
static int sample_doc_hash(const msgpack_object *ev, char hex[65],
                           const char **p, size_t *n)
{
    const msgpack_object *dh = str_field(ev, "doc_hash");
    const msgpack_object *doc = evt_mp_get(ev, "doc");
    *p = hex;
    *n = 0;
    if (dh) {
        *p = dh->via.str.ptr;
        *n = dh->via.str.size;
        return 0;
    }
    if (!doc)
        return 0;
    struct evt_buf b;
    evt_buf_init(&b);
    struct evt_json_style st = {2, EVT_NAN_BARE, 0};
    if (evt_json_write(&b, doc, &st, NULL, 0) == 0) {
        evt_results_sha256_hex(b.data, b.len, hex);
        *n = 64;
    }
    int rc = b.oom ? -1 : 0;
    evt_buf_free(&b);
    return rc;
}

static void sha_put_str(struct sha256 *s, const msgpack_object *o)
{
    if (o && o->type == MSGPACK_OBJECT_STR)
        sha_update(s, o->via.str.ptr, o->via.str.size);
}

/* lmms-eval: "sample_<i>" + doc_hash; lm-eval: doc_hash + prompt_hash +
 * target_hash (formats.md 2.5). */
static void sample_hash(struct rtask *k, const msgpack_object *ev,
                        const char *dh, size_t n)
{
    char idx[32];
    int len = snprintf(idx, sizeof idx, "sample_%llu",
                       (unsigned long long)k->nhashed);
    sha_update(&k->h_lmms, idx, (size_t)len);
    sha_update(&k->h_lmms, dh, n);
    sha_update(&k->h_lmeval, dh, n);
    sha_put_str(&k->h_lmeval, evt_mp_get(ev, "prompt_hash"));
    sha_put_str(&k->h_lmeval, evt_mp_get(ev, "target_hash"));
    k->nhashed++;
}

/* Count the sample when its filter is the first one seen for the task: one
 * sample per (doc, filter) arrives, n-samples counts docs. 0 or -1. */
static int count_sample(struct rtask *k, const msgpack_object *filter)
{
    if (!k->count_filter) {
        k->count_filter = filter ? evt_mp_strdup(filter) : strdup("");
        if (!k->count_filter)
            return -1;
    }
    if (filter ? evt_mp_str_eq(filter, k->count_filter) : !*k->count_filter)
        k->nsamples++;
    return 0;
}

/* Everything that can fail (hashing, room for the lighteval hashes, the
 * count) comes before the first change, so OOM leaves r as it was. */
static int take_sample(struct evt_results *r, const msgpack_object *ev)
{
    char hex[65];
    const char *dh;
    size_t n;
    int made;
    struct lhash_sample ls;
    if (sample_doc_hash(ev, hex, &dh, &n) != 0 ||
        evt__lhash_prepare(&ls, ev) != 0)
        return -1;
    struct rtask *k = task_get(r, str_field(ev, "task"), &made);
    if (!k)
        return -1;
    if (evt__lhash_reserve(&k->light, &ls) != 0 ||
        count_sample(k, str_field(ev, "filter")) != 0) {
        task_unmake(r, made);
        return -1;
    }
    if (n)
        sample_hash(k, ev, dh, n);
    evt__lhash_add(&k->light, &ls);
    return 1;
}

/* 0 when ev can be taken, else -1 with err naming the kind and field. */
static int check_event(const msgpack_object *ev, const msgpack_object *kind,
                       char *err, size_t errlen)
{
    int is_run = evt_mp_str_eq(kind, "run_start") ||
                 evt_mp_str_eq(kind, "run_end");
    int is_result = evt_mp_str_eq(kind, "result");
    const char *why = NULL;
    if (!is_run && !str_field(ev, "task"))
        why = "missing string field \"task\"";
    else if (is_result && !str_field(ev, "metric"))
        why = "missing string field \"metric\"";
    else if (is_result && !evt_mp_get(ev, "value"))
        why = "missing field \"value\"";
    if (!why)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%.*s event: %s", (int)kind->via.str.size,
                 kind->via.str.ptr, why);
    return -1;
}

static int take(struct evt_results *r, const msgpack_object *ev,
                const msgpack_object *kind)
{
    if (evt_mp_str_eq(kind, "run_start"))
        return take_run(&r->start, ev);
    if (evt_mp_str_eq(kind, "run_end"))
        return take_run(&r->end, ev);
    if (evt_mp_str_eq(kind, "task_config"))
        return take_config(r, ev);
    if (evt_mp_str_eq(kind, "result"))
        return take_result(r, ev);
    return take_sample(r, ev);
}

static int known_kind(const msgpack_object *kind)
{
    static const char *const kinds[] = {"run_start", "run_end", "task_config",
                                        "result", "sample", NULL};
    for (int i = 0; kinds[i]; i++)
        if (evt_mp_str_eq(kind, kinds[i]))
            return 1;
    return 0;
}

static void note_time(struct evt_results *r, const msgpack_object *ev)
{
    int64_t ns;
    if (evt_mp_int64(evt_mp_get(ev, "time_ns"), &ns) != 0)
        return;
    if (r->count == 0 || ns < r->first_ns)
        r->first_ns = ns;
    if (r->count == 0 || ns > r->last_ns)
        r->last_ns = ns;
}

int evt_results_add(struct evt_results *r, const msgpack_object *ev,
                    char *err, size_t errlen)
{
    const msgpack_object *kind = str_field(ev, "kind");
    if (!ev || ev->type != MSGPACK_OBJECT_MAP || !kind)
        return set_err(err, errlen, "not an event: no string field \"kind\"");
    if (!known_kind(kind))
        return 0; /* scalar (or a future kind): nothing for the dict */
    if (check_event(ev, kind, err, errlen) != 0)
        return -1;
    struct seen *slot;
    uint64_t seq = 0;
    if (seen_slot(r, ev, &slot, &seq) != 0)
        return set_err(err, errlen, "out of memory") - 1;
    if (slot && seq <= slot->seq)
        return 0; /* delivered again */
    int rc = take(r, ev, kind);
    if (rc < 0)
        return set_err(err, errlen, "out of memory") - 1;
    if (rc > 0) {
        note_time(r, ev);
        r->count++;
        if (slot)
            slot->seq = seq;
    }
    return rc;
}

int evt_results_add_bytes(struct evt_results *r, const void *buf, size_t len,
                          char *err, size_t errlen)
{
    struct evt_view v;
    if (evt_view_open_bytes(&v, buf, len) != 0)
        return set_err(err, errlen, "not an event: not one msgpack map");
    int rc = evt_results_add(r, &v.root, err, errlen);
    evt_view_close(&v);
    return rc;
}

/* ---- text helpers: model name, sanitizing, dates -------------------- */

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* The value after the first "<key>=" in args, up to the next ','. */
static char *model_from_args_text(const char *args, size_t n,
                                  const char *const *keys)
{
    char *s = dup_n(args, n);
    for (int i = 0; s && keys[i]; i++) {
        const char *p = strstr(s, keys[i]);
        if (!p)
            continue;
        p += strlen(keys[i]);
        char *out = dup_n(p, strcspn(p, ","));
        free(s);
        return out;
    }
    free(s);
    return s ? strdup("") : NULL;
}

/* lm-eval also accepts model_args as a dict. */
static char *model_from_args_map(const msgpack_object *m,
                                 const char *const *keys)
{
    for (int i = 0; keys[i]; i++) {
        size_t n = strcspn(keys[i], "=");
        for (uint32_t j = 0; j < m->via.map.size; j++) {
            const msgpack_object *k = &m->via.map.ptr[j].key;
            const msgpack_object *v = &m->via.map.ptr[j].val;
            if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
                memcmp(k->via.str.ptr, keys[i], n) == 0 &&
                v->type == MSGPACK_OBJECT_STR)
                return evt_mp_strdup(v);
        }
    }
    return strdup("");
}

/* The model name from the two fields that carry it (either may be NULL). */
static char *model_name_from(const msgpack_object *v, const msgpack_object *a,
                             enum evt_results_layout layout)
{
    static const char *const lmms[] = {
        "peft=", "delta=", "pretrained=", "model=", "model_version=",
        "model_name=", "model_id=", "path=", "engine=", NULL};
    static const char *const lmeval[] = {"peft=", "delta=", "pretrained=",
                                         "model=", "path=", "engine=", NULL};
    const char *const *keys = layout == EVT_RESULTS_LM_EVAL ? lmeval : lmms;
    if (v && v->type == MSGPACK_OBJECT_STR)
        return evt_mp_strdup(v);
    if (a && a->type == MSGPACK_OBJECT_STR)
        return model_from_args_text(a->via.str.ptr, a->via.str.size, keys);
    if (a && a->type == MSGPACK_OBJECT_MAP && layout == EVT_RESULTS_LM_EVAL)
        return model_from_args_map(a, keys);
    return strdup("");
}

/* lm-eval: each run of " < > : / | \ ? * [ ] becomes "__". */
static char *lmeval_sanitized(const char *name)
{
    static const char bad[] = "\"<>:/|\\?*[]";
    size_t n = strlen(name), o = 0;
    char *out = malloc(2 * n + 1);
    for (size_t i = 0; out && i < n;) {
        if (!strchr(bad, name[i])) {
            out[o++] = name[i++];
            continue;
        }
        while (i < n && strchr(bad, name[i]))
            i++;
        out[o++] = '_';
        out[o++] = '_';
    }
    if (out)
        out[o] = '\0';
    return out;
}

static char *sanitized_of(const char *name, enum evt_results_layout layout)
{
    return layout == EVT_RESULTS_LM_EVAL ? lmeval_sanitized(name)
                                         : evt_lmms_model_name_sanitized(name);
}

/* model_name: run_start's, else taken from model_args as the tool does
 * (formats.md 2.1 and 2.4; lm-eval's random id is not reproduced: ""). */
char *evt__res_model_name(const struct evt_results *r,
                          enum evt_results_layout layout)
{
    return model_name_from(run_field(r, "model_name"),
                           run_field(r, "model_args"), layout);
}


static int64_t start_ns(const struct evt_results *r)
{
    return r->start ? held_time_ns(r->start) : r->first_ns;
}

static int64_t end_ns(const struct evt_results *r)
{
    return r->end ? held_time_ns(r->end) : r->last_ns;
}

double evt__res_event_secs(const struct evt_results *r, int end)
{
    return (double)(end ? end_ns(r) : start_ns(r)) / 1e9;
}

/* The date text of the file name (and of lmms-eval's "date"): run_start's
 * string "date", else the run stamp, else the UTC start time. */
static char *date_text(const struct evt_results *r,
                       const struct evt_results_opts *o)
{
    const msgpack_object *d = run_field(r, "date");
    if (d && d->type == MSGPACK_OBJECT_STR)
        return evt_mp_strdup(d);
    if (o->run_stamp)
        return strdup(o->run_stamp);
    time_t sec = (time_t)(start_ns(r) / 1000000000);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&sec, &tm) ||
        strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm) == 0)
        return strdup("19700101_000000");
    return strdup(buf);
}

/* ---- redaction (formats.md 2.3) and secret scrubbing ---------------- */

static int is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static int is_alnum(unsigned char c)
{
    return is_word(c) && c != '_' && c < 0x80;
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    if (m > n)
        return 0;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != suffix[i])
            return 0;
    }
    return 1;
}

static int equals_ci(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && ends_with_ci(s, n, w);
}

/* A dict key whose value lmms-eval replaces whole. */
static int key_sensitive(const msgpack_object *k)
{
    static const char *const exact[] = {
        "api_key", "client_secret", "hf_token", "huggingface_hub_token",
        "huggingfacehub_api_token", "token", NULL};
    static const char *const suffix[] = {"api_key", "_token", "_secret",
                                         "password", NULL};
    if (k->type != MSGPACK_OBJECT_STR)
        return 0;
    const char *s = k->via.str.ptr;
    size_t n = k->via.str.size;
    for (int i = 0; exact[i]; i++)
        if (equals_ci(s, n, exact[i]))
            return 1;
    for (int i = 0; suffix[i]; i++)
        if (ends_with_ci(s, n, suffix[i]))
            return 1;
    return 0;
}

static int key_secretish(const char *s, size_t n)
{
    return ends_with_ci(s, n, "api_key") || ends_with_ci(s, n, "token") ||
           ends_with_ci(s, n, "secret") || ends_with_ci(s, n, "password");
}

/* Rule 1: at the start or after ',' or a space, "<word run ending in
 * api_key|token|secret|password>=<value up to ',' or a space>": the value
 * becomes [REDACTED]. Writes the whole result to nb and returns 1 when
 * something was replaced, else 0 (nb untouched). */
static int rule_key_value(const char *p, size_t n, struct evt_buf *nb)
{
    size_t done = 0;
    int hits = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && p[i - 1] != ',' && !is_space((unsigned char)p[i - 1]))
            continue;
        size_t j = i, k;
        while (j < n && is_word((unsigned char)p[j]))
            j++;
        if (j == i || j >= n || p[j] != '=' || !key_secretish(p + i, j - i))
            continue;
        k = j + 1;
        while (k < n && p[k] != ',' && !is_space((unsigned char)p[k]))
            k++;
        if (k == j + 1)
            continue;
        evt_buf_put(nb, p + done, j + 1 - done);
        evt_buf_puts(nb, REDACTED);
        done = k;
        hits = 1;
        i = k - 1;
    }
    if (hits)
        evt_buf_put(nb, p + done, n - done);
    return hits;
}

/* Rule 2: \bhf_[A-Za-z0-9]{20,}\b becomes [REDACTED]. */
static int rule_hf_token(const char *p, size_t n, struct evt_buf *nb)
{
    size_t done = 0;
    int hits = 0;
    for (size_t i = 0; i + 3 <= n; i++) {
        if (memcmp(p + i, "hf_", 3) != 0 ||
            (i > 0 && is_word((unsigned char)p[i - 1])))
            continue;
        size_t j = i + 3;
        while (j < n && is_alnum((unsigned char)p[j]))
            j++;
        if (j - i - 3 < 20 || (j < n && is_word((unsigned char)p[j])))
            continue;
        evt_buf_put(nb, p + done, i - done);
        evt_buf_puts(nb, REDACTED);
        done = j;
        hits = 1;
        i = j - 1;
    }
    if (hits)
        evt_buf_put(nb, p + done, n - done);
    return hits;
}

static const char *find_bytes(const char *h, size_t hn, const char *nd,
                              size_t nn)
{
    for (size_t i = 0; nn && i + nn <= hn; i++)
        if (h[i] == nd[0] && memcmp(h + i, nd, nn) == 0)
            return h + i;
    return NULL;
}

/* Every occurrence of secret sec (>= 8 bytes) becomes [REDACTED]. */
static int rule_secret(const char *p, size_t n, const char *sec,
                       struct evt_buf *nb)
{
    size_t sn = strlen(sec), done = 0;
    int hits = 0;
    const char *q;
    while (sn >= 8 && (q = find_bytes(p + done, n - done, sec, sn))) {
        evt_buf_put(nb, p + done, (size_t)(q - p) - done);
        evt_buf_puts(nb, REDACTED);
        done = (size_t)(q - p) + sn;
        hits = 1;
    }
    if (hits)
        evt_buf_put(nb, p + done, n - done);
    return hits;
}

/* A string being scrubbed: the current text and the buffer owning it. */
struct text {
    const char *p;
    size_t n;
    struct evt_buf own;
    int changed, oom;
};

static void text_apply(struct text *x, int hit, struct evt_buf *nb)
{
    if (!hit) {
        evt_buf_free(nb);
        return;
    }
    x->oom |= nb->oom;
    evt_buf_free(&x->own);
    x->own = *nb;
    x->p = nb->data ? nb->data : "";
    x->n = nb->len;
    x->changed = 1;
}

/* Scrub s: secrets always, lmms-eval's string rules when redact. The
 * result is x->p/x->n (x->changed says whether it differs); free with
 * evt_buf_free(&x->own). */
static void scrub(struct text *x, const char *s, size_t n,
                  const struct evt_results_opts *o, int redact)
{
    *x = (struct text){s, n, {NULL, 0, 0, 0}, 0, 0};
    for (int i = 0; i < EVT_RESULTS_MAX_SECRETS; i++) {
        const char *sec = o->secrets[i];
        struct evt_buf nb;
        evt_buf_init(&nb);
        if (!sec || !*sec)
            continue;
        if (strlen(sec) == x->n && memcmp(sec, x->p, x->n) == 0) {
            evt_buf_puts(&nb, REDACTED);
            text_apply(x, 1, &nb);
            return;
        }
        text_apply(x, rule_secret(x->p, x->n, sec, &nb), &nb);
    }
    if (!redact)
        return;
    struct evt_buf nb;
    evt_buf_init(&nb);
    text_apply(x, rule_key_value(x->p, x->n, &nb), &nb);
    evt_buf_init(&nb);
    text_apply(x, rule_hf_token(x->p, x->n, &nb), &nb);
}

char *evt_results_redact_text(const char *s, size_t len)
{
    static const struct evt_results_opts none;
    struct text x;
    scrub(&x, s, len, &none, 1);
    char *out = x.oom ? NULL : dup_n(x.p, x.n);
    evt_buf_free(&x.own);
    return out;
}

/* ---- the dict as a msgpack_object tree -------------------------------- */

/* metric + ("_" + suffix) + "," + filter in the zone; its length in *n. */
static const char *metric_key(struct tree *t, const struct rmetric *m,
                              const char *suffix, size_t *n)
{
    size_t a = strlen(m->metric), b = suffix ? strlen(suffix) + 1 : 0;
    size_t c = strlen(m->filter);
    char *p = zalloc(t, a + b + 1 + c);
    *n = 0;
    if (!p)
        return "";
    memcpy(p, m->metric, a);
    if (suffix) {
        p[a] = '_';
        memcpy(p + a + 1, suffix, b - 1);
    }
    p[a + b] = ',';
    memcpy(p + a + b + 1, m->filter, c);
    *n = a + b + 1 + c;
    return p;
}

static int nonempty_array(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0;
}

static int is_group(const struct rtask *k)
{
    return nonempty_array(held_get(k->cfg, "subtasks"));
}

/* In a group: its task_config names groups, or a group lists it. */
static int is_member(const struct evt_results *r, const struct rtask *k)
{
    if (nonempty_array(held_get(k->cfg, "groups")))
        return 1;
    for (size_t i = 0; i < r->nt; i++) {
        const msgpack_object *s = held_get(r->t[i]->cfg, "subtasks");
        for (uint32_t j = 0; nonempty_array(s) && j < s->via.array.size; j++)
            if (evt_mp_str_eq(&s->via.array.ptr[j], k->name))
                return 1;
    }
    return 0;
}

/* ---- results / groups ---- */

/* Companion statistics in the tools' order. lmms-eval always writes the
 * first three ("N/A" when absent); lm-eval always the first. */
static const char *const companions[] = {
    "stderr",           "stderr_clt",         "stderr_clustered",
    "expected_accuracy", "consensus_accuracy", "internal_variance",
    "consistency_rate",  NULL};

static void put_metric(struct tree *t, struct omap *e,
                       const struct rmetric *m)
{
    size_t n;
    const char *k = metric_key(t, m, NULL, &n);
    *map_put(t, e, k, n) = *held_get(m->ev, "value");
    int always = t->o->layout == EVT_RESULTS_LM_EVAL ? 1 : 3;
    for (int i = 0; companions[i]; i++) {
        const msgpack_object *v = held_get(m->ev, companions[i]);
        int has = v && v->type != MSGPACK_OBJECT_NIL;
        if (!has && i >= always)
            continue;
        k = metric_key(t, m, companions[i], &n);
        msgpack_object *slot = map_put(t, e, k, n);
        if (has)
            *slot = *v;
        else
            v_str(slot, "N/A", 3);
    }
}

/* alias: a result's, else the task_config's, else the task name. */
static void put_alias(struct tree *t, struct omap *e, const struct rtask *k)
{
    msgpack_object *slot = put(t, e, "alias");
    for (size_t i = 0; i < k->nm; i++) {
        const msgpack_object *a = str_field(&k->m[i].ev->view.root, "alias");
        if (a) {
            *slot = *a;
            return;
        }
    }
    const msgpack_object *a = held_get(k->cfg, "alias");
    if (a && a->type == MSGPACK_OBJECT_STR)
        *slot = *a;
    else
        v_str(slot, k->name, strlen(k->name));
}

static void put_entries(struct tree *t, msgpack_object *dst, int groups_only)
{
    const struct evt_results *r = t->r;
    struct omap m;
    map_init(t, &m, dst, r->nt);
    for (size_t i = 0; i < r->nt; i++) {
        const struct rtask *k = r->t[i];
        if (k->nm == 0 || (groups_only && !is_group(k)))
            continue;
        struct omap e;
        map_init(t, &e, put(t, &m, k->name), 1 + 8 * k->nm);
        put_alias(t, &e, k);
        for (size_t j = 0; j < k->nm; j++)
            put_metric(t, &e, &k->m[j]);
    }
}

enum { D_NIL, D_OMIT, D_OMIT_EMPTY, D_EMPTY_MAP, D_FALSE };

static void b_results(struct tree *t, struct omap *top,
                      const struct member *mb)
{
    put_entries(t, put(t, top, mb->key), 0);
}

static void b_groups(struct tree *t, struct omap *top,
                     const struct member *mb)
{
    for (size_t i = 0; i < t->r->nt; i++)
        if (t->r->t[i]->nm && is_group(t->r->t[i])) {
            put_entries(t, put(t, top, mb->key), 1);
            return;
        }
}

/* Groups and the tasks outside every group, newest first (the tools write
 * the reverse of their internal order). */
static void b_group_subtasks(struct tree *t, struct omap *top,
                             const struct member *mb)
{
    const struct evt_results *r = t->r;
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), r->nt);
    for (size_t i = r->nt; i-- > 0;) {
        const struct rtask *k = r->t[i];
        if (is_group(k))
            *put(t, &m, k->name) = *held_get(k->cfg, "subtasks");
        else if (!is_member(r, k))
            v_empty(put(t, &m, k->name), MSGPACK_OBJECT_ARRAY);
    }
}

/* {task: task_config[mb->arg]} sorted by task name. */
static void b_sorted(struct tree *t, struct omap *top,
                     const struct member *mb)
{
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), t->r->nt);
    for (size_t i = 0; t->sorted && i < t->r->nt; i++) {
        const msgpack_object *v = held_get(t->sorted[i]->cfg, mb->arg);
        if (v)
            *put(t, &m, t->sorted[i]->name) = *v;
    }
}

/* Add kv to the merged map m: new keys are appended, a key seen with
 * another value becomes null. */
static void merge_one(struct tree *t, struct omap *m,
                      const msgpack_object_kv *kv)
{
    msgpack_object_map *mp = &m->obj->via.map;
    if (t->failed || kv->key.type != MSGPACK_OBJECT_STR)
        return;
    for (uint32_t x = 0; x < mp->size; x++)
        if (msgpack_object_equal(mp->ptr[x].key, kv->key)) {
            if (!msgpack_object_equal(mp->ptr[x].val, kv->val))
                v_empty(&mp->ptr[x].val, MSGPACK_OBJECT_NIL);
            return;
        }
    *map_put(t, m, kv->key.via.str.ptr, kv->key.via.str.size) = kv->val;
}

/* A group without higher_is_better: the merge of its subtasks' maps. */
static void merge_hib(struct tree *t, struct omap *m, const struct rtask *g)
{
    const msgpack_object *subs = held_get(g->cfg, "subtasks");
    const msgpack_object *h[256];
    size_t nh = 0, cap = 0;
    for (uint32_t i = 0; i < subs->via.array.size && nh < 256; i++) {
        const struct rtask *s = task_find(t->r, &subs->via.array.ptr[i]);
        const msgpack_object *v =
            s ? held_get(s->cfg, "higher_is_better") : NULL;
        if (v && v->type == MSGPACK_OBJECT_MAP && v->via.map.size) {
            h[nh++] = v;
            cap += v->via.map.size;
        }
    }
    if (cap == 0)
        return;
    struct omap mm;
    map_init(t, &mm, put(t, m, g->name), cap);
    for (size_t i = 0; i < nh; i++)
        for (uint32_t j = 0; j < h[i]->via.map.size; j++)
            merge_one(t, &mm, &h[i]->via.map.ptr[j]);
}

static void b_hib(struct tree *t, struct omap *top, const struct member *mb)
{
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), t->r->nt);
    for (size_t i = 0; t->sorted && i < t->r->nt; i++) {
        const struct rtask *k = t->sorted[i];
        const msgpack_object *v = held_get(k->cfg, "higher_is_better");
        if (v)
            *put(t, &m, k->name) = *v;
        else if (is_group(k))
            merge_hib(t, &m, k);
    }
}

/* task_config's n-samples, else {original: N, effective: N} for N samples
 * seen; in order of appearance. */
static void b_nsamples(struct tree *t, struct omap *top,
                       const struct member *mb)
{
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), t->r->nt);
    for (size_t i = 0; i < t->r->nt; i++) {
        const struct rtask *k = t->r->t[i];
        const msgpack_object *v = held_get(k->cfg, "n-samples");
        if (v) {
            *put(t, &m, k->name) = *v;
        } else if (k->nsamples) {
            struct omap c;
            map_init(t, &c, put(t, &m, k->name), 2);
            v_u64(put(t, &c, "original"), k->nsamples);
            v_u64(put(t, &c, "effective"), k->nsamples);
        }
    }
}

/* run_start's config, with "model" (model_source) and "model_args" first
 * when it lacks them, as the tools build it. */
static void b_config(struct tree *t, struct omap *top,
                     const struct member *mb)
{
    const msgpack_object *base = run_field(t->r, "config");
    if (base && base->type != MSGPACK_OBJECT_MAP)
        base = NULL;
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), (base ? base->via.map.size : 0) + 2);
    static const char *const first[][2] = {{"model", "model_source"},
                                           {"model_args", "model_args"}};
    for (int i = 0; i < 2; i++) {
        if (evt_mp_get(base, first[i][0]))
            continue;
        const msgpack_object *v = run_field(t->r, first[i][1]);
        msgpack_object *slot = put(t, &m, first[i][0]);
        if (v)
            *slot = *v;
    }
    for (uint32_t i = 0; base && i < base->via.map.size && !t->failed; i++)
        m.obj->via.map.ptr[m.obj->via.map.size++] = base->via.map.ptr[i];
}

/* A run field of the same name (run_end over run_start), or the default. */
static void b_run(struct tree *t, struct omap *top, const struct member *mb)
{
    const msgpack_object *v = run_field(t->r, mb->key);
    int empty = !v || (v->type == MSGPACK_OBJECT_MAP && !v->via.map.size);
    if ((!v && mb->dflt == D_OMIT) || (empty && mb->dflt == D_OMIT_EMPTY))
        return;
    msgpack_object *slot = put(t, top, mb->key);
    if (v)
        *slot = *v;
    else if (mb->dflt == D_EMPTY_MAP)
        v_empty(slot, MSGPACK_OBJECT_MAP);
    else if (mb->dflt == D_FALSE)
        v_empty(slot, MSGPACK_OBJECT_BOOLEAN); /* false */
}

/* lmms-eval: the date string; lm-eval: an epoch float (run_start's number,
 * else the start time). */
static void b_date(struct tree *t, struct omap *top, const struct member *mb)
{
    msgpack_object *slot = put(t, top, mb->key);
    const msgpack_object *v = run_field(t->r, "date");
    if (t->o->layout == EVT_RESULTS_LM_EVAL) {
        if (is_number(v))
            *slot = *v;
        else
            v_f64(slot, (double)start_ns(t->r) / 1e9);
        return;
    }
    char *d = date_text(t->r, t->o);
    if (!d)
        t->failed = 1;
    else
        v_zstr(t, slot, d, strlen(d));
    free(d);
}

static void b_task_hashes(struct tree *t, struct omap *top,
                          const struct member *mb)
{
    struct omap m;
    map_init(t, &m, put(t, top, mb->key), t->r->nt);
    for (size_t i = 0; i < t->r->nt; i++) {
        const struct rtask *k = t->r->t[i];
        char hex[65];
        if (!k->nhashed)
            continue;
        sha_hex(t->o->layout == EVT_RESULTS_LM_EVAL ? &k->h_lmeval
                                                    : &k->h_lmms, hex);
        v_zstr(t, put(t, &m, k->name), hex, 64);
    }
}

static void put_heap_str(struct tree *t, msgpack_object *slot, char *s)
{
    if (!s)
        t->failed = 1;
    else
        v_zstr(t, slot, s, strlen(s));
    free(s);
}

static void b_model_name(struct tree *t, struct omap *top,
                         const struct member *mb)
{
    put_heap_str(t, put(t, top, mb->key),
                 evt__res_model_name(t->r, t->o->layout));
}

static void b_sanitized(struct tree *t, struct omap *top,
                        const struct member *mb)
{
    char *name = evt__res_model_name(t->r, t->o->layout);
    put_heap_str(t, put(t, top, mb->key),
                 name ? sanitized_of(name, t->o->layout) : NULL);
    free(name);
}

/* run field <key> if given, else sha256 of run field <arg> when it is a
 * non-empty string (Python truthiness), else null. */
static void b_sha_of(struct tree *t, struct omap *top,
                     const struct member *mb)
{
    msgpack_object *slot = put(t, top, mb->key);
    const msgpack_object *given = run_field(t->r, mb->key);
    const msgpack_object *src = run_field(t->r, mb->arg);
    char hex[65];
    if (given) {
        *slot = *given;
    } else if (src && src->type == MSGPACK_OBJECT_STR && src->via.str.size) {
        evt_results_sha256_hex(src->via.str.ptr, src->via.str.size, hex);
        v_zstr(t, slot, hex, 64);
    }
}

/* start_time / end_time: the run field if it is a number, else the
 * event's wall clock in epoch seconds. */
static double time_value(const struct evt_results *r, const char *key,
                         int64_t ns)
{
    double d;
    const msgpack_object *v = run_field(r, key);
    if (is_number(v) && evt_mp_double(v, &d) == 0)
        return d;
    return (double)ns / 1e9;
}

static void b_time(struct tree *t, struct omap *top, const struct member *mb)
{
    msgpack_object *slot = put(t, top, mb->key);
    const msgpack_object *v = run_field(t->r, mb->key);
    int is_start = strcmp(mb->key, "start_time") == 0;
    if (is_number(v))
        *slot = *v;
    else
        v_f64(slot, time_value(t->r, mb->key,
                               is_start ? start_ns(t->r) : end_ns(t->r)));
}

/* The run field, else str(end_time - start_time) as Python prints it. */
static void b_total(struct tree *t, struct omap *top, const struct member *mb)
{
    msgpack_object *slot = put(t, top, mb->key);
    const msgpack_object *v = run_field(t->r, mb->key);
    char num[32];
    if (v) {
        *slot = *v;
        return;
    }
    double d = time_value(t->r, "end_time", end_ns(t->r)) -
               time_value(t->r, "start_time", start_ns(t->r));
    v_zstr(t, slot, num, evt_py_float_repr(d, num));
}

#define TRACKER_MEMBERS                                                      \
    {"model_source", b_run, D_NIL, NULL},                                    \
        {"model_name", b_model_name, 0, NULL},                               \
        {"model_name_sanitized", b_sanitized, 0, NULL},                      \
        {"system_instruction", b_run, D_NIL, NULL},                          \
        {"system_instruction_sha", b_sha_of, 0, "system_instruction"},       \
        {"fewshot_as_multiturn", b_run, D_FALSE, NULL},                      \
        {"chat_template", b_run, D_NIL, NULL},                               \
        {"chat_template_sha", b_sha_of, 0, "chat_template"},                 \
        {"start_time", b_time, 0, NULL}, {"end_time", b_time, 0, NULL},      \
        {"total_evaluation_time_seconds", b_total, 0, NULL}

#define TASK_MEMBERS                                                         \
    {"results", b_results, 0, NULL}, {"groups", b_groups, 0, NULL},          \
        {"group_subtasks", b_group_subtasks, 0, NULL},                       \
        {"configs", b_sorted, 0, "config"},                                  \
        {"versions", b_sorted, 0, "version"},                                \
        {"n-shot", b_sorted, 0, "n-shot"},                                   \
        {"higher_is_better", b_hib, 0, NULL},                                \
        {"n-samples", b_nsamples, 0, NULL}, {"config", b_config, 0, NULL}

/* lmms-eval 0.7 (formats.md 2.2). */
static const struct member lmms_members[] = {
    TASK_MEMBERS,
    {"git_hash", b_run, D_NIL, NULL},
    {"git_branch", b_run, D_NIL, NULL},
    {"lmms_eval_version", b_run, D_NIL, NULL},
    {"date", b_date, 0, NULL},
    {"throughput", b_run, D_OMIT, NULL},
    {"usage", b_run, D_EMPTY_MAP, NULL},
    {"efficiency", b_run, D_OMIT_EMPTY, NULL},
    {"task_hashes", b_task_hashes, 0, NULL},
    TRACKER_MEMBERS,
    {NULL, NULL, 0, NULL}};

/* lm-eval 0.4.x (formats.md 2.4; the 11 tracker fields of 0.4.9). */
static const struct member lmeval_members[] = {
    TASK_MEMBERS,
    {"git_hash", b_run, D_NIL, NULL},
    {"date", b_date, 0, NULL},
    {"pretty_env_info", b_run, D_OMIT, NULL},
    {"transformers_version", b_run, D_OMIT, NULL},
    {"lm_eval_version", b_run, D_OMIT, NULL},
    {"upper_git_hash", b_run, D_OMIT, NULL},
    {"tokenizer_pad_token", b_run, D_OMIT, NULL},
    {"tokenizer_eos_token", b_run, D_OMIT, NULL},
    {"tokenizer_bos_token", b_run, D_OMIT, NULL},
    {"eot_token_id", b_run, D_OMIT, NULL},
    {"max_length", b_run, D_OMIT, NULL},
    {"task_hashes", b_task_hashes, 0, NULL},
    TRACKER_MEMBERS,
    {NULL, NULL, 0, NULL}};

/* ---- final copy: NaN policy, redaction, secrets ----------------------- */

struct nonfinite {
    const char *path; /* in the zone */
    size_t len;
    const char *token;
};

struct fin {
    struct tree *t;
    struct evt_buf path; /* JSON path of the value being copied */
    struct nonfinite *nf;
    size_t nnf, capnf;
};

/* Append ".key" or "['key']" (as json_write's error paths) to the path. */
static void path_push_key(struct evt_buf *p, const msgpack_object *k)
{
    if (k->type != MSGPACK_OBJECT_STR) {
        evt_buf_puts(p, "[?]");
        return;
    }
    const char *s = k->via.str.ptr;
    size_t n = k->via.str.size, i = 0;
    int ident = n > 0 && !(s[0] >= '0' && s[0] <= '9');
    for (; ident && i < n; i++)
        ident = is_alnum((unsigned char)s[i]) || s[i] == '_';
    if (ident) {
        evt_buf_put(p, ".", 1);
        evt_buf_put(p, s, n);
        return;
    }
    evt_buf_put(p, "['", 2);
    for (i = 0; i < n; i++) {
        if (s[i] == '\'' || s[i] == '\\')
            evt_buf_put(p, "\\", 1);
        evt_buf_put(p, s + i, 1);
    }
    evt_buf_put(p, "']", 2);
}

static void path_pop(struct evt_buf *p, size_t mark)
{
    if (p->data && mark <= p->len) {
        p->len = mark;
        p->data[mark] = '\0';
    }
}

static void note_nonfinite(struct fin *f, double d)
{
    if (f->nnf == f->capnf) {
        size_t cap = f->capnf ? 2 * f->capnf : 8;
        struct nonfinite *p = realloc(f->nf, cap * sizeof *p);
        if (!p) {
            f->t->failed = 1;
            return;
        }
        f->nf = p;
        f->capnf = cap;
    }
    msgpack_object tmp;
    v_zstr(f->t, &tmp, f->path.data ? f->path.data : "$", f->path.len);
    f->nf[f->nnf++] = (struct nonfinite){
        tmp.via.str.ptr, tmp.via.str.size,
        isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"};
}

static void fin_str(struct fin *f, const msgpack_object *in,
                    msgpack_object *out, int redact)
{
    struct text x;
    scrub(&x, in->via.str.ptr, in->via.str.size, f->t->o, redact);
    if (x.oom)
        f->t->failed = 1;
    if (x.changed)
        v_zstr(f->t, out, x.p, x.n);
    else
        *out = *in;
    evt_buf_free(&x.own);
}

/* bin and ext values, and map keys that are bin, ext, arrays or maps
 * (only evt_msgpack can bring them), have no JSON form: a descriptive
 * string keeps the file writable, as the tools' str() hook would. */
static void fin_opaque(struct fin *f, const msgpack_object *in,
                       msgpack_object *out)
{
    char text[64];
    int n;
    if (in->type == MSGPACK_OBJECT_BIN)
        n = snprintf(text, sizeof text, "<msgpack bin, %lu bytes>",
                     (unsigned long)in->via.bin.size);
    else if (in->type == MSGPACK_OBJECT_EXT)
        n = snprintf(text, sizeof text, "<msgpack ext %d, %lu bytes>",
                     (int)in->via.ext.type, (unsigned long)in->via.ext.size);
    else if (in->type == MSGPACK_OBJECT_ARRAY)
        n = snprintf(text, sizeof text, "<msgpack array, %lu items>",
                     (unsigned long)in->via.array.size);
    else
        n = snprintf(text, sizeof text, "<msgpack map, %lu pairs>",
                     (unsigned long)in->via.map.size);
    v_zstr(f->t, out, text, (size_t)n);
}

/* A map key with no JSON key form (json_write takes str, int, float,
 * bool and nil keys). */
static int opaque_key(const msgpack_object *k)
{
    return k->type == MSGPACK_OBJECT_BIN || k->type == MSGPACK_OBJECT_EXT ||
           k->type == MSGPACK_OBJECT_ARRAY || k->type == MSGPACK_OBJECT_MAP;
}

static void fin_value(struct fin *f, const msgpack_object *in,
                      msgpack_object *out, int redact);

static void fin_array(struct fin *f, const msgpack_object *in,
                      msgpack_object *out, int redact)
{
    uint32_t n = in->via.array.size;
    v_empty(out, MSGPACK_OBJECT_ARRAY);
    if (n == 0 || !(out->via.array.ptr = zalloc(f->t, n * sizeof *in)))
        return;
    out->via.array.size = n;
    for (uint32_t i = 0; i < n; i++) {
        size_t mark = f->path.len;
        char idx[24];
        evt_buf_put(&f->path, idx,
                    (size_t)snprintf(idx, sizeof idx, "[%lu]",
                                     (unsigned long)i));
        fin_value(f, &in->via.array.ptr[i], &out->via.array.ptr[i], redact);
        path_pop(&f->path, mark);
    }
}

static void fin_map(struct fin *f, const msgpack_object *in,
                    msgpack_object *out, int redact)
{
    uint32_t n = in->via.map.size;
    v_empty(out, MSGPACK_OBJECT_MAP);
    if (n == 0 ||
        !(out->via.map.ptr = zalloc(f->t, n * sizeof(msgpack_object_kv))))
        return;
    out->via.map.size = n;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object_kv *a = &in->via.map.ptr[i];
        msgpack_object_kv *b = &out->via.map.ptr[i];
        size_t mark = f->path.len;
        if (a->key.type == MSGPACK_OBJECT_STR)
            fin_str(f, &a->key, &b->key, 0);
        else if (opaque_key(&a->key))
            fin_opaque(f, &a->key, &b->key);
        else
            b->key = a->key;
        /* The path names the key as written (nonfinite_values): scrubbed. */
        path_push_key(&f->path, &b->key);
        if (redact && key_sensitive(&a->key))
            v_str(&b->val, REDACTED, strlen(REDACTED));
        else
            fin_value(f, &a->val, &b->val, redact);
        path_pop(&f->path, mark);
    }
}

static void fin_value(struct fin *f, const msgpack_object *in,
                      msgpack_object *out, int redact)
{
    switch (in->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        *out = *in;
        if (!isfinite(in->via.f64) && f->t->o->nan == EVT_RESULTS_NAN_STRICT) {
            note_nonfinite(f, in->via.f64);
            out->type = MSGPACK_OBJECT_NIL;
        }
        break;
    case MSGPACK_OBJECT_STR: fin_str(f, in, out, redact); break;
    case MSGPACK_OBJECT_ARRAY: fin_array(f, in, out, redact); break;
    case MSGPACK_OBJECT_MAP: fin_map(f, in, out, redact); break;
    case MSGPACK_OBJECT_BIN:
    case MSGPACK_OBJECT_EXT: fin_opaque(f, in, out); break;
    default: *out = *in; break;
    }
}

/* Top-level members whose strings get lmms-eval's redaction. */
static int redacted_member(const msgpack_object *k)
{
    return evt_mp_str_eq(k, "config") || evt_mp_str_eq(k, "config_general") ||
           evt_mp_str_eq(k, "model_name") ||
           evt_mp_str_eq(k, "model_name_sanitized") ||
           evt_mp_str_eq(k, "model_source");
}

static void put_nonfinite(struct fin *f, struct omap *top)
{
    struct omap m;
    map_init(f->t, &m, put(f->t, top, "nonfinite_values"), f->nnf);
    for (size_t i = 0; i < f->nnf; i++)
        v_str(map_put(f->t, &m, f->nf[i].path, f->nf[i].len),
              f->nf[i].token, strlen(f->nf[i].token));
}

/* Copy the built dict into *out with the output rules applied. */
static void finalize(struct tree *t, const msgpack_object *in,
                     msgpack_object *out)
{
    struct fin f = {t, {NULL, 0, 0, 0}, NULL, 0, 0};
    struct omap top;
    uint32_t n = in->via.map.size;
    map_init(t, &top, out, n + 1);
    evt_buf_puts(&f.path, "$");
    for (uint32_t i = 0; i < n && !t->failed; i++) {
        const msgpack_object_kv *kv = &in->via.map.ptr[i];
        path_push_key(&f.path, &kv->key);
        msgpack_object *slot = map_put(t, &top, kv->key.via.str.ptr,
                                       kv->key.via.str.size);
        int redact = t->o->redact && redacted_member(&kv->key);
        fin_value(&f, &kv->val, slot, redact);
        path_pop(&f.path, 1);
    }
    if (f.path.oom)
        t->failed = 1;
    if (f.nnf)
        put_nonfinite(&f, &top);
    evt_buf_free(&f.path);
    free(f.nf);
}

/* ---- rendering ------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp((*(struct rtask *const *)a)->name,
                  (*(struct rtask *const *)b)->name);
}

/* Build the dict into t's zone as *root. 0, or -1 with err set (the zone
 * is then already destroyed). */
static int render(const struct evt_results *r,
                  const struct evt_results_opts *o, struct tree *t,
                  msgpack_object *root, char *err, size_t errlen)
{
    static const struct evt_results_opts dflt;
    memset(t, 0, sizeof *t);
    t->r = r;
    t->o = o ? o : &dflt;
    if (!msgpack_zone_init(&t->zone, 8192))
        return set_err(err, errlen, "out of memory");
    if (r->nt && (t->sorted = zalloc(t, r->nt * sizeof *t->sorted))) {
        memcpy(t->sorted, r->t, r->nt * sizeof *t->sorted);
        qsort(t->sorted, r->nt, sizeof *t->sorted, by_name);
    }
    const struct member *mb = t->o->layout == EVT_RESULTS_LM_EVAL
                                  ? lmeval_members
                              : t->o->layout == EVT_RESULTS_LIGHTEVAL
                                  ? evt__lighteval_members
                                  : lmms_members;
    size_t n = 0;
    while (mb[n].key)
        n++;
    msgpack_object built;
    struct omap top;
    map_init(t, &top, &built, n);
    for (size_t i = 0; i < n && !t->failed; i++)
        mb[i].build(t, &top, &mb[i]);
    if (!t->failed)
        finalize(t, &built, root);
    if (!t->failed)
        return 0;
    msgpack_zone_destroy(&t->zone);
    return set_err(err, errlen, "out of memory");
}

int evt_results_render_json(const struct evt_results *r,
                            const struct evt_results_opts *o,
                            struct evt_buf *out, char *err, size_t errlen)
{
    struct tree t;
    msgpack_object root;
    if (render(r, o, &t, &root, err, errlen) != 0)
        return -1;
    struct evt_json_style st = {2, EVT_NAN_BARE, 0};
    int rc = evt_json_write(out, &root, &st, err, errlen);
    msgpack_zone_destroy(&t.zone);
    return rc;
}

static int buf_write(void *data, const char *p, size_t n)
{
    struct evt_buf *b = data;
    evt_buf_put(b, p, n);
    return b->oom ? -1 : 0;
}

int evt_results_render_msgpack(const struct evt_results *r,
                               const struct evt_results_opts *o,
                               struct evt_buf *out, char *err,
                               size_t errlen)
{
    struct tree t;
    msgpack_object root;
    if (render(r, o, &t, &root, err, errlen) != 0)
        return -1;
    size_t mark = out->len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    int rc = msgpack_pack_object(&pk, root) == 0 && !out->oom ? 0 : -1;
    msgpack_zone_destroy(&t.zone);
    if (rc != 0) {
        out->oom = 0;
        path_pop(out, mark);
        return set_err(err, errlen, "out of memory");
    }
    return 0;
}

/* ---- cJSON ------------------------------------------------------------ */

/* A map key as Python's json converts it; heap string or NULL. */
static char *key_text(const msgpack_object *k)
{
    char num[32];
    switch (k->type) {
    case MSGPACK_OBJECT_STR: return dup_n(k->via.str.ptr, k->via.str.size);
    case MSGPACK_OBJECT_NIL: return strdup("null");
    case MSGPACK_OBJECT_BOOLEAN:
        return strdup(k->via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(num, sizeof num, "%llu", (unsigned long long)k->via.u64);
        return strdup(num);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)k->via.i64);
        return strdup(num);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isnan(k->via.f64))
            return strdup("NaN");
        if (isinf(k->via.f64))
            return strdup(k->via.f64 > 0 ? "Infinity" : "-Infinity");
        evt_py_float_repr(k->via.f64, num);
        return strdup(num);
    default: return NULL;
    }
}

static cJSON *to_cjson(const msgpack_object *o);

static cJSON *to_cjson_map(const msgpack_object *o)
{
    cJSON *obj = cJSON_CreateObject();
    for (uint32_t i = 0; obj && i < o->via.map.size; i++) {
        char *k = key_text(&o->via.map.ptr[i].key);
        cJSON *v = k ? to_cjson(&o->via.map.ptr[i].val) : NULL;
        if (!v || !cJSON_AddItemToObject(obj, k, v)) {
            cJSON_Delete(v);
            cJSON_Delete(obj);
            obj = NULL;
        }
        free(k);
    }
    return obj;
}

static cJSON *to_cjson_array(const msgpack_object *o)
{
    cJSON *arr = cJSON_CreateArray();
    for (uint32_t i = 0; arr && i < o->via.array.size; i++) {
        cJSON *v = to_cjson(&o->via.array.ptr[i]);
        if (!v || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            cJSON_Delete(arr);
            arr = NULL;
        }
    }
    return arr;
}

static cJSON *to_cjson(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN: return cJSON_CreateBool(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return cJSON_CreateNumber(o->via.f64);
    case MSGPACK_OBJECT_STR: {
        char *s = dup_n(o->via.str.ptr, o->via.str.size);
        cJSON *v = s ? cJSON_CreateString(s) : NULL;
        free(s);
        return v;
    }
    case MSGPACK_OBJECT_ARRAY: return to_cjson_array(o);
    case MSGPACK_OBJECT_MAP: return to_cjson_map(o);
    default: return NULL; /* bin, ext: no JSON form */
    }
}

cJSON *evt_results_to_cjson(const struct evt_results *r,
                            const struct evt_results_opts *o, char *err,
                            size_t errlen)
{
    struct tree t;
    msgpack_object root;
    if (render(r, o, &t, &root, err, errlen) != 0)
        return NULL;
    cJSON *v = to_cjson(&root);
    msgpack_zone_destroy(&t.zone);
    if (!v)
        set_err(err, errlen, "out of memory, or a bin/ext value with no "
                             "JSON form");
    return v;
}

/* ---- file name -------------------------------------------------------- */

/* s scrubbed as the dict's model fields are, made one safe component of
 * at most max bytes. */
static char *safe_part(const char *s, const struct evt_results_opts *o,
                       size_t max)
{
    struct text x;
    scrub(&x, s, strlen(s), o, o->redact);
    char *out = x.oom ? NULL : evt_safe_component(x.p, x.n, max);
    evt_buf_free(&x.own);
    return out;
}

/* The date of the file name: ':' becomes '-' as both tools do (lm-eval's
 * isoformat dates), then one safe component of at most 64 bytes. */
static char *date_part(const struct evt_results *r,
                       const struct evt_results_opts *o)
{
    char *date = date_text(r, o);
    for (char *c = date; c && *c; c++)
        if (*c == ':')
            *c = '-';
    char *d = date ? safe_part(date, o, 64) : NULL;
    free(date);
    return d;
}

/* name[0..n) split on '/' without the empty parts: the first part in
 * parts[0], the others joined with '/' in parts[1]. The number of parts
 * filled (0, 1 or 2). */
static int split_org_model(const char *name, size_t n, struct evt_buf *parts)
{
    int np = 0;
    for (size_t i = 0, j; i < n; i = j + 1) {
        for (j = i; j < n && name[j] != '/';)
            j++;
        if (j == i)
            continue;
        if (np == 2)
            evt_buf_put(&parts[1], "/", 1);
        evt_buf_put(&parts[np ? 1 : 0], name + i, j - i);
        np += np < 2;
    }
    return np;
}

/* "results", then "/<org>" and "/<model>" for lighteval's
 * {output_dir}/results/{org}/{model} (formats.md 4): the scrubbed model
 * name's first part is the org when there are two or more, the others are
 * the model. Each is one safe component, so "../x" or "/abs/m" stay under
 * "results". NULL on OOM. */
static char *lighteval_subdir(const char *model,
                              const struct evt_results_opts *o)
{
    struct text x;
    struct evt_buf parts[2], out;
    scrub(&x, model, strlen(model), o, o->redact);
    evt_buf_init(&parts[0]);
    evt_buf_init(&parts[1]);
    evt_buf_init(&out);
    int np = split_org_model(x.p, x.n, parts);
    evt_buf_puts(&out, "results");
    for (int i = 0; i < np; i++) {
        char *c = evt_safe_component(parts[i].data, parts[i].len, 200);
        evt_buf_put(&out, "/", 1);
        evt_buf_puts(&out, c ? c : "");
        out.oom |= !c;
        free(c);
    }
    int oom = x.oom || parts[0].oom || parts[1].oom || out.oom;
    evt_buf_free(&x.own);
    evt_buf_free(&parts[0]);
    evt_buf_free(&parts[1]);
    if (oom)
        evt_buf_free(&out);
    return out.data;
}

/* The folder of a layout's file for the model name. NULL on OOM. */
static char *model_subdir(const char *model, const struct evt_results_opts *o)
{
    if (o->layout == EVT_RESULTS_LIGHTEVAL)
        return lighteval_subdir(model, o);
    char *san = sanitized_of(model, o->layout);
    char *sub = san ? (*san ? safe_part(san, o, 200) : strdup("")) : NULL;
    free(san);
    return sub;
}

int evt_results_file_path(const struct evt_results *r,
                          const struct evt_results_opts *o, char **subdir,
                          char **name)
{
    static const struct evt_results_opts dflt;
    o = o ? o : &dflt;
    char *model = evt__res_model_name(r, o->layout);
    char *d = date_part(r, o);
    *subdir = model ? model_subdir(model, o) : NULL;
    size_t n = d ? strlen(d) + 24 : 0;
    *name = d ? malloc(n) : NULL;
    if (*name)
        snprintf(*name, n, o->layout == EVT_RESULTS_LMMS_EVAL
                               ? "%s_results.json" : "results_%s.json", d);
    free(model);
    free(d);
    if (*subdir && *name)
        return 0;
    free(*subdir);
    free(*name);
    *subdir = *name = NULL;
    return -1;
}

char *evt_run_model_subdir(const msgpack_object *run_start,
                           const struct evt_results_opts *o)
{
    char *model = model_name_from(evt_mp_get(run_start, "model_name"),
                                  evt_mp_get(run_start, "model_args"),
                                  o->layout);
    char *sub = model ? model_subdir(model, o) : NULL;
    free(model);
    return sub;
}

int evt_results_load_secrets(struct evt_results_opts *o,
                             char *store[EVT_RESULTS_MAX_SECRETS])
{
    static const char *const vars[] = {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                                       "WANDB_API_KEY"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        store[i] = v && *v ? strdup(v) : NULL;
        if (v && *v && !store[i])
            return -1;
        o->secrets[i] = store[i];
    }
    return 0;
}

void evt_results_free_secrets(char *store[EVT_RESULTS_MAX_SECRETS])
{
    for (int i = 0; i < EVT_RESULTS_MAX_SECRETS; i++) {
        free(store[i]);
        store[i] = NULL;
    }
}

int evt_results_layout_from_name(const char *name,
                                 enum evt_results_layout *out)
{
    if (name && strcmp(name, "lmms-eval") == 0)
        *out = EVT_RESULTS_LMMS_EVAL;
    else if (name && strcmp(name, "lm-eval") == 0)
        *out = EVT_RESULTS_LM_EVAL;
    else if (name && strcmp(name, "lighteval") == 0)
        *out = EVT_RESULTS_LIGHTEVAL;
    else
        return -1;
    return 0;
}

int evt_results_nan_from_name(const char *name, enum evt_results_nan *out)
{
    if (name && strcmp(name, "strict") == 0)
        *out = EVT_RESULTS_NAN_STRICT;
    else if (name && strcmp(name, "bare") == 0)
        *out = EVT_RESULTS_NAN_BARE;
    else
        return -1;
    return 0;
}
