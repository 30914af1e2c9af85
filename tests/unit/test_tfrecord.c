/* test_tfrecord.c -- the bytes of plugins/tensorboard-events/tb_encode.c:
 * TensorBoard's TFRecord and masked CRC-32C vectors
 * (shared/vectors/tfrecord/tfrecord_vectors.json), the framed examples
 * (a)-(e) of protocols.md 3.8, protobuf primitives, and hand-encoded
 * Events for the cases 3.8 does not show (2-D text, source_metadata,
 * session_end_info, long tags, steps, oneof defaults, OOM).
 *
 * Expected bytes are written as "specs": hex byte pairs, whitespace
 * ignored, and "quoted" runs of ASCII, so they read like protocols.md. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "evtrack/sdk/crc32c.h"
#include "tb_encode.h"

/* ---- helpers ------------------------------------------------------------ */

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a spec (hex pairs, whitespace, "ASCII") into b. */
static void spec_put(struct evt_buf *b, const char *spec)
{
    for (const char *s = spec; *s;) {
        if (*s == ' ' || *s == '\n') {
            s++;
        } else if (*s == '"') {
            const char *end = strchr(s + 1, '"');
            if (!end)
                fail_msg("unterminated quote in spec: %s", spec);
            evt_buf_put(b, s + 1, (size_t)(end - s - 1));
            s = end + 1;
        } else {
            int hi = hex_val(s[0]), lo = hi < 0 ? -1 : hex_val(s[1]);
            if (lo < 0)
                fail_msg("bad hex at \"%.8s\" in spec", s);
            unsigned char c = (unsigned char)(hi << 4 | lo);
            evt_buf_put(b, &c, 1);
            s += 2;
        }
    }
    assert_false(b->oom);
}

static char *to_hex(const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *u = p;
    char *s = malloc(3 * n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[3 * i] = digits[u[i] >> 4];
        s[3 * i + 1] = digits[u[i] & 15];
        s[3 * i + 2] = ' ';
    }
    s[n ? 3 * n - 1 : 0] = '\0';
    return s;
}

/* got[0..n) must be exactly want[0..m); on mismatch, print both in hex. */
static void expect_mem(const char *what, const void *got, size_t n,
                       const void *want, size_t m)
{
    if (n == m && (n == 0 || memcmp(got, want, n) == 0))
        return;
    size_t at = 0;
    while (at < n && at < m &&
           ((const unsigned char *)got)[at] ==
               ((const unsigned char *)want)[at])
        at++;
    fail_msg("%s: %zu bytes, want %zu; first difference at byte %zu\n"
             "got:  %s\nwant: %s",
             what, n, m, at, to_hex(got, n), to_hex(want, m));
}

static void expect_spec(const char *what, const struct evt_buf *got,
                        const char *spec)
{
    struct evt_buf want;
    evt_buf_init(&want);
    spec_put(&want, spec);
    assert_false(got->oom);
    expect_mem(what, got->data, got->len, want.data, want.len);
    evt_buf_free(&want);
}

static uint64_t le_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* "0x8a9136aa" -> 0x8a9136aa. */
static uint32_t parse_u32(const char *s)
{
    assert_non_null(s);
    char *end;
    unsigned long v = strtoul(s, &end, 16);
    assert_true(end != s && *end == '\0');
    return (uint32_t)v;
}

/* ---- the vectors file --------------------------------------------------- */

static cJSON *load_vectors(void)
{
    char *text = tu_read_shared("vectors/tfrecord/tfrecord_vectors.json");
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

/* A section of the vectors file, with at least min entries. */
static cJSON *section(cJSON *root, const char *name, int min)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(root, name);
    assert_true(cJSON_IsArray(a));
    if (cJSON_GetArraySize(a) < min)
        fail_msg("%s has %d entries, want at least %d", name,
                 cJSON_GetArraySize(a), min);
    return a;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        fail_msg("vector entry without string \"%s\"", key);
    return v->valuestring;
}

/* The bytes of a hex member of o, into b (emptied first). */
static void hex_of(struct evt_buf *b, const cJSON *o, const char *key)
{
    b->len = 0;
    spec_put(b, str_of(o, key));
}

/* What a reader says about one framed record at p[0..n): the checks of
 * protocols.md 3.2, in rustboard's order. */
enum frame_check { FRAME_OK, FRAME_TRUNCATED, FRAME_BAD_LENGTH_CRC,
                   FRAME_BAD_DATA_CRC, FRAME_TRAILING };

static enum frame_check check_frame(const unsigned char *p, size_t n)
{
    if (n < 12)
        return FRAME_TRUNCATED;
    uint64_t len = le_u64(p);
    if (le_u32(p + 8) != evt_crc32c_mask(evt_crc32c(0, p, 8)))
        return FRAME_BAD_LENGTH_CRC;
    if (n < 16 || n - 16 < len)
        return FRAME_TRUNCATED;
    if (n - 16 != len)
        return FRAME_TRAILING;
    if (le_u32(p + 12 + len) != evt_crc32c_mask(evt_crc32c(0, p + 12, len)))
        return FRAME_BAD_DATA_CRC;
    return FRAME_OK;
}

/* ---- vectors: CRCs ------------------------------------------------------ */

static void test_crc_vectors(void **state)
{
    (void)state;
    cJSON *root = load_vectors();
    struct evt_buf data;
    evt_buf_init(&data);
    const cJSON *v;
    cJSON_ArrayForEach(v, section(root, "crc_vectors", 2))
    {
        hex_of(&data, v, "data_hex");
        uint32_t crc = evt_crc32c(0, data.data, data.len);
        assert_int_equal(crc, parse_u32(str_of(v, "crc32c")));
        assert_int_equal(evt_crc32c_mask(crc),
                         parse_u32(str_of(v, "masked_crc32c")));
    }
    evt_buf_free(&data);
    cJSON_Delete(root);
}

/* ---- vectors: framed records -------------------------------------------- */

/* Frame every entry of a records section; each alone, and all of them
 * appended one after the other to one buffer (no padding between). */
static void check_records(cJSON *root, const char *name, int min)
{
    struct evt_buf payload, want, got, all, all_want;
    evt_buf_init(&payload);
    evt_buf_init(&want);
    evt_buf_init(&got);
    evt_buf_init(&all);
    evt_buf_init(&all_want);
    const cJSON *r;
    cJSON_ArrayForEach(r, section(root, name, min))
    {
        hex_of(&payload, r, "payload_hex");
        hex_of(&want, r, "framed_hex");
        const cJSON *len = cJSON_GetObjectItemCaseSensitive(r, "length");
        assert_true(cJSON_IsNumber(len));
        assert_int_equal(payload.len, (size_t)len->valuedouble);

        got.len = 0;
        tb_record_frame(&got, payload.data, payload.len);
        expect_mem(str_of(r, "name"), got.data, got.len, want.data,
                   want.len);
        assert_int_equal(got.len, payload.len + TB_RECORD_OVERHEAD);
        /* the entry's own CRC fields agree with where they sit */
        const unsigned char *g = (const unsigned char *)got.data;
        assert_int_equal(le_u32(g + 8),
                         parse_u32(str_of(r, "length_crc_masked")));
        assert_int_equal(le_u32(g + 12 + payload.len),
                         parse_u32(str_of(r, "data_crc_masked")));
        assert_int_equal(check_frame(g, got.len), FRAME_OK);

        tb_record_frame(&all, payload.data, payload.len);
        evt_buf_put(&all_want, want.data, want.len);
    }
    assert_false(all.oom);
    expect_mem(name, all.data, all.len, all_want.data, all_want.len);
    evt_buf_free(&payload);
    evt_buf_free(&want);
    evt_buf_free(&got);
    evt_buf_free(&all);
    evt_buf_free(&all_want);
}

static void test_records(void **state)
{
    (void)state;
    cJSON *root = load_vectors();
    check_records(root, "records", 2);
    check_records(root, "computed_records", 4);
    cJSON_Delete(root);
}

/* The hex after "marker" in s, e.g. "want 0x" -> 0x554b7f99. */
static uint32_t hex_after(const char *s, const char *marker)
{
    const char *p = strstr(s, marker);
    if (!p)
        fail_msg("no \"%s\" in \"%s\"", marker, s);
    return (uint32_t)strtoul(p + strlen(marker), NULL, 16);
}

/* A corrupt record carries the 24-byte payload of a correct record but a
 * wrong stored CRC. Check that our reader check rejects it for the reason
 * the vector names, that re-framing its payload gives different bytes in
 * exactly that CRC, and that the "stored" and "computed" values quoted in
 * "expect" are the ones in the bytes and the ones tb_record_frame writes. */
static void test_corrupt_records(void **state)
{
    (void)state;
    cJSON *root = load_vectors();
    struct evt_buf bad, good;
    evt_buf_init(&bad);
    evt_buf_init(&good);
    int seen_length = 0, seen_data = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, section(root, "corrupt_records", 2))
    {
        const char *name = str_of(r, "name");
        const char *expect = str_of(r, "expect");
        hex_of(&bad, r, "framed_hex");
        const unsigned char *b = (const unsigned char *)bad.data;
        assert_true(bad.len >= TB_RECORD_OVERHEAD);
        uint64_t len = le_u64(b);
        assert_int_equal(bad.len, len + TB_RECORD_OVERHEAD);

        good.len = 0;
        tb_record_frame(&good, b + 12, (size_t)len);
        const unsigned char *g = (const unsigned char *)good.data;
        assert_int_equal(good.len, bad.len);
        assert_memory_not_equal(g, b, bad.len);
        assert_memory_equal(g + 12, b + 12, (size_t)len); /* same data */

        int is_length = strstr(name, "length") != NULL;
        size_t at = is_length ? 8 : 12 + (size_t)len; /* the bad CRC */
        uint32_t stored = hex_after(expect, "want 0x");
        uint32_t computed = hex_after(
            expect, is_length ? "got 0x" : "computed here: 0x");
        assert_int_equal(le_u32(b + at), stored);
        assert_int_equal(le_u32(g + at), computed);
        assert_int_not_equal(stored, computed);
        assert_int_equal(check_frame(b, bad.len),
                         is_length ? FRAME_BAD_LENGTH_CRC
                                   : FRAME_BAD_DATA_CRC);
        if (!is_length) /* only the data CRC is wrong */
            assert_memory_equal(g, b, 12 + (size_t)len);
        seen_length += is_length;
        seen_data += !is_length;
    }
    assert_int_equal(seen_length, 1);
    assert_int_equal(seen_data, 1);
    evt_buf_free(&bad);
    evt_buf_free(&good);
    cJSON_Delete(root);
}

/* The two official event records, produced by the Event encoders. */
static void test_official_events(void **state)
{
    (void)state;
    cJSON *root = load_vectors();
    cJSON *recs = section(root, "records", 2);
    struct evt_buf want, ev, got;
    evt_buf_init(&want);
    evt_buf_init(&ev);
    evt_buf_init(&got);

    /* record 1: Event{wall_time=1599759586.0, file_version} */
    hex_of(&want, cJSON_GetArrayItem(recs, 0), "framed_hex");
    tb_event_file_version(&ev, 1599759586.0, NULL);
    tb_record_frame(&got, ev.data, ev.len);
    expect_mem("official file_version", got.data, got.len, want.data,
               want.len);

    /* record 2, tf.summary.scalar("accuracy", 0.99, step=77): TensorFlow
     * writes tensor_content (22 04 ...), we write float_val (2a 04 ...);
     * every other byte is the same. */
    hex_of(&want, cJSON_GetArrayItem(recs, 1), "payload_hex");
    unsigned char *w = (unsigned char *)want.data;
    double wall;
    uint64_t bits = le_u64(w + 1);
    memcpy(&wall, &bits, sizeof wall);
    const unsigned char content[] = {0x22, 0x04, 0xa4, 0x70, 0x7d, 0x3f};
    unsigned char *at = NULL;
    for (size_t i = 0; i + sizeof content <= want.len && !at; i++)
        if (memcmp(w + i, content, sizeof content) == 0)
            at = w + i;
    assert_non_null(at);
    *at = 0x2a;
    ev.len = 0;
    tb_event_scalar(&ev, wall, 77, "accuracy", 8, 0.99f, TB_SCALAR_TENSOR);
    expect_mem("official scalar, float_val form", ev.data, ev.len,
               want.data, want.len);

    evt_buf_free(&want);
    evt_buf_free(&ev);
    evt_buf_free(&got);
    cJSON_Delete(root);
}

/* ---- protocols.md 3.8, framed ------------------------------------------- */

/* Frame the Event in ev and compare with the spec. */
static void expect_framed(const char *what, const struct evt_buf *ev,
                          const char *spec)
{
    struct evt_buf got;
    evt_buf_init(&got);
    assert_false(ev->oom);
    tb_record_frame(&got, ev->data, ev->len);
    expect_spec(what, &got, spec);
    evt_buf_free(&got);
}

static void test_example_a_file_version(void **state)
{
    (void)state;
    struct evt_buf ev;
    evt_buf_init(&ev);
    tb_event_file_version(&ev, 1700000000.0, NULL);
    expect_framed("3.8 (a)", &ev,
                  "18 00 00 00 00 00 00 00  a3 7f 4b 22"
                  "09 00 00 00 40 fc 54 d9 41"
                  "1a 0d 62 72 61 69 6e 2e 45 76 65 6e 74 3a 32"
                  "ec ed 8f 9d");
    /* an empty writer is no writer */
    ev.len = 0;
    tb_event_file_version(&ev, 1700000000.0, "");
    expect_spec("file_version, writer \"\"", &ev,
                "09 00 00 00 40 fc 54 d9 41 1a 0d \"brain.Event:2\"");
    evt_buf_free(&ev);
}

static void test_example_b_simple_scalar(void **state)
{
    (void)state;
    struct evt_buf ev;
    evt_buf_init(&ev);
    /* tag_len counts: the bytes after it are not part of the tag */
    tb_event_scalar(&ev, 1700000001.5, 3, "eval/accuracy", 8, 0.75f,
                    TB_SCALAR_SIMPLE);
    expect_framed("3.8 (b)", &ev,
                  "1e 00 00 00 00 00 00 00  d9 dc 12 32"
                  "09 00 00 60 40 fc 54 d9 41   10 03   2a 11 0a 0f 0a 08 "
                  "65 76 61 6c 2f 61 63 63 15 00 00 40 3f"
                  "68 6d 11 d3");
    evt_buf_free(&ev);
}

static void test_example_c_tensor_scalar(void **state)
{
    (void)state;
    struct evt_buf ev;
    evt_buf_init(&ev);
    tb_event_scalar(&ev, 1700000001.5, 3, "eval/acc", 8, 0.75f,
                    TB_SCALAR_TENSOR);
    expect_framed("3.8 (c)", &ev,
                  "32 00 00 00 00 00 00 00  24 19 56 ec"
                  "09 00 00 60 40 fc 54 d9 41 10 03 2a 25 0a 23 0a 08 65 76 "
                  "61 6c 2f 61 63 63"
                  "42 0a 08 01 12 00 2a 04 00 00 40 3f 4a 0b 0a 09 0a 07 73 "
                  "63 61 6c 61 72 73"
                  "e4 fc c5 96");
    evt_buf_free(&ev);
}

static void test_example_d_text(void **state)
{
    (void)state;
    struct evt_buf ev;
    evt_buf_init(&ev);
    const int64_t dims[] = {1};
    const char *const strs[] = {"hello **world**"};
    tb_event_text(&ev, 1700000002.0, 0, "config/text_summary", dims, 1,
                  strs, 1);
    expect_framed("3.8 (d)", &ev,
                  "47 00 00 00 00 00 00 00  ba c3 fb 9b"
                  "09 00 00 80 40 fc 54 d9 41 2a 3c 0a 3a 0a 13 63 6f 6e 66 "
                  "69 67 2f 74 65 78 74 5f 73 75 6d 6d 61 72 79"
                  "42 19 08 07 12 04 12 02 08 01 42 0f 68 65 6c 6c 6f 20 2a "
                  "2a 77 6f 72 6c 64 2a 2a"
                  "4a 08 0a 06 0a 04 74 65 78 74"
                  "1b ec 02 f5");
    evt_buf_free(&ev);
}

static void test_example_e_hparams(void **state)
{
    (void)state;
    struct evt_buf ev;
    evt_buf_init(&ev);
    const struct tb_hparam hp[] = {
        {.key = "lr", .kind = TB_HP_NUMBER, .number = 0.001},
        {.key = "model", .kind = TB_HP_STRING, .string = "gpt2"},
    };
    tb_event_hparams_start(&ev, 1700000000.0, hp, 2, NULL, 1700000000.0);
    expect_framed("3.8 (e)", &ev,
                  "6f 00 00 00 00 00 00 00  6c 31 81 de"
                  "09 00 00 00 40 fc 54 d9 41 2a 64 0a 62"
                  "  0a 1c \"_hparams_/session_start_info\""
                  "  42 06 08 01 12 02 12 00"
                  "  4a 3a 0a 38 0a 07 \"hparams\" 12 2d"
                  "     1a 2b"
                  "        0a 0f 0a 02 \"lr\" 12 09 11 fc a9 f1 d2 4d 62 50 3f"
                  "        0a 0f 0a 05 \"model\" 12 06 1a 04 \"gpt2\""
                  "        29 00 00 00 40 fc 54 d9 41"
                  "ab 54 1f 19");
    /* "" as group name is no group name */
    struct evt_buf ev2;
    evt_buf_init(&ev2);
    tb_event_hparams_start(&ev2, 1700000000.0, hp, 2, "", 1700000000.0);
    expect_mem("group_name \"\"", ev2.data, ev2.len, ev.data, ev.len);
    evt_buf_free(&ev2);
    evt_buf_free(&ev);
}

/* ---- protobuf primitives ------------------------------------------------ */

static void expect_varint(uint64_t v, const char *spec)
{
    struct evt_buf b;
    evt_buf_init(&b);
    evt_pb_varint(&b, v);
    char what[48];
    snprintf(what, sizeof what, "varint %llu", (unsigned long long)v);
    expect_spec(what, &b, spec);
    assert_int_equal(evt_pb_varint_size(v), b.len);
    evt_buf_free(&b);
}

static void test_pb_varint(void **state)
{
    (void)state;
    expect_varint(0, "00");
    expect_varint(1, "01");
    expect_varint(127, "7f");
    expect_varint(128, "80 01");
    expect_varint(300, "ac 02");
    expect_varint(16383, "ff 7f");
    expect_varint(16384, "80 80 01");
    expect_varint(UINT64_C(1) << 63, "80 80 80 80 80 80 80 80 80 01");
    expect_varint(UINT64_MAX, "ff ff ff ff ff ff ff ff ff 01");

    /* evt_pb_varint_size at every 7-bit boundary: 2^(7k)-1 and 2^(7k) */
    struct evt_buf b;
    evt_buf_init(&b);
    for (unsigned k = 1; k <= 9; k++) {
        uint64_t edge = UINT64_C(1) << (7 * k);
        assert_int_equal(evt_pb_varint_size(edge - 1), k);
        assert_int_equal(evt_pb_varint_size(edge), k + 1);
        b.len = 0;
        evt_pb_varint(&b, edge - 1);
        assert_int_equal(b.len, k);
        b.len = 0;
        evt_pb_varint(&b, edge);
        assert_int_equal(b.len, k + 1);
    }
    evt_buf_free(&b);
}

static void test_pb_fields(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);

    evt_pb_key(&b, 1, EVT_PB_FIXED64);
    evt_pb_key(&b, 5, EVT_PB_LEN);
    evt_pb_key(&b, 10, EVT_PB_LEN);
    evt_pb_key(&b, 2, EVT_PB_FIXED32);
    evt_pb_key(&b, 15, EVT_PB_VARINT);
    evt_pb_key(&b, 16, EVT_PB_VARINT); /* first two-byte key */
    evt_pb_key(&b, (UINT32_C(1) << 29) - 1, EVT_PB_LEN); /* largest field */
    expect_spec("keys", &b, "09 2a 52 15 78 80 01 fa ff ff ff 0f");

    b.len = 0;
    evt_pb_int(&b, 2, 3);
    evt_pb_int(&b, 2, 0); /* a primitive writes what it is given */
    evt_pb_int(&b, 2, -1);
    evt_pb_int(&b, 2, INT64_MIN);
    evt_pb_int(&b, 2, INT64_MAX);
    expect_spec("int64", &b,
                "10 03  10 00"
                "10 ff ff ff ff ff ff ff ff ff 01"
                "10 80 80 80 80 80 80 80 80 80 01"
                "10 ff ff ff ff ff ff ff ff 7f");

    b.len = 0;
    evt_pb_double(&b, 1, 1700000000.0);
    evt_pb_double(&b, 5, 0.001);
    evt_pb_double(&b, 1, -2.0);
    evt_pb_float(&b, 2, 0.75f);
    evt_pb_float(&b, 2, -1.0f);
    expect_spec("double, float", &b,
                "09 00 00 00 40 fc 54 d9 41"
                "29 fc a9 f1 d2 4d 62 50 3f"
                "09 00 00 00 00 00 00 00 c0"
                "15 00 00 40 3f  15 00 00 80 bf");

    b.len = 0;
    evt_pb_str(&b, 1, "eval/acc");
    evt_pb_str(&b, 3, ""); /* written: omission is the caller's choice */
    evt_pb_str(&b, 3, NULL);
    evt_pb_bytes(&b, 4, "\0\1\2", 3);
    evt_pb_bytes(&b, 4, NULL, 0);
    expect_spec("bytes, strings", &b,
                "0a 08 \"eval/acc\" 1a 00 1a 00 22 03 00 01 02 22 00");

    /* a 200-byte string: two-byte length */
    char s[201];
    memset(s, 'x', 200);
    s[200] = '\0';
    b.len = 0;
    evt_pb_str(&b, 1, s);
    assert_int_equal(b.len, 3 + 200);
    assert_memory_equal(b.data, "\x0a\xc8\x01", 3);
    assert_memory_equal(b.data + 3, s, 200);
    evt_buf_free(&b);
}

/* ---- Events beyond 3.8 -------------------------------------------------- */

static void test_scalar_steps(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    const char *wall = "09 00 00 60 40 fc 54 d9 41"; /* 1700000001.5 */
    const char *value = "2a 11 0a 0f 0a 08 \"eval/acc\" 15 00 00 40 3f";
    char *spec;

    tb_event_scalar(&b, 1700000001.5, 0, "eval/acc", 8, 0.75f,
                    TB_SCALAR_SIMPLE);
    spec = tu_fmt("%s %s", wall, value); /* step 0: no field 2 */
    expect_spec("step 0", &b, spec);
    free(spec);

    b.len = 0;
    tb_event_scalar(&b, 1700000001.5, 1, "eval/acc", 8, 0.75f,
                    TB_SCALAR_SIMPLE);
    spec = tu_fmt("%s 10 01 %s", wall, value);
    expect_spec("step 1", &b, spec);
    free(spec);

    b.len = 0;
    tb_event_scalar(&b, 1700000001.5, 300, "eval/acc", 8, 0.75f,
                    TB_SCALAR_SIMPLE);
    spec = tu_fmt("%s 10 ac 02 %s", wall, value);
    expect_spec("step 300", &b, spec);
    free(spec);

    /* negative step: 10-byte varint; wall_time 0.0 omitted; simple_value
     * 0.0 kept (a oneof member is written even at its default) */
    b.len = 0;
    tb_event_scalar(&b, 0.0, -1, "t", 1, 0.0f, TB_SCALAR_SIMPLE);
    expect_spec("step -1, wall 0, value 0", &b,
                "10 ff ff ff ff ff ff ff ff ff 01"
                "2a 0a 0a 08 0a 01 74 15 00 00 00 00");

    /* an empty tag is omitted, as proto3 omits "" */
    b.len = 0;
    tb_event_scalar(&b, 0.0, 0, "", 0, 0.75f, TB_SCALAR_SIMPLE);
    expect_spec("empty tag", &b, "2a 07 0a 05 15 00 00 40 3f");
    b.len = 0;
    tb_event_scalar(&b, 0.0, 0, NULL, 0, 0.75f, TB_SCALAR_TENSOR);
    expect_spec("empty tag, tensor", &b,
                "2a 1b 0a 19 42 0a 08 01 12 00 2a 04 00 00 40 3f"
                "4a 0b 0a 09 0a 07 \"scalars\"");
    evt_buf_free(&b);
}

/* b must be head, then n copies of c, then tail. */
static void expect_around(const char *what, const struct evt_buf *b,
                          const char *head, char c, size_t n,
                          const char *tail)
{
    struct evt_buf want;
    evt_buf_init(&want);
    spec_put(&want, head);
    for (size_t i = 0; i < n; i++)
        evt_buf_put(&want, &c, 1);
    spec_put(&want, tail);
    assert_false(b->oom);
    expect_mem(what, b->data, b->len, want.data, want.len);
    evt_buf_free(&want);
}

static void test_long_tags(void **state)
{
    (void)state;
    char tag[201];
    memset(tag, 'a', 200);
    tag[200] = '\0';
    struct evt_buf b;
    evt_buf_init(&b);

    /* 130-byte tag: Value 138 = 8a 01, Summary 141 = 8d 01 */
    tb_event_scalar(&b, 1700000000.0, 1, tag, 130, 1.0f, TB_SCALAR_SIMPLE);
    expect_around("130-byte tag, simple", &b,
                  "09 00 00 00 40 fc 54 d9 41 10 01 2a 8d 01 0a 8a 01 "
                  "0a 82 01",
                  'a', 130, "15 00 00 80 3f");

    /* the same, tensor form: Value 158 = 9e 01, Summary 161 = a1 01 */
    b.len = 0;
    tb_event_scalar(&b, 1700000000.0, 1, tag, 130, 1.0f, TB_SCALAR_TENSOR);
    expect_around("130-byte tag, tensor", &b,
                  "09 00 00 00 40 fc 54 d9 41 10 01 2a a1 01 0a 9e 01 "
                  "0a 82 01",
                  'a', 130,
                  "42 0a 08 01 12 00 2a 04 00 00 80 3f "
                  "4a 0b 0a 09 0a 07 \"scalars\"");

    /* 120-byte tag: Value is 127 (one byte), Summary 129 (two) */
    b.len = 0;
    tb_event_scalar(&b, 0.0, 0, tag, 120, 0.75f, TB_SCALAR_SIMPLE);
    expect_around("120-byte tag", &b, "2a 81 01 0a 7f 0a 78", 'a', 120,
                  "15 00 00 40 3f");

    /* text, 200-byte tag, rank 0: Value 222 = de 01, Summary 225 */
    b.len = 0;
    const char *const strs[] = {"x"};
    tb_event_text(&b, 0.0, 0, tag, NULL, 0, strs, 1);
    expect_around("200-byte tag, text", &b, "2a e1 01 0a de 01 0a c8 01",
                  'a', 200,
                  "42 07 08 07 12 00 42 01 78 4a 08 0a 06 0a 04 \"text\"");
    evt_buf_free(&b);
}

static void test_text_table(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    const int64_t dims[] = {2, 3};
    const char *const strs[] = {"a", "b", "c", "d", "e", "f"};
    tb_event_text(&b, 1700000003.0, 5, "t", dims, 2, strs, 6);
    expect_spec("text [2,3]", &b,
                "09 00 00 c0 40 fc 54 d9 41 10 05 2a 2f 0a 2d 0a 01 74"
                "42 1e 08 07 12 08 12 02 08 02 12 02 08 03"
                "42 01 61 42 01 62 42 01 63 42 01 64 42 01 65 42 01 66"
                "4a 08 0a 06 0a 04 \"text\"");

    /* rank 0: tensor_shape {} is still written (12 00); an empty string
     * element is kept (42 00); a 0 dim size leaves an empty Dim (12 00) */
    b.len = 0;
    const char *const one[] = {""};
    tb_event_text(&b, 0.0, 0, "t", NULL, 0, one, 1);
    expect_spec("text rank 0, \"\"", &b,
                "2a 17 0a 15 0a 01 74 42 06 08 07 12 00 42 00"
                "4a 08 0a 06 0a 04 \"text\"");
    b.len = 0;
    const int64_t zero[] = {0};
    tb_event_text(&b, 0.0, 0, "t", zero, 1, NULL, 0);
    expect_spec("text [0]", &b,
                "2a 17 0a 15 0a 01 74 42 06 08 07 12 02 12 00"
                "4a 08 0a 06 0a 04 \"text\"");
    evt_buf_free(&b);
}

static void test_file_version_writer(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    tb_event_file_version(&b, 1700000000.0, "evtrack");
    expect_spec("file_version + source_metadata", &b,
                "09 00 00 00 40 fc 54 d9 41 1a 0d \"brain.Event:2\""
                "52 09 0a 07 \"evtrack\"");
    /* frame CRCs from an independent bitwise CRC-32C (Python), checked
     * against the 32-zero-bytes vector */
    expect_framed("file_version + source_metadata, framed", &b,
                  "23 00 00 00 00 00 00 00 b0 9f 77 43"
                  "09 00 00 00 40 fc 54 d9 41 1a 0d \"brain.Event:2\""
                  "52 09 0a 07 \"evtrack\" 3b 19 56 d6");
    evt_buf_free(&b);
}

static void test_hparams_kinds(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    /* bool, number 0 and "" are oneof members: kept at their defaults;
     * group_name set; start_time_secs 0 and wall_time 0 omitted */
    const struct tb_hparam hp[] = {
        {.key = "b", .kind = TB_HP_BOOL, .boolean = 7},
        {.key = "z", .kind = TB_HP_NUMBER, .number = 0.0},
        {.key = "s", .kind = TB_HP_STRING, .string = ""},
    };
    tb_event_hparams_start(&b, 0.0, hp, 3, "grp", 0.0);
    expect_spec("hparams kinds", &b,
                "2a 60 0a 5e 0a 1c \"_hparams_/session_start_info\""
                "42 06 08 01 12 02 12 00"
                "4a 36 0a 34 0a 07 \"hparams\" 12 29 1a 27"
                "0a 07 0a 01 \"b\" 12 02 20 01"
                "0a 0e 0a 01 \"z\" 12 09 11 00 00 00 00 00 00 00 00"
                "0a 07 0a 01 \"s\" 12 02 1a 00"
                "22 03 \"grp\"");
    evt_buf_free(&b);
}

static void test_hparams_end(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    tb_event_hparams_end(&b, 1700000100.0, TB_STATUS_SUCCESS, 1700000100.0);
    expect_spec("session_end_info", &b,
                "09 00 00 00 59 fc 54 d9 41 2a 42 0a 40"
                "0a 1a \"_hparams_/session_end_info\""
                "42 06 08 01 12 02 12 00"
                "4a 1a 0a 18 0a 07 \"hparams\" 12 0d"
                "22 0b 08 01 11 00 00 00 59 fc 54 d9 41");

    /* UNKNOWN and end 0 omitted: session_end_info {} is still set */
    b.len = 0;
    tb_event_hparams_end(&b, 1700000100.0, TB_STATUS_UNKNOWN, 0.0);
    expect_spec("session_end_info {}", &b,
                "09 00 00 00 59 fc 54 d9 41 2a 37 0a 35"
                "0a 1a \"_hparams_/session_end_info\""
                "42 06 08 01 12 02 12 00"
                "4a 0f 0a 0d 0a 07 \"hparams\" 12 02 22 00");
    evt_buf_free(&b);
}

/* Encoders append: what the buffer held stays in front. */
static void test_appends(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, "XY");
    tb_event_scalar(&b, 0.0, 0, "t", 1, 0.75f, TB_SCALAR_SIMPLE);
    evt_pb_varint(&b, 1);
    expect_spec("appended", &b,
                "\"XY\" 2a 0a 0a 08 0a 01 74 15 00 00 40 3f 01");
    assert_int_equal(b.data[b.len], '\0');
    evt_buf_free(&b);
}

/* OOM without failing malloc: evt_buf refuses (oom) a put that would
 * overflow its size, before allocating. The calls below append their
 * first parts, then such a put fails; the content must be as before. */
static void test_oom(void **state)
{
    (void)state;
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, "abc");
    const char small[] = "x";

    evt_pb_bytes(&b, 1, small, SIZE_MAX - 8); /* key, length, then fails */
    assert_true(b.oom);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");

    b.oom = 0;
    tb_record_frame(&b, small, SIZE_MAX - 1); /* header, then fails */
    assert_true(b.oom);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");

    b.oom = 0;
    tb_event_scalar(&b, 1.0, 1, small, SIZE_MAX / 2, 1.0f,
                    TB_SCALAR_TENSOR);
    assert_true(b.oom);
    assert_int_equal(b.len, 3);

    /* once oom, every call leaves the buffer alone */
    const int64_t dims[] = {1};
    const char *const strs[] = {"s"};
    const struct tb_hparam hp[] = {{.key = "k", .kind = TB_HP_BOOL}};
    evt_pb_varint(&b, 1);
    evt_pb_int(&b, 1, -1);
    evt_pb_str(&b, 1, "s");
    tb_record_frame(&b, "s", 1);
    tb_event_file_version(&b, 1.0, "w");
    tb_event_scalar(&b, 1.0, 1, "t", 1, 1.0f, TB_SCALAR_SIMPLE);
    tb_event_text(&b, 1.0, 1, "t", dims, 1, strs, 1);
    tb_event_hparams_start(&b, 1.0, hp, 1, "g", 1.0);
    tb_event_hparams_end(&b, 1.0, TB_STATUS_FAILURE, 1.0);
    assert_true(b.oom);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    evt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_vectors),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_corrupt_records),
        cmocka_unit_test(test_official_events),
        cmocka_unit_test(test_example_a_file_version),
        cmocka_unit_test(test_example_b_simple_scalar),
        cmocka_unit_test(test_example_c_tensor_scalar),
        cmocka_unit_test(test_example_d_text),
        cmocka_unit_test(test_example_e_hparams),
        cmocka_unit_test(test_pb_varint),
        cmocka_unit_test(test_pb_fields),
        cmocka_unit_test(test_scalar_steps),
        cmocka_unit_test(test_long_tags),
        cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_file_version_writer),
        cmocka_unit_test(test_hparams_kinds),
        cmocka_unit_test(test_hparams_end),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
