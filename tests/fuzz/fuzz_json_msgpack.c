/* fuzz_json_msgpack.c -- the JSON reader of evt_json / evt_log_json
 * (core/json_msgpack.c). Invariants checked on every input it accepts:
 *  - the msgpack it wrote is one valid object (core/mpcheck.c) spanning
 *    exactly the bytes written;
 *  - the sdk's JSON writer (json.dumps form, bare NaN) reads it back, and
 *    that text parses again to the very same msgpack bytes (round trip);
 *  - the strict form (NaN as null) is JSON that cJSON accepts.
 * The object form (evt__json_members_to_mp, evt_log_json) is run on the
 * same text, with a member callback. */
#include "fuzz_util.h"

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "evtrack/sdk/json_write.h"
#include "event.h"
#include "json_msgpack.h"
#include "mpcheck.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

struct members {
    size_t n, last_off;
};

static int on_member(void *ctx, const char *key, size_t klen,
                     size_t value_off, char *err, size_t errlen)
{
    struct members *m = ctx;
    (void)err;
    (void)errlen;
    FZ_CHECK(key != NULL || klen == 0);
    FZ_CHECK(m->n == 0 || value_off > m->last_off);
    m->n++;
    m->last_off = value_off;
    return 0;
}

/* The text of the msgpack object in buf as JSON, or -1. */
static int to_json(const unsigned char *buf, size_t len, int nan_null,
                   struct evt_buf *out)
{
    msgpack_zone z;
    msgpack_object o;
    size_t off = 0;
    FZ_CHECK(msgpack_zone_init(&z, 1024));
    int rc = -1;
    if (msgpack_unpack((const char *)buf, len, &off, &z, &o) ==
        MSGPACK_UNPACK_SUCCESS) {
        FZ_CHECK(off == len);
        struct evt_json_style st = {0, nan_null ? EVT_NAN_NULL : EVT_NAN_BARE,
                                    0};
        char err[256];
        rc = evt_json_write(out, &o, &st, err, sizeof err);
    }
    msgpack_zone_destroy(&z);
    return rc;
}

static void round_trip(struct evt__pool *pool, const struct evt_event *e)
{
    size_t used = 0;
    char err[256];
    FZ_CHECK(evt__mp_check(e->buf, e->len, &used, err, sizeof err) == 0);
    FZ_CHECK(used == e->len);

    struct evt_buf text;
    evt_buf_init(&text);
    FZ_CHECK(to_json(e->buf, e->len, 0, &text) == 0);
    struct evt_event *again = evt__event_get(pool);
    FZ_CHECK(again != NULL);
    int rc = evt__json_to_mp(again, text.data, text.len, err, sizeof err);
    if (rc != EVT_OK)
        fprintf(stderr, "re-read failed: %s\n", err);
    FZ_CHECK(rc == EVT_OK);
    FZ_CHECK(again->len == e->len && memcmp(again->buf, e->buf, e->len) == 0);
    evt__event_release(again);
    evt_buf_free(&text);

    evt_buf_init(&text);
    FZ_CHECK(to_json(e->buf, e->len, 1, &text) == 0);
    cJSON *j = cJSON_ParseWithLength(text.data, text.len);
    FZ_CHECK(j != NULL);
    cJSON_Delete(j);
    evt_buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evt__pool *pool = evt__pool_new("fuzz-run");
    FZ_CHECK(pool != NULL);
    char err[256];
    struct evt_event *e = evt__event_get(pool);
    FZ_CHECK(e != NULL);
    if (evt__json_to_mp(e, (const char *)data, size, err, sizeof err) ==
        EVT_OK)
        round_trip(pool, e);
    else
        FZ_CHECK(err[0] != '\0');
    evt__event_release(e);

    e = evt__event_get(pool);
    FZ_CHECK(e != NULL);
    struct members m = {0, 0};
    uint32_t count = 0;
    if (evt__json_members_to_mp(e, (const char *)data, size, on_member, &m,
                                &count, err, sizeof err) == EVT_OK)
        FZ_CHECK(count == m.n);
    evt__event_release(e);
    evt__pool_release(pool);
    return 0;
}
