/* builder.c -- the event builder behind evt_begin()/evt_commit().
 *
 * Fields are encoded straight into a pooled event buffer, so a steady
 * stream of events allocates nothing. Containers get map32/array32
 * headers whose counts are patched when they close. Errors are sticky:
 * the first one is kept and reported by evt_commit(). */
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
    uint32_t seen; /* required top-level fields present, one bit each */
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

struct name {
    const char *s;
    size_t len;
};
#define NAME(lit) {lit, sizeof lit - 1}

/* Required top-level fields per kind (docs/EVENTS.md). */
static const struct name *required_fields(uint32_t kind)
{
    static const struct name none[] = {{NULL, 0}};
    static const struct name task[] = {NAME("task"), {NULL, 0}};
    static const struct name sample[] = {NAME("task"), NAME("doc_id"),
                                         {NULL, 0}};
    static const struct name result[] = {NAME("task"), NAME("metric"),
                                         NAME("value"), {NULL, 0}};
    static const struct name scalar[] = {NAME("tag"), NAME("value"),
                                         {NULL, 0}};
    switch (kind) {
    case EVT_EV_TASK_CONFIG: return task;
    case EVT_EV_SAMPLE: return sample;
    case EVT_EV_RESULT: return result;
    case EVT_EV_SCALAR: return scalar;
    default: return none;
    }
}

static const struct name reserved[] = {NAME("kind"), NAME("run_id"),
                                       NAME("seq"), NAME("time_ns"),
                                       {NULL, 0}};

static void set_err(struct evt_ev *b, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

static void oom(struct evt_ev *b)
{
    set_err(b, EVT_ENOMEM, "out of memory while encoding the event");
}

/* Write the header fields every event carries; seq is patched later. */
static int write_header(struct evt_ev *b, uint32_t kind)
{
    struct evt_event *e = b->e;
    size_t off;
    if (mp_container32(e, 1, &off) || mp_cstr(e, "kind") ||
        mp_cstr(e, evt__kind_name(kind)) || mp_cstr(e, "run_id") ||
        mp_cstr(e, e->run_id) || mp_cstr(e, "seq"))
        return -1;
    e->seq_off = e->len + 1;
    if (mp_tagged(e, 0xcf, 0, 8) || mp_cstr(e, "time_ns") ||
        mp_tagged(e, 0xd3, (uint64_t)e->time_ns, 8))
        return -1;
    b->stack[0].hdr_off = off;
    b->stack[0].count = 4;
    b->stack[0].is_map = 1;
    return 0;
}

evt_ev *evt_begin(evt_tracker *t, enum evt_event_kind kind)
{
    if (!t || !evt__kind_name(kind))
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
    b->seen = 0;
    b->status = 0;
    b->msg[0] = '\0';
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

/* Bookkeeping for one top-level key: required, reserved, step. */
static int top_key(struct evt_ev *b, const char *key, size_t klen)
{
    if (klen < 3 || klen > 7) /* no reserved or required name is */
        return 0;
    for (const struct name *r = reserved; r->s; r++)
        if (r->len == klen && r->s[0] == key[0] &&
            memcmp(r->s, key, klen) == 0) {
            set_err(b, EVT_EINVAL, "%s event: field \"%s\" is reserved",
                    evt__kind_name(b->e->kind), r->s);
            return -1;
        }
    const struct name *req = required_fields(b->e->kind);
    for (unsigned i = 0; req[i].s; i++)
        if (req[i].len == klen && req[i].s[0] == key[0] &&
            memcmp(req[i].s, key, klen) == 0)
            b->seen |= 1u << i;
    return 0;
}

/* Write the key for the next value in the current container. Returns -1
 * when the value must not be written. */
static int put_key(struct evt_ev *b, const char *key)
{
    if (b->status)
        return -1;
    struct level *lv = &b->stack[b->depth];
    if (!lv->is_map) {
        lv->count++;
        return 0;
    }
    if (!key) {
        set_err(b, EVT_EINVAL, "%s event: a value inside a map needs a key",
                evt__kind_name(b->e->kind));
        return -1;
    }
    size_t klen = strlen(key), bad;
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
    lv->count++;
    return 0;
}

static void check(struct evt_ev *b, int rc)
{
    if (rc)
        oom(b);
}

void evt_strn(evt_ev *b, const char *key, const char *val, size_t len)
{
    if (!b || put_key(b, key))
        return;
    if (!val) {
        check(b, mp_nil(b->e));
        return;
    }
    size_t bad;
    if (len > 0xffffffffu) {
        set_err(b, EVT_EINVAL, "%s event: field \"%s\": string over 4 GiB",
                evt__kind_name(b->e->kind), key ? key : "[]");
        return;
    }
    if (!evt__utf8_valid(val, len, &bad)) {
        set_err(b, EVT_EINVAL,
                "%s event: field \"%s\": invalid UTF-8 at byte %zu",
                evt__kind_name(b->e->kind), key ? key : "[]", bad);
        return;
    }
    check(b, mp_str(b->e, val, len));
}

void evt_str(evt_ev *b, const char *key, const char *val)
{
    evt_strn(b, key, val, val ? strlen(val) : 0);
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

void evt_int(evt_ev *b, const char *key, int64_t val)
{
    if (!b || b->status)
        return;
    if (b->depth == 0 && key && strcmp(key, "step") == 0 &&
        take_step(b, val))
        return;
    if (put_key(b, key))
        return;
    check(b, mp_int(b->e, val));
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

void evt_double(evt_ev *b, const char *key, double val)
{
    if (!b || put_key(b, key))
        return;
    check(b, mp_double(b->e, val));
}

void evt_bool(evt_ev *b, const char *key, int val)
{
    if (!b || put_key(b, key))
        return;
    check(b, mp_bool(b->e, val));
}

void evt_null(evt_ev *b, const char *key)
{
    if (!b || put_key(b, key))
        return;
    check(b, mp_nil(b->e));
}

static void open_container(struct evt_ev *b, const char *key, int is_map)
{
    if (!b || put_key(b, key))
        return;
    if (b->depth >= MAX_DEPTH) {
        set_err(b, EVT_EINVAL, "%s event: nesting deeper than %d",
                evt__kind_name(b->e->kind), MAX_DEPTH);
        return;
    }
    struct level *lv = &b->stack[++b->depth];
    lv->count = 0;
    lv->is_map = is_map;
    check(b, mp_container32(b->e, is_map, &lv->hdr_off));
}

static void close_container(struct evt_ev *b, int is_map)
{
    if (!b || b->status)
        return;
    if (b->depth == 0 || b->stack[b->depth].is_map != is_map) {
        set_err(b, EVT_EINVAL, "%s event: %s without a matching begin",
                evt__kind_name(b->e->kind),
                is_map ? "evt_map_end" : "evt_array_end");
        return;
    }
    struct level *lv = &b->stack[b->depth--];
    mp_patch_count(b->e, lv->hdr_off, lv->count);
}

void evt_map_begin(evt_ev *b, const char *key) { open_container(b, key, 1); }
void evt_map_end(evt_ev *b) { close_container(b, 1); }
void evt_array_begin(evt_ev *b, const char *key) { open_container(b, key, 0); }
void evt_array_end(evt_ev *b) { close_container(b, 0); }

void evt_json(evt_ev *b, const char *key, const char *json)
{
    if (!b || put_key(b, key))
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
    if (!b || put_key(b, key))
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
    const struct name *req = required_fields(b->e->kind);
    for (unsigned i = 0; req[i].s; i++)
        if (!(b->seen & (1u << i))) {
            set_err(b, EVT_EINVAL, "%s event: missing required field \"%s\"",
                    evt__kind_name(b->e->kind), req[i].s);
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

/* Copy the members of a checked msgpack map into the event, applying the
 * top-level rules (required, reserved, step) to each key. */
static void copy_members(struct evt_ev *b, const unsigned char *p, size_t len)
{
    uint32_t count;
    size_t at;
    if (evt__mp_map_header(p, len, &count, &at)) {
        set_err(b, EVT_EINVAL, "sample event: not a msgpack map");
        return;
    }
    for (uint32_t i = 0; i < count && !b->status; i++) {
        const char *key;
        size_t klen, used;
        if (evt__mp_str(p + at, len - at, &key, &klen, &used)) {
            set_err(b, EVT_EINVAL, "sample event: a map key is not a string");
            return;
        }
        if (top_key(b, key, klen))
            return;
        size_t voff = at + used, vlen;
        evt__mp_check(p + voff, len - voff, &vlen, NULL, 0); /* checked */
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
}

int evt_log_sample_msgpack(evt_tracker *t, const void *map, size_t len)
{
    struct evt_ev *b = evt_begin(t, EVT_EV_SAMPLE);
    if (!b)
        return EVT_EINVAL;
    size_t used = 0;
    char msg[160];
    if (b->status)
        return evt_commit(b);
    if (!map || evt__mp_check(map, len, &used, msg, sizeof msg))
        set_err(b, EVT_EINVAL, "sample event: %s",
                map ? msg : "no bytes given");
    else if (used != len)
        set_err(b, EVT_EINVAL, "sample event: bytes after the msgpack map");
    else
        copy_members(b, map, len);
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
