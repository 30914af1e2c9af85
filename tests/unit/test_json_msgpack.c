/* test_json_msgpack.c -- the streaming JSON -> msgpack reader
 * (core/json_msgpack.c) and the UTF-8 validator (core/utf8.c).
 *
 * Every conversion is checked against the exact msgpack bytes expected:
 * shortest integer and string headers, float64 for anything with a '.' or
 * an exponent, map32/array32 containers (their counts are patched), and
 * member order as in the text. Errors must be EVT_EINVAL with a message
 * "JSON line L column C: reason". */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <msgpack.h>

#include "event.h"
#include "json_msgpack.h"
#include "mpwrite.h"
#include "utf8.h"

static struct evt__pool *pool;

static int group_setup(void **state)
{
    (void)state;
    pool = evt__pool_new("r");
    return pool ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    evt__pool_release(pool);
    pool = NULL;
    return 0;
}

static char *hex(const unsigned char *p, size_t n)
{
    size_t shown = n > 400 ? 400 : n;
    char *s = malloc(shown * 3 + 8);
    assert_non_null(s);
    size_t o = 0;
    for (size_t i = 0; i < shown; i++)
        o += (size_t)snprintf(s + o, 4, "%02x ", p[i]);
    snprintf(s + o, 8, "%s", shown < n ? "..." : "");
    return s;
}

/* Convert text[0..len) and require exactly the bytes exp[0..n). */
static void expect_mp(const char *text, size_t len, const unsigned char *exp,
                      size_t n)
{
    struct evt_event *e = evt__event_get(pool);
    assert_non_null(e);
    char err[256] = "";
    int rc = evt__json_to_mp(e, text, len, err, sizeof err);
    if (rc != 0) {
        print_error("input %.60s: rc %d: %s\n", text, rc, err);
        fail();
    }
    if (e->len != n || memcmp(e->buf, exp, n) != 0) {
        char *got = hex(e->buf, e->len), *want = hex(exp, n);
        print_error("input %.60s\n  got  (%zu) %s\n  want (%zu) %s\n", text,
                    e->len, got, n, want);
        free(got);
        free(want);
        fail();
    }
    evt__event_release(e);
}

#define EXPECT_MP(lit, ...)                                                   \
    do {                                                                      \
        static const unsigned char exp_[] = {__VA_ARGS__};                    \
        expect_mp(lit, sizeof(lit) - 1, exp_, sizeof exp_);                   \
    } while (0)

/* Convert and require EVT_EINVAL with exactly the message msg. */
static void expect_err(const char *text, size_t len, const char *msg)
{
    struct evt_event *e = evt__event_get(pool);
    assert_non_null(e);
    char err[256] = "";
    int rc = evt__json_to_mp(e, text, len, err, sizeof err);
    evt__event_release(e);
    if (rc != EVT_EINVAL || strcmp(err, msg) != 0) {
        print_error("input %.60s\n  got  rc %d \"%s\"\n  want rc %d \"%s\"\n",
                    text, rc, err, EVT_EINVAL, msg);
        fail();
    }
}

#define EXPECT_ERR(lit, msg) expect_err(lit, sizeof(lit) - 1, msg)

/* Convert and require EVT_EINVAL with a message that starts with
 * "JSON line 1 column " and contains reason. */
static void expect_err_reason(const char *text, size_t len,
                              const char *reason)
{
    struct evt_event *e = evt__event_get(pool);
    assert_non_null(e);
    char err[256] = "";
    int rc = evt__json_to_mp(e, text, len, err, sizeof err);
    evt__event_release(e);
    if (rc != EVT_EINVAL ||
        strncmp(err, "JSON line 1 column ", 19) != 0 ||
        !strstr(err, reason)) {
        print_error("input %.60s\n  got rc %d \"%s\"\n  want reason \"%s\"\n",
                    text, rc, err, reason);
        fail();
    }
}

/* ---- integers ---------------------------------------------------------------*/

static void test_ints_positive_shortest(void **state)
{
    (void)state;
    EXPECT_MP("0", 0x00);
    EXPECT_MP("1", 0x01);
    EXPECT_MP("127", 0x7f);
    EXPECT_MP("128", 0xcc, 0x80);
    EXPECT_MP("255", 0xcc, 0xff);
    EXPECT_MP("256", 0xcd, 0x01, 0x00);
    EXPECT_MP("65535", 0xcd, 0xff, 0xff);
    EXPECT_MP("65536", 0xce, 0x00, 0x01, 0x00, 0x00);
    EXPECT_MP("4294967295", 0xce, 0xff, 0xff, 0xff, 0xff);
    EXPECT_MP("4294967296", 0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
              0x00);
    EXPECT_MP("9223372036854775807", 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff);
    EXPECT_MP("18446744073709551615", 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff);
    /* "-0" is the integer zero (as in Python's json). */
    EXPECT_MP("-0", 0x00);
}

static void test_ints_negative_shortest(void **state)
{
    (void)state;
    EXPECT_MP("-1", 0xff);
    EXPECT_MP("-32", 0xe0);
    EXPECT_MP("-33", 0xd0, 0xdf);
    EXPECT_MP("-128", 0xd0, 0x80);
    EXPECT_MP("-129", 0xd1, 0xff, 0x7f);
    EXPECT_MP("-32768", 0xd1, 0x80, 0x00);
    EXPECT_MP("-32769", 0xd2, 0xff, 0xff, 0x7f, 0xff);
    EXPECT_MP("-2147483648", 0xd2, 0x80, 0x00, 0x00, 0x00);
    EXPECT_MP("-2147483649", 0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff,
              0xff);
    EXPECT_MP("-9223372036854775808", 0xd3, 0x80, 0x00, 0x00, 0x00, 0x00,
              0x00, 0x00, 0x00);
}

/* Integers msgpack cannot hold fall back to float64, never wrap. */
static void test_ints_out_of_range_become_float(void **state)
{
    (void)state;
    /* 2^64 = 0x43f0000000000000 */
    EXPECT_MP("18446744073709551616", 0xcb, 0x43, 0xf0, 0x00, 0x00, 0x00,
              0x00, 0x00, 0x00);
    /* -2^63 - 1 rounds to -2^63 = 0xc3e0000000000000 */
    EXPECT_MP("-9223372036854775809", 0xcb, 0xc3, 0xe0, 0x00, 0x00, 0x00,
              0x00, 0x00, 0x00);
}

/* ---- floats -----------------------------------------------------------------*/

static void test_floats_are_float64(void **state)
{
    (void)state;
    EXPECT_MP("1.0", 0xcb, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("1e3", 0xcb, 0x40, 0x8f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("1E3", 0xcb, 0x40, 0x8f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("1e+3", 0xcb, 0x40, 0x8f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("2.5e-1", 0xcb, 0x3f, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("0.1", 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a);
    EXPECT_MP("-2.5", 0xcb, 0xc0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("0.0", 0xcb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    /* the sign of zero survives */
    EXPECT_MP("-0.0", 0xcb, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    /* overflow gives +-Infinity, underflow zero (docs/EVENTS.md 4) */
    EXPECT_MP("1e999", 0xcb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("-1e999", 0xcb, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("1e-999", 0xcb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
}

/* Documented leniencies: leading zeros and a trailing '.' are accepted. */
static void test_lenient_numbers(void **state)
{
    (void)state;
    EXPECT_MP("01", 0x01);
    EXPECT_MP("-01", 0xff);
    EXPECT_MP("007", 0x07);
    EXPECT_MP("1.", 0xcb, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    EXPECT_MP("[1.,2]", 0xdd, 0, 0, 0, 2, 0xcb, 0x3f, 0xf0, 0x00, 0x00, 0x00,
              0x00, 0x00, 0x00, 0x02);
}

static void test_nan_infinity_accepted(void **state)
{
    (void)state;
    EXPECT_MP("Infinity", 0xcb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00,
              0x00);
    EXPECT_MP("-Infinity", 0xcb, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00,
              0x00);
    /* NaN: a float64 whose value is NaN (payload bits not pinned). */
    struct evt_event *e = evt__event_get(pool);
    char err[256] = "";
    assert_int_equal(evt__json_to_mp(e, "NaN", 3, err, sizeof err), 0);
    assert_int_equal(e->len, 9);
    assert_int_equal(e->buf[0], 0xcb);
    uint64_t bits = 0;
    for (int i = 1; i < 9; i++)
        bits = (bits << 8) | e->buf[i];
    double d;
    memcpy(&d, &bits, 8);
    assert_true(isnan(d));
    evt__event_release(e);
    /* ... also inside containers, as Python's json.dumps writes them */
    e = evt__event_get(pool);
    const char *a = "[NaN, Infinity, -Infinity, 1]";
    assert_int_equal(evt__json_to_mp(e, a, strlen(a), err, sizeof err), 0);
    assert_int_equal(e->len, 5 + 9 * 3 + 1);
    assert_int_equal(e->buf[0], 0xdd);
    assert_int_equal(e->buf[4], 4);
    assert_int_equal(e->buf[5], 0xcb);
    assert_int_equal(e->buf[14], 0xcb);
    assert_int_equal(e->buf[15], 0x7f);
    assert_int_equal(e->buf[23], 0xcb);
    assert_int_equal(e->buf[24], 0xff);
    assert_int_equal(e->buf[32], 0x01);
    evt__event_release(e);
}

/* The longest number accepted has 63 characters. */
static void test_number_length_limit(void **state)
{
    (void)state;
    char num[71];
    memset(num, '1', 70);
    num[70] = '\0';
    expect_err(num, 70, "JSON line 1 column 71: number too long");
    expect_err(num, 64, "JSON line 1 column 65: number too long");
    /* 63 chars: "1" followed by 62 zeros, 1e62 as float64 (out of int) */
    memset(num, '0', 63);
    num[0] = '1';
    unsigned char exp[9] = {0xcb};
    double d = 1e62;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    mp_put_be(exp + 1, bits, 8);
    expect_mp(num, 63, exp, 9);
}

static void test_malformed_numbers(void **state)
{
    (void)state;
    EXPECT_ERR("+1", "JSON line 1 column 3: malformed number");
    EXPECT_ERR(".5", "JSON line 1 column 3: malformed number");
    EXPECT_ERR("-", "JSON line 1 column 2: malformed number");
    EXPECT_ERR("1e", "JSON line 1 column 3: malformed number");
    EXPECT_ERR("1.2.3", "JSON line 1 column 6: malformed number");
    EXPECT_ERR("1-2", "JSON line 1 column 4: malformed number");
    EXPECT_ERR("-Inf", "JSON line 1 column 2: malformed number");
}

/* ---- literals, containers, order ---------------------------------------------*/

static void test_literals(void **state)
{
    (void)state;
    EXPECT_MP("true", 0xc3);
    EXPECT_MP("false", 0xc2);
    EXPECT_MP("null", 0xc0);
    EXPECT_MP(" \t\r\n null \n", 0xc0);
    EXPECT_ERR("tru", "JSON line 1 column 1: unexpected character");
    EXPECT_ERR("nul", "JSON line 1 column 1: unexpected character");
    EXPECT_ERR("True", "JSON line 1 column 1: unexpected character");
    EXPECT_ERR("truex",
               "JSON line 1 column 5: trailing characters after the JSON "
               "value");
}

static void test_containers_map32_array32(void **state)
{
    (void)state;
    EXPECT_MP("{}", 0xdf, 0, 0, 0, 0);
    EXPECT_MP("[]", 0xdd, 0, 0, 0, 0);
    EXPECT_MP(" [ ] ", 0xdd, 0, 0, 0, 0);
    EXPECT_MP("[true,false,null]", 0xdd, 0, 0, 0, 3, 0xc3, 0xc2, 0xc0);
    EXPECT_MP("[[],[[]]]", 0xdd, 0, 0, 0, 2, 0xdd, 0, 0, 0, 0, 0xdd, 0, 0, 0,
              1, 0xdd, 0, 0, 0, 0);
    EXPECT_MP("{\"a\": [1, -1, 1.5]}", 0xdf, 0, 0, 0, 1, 0xa1, 'a', 0xdd, 0,
              0, 0, 3, 0x01, 0xff, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
}

static void test_key_order_preserved_nested(void **state)
{
    (void)state;
    /* Deliberately not sorted, at every level. */
    EXPECT_MP("{\"b\":1,\"a\":{\"z\":true,\"y\":null,\"x\":{\"q\":0,\"p\":"
              "[]}},\"c\":[1,2.5,\"x\"]}",
              0xdf, 0, 0, 0, 3,                         /* { 3 */
              0xa1, 'b', 0x01,                          /* b: 1 */
              0xa1, 'a', 0xdf, 0, 0, 0, 3,              /* a: { 3 */
              0xa1, 'z', 0xc3,                          /*   z: true */
              0xa1, 'y', 0xc0,                          /*   y: null */
              0xa1, 'x', 0xdf, 0, 0, 0, 2,              /*   x: { 2 */
              0xa1, 'q', 0x00,                          /*     q: 0 */
              0xa1, 'p', 0xdd, 0, 0, 0, 0,              /*     p: [] */
              0xa1, 'c', 0xdd, 0, 0, 0, 3,              /* c: [ 3 */
              0x01, 0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0, /*   1, 2.5 */
              0xa1, 'x');                               /*   "x" */
    /* Duplicate keys are kept, in order (no DOM in between). */
    EXPECT_MP("{\"k\":1,\"k\":2}", 0xdf, 0, 0, 0, 2, 0xa1, 'k', 0x01, 0xa1,
              'k', 0x02);
}

/* The reader appends to what the event already holds. */
static void test_appends_to_event(void **state)
{
    (void)state;
    struct evt_event *e = evt__event_get(pool);
    assert_int_equal(mp_nil(e), 0);
    char err[256] = "";
    assert_int_equal(evt__json_to_mp(e, "[\"\\n\"]", 6, err, sizeof err), 0);
    static const unsigned char exp[] = {0xc0, 0xdd, 0, 0, 0, 1, 0xa1, '\n'};
    assert_int_equal(e->len, sizeof exp);
    assert_memory_equal(e->buf, exp, sizeof exp);
    evt__event_release(e);
}

/* ---- strings ------------------------------------------------------------------*/

static void test_string_escapes(void **state)
{
    (void)state;
    EXPECT_MP("\"\"", 0xa0);
    EXPECT_MP("\"abc\"", 0xa3, 'a', 'b', 'c');
    EXPECT_MP("\"a\\nb\"", 0xa3, 'a', '\n', 'b');
    EXPECT_MP("\"\\\"\\\\\\/\"", 0xa3, '"', '\\', '/');
    EXPECT_MP("\"\\b\\f\\r\\t\"", 0xa4, 0x08, 0x0c, 0x0d, 0x09);
    EXPECT_MP("\"\\u00e9\"", 0xa2, 0xc3, 0xa9);
    EXPECT_MP("\"\\u00E9\"", 0xa2, 0xc3, 0xa9);
    EXPECT_MP("\"\\u0041\"", 0xa1, 'A');
    EXPECT_MP("\"\\u0000\"", 0xa1, 0x00);
    EXPECT_MP("\"\\u07ff\"", 0xa2, 0xdf, 0xbf);
    EXPECT_MP("\"\\u20AC\"", 0xa3, 0xe2, 0x82, 0xac);
    EXPECT_MP("\"\\uffff\"", 0xa3, 0xef, 0xbf, 0xbf);
    EXPECT_MP("\"\\ud83d\\ude00\"", 0xa4, 0xf0, 0x9f, 0x98, 0x80);
    EXPECT_MP("\"\\uD83D\\uDE00\"", 0xa4, 0xf0, 0x9f, 0x98, 0x80);
    EXPECT_MP("\"\\udbff\\udfff\"", 0xa4, 0xf4, 0x8f, 0xbf, 0xbf);
    /* raw UTF-8 passes through unchanged, also mixed with escapes */
    EXPECT_MP("\"\xc3\xa9\"", 0xa2, 0xc3, 0xa9);
    EXPECT_MP("\"\xf0\x9f\x98\x80\\t\"", 0xa5, 0xf0, 0x9f, 0x98, 0x80, 0x09);
    /* escaped keys too */
    EXPECT_MP("{\"\\u006b\\n\":1}", 0xdf, 0, 0, 0, 1, 0xa2, 'k', '\n', 0x01);
}

/* Build a JSON string literal of n 'a's, with a "\n" escape first when
 * escaped (so the slow path runs); its value is n bytes long. Check the
 * header is the shortest for n. */
static void check_str_len(size_t n, int escaped)
{
    size_t tl = n + 4;
    char *text = malloc(tl + 1);
    assert_non_null(text);
    size_t o = 0;
    text[o++] = '"';
    size_t body = n;
    if (escaped) {
        text[o++] = '\\';
        text[o++] = 'n';
        body--;
    }
    memset(text + o, 'a', body);
    o += body;
    text[o++] = '"';
    text[o] = '\0';

    size_t hl = n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
    unsigned char *exp = malloc(hl + n);
    assert_non_null(exp);
    if (hl == 1)
        exp[0] = (unsigned char)(0xa0 | n);
    else if (hl == 2) {
        exp[0] = 0xd9;
        exp[1] = (unsigned char)n;
    } else if (hl == 3) {
        exp[0] = 0xda;
        mp_put_be(exp + 1, n, 2);
    } else {
        exp[0] = 0xdb;
        mp_put_be(exp + 1, n, 4);
    }
    size_t k = hl;
    if (escaped)
        exp[k++] = '\n';
    memset(exp + k, 'a', body);
    expect_mp(text, o, exp, hl + n);
    free(exp);
    free(text);
}

static void test_string_shortest_header(void **state)
{
    (void)state;
    static const size_t lens[] = {1,   31,    32,    255,   256,
                                  300, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        check_str_len(lens[i], 0);
        check_str_len(lens[i], 1);
    }
    /* Source much longer than the value: 40 "\u0041" (240 bytes of text)
     * decode to 40 bytes: str8, not str32; 20 of them: fixstr. */
    char text[256];
    size_t o = 0;
    text[o++] = '"';
    for (int i = 0; i < 40; i++) {
        memcpy(text + o, "\\u0041", 6);
        o += 6;
    }
    text[o++] = '"';
    unsigned char exp[42] = {0xd9, 40};
    memset(exp + 2, 'A', 40);
    expect_mp(text, o, exp, sizeof exp);
    text[1 + 20 * 6] = '"';
    unsigned char exp20[21] = {0xb4};
    memset(exp20 + 1, 'A', 20);
    expect_mp(text, 1 + 20 * 6 + 1, exp20, sizeof exp20);
}

static void test_string_errors(void **state)
{
    (void)state;
    EXPECT_ERR("\"abc", "JSON line 1 column 2: unterminated string");
    EXPECT_ERR("\"ab\\nc", "JSON line 1 column 2: unterminated string");
    EXPECT_ERR("\"ab\\\"", "JSON line 1 column 2: unterminated string");
    EXPECT_ERR("[\"a\", \"b", "JSON line 1 column 8: unterminated string");
    /* lone surrogates and broken escapes */
    EXPECT_ERR("\"\\udc00\"", "JSON line 1 column 8: bad escape in string");
    EXPECT_ERR("\"\\ude00x\"", "JSON line 1 column 8: bad escape in string");
    EXPECT_ERR("\"\\ud83d\"", "JSON line 1 column 8: bad escape in string");
    EXPECT_ERR("\"\\ud83dxxxxxx\"",
               "JSON line 1 column 8: bad escape in string");
    EXPECT_ERR("\"\\ud83d\\u0041\"",
               "JSON line 1 column 8: bad escape in string");
    EXPECT_ERR("\"\\ud83d\\ud83d\"",
               "JSON line 1 column 8: bad escape in string");
    EXPECT_ERR("\"\\x\"", "JSON line 1 column 4: bad escape in string");
    EXPECT_ERR("\"\\u12\"", "JSON line 1 column 4: bad escape in string");
    EXPECT_ERR("\"\\u12g4\"", "JSON line 1 column 4: bad escape in string");
    /* invalid UTF-8: the column is the bad byte's */
    EXPECT_ERR("\"\xff\"", "JSON line 1 column 2: invalid UTF-8 in string");
    EXPECT_ERR("\"ab\xc0\xaf\"",
               "JSON line 1 column 4: invalid UTF-8 in string");
    EXPECT_ERR("\"\xed\xa0\x80\"",
               "JSON line 1 column 2: invalid UTF-8 in string");
    EXPECT_ERR("\"\xe2\x82\"", "JSON line 1 column 2: invalid UTF-8 in string");
    EXPECT_ERR("{\"k\xfe\":1}",
               "JSON line 1 column 4: invalid UTF-8 in string");
    /* ... also in a string that has escapes (the column is not pinned
     * there: the check runs on the decoded text) */
    static const char esc_bad[] = "\"\\n\xff\"";
    expect_err_reason(esc_bad, sizeof esc_bad - 1, "invalid UTF-8 in string");
    static const char esc_sur[] = "\"\xed\xa0\x80\\t\"";
    expect_err_reason(esc_sur, sizeof esc_sur - 1, "invalid UTF-8 in string");
    /* control characters must be escaped */
    EXPECT_ERR("\"a\x01" "b\"",
               "JSON line 1 column 3: control character in string");
    EXPECT_ERR("\"a\nb\"",
               "JSON line 1 column 3: control character in string");
    EXPECT_ERR("\"a\\n\tb\"",
               "JSON line 1 column 5: control character in string");
    static const char nul[] = "\"a\0b\"";
    expect_err(nul, sizeof nul - 1,
               "JSON line 1 column 3: control character in string");
}

/* ---- structural errors ----------------------------------------------------------*/

static void test_structural_errors(void **state)
{
    (void)state;
    EXPECT_ERR("", "JSON line 1 column 1: unexpected end of input");
    EXPECT_ERR("   ", "JSON line 1 column 4: unexpected end of input");
    EXPECT_ERR("[1,", "JSON line 1 column 4: unexpected end of input");
    EXPECT_ERR("{\"a\":", "JSON line 1 column 6: unexpected end of input");
    /* trailing commas */
    EXPECT_ERR("[1,2,]", "JSON line 1 column 6: unexpected character");
    EXPECT_ERR("{\"a\":1,}", "JSON line 1 column 8: expected a string key");
    /* missing colon, comma, closer */
    EXPECT_ERR("{\"a\" 1}", "JSON line 1 column 6: expected ':'");
    EXPECT_ERR("{\"a\"}", "JSON line 1 column 5: expected ':'");
    EXPECT_ERR("{\"a\":1 \"b\":2}",
               "JSON line 1 column 8: expected ',' or '}'");
    EXPECT_ERR("[1 2]", "JSON line 1 column 4: expected ',' or ']'");
    EXPECT_ERR("[1}", "JSON line 1 column 3: expected ',' or ']'");
    EXPECT_ERR("{\"a\":1]", "JSON line 1 column 7: expected ',' or '}'");
    EXPECT_ERR("{1:2}", "JSON line 1 column 2: expected a string key");
    EXPECT_ERR("{'a':2}", "JSON line 1 column 2: expected a string key");
    EXPECT_ERR("[1", "JSON line 1 column 3: expected ',' or ']'");
    /* trailing garbage */
    EXPECT_ERR("{} x",
               "JSON line 1 column 4: trailing characters after the JSON "
               "value");
    EXPECT_ERR("1 2",
               "JSON line 1 column 3: trailing characters after the JSON "
               "value");
    EXPECT_ERR("[]]",
               "JSON line 1 column 3: trailing characters after the JSON "
               "value");
    /* \f is not JSON whitespace */
    EXPECT_ERR("\f1", "JSON line 1 column 1: unexpected character");
    /* lines and columns count from 1; the column restarts after '\n' */
    EXPECT_ERR("[1,\n 2,\n x]", "JSON line 3 column 2: unexpected character");
    EXPECT_ERR("{\n\"a\":1,\n\n  \"b\" 2}",
               "JSON line 4 column 7: expected ':'");
}

/* Expected bytes of n nested arrays around nothing, each holding one
 * element but the innermost, which is empty: array32 headers (the writer
 * patches counts, so it never shrinks them). */
static size_t nested_arrays_mp(unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i * 5] = 0xdd;
        mp_put_be(out + i * 5 + 1, i + 1 < n ? 1 : 0, 4);
    }
    return n * 5;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    const size_t d = EVT_JSON_MAX_DEPTH;
    char want[80];
    /* d+1 '[' and as many ']' */
    size_t cap = 2 * (d + 1);
    char *deep = malloc(cap);
    assert_non_null(deep);
    /* d+1 '[': refused where level d+1 begins, at column d+1 */
    snprintf(want, sizeof want, "JSON line 1 column %zu: nesting too deep",
             d + 1);
    memset(deep, '[', d + 1);
    expect_err(deep, d + 1, want);
    /* balanced, and the innermost array empty: still refused there */
    memset(deep + d + 1, ']', d + 1);
    expect_err(deep, cap, want);
    /* d+1 '{"a":' levels: the same limit for maps; the last '{' is at
     * column 5d+1 */
    size_t o = 0;
    char *maps = malloc(5 * (d + 1));
    assert_non_null(maps);
    for (size_t i = 0; i < d + 1; i++) {
        memcpy(maps + o, "{\"a\":", 5);
        o += 5;
    }
    snprintf(want, sizeof want, "JSON line 1 column %zu: nesting too deep",
             5 * d + 1);
    expect_err(maps, o, want);
    /* the same with the last level an array: {"a":{"a": ... [ */
    maps[5 * d] = '[';
    expect_err(maps, 5 * d + 1, want);
    free(maps);

    /* exactly EVT_JSON_MAX_DEPTH levels are fine */
    unsigned char *exp = malloc(2 * d * 5 + 5);
    assert_non_null(exp);
    memset(deep, '[', d);
    memset(deep + d, ']', d);
    size_t n = nested_arrays_mp(exp, d);
    expect_mp(deep, 2 * d, exp, n);
    free(deep);

    /* closing a container gives its level back: two siblings, each
     * reaching level d: [[[...]],[[...]]] */
    size_t half = 2 * (d - 1);
    size_t tl = 2 * half + 3;
    char *two = malloc(tl);
    assert_non_null(two);
    two[0] = '[';
    memset(two + 1, '[', d - 1);
    memset(two + d, ']', d - 1);
    two[1 + half] = ',';
    memset(two + 2 + half, '[', d - 1);
    memset(two + 1 + half + d, ']', d - 1);
    two[tl - 1] = ']';
    exp[0] = 0xdd;
    mp_put_be(exp + 1, 2, 4);
    n = 5 + nested_arrays_mp(exp + 5, d - 1);
    n += nested_arrays_mp(exp + n, d - 1);
    expect_mp(two, tl, exp, n);
    free(two);
    free(exp);
}

/* ---- members mode (evt_log_json's reader) ---------------------------------------*/

struct seen {
    char keys[8][16];
    size_t voff[8];
    int n;
    int stop_at; /* -1: never */
};

static int on_member(void *ctx, const char *key, size_t klen, size_t voff,
                     char *err, size_t errlen)
{
    struct seen *s = ctx;
    assert_true(s->n < 8 && klen < 16);
    memcpy(s->keys[s->n], key, klen);
    s->keys[s->n][klen] = '\0';
    s->voff[s->n] = voff;
    if (s->n++ == s->stop_at) {
        snprintf(err, errlen, "stopped at %s", s->keys[s->n - 1]);
        return EVT_EINVAL;
    }
    return 0;
}

static void test_members_mode(void **state)
{
    (void)state;
    struct evt_event *e = evt__event_get(pool);
    struct seen s = {.stop_at = -1};
    uint32_t count = 99;
    char err[256] = "";
    const char *text = " {\"b\":[1],\"\\u0061\":{\"x\":2},\"c\":3} ";
    assert_int_equal(evt__json_members_to_mp(e, text, strlen(text),
                                             on_member, &s, &count, err,
                                             sizeof err),
                     0);
    assert_int_equal(count, 3);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "b");
    assert_string_equal(s.keys[1], "a");
    assert_string_equal(s.keys[2], "c");
    /* no map header: members only */
    static const unsigned char exp[] = {
        0xa1, 'b', 0xdd, 0, 0, 0, 1, 0x01,           /* b: [1] */
        0xa1, 'a', 0xdf, 0, 0, 0, 1, 0xa1, 'x', 0x02, /* a: {x: 2} */
        0xa1, 'c', 0x03};                             /* c: 3 */
    assert_int_equal(e->len, sizeof exp);
    assert_memory_equal(e->buf, exp, sizeof exp);
    assert_int_equal(s.voff[0], 2);
    assert_int_equal(s.voff[1], 10);
    assert_int_equal(s.voff[2], 20);
    evt__event_release(e);

    /* the callback's status stops the parse */
    e = evt__event_get(pool);
    s = (struct seen){.stop_at = 1};
    assert_int_equal(evt__json_members_to_mp(e, text, strlen(text),
                                             on_member, &s, &count, err,
                                             sizeof err),
                     EVT_EINVAL);
    assert_string_equal(err, "stopped at a");
    assert_int_equal(s.n, 2);
    evt__event_release(e);

    /* empty object; non-objects refused */
    e = evt__event_get(pool);
    count = 99;
    assert_int_equal(evt__json_members_to_mp(e, "{}", 2, NULL, NULL, &count,
                                             err, sizeof err),
                     0);
    assert_int_equal(count, 0);
    assert_int_equal(e->len, 0);
    static const char *const bad[] = {"[1]", "1", "\"x\"", "", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(evt__json_members_to_mp(e, bad[i], strlen(bad[i]),
                                                 NULL, NULL, &count, err,
                                                 sizeof err),
                         EVT_EINVAL);
        assert_string_equal(err,
                            "JSON line 1 column 1: expected a JSON object");
    }
    assert_int_equal(evt__json_members_to_mp(e, "{} {}", 5, NULL, NULL,
                                             &count, err, sizeof err),
                     EVT_EINVAL);
    assert_string_equal(err, "JSON line 1 column 4: trailing characters "
                             "after the JSON value");
    evt__event_release(e);
}

/* ---- real files: every line round-trips through msgpack-c -----------------------*/

/* Deep comparison of a cJSON value with the msgpack object we wrote. */
static void same_value(const cJSON *j, const msgpack_object *o,
                       const char *where)
{
    if (cJSON_IsObject(j)) {
        if (o->type != MSGPACK_OBJECT_MAP)
            fail_msg("%s: not a map", where);
        uint32_t n = 0;
        const cJSON *c = j->child;
        for (; c; c = c->next, n++) {
            if (n >= o->via.map.size)
                fail_msg("%s: fewer members than cJSON finds", where);
            const msgpack_object_kv *kv = &o->via.map.ptr[n];
            if (kv->key.type != MSGPACK_OBJECT_STR ||
                kv->key.via.str.size != strlen(c->string) ||
                memcmp(kv->key.via.str.ptr, c->string,
                       kv->key.via.str.size) != 0)
                fail_msg("%s: member %u is not \"%s\"", where, n, c->string);
            same_value(c, &kv->val, c->string);
        }
        if (n != o->via.map.size)
            fail_msg("%s: %u members, cJSON finds %u", where,
                     o->via.map.size, n);
    } else if (cJSON_IsArray(j)) {
        if (o->type != MSGPACK_OBJECT_ARRAY)
            fail_msg("%s: not an array", where);
        uint32_t n = 0;
        for (const cJSON *c = j->child; c; c = c->next, n++) {
            if (n >= o->via.array.size)
                fail_msg("%s: array too short", where);
            same_value(c, &o->via.array.ptr[n], where);
        }
        if (n != o->via.array.size)
            fail_msg("%s: array length %u, cJSON %u", where,
                     o->via.array.size, n);
    } else if (cJSON_IsString(j)) {
        if (o->type != MSGPACK_OBJECT_STR ||
            o->via.str.size != strlen(j->valuestring) ||
            memcmp(o->via.str.ptr, j->valuestring, o->via.str.size) != 0)
            fail_msg("%s: string differs", where);
    } else if (cJSON_IsNumber(j)) {
        double v = 0;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = (double)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            v = (double)o->via.i64;
        else if (o->type == MSGPACK_OBJECT_FLOAT64)
            v = o->via.f64;
        else
            fail_msg("%s: not a number", where);
        if (v != j->valuedouble)
            fail_msg("%s: %.17g != %.17g", where, v, j->valuedouble);
    } else if (cJSON_IsBool(j)) {
        if (o->type != MSGPACK_OBJECT_BOOLEAN ||
            o->via.boolean != cJSON_IsTrue(j))
            fail_msg("%s: boolean differs", where);
    } else if (cJSON_IsNull(j)) {
        if (o->type != MSGPACK_OBJECT_NIL)
            fail_msg("%s: not nil", where);
    } else {
        fail_msg("%s: unexpected cJSON type", where);
    }
}

/* Ints and float64s among the values of o. */
static void count_kinds(const msgpack_object *o, size_t *ints,
                        size_t *floats)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: (*ints)++; break;
    case MSGPACK_OBJECT_FLOAT64: (*floats)++; break;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            count_kinds(&o->via.array.ptr[i], ints, floats);
        break;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++)
            count_kinds(&o->via.map.ptr[i].val, ints, floats);
        break;
    default: break;
    }
}

/* Number tokens in JSON text (outside strings): ints have no '.', 'e'
 * or 'E'. */
static void count_text_kinds(const char *s, size_t n, size_t *ints,
                             size_t *floats)
{
    size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\')
                    i++;
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            int fl = 0;
            while (i < n && s[i] && strchr("+-.eE0123456789", s[i])) {
                fl |= s[i] == '.' || s[i] == 'e' || s[i] == 'E';
                i++;
            }
            (*(fl ? floats : ints))++;
        } else {
            i++;
        }
    }
}

static size_t round_trip_file(const char *path)
{
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    size_t lines = 0;
    char *line = text;
    while (*line) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len == 0) {
            line = nl ? nl + 1 : line + len;
            continue;
        }
        lines++;
        struct evt_event *e = evt__event_get(pool);
        char err[256] = "";
        int rc = evt__json_to_mp(e, line, len, err, sizeof err);
        if (rc)
            fail_msg("%s line %zu: %s", path, lines, err);
        msgpack_zone zone;
        msgpack_zone_init(&zone, 4096);
        msgpack_object obj;
        size_t off = 0;
        msgpack_unpack_return r = msgpack_unpack(
            (const char *)e->buf, e->len, &off, &zone, &obj);
        assert_int_equal(r, MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, e->len);
        assert_int_equal(obj.type, MSGPACK_OBJECT_MAP);

        char save = line[len];
        line[len] = '\0';
        cJSON *j = cJSON_ParseWithLength(line, len);
        line[len] = save;
        assert_non_null(j);
        assert_true(cJSON_IsObject(j));
        assert_int_equal((size_t)cJSON_GetArraySize(j), obj.via.map.size);
        char where[64];
        snprintf(where, sizeof where, "line %zu", lines);
        same_value(j, &obj, where); /* keys in the same order, values */
        /* int vs float kept: as many of each as number tokens */
        size_t ints = 0, floats = 0, tints = 0, tfloats = 0;
        count_kinds(&obj, &ints, &floats);
        count_text_kinds(line, len, &tints, &tfloats);
        assert_int_equal(ints, tints);
        assert_int_equal(floats, tfloats);
        /* "doc_id": 0 is an int in every sample line */
        const msgpack_object_kv *first = &obj.via.map.ptr[0];
        assert_int_equal(first->key.via.str.size, 6);
        assert_memory_equal(first->key.via.str.ptr, "doc_id", 6);
        assert_int_equal(first->val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_true(ints > 0);
        cJSON_Delete(j);
        msgpack_zone_destroy(&zone);
        evt__event_release(e);
        line = nl ? nl + 1 : line + len;
    }
    free(text);
    return lines;
}

static void test_real_sample_files_round_trip(void **state)
{
    (void)state;
    const char *src = getenv("EVT_TEST_SOURCE_DIR");
    if (!src)
        skip();
    static const char *const files[] = {
        "lmeval_0.4.13dev_samples_negotiationtom_intention.jsonl",
        "lmmseval_v0.6_mme_limit8_samples_mme.jsonl"};
    static const size_t want_lines[] = {20, 8};
    int found = 0;
    for (size_t i = 0; i < 2; i++) {
        char *path = tu_fmt("%s/../shared/fixtures/real/%s", src, files[i]);
        if (access(path, R_OK) == 0) {
            found++;
            assert_int_equal(round_trip_file(path), want_lines[i]);
        }
        free(path);
    }
    if (!found)
        skip();
}

/* A float in a real line stays a float even when integral ("score": 1.0):
 * checked on a line shaped like the mme samples. */
static void test_real_shape_int_vs_float(void **state)
{
    (void)state;
    const char *line =
        "{\"doc_id\": 0, \"target\": \"Yes\", \"token_counts\": "
        "[{\"output_tokens\": 2}], \"mme_cognition_score\": {\"question_id\":"
        " \"code_reasoning/0020.png\", \"score\": 1.0}}";
    struct evt_event *e = evt__event_get(pool);
    char err[256] = "";
    assert_int_equal(evt__json_to_mp(e, line, strlen(line), err, sizeof err),
                     0);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object o;
    size_t off = 0;
    assert_int_equal(msgpack_unpack((const char *)e->buf, e->len, &off, &zone,
                                    &o),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(o.via.map.size, 4);
    const msgpack_object *tc = &o.via.map.ptr[2].val;
    assert_int_equal(tc->via.array.ptr[0].via.map.ptr[0].val.type,
                     MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(tc->via.array.ptr[0].via.map.ptr[0].val.via.u64, 2);
    const msgpack_object *sc = &o.via.map.ptr[3].val.via.map.ptr[1].val;
    assert_int_equal(sc->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(sc->via.f64 == 1.0);
    msgpack_zone_destroy(&zone);
    evt__event_release(e);
}

/* ---- UTF-8 validator ------------------------------------------------------------*/

static void valid(const char *s, size_t n)
{
    size_t bad = 12345;
    if (!evt__utf8_valid(s, n, &bad)) {
        char *h = hex((const unsigned char *)s, n);
        print_error("expected valid: %s (bad_at %zu)\n", h, bad);
        free(h);
        fail();
    }
    assert_int_equal(bad, 12345); /* untouched when valid */
}

static void invalid(const char *s, size_t n, size_t at)
{
    size_t bad = 12345;
    if (evt__utf8_valid(s, n, &bad) || bad != at) {
        char *h = hex((const unsigned char *)s, n);
        print_error("expected invalid at %zu: %s (bad_at %zu)\n", at, h, bad);
        free(h);
        fail();
    }
    assert_int_equal(evt__utf8_valid(s, n, NULL), 0); /* NULL is fine */
}

#define VALID(lit) valid(lit, sizeof(lit) - 1)
#define INVALID(lit, at) invalid(lit, sizeof(lit) - 1, at)

static void test_utf8_boundaries(void **state)
{
    (void)state;
    valid("", 0);
    valid("x", 0); /* only len bytes are looked at */
    VALID("\x00");
    VALID("a\x00" "b");
    VALID("\x7f");                 /* U+007F */
    VALID("\xc2\x80");             /* U+0080 */
    VALID("\xdf\xbf");             /* U+07FF */
    VALID("\xe0\xa0\x80");         /* U+0800 */
    VALID("\xed\x9f\xbf");         /* U+D7FF */
    VALID("\xee\x80\x80");         /* U+E000 */
    VALID("\xef\xbf\xbf");         /* U+FFFF */
    VALID("\xf0\x90\x80\x80");     /* U+10000 */
    VALID("\xf4\x8f\xbf\xbf");     /* U+10FFFF */
    VALID("abcdefgh\xc3\xa9zzzzzzzzzzzzzzzz\xf0\x9f\x98\x80");

    INVALID("\xf4\x90\x80\x80", 0); /* U+110000 */
    INVALID("\xf5\x80\x80\x80", 0);
    INVALID("\xff", 0);
    INVALID("\xfe", 0);
    INVALID("\x80", 0);             /* lone continuation */
    INVALID("\xbf", 0);
    /* overlongs */
    INVALID("\xc0\x80", 0);
    INVALID("\xc0\xaf", 0);
    INVALID("\xc1\xbf", 0);
    INVALID("\xe0\x80\x80", 0);
    INVALID("\xe0\x9f\xbf", 0);
    INVALID("\xf0\x80\x80\x80", 0);
    INVALID("\xf0\x8f\xbf\xbf", 0);
    /* UTF-16 surrogates */
    INVALID("\xed\xa0\x80", 0);
    INVALID("\xed\xbf\xbf", 0);
    /* truncated sequences, at the end and followed by ASCII */
    INVALID("\xc2", 0);
    INVALID("\xe0\xa0", 0);
    INVALID("\xf0\x90\x80", 0);
    INVALID("ab\xc2", 2);
    INVALID("\xe2\x82" "a", 0);
    INVALID("\xf0\x9f\x98" "abcdefgh", 0);
    INVALID("\xc3\xa9\xe2\x82\xac\xe2\x82", 5);
    /* a bad continuation in the 3rd / 4th byte */
    INVALID("\xe2\x82\x41", 0);
    INVALID("\xf0\x9f\x98\xc0", 0);
    /* offsets past the 8-byte ASCII fast path */
    INVALID("12345678\xff", 8);
    INVALID("1234567\xc3\xa9\xff", 9);
    INVALID("abcdefghijklmnopq\x80", 17);
    INVALID("abcdefghijklmnop\xed\xa0\x80zzzzzzzz", 16);
    INVALID("abc\xff" "defghijk", 3);
    /* the length bounds the scan: a sequence cut by len is truncated */
    invalid("\xc3\xa9", 1, 0);
    valid("ab\xff", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ints_positive_shortest),
        cmocka_unit_test(test_ints_negative_shortest),
        cmocka_unit_test(test_ints_out_of_range_become_float),
        cmocka_unit_test(test_floats_are_float64),
        cmocka_unit_test(test_nan_infinity_accepted),
        cmocka_unit_test(test_lenient_numbers),
        cmocka_unit_test(test_number_length_limit),
        cmocka_unit_test(test_malformed_numbers),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_containers_map32_array32),
        cmocka_unit_test(test_key_order_preserved_nested),
        cmocka_unit_test(test_appends_to_event),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_string_shortest_header),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_structural_errors),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_members_mode),
        cmocka_unit_test(test_real_sample_files_round_trip),
        cmocka_unit_test(test_real_shape_int_vs_float),
        cmocka_unit_test(test_utf8_boundaries),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
