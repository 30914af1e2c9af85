/* jwrite.h -- JSON text of msgpack values, read straight from their bytes,
 * as the jsonl sink writes them.
 *
 * The text is Python's json.dumps(value, ensure_ascii=False) compact form,
 * the same bytes as the sdk's evt_json_write (separators ", " and ": ",
 * floats as repr(float), NaN / Infinity / -Infinity bare, UTF-8 raw,
 * lowercase \u00XX for control characters). On the way, the sink's value
 * fixes are applied (docs/sinks/jsonl.md §3.5, §3.6):
 *  - a string in value position, at any depth, longer than cap bytes is
 *    cut on a UTF-8 boundary and marked (JL_TRUNC_FMT); keys never are;
 *  - a bin or ext value becomes its Python str(), then capped like any
 *    string value;
 *  - a map key JSON cannot hold (array, map, bin, ext) becomes its str();
 *    nil, bool, int and float keys are written as json.dumps writes them.
 *
 * Functions return 0, or -1 with a message in w->err when a value cannot
 * be written (a string that is not valid UTF-8, nesting deeper than
 * JL_JW_MAX_DEPTH, malformed bytes). Out of memory sets w->out->oom and
 * returns -1; the caller tells the two apart by oom. After a failure the
 * output holds a partial text: the caller cuts it off. */
#ifndef JSONL_JWRITE_H
#define JSONL_JWRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "evtrack/sdk/json_write.h"
#include "mpread.h"

/* The marker appended to a string value cut by max_field_bytes; N is the
 * number of bytes removed: "<kept bytes>...[truncated N bytes]". */
#define JL_TRUNC_FMT "...[truncated %zu bytes]"

/* Deepest nesting written: events nest at most JL_MP_MAX_DEPTH levels and
 * the layouts add at most 2. */
#define JL_JW_MAX_DEPTH 64

/* Secrets (tokens) that no written string may hold (docs/sinks/jsonl.md
 * §3.7): every occurrence of each, in a value or a key, is replaced by
 * JL_REDACTED before the string is escaped and capped. Only values of
 * JL_SECRET_MIN bytes or more are kept: a shorter one would match ordinary
 * text. The strings are borrowed and must outlive the struct. */
#define JL_SECRETS_MAX 8
#define JL_SECRET_MIN 8
#define JL_REDACTED "[REDACTED]"

/* A filter keeps the search cheap: every 4-byte piece of every secret
 * sets a bit of bloom, and a string is searched (memmem) only when one of
 * its 4-byte pieces at a multiple of stride (minlen - 3: every occurrence
 * of a secret covers one) has its bit set. */
#define JL_BLOOM_BITS 14

struct jl_secrets {
    const char *s[JL_SECRETS_MAX];
    size_t len[JL_SECRETS_MAX];
    size_t n;       /* 0: nothing to scrub */
    size_t minlen;  /* the shortest len */
    size_t stride;
    uint64_t bloom[(1u << JL_BLOOM_BITS) / 64];
};

/* k from list[0..n): NULL, empty, short and repeated entries are left
 * out, and at most JL_SECRETS_MAX are kept. */
void jl_secrets_init(struct jl_secrets *k, const char *const *list, size_t n);

/* 1 when s[0..n) holds a secret of k (k may be NULL or empty). */
int jl_secrets_in(const struct jl_secrets *k, const char *s, size_t n);

/* Append s[0..n) to out with every secret of k replaced by JL_REDACTED
 * (the leftmost match first). Out of memory sets out->oom. */
void jl_secrets_scrub(const struct jl_secrets *k, const char *s, size_t n,
                      struct evt_buf *out);

struct jl_jw {
    struct evt_buf *out;
    struct evt_buf *tmp; /* scratch for str() texts */
    size_t cap;          /* max_field_bytes; 0: no cap */
    char *err;
    size_t errlen;
    const struct jl_secrets *sec; /* NULL: no secrets */
    struct evt_buf *scr;          /* scratch for scrubbed strings */
};

/* The value at c (moved past it), inside depth containers. */
int jl_jw_value(struct jl_jw *w, struct jl_cur *c, int depth);

/* A string value s[0..n) (scrubbed, then capped). */
int jl_jw_str(struct jl_jw *w, const char *s, size_t n);

/* Python str() of the value at c (moved past it), as a string value. */
int jl_jw_pystr(struct jl_jw *w, struct jl_cur *c);

/* The map key at c (moved past it), then ": ". */
int jl_jw_key(struct jl_jw *w, struct jl_cur *c);

/* The str key s[0..n) (scrubbed), then ": ". */
int jl_jw_key_text(struct jl_jw *w, const char *s, size_t n);

/* Grow b so that n more bytes and a NUL fit: where they go, or NULL (and
 * b->oom set) when the memory cannot be had. */
char *jl_jw_grow(struct evt_buf *b, size_t n);

/* Where the next n bytes go in b (room for them and a NUL), or NULL on
 * OOM. The caller writes them and adds what it wrote to b->len. Inline,
 * like jl_jw_raw: the writer reserves once per piece of text (a string, a
 * number, a separator) instead of calling evt_buf_put for each. */
static inline char *jl_jw_room(struct evt_buf *b, size_t n)
{
    if (!b->oom && b->cap - b->len > n)
        return b->data + b->len;
    return jl_jw_grow(b, n);
}

/* s[0..n) as it is (punctuation, numbers already in text). */
static inline int jl_jw_raw(struct jl_jw *w, const char *s, size_t n)
{
    char *o = jl_jw_room(w->out, n);
    if (!o)
        return -1;
    memcpy(o, s, n);
    w->out->len += n;
    return 0;
}

/* Set w->err to msg; returns -1. */
int jl_jw_fail(struct jl_jw *w, const char *msg);

/* Decimal text of an unsigned number. */
int jl_jw_uint(struct jl_jw *w, uint64_t v);

#endif
