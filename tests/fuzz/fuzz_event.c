/* fuzz_event.c -- the event decoder and validator: caller-supplied msgpack
 * as evt_msgpack / evt_log_sample_msgpack take it (core/mpcheck.c,
 * core/builder.c), the sdk's event view a sink reads events with
 * (sdk/src/event_view.c), and the JSON writer every format writer uses
 * (sdk/src/json_write.c), in each of its styles.
 * Invariants: what mpcheck accepts, msgpack-c decodes to the same length;
 * the writer's strict output is JSON that cJSON accepts, and a failed
 * write leaves the buffer as it was. */
#include "fuzz_util.h"

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "evtrack/evtrack.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/json_write.h"
#include "mpcheck.h"

static evt_tracker *tracker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[EVT_ERRMSG_SIZE];
    setenv("EVTRACK_LOG", "quiet", 0); /* EVTRACK_LOG=debug to see */
    if (evt_open_json("{\"sinks\": [], \"run_id\": \"fuzz\"}", fz_tmpdir(),
                      &tracker, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        abort();
    }
    return 0;
}

static void check_helpers(const unsigned char *p, size_t len)
{
    uint32_t count;
    size_t hdr, slen, used;
    const char *s;
    int64_t v;
    if (evt__mp_map_header(p, len, &count, &hdr) == 0)
        FZ_CHECK(hdr >= 1 && hdr <= 5 && hdr <= len);
    if (evt__mp_str(p, len, &s, &slen, &used) == 0)
        FZ_CHECK(used <= len && s + slen == (const char *)p + used);
    (void)evt__mp_int(p, len, &v);
}

static void write_styles(const msgpack_object *o)
{
    static const struct evt_json_style styles[] = {
        {0, EVT_NAN_BARE, 0}, {2, EVT_NAN_NULL, 0}, {4, EVT_NAN_NULL, 1},
        {0, EVT_NAN_NULL, 1}};
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
        struct evt_buf b;
        char err[256];
        evt_buf_init(&b);
        evt_buf_put(&b, "x", 1);
        if (evt_json_write(&b, o, &styles[i], err, sizeof err) != 0) {
            FZ_CHECK(b.len == 1 && err[0] != '\0');
        } else if (styles[i].nan == EVT_NAN_NULL) {
            cJSON *j = cJSON_ParseWithLength(b.data + 1, b.len - 1);
            FZ_CHECK(j != NULL);
            cJSON_Delete(j);
        }
        evt_buf_free(&b);
    }
}

static void view(const unsigned char *p, size_t len)
{
    struct evt_view v;
    if (evt_view_open_bytes(&v, p, len) != 0)
        return;
    static const char *const keys[] = {"kind", "task", "doc_id", "seq",
                                       "metrics", "value", ""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const msgpack_object *f = evt_mp_get(&v.root, keys[i]);
        double d;
        int64_t n;
        char *s = evt_mp_strdup(f);
        if (s)
            FZ_CHECK(evt_mp_str_eq(f, s) || memchr(s, 0, f->via.str.size));
        free(s);
        (void)evt_mp_double(f, &d);
        (void)evt_mp_int64(f, &n);
    }
    write_styles(&v.root);
    evt_view_close(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    size_t used = 0;
    if (evt__mp_check(data, size, &used, err, sizeof err) == 0) {
        FZ_CHECK(used >= 1 && used <= size);
        msgpack_zone z;
        msgpack_object o;
        size_t off = 0;
        FZ_CHECK(msgpack_zone_init(&z, 1024));
        FZ_CHECK(msgpack_unpack((const char *)data, used, &off, &z, &o) ==
                 MSGPACK_UNPACK_SUCCESS);
        FZ_CHECK(off == used);
        write_styles(&o);
        msgpack_zone_destroy(&z);
    } else {
        FZ_CHECK(strncmp(err, "msgpack at byte ", 16) == 0);
    }
    check_helpers(data, size);
    view(data, size);

    /* The builder's own checks: a whole sample map, and one value. */
    (void)evt_log_sample_msgpack(tracker, data, size);
    evt_ev *e = evt_begin(tracker, EVT_EV_SAMPLE);
    evt_str(e, "task", "fuzz");
    evt_int(e, "doc_id", 1);
    evt_msgpack(e, "value", data, size);
    (void)evt_commit(e);
    return 0;
}
