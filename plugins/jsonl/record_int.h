/* record_int.h -- what record.c (lmms-eval and lm-eval layouts, the line
 * writer) and lighteval.c (lighteval's details) share.
 *
 * A line is built in two steps. First the layout lists its entries: for
 * each key of the line, in order, where the value comes from (a span of
 * the event's msgpack bytes) and how it is written (as it is, as its
 * Python str(), sanitized, or one of the structs a layout builds). Then
 * the entries are written, each value transformed as it is written, so
 * nothing is decoded into objects or copied in between. */
#ifndef JSONL_RECORD_INT_H
#define JSONL_RECORD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "jwrite.h"
#include "mpread.h"
#include "record.h"

/* Fields the layouts know by name. */
enum jf {
    JF_TASK, JF_DOC_ID, JF_DOC, JF_TARGET, JF_ARGUMENTS, JF_RESPS,
    JF_FRESPS, JF_FILTER, JF_METRICS, JF_DOC_HASH, JF_PROMPT_HASH,
    JF_TARGET_HASH, JF_TOKEN_COUNTS, JF_INPUT_MEDIA, JF_INPUT,
    /* lighteval's own names (the lighteval layout) */
    JF_METRIC, JF_MODEL_RESPONSE, JF_ID, JF_COUNT,
    JF_HEADER = JF_COUNT, /* kind, run_id, seq, time_ns: never written */
    JF_OTHER              /* any other key */
};

#define JB(f) (1u << (f))

/* One whole msgpack value in the event's bytes; p == NULL: absent. */
struct jl_span {
    const unsigned char *p;
    size_t n;
};

/* A key of the line: a str (s[0..n), static or in the event), or, when
 * mp.p is set, a key of another type as msgpack bytes. The layouts' own
 * names also carry their JSON text, "\"<name>\": " (n + 4 bytes), so
 * that writing them is one copy. */
struct jl_key {
    const char *s;
    size_t n;
    const char *json; /* NULL for keys from the event */
    struct jl_span mp;
};

/* How an entry's value is written. */
enum jl_vk {
    VK_RAW,        /* as it is */
    VK_STR,        /* Python str() */
    VK_SANITIZED,  /* sanitize_list: arrays stay, the rest str() */
    VK_ARGS,       /* lm-eval's gen_args map of the arguments */
    VK_NAMES,      /* lm-eval's list of metric names */
    VK_LE_DOC,     /* lighteval's Doc, built */
    VK_LE_RESPONSE /* lighteval's ModelResponse, built */
};

struct jl_entry {
    struct jl_key key;
    enum jl_vk kind;
    struct jl_span val;
    size_t order; /* position when added: ties of the lighteval sort */
};

/* A top-level field of the event. */
struct jl_field {
    struct jl_key key;
    enum jf jf;
    struct jl_span val;
};

struct jl_rec {
    const struct jl_opts *o;
    struct jl_span f[JF_COUNT]; /* the first field of each known name */
    struct jl_field *fields;    /* every field, in event order */
    size_t nfields, capfields;
    unsigned known;             /* JB bits of the fields the layout uses */
    struct jl_entry *e;         /* the line's entries, in order */
    size_t ne, cape;
    struct evt_buf tmp, tmp2;   /* scratch for str() texts */
    const struct jl_secrets *sec; /* NULL: no secrets to scrub */
    struct evt_buf scr, task;   /* scrubbed strings, the task's name */
    char *err, *warn;
    size_t errlen, warnlen;
};

/* A cursor on a span. */
static inline struct jl_cur jl_span_cur(struct jl_span s)
{
    return jl_cur_of(s.p, s.n);
}

/* The type of the value in s; -1 when absent. */
int jl_span_type(struct jl_span s);

/* Read one map key and its value at c into *f. 0, or -1 when malformed. */
int jl_scan_field(struct jl_cur *c, struct jl_field *f);

/* arguments[0] when "arguments" is a non-empty array; else absent. */
struct jl_span jl_first_argument(const struct jl_rec *r);

/* The key of field f, as the layouts write it. */
const struct jl_key *jl_field_key(enum jf f);

/* Add an entry (left out when its key is in drop_fields); add_field
 * skips an absent field. 0 or JL_REC_NOMEM. */
int jl_add(struct jl_rec *r, const struct jl_key *k, enum jl_vk kind,
           struct jl_span val);
int jl_add_field(struct jl_rec *r, enum jf f, enum jl_vk kind);

/* Every field the layout does not use (r->known), in event order. */
int jl_add_extras(struct jl_rec *r);

/* Set r->err; returns JL_REC_SKIP. */
int jl_skip(struct jl_rec *r, const char *why);

/* lighteval.c: the fields the layout uses, and its entries. */
unsigned jl_le_known(const struct jl_rec *r);
int jl_le_build(struct jl_rec *r);

/* lighteval.c: write the value of a VK_LE_DOC or VK_LE_RESPONSE entry. */
int jl_le_write(struct jl_rec *r, struct jl_jw *w, const struct jl_entry *e);

#endif
