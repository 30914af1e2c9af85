/* builder.c -- the event builder behind evt_begin()/evt_commit().
 *
 * Fields are encoded straight into a pooled event buffer, so a steady
 * stream of events allocates nothing. Containers get map32/array32
 * headers whose counts are patched when they close. Errors are sticky:
 * the first one is kept and reported by evt_commit(). */
/* This file defines evt_str & co.; the header's inline routes are for
 * callers. */
#define EVT_NO_KEY_MACROS
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_msgpack.h"
#include "mpcheck.h"
#include "mpwrite.h"
#include "strbuf.h"
#include "tracker.h"
#include "utf8.h"

/* Nesting limits keep every event readable by msgpack-c, whose unpacker
 * stops at 32 levels: the top-level map, at most 15 builder levels, and at
 * most 15 more in an embedded JSON or msgpack value. */
#define MAX_DEPTH 15

struct level {
    size_t hdr_off;
    uint32_t count;
    int is_map;
};

struct evt_ev {
    struct evt_tracker *t;
    struct evt_event *e;
    int depth; /* 0: the top-level map */
    struct level stack[MAX_DEPTH + 1];
    struct level *top; /* &stack[depth] */
    uint32_t seen; /* known top-level fields present (F_* bits) */
    uint32_t last_field; /* F_* bit of the last top-level key */
    int status;
    char msg[256];
    int in_use;
};

/* One builder per thread; a nested evt_begin on the same thread gets a
 * heap builder instead. */
static _Thread_local struct evt_ev tls_builder;

/* Handed out in a forked child: every call on it is a no-op and
 * evt_commit() returns EVT_ECLOSED. Never written to. */
static struct evt_ev forked_builder = {.status = EVT_ECLOSED};

/* Top-level field names the builder knows, one bit each. */
enum {
    F_TASK = 1u << 0,
    F_DOC_ID = 1u << 1,
    F_METRIC = 1u << 2,
    F_VALUE = 1u << 3,
    F_TAG = 1u << 4,
    F_STEP = 1u << 5, /* not required: marks the key evt_int acts on */
    F_RESERVED = 1u << 31 /* kind, run_id, seq, time_ns: the core's own */
};

static const char *const field_names[] = {"task", "doc_id", "metric",
                                          "value", "tag"};

/* Which known field a top-level key is (0: none). A switch on the length
 * with constant-size memcmp: this runs for every top-level key. */
static inline __attribute__((always_inline)) uint32_t
classify(const char *k, size_t n)
{
    switch (n) {
    case 3:
        return !memcmp(k, "seq", 3) ? F_RESERVED
               : !memcmp(k, "tag", 3) ? F_TAG : 0;
    case 4:
        return !memcmp(k, "task", 4)   ? F_TASK
               : !memcmp(k, "step", 4) ? F_STEP
               : !memcmp(k, "kind", 4) ? F_RESERVED : 0;
    case 5:
        return !memcmp(k, "value", 5) ? F_VALUE : 0;
    case 6:
        return !memcmp(k, "doc_id", 6)   ? F_DOC_ID
               : !memcmp(k, "metric", 6) ? F_METRIC
               : !memcmp(k, "run_id", 6) ? F_RESERVED : 0;
    case 7:
        return !memcmp(k, "time_ns", 7) ? F_RESERVED : 0;
    default:
        return 0;
    }
}

/* Required top-level fields per kind (docs/EVENTS.md). */
static uint32_t required_fields(uint32_t kind)
{
    switch (kind) {
    case EVT_EV_TASK_CONFIG: return F_TASK;
    case EVT_EV_SAMPLE: return F_TASK | F_DOC_ID;
    case EVT_EV_RESULT: return F_TASK | F_METRIC | F_VALUE;
    case EVT_EV_SCALAR: return F_TAG | F_VALUE;
    default: return 0;
    }
}

static void set_err(struct evt_ev *b, int status, const char *fmt, ...)
    __attribute__((cold, format(printf, 3, 4)));

static void set_err(struct evt_ev *b, int status, const char *fmt, ...)
{
    if (b->status)
        return;
    b->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
}

static __attribute__((noinline, cold)) void oom(struct evt_ev *b)
{
    set_err(b, EVT_ENOMEM, "out of memory while encoding the event");
}

int evt__build_headers(struct evt_tracker *t)
{
    for (unsigned i = 0; i < 6; i++) {
        struct evt_event tmp;
        memset(&tmp, 0, sizeof tmp);
        size_t off;
        int bad = mp_container32(&tmp, 1, &off) || mp_cstr(&tmp, "kind") ||
                  mp_cstr(&tmp, evt__kind_name(1u << i)) ||
                  mp_cstr(&tmp, "run_id") || mp_cstr(&tmp, t->run_id) ||
                  mp_cstr(&tmp, "seq");
        struct evt__header *h = &t->headers[i];
        h->seq_off = tmp.len + 1;
        bad = bad || mp_tagged(&tmp, 0xcf, 0, 8) ||
              mp_cstr(&tmp, "time_ns");
        h->time_off = tmp.len + 1;
        bad = bad || mp_tagged(&tmp, 0xd3, 0, 8) ||
              tmp.len > sizeof h->bytes;
        if (!bad) {
            memcpy(h->bytes, tmp.buf, tmp.len);
            h->len = tmp.len;
        }
        free(tmp.buf);
        if (bad)
            return -1;
    }
    return 0;
}

/* Write the header fields every event carries: a copy of the tracker's
 * template for this kind, with time_ns filled in; seq is patched at
 * dispatch. */
static int write_header(struct evt_ev *b, uint32_t kind)
{
    struct evt_event *e = b->e;
    const struct evt__header *h = &b->t->headers[evt__kind_index(kind)];
    if (mp_raw(e, h->bytes, h->len))
        return -1;
    e->seq_off = h->seq_off;
    mp_put_be(e->buf + h->time_off, (uint64_t)e->time_ns, 8);
    b->stack[0].hdr_off = 0;
    b->stack[0].count = 4;
    b->stack[0].is_map = 1;
    return 0;
}

evt_ev *evt_begin(evt_tracker *t, enum evt_event_kind kind)
{
    if (!t || !evt__kind_valid(kind))
        return NULL;
    if (evt__forked(t))
        return &forked_builder;
    struct evt_ev *b = &tls_builder;
    if (b->in_use) {
        b = malloc(sizeof *b);
        if (!b)
            return NULL;
    }
    b->in_use = 1;
    b->t = t;
    b->depth = 0;
    b->top = &b->stack[0];
    b->seen = 0;
    b->last_field = 0;
    b->status = 0; /* msg is written with it */
    b->e = evt__event_get(t->pool);
    if (!b->e) {
        evt_cancel(b);
        return NULL;
    }
    b->e->kind = kind;
    b->e->time_ns = evt__now_ns();
    if (write_header(b, kind))
        oom(b);
    return b;
}

static void end_builder(struct evt_ev *b)
{
    b->in_use = 0;
    if (b != &tls_builder)
        free(b);
}

void evt_cancel(evt_ev *b)
{
    if (!b || b == &forked_builder)
        return;
    if (b->e)
        evt__event_release(b->e);
    b->e = NULL;
    end_builder(b);
}

static __attribute__((noinline, cold)) int reserved_key(struct evt_ev *b,
                                                       const char *key,
                                                       size_t klen)
{
    set_err(b, EVT_EINVAL, "%s event: field \"%.*s\" is reserved",
            evt__kind_name(b->e->kind), (int)klen, key);
    return -1;
}

/* Bookkeeping for one top-level key: required, reserved, step. */
static inline __attribute__((always_inline)) int
top_key(struct evt_ev *b, const char *key, size_t klen)
{
    uint32_t f = classify(key, klen);
    if (__builtin_expect(f == F_RESERVED, 0))
        return reserved_key(b, key, klen);
    b->seen |= f;
    b->last_field = f;
    return 0;
}

/* A map key by the general path: any length, UTF-8 checked, top-level
 * rules applied, then written. 0, or -1 after an error. */
static __attribute__((noinline, cold)) int
put_any_key(struct evt_ev *b, const char *key, size_t klen)
{
    if (!key) {
        set_err(b, EVT_EINVAL, "%s event: a value inside a map needs a key",
                evt__kind_name(b->e->kind));
        return -1;
    }
    size_t bad;
    if (!evt__utf8_valid(key, klen, &bad)) {
        set_err(b, EVT_EINVAL,
                "%s event: invalid UTF-8 in a field name at byte %zu",
                evt__kind_name(b->e->kind), bad);
        return -1;
    }
    if (b->depth == 0 && top_key(b, key, klen))
        return -1;
    if (mp_str(b->e, key, klen)) {
        oom(b);
        return -1;
    }
    return 0;
}

/* Make room for the key and for value_room bytes of value, then write the
 * key of the next value in the current container. Returns -1 when the
 * value must not be written. This runs for every value of every event:
 * one reserve for key and value, and a short ASCII key (most keys) is
 * copied and checked in one pass of word moves. */
#define KLEN_UNKNOWN SIZE_MAX /* put_key measures the key itself */

static inline __attribute__((always_inline)) int
put_key(struct evt_ev *b, const char *key, size_t klen, size_t value_room)
{
    if (__builtin_expect(b->status != 0, 0))
        return -1;
    struct level *lv = b->top;
    size_t n = !lv->is_map || !key ? 0
               : klen == KLEN_UNKNOWN ? strlen(key) : klen;
    struct evt_event *e = b->e;
    if (__builtin_expect(e->cap - e->len < value_room + n + 5, 0) &&
        evt__event_grow(e, value_room + n + 5)) {
        oom(b);
        return -1;
    }
    lv->count++;
    if (!lv->is_map)
        return 0;
    if (__builtin_expect(!key || n >= 32 || mp_fixstr_ascii(e, key, n), 0))
        return put_any_key(b, key, n);
    return b->depth == 0 ? top_key(b, key, n) : 0;
}

static void check(struct evt_ev *b, int rc)
{
    if (rc)
        oom(b);
}

/* A string value's errors, out of the hot path. */
static __attribute__((noinline, cold)) void bad_str(struct evt_ev *b,
                                                    const char *key,
                                                    const char *val,
                                                    size_t len)
{
    size_t bad = 0;
    if (len > 0xffffffffu)
        set_err(b, EVT_EINVAL, "%s event: field \"%s\": string over 4 GiB",
                evt__kind_name(b->e->kind), key ? key : "[]");
    else if (!evt__utf8_check(val, len, &bad))
        set_err(b, EVT_EINVAL,
                "%s event: field \"%s\": invalid UTF-8 at byte %zu",
                evt__kind_name(b->e->kind), key ? key : "[]", bad);
}

/* Append a string of len bytes (< 4 GiB), room for it reserved. Returns
 * 0, or -1 when it is not valid UTF-8 (nothing appended). */
static inline __attribute__((always_inline)) int
append_str(struct evt_event *e, const char *val, size_t len)
{
    if (len < 32 ? mp_fixstr_ascii(e, val, len) == 0
                 : mp_str_ascii(e, val, len) == 0)
        return 0;
    if (!evt__utf8_check(val, len, NULL))
        return -1;
    mp_str(e, val, len); /* cannot fail: room was reserved */
    return 0;
}

/* The value of evt_str/evt_strn. */
static inline __attribute__((always_inline)) void
put_str(struct evt_ev *b, const char *key, size_t klen, const char *val,
        size_t len)
{
    if (__builtin_expect(len > 0xffffffffu, 0)) {
        if (!b->status)
            bad_str(b, key, val, len);
        return;
    }
    if (put_key(b, key, klen, len + 5))
        return;
    if (!val)
        mp_nil(b->e); /* cannot fail: room was reserved */
    else if (append_str(b->e, val, len))
        bad_str(b, key, val, len);
}

void evt_strn(evt_ev *b, const char *key, const char *val, size_t len)
{
    if (b)
        put_str(b, key, KLEN_UNKNOWN, val, val ? len : 0);
}

void evt_str(evt_ev *b, const char *key, const char *val)
{
    if (b)
        put_str(b, key, KLEN_UNKNOWN, val, val ? strlen(val) : 0);
}

void evt_str_k(evt_ev *b, const char *key, size_t klen, const char *val,
               size_t vlen)
{
    if (b)
        put_str(b, key, klen, val, val ? vlen : 0);
}

/* Record the training step of the event; 0 or -1 after an error. */
static int take_step(struct evt_ev *b, int64_t val)
{
    if (val < 0 || b->e->has_step) {
        set_err(b, EVT_EINVAL, "%s event: field \"step\": %s",
                evt__kind_name(b->e->kind),
                val < 0 ? "expected a non-negative integer" : "given twice");
        return -1;
    }
    b->e->step = val;
    b->e->has_step = 1;
    return 0;
}

static inline __attribute__((always_inline)) void
put_int(evt_ev *b, const char *key, size_t klen, int64_t val)
{
    if (!b || put_key(b, key, klen, 9))
        return;
    if (b->depth == 0 && b->last_field == F_STEP && take_step(b, val))
        return;
    mp_int(b->e, val); /* cannot fail: room was reserved */
}

void evt_int(evt_ev *b, const char *key, int64_t val)
{
    put_int(b, key, KLEN_UNKNOWN, val);
}

void evt_int_k(evt_ev *b, const char *key, size_t klen, int64_t val)
{
    put_int(b, key, klen, val);
}

void evt_step(evt_ev *b, int64_t step)
{
    if (!b || b->status)
        return;
    if (b->depth != 0) {
        set_err(b, EVT_EINVAL, "%s event: evt_step inside a nested "
                "container", evt__kind_name(b->e->kind));
        return;
    }
    evt_int(b, "step", step);
}

/* Room was reserved by put_key for each value below: they cannot fail. */
void evt_double_k(evt_ev *b, const char *key, size_t klen, double val)
{
    if (b && !put_key(b, key, klen, 9))
        mp_double(b->e, val);
}

void evt_double(evt_ev *b, const char *key, double val)
{
    evt_double_k(b, key, KLEN_UNKNOWN, val);
}

void evt_bool_k(evt_ev *b, const char *key, size_t klen, int val)
{
    if (b && !put_key(b, key, klen, 1))
        mp_bool(b->e, val);
}

void evt_bool(evt_ev *b, const char *key, int val)
{
    evt_bool_k(b, key, KLEN_UNKNOWN, val);
}

void evt_null_k(evt_ev *b, const char *key, size_t klen)
{
    if (b && !put_key(b, key, klen, 1))
        mp_nil(b->e);
}

void evt_null(evt_ev *b, const char *key)
{
    evt_null_k(b, key, KLEN_UNKNOWN);
}

static void open_container(struct evt_ev *b, const char *key, size_t klen,
                           int is_map)
{
    if (!b || put_key(b, key, klen, 5))
        return;
    if (__builtin_expect(b->depth >= MAX_DEPTH, 0)) {
        set_err(b, EVT_EINVAL, "%s event: nesting deeper than %d",
                evt__kind_name(b->e->kind), MAX_DEPTH);
        return;
    }
    b->depth++;
    struct level *lv = ++b->top;
    lv->count = 0;
    lv->is_map = is_map;
    mp_container32(b->e, is_map, &lv->hdr_off); /* room was reserved */
}

static void close_container(struct evt_ev *b, int is_map)
{
    if (!b || b->status)
        return;
    if (__builtin_expect(b->depth == 0 || b->top->is_map != is_map, 0)) {
        set_err(b, EVT_EINVAL, "%s event: %s without a matching begin",
                evt__kind_name(b->e->kind),
                is_map ? "evt_map_end" : "evt_array_end");
        return;
    }
    b->depth--;
    struct level *lv = b->top--;
    mp_patch_count(b->e, lv->hdr_off, lv->count);
}

void evt_map_begin(evt_ev *b, const char *key)
{
    open_container(b, key, KLEN_UNKNOWN, 1);
}

void evt_map_begin_k(evt_ev *b, const char *key, size_t klen)
{
    open_container(b, key, klen, 1);
}

void evt_map_end(evt_ev *b) { close_container(b, 1); }

void evt_array_begin(evt_ev *b, const char *key)
{
    open_container(b, key, KLEN_UNKNOWN, 0);
}

void evt_array_begin_k(evt_ev *b, const char *key, size_t klen)
{
    open_container(b, key, klen, 0);
}

void evt_array_end(evt_ev *b) { close_container(b, 0); }

void evt_json(evt_ev *b, const char *key, const char *json)
{
    if (!b || put_key(b, key, KLEN_UNKNOWN, 0))
        return;
    char msg[200];
    int rc = evt__json_to_mp(b->e, json ? json : "", json ? strlen(json) : 0,
                             msg, sizeof msg);
    if (rc)
        set_err(b, rc, "%s event: field \"%s\": %s",
                evt__kind_name(b->e->kind), key ? key : "[]", msg);
}

void evt_msgpack(evt_ev *b, const char *key, const void *buf, size_t len)
{
    if (!b || put_key(b, key, KLEN_UNKNOWN, 0))
        return;
    size_t used = 0;
    char msg[160];
    if (!buf || evt__mp_check(buf, len, &used, msg, sizeof msg) ||
        used != len) {
        set_err(b, EVT_EINVAL, "%s event: field \"%s\": %s",
                evt__kind_name(b->e->kind), key ? key : "[]",
                buf && used != len && used ? "more than one msgpack object"
                    : buf ? msg : "no bytes given");
        return;
    }
    check(b, mp_raw(b->e, buf, len));
}

static int missing_required(struct evt_ev *b)
{
    uint32_t missing = required_fields(b->e->kind) & ~b->seen;
    for (unsigned i = 0; missing; i++)
        if (missing & (1u << i)) {
            set_err(b, EVT_EINVAL, "%s event: missing required field \"%s\"",
                    evt__kind_name(b->e->kind), field_names[i]);
            return 1;
        }
    return 0;
}

int evt_commit(evt_ev *b)
{
    if (!b)
        return EVT_EINVAL;
    if (b == &forked_builder)
        return EVT_ECLOSED;
    struct evt_tracker *t = b->t;
    if (!b->status && b->depth != 0)
        set_err(b, EVT_EINVAL, "%s event: %d container(s) left open",
                evt__kind_name(b->e->kind), b->depth);
    if (!b->status)
        missing_required(b);
    if (b->status) {
        int rc = b->status;
        evt__set_error(t, "%s", b->msg);
        evt_cancel(b);
        return rc;
    }
    struct evt_event *e = b->e;
    mp_patch_count(e, b->stack[0].hdr_off, b->stack[0].count);
    b->e = NULL;
    end_builder(b);
    return evt__dispatch(t, e);
}

/* ---- one-call helpers -------------------------------------------------------*/

struct members_ctx {
    struct evt_ev *b;
};

static int on_member(void *ctx, const char *key, size_t klen, size_t voff,
                     char *err, size_t errlen)
{
    struct evt_ev *b = ((struct members_ctx *)ctx)->b;
    if (top_key(b, key, klen))
        return evt__err(err, errlen, b->status, "%s", b->msg);
    if (klen == 4 && memcmp(key, "step", 4) == 0) {
        int64_t v;
        if (evt__mp_int(b->e->buf + voff, b->e->len - voff, &v))
            v = -1;
        if (take_step(b, v))
            return evt__err(err, errlen, b->status, "%s", b->msg);
    }
    return 0;
}

int evt_log_json(evt_tracker *t, enum evt_event_kind kind,
                 const char *json_object)
{
    struct evt_ev *b = evt_begin(t, kind);
    if (!b)
        return EVT_EINVAL;
    if (b->status || !json_object) {
        if (!json_object)
            set_err(b, EVT_EINVAL, "%s event: no JSON text given",
                    evt__kind_name(kind));
        return evt_commit(b);
    }
    struct members_ctx ctx = {b};
    uint32_t count = 0;
    char msg[200];
    int rc = evt__json_members_to_mp(b->e, json_object, strlen(json_object),
                                     on_member, &ctx, &count, msg,
                                     sizeof msg);
    if (rc)
        set_err(b, rc, "%s event: %s", evt__kind_name(kind), msg);
    b->stack[0].count += count;
    return evt_commit(b);
}

/* Copy the members of a msgpack map into the event, checking each once as
 * it goes and applying the top-level rules (required, reserved, step) to
 * each key. Offsets in messages count from the start of the map. */
static void copy_members(struct evt_ev *b, const unsigned char *p, size_t len)
{
    uint32_t count;
    size_t at;
    char msg[160];
    if (len == 0) {
        set_err(b, EVT_EINVAL, "sample event: msgpack at byte 0: truncated");
        return;
    }
    if (evt__mp_map_header(p, len, &count, &at)) {
        set_err(b, EVT_EINVAL, "sample event: not a msgpack map");
        return;
    }
    for (uint32_t i = 0; i < count && !b->status; i++) {
        const char *key;
        size_t klen, used, vlen;
        if (at < len && (p[at] & 0xe0) != 0xa0 && (p[at] < 0xd9 || p[at] > 0xdb)) {
            set_err(b, EVT_EINVAL, "sample event: a map key is not a string");
            return;
        }
        /* The key: a valid str is read in place; anything else goes
         * through the walker, which says what is wrong. */
        if (evt__mp_str(p + at, len - at, &key, &klen, &used) ||
            !evt__utf8_valid(key, klen, NULL)) {
            if (evt__mp_check_from(p, len, at, &used, msg, sizeof msg)) {
                set_err(b, EVT_EINVAL, "sample event: %s", msg);
                return;
            }
            evt__mp_str(p + at, len - at, &key, &klen, &used);
        }
        if (evt__mp_check_from(p, len, at + used, &vlen, msg, sizeof msg)) {
            set_err(b, EVT_EINVAL, "sample event: %s", msg);
            return;
        }
        if (top_key(b, key, klen))
            return;
        size_t voff = at + used;
        if (klen == 4 && memcmp(key, "step", 4) == 0) {
            int64_t v;
            if (evt__mp_int(p + voff, vlen, &v))
                v = -1;
            if (take_step(b, v))
                return;
        }
        check(b, mp_raw(b->e, p + at, used + vlen));
        b->stack[0].count++;
        at = voff + vlen;
    }
    if (!b->status && at != len)
        set_err(b, EVT_EINVAL, "sample event: bytes after the msgpack map");
}

int evt_log_sample_msgpack(evt_tracker *t, const void *map, size_t len)
{
    struct evt_ev *b = evt_begin(t, EVT_EV_SAMPLE);
    if (!b)
        return EVT_EINVAL;
    if (b->status)
        return evt_commit(b);
    if (!map)
        set_err(b, EVT_EINVAL, "sample event: no bytes given");
    else
        copy_members(b, map, len); /* checks each member as it copies */
    return evt_commit(b);
}

int evt_log_result(evt_tracker *t, const char *task, const char *metric,
                   const char *filter, double value, double stderr_value,
                   int64_t step)
{
    struct evt_ev *b = evt_begin(t, EVT_EV_RESULT);
    if (!b)
        return EVT_EINVAL;
    evt_str(b, "task", task);
    evt_str(b, "metric", metric);
    evt_str(b, "filter", filter ? filter : "none");
    evt_double(b, "value", value);
    if (!isnan(stderr_value))
        evt_double(b, "stderr", stderr_value);
    if (step >= 0)
        evt_step(b, step);
    return evt_commit(b);
}

int evt_log_scalar(evt_tracker *t, const char *tag, double value,
                   int64_t step)
{
    struct evt_ev *b = evt_begin(t, EVT_EV_SCALAR);
    if (!b)
        return EVT_EINVAL;
    evt_str(b, "tag", tag);
    evt_double(b, "value", value);
    if (step >= 0)
        evt_step(b, step);
    return evt_commit(b);
}

int evt_log_run_end(evt_tracker *t)
{
    struct evt_ev *b = evt_begin(t, EVT_EV_RUN_END);
    if (!b)
        return EVT_EINVAL;
    if (b->status)
        return evt_commit(b);
    int64_t now = b->e->time_ns;
    evt_int(b, "end_time_ns", now);
    evt_double(b, "total_seconds", (double)(now - t->open_time_ns) / 1e9);
    return evt_commit(b);
}
