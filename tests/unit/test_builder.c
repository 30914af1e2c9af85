/* test_builder.c -- the event builder and the one-call helpers, seen
 * through a real tracker with one test sink.
 *
 * The test sink records "<seq> <kind> <step|-> <hex msgpack>" per event;
 * each recorded event is decoded with msgpack-c and checked field by
 * field: the header (kind, run_id, seq, time_ns), then the caller's fields
 * in call order with their exact msgpack types. Every error must return
 * its status, leave an exact message in evt_last_error, deliver nothing
 * and leave the next event unaffected. */
#include "test_util.h"

#include <math.h>
#include <msgpack.h>
#include <time.h>

#include "event.h"
#include "evtrack/evtrack.h"
#include "json_msgpack.h" /* EVT_JSON_MAX_DEPTH */
#include "mpcheck.h"      /* EVT_MP_MAX_DEPTH */

#define RUN_ID "run-xyz"

/* MAX_DEPTH in core/builder.c: builder containers below the top-level map
 * (not exported; the error text below pins it). */
#define BUILDER_MAX_DEPTH 15
#define STR_(x) #x
#define STR(x) STR_(x)
#define TOO_DEEP "scalar event: nesting deeper than " STR(BUILDER_MAX_DEPTH)

/* msgpack-c's unpacker holds at most MSGPACK_EMBED_STACK_SIZE (32) open
 * containers; test_msgpack_c_depth_limit checks that number. The top-level
 * map, the builder levels and an embedded value must fit in it. */
#define MSGPACK_C_MAX_LEVELS 32
_Static_assert(1 + BUILDER_MAX_DEPTH + EVT_JSON_MAX_DEPTH <=
                   MSGPACK_C_MAX_LEVELS,
               "deepest JSON in an event must stay decodable by msgpack-c");
_Static_assert(1 + BUILDER_MAX_DEPTH + EVT_MP_MAX_DEPTH <=
                   MSGPACK_C_MAX_LEVELS,
               "deepest msgpack in an event must stay decodable by msgpack-c");

struct fx {
    char *dir;
    evt_tracker *t;
    int64_t open0, open1; /* wall clock around evt_open_json */
    size_t expected;      /* records the sink should hold */
};

struct rec {
    unsigned long long seq;
    unsigned kind;
    int has_step;
    long long step;
    unsigned char *mp;
    size_t len;
};

/* The clock events take their time_ns from (docs/EVENTS.md). */
static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tmpdir();
    char *json = tu_fmt(
        "{\"output_dir\": \"%s\", \"run_id\": \"" RUN_ID "\", \"sinks\": "
        "[{\"path\": \"%s/test_sink.so\", \"name\": \"s\", \"config\": "
        "{\"record\": \"%s/s.rec\"}}]}",
        f->dir, tu_fixture_dir(), f->dir);
    char err[EVT_ERRMSG_SIZE] = "";
    f->open0 = wall_ns();
    int rc = evt_open_json(json, f->dir, &f->t, err, sizeof err);
    f->open1 = wall_ns();
    free(json);
    if (rc != EVT_OK)
        fail_msg("open failed: %s", err);
    assert_string_equal(evt_run_id(f->t), RUN_ID);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->t)
        assert_int_equal(evt_close(f->t, 10000), EVT_OK);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    fail_msg("bad hex digit %d in the record file", c);
    return 0;
}

static void free_recs(struct rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].mp);
    free(r);
}

/* Flush, then parse every record the sink wrote so far. */
static size_t read_recs(struct fx *f, struct rec **out)
{
    assert_int_equal(evt_flush(f->t, 20000), EVT_OK);
    char *path = tu_fmt("%s/s.rec", f->dir);
    char *text = tu_read_file(path, NULL);
    free(path);
    size_t n = tu_count_lines(text), i = 0;
    struct rec *r = calloc(n + 1, sizeof *r);
    assert_non_null(r);
    for (char *line = text; line && *line && i < n; i++) {
        char *p;
        while (*line == '#') /* the sink's "# stamp" line */
            line = strchr(line, '\n') + 1;
        r[i].seq = strtoull(line, &p, 10);
        r[i].kind = (unsigned)strtoul(p, &p, 10);
        while (*p == ' ')
            p++;
        if (p[0] == '-' && p[1] == ' ') {
            r[i].has_step = 0;
            r[i].step = -1;
            p++;
        } else {
            r[i].has_step = 1;
            r[i].step = strtoll(p, &p, 10);
        }
        assert_int_equal(*p, ' ');
        p++;
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t hl = (size_t)(nl - p);
        assert_int_equal(hl % 2, 0);
        r[i].len = hl / 2;
        r[i].mp = malloc(r[i].len + 1);
        assert_non_null(r[i].mp);
        for (size_t k = 0; k < r[i].len; k++)
            r[i].mp[k] = (unsigned char)(hexval(p[2 * k]) << 4 |
                                         hexval(p[2 * k + 1]));
        line = nl + 1;
    }
    free(text);
    *out = r;
    return n;
}

/* ---- decoding helpers --------------------------------------------------------*/

struct dec {
    msgpack_zone zone;
    msgpack_object o;
};

static const msgpack_object *decode(struct dec *d, const struct rec *r)
{
    msgpack_zone_init(&d->zone, 4096);
    size_t off = 0;
    assert_int_equal(msgpack_unpack((const char *)r->mp, r->len, &off,
                                    &d->zone, &d->o),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, r->len);
    assert_int_equal(d->o.type, MSGPACK_OBJECT_MAP);
    return &d->o;
}

static void undecode(struct dec *d) { msgpack_zone_destroy(&d->zone); }

static void is_str(const msgpack_object *o, const char *s, size_t n)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_STR);
    assert_int_equal(o->via.str.size, n);
    assert_memory_equal(o->via.str.ptr, s, n);
}

#define IS_STR(o, lit) is_str(o, lit, sizeof(lit) - 1)

/* The value of member i of map m, whose key must be key[0..klen). */
static const msgpack_object *member_n(const msgpack_object *m, uint32_t i,
                                      const char *key, size_t klen)
{
    assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
    assert_true(i < m->via.map.size);
    is_str(&m->via.map.ptr[i].key, key, klen);
    return &m->via.map.ptr[i].val;
}

static const msgpack_object *member(const msgpack_object *m, uint32_t i,
                                    const char *key)
{
    return member_n(m, i, key, strlen(key));
}

static void is_uint(const msgpack_object *o, uint64_t v)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_true(o->via.u64 == v);
}

static void is_neg(const msgpack_object *o, int64_t v)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true(o->via.i64 == v);
}

static void is_f64(const msgpack_object *o, double v)
{
    assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
    assert_memory_equal(&o->via.f64, &v, sizeof v); /* bit for bit */
}

/* The four header members; the map must hold 4 + nfields members.
 * Returns time_ns. */
static int64_t check_header(const msgpack_object *m, const char *kind,
                            unsigned long long seq, int64_t t0, int64_t t1,
                            uint32_t nfields)
{
    assert_int_equal(m->via.map.size, 4 + nfields);
    is_str(member(m, 0, "kind"), kind, strlen(kind));
    IS_STR(member(m, 1, "run_id"), RUN_ID);
    is_uint(member(m, 2, "seq"), seq);
    const msgpack_object *tn = member(m, 3, "time_ns");
    assert_int_equal(tn->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    int64_t ns = (int64_t)tn->via.u64;
    if (ns < t0 || ns > t1)
        fail_msg("time_ns %lld outside [%lld, %lld]", (long long)ns,
                 (long long)t0, (long long)t1);
    return ns;
}

/* Every error path: status, exact message, nothing delivered, and a good
 * event right after goes through with the next seq. */
static void expect_error(struct fx *f, int rc, int status, const char *msg)
{
    if (rc != status)
        fail_msg("rc %d (%s), want %d (%s)", rc, evt_status_name(rc), status,
                 evt_status_name(status));
    char buf[EVT_ERRMSG_SIZE] = "";
    evt_last_error(f->t, buf, sizeof buf);
    if (strcmp(buf, msg) != 0)
        fail_msg("last error \"%s\"\n   want \"%s\"", buf, msg);
    evt_ev *e = evt_begin(f->t, EVT_EV_SCALAR);
    assert_non_null(e);
    evt_str(e, "tag", "after");
    evt_double(e, "value", 1.0);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    struct rec *r;
    size_t n = read_recs(f, &r);
    assert_int_equal(n, f->expected);
    /* a refused event takes no seq */
    assert_int_equal(r[n - 1].seq, n);
    assert_int_equal(r[n - 1].kind, EVT_EV_SCALAR);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[n - 1]);
    assert_int_equal(m->via.map.size, 6);
    IS_STR(member(m, 4, "tag"), "after");
    undecode(&d);
    free_recs(r, n);
}

/* A scalar builder with its required fields already given. */
static evt_ev *scalar(struct fx *f)
{
    evt_ev *e = evt_begin(f->t, EVT_EV_SCALAR);
    assert_non_null(e);
    evt_str(e, "tag", "loss");
    evt_double(e, "value", 0.25);
    return e;
}

/* ---- every field type, in call order ------------------------------------------*/

static void test_header_and_field_types(void **state)
{
    struct fx *f = *state;
    static const unsigned char raw[] = {0x92, 0x01, 0xd9, 0x01, 'q'};
    int64_t t0 = wall_ns();
    evt_ev *e = evt_begin(f->t, EVT_EV_SAMPLE);
    assert_non_null(e);
    evt_str(e, "task", "mme");
    evt_int(e, "doc_id", 7);
    evt_int(e, "neg", -5);
    evt_int(e, "min", INT64_MIN);
    evt_int(e, "max", INT64_MAX);
    evt_double(e, "d", 0.5);
    evt_double(e, "two", 2.0);
    evt_double(e, "negzero", -0.0);
    evt_bool(e, "yes", 1);
    evt_bool(e, "no", 0);
    evt_bool(e, "seven", 7);
    evt_null(e, "nothing");
    evt_str(e, "snull", NULL);
    evt_strn(e, "bytes", "a\0b", 3);
    evt_strn(e, "prefix", "abcdef", 2);
    evt_str(e, "utf", "h\xc3\xa9llo \xf0\x9f\x98\x80");
    evt_map_begin(e, "m");
    evt_int(e, "x", 1);
    evt_int(e, "seq", 9); /* reserved only at the top level */
    evt_array_begin(e, "arr");
    evt_str(e, NULL, "a");
    evt_int(e, "ignored", -1); /* keys are ignored in arrays */
    evt_double(e, NULL, 1.5);
    evt_map_begin(e, NULL);
    evt_map_end(e);
    evt_array_begin(e, NULL);
    evt_null(e, NULL);
    evt_array_end(e);
    evt_array_end(e);
    evt_map_end(e);
    evt_json(e, "j", "{\"z\":1,\"y\":2.0,\"x\":[true,null,\"s\"]}");
    evt_json(e, "jnum", " -3 ");
    evt_msgpack(e, "mp", raw, sizeof raw);
    evt_step(e, 42);
    assert_int_equal(evt_commit(e), EVT_OK);
    int64_t t1 = wall_ns();

    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    assert_int_equal(r[0].seq, 1);
    assert_int_equal(r[0].kind, EVT_EV_SAMPLE);
    assert_int_equal(r[0].has_step, 1);
    assert_int_equal(r[0].step, 42);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    int64_t ns = check_header(m, "sample", 1, t0, t1, 21);
    uint32_t i = 4;
    IS_STR(member(m, i++, "task"), "mme");
    is_uint(member(m, i++, "doc_id"), 7);
    is_neg(member(m, i++, "neg"), -5);
    is_neg(member(m, i++, "min"), INT64_MIN);
    is_uint(member(m, i++, "max"), INT64_MAX);
    is_f64(member(m, i++, "d"), 0.5);
    is_f64(member(m, i++, "two"), 2.0); /* a double stays a double */
    is_f64(member(m, i++, "negzero"), -0.0);
    const msgpack_object *o = member(m, i++, "yes");
    assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(o->via.boolean);
    o = member(m, i++, "no");
    assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
    assert_false(o->via.boolean);
    o = member(m, i++, "seven");
    assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(o->via.boolean);
    assert_int_equal(member(m, i++, "nothing")->type, MSGPACK_OBJECT_NIL);
    assert_int_equal(member(m, i++, "snull")->type, MSGPACK_OBJECT_NIL);
    is_str(member(m, i++, "bytes"), "a\0b", 3);
    IS_STR(member(m, i++, "prefix"), "ab");
    IS_STR(member(m, i++, "utf"), "h\xc3\xa9llo \xf0\x9f\x98\x80");

    const msgpack_object *mm = member(m, i++, "m");
    assert_int_equal(mm->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(mm->via.map.size, 3);
    is_uint(member(mm, 0, "x"), 1);
    is_uint(member(mm, 1, "seq"), 9);
    const msgpack_object *arr = member(mm, 2, "arr");
    assert_int_equal(arr->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(arr->via.array.size, 5);
    IS_STR(&arr->via.array.ptr[0], "a");
    is_neg(&arr->via.array.ptr[1], -1);
    is_f64(&arr->via.array.ptr[2], 1.5);
    assert_int_equal(arr->via.array.ptr[3].type, MSGPACK_OBJECT_MAP);
    assert_int_equal(arr->via.array.ptr[3].via.map.size, 0);
    const msgpack_object *inner = &arr->via.array.ptr[4];
    assert_int_equal(inner->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(inner->via.array.size, 1);
    assert_int_equal(inner->via.array.ptr[0].type, MSGPACK_OBJECT_NIL);

    const msgpack_object *j = member(m, i++, "j");
    assert_int_equal(j->via.map.size, 3);
    is_uint(member(j, 0, "z"), 1);
    is_f64(member(j, 1, "y"), 2.0);
    const msgpack_object *jx = member(j, 2, "x");
    assert_int_equal(jx->via.array.size, 3);
    assert_int_equal(jx->via.array.ptr[0].type, MSGPACK_OBJECT_BOOLEAN);
    assert_int_equal(jx->via.array.ptr[1].type, MSGPACK_OBJECT_NIL);
    IS_STR(&jx->via.array.ptr[2], "s");
    is_neg(member(m, i++, "jnum"), -3);

    const msgpack_object *mp = member(m, i++, "mp");
    assert_int_equal(mp->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(mp->via.array.size, 2);
    is_uint(&mp->via.array.ptr[0], 1);
    IS_STR(&mp->via.array.ptr[1], "q");
    is_uint(member(m, i++, "step"), 42);
    assert_int_equal(i, 4 + 21);
    undecode(&d);

    /* The exact header bytes: map32, the four members with seq as uint64
     * and time_ns as int64, and the raw msgpack embedded verbatim (its
     * non-canonical str8 is kept). */
    unsigned char hdr[64];
    size_t h = 0;
    static const unsigned char start[] = {
        0xdf, 0, 0, 0, 25, 0xa4, 'k', 'i', 'n', 'd', 0xa6, 's', 'a', 'm',
        'p', 'l', 'e', 0xa6, 'r', 'u', 'n', '_', 'i', 'd', 0xa7, 'r', 'u',
        'n', '-', 'x', 'y', 'z', 0xa3, 's', 'e', 'q', 0xcf, 0, 0, 0, 0, 0,
        0, 0, 1, 0xa7, 't', 'i', 'm', 'e', '_', 'n', 's', 0xd3};
    memcpy(hdr, start, sizeof start);
    h = sizeof start;
    for (int k = 7; k >= 0; k--)
        hdr[h++] = (unsigned char)((uint64_t)ns >> (8 * k));
    assert_true(r[0].len > h);
    assert_memory_equal(r[0].mp, hdr, h);
    static const unsigned char mp_member[] = {0xa2, 'm', 'p', 0x92, 0x01,
                                              0xd9, 0x01, 'q'};
    int found = 0;
    for (size_t k = 0; k + sizeof mp_member <= r[0].len; k++)
        found |= memcmp(r[0].mp + k, mp_member, sizeof mp_member) == 0;
    assert_true(found);
    free_recs(r, 1);
}

/* run_start and run_end need nothing; time_ns is the begin time. */
static void test_kinds_and_no_step(void **state)
{
    struct fx *f = *state;
    static const enum evt_event_kind kinds[] = {
        EVT_EV_RUN_START, EVT_EV_TASK_CONFIG, EVT_EV_SAMPLE,
        EVT_EV_RESULT,    EVT_EV_SCALAR,      EVT_EV_RUN_END};
    static const char *const names[] = {"run_start", "task_config", "sample",
                                        "result",    "scalar",      "run_end"};
    int64_t t0 = wall_ns();
    for (int k = 0; k < 6; k++) {
        evt_ev *e = evt_begin(f->t, kinds[k]);
        assert_non_null(e);
        evt_str(e, "task", "t");
        evt_int(e, "doc_id", 0);
        evt_str(e, "metric", "m");
        evt_str(e, "tag", "g");
        evt_double(e, "value", 1);
        assert_int_equal(evt_commit(e), EVT_OK);
    }
    for (int k = 0; k < 6; k += 5) { /* no field at all */
        evt_ev *e = evt_begin(f->t, kinds[k]);
        assert_int_equal(evt_commit(e), EVT_OK);
    }
    int64_t t1 = wall_ns();
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 8);
    int64_t prev = 0;
    for (int k = 0; k < 8; k++) {
        int kk = k < 6 ? k : (k - 6) * 5;
        assert_int_equal(r[k].seq, (unsigned long long)k + 1);
        assert_int_equal(r[k].kind, kinds[kk]);
        assert_int_equal(r[k].has_step, 0);
        struct dec d;
        const msgpack_object *m = decode(&d, &r[k]);
        int64_t ns = check_header(m, names[kk], (unsigned long long)k + 1, t0,
                                  t1, k < 6 ? 5 : 0);
        assert_true(ns >= prev);
        prev = ns;
        for (uint32_t i = 0; i < m->via.map.size; i++)
            assert_false(m->via.map.ptr[i].key.via.str.size == 4 &&
                         memcmp(m->via.map.ptr[i].key.via.str.ptr, "step",
                                4) == 0);
        undecode(&d);
    }
    free_recs(r, 8);
    /* invalid kinds and NULL builders */
    assert_null(evt_begin(f->t, 0));
    assert_null(evt_begin(f->t, EVT_EV_SAMPLE | EVT_EV_RESULT));
    assert_null(evt_begin(f->t, (enum evt_event_kind)(1u << 6)));
    assert_null(evt_begin(NULL, EVT_EV_SCALAR));
    evt_str(NULL, "a", "b");
    evt_int(NULL, "a", 1);
    evt_step(NULL, 1);
    evt_map_begin(NULL, "m");
    evt_map_end(NULL);
    evt_cancel(NULL);
    assert_int_equal(evt_commit(NULL), EVT_EINVAL);
}

/* evt_step and a top-level evt_int "step" set the record's step column. */
static void test_step(void **state)
{
    struct fx *f = *state;
    evt_ev *e = scalar(f);
    evt_step(e, 0);
    assert_int_equal(evt_commit(e), EVT_OK);
    e = scalar(f);
    evt_int(e, "step", 123456789012LL);
    assert_int_equal(evt_commit(e), EVT_OK);
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_int(e, "step", -5); /* nested: only a field */
    evt_map_end(e);
    evt_double(e, "step", 2.0); /* a double "step" is only a field too */
    assert_int_equal(evt_commit(e), EVT_OK);
    e = scalar(f);
    evt_step(e, INT64_MAX);
    assert_int_equal(evt_commit(e), EVT_OK);
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 4);
    assert_int_equal(r[0].has_step, 1);
    assert_int_equal(r[0].step, 0);
    assert_int_equal(r[1].has_step, 1);
    assert_int_equal(r[1].step, 123456789012LL);
    assert_int_equal(r[2].has_step, 0);
    assert_int_equal(r[3].has_step, 1);
    assert_int_equal(r[3].step, INT64_MAX);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    assert_int_equal(m->via.map.size, 7);
    is_uint(member(m, 6, "step"), 0);
    undecode(&d);
    m = decode(&d, &r[1]);
    is_uint(member(m, 6, "step"), 123456789012ULL);
    undecode(&d);
    m = decode(&d, &r[2]);
    assert_int_equal(m->via.map.size, 8);
    is_neg(member(member(m, 6, "m"), 0, "step"), -5);
    is_f64(member(m, 7, "step"), 2.0);
    undecode(&d);
    m = decode(&d, &r[3]);
    is_uint(member(m, 6, "step"), INT64_MAX);
    undecode(&d);
    free_recs(r, 4);
    f->expected = 4;

    /* a step is a non-negative int64, given once, at the top level */
    e = scalar(f);
    evt_step(e, -7);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"step\": expected a non-negative "
                 "integer");
    e = scalar(f);
    evt_int(e, "step", -1);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"step\": expected a non-negative "
                 "integer");
    e = scalar(f);
    evt_step(e, 1);
    evt_step(e, 2);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"step\": given twice");
    e = scalar(f);
    evt_int(e, "step", 1);
    evt_step(e, 2);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"step\": given twice");
    e = scalar(f);
    evt_step(e, 1);
    evt_int(e, "step", 2);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"step\": given twice");
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SCALAR,
                              "{\"tag\":\"a\",\"step\":1,\"value\":1,"
                              "\"step\":2}"),
                 EVT_EINVAL, "scalar event: field \"step\": given twice");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_step(e, 2);
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_step inside a nested container");
    e = scalar(f);
    evt_array_begin(e, "a");
    evt_step(e, 2);
    evt_array_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_step inside a nested container");
}

/* ---- one-call helpers ----------------------------------------------------------*/

static void test_log_result(void **state)
{
    struct fx *f = *state;
    int64_t t0 = wall_ns();
    assert_int_equal(evt_log_result(f->t, "mme", "acc", NULL, 0.75, NAN, -1),
                     EVT_OK);
    assert_int_equal(evt_log_result(f->t, "gsm8k", "exact_match",
                                    "strict-match", 1.0, 0.0125, 3),
                     EVT_OK);
    assert_int_equal(evt_log_result(f->t, "t", "m", "f", -2.5, 0.0, 0),
                     EVT_OK);
    int64_t t1 = wall_ns();
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 3);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    check_header(m, "result", 1, t0, t1, 4);
    IS_STR(member(m, 4, "task"), "mme");
    IS_STR(member(m, 5, "metric"), "acc");
    IS_STR(member(m, 6, "filter"), "none");
    is_f64(member(m, 7, "value"), 0.75);
    assert_int_equal(r[0].kind, EVT_EV_RESULT);
    assert_int_equal(r[0].has_step, 0);
    undecode(&d);

    m = decode(&d, &r[1]);
    check_header(m, "result", 2, t0, t1, 6);
    IS_STR(member(m, 4, "task"), "gsm8k");
    IS_STR(member(m, 5, "metric"), "exact_match");
    IS_STR(member(m, 6, "filter"), "strict-match");
    is_f64(member(m, 7, "value"), 1.0);
    is_f64(member(m, 8, "stderr"), 0.0125);
    is_uint(member(m, 9, "step"), 3);
    assert_int_equal(r[1].step, 3);
    undecode(&d);

    m = decode(&d, &r[2]); /* stderr 0 is a value; step 0 is a step */
    check_header(m, "result", 3, t0, t1, 6);
    is_f64(member(m, 7, "value"), -2.5);
    is_f64(member(m, 8, "stderr"), 0.0);
    is_uint(member(m, 9, "step"), 0);
    assert_int_equal(r[2].has_step, 1);
    assert_int_equal(r[2].step, 0);
    undecode(&d);
    free_recs(r, 3);
    f->expected = 3;

    expect_error(f, evt_log_result(f->t, "t\xff", "m", NULL, 1, NAN, -1),
                 EVT_EINVAL,
                 "result event: field \"task\": invalid UTF-8 at byte 1");
    expect_error(f, evt_log_result(f->t, "t", "m", "\xc0\xaf", 1, NAN, -1),
                 EVT_EINVAL,
                 "result event: field \"filter\": invalid UTF-8 at byte 0");
}

static void test_log_scalar(void **state)
{
    struct fx *f = *state;
    int64_t t0 = wall_ns();
    assert_int_equal(evt_log_scalar(f->t, "train/loss", 0.125, 100), EVT_OK);
    assert_int_equal(evt_log_scalar(f->t, "lr", 3.0, -1), EVT_OK);
    int64_t t1 = wall_ns();
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 2);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    check_header(m, "scalar", 1, t0, t1, 3);
    IS_STR(member(m, 4, "tag"), "train/loss");
    is_f64(member(m, 5, "value"), 0.125);
    is_uint(member(m, 6, "step"), 100);
    assert_int_equal(r[0].kind, EVT_EV_SCALAR);
    assert_int_equal(r[0].step, 100);
    undecode(&d);
    m = decode(&d, &r[1]);
    check_header(m, "scalar", 2, t0, t1, 2);
    IS_STR(member(m, 4, "tag"), "lr");
    is_f64(member(m, 5, "value"), 3.0);
    assert_int_equal(r[1].has_step, 0);
    undecode(&d);
    free_recs(r, 2);
    f->expected = 2;
    expect_error(f, evt_log_scalar(f->t, "a\xed\xa0\x80", 1, 1), EVT_EINVAL,
                 "scalar event: field \"tag\": invalid UTF-8 at byte 1");
}

static void test_log_run_end(void **state)
{
    struct fx *f = *state;
    int64_t t0 = wall_ns();
    assert_int_equal(evt_log_run_end(f->t), EVT_OK);
    int64_t t1 = wall_ns();
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    assert_int_equal(r[0].kind, EVT_EV_RUN_END);
    assert_int_equal(r[0].has_step, 0);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    int64_t ns = check_header(m, "run_end", 1, t0, t1, 2);
    const msgpack_object *end = member(m, 4, "end_time_ns");
    is_uint(end, (uint64_t)ns); /* the event's own time */
    const msgpack_object *tot = member(m, 5, "total_seconds");
    assert_int_equal(tot->type, MSGPACK_OBJECT_FLOAT64);
    /* open_time_ns was taken inside evt_open_json */
    double lo = (double)(ns - f->open1) / 1e9, hi = (double)(ns - f->open0) / 1e9;
    if (tot->via.f64 < lo - 1e-9 || tot->via.f64 > hi + 1e-9)
        fail_msg("total_seconds %.9f outside [%.9f, %.9f]", tot->via.f64, lo,
                 hi);
    assert_true(tot->via.f64 >= 0);
    undecode(&d);
    free_recs(r, 1);
}

static void test_log_json(void **state)
{
    struct fx *f = *state;
    int64_t t0 = wall_ns();
    assert_int_equal(
        evt_log_json(f->t, EVT_EV_SAMPLE,
                     " {\"task\": \"mme\", \"doc_id\": 3, \"score\": 1.0, "
                     "\"n\": 2, \"neg\": -2, \"nested\": {\"b\": 1, \"a\": "
                     "[1.5, 2, \"\\u00e9\"]}, \"step\": 9, \"z\": null} "),
        EVT_OK);
    assert_int_equal(evt_log_json(f->t, EVT_EV_RUN_START, "{}"), EVT_OK);
    assert_int_equal(evt_log_json(f->t, EVT_EV_SCALAR,
                                  "{\"step\": 0, \"tag\": \"x\", \"value\": "
                                  "NaN}"),
                     EVT_OK);
    int64_t t1 = wall_ns();
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 3);
    assert_int_equal(r[0].kind, EVT_EV_SAMPLE);
    assert_int_equal(r[0].has_step, 1);
    assert_int_equal(r[0].step, 9);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    check_header(m, "sample", 1, t0, t1, 8);
    IS_STR(member(m, 4, "task"), "mme");
    is_uint(member(m, 5, "doc_id"), 3);
    is_f64(member(m, 6, "score"), 1.0);
    is_uint(member(m, 7, "n"), 2);
    is_neg(member(m, 8, "neg"), -2);
    const msgpack_object *n = member(m, 9, "nested");
    assert_int_equal(n->via.map.size, 2);
    is_uint(member(n, 0, "b"), 1);
    const msgpack_object *a = member(n, 1, "a");
    assert_int_equal(a->via.array.size, 3);
    is_f64(&a->via.array.ptr[0], 1.5);
    is_uint(&a->via.array.ptr[1], 2);
    IS_STR(&a->via.array.ptr[2], "\xc3\xa9");
    is_uint(member(m, 10, "step"), 9);
    assert_int_equal(member(m, 11, "z")->type, MSGPACK_OBJECT_NIL);
    undecode(&d);

    m = decode(&d, &r[1]);
    check_header(m, "run_start", 2, t0, t1, 0);
    assert_int_equal(r[1].has_step, 0);
    undecode(&d);

    m = decode(&d, &r[2]);
    check_header(m, "scalar", 3, t0, t1, 3);
    assert_int_equal(r[2].has_step, 1);
    assert_int_equal(r[2].step, 0);
    is_uint(member(m, 4, "step"), 0);
    IS_STR(member(m, 5, "tag"), "x");
    const msgpack_object *v = member(m, 6, "value");
    assert_int_equal(v->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(isnan(v->via.f64));
    undecode(&d);
    free_recs(r, 3);
    f->expected = 3;

    /* errors */
    expect_error(f, evt_log_json(f->t, EVT_EV_SCALAR, "[1,2]"), EVT_EINVAL,
                 "scalar event: JSON line 1 column 1: expected a JSON object");
    expect_error(f, evt_log_json(f->t, EVT_EV_SCALAR, "\"x\""), EVT_EINVAL,
                 "scalar event: JSON line 1 column 1: expected a JSON object");
    expect_error(f, evt_log_json(f->t, EVT_EV_SCALAR, NULL), EVT_EINVAL,
                 "scalar event: no JSON text given");
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SCALAR,
                              "{\"tag\":\"a\",\"value\":}"),
                 EVT_EINVAL,
                 "scalar event: JSON line 1 column 20: unexpected character");
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SCALAR,
                              "{\"tag\":\"a\",\"value\":1} {}"),
                 EVT_EINVAL,
                 "scalar event: JSON line 1 column 23: trailing characters "
                 "after the JSON value");
    expect_error(f, evt_log_json(f->t, EVT_EV_SCALAR, "{\"tag\":\"a\"}"),
                 EVT_EINVAL, "scalar event: missing required field \"value\"");
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SAMPLE,
                              "{\"doc_id\":1,\"meta\":{\"task\":\"t\"}}"),
                 EVT_EINVAL, "sample event: missing required field \"task\"");
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SCALAR,
                              "{\"tag\":\"a\",\"value\":1,\"seq\":3}"),
                 EVT_EINVAL, "scalar event: field \"seq\" is reserved");
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SCALAR,
                              "{\"tag\":\"a\",\"value\":1,\"time_ns\":3}"),
                 EVT_EINVAL, "scalar event: field \"time_ns\" is reserved");
    static const char *const bad_steps[] = {"-1", "1.5", "\"3\"", "null"};
    for (int i = 0; i < 4; i++) {
        char *js = tu_fmt("{\"tag\":\"a\",\"value\":1,\"step\":%s}",
                          bad_steps[i]);
        expect_error(f, evt_log_json(f->t, EVT_EV_SCALAR, js), EVT_EINVAL,
                     "scalar event: field \"step\": expected a non-negative "
                     "integer");
        free(js);
    }
    expect_error(f,
                 evt_log_json(f->t, EVT_EV_SCALAR,
                              "{\"tag\":\"a\xff\",\"value\":1}"),
                 EVT_EINVAL,
                 "scalar event: JSON line 1 column 10: invalid UTF-8 in "
                 "string");
    /* nesting: the outer object counts as 1 of EVT_JSON_MAX_DEPTH, so
     * "x" may hold EVT_JSON_MAX_DEPTH - 1 levels */
    const char *pre = "{\"tag\":\"a\",\"value\":1,\"x\":";
    size_t pl = strlen(pre), lim = EVT_JSON_MAX_DEPTH;
    assert_int_equal(pl, 25);
    char *deep = malloc(pl + 2 * lim + 2);
    assert_non_null(deep);
    memcpy(deep, pre, pl);
    memset(deep + pl, '[', lim - 1);
    memset(deep + pl + lim - 1, ']', lim - 1);
    memcpy(deep + pl + 2 * (lim - 1), "}", 2);
    assert_int_equal(evt_log_json(f->t, EVT_EV_SCALAR, deep), EVT_OK);
    size_t deep_rec = f->expected++;
    memset(deep + pl, '[', lim);
    memset(deep + pl + lim, ']', lim);
    memcpy(deep + pl + 2 * lim, "}", 2);
    char *msg = tu_fmt("scalar event: JSON line 1 column %zu: nesting too "
                       "deep", pl + lim); /* the lim-th '[' */
    expect_error(f, evt_log_json(f->t, EVT_EV_SCALAR, deep), EVT_EINVAL, msg);
    free(msg);
    free(deep);
    assert_int_equal(evt_log_json(f->t, 0, "{}"), EVT_EINVAL);
    assert_int_equal(read_recs(f, &r), f->expected);
    /* the deepest one accepted decodes, down to its innermost array */
    m = decode(&d, &r[deep_rec]);
    const msgpack_object *x = member(m, 6, "x");
    for (size_t i = 1; i < lim - 1; i++) {
        assert_int_equal(x->type, MSGPACK_OBJECT_ARRAY);
        assert_int_equal(x->via.array.size, 1);
        x = &x->via.array.ptr[0];
    }
    assert_int_equal(x->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(x->via.array.size, 0);
    undecode(&d);
    free_recs(r, f->expected);
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

#define PACK_STR(pk, lit) pack_str(pk, lit, sizeof(lit) - 1)

static void test_log_sample_msgpack(void **state)
{
    struct fx *f = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    PACK_STR(&pk, "task");
    PACK_STR(&pk, "mme");
    PACK_STR(&pk, "doc_id");
    msgpack_pack_uint64(&pk, 0);
    PACK_STR(&pk, "resps");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 2);
    PACK_STR(&pk, "Yes");
    msgpack_pack_int64(&pk, -300);
    PACK_STR(&pk, "acc");
    msgpack_pack_double(&pk, 1.0);
    PACK_STR(&pk, "img");
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "\x00\xff\x01", 3);
    PACK_STR(&pk, "meta");
    msgpack_pack_map(&pk, 2);
    PACK_STR(&pk, "z");
    msgpack_pack_true(&pk);
    PACK_STR(&pk, "a");
    msgpack_pack_nil(&pk);
    int64_t t0 = wall_ns();
    assert_int_equal(evt_log_sample_msgpack(f->t, sb.data, sb.size), EVT_OK);
    int64_t t1 = wall_ns();
    msgpack_sbuffer_destroy(&sb);

    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    assert_int_equal(r[0].kind, EVT_EV_SAMPLE);
    assert_int_equal(r[0].has_step, 0);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    check_header(m, "sample", 1, t0, t1, 6);
    IS_STR(member(m, 4, "task"), "mme");
    is_uint(member(m, 5, "doc_id"), 0);
    const msgpack_object *rs = member(m, 6, "resps");
    assert_int_equal(rs->via.array.size, 1);
    assert_int_equal(rs->via.array.ptr[0].via.array.size, 2);
    IS_STR(&rs->via.array.ptr[0].via.array.ptr[0], "Yes");
    is_neg(&rs->via.array.ptr[0].via.array.ptr[1], -300);
    is_f64(member(m, 7, "acc"), 1.0);
    const msgpack_object *img = member(m, 8, "img");
    assert_int_equal(img->type, MSGPACK_OBJECT_BIN);
    assert_int_equal(img->via.bin.size, 3);
    assert_memory_equal(img->via.bin.ptr, "\x00\xff\x01", 3);
    const msgpack_object *meta = member(m, 9, "meta");
    assert_int_equal(meta->via.map.size, 2);
    assert_int_equal(member(meta, 0, "z")->type, MSGPACK_OBJECT_BOOLEAN);
    assert_int_equal(member(meta, 1, "a")->type, MSGPACK_OBJECT_NIL);
    undecode(&d);
    free_recs(r, 1);
    f->expected = 1;

    /* errors */
    static const unsigned char arr[] = {0x92, 0x01, 0x02};
    expect_error(f, evt_log_sample_msgpack(f->t, arr, sizeof arr), EVT_EINVAL,
                 "sample event: not a msgpack map");
    static const unsigned char str[] = {0xa4, 't', 'a', 's', 'k'};
    expect_error(f, evt_log_sample_msgpack(f->t, str, sizeof str), EVT_EINVAL,
                 "sample event: not a msgpack map");
    static const unsigned char trunc[] = {0x82, 0xa4, 't', 'a', 's', 'k'};
    expect_error(f, evt_log_sample_msgpack(f->t, trunc, sizeof trunc),
                 EVT_EINVAL, "sample event: msgpack at byte 6: truncated");
    static const unsigned char two[] = {0x80, 0x80};
    expect_error(f, evt_log_sample_msgpack(f->t, two, sizeof two), EVT_EINVAL,
                 "sample event: bytes after the msgpack map");
    expect_error(f, evt_log_sample_msgpack(f->t, NULL, 0), EVT_EINVAL,
                 "sample event: no bytes given");
    expect_error(f, evt_log_sample_msgpack(f->t, arr, 0), EVT_EINVAL,
                 "sample event: msgpack at byte 0: truncated");
    static const unsigned char intkey[] = {0x81, 0x01, 0x02};
    expect_error(f, evt_log_sample_msgpack(f->t, intkey, sizeof intkey),
                 EVT_EINVAL, "sample event: a map key is not a string");
    static const unsigned char nodoc[] = {0x81, 0xa4, 't', 'a', 's',
                                          'k',  0xa1, 'x'};
    expect_error(f, evt_log_sample_msgpack(f->t, nodoc, sizeof nodoc),
                 EVT_EINVAL, "sample event: missing required field \"doc_id\"");
    static const unsigned char reserved[] = {
        0x83, 0xa4, 't', 'a', 's', 'k', 0xa1, 'x', 0xa6, 'd', 'o', 'c', '_',
        'i', 'd', 0x00, 0xa4, 'k', 'i', 'n', 'd', 0xa1, 'y'};
    expect_error(f, evt_log_sample_msgpack(f->t, reserved, sizeof reserved),
                 EVT_EINVAL, "sample event: field \"kind\" is reserved");
    static const unsigned char badkey[] = {0x81, 0xa2, 0xc3, 0x28, 0x01};
    expect_error(f, evt_log_sample_msgpack(f->t, badkey, sizeof badkey),
                 EVT_EINVAL,
                 "sample event: msgpack at byte 2: invalid UTF-8 in a "
                 "string");
    /* UTF-8 is checked inside values too, at any depth */
    static const unsigned char badval[] = {
        0x83, 0xa4, 't', 'a', 's', 'k', 0xa1, 't', 0xa6, 'd', 'o', 'c', '_',
        'i', 'd', 0x00, 0xa1, 'r', 0x91, 0x81, 0xa1, 'k', 0xa2, 'o', 0xff};
    expect_error(f, evt_log_sample_msgpack(f->t, badval, sizeof badval),
                 EVT_EINVAL,
                 "sample event: msgpack at byte 23: invalid UTF-8 in a "
                 "string");
    static const unsigned char badstep[] = {
        0x83, 0xa4, 't', 'a', 's', 'k', 0xa1, 't', 0xa6, 'd', 'o', 'c', '_',
        'i', 'd', 0x00, 0xa4, 's', 't', 'e', 'p', 0xff};
    expect_error(f, evt_log_sample_msgpack(f->t, badstep, sizeof badstep),
                 EVT_EINVAL,
                 "sample event: field \"step\": expected a non-negative "
                 "integer");
}

/* A "step" member sets the step; long keys and map32/str8 headers are
 * copied verbatim (no re-encoding). */
static void test_sample_msgpack_step_and_verbatim(void **state)
{
    struct fx *f = *state;
    unsigned char buf[512];
    size_t n = 0;
    static const unsigned char head[] = {
        0xdf, 0, 0, 0, 4,                      /* map32, 4 */
        0xd9, 4, 't', 'a', 's', 'k', 0xa1, 't', /* str8 key */
        0xa6, 'd', 'o', 'c', '_', 'i', 'd', 0xcd, 0x01, 0x00,
        0xa4, 's', 't', 'e', 'p', 0xcc, 77,
        0xda, 0x01, 0x2c};                     /* str16 key, 300 bytes */
    memcpy(buf, head, sizeof head);
    n = sizeof head;
    memset(buf + n, 'k', 300);
    n += 300;
    buf[n++] = 0xc3;
    assert_int_equal(evt_log_sample_msgpack(f->t, buf, n), EVT_OK);
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    assert_int_equal(r[0].has_step, 1);
    assert_int_equal(r[0].step, 77);
    /* the members follow the header byte for byte */
    assert_int_equal(r[0].len, 62 + (n - 5));
    assert_int_equal(r[0].mp[4], 8);
    assert_memory_equal(r[0].mp + 62, buf + 5, n - 5);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    assert_int_equal(m->via.map.size, 8);
    is_uint(member(m, 6, "step"), 77);
    assert_int_equal(m->via.map.ptr[7].key.via.str.size, 300);
    undecode(&d);
    free_recs(r, 1);
}

/* Keys with an embedded NUL are kept whole (msgpack and JSON alike), and
 * "task\0x" is not "task". */
static void test_sample_msgpack_key_with_nul_kept(void **state)
{
    struct fx *f = *state;
    static const unsigned char map[] = {
        0x83, 0xa4, 't', 'a', 's', 'k', 0xa1, 't', 0xa6, 'd', 'o', 'c', '_',
        'i', 'd', 0x00, 0xa3, 'a', 0x00, 'b', 0x01};
    assert_int_equal(evt_log_sample_msgpack(f->t, map, sizeof map), EVT_OK);
    assert_int_equal(evt_log_json(f->t, EVT_EV_SAMPLE,
                                  "{\"task\":\"t\",\"doc_id\":0,"
                                  "\"a\\u0000b\":1}"),
                     EVT_OK);
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 2);
    for (int i = 0; i < 2; i++) {
        struct dec d;
        const msgpack_object *m = decode(&d, &r[i]);
        assert_int_equal(m->via.map.size, 7);
        is_uint(member_n(m, 6, "a\0b", 3), 1);
        undecode(&d);
    }
    free_recs(r, 2);
    f->expected = 2;
    static const unsigned char fake[] = {
        0x82, 0xa6, 't', 'a', 's', 'k', 0x00, 'x', 0xa1, 't', 0xa6, 'd', 'o',
        'c', '_', 'i', 'd', 0x00};
    expect_error(f, evt_log_sample_msgpack(f->t, fake, sizeof fake),
                 EVT_EINVAL, "sample event: missing required field \"task\"");
}

/* ---- errors ----------------------------------------------------------------------*/

static void test_invalid_utf8(void **state)
{
    struct fx *f = *state;
    evt_ev *e = scalar(f);
    evt_str(e, "x", "ab\xff");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"x\": invalid UTF-8 at byte 2");
    e = scalar(f);
    evt_strn(e, "x", "\xc3\xa9\xc3\xa9\xc3\x28", 6);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"x\": invalid UTF-8 at byte 4");
    e = scalar(f);
    evt_strn(e, "cut", "\xc3\xa9", 1); /* a sequence cut by len */
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"cut\": invalid UTF-8 at byte 0");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_str(e, "inner", "ok\xed\xa0\x80");
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"inner\": invalid UTF-8 at byte 2");
    e = scalar(f);
    evt_array_begin(e, "arr");
    evt_str(e, NULL, "\xc0\xaf");
    evt_array_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"[]\": invalid UTF-8 at byte 0");
    /* in a key */
    e = scalar(f);
    evt_int(e, "k\xc3", 1);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: invalid UTF-8 in a field name at byte 1");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_null(e, "abcdefghij\xf4\x90\x80\x80");
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: invalid UTF-8 in a field name at byte 10");
    /* a valid event with the same key and value works */
    e = scalar(f);
    evt_str(e, "x", "ab\xc3\xbf");
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    /* sticky: the first error is the one reported */
    e = scalar(f);
    evt_str(e, "first", "\xff");
    evt_int(e, "seq", 1);
    evt_map_end(e);
    evt_str(e, "x", "\xfe");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"first\": invalid UTF-8 at byte 0");
}

static void test_missing_required(void **state)
{
    struct fx *f = *state;
    evt_ev *e = evt_begin(f->t, EVT_EV_SAMPLE);
    evt_str(e, "task", "t");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "sample event: missing required field \"doc_id\"");
    e = evt_begin(f->t, EVT_EV_SAMPLE);
    evt_int(e, "doc_id", 1);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "sample event: missing required field \"task\"");
    e = evt_begin(f->t, EVT_EV_SAMPLE); /* nested ones do not count */
    evt_map_begin(e, "meta");
    evt_str(e, "task", "t");
    evt_int(e, "doc_id", 1);
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "sample event: missing required field \"task\"");
    e = evt_begin(f->t, EVT_EV_RESULT);
    evt_str(e, "task", "t");
    evt_str(e, "metric", "m");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "result event: missing required field \"value\"");
    e = evt_begin(f->t, EVT_EV_RESULT);
    evt_str(e, "task", "t");
    evt_double(e, "value", 1);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "result event: missing required field \"metric\"");
    e = evt_begin(f->t, EVT_EV_RESULT);
    evt_double(e, "value", 1);
    evt_str(e, "metric", "m");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "result event: missing required field \"task\"");
    e = evt_begin(f->t, EVT_EV_SCALAR);
    evt_double(e, "value", 1);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: missing required field \"tag\"");
    e = evt_begin(f->t, EVT_EV_SCALAR);
    evt_str(e, "tag", "t");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: missing required field \"value\"");
    e = evt_begin(f->t, EVT_EV_TASK_CONFIG);
    evt_str(e, "name", "t");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "task_config event: missing required field \"task\"");
    /* with it, and in any order */
    e = evt_begin(f->t, EVT_EV_TASK_CONFIG);
    evt_json(e, "config", "{\"num_fewshot\": 5}");
    evt_str(e, "task", "t");
    assert_int_equal(evt_commit(e), EVT_OK);
    e = evt_begin(f->t, EVT_EV_RESULT);
    evt_double(e, "value", 1);
    evt_str(e, "metric", "m");
    evt_json(e, "task", "\"t\"");
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected += 2;
    e = evt_begin(f->t, EVT_EV_SCALAR);
    evt_str(e, "tag", "t");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: missing required field \"value\"");
}

static void test_reserved_fields(void **state)
{
    struct fx *f = *state;
    static const char *const names[] = {"seq", "kind", "run_id", "time_ns"};
    for (int i = 0; i < 4; i++) {
        char *msg = tu_fmt("scalar event: field \"%s\" is reserved",
                           names[i]);
        evt_ev *e = scalar(f);
        evt_int(e, names[i], 1);
        expect_error(f, evt_commit(e), EVT_EINVAL, msg);
        e = scalar(f);
        evt_str(e, names[i], "x");
        expect_error(f, evt_commit(e), EVT_EINVAL, msg);
        e = scalar(f);
        evt_map_begin(e, names[i]);
        evt_map_end(e);
        expect_error(f, evt_commit(e), EVT_EINVAL, msg);
        e = scalar(f);
        evt_msgpack(e, names[i], "\xc0", 1);
        expect_error(f, evt_commit(e), EVT_EINVAL, msg);
        free(msg);
    }
    /* prefixes and case variants are ordinary names */
    evt_ev *e = scalar(f);
    evt_int(e, "se", 1);
    evt_int(e, "seqs", 1);
    evt_int(e, "Kind", 1);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
}

static void test_unbalanced_containers(void **state)
{
    struct fx *f = *state;
    evt_ev *e = scalar(f);
    evt_map_begin(e, "m");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: 1 container(s) left open");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_array_begin(e, "a");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: 2 container(s) left open");
    e = scalar(f);
    evt_array_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_array_end without a matching begin");
    e = scalar(f);
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_map_end without a matching begin");
    e = scalar(f);
    evt_array_begin(e, "a");
    evt_map_end(e);
    evt_array_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_map_end without a matching begin");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_array_end(e);
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_array_end without a matching begin");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_map_end(e);
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: evt_map_end without a matching begin");
    e = scalar(f);
    evt_int(e, NULL, 1);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: a value inside a map needs a key");
    e = scalar(f);
    evt_map_begin(e, "m");
    evt_map_begin(e, NULL);
    evt_map_end(e);
    evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: a value inside a map needs a key");
}

/* Open n builder containers, alternating array (even levels, counting
 * from 0) and map, each under the key "k" (ignored inside arrays). */
static void open_levels(evt_ev *e, int n)
{
    for (int i = 0; i < n; i++) {
        if (i % 2)
            evt_map_begin(e, "k");
        else
            evt_array_begin(e, "k");
    }
}

static void close_levels(evt_ev *e, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if (i % 2)
            evt_map_end(e);
        else
            evt_array_end(e);
    }
}

/* Walk down from member "k" of the top-level map m through n levels made
 * by open_levels, each holding one value; returns that innermost value. */
static const msgpack_object *walk_levels(const msgpack_object *m, uint32_t i,
                                         int n)
{
    const msgpack_object *o = member(m, i, "k");
    for (int l = 0; l < n; l++) {
        if (l % 2) {
            assert_int_equal(o->via.map.size, 1);
            o = member(o, 0, "k");
        } else {
            assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
            assert_int_equal(o->via.array.size, 1);
            o = &o->via.array.ptr[0];
        }
    }
    return o;
}

/* msgpack-c decodes MSGPACK_C_MAX_LEVELS nested non-empty containers and
 * no more: the bound every event must stay within. */
static void test_msgpack_c_depth_limit(void **state)
{
    (void)state;
    unsigned char buf[MSGPACK_C_MAX_LEVELS + 2];
    for (int extra = 0; extra < 2; extra++) {
        size_t n = MSGPACK_C_MAX_LEVELS + (size_t)extra;
        memset(buf, 0x91, n);
        buf[n] = 0x07;
        msgpack_zone z;
        msgpack_zone_init(&z, 1024);
        msgpack_object o;
        size_t off = 0;
        msgpack_unpack_return rc =
            msgpack_unpack((const char *)buf, n + 1, &off, &z, &o);
        if (extra) {
            assert_int_equal(rc, MSGPACK_UNPACK_NOMEM_ERROR);
        } else {
            assert_int_equal(rc, MSGPACK_UNPACK_SUCCESS);
            assert_int_equal(off, n + 1);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(o.type, MSGPACK_OBJECT_ARRAY);
                o = o.via.array.ptr[0];
            }
            is_uint(&o, 7);
        }
        msgpack_zone_destroy(&z);
    }
}

static void test_nesting_limit(void **state)
{
    struct fx *f = *state;
    const int lim = BUILDER_MAX_DEPTH;
    /* lim levels below the top: delivered, and decodes to that depth */
    evt_ev *e = scalar(f);
    open_levels(e, lim);
    evt_int(e, "k", lim);
    close_levels(e, lim);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    /* the exact bytes: "k": [{"k": [{"k": ... lim ...}]}] */
    unsigned char want[2 + BUILDER_MAX_DEPTH * 7 + 1];
    size_t w = 0;
    want[w++] = 0xa1;
    want[w++] = 'k';
    for (int i = 0; i < lim; i++) {
        if (i % 2) {
            static const unsigned char m1[] = {0xdf, 0, 0, 0, 1, 0xa1, 'k'};
            memcpy(want + w, m1, 7);
            w += 7;
        } else {
            static const unsigned char a1[] = {0xdd, 0, 0, 0, 1};
            memcpy(want + w, a1, 5);
            w += 5;
        }
    }
    want[w++] = (unsigned char)lim; /* a positive fixint */
    assert_memory_equal(r[0].mp + r[0].len - w, want, w);
    assert_int_equal(r[0].mp[4], 7); /* 4 header + tag, value, k */
    /* and msgpack-c reads it all */
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    assert_int_equal(m->via.map.size, 7);
    is_uint(walk_levels(m, 6, lim), (uint64_t)lim);
    undecode(&d);
    free_recs(r, 1);

    /* level lim+1 is refused, for maps and arrays alike */
    e = scalar(f);
    for (int i = 0; i < lim + 1; i++)
        evt_map_begin(e, "m");
    for (int i = 0; i < lim + 1; i++)
        evt_map_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL, TOO_DEEP);
    e = scalar(f);
    evt_array_begin(e, "a");
    for (int i = 1; i < 100; i++)
        evt_array_begin(e, NULL);
    expect_error(f, evt_commit(e), EVT_EINVAL, TOO_DEEP);
    /* closing a level gives it back: two siblings, each lim deep */
    e = scalar(f);
    evt_map_begin(e, "m");
    for (int s2 = 0; s2 < 2; s2++) {
        evt_array_begin(e, "a");
        for (int i = 2; i < lim; i++)
            evt_array_begin(e, NULL);
        evt_int(e, NULL, s2);
        for (int i = 1; i < lim; i++)
            evt_array_end(e);
    }
    evt_map_end(e);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    assert_int_equal(read_recs(f, &r), f->expected);
    m = decode(&d, &r[f->expected - 1]);
    const msgpack_object *mm = member(m, 6, "m");
    assert_int_equal(mm->via.map.size, 2);
    for (uint32_t s2 = 0; s2 < 2; s2++) {
        const msgpack_object *o = member(mm, s2, "a");
        for (int i = 1; i < lim; i++) {
            assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
            assert_int_equal(o->via.array.size, 1);
            o = &o->via.array.ptr[0];
        }
        is_uint(o, s2);
    }
    undecode(&d);
    free_recs(r, f->expected);
}

/* JSON text of n levels, alternating object (even levels) and array:
 * {"j":[{"j":[ ... "deepest" ... ]}]} (heap string). */
static char *nested_json(int n)
{
    char *s = malloc((size_t)n * 6 + 16);
    assert_non_null(s);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        const char *open = i % 2 ? "[" : "{\"j\":";
        memcpy(s + o, open, strlen(open));
        o += strlen(open);
    }
    memcpy(s + o, "\"deepest\"", 9);
    o += 9;
    for (int i = n - 1; i >= 0; i--)
        s[o++] = i % 2 ? ']' : '}';
    s[o] = '\0';
    return s;
}

/* msgpack of n levels, alternating fixmap (even levels) and fixarray,
 * around the fixint 42: 0x81 "j" 0x91 0x81 "j" ... 42. *last_hdr gets
 * the offset of the innermost container's header. */
static size_t nested_mp(unsigned char *out, int n, size_t *last_hdr)
{
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        *last_hdr = o;
        if (i % 2) {
            out[o++] = 0x91;
        } else {
            out[o++] = 0x81;
            out[o++] = 0xa1;
            out[o++] = 'j';
        }
    }
    out[o++] = 42;
    return o;
}

/* The deepest event the limits allow: BUILDER_MAX_DEPTH builder levels and,
 * at the innermost, JSON EVT_JSON_MAX_DEPTH deep and msgpack
 * EVT_MP_MAX_DEPTH deep. It must decode with msgpack-c, and one level more
 * anywhere is refused. */
static void test_deepest_event_decodes_with_msgpack_c(void **state)
{
    struct fx *f = *state;
    const int lim = BUILDER_MAX_DEPTH;
    char *json = nested_json(EVT_JSON_MAX_DEPTH);
    char *json_over = nested_json(EVT_JSON_MAX_DEPTH + 1);
    unsigned char mp[4 * EVT_MP_MAX_DEPTH + 8];
    size_t last_hdr, mp_len = nested_mp(mp, EVT_MP_MAX_DEPTH, &last_hdr);
    unsigned char mp_over[4 * EVT_MP_MAX_DEPTH + 8];
    size_t over_hdr,
        over_len = nested_mp(mp_over, EVT_MP_MAX_DEPTH + 1, &over_hdr);

    /* lim - 1 levels from open_levels, then a map so the values keep
     * their names */
    evt_ev *e = scalar(f);
    open_levels(e, lim - 1);
    evt_map_begin(e, "k"); /* level lim: a map, so the values keep names */
    evt_json(e, "j", json);
    evt_msgpack(e, "mp", mp, mp_len);
    evt_map_end(e);
    close_levels(e, lim - 1);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;

    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    struct dec d;
    msgpack_zone_init(&d.zone, 4096);
    size_t off = 0;
    assert_int_equal(msgpack_unpack((const char *)r[0].mp, r[0].len, &off,
                                    &d.zone, &d.o),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, r[0].len);
    const msgpack_object *m = &d.o;
    check_header(m, "scalar", 1, f->open0, wall_ns(), 3);
    const msgpack_object *in = walk_levels(m, 6, lim - 1);
    assert_int_equal(in->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(in->via.map.size, 2);
    const msgpack_object *j = member(in, 0, "j");
    for (int i = 0; i < EVT_JSON_MAX_DEPTH; i++) {
        if (i % 2) {
            assert_int_equal(j->type, MSGPACK_OBJECT_ARRAY);
            assert_int_equal(j->via.array.size, 1);
            j = &j->via.array.ptr[0];
        } else {
            assert_int_equal(j->type, MSGPACK_OBJECT_MAP);
            assert_int_equal(j->via.map.size, 1);
            j = member(j, 0, "j");
        }
    }
    IS_STR(j, "deepest");
    const msgpack_object *p = member(in, 1, "mp");
    for (int i = 0; i < EVT_MP_MAX_DEPTH; i++) {
        if (i % 2) {
            assert_int_equal(p->type, MSGPACK_OBJECT_ARRAY);
            assert_int_equal(p->via.array.size, 1);
            p = &p->via.array.ptr[0];
        } else {
            assert_int_equal(p->type, MSGPACK_OBJECT_MAP);
            assert_int_equal(p->via.map.size, 1);
            p = member(p, 0, "j");
        }
    }
    is_uint(p, 42);
    undecode(&d);
    free_recs(r, 1);

    /* one builder level more, holding only a scalar */
    e = scalar(f);
    open_levels(e, lim);
    evt_map_begin(e, "k");
    evt_int(e, "j", 1);
    evt_map_end(e);
    close_levels(e, lim);
    expect_error(f, evt_commit(e), EVT_EINVAL, TOO_DEEP);
    /* one JSON level more: refused at the column of its opener, after
     * the openers '{"j":' (even levels) and '[' (odd) before it */
    size_t col = 1;
    for (int i = 0; i < EVT_JSON_MAX_DEPTH; i++)
        col += i % 2 ? 1 : 5;
    char *msg = tu_fmt("scalar event: field \"j\": JSON line 1 column %zu: "
                       "nesting too deep", col);
    e = scalar(f);
    open_levels(e, lim - 1);
    evt_map_begin(e, "k");
    evt_json(e, "j", json_over);
    evt_map_end(e);
    close_levels(e, lim - 1);
    expect_error(f, evt_commit(e), EVT_EINVAL, msg);
    free(msg);
    /* one msgpack level more: refused at its container header */
    msg = tu_fmt("scalar event: field \"mp\": msgpack at byte %zu: nesting "
                 "too deep", over_hdr);
    e = scalar(f);
    open_levels(e, lim - 1);
    evt_map_begin(e, "k");
    evt_msgpack(e, "mp", mp_over, over_len);
    evt_map_end(e);
    close_levels(e, lim - 1);
    expect_error(f, evt_commit(e), EVT_EINVAL, msg);
    free(msg);
    /* expect_error checked each refused event delivered nothing and
     * took no seq: the deep one and the three after it */
    assert_int_equal(f->expected, 4);
    assert_int_equal(read_recs(f, &r), 4);
    free_recs(r, 4);
    free(json);
    free(json_over);
}

static void test_embed_errors(void **state)
{
    struct fx *f = *state;
    evt_ev *e = scalar(f);
    evt_json(e, "j", "{\"a\":}");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"j\": JSON line 1 column 6: "
                 "unexpected character");
    e = scalar(f);
    evt_json(e, "j", NULL);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"j\": JSON line 1 column 1: "
                 "unexpected end of input");
    e = scalar(f);
    evt_json(e, "j", "[1,\n\"\xff\"]");
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"j\": JSON line 2 column 2: "
                 "invalid UTF-8 in string");
    e = scalar(f);
    evt_array_begin(e, "a");
    evt_json(e, NULL, "1 2");
    evt_array_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"[]\": JSON line 1 column 3: "
                 "trailing characters after the JSON value");
    static const unsigned char trunc[] = {0x92, 0x01};
    e = scalar(f);
    evt_msgpack(e, "mp", trunc, sizeof trunc);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": msgpack at byte 1: truncated");
    static const unsigned char str_trunc[] = {0xa5, 'a', 'b'};
    e = scalar(f);
    evt_msgpack(e, "mp", str_trunc, sizeof str_trunc);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": msgpack at byte 1: truncated");
    static const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    e = scalar(f);
    evt_msgpack(e, "mp", huge, sizeof huge);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": msgpack at byte 5: truncated");
    static const unsigned char two[] = {0x01, 0x02};
    e = scalar(f);
    evt_msgpack(e, "mp", two, sizeof two);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": more than one msgpack object");
    e = scalar(f);
    evt_msgpack(e, "mp", two, 0);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": msgpack at byte 0: truncated");
    e = scalar(f);
    evt_msgpack(e, "mp", NULL, 3);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": no bytes given");
    static const unsigned char never[] = {0x91, 0xc1}; /* never-used byte */
    e = scalar(f);
    evt_msgpack(e, "mp", never, sizeof never);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"mp\": msgpack at byte 1: invalid "
                 "type byte 0xc1");
    static const unsigned char bad_utf8[] = {0x91, 0xa2, 'a', 0xff};
    e = scalar(f);
    evt_array_begin(e, "a");
    evt_msgpack(e, NULL, bad_utf8, sizeof bad_utf8);
    evt_array_end(e);
    expect_error(f, evt_commit(e), EVT_EINVAL,
                 "scalar event: field \"[]\": msgpack at byte 2: invalid "
                 "UTF-8 in a string");
    /* EVT_MP_MAX_DEPTH nested arrays are fine, one more is not: refused
     * at the offending header, byte EVT_MP_MAX_DEPTH */
    unsigned char deep[EVT_MP_MAX_DEPTH + 8];
    const size_t lim = EVT_MP_MAX_DEPTH;
    memset(deep, 0x91, lim + 1);
    deep[lim + 1] = 0x01;
    char *msg = tu_fmt("scalar event: field \"mp\": msgpack at byte %zu: "
                       "nesting too deep", lim);
    e = scalar(f);
    evt_msgpack(e, "mp", deep, lim + 2);
    expect_error(f, evt_commit(e), EVT_EINVAL, msg);
    /* the same for an array32 header, and for an empty array */
    deep[lim] = 0xdd;
    memcpy(deep + lim + 1, "\0\0\0\1\1", 5);
    e = scalar(f);
    evt_msgpack(e, "mp", deep, lim + 6);
    expect_error(f, evt_commit(e), EVT_EINVAL, msg);
    deep[lim] = 0x90;
    e = scalar(f);
    evt_msgpack(e, "mp", deep, lim + 1);
    expect_error(f, evt_commit(e), EVT_EINVAL, msg);
    free(msg);
    /* fixmaps {"k": ...}: the header of level lim+1 follows lim of 3
     * bytes each */
    unsigned char maps[3 * EVT_MP_MAX_DEPTH + 8];
    for (size_t i = 0; i <= lim; i++)
        memcpy(maps + 3 * i, "\x81\xa1k", 3);
    maps[3 * (lim + 1)] = 0x01;
    msg = tu_fmt("scalar event: field \"mp\": msgpack at byte %zu: nesting "
                 "too deep", 3 * lim);
    e = scalar(f);
    evt_msgpack(e, "mp", maps, 3 * (lim + 1) + 1);
    expect_error(f, evt_commit(e), EVT_EINVAL, msg);
    free(msg);
    e = scalar(f);
    evt_msgpack(e, "mp", maps + 3, 3 * lim + 1);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    deep[lim] = 0x91;
    deep[lim + 1] = 0x01;
    e = scalar(f);
    evt_msgpack(e, "mp", deep + 1, lim + 1);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    /* the first of two bytes alone is fine; bin, ext, float32 and
     * non-string keys inside values are carried through verbatim */
    static const unsigned char exotic[] = {
        0x84, 0x01, 0xc4, 0x02, 0x00, 0xff,             /* 1: bin */
        0xc0, 0xd6, 0x05, 0x01, 0x02, 0x03, 0x04,       /* nil: fixext4 */
        0xca, 0x3f, 0x80, 0x00, 0x00, 0xc7, 0x01, 0x07, 0x09, /* f32: ext8 */
        0xa1, 'k', 0xc8, 0x00, 0x00, 0x02};             /* "k": ext16 empty */
    e = scalar(f);
    evt_msgpack(e, "mp", two, 1);
    evt_msgpack(e, "ex", exotic, sizeof exotic);
    assert_int_equal(evt_commit(e), EVT_OK);
    f->expected++;
    struct rec *r;
    assert_int_equal(read_recs(f, &r), f->expected);
    const struct rec *last = &r[f->expected - 1];
    assert_memory_equal(last->mp + last->len - sizeof exotic, exotic,
                        sizeof exotic);
    struct dec d;
    const msgpack_object *m = decode(&d, last);
    is_uint(member(m, 6, "mp"), 1);
    const msgpack_object *ex = member(m, 7, "ex");
    assert_int_equal(ex->via.map.size, 4);
    assert_int_equal(ex->via.map.ptr[0].val.type, MSGPACK_OBJECT_BIN);
    assert_int_equal(ex->via.map.ptr[1].key.type, MSGPACK_OBJECT_NIL);
    assert_int_equal(ex->via.map.ptr[1].val.type, MSGPACK_OBJECT_EXT);
    assert_int_equal(ex->via.map.ptr[2].key.type, MSGPACK_OBJECT_FLOAT32);
    assert_int_equal(ex->via.map.ptr[3].val.type, MSGPACK_OBJECT_EXT);
    assert_int_equal(ex->via.map.ptr[3].val.via.ext.size, 0);
    undecode(&d);
    free_recs(r, f->expected);
}

/* ---- builder lifetime -------------------------------------------------------------*/

static void tag_of(const struct rec *r, const char *tag)
{
    struct dec d;
    const msgpack_object *m = decode(&d, r);
    is_str(member(m, 4, "tag"), tag, strlen(tag));
    undecode(&d);
}

static void test_nested_begin_same_thread(void **state)
{
    struct fx *f = *state;
    evt_ev *a = evt_begin(f->t, EVT_EV_SCALAR);
    evt_str(a, "tag", "a");
    evt_ev *b = evt_begin(f->t, EVT_EV_SCALAR);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    evt_str(b, "tag", "b");
    evt_double(a, "value", 1);
    evt_map_begin(b, "m"); /* b's open map does not affect a */
    evt_double(b, "x", 2);
    evt_map_end(b);
    evt_double(b, "value", 2);
    assert_int_equal(evt_commit(b), EVT_OK);
    assert_int_equal(evt_commit(a), EVT_OK);

    /* three at once, the thread's own builder committed first */
    a = evt_begin(f->t, EVT_EV_SCALAR);
    b = evt_begin(f->t, EVT_EV_SCALAR);
    evt_ev *c = evt_begin(f->t, EVT_EV_SCALAR);
    evt_str(a, "tag", "a2");
    evt_str(b, "tag", "b2");
    evt_str(c, "tag", "c2");
    evt_double(a, "value", 1);
    evt_double(b, "value", 1);
    evt_double(c, "value", 1);
    assert_int_equal(evt_commit(a), EVT_OK);
    evt_ev *d = evt_begin(f->t, EVT_EV_SCALAR); /* reuses the free one */
    evt_str(d, "tag", "d2");
    evt_double(d, "value", 1);
    assert_int_equal(evt_commit(c), EVT_OK);
    assert_int_equal(evt_commit(d), EVT_OK);
    assert_int_equal(evt_commit(b), EVT_OK);

    /* an error in the inner builder stays there */
    a = evt_begin(f->t, EVT_EV_SCALAR);
    b = evt_begin(f->t, EVT_EV_SCALAR);
    evt_str(a, "tag", "a3");
    evt_str(b, "tag", "\xff");
    evt_double(a, "value", 1);
    assert_int_equal(evt_commit(b), EVT_EINVAL);
    assert_int_equal(evt_commit(a), EVT_OK);

    struct rec *r;
    static const char *const want[] = {"b", "a", "a2", "c2", "d2", "b2",
                                       "a3"};
    assert_int_equal(read_recs(f, &r), 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(r[i].seq, (unsigned long long)i + 1);
        tag_of(&r[i], want[i]);
    }
    struct dec dd;
    const msgpack_object *m = decode(&dd, &r[0]);
    assert_int_equal(m->via.map.size, 7);
    is_f64(member(member(m, 5, "m"), 0, "x"), 2);
    is_f64(member(m, 6, "value"), 2);
    undecode(&dd);
    m = decode(&dd, &r[1]);
    assert_int_equal(m->via.map.size, 6);
    is_f64(member(m, 5, "value"), 1);
    undecode(&dd);
    free_recs(r, 7);
}

static void test_cancel_delivers_nothing(void **state)
{
    struct fx *f = *state;
    evt_ev *e = scalar(f);
    evt_map_begin(e, "m");
    evt_cancel(e);
    e = evt_begin(f->t, EVT_EV_SAMPLE); /* nothing required to cancel */
    evt_cancel(e);
    evt_ev *a = scalar(f); /* cancel a nested (heap) builder */
    evt_ev *b = scalar(f);
    evt_cancel(b);
    evt_str(a, "x", "kept");
    assert_int_equal(evt_commit(a), EVT_OK);
    e = scalar(f);
    evt_str(e, "bad", "\xff"); /* cancel after an error: no error left */
    evt_cancel(e);
    assert_int_equal(evt_log_scalar(f->t, "z", 1, -1), EVT_OK);
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 2);
    assert_int_equal(r[0].seq, 1); /* cancelled events took no seq */
    assert_int_equal(r[1].seq, 2);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    assert_int_equal(m->via.map.size, 7);
    IS_STR(member(m, 6, "x"), "kept");
    undecode(&d);
    tag_of(&r[1], "z");
    free_recs(r, 2);
    char buf[EVT_ERRMSG_SIZE];
    assert_int_equal(evt_last_error(f->t, buf, sizeof buf), 0);
}

static void test_five_megabyte_string(void **state)
{
    struct fx *f = *state;
    static const char unit[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "a";
    size_t ul = sizeof unit - 1, n = 5u * 1024 * 1024 + 2;
    assert_int_equal(n % ul, 2); /* ends with the first 2 bytes: "\xc3\xa9" */
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = unit[i % ul];
    big[n] = '\0';
    evt_ev *e = scalar(f);
    evt_str(e, "big", big);
    evt_int(e, "after", 1);
    assert_int_equal(evt_commit(e), EVT_OK);
    /* the same text with one byte cut off is refused where it breaks */
    e = scalar(f);
    evt_strn(e, "big", big, n - 1);
    assert_int_equal(evt_commit(e), EVT_EINVAL);
    char buf[EVT_ERRMSG_SIZE];
    evt_last_error(f->t, buf, sizeof buf);
    char *want = tu_fmt("scalar event: field \"big\": invalid UTF-8 at byte "
                        "%zu", n - 2);
    assert_string_equal(buf, want);
    free(want);
    struct rec *r;
    assert_int_equal(read_recs(f, &r), 1);
    struct dec d;
    const msgpack_object *m = decode(&d, &r[0]);
    const msgpack_object *s = member(m, 6, "big");
    assert_int_equal(s->type, MSGPACK_OBJECT_STR);
    assert_int_equal(s->via.str.size, n);
    assert_memory_equal(s->via.str.ptr, big, n);
    /* str32 header right after the key */
    assert_int_equal((const unsigned char *)s->via.str.ptr - r[0].mp >= 5, 1);
    const unsigned char *h = (const unsigned char *)s->via.str.ptr - 5;
    static const unsigned char hdr[] = {0xdb, 0x00, 0x50, 0x00, 0x02};
    assert_memory_equal(h, hdr, 5);
    is_uint(member(m, 7, "after"), 1);
    undecode(&d);
    free_recs(r, 1);
    free(big);
}

/* Steady-state allocation is measured by the benchmark; here only the
 * deterministic part: the pool hands a released event back with its
 * buffer, and drops buffers grown past 256 KiB. */
static void test_pool_reuses_events(void **state)
{
    (void)state;
    struct evt__pool *p = evt__pool_new("r");
    assert_non_null(p);
    struct evt_event *e = evt__event_get(p);
    assert_non_null(e);
    assert_int_equal(evt__event_reserve(e, 1000), 0);
    e->len = 10;
    e->has_step = 1;
    e->seq = 5;
    unsigned char *buf = e->buf;
    size_t cap = e->cap;
    assert_true(cap >= 1000);
    evt__event_release(e);
    struct evt_event *e2 = evt__event_get(p);
    assert_ptr_equal(e2, e);
    assert_ptr_equal(e2->buf, buf);
    assert_int_equal(e2->cap, cap);
    assert_int_equal(e2->len, 0);
    assert_int_equal(e2->has_step, 0);
    assert_int_equal(e2->seq, 0);
    assert_string_equal(e2->run_id, "r");
    /* reserving within the capacity keeps the buffer */
    assert_int_equal(evt__event_reserve(e2, cap), 0);
    assert_ptr_equal(e2->buf, buf);
    /* a big buffer is not kept */
    assert_int_equal(evt__event_reserve(e2, 300u * 1024), 0);
    evt__event_release(e2);
    struct evt_event *e3 = evt__event_get(p);
    assert_ptr_equal(e3, e);
    assert_int_equal(e3->cap, 0);
    assert_null(e3->buf);
    /* retained events come back only on the last release */
    evt__event_retain(e3);
    evt__event_release(e3);
    struct evt_event *e4 = evt__event_get(p);
    assert_ptr_not_equal(e4, e3);
    evt__event_release(e3);
    evt__event_release(e4);
    evt__pool_release(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_header_and_field_types),
        T(test_kinds_and_no_step),
        T(test_step),
        T(test_log_result),
        T(test_log_scalar),
        T(test_log_run_end),
        T(test_log_json),
        T(test_log_sample_msgpack),
        T(test_sample_msgpack_key_with_nul_kept),
        T(test_sample_msgpack_step_and_verbatim),
        T(test_invalid_utf8),
        T(test_missing_required),
        T(test_reserved_fields),
        T(test_unbalanced_containers),
        T(test_nesting_limit),
        T(test_deepest_event_decodes_with_msgpack_c),
        T(test_embed_errors),
        T(test_nested_begin_same_thread),
        T(test_cancel_delivers_nothing),
        T(test_five_megabyte_string),
        cmocka_unit_test(test_pool_reuses_events),
        cmocka_unit_test(test_msgpack_c_depth_limit),
    };
    evt_set_log_handler(NULL, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
