/* test_spool.c -- the crash-safe spool: round trips, exact bytes, cursor
 * persistence, torn-tail recovery, append failure, big records. Each test
 * runs in its own mkdtemp folder under /tmp, removed afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evtrack/sdk/crc32c.h"
#include "evtrack/sink.h"
#include "spool.h"

#define HDR 8u   /* file header */
#define FRAME 12u /* frame header */

struct fx {
    char dir[64];
    char path[128];
    char cur[160];
    char err[512];
};

/* ---- helpers ---------------------------------------------------------- */

/* rm -r of path. */
static void remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    while (d != NULL && (e = readdir(d)) != NULL) {
        char sub[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/evt_spool_test_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/spool", f->dir);
    snprintf(f->cur, sizeof f->cur, "%s.cur", f->path);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    remove_tree(f->dir);
    free(f);
    return 0;
}

/* Deterministic record i: length varies (0 included), bytes depend on i. */
static size_t make_record(unsigned i, unsigned char *buf, size_t cap)
{
    size_t n = (i * 37u) % 300u;

    assert_true(n <= cap);
    for (size_t k = 0; k < n; k++)
        buf[k] = (unsigned char)(i * 131u + k * 7u);
    return n;
}

static void fill_random(unsigned char *buf, size_t len, uint64_t x)
{
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)(x >> 24);
    }
}

/* Whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *b;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static int exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static struct evt__spool *open_ok(struct fx *f, int mode,
                                  struct evt__spool_recovery *rec)
{
    struct evt__spool *s = NULL;
    int rc = evt__spool_open(f->path, mode, &s, rec, f->err, sizeof f->err);

    if (rc != EVT_OK)
        print_error("open: %s\n", f->err);
    assert_int_equal(rc, EVT_OK);
    assert_non_null(s);
    return s;
}

/* Append records first..last-1 (make_record); returns the bytes added. */
static uint64_t append_range(struct fx *f, struct evt__spool *s,
                             unsigned first, unsigned last)
{
    unsigned char buf[512];
    uint64_t added = 0;

    for (unsigned i = first; i < last; i++) {
        size_t n = make_record(i, buf, sizeof buf);
        assert_int_equal(
            evt__spool_append(s, n ? buf : NULL, n, f->err, sizeof f->err),
            EVT_OK);
        added += FRAME + n;
    }
    return added;
}

/* next() yields exactly records first..last-1. */
static void expect_range(struct evt__spool *s, unsigned first, unsigned last)
{
    unsigned char want[512];

    for (unsigned i = first; i < last; i++) {
        const void *p = NULL;
        size_t n = 0, wn = make_record(i, want, sizeof want);
        assert_int_equal(evt__spool_next(s, &p, &n), 1);
        assert_int_equal(n, wn);
        assert_non_null(p);
        if (n > 0)
            assert_memory_equal(p, want, n);
    }
}

static void expect_end(struct evt__spool *s)
{
    const void *p;
    size_t n;

    assert_int_equal(evt__spool_next(s, &p, &n), 0);
    assert_int_equal(evt__spool_pending(s), 0);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A cursor file holding off, with a correct masked CRC. */
static void write_cursor(const char *path, uint64_t off)
{
    unsigned char b[12];

    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(off >> (8 * i));
    put_le32(b + 8, evt_crc32c_mask(evt_crc32c(0, b, 8)));
    spit(path, b, sizeof b);
}

/* ---- tests ------------------------------------------------------------ */

/* Exact bytes of the header, two frames and the cursor file. */
static void test_exact_bytes(void **state)
{
    struct fx *f = *state;
    static const unsigned char want[] = {
        'E',  'V',  'T',  'S',  'P',  'L',  '1',  '\n', 0x45, 0x56, 0x52,
        0x31, 0x05, 0x00, 0x00, 0x00, 0xbb, 0x1f, 0x1c, 0x19, 0x68, 0x65,
        0x6c, 0x6c, 0x6f, 0x45, 0x56, 0x52, 0x31, 0x00, 0x00, 0x00, 0x00,
        0xd8, 0xea, 0x82, 0xa2};
    static const unsigned char want_cur[] = {0x19, 0x00, 0x00, 0x00,
                                             0x00, 0x00, 0x00, 0x00,
                                             0x8b, 0xf1, 0x08, 0x28};
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    const void *p;
    size_t n;
    unsigned char *got;

    assert_int_equal(evt__spool_size(s), HDR);
    assert_int_equal(evt__spool_append(s, "hello", 5, f->err, sizeof f->err),
                     EVT_OK);
    assert_int_equal(evt__spool_append(s, NULL, 0, f->err, sizeof f->err),
                     EVT_OK);
    assert_int_equal(evt__spool_size(s), sizeof want);
    got = slurp(f->path, &n);
    assert_int_equal(n, sizeof want);
    assert_memory_equal(got, want, n);
    free(got);
    assert_int_equal(evt__spool_next(s, &p, &n), 1);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    got = slurp(f->cur, &n);
    assert_int_equal(n, sizeof want_cur);
    assert_memory_equal(got, want_cur, n);
    free(got);
    evt__spool_close(s);
}

/* N records in, the same N out, also after a reopen. */
static void test_roundtrip(void **state)
{
    struct fx *f = *state;
    struct evt__spool_recovery rec;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, &rec);
    uint64_t size;

    assert_int_equal(rec.records, 0);
    assert_int_equal(rec.pending, 0);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(file_size(f->path), HDR);
    size = HDR + append_range(f, s, 0, 200);
    assert_int_equal(evt__spool_size(s), size);
    assert_int_equal(file_size(f->path), size);
    assert_int_equal(evt__spool_pending(s), 200);
    expect_range(s, 0, 200);
    expect_end(s);
    evt__spool_close(s);

    s = open_ok(f, EVT_SPOOL_SYNC_NONE, &rec);
    assert_int_equal(rec.records, 200);
    assert_int_equal(rec.pending, 200);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(evt__spool_size(s), size);
    expect_range(s, 0, 200);
    expect_end(s);
    evt__spool_close(s);
}

/* Ack in the middle, reopen: only the unacked records, in order. */
static void test_ack_then_reopen(void **state)
{
    struct fx *f = *state;
    struct evt__spool_recovery rec;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_BATCH, NULL);

    append_range(f, s, 0, 10);
    expect_range(s, 0, 4);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    assert_int_equal(evt__spool_ack(s), EVT_OK); /* nothing new: no-op */
    assert_true(exists(f->cur));
    expect_range(s, 4, 6); /* read, never acked */
    assert_int_equal(evt__spool_pending(s), 4);
    assert_int_equal(evt__spool_sync(s), EVT_OK);
    evt__spool_close(s);

    s = open_ok(f, EVT_SPOOL_SYNC_BATCH, &rec);
    assert_int_equal(rec.records, 10);
    assert_int_equal(rec.pending, 6);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(evt__spool_pending(s), 6);
    expect_range(s, 4, 10);
    expect_end(s);
    evt__spool_close(s);
}

/* Rewind redelivers everything after the cursor. */
static void test_rewind(void **state)
{
    struct fx *f = *state;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);

    append_range(f, s, 0, 5);
    expect_range(s, 0, 3);
    evt__spool_rewind(s);
    assert_int_equal(evt__spool_pending(s), 5);
    expect_range(s, 0, 2);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    expect_range(s, 2, 5);
    expect_end(s);
    evt__spool_rewind(s);
    assert_int_equal(evt__spool_pending(s), 3);
    expect_range(s, 2, 5);
    evt__spool_close(s);
}

/* Acking everything empties the file and removes the cursor file. */
static void test_ack_at_end_resets(void **state)
{
    struct fx *f = *state;
    struct evt__spool_recovery rec;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_ALWAYS, NULL);

    append_range(f, s, 0, 5);
    expect_range(s, 0, 2);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    assert_true(exists(f->cur));
    expect_range(s, 2, 5);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    assert_int_equal(evt__spool_size(s), HDR);
    assert_int_equal(file_size(f->path), HDR);
    assert_false(exists(f->cur));
    expect_end(s);
    assert_int_equal(evt__spool_ack(s), EVT_OK); /* empty: still fine */
    evt__spool_rewind(s);
    expect_end(s);

    append_range(f, s, 7, 9);
    expect_range(s, 7, 8);
    evt__spool_close(s);
    s = open_ok(f, EVT_SPOOL_SYNC_ALWAYS, &rec);
    assert_int_equal(rec.records, 2);
    expect_range(s, 7, 9);
    evt__spool_close(s);
}

/* A cursor at the valid end (crash between cursor write and reset)
 * means everything was delivered: open empties the file. */
static void test_cursor_at_end_on_open(void **state)
{
    struct fx *f = *state;
    struct evt__spool_recovery rec;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    uint64_t end = HDR + append_range(f, s, 0, 3);

    evt__spool_close(s);
    write_cursor(f->cur, end);
    s = open_ok(f, EVT_SPOOL_SYNC_NONE, &rec);
    assert_int_equal(rec.records, 0);
    assert_int_equal(rec.pending, 0);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(file_size(f->path), HDR);
    assert_false(exists(f->cur));
    expect_end(s);
    evt__spool_close(s);
}

/* A corrupt, short, out-of-range or misaligned cursor is dropped and
 * reading starts from the first record. */
static void test_bad_cursor(void **state)
{
    struct fx *f = *state;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    uint64_t end = HDR + append_range(f, s, 0, 5);
    unsigned char *cur;
    size_t n;

    expect_range(s, 0, 3);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    evt__spool_close(s);
    cur = slurp(f->cur, &n);
    assert_int_equal(n, 12);

    for (int variant = 0; variant < 5; variant++) {
        struct evt__spool_recovery rec;
        unsigned char bad[12];
        memcpy(bad, cur, sizeof bad);
        if (variant == 0) {
            bad[2] ^= 0x01; /* offset bit flip: CRC mismatch */
            spit(f->cur, bad, 12);
        } else if (variant == 1) {
            bad[9] ^= 0x80; /* CRC byte flip */
            spit(f->cur, bad, 12);
        } else if (variant == 2) {
            spit(f->cur, bad, 7); /* short */
        } else if (variant == 3) {
            write_cursor(f->cur, end + 12); /* past the end */
        } else {
            write_cursor(f->cur, HDR + 1); /* inside a frame */
        }
        s = open_ok(f, EVT_SPOOL_SYNC_NONE, &rec);
        assert_int_equal(rec.records, 5);
        assert_int_equal(rec.pending, 5);
        assert_false(exists(f->cur));
        expect_range(s, 0, 5);
        expect_end(s);
        evt__spool_close(s);
    }
    free(cur);
}

/* Reopen the spool whose file holds img (and no cursor): it must keep
 * exactly `records` of records 0.. and report `cut` bytes truncated;
 * then an append and a read still work. */
static void check_recovers(struct fx *f, const unsigned char *img,
                           size_t len, unsigned records, uint64_t cut)
{
    struct evt__spool_recovery rec;
    struct evt__spool *s;
    unsigned char buf[512];
    size_t n = make_record(42, buf, sizeof buf);

    spit(f->path, img, len);
    unlink(f->cur);
    s = open_ok(f, EVT_SPOOL_SYNC_NONE, &rec);
    assert_int_equal(rec.records, records);
    assert_int_equal(rec.pending, records);
    assert_int_equal(rec.truncated_bytes, cut);
    assert_int_equal(evt__spool_size(s), len - cut);
    assert_int_equal(file_size(f->path), len - cut);
    expect_range(s, 0, records);
    expect_end(s);
    assert_int_equal(evt__spool_append(s, buf, n, f->err, sizeof f->err),
                     EVT_OK);
    expect_range(s, 42, 43);
    expect_end(s);
    evt__spool_close(s);
}

/* Records 0..2: the image of the file and the offset of each frame. */
static unsigned char *three_records(struct fx *f, size_t *len,
                                    uint64_t start[3])
{
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);

    start[0] = HDR;
    start[1] = start[0] + append_range(f, s, 0, 1);
    start[2] = start[1] + append_range(f, s, 1, 2);
    append_range(f, s, 2, 3);
    evt__spool_close(s);
    return slurp(f->path, len);
}

/* The file cut at every byte inside the third frame keeps two records. */
static void test_torn_tail_every_offset(void **state)
{
    struct fx *f = *state;
    uint64_t start[3];
    size_t len;
    unsigned char *img = three_records(f, &len, start);

    assert_true(len - start[2] > FRAME + 10); /* record 2 has a payload */
    for (size_t cut = (size_t)start[2]; cut < len; cut++)
        check_recovers(f, img, cut, 2, cut - start[2]);
    check_recovers(f, img, len, 3, 0);
    free(img);
}

/* Garbage after the last frame, a bad CRC and a bad magic. */
static void test_corrupt_tail(void **state)
{
    struct fx *f = *state;
    uint64_t start[3];
    size_t len;
    unsigned char *img = three_records(f, &len, start);
    unsigned char *big = malloc(len + 100);

    assert_non_null(big);
    memcpy(big, img, len);
    fill_random(big + len, 100, 99); /* random garbage after frame 3 */
    check_recovers(f, big, len + 100, 3, 100);

    memcpy(big + len, "EVR1\xff\xff\x00\x00", 8); /* length past EOF */
    check_recovers(f, big, len + 100, 3, 100);

    memcpy(big, img, len);
    big[start[2] + 8] ^= 0x01; /* CRC byte of frame 3 */
    check_recovers(f, big, len, 2, len - start[2]);

    memcpy(big, img, len);
    big[start[2] + FRAME + 3] ^= 0x40; /* payload byte of frame 3 */
    check_recovers(f, big, len, 2, len - start[2]);

    memcpy(big, img, len);
    big[start[1]] = 'X'; /* magic of frame 2: frames 2 and 3 go */
    check_recovers(f, big, len, 1, len - start[1]);
    free(big);
    free(img);
}

/* A frame that goes bad after open is an I/O error from next(). */
static void test_next_crc_error(void **state)
{
    struct fx *f = *state;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    uint64_t second = HDR + append_range(f, s, 1, 2);
    const void *p;
    size_t n;
    unsigned char b = 0;
    int fd;

    append_range(f, s, 2, 3);
    fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, (off_t)(second + FRAME + 1)), 1);
    b ^= 0xff;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)(second + FRAME + 1)), 1);
    close(fd);
    expect_range(s, 1, 2);
    assert_int_equal(evt__spool_next(s, &p, &n), EVT_EIO);
    evt__spool_close(s);
}

/* A write that fails half-way (RLIMIT_FSIZE, EFBIG) leaves the file
 * exactly as it was, and the spool keeps working afterwards. */
static void test_append_failure(void **state)
{
    struct fx *f = *state;
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    unsigned char payload[100];
    struct rlimit old, lim;
    void (*old_sig)(int);
    unsigned char *before, *after;
    size_t blen, alen;
    int rc_partial, rc_none;

    append_range(f, s, 1, 3);
    before = slurp(f->path, &blen);
    memset(payload, 0x5a, sizeof payload);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    old_sig = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t)blen + 20; /* header and 8 payload bytes fit */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc_partial = evt__spool_append(s, payload, sizeof payload, f->err,
                                   sizeof f->err);
    lim.rlim_cur = (rlim_t)blen; /* nothing fits */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc_none = evt__spool_append(s, payload, sizeof payload, f->err,
                                sizeof f->err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_sig);

    assert_int_equal(rc_partial, EVT_EIO);
    assert_int_equal(rc_none, EVT_EIO);
    assert_non_null(strstr(f->err, f->path));
    assert_non_null(strstr(f->err, strerror(EFBIG)));
    after = slurp(f->path, &alen);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    assert_int_equal(evt__spool_size(s), blen);
    assert_int_equal(evt__spool_pending(s), 2);

    append_range(f, s, 3, 4);
    expect_range(s, 1, 4);
    expect_end(s);
    evt__spool_close(s);
    free(before);
    free(after);
}

/* A 1 MiB record round-trips, before and after a reopen. */
static void test_big_record(void **state)
{
    enum { BIG = 1 << 20 };
    struct fx *f = *state;
    unsigned char *big = malloc(BIG);
    struct evt__spool *s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    const void *p;
    size_t n;

    assert_non_null(big);
    fill_random(big, BIG, 1234);
    assert_int_equal(evt__spool_append(s, big, BIG, f->err, sizeof f->err),
                     EVT_OK);
    append_range(f, s, 5, 6);
    assert_int_equal(evt__spool_next(s, &p, &n), 1);
    assert_int_equal(n, BIG);
    assert_memory_equal(p, big, BIG);
    expect_range(s, 5, 6);
    evt__spool_close(s);
    s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    assert_int_equal(evt__spool_size(s), HDR + 2 * FRAME + BIG + 5 * 37);
    assert_int_equal(evt__spool_next(s, &p, &n), 1);
    assert_int_equal(n, BIG);
    assert_memory_equal(p, big, BIG);
    expect_range(s, 5, 6);
    evt__spool_close(s);
    free(big);
}

/* A file that is not a spool is refused and left alone. */
static void test_bad_header(void **state)
{
    struct fx *f = *state;
    static const char text[] = "hello, this is not a spool\n";
    struct evt__spool *s = (struct evt__spool *)f; /* must become NULL */
    unsigned char *got;
    size_t n;
    int rc;

    spit(f->path, text, sizeof text - 1);
    rc = evt__spool_open(f->path, EVT_SPOOL_SYNC_NONE, &s, NULL, f->err,
                         sizeof f->err);
    assert_int_equal(rc, EVT_EIO);
    assert_null(s);
    assert_non_null(strstr(f->err, f->path));
    assert_non_null(strstr(f->err, "not an evtrack spool (bad header)"));
    got = slurp(f->path, &n);
    assert_int_equal(n, sizeof text - 1);
    assert_memory_equal(got, text, n);
    free(got);

    spit(f->path, "EVTSPL2\n", 8);
    rc = evt__spool_open(f->path, EVT_SPOOL_SYNC_NONE, &s, NULL, NULL, 0);
    assert_int_equal(rc, EVT_EIO);
    assert_null(s);
}

/* A header cut short at creation is written again. */
static void test_torn_header(void **state)
{
    struct fx *f = *state;
    struct evt__spool *s;
    unsigned char *got;
    size_t n;

    spit(f->path, "EVT", 3);
    s = open_ok(f, EVT_SPOOL_SYNC_NONE, NULL);
    got = slurp(f->path, &n);
    assert_int_equal(n, HDR);
    assert_memory_equal(got, "EVTSPL1\n", HDR);
    free(got);
    expect_end(s);
    evt__spool_close(s);
}

/* Parent folders are created; errors name the path. */
static void test_paths_and_args(void **state)
{
    struct fx *f = *state;
    struct evt__spool *s = NULL;
    char deep[256], blocked[256];

    snprintf(deep, sizeof deep, "%s/a/b//c/spool", f->dir);
    assert_int_equal(evt__spool_open(deep, EVT_SPOOL_SYNC_NONE, &s, NULL,
                                     f->err, sizeof f->err),
                     EVT_OK);
    assert_true(exists(deep));
    evt__spool_close(s);

    spit(f->path, "", 0); /* a file where a folder is needed */
    snprintf(blocked, sizeof blocked, "%s/sub/spool", f->path);
    assert_int_equal(evt__spool_open(blocked, EVT_SPOOL_SYNC_NONE, &s, NULL,
                                     f->err, sizeof f->err),
                     EVT_EIO);
    assert_null(s);
    assert_non_null(strstr(f->err, f->path));

    assert_int_equal(evt__spool_open(f->dir, EVT_SPOOL_SYNC_NONE, &s, NULL,
                                     f->err, sizeof f->err),
                     EVT_EIO); /* a folder: open fails with EISDIR */
    assert_non_null(strstr(f->err, f->dir));
    assert_int_equal(
        evt__spool_open(deep, 7, &s, NULL, f->err, sizeof f->err),
        EVT_EINVAL);
    assert_int_equal(evt__spool_open(NULL, EVT_SPOOL_SYNC_NONE, &s, NULL,
                                     f->err, sizeof f->err),
                     EVT_EINVAL);
    evt__spool_close(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_exact_bytes),
        T(test_roundtrip),
        T(test_ack_then_reopen),
        T(test_rewind),
        T(test_ack_at_end_resets),
        T(test_cursor_at_end_on_open),
        T(test_bad_cursor),
        T(test_torn_tail_every_offset),
        T(test_corrupt_tail),
        T(test_next_crc_error),
        T(test_append_failure),
        T(test_big_record),
        T(test_bad_header),
        T(test_torn_header),
        T(test_paths_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
