/* results_lhash.c -- lighteval's summary hashes (formats.md 4) from the
 * sample events: per sample, the xxh64 of its query and of Python's str()
 * of its input and output token lists; per task, the xxh64 of each kind's
 * sorted hex values concatenated; over the run, the xxh64 of the tasks'
 * values concatenated in sorted task order. xxh64 (seed 0) is the
 * Debian-packaged libxxhash, the reference implementation lighteval's
 * Python binding wraps. The mapping of sample fields is documented in
 * docs/sinks/local-json.md 3.4. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "evtrack/sdk/json_write.h"
#include "results_int.h"

static void hex16(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, h);
}

void evt_results_xxh64_hex(const void *data, size_t len, char out[17])
{
    hex16(XXH64(data, len, 0), out);
}

/* ---- one sample --------------------------------------------------------- */

/* Python's str() of a list of numbers (nested lists allowed), as lighteval
 * hashes token lists: "[1, 2]", "[[3, 4]]", "[]". 0, or -1 for any other
 * value (the field then gives no hash). */
static int py_list_str(struct evt_buf *b, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_ARRAY:
        evt_buf_put(b, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                evt_buf_put(b, ", ", 2);
            if (py_list_str(b, &o->via.array.ptr[i]) != 0)
                return -1;
        }
        evt_buf_put(b, "]", 1);
        return 0;
    default:
        return evt_mp_py_number(b, o);
    }
}

/* xxh64 of str(ev[key]) into *h and bit into *has, when ev[key] is a
 * list of numbers. 0, or -1 on OOM. */
static int hash_tokens(const msgpack_object *ev, const char *key,
                       uint64_t *h, unsigned bit, unsigned *has)
{
    const msgpack_object *v = evt_mp_get(ev, key);
    if (!v || v->type != MSGPACK_OBJECT_ARRAY)
        return 0;
    struct evt_buf b;
    evt_buf_init(&b);
    int ok = py_list_str(&b, v) == 0;
    int oom = b.oom;
    if (ok && !oom) {
        *h = XXH64(b.data, b.len, 0);
        *has |= bit;
    }
    evt_buf_free(&b);
    return oom ? -1 : 0;
}

int evt__lhash_prepare(struct lhash_sample *s, const msgpack_object *ev)
{
    memset(s, 0, sizeof *s);
    const msgpack_object *q = str_field(ev, "query");
    const msgpack_object *doc = evt_mp_get(ev, "doc");
    if (!q && doc && doc->type == MSGPACK_OBJECT_MAP)
        q = str_field(doc, "query");
    if (q) {
        s->example = XXH64(q->via.str.ptr, q->via.str.size, 0);
        s->has |= LHASH_EXAMPLE;
    }
    if (hash_tokens(ev, "input_tokens", &s->input, LHASH_INPUT, &s->has) ||
        hash_tokens(ev, "output_tokens", &s->cont, LHASH_CONT, &s->has))
        return -1;
    return 0;
}

/* ---- per task ----------------------------------------------------------- */

static int list_reserve(struct lhash_list *l)
{
    if (l->n < l->cap)
        return 0;
    size_t cap = l->cap ? 2 * l->cap : 16;
    uint64_t *p = realloc(l->v, cap * sizeof *p);
    if (!p)
        return -1;
    l->v = p;
    l->cap = cap;
    return 0;
}

int evt__lhash_reserve(struct lhash *h, const struct lhash_sample *s)
{
    if ((s->has & LHASH_EXAMPLE) && list_reserve(&h->example) != 0)
        return -1;
    if ((s->has & LHASH_INPUT) && list_reserve(&h->input) != 0)
        return -1;
    if ((s->has & LHASH_CONT) && list_reserve(&h->cont) != 0)
        return -1;
    return 0;
}

void evt__lhash_add(struct lhash *h, const struct lhash_sample *s)
{
    if (s->has & LHASH_EXAMPLE)
        h->example.v[h->example.n++] = s->example;
    if (s->has & LHASH_INPUT)
        h->input.v[h->input.n++] = s->input;
    if (s->has & LHASH_CONT)
        h->cont.v[h->cont.n++] = s->cont;
}

void evt__lhash_free(struct lhash *h)
{
    free(h->example.v);
    free(h->input.v);
    free(h->cont.v);
    memset(h, 0, sizeof *h);
}

int evt__lhash_any(const struct lhash *h)
{
    return h->example.n || h->input.n || h->cont.n;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* xxh64 of the n 16-digit hex strings of v, in order. 0 or -1 (OOM). */
static int hash_hex_run(const uint64_t *v, size_t n, char out[17])
{
    XXH64_state_t *st = XXH64_createState();
    if (!st)
        return -1;
    XXH64_reset(st, 0);
    for (size_t i = 0; i < n; i++) {
        char hx[17];
        hex16(v[i], hx);
        XXH64_update(st, hx, 16);
    }
    hex16(XXH64_digest(st), out);
    XXH64_freeState(st);
    return 0;
}

/* Sorting the values sorts their fixed-width lowercase hex forms, as
 * lighteval sorts the hex strings. 0 or -1 (OOM). */
static int compile_list(const struct lhash_list *l, char out[17])
{
    uint64_t *v = malloc((l->n ? l->n : 1) * sizeof *v);
    if (!v)
        return -1;
    if (l->n)
        memcpy(v, l->v, l->n * sizeof *v);
    qsort(v, l->n, sizeof *v, by_value);
    int rc = hash_hex_run(v, l->n, out);
    free(v);
    return rc;
}

int evt__lhash_compile(const struct lhash *h, lhash_compiled out)
{
    /* full_prompt is never set upstream: every sample adds "" */
    evt_results_xxh64_hex("", 0, out[1]);
    return compile_list(&h->example, out[0]) != 0 ||
                   compile_list(&h->input, out[2]) != 0 ||
                   compile_list(&h->cont, out[3]) != 0
               ? -1
               : 0;
}

int evt__lhash_general(const lhash_compiled *tasks, size_t n,
                       lhash_compiled out)
{
    for (int k = 0; k < 4; k++) {
        XXH64_state_t *st = XXH64_createState();
        if (!st)
            return -1;
        XXH64_reset(st, 0);
        for (size_t i = 0; i < n; i++)
            XXH64_update(st, tasks[i][k], 16);
        hex16(XXH64_digest(st), out[k]);
        XXH64_freeState(st);
    }
    return 0;
}

/* ---- the public helper -------------------------------------------------- */

/* 16 lowercase hex digits -> *v. 0, or -1 for anything else. */
static int parse_hex16(const char *s, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint64_t)d;
    }
    return s[16] == '\0' ? 0 : -1;
}

int evt_results_xxh64_compile(const char *const *hex, size_t n,
                              char out[17])
{
    uint64_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = parse_hex16(hex[i], &v[i]);
    if (rc == 0) {
        qsort(v, n, sizeof *v, by_value);
        rc = hash_hex_run(v, n, out);
    }
    free(v);
    return rc;
}
