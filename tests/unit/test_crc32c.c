/* test_crc32c.c -- CRC-32C check values, RFC 3720 and TFRecord vectors,
 * chaining, and hardware/software agreement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evtrack/sdk/crc32c.h"

/* Deterministic xorshift64 bytes, so failures reproduce. */
static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15u;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)(x >> 24);
    }
}

/* Bitwise reference CRC-32C, independent of the library's tables. */
static uint32_t crc_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n-- > 0) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    }
    return ~crc;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode lowercase hex into out (capacity cap); returns the byte count. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex) / 2;

    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        assert_true(hi >= 0 && lo >= 0);
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return n;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t masked(const void *p, size_t n)
{
    return evt_crc32c_mask(evt_crc32c(0, p, n));
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(evt_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(evt__crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc_bitwise(0, (const unsigned char *)"123456789", 9),
                     0xE3069283u);
}

static void test_empty_input(void **state)
{
    (void)state;
    assert_int_equal(evt_crc32c(0, NULL, 0), 0);
    assert_int_equal(evt_crc32c(0xdeadbeefu, NULL, 0), 0xdeadbeefu);
    assert_int_equal(evt__crc32c_sw(0x12345678u, "", 0), 0x12345678u);
}

/* RFC 3720 appendix B.4 (iSCSI CRC examples). */
static void test_rfc3720(void **state)
{
    unsigned char buf[32];

    (void)state;
    memset(buf, 0x00, sizeof buf);
    assert_int_equal(evt_crc32c(0, buf, 32), 0x8A9136AAu);
    assert_int_equal(evt__crc32c_sw(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, sizeof buf);
    assert_int_equal(evt_crc32c(0, buf, 32), 0x62A8AB43u);
    assert_int_equal(evt__crc32c_sw(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(evt_crc32c(0, buf, 32), 0x46DD794Eu);
    assert_int_equal(evt__crc32c_sw(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(evt_crc32c(0, buf, 32), 0x113FDB5Cu);
    assert_int_equal(evt__crc32c_sw(0, buf, 32), 0x113FDB5Cu);
}

/* The mask of a few known CRCs (TensorBoard masked_crc.rs). */
static void test_mask(void **state)
{
    (void)state;
    assert_int_equal(evt_crc32c_mask(0), 0xa282ead8u);
    assert_int_equal(evt_crc32c_mask(0x8a9136aau), 0x0fd7fffau);
    assert_int_equal(evt_crc32c_mask(0xf2d95a88u), 0x5794d08au);
}

/* crc_vectors of ../shared/vectors/tfrecord/tfrecord_vectors.json. */
static void test_tfrecord_crc_vectors(void **state)
{
    unsigned char buf[64];
    size_t n;

    (void)state;
    n = unhex("1a1143524320746573742c206f6e652074776f", buf, sizeof buf);
    assert_int_equal(evt_crc32c(0, buf, n), 0xf2d95a88u);
    assert_int_equal(masked(buf, n), 0x5794d08au);
    memset(buf, 0, 32);
    assert_int_equal(masked(buf, 32), 0x0fd7fffau);
}

struct tf_vector {
    const char *payload_hex;
    const char *framed_hex;
};

/* records (official) and computed_records of tfrecord_vectors.json. */
static const struct tf_vector tf_records[] = {
    {"090000803899d6d7411a0d627261696e2e4576656e743a32",
     "1800000000000000a37f4b22090000803899d6d7411a0d627261696e2e4576656e74"
     "3a32124b36ab"},
    {"09c405b73d99d6d741104d2a250a230a086163637572616379420a08011200220"
     "4a4707d3f4a0b0a090a077363616c617273",
     "3200000000000000241956ec09c405b73d99d6d741104d2a250a230a086163637572"
     "616379420a080112002204a4707d3f4a0b0a090a077363616c617273a55b6433"},
    {"", "000000000000000029039807d8ea82a2"},
    {"00", "01000000000000000175de4100d28f2549"},
    {"74686520717569636b2062726f776e20666f78206a756d706564206f7665722074"
     "6865206c617a7920646f67",
     "2c00000000000000f4aecc4574686520717569636b2062726f776e20666f78206a75"
     "6d706564206f76657220746865206c617a7920646f6728bfa011"},
    {"68656c6c6f20776f726c64",
     "0b000000000000008615f50468656c6c6f20776f726c64007ed86d"},
};

/* Frame a payload TFRecord-style:
 * u64le len | u32le masked_crc(len) | data | u32le masked_crc(data). */
static size_t tf_frame(const unsigned char *p, size_t n, unsigned char *out)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((uint64_t)n >> (8 * i));
    put_le32(out + 8, masked(out, 8));
    if (n > 0)
        memcpy(out + 12, p, n);
    put_le32(out + 12 + n, masked(p, n));
    return n + 16;
}

static void test_tfrecord_framing(void **state)
{
    unsigned char payload[128], want[160], got[160];

    (void)state;
    for (size_t i = 0; i < sizeof tf_records / sizeof tf_records[0]; i++) {
        size_t n = unhex(tf_records[i].payload_hex, payload, sizeof payload);
        size_t wn = unhex(tf_records[i].framed_hex, want, sizeof want);
        assert_int_equal(tf_frame(payload, n, got), wn);
        assert_memory_equal(got, want, wn);
    }
}

/* corrupt_records: the stored CRCs must not match the computed ones. */
static void test_tfrecord_corrupt(void **state)
{
    unsigned char f[64];
    size_t n;

    (void)state;
    n = unhex("1800000000000000997f4b5531323334353637383961626364656630313233"
              "343536373800000000",
              f, sizeof f);
    assert_int_equal(n, 40);
    assert_int_equal(masked(f, 8), 0x224b7fa3u);
    assert_int_equal(get_le32(f + 8), 0x554b7f99u);
    n = unhex("1800000000000000a37f4b2231323334353637383961626364656630313233"
              "3435363738df9b5713",
              f, sizeof f);
    assert_int_equal(n, 40);
    assert_int_equal(masked(f, 8), get_le32(f + 8));
    assert_int_equal(get_le32(f + 36), 0x13579bdfu);
    assert_int_equal(masked(f + 12, 24), 0x26c5f766u);
}

/* The library's tables against the bitwise definition: every byte value
 * alone, and random buffers long enough to use all eight slices. */
static void test_tables_match_bitwise(void **state)
{
    unsigned char buf[4096];

    (void)state;
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        assert_int_equal(evt__crc32c_sw(0, &c, 1), crc_bitwise(0, &c, 1));
    }
    for (uint64_t seed = 1; seed <= 16; seed++) {
        size_t n = (size_t)(seed * 251) % sizeof buf;
        fill_random(buf, n, seed);
        assert_int_equal(evt__crc32c_sw(0, buf, n), crc_bitwise(0, buf, n));
        assert_int_equal(evt_crc32c(0, buf, n), crc_bitwise(0, buf, n));
    }
}

/* Chaining at every split point of a 1 KiB random buffer. */
static void test_chaining(void **state)
{
    unsigned char buf[1024];
    uint32_t whole;

    (void)state;
    fill_random(buf, sizeof buf, 42);
    whole = evt_crc32c(0, buf, sizeof buf);
    assert_int_equal(whole, crc_bitwise(0, buf, sizeof buf));
    for (size_t k = 0; k <= sizeof buf; k++) {
        uint32_t a = evt_crc32c(0, buf, k);
        uint32_t s = evt__crc32c_sw(0, buf, k);
        assert_int_equal(evt_crc32c(a, buf + k, sizeof buf - k), whole);
        assert_int_equal(evt__crc32c_sw(s, buf + k, sizeof buf - k), whole);
    }
}

/* Hardware and software agree at every alignment and short length,
 * and on a large buffer. */
static void test_hw_matches_sw(void **state)
{
    enum { BIG = 1 << 20 };
    unsigned char *buf = malloc(BIG);

    (void)state;
    assert_non_null(buf);
    print_message("evt_crc32c uses %s\n",
                  evt__crc32c_uses_hw() ? "SSE4.2" : "the table");
    fill_random(buf, BIG, 7);
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; n <= 300; n++) {
            uint32_t seed = (uint32_t)(off * 1000 + n);
            assert_int_equal(evt_crc32c(seed, buf + off, n),
                             evt__crc32c_sw(seed, buf + off, n));
        }
    }
    assert_int_equal(evt_crc32c(0, buf + 3, BIG - 3),
                     evt__crc32c_sw(0, buf + 3, BIG - 3));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_rfc3720),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_tfrecord_crc_vectors),
        cmocka_unit_test(test_tfrecord_framing),
        cmocka_unit_test(test_tfrecord_corrupt),
        cmocka_unit_test(test_tables_match_bitwise),
        cmocka_unit_test(test_chaining),
        cmocka_unit_test(test_hw_matches_sw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
