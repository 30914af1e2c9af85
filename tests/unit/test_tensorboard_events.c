/* test_tensorboard_events.c -- the tensorboard-events sink, from outside.
 *
 * Spec: docs/sinks/tensorboard-events.md. The sink is the real plugin .so
 * loaded by a tracker (evt_open_json); what it writes is read back by the
 * test's own reader, tests/unit/tb_reader.h (its own CRC-32C, TFRecord
 * framing and protobuf decoder), which is first checked against the byte
 * examples of shared/reference/protocols.md 3.8 (a)-(e) and the official
 * vectors of shared/vectors/tfrecord, corrupted CRCs and truncations
 * included.
 *
 * Sink tests: file name, folder (logdir, run_name, run ids, hostile
 * names, a taken name), the first record, result and scalar tags, steps,
 * float32 values, wall times, the tensor form, values that are not numbers,
 * "N/A" stderrs, NaN and infinities, the results table (hand-made and a
 * real lm-eval file), the hparams session (keys, values, times, status,
 * redaction, environment secrets), durability (flush, torn tails) and bad
 * config values.
 *
 * The shared folder is $EVT_TEST_SOURCE_DIR/../shared (CI has it). */
#define _GNU_SOURCE /* memmem, setenv */
#include "test_util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "evtrack/evtrack.h"
#include "results_events.h"
#include "tb_reader.h"

#define SINK "tensorboard-events"
#define NEGO_RESULTS \
    "fixtures/real/lmeval_0.4.13dev_negotiationtom_group_NA_results.json"
#define NEGO_SAMPLES \
    "fixtures/real/lmeval_0.4.13dev_samples_negotiationtom_intention.jsonl"

/* ======================================================================
 * Small helpers
 * ====================================================================== */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The start of a span: events take their time from the coarse clock
 * (docs/EVENTS.md), which lags the precise one, and the plugin's own
 * records from the precise one; the coarse clock before is below both. */
static int64_t floor_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The wall-clock interval in which an event was begun (its time_ns). */
struct span {
    int64_t t0, t1;
};

static evt_ev *begin_at(evt_tracker *t, enum evt_event_kind kind,
                        struct span *s)
{
    s->t0 = floor_ns();
    evt_ev *e = evt_begin(t, kind);
    s->t1 = now_ns();
    assert_non_null(e);
    return e;
}

/* secs (a double of Unix seconds) lies in s, give or take the rounding of
 * a double near 1.7e9 (2.4e-7 s). */
static void expect_time_in(double secs, const struct span *s,
                           const char *what)
{
    double lo = (double)s->t0 / 1e9 - 1e-6, hi = (double)s->t1 / 1e9 + 1e-6;
    if (!(secs >= lo && secs <= hi))
        fail_msg("%s: %.9f is not the event's time, in [%.9f, %.9f]", what,
                 secs, lo, hi);
}

static void bytes_of_hex(const char *hex, uint8_t **out, size_t *n)
{
    /* hex digit pairs, with "quoted text" copied as it is (the notation of
     * protocols.md 3.8 (e)); spaces and newlines ignored */
    size_t cap = strlen(hex) + 1, k = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    for (const char *p = hex; *p;) {
        if (*p == ' ' || *p == '\n') {
            p++;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                b[k++] = (uint8_t)*p;
            assert_true(*p == '"');
            p++;
        } else {
            unsigned v;
            char two[3] = {p[0], p[1], 0};
            char *end;
            assert_true(p[1] != '\0');
            v = (unsigned)strtoul(two, &end, 16);
            assert_true(end == two + 2);
            b[k++] = (uint8_t)v;
            p += 2;
        }
    }
    *out = b;
    *n = k;
}

/* 1 when the message has the decimal number n as a whole token. */
static int has_number(const char *msg, unsigned long long n)
{
    for (const char *p = msg; *p;) {
        if (*p >= '0' && *p <= '9') {
            char *end;
            unsigned long long v = strtoull(p, &end, 10);
            if (v == n && (p == msg || !(p[-1] >= '0' && p[-1] <= '9')))
                return 1;
            p = end;
        } else {
            p++;
        }
    }
    return 0;
}

/* ======================================================================
 * Log capture (evt_set_log_handler)
 * ====================================================================== */

#define LOG_CAP 512
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int level;
    char *msg;
} logs[LOG_CAP];
static size_t nlogs;

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    if (nlogs < LOG_CAP) {
        logs[nlogs].level = level;
        logs[nlogs].msg = strdup(msg);
        nlogs += logs[nlogs].msg != NULL;
    }
    pthread_mutex_unlock(&log_mu);
}

static void log_clear(void)
{
    pthread_mutex_lock(&log_mu);
    for (size_t i = 0; i < nlogs; i++)
        free(logs[i].msg);
    nlogs = 0;
    pthread_mutex_unlock(&log_mu);
}

static void log_start(void)
{
    log_clear();
    evt_set_log_handler(log_cb, NULL);
}

static void log_stop(void) { evt_set_log_handler(NULL, NULL); }

/* Messages holding every one of the (up to 3) needles; level < 0: any. */
static size_t log_count(int level, const char *a, const char *b,
                        const char *c)
{
    size_t n = 0;
    pthread_mutex_lock(&log_mu);
    for (size_t i = 0; i < nlogs; i++)
        n += (level < 0 || logs[i].level == level) &&
             (!a || strstr(logs[i].msg, a)) &&
             (!b || strstr(logs[i].msg, b)) && (!c || strstr(logs[i].msg, c));
    pthread_mutex_unlock(&log_mu);
    return n;
}

static void log_dump(void)
{
    pthread_mutex_lock(&log_mu);
    for (size_t i = 0; i < nlogs; i++)
        print_message("log[%zu] level %d: %s\n", i, logs[i].level,
                      logs[i].msg);
    pthread_mutex_unlock(&log_mu);
}

/* Teardown of every test: the default handler back, no env secrets. */
static int reset(void **state)
{
    (void)state;
    log_stop();
    log_clear();
    unsetenv("HF_TOKEN");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    unsetenv("WANDB_API_KEY");
    return 0;
}

/* ======================================================================
 * Trackers and files
 * ====================================================================== */

/* A tracker writing to out with one tensorboard-events sink; cfg is the
 * inside of its "config" object; run_id NULL: generated. */
static evt_tracker *open_tb(const char *out, const char *run_id,
                            const char *cfg)
{
    char *rid = run_id ? tu_fmt("\"run_id\": \"%s\", ", run_id) : strdup("");
    char *json = tu_fmt("{\"output_dir\": \"%s\", %s\"sinks\": [{\"plugin\": "
                        "\"" SINK "\", \"config\": {%s}}]}",
                        out, rid, cfg);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    free(json);
    free(rid);
    return t;
}

static void close_ok(evt_tracker *t)
{
    assert_int_equal(evt_close(t, 10000), EVT_OK);
}

static int is_dir(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Entries of dir not starting with '.'; 0 when it does not exist. */
static size_t count_visible(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

struct paths {
    char *v[64];
    size_t n;
};

static void paths_free(struct paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    p->n = 0;
}

/* Every file under dir (recursively) whose name holds "tfevents", as
 * TensorBoard discovers them. */
static void find_event_files(const char *dir, struct paths *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = tu_fmt("%s/%s", dir, de->d_name);
        if (is_dir(p)) {
            find_event_files(p, out);
            free(p);
        } else if (strstr(de->d_name, "tfevents")) {
            assert_true(out->n < 64);
            out->v[out->n++] = p;
        } else {
            free(p);
        }
    }
    closedir(d);
}

/* The only event file directly in dir (fails otherwise). */
static char *only_event_file(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("no folder %s", dir);
    char *found = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, "tfevents"))
            continue;
        if (found)
            fail_msg("two event files in %s: %s and %s", dir, found,
                     de->d_name);
        found = tu_fmt("%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (!found)
        fail_msg("no event file in %s", dir);
    return found;
}

/* Load and check one file: CRCs right, every record an Event, no torn
 * tail. */
static void load(struct tbr_file *f, const char *path)
{
    char err[512];
    if (tbr_load_path(f, path, err, sizeof err) != TBR_OK)
        fail_msg("%s", err);
    if (f->recs.torn)
        fail_msg("%s: torn record at offset %zu (%zu bytes)", path,
                 f->recs.torn_offset, f->recs.torn_bytes);
    assert_true(f->n >= 1);
}

/* The only event file in dir, loaded. */
static void load_only(struct tbr_file *f, const char *dir)
{
    char *p = only_event_file(dir);
    load(f, p);
    free(p);
}

static char *read_raw(const char *path, size_t *len)
{
    char *b = tu_read_file(path, len);
    if (!b)
        fail_msg("cannot read %s", path);
    return b;
}

/* ---- values ----------------------------------------------------------- */

struct hit {
    const struct tbr_event *ev;
    const struct tbr_value *v;
};

static size_t find_tag(const struct tbr_file *f, const char *tag,
                       struct hit *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->ev[i].nvalues; j++)
            if (tbr_bytes_eq(&f->ev[i].values[j].tag, tag)) {
                if (n < cap)
                    out[n] = (struct hit){&f->ev[i], &f->ev[i].values[j]};
                n++;
            }
    return n;
}

static size_t count_tag(const struct tbr_file *f, const char *tag)
{
    return find_tag(f, tag, NULL, 0);
}

static size_t count_values(const struct tbr_file *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->ev[i].nvalues;
    return n;
}

static size_t count_plugin(const struct tbr_file *f, const char *plugin)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->ev[i].nvalues; j++)
            n += tbr_bytes_eq(&f->ev[i].values[j].plugin_name, plugin);
    return n;
}

static void dump_tags(const struct tbr_file *f)
{
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->ev[i].nvalues; j++)
            print_message("  record %zu step %lld: %s\n", i,
                          (long long)f->ev[i].step,
                          f->ev[i].values[j].tag.p ? f->ev[i].values[j].tag.p
                                                   : "(no tag)");
}

/* The only value with tag (fails otherwise). */
static struct hit one_tag(const struct tbr_file *f, const char *tag)
{
    struct hit h[2];
    size_t n = find_tag(f, tag, h, 2);
    if (n != 1) {
        dump_tags(f);
        fail_msg("%zu values with tag \"%s\", want 1", n, tag);
    }
    return h[0];
}

enum form { SIMPLE, TENSOR };

/* The value at tag and step is the float32 of want, in form; there is
 * exactly one value with that tag at that step. */
static struct hit expect_scalar(const struct tbr_file *f, const char *tag,
                                int64_t step, double want, enum form form)
{
    struct hit h[16], found = {0};
    size_t n = find_tag(f, tag, h, 16), at = 0;
    for (size_t i = 0; i < n && i < 16; i++)
        if (h[i].ev->step == step) {
            found = h[i];
            at++;
        }
    if (at != 1) {
        dump_tags(f);
        fail_msg("tag \"%s\": %zu values at step %lld, want 1", tag, at,
                 (long long)step);
    }
    const struct tbr_event *ev = found.ev;
    const struct tbr_value *v = found.v;
    assert_int_equal(ev->unknown, 0);
    assert_true(ev->has_wall_time);
    assert_null(ev->file_version.p);
    assert_int_equal(v->unknown, 0);
    if (step == 0)
        assert_false(ev->has_step && ev->step != 0);
    float got;
    if (form == SIMPLE) {
        if (!v->has_simple)
            fail_msg("tag \"%s\": no simple_value", tag);
        assert_false(v->tensor.present);
        assert_false(v->has_metadata);
        got = v->simple_value;
    } else {
        assert_false(v->has_simple);
        if (!v->tensor.present)
            fail_msg("tag \"%s\": no tensor", tag);
        assert_int_equal(v->tensor.dtype, 1); /* DT_FLOAT */
        assert_int_equal(v->tensor.ndims, 0); /* rank 0 */
        assert_int_equal(v->tensor.nfloat, 1);
        assert_false(v->tensor.has_content);
        assert_int_equal(v->tensor.nstring, 0);
        assert_int_equal(v->tensor.unknown, 0);
        assert_true(v->has_plugin_data);
        if (!tbr_bytes_eq(&v->plugin_name, "scalars"))
            fail_msg("tag \"%s\": plugin \"%s\", want \"scalars\"", tag,
                     v->plugin_name.p ? v->plugin_name.p : "(none)");
        assert_int_equal(v->plugin_content.len, 0);
        got = v->tensor.float_val[0];
    }
    float w = (float)want;
    int ok = isnan(w) ? isnan(got) : got == w;
    if (!ok)
        fail_msg("tag \"%s\" step %lld: %.9g, want (float)%.17g = %.9g", tag,
                 (long long)step, (double)got, want, (double)w);
    return found;
}

/* The run's folder <out>/<logdir>/<run> with its one event file, loaded. */
static void load_run(struct tbr_file *f, const char *out, const char *sub)
{
    char *dir = tu_fmt("%s/%s", out, sub);
    load_only(f, dir);
    free(dir);
}

/* ======================================================================
 * Reader self-tests: protocols.md 3.8 and the official vectors
 * ====================================================================== */

/* protocols.md 3.8, transcribed. */
static const char *const EX_A =
    "18 00 00 00 00 00 00 00  a3 7f 4b 22\n"
    "09 00 00 00 40 fc 54 d9 41\n"
    "1a 0d 62 72 61 69 6e 2e 45 76 65 6e 74 3a 32\n"
    "ec ed 8f 9d";
static const char *const EX_B =
    "1e 00 00 00 00 00 00 00  d9 dc 12 32\n"
    "09 00 00 60 40 fc 54 d9 41   10 03   2a 11 0a 0f 0a 08 65 76 61 6c 2f "
    "61 63 63 15 00 00 40 3f\n"
    "68 6d 11 d3";
static const char *const EX_C =
    "32 00 00 00 00 00 00 00  24 19 56 ec\n"
    "09 00 00 60 40 fc 54 d9 41 10 03 2a 25 0a 23 0a 08 65 76 61 6c 2f 61 "
    "63 63\n"
    "42 0a 08 01 12 00 2a 04 00 00 40 3f 4a 0b 0a 09 0a 07 73 63 61 6c 61 "
    "72 73\n"
    "e4 fc c5 96";
static const char *const EX_D =
    "47 00 00 00 00 00 00 00  ba c3 fb 9b\n"
    "09 00 00 80 40 fc 54 d9 41 2a 3c 0a 3a 0a 13 63 6f 6e 66 69 67 2f 74 "
    "65 78 74 5f 73 75 6d 6d 61 72 79\n"
    "42 19 08 07 12 04 12 02 08 01 42 0f 68 65 6c 6c 6f 20 2a 2a 77 6f 72 "
    "6c 64 2a 2a\n"
    "4a 08 0a 06 0a 04 74 65 78 74\n"
    "1b ec 02 f5";
static const char *const EX_E =
    "6f 00 00 00 00 00 00 00  6c 31 81 de\n"
    "09 00 00 00 40 fc 54 d9 41 2a 64 0a 62\n"
    "  0a 1c \"_hparams_/session_start_info\"\n"
    "  42 06 08 01 12 02 12 00\n"
    "  4a 3a 0a 38 0a 07 \"hparams\" 12 2d\n"
    "     1a 2b\n"
    "        0a 0f 0a 02 \"lr\" 12 09 11 fc a9 f1 d2 4d 62 50 3f\n"
    "        0a 0f 0a 05 \"model\" 12 06 1a 04 \"gpt2\"\n"
    "        29 00 00 00 40 fc 54 d9 41\n"
    "ab 54 1f 19";

/* shared/vectors/tfrecord/tfrecord_vectors.json, transcribed. */
static const char *const OFFICIAL_VERSION =
    "1800000000000000a37f4b22090000803899d6d7411a0d627261696e2e4576656e743a"
    "32124b36ab";
static const char *const OFFICIAL_ACCURACY =
    "3200000000000000241956ec09c405b73d99d6d741104d2a250a230a08616363757261"
    "6379420a080112002204a4707d3f4a0b0a090a077363616c617273a55b6433";
static const char *const OFFICIAL_BAD_LEN =
    "1800000000000000997f4b553132333435363738396162636465663031323334353637"
    "3800000000";
static const char *const OFFICIAL_BAD_DATA =
    "1800000000000000a37f4b223132333435363738396162636465663031323334353637"
    "38df9b5713";

/* The framed example hex decoded and read: one record, no tail. */
static void load_example(struct tbr_file *f, const char *hex,
                         size_t want_len)
{
    uint8_t *b;
    size_t n;
    bytes_of_hex(hex, &b, &n);
    assert_int_equal(n, TBR_HEADER + want_len + TBR_FOOTER);
    char err[256];
    if (tbr_load_bytes(f, b, n, err, sizeof err) != TBR_OK)
        fail_msg("%s", err);
    free(b);
    assert_int_equal(f->recs.n, 1);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->recs.rec[0].len, want_len);
    assert_false(f->recs.torn);
    assert_int_equal(f->ev[0].unknown, 0);
}

static void test_reader_crc_vectors(void **state)
{
    (void)state;
    uint8_t zeros[32] = {0};
    assert_int_equal(tbr_crc32c(zeros, 32), 0x8a9136aau);
    assert_int_equal(tbr_masked_crc(zeros, 32), 0x0fd7fffau);
    const char *s = "\x1a\x11" "CRC test, one two";
    assert_int_equal(strlen(s), 19);
    assert_int_equal(tbr_crc32c(s, 19), 0xf2d95a88u);
    assert_int_equal(tbr_masked_crc(s, 19), 0x5794d08au);
    assert_int_equal(tbr_mask(0xf2d95a88u), 0x5794d08au);
    /* RFC 3720 B.4: 32 bytes of 0xff, and 0..31 */
    uint8_t ff[32], inc[32];
    for (int i = 0; i < 32; i++) {
        ff[i] = 0xff;
        inc[i] = (uint8_t)i;
    }
    assert_int_equal(tbr_crc32c(ff, 32), 0x62a8ab43u);
    assert_int_equal(tbr_crc32c(inc, 32), 0x46dd794eu);
    assert_int_equal(tbr_crc32c("123456789", 9), 0xe3069283u);
    assert_int_equal(tbr_crc32c("", 0), 0u);
    /* the header of a 24-byte record: 18 00.. a3 7f 4b 22 */
    uint8_t len24[8] = {0x18, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(tbr_masked_crc(len24, 8), 0x224b7fa3u);
}

static void test_reader_example_a(void **state)
{
    (void)state;
    struct tbr_file f;
    load_example(&f, EX_A, 24);
    const struct tbr_event *e = &f.ev[0];
    assert_true(e->has_wall_time);
    assert_true(e->wall_time == 1700000000.0);
    assert_false(e->has_step);
    assert_true(tbr_bytes_eq(&e->file_version, "brain.Event:2"));
    assert_false(e->has_summary);
    assert_false(e->has_source_metadata);
    /* the data CRC is the one the doc gives, ec ed 8f 9d */
    assert_int_equal(tbr_masked_crc(f.recs.rec[0].data, 24), 0x9d8fedecu);
    tbr_file_free(&f);
}

static void test_reader_example_b(void **state)
{
    (void)state;
    struct tbr_file f;
    load_example(&f, EX_B, 30);
    const struct tbr_event *e = &f.ev[0];
    assert_true(e->wall_time == 1700000001.5);
    assert_true(e->has_step);
    assert_int_equal(e->step, 3);
    assert_null(e->file_version.p);
    assert_true(e->has_summary);
    assert_int_equal(e->nvalues, 1);
    const struct tbr_value *v = &e->values[0];
    assert_true(tbr_bytes_eq(&v->tag, "eval/acc"));
    assert_true(v->has_simple);
    assert_true(v->simple_value == 0.75f);
    assert_false(v->tensor.present);
    assert_false(v->has_metadata);
    assert_int_equal(v->unknown, 0);
    tbr_file_free(&f);
}

static void test_reader_example_c(void **state)
{
    (void)state;
    struct tbr_file f;
    load_example(&f, EX_C, 50);
    const struct tbr_event *e = &f.ev[0];
    assert_true(e->wall_time == 1700000001.5);
    assert_int_equal(e->step, 3);
    assert_int_equal(e->nvalues, 1);
    const struct tbr_value *v = &e->values[0];
    assert_true(tbr_bytes_eq(&v->tag, "eval/acc"));
    assert_false(v->has_simple);
    assert_true(v->tensor.present);
    assert_int_equal(v->tensor.dtype, 1);
    assert_true(v->tensor.has_shape);
    assert_int_equal(v->tensor.ndims, 0);
    assert_int_equal(v->tensor.nfloat, 1);
    assert_true(v->tensor.float_val[0] == 0.75f);
    assert_false(v->tensor.has_content);
    assert_true(v->has_plugin_data);
    assert_true(tbr_bytes_eq(&v->plugin_name, "scalars"));
    assert_null(v->plugin_content.p);
    assert_int_equal(v->unknown, 0);
    assert_int_equal(v->tensor.unknown, 0);
    tbr_file_free(&f);
}

static void test_reader_example_d(void **state)
{
    (void)state;
    struct tbr_file f;
    load_example(&f, EX_D, 71);
    const struct tbr_event *e = &f.ev[0];
    assert_true(e->wall_time == 1700000002.0);
    assert_false(e->has_step);
    assert_int_equal(e->nvalues, 1);
    const struct tbr_value *v = &e->values[0];
    assert_true(tbr_bytes_eq(&v->tag, "config/text_summary"));
    assert_int_equal(v->tensor.dtype, 7);
    assert_int_equal(v->tensor.ndims, 1);
    assert_int_equal(v->tensor.dims[0], 1);
    assert_int_equal(v->tensor.nstring, 1);
    assert_true(tbr_bytes_eq(&v->tensor.string_val[0], "hello **world**"));
    assert_int_equal(v->tensor.nfloat, 0);
    assert_true(tbr_bytes_eq(&v->plugin_name, "text"));
    assert_int_equal(v->unknown, 0);
    tbr_file_free(&f);
}

static void test_reader_example_e(void **state)
{
    (void)state;
    struct tbr_file f;
    load_example(&f, EX_E, 111);
    const struct tbr_event *e = &f.ev[0];
    assert_true(e->wall_time == 1700000000.0);
    assert_int_equal(e->nvalues, 1);
    const struct tbr_value *v = &e->values[0];
    assert_true(tbr_bytes_eq(&v->tag, "_hparams_/session_start_info"));
    /* NULL_TENSOR: DT_FLOAT, shape [0] */
    assert_int_equal(v->tensor.dtype, 1);
    assert_int_equal(v->tensor.ndims, 1);
    assert_int_equal(v->tensor.dims[0], 0);
    assert_int_equal(v->tensor.nfloat, 0);
    assert_true(tbr_bytes_eq(&v->plugin_name, "hparams"));
    assert_int_equal(v->plugin_content.len, 45);
    struct tbr_hparams h;
    char err[256];
    assert_int_equal(tbr_decode_hparams((const uint8_t *)v->plugin_content.p,
                                        v->plugin_content.len, &h, err,
                                        sizeof err),
                     TBR_OK);
    assert_int_equal(h.version, 0);
    assert_int_equal(h.which, TBR_HP_START);
    assert_int_equal(h.n, 2);
    assert_true(tbr_bytes_eq(&h.hp[0].key, "lr"));
    assert_int_equal(h.hp[0].value.kind, TBR_PV_NUMBER);
    assert_true(h.hp[0].value.number == 0.001);
    assert_true(tbr_bytes_eq(&h.hp[1].key, "model"));
    assert_int_equal(h.hp[1].value.kind, TBR_PV_STRING);
    assert_true(tbr_bytes_eq(&h.hp[1].value.str, "gpt2"));
    assert_ptr_equal(tbr_hparam_get(&h, "model"), &h.hp[1]);
    assert_null(tbr_hparam_get(&h, "gpt2"));
    assert_true(h.has_start_time);
    assert_true(h.start_time_secs == 1700000000.0);
    assert_null(h.group_name.p);
    assert_false(h.has_status);
    assert_int_equal(h.unknown, 0);
    tbr_hparams_free(&h);
    tbr_file_free(&f);
}

static void test_reader_official_records(void **state)
{
    (void)state;
    struct tbr_file f;
    load_example(&f, OFFICIAL_VERSION, 24);
    assert_true(f.ev[0].wall_time == 1599759586.0);
    assert_true(tbr_bytes_eq(&f.ev[0].file_version, "brain.Event:2"));
    tbr_file_free(&f);

    /* tf.summary.scalar("accuracy", 0.99, step=77): tensor_content form */
    load_example(&f, OFFICIAL_ACCURACY, 50);
    assert_int_equal(f.ev[0].step, 77);
    const struct tbr_value *v = &f.ev[0].values[0];
    assert_true(tbr_bytes_eq(&v->tag, "accuracy"));
    assert_int_equal(v->tensor.dtype, 1);
    assert_int_equal(v->tensor.ndims, 0);
    assert_int_equal(v->tensor.nfloat, 0);
    assert_true(v->tensor.has_content);
    assert_int_equal(v->tensor.content.len, 4);
    float x = tbr_f32(tbr_le32((const uint8_t *)v->tensor.content.p));
    assert_true(x == 0.99f);
    assert_true(tbr_bytes_eq(&v->plugin_name, "scalars"));
    tbr_file_free(&f);

    /* the official corrupt records: length CRC, then data CRC */
    uint8_t *b;
    size_t n;
    char err[256] = "";
    struct tbr_records r;
    bytes_of_hex(OFFICIAL_BAD_LEN, &b, &n);
    assert_int_equal(tbr_split(b, n, &r, err, sizeof err), TBR_ELENCRC);
    assert_int_equal(r.n, 0);
    assert_non_null(strstr(err, "record 0"));
    assert_non_null(strstr(err, "0x554b7f99")); /* stored */
    assert_non_null(strstr(err, "0x224b7fa3")); /* computed */
    tbr_records_free(&r);
    free(b);
    bytes_of_hex(OFFICIAL_BAD_DATA, &b, &n);
    assert_int_equal(tbr_split(b, n, &r, err, sizeof err), TBR_EDATACRC);
    assert_non_null(strstr(err, "record 0"));
    assert_non_null(strstr(err, "0x13579bdf"));
    assert_non_null(strstr(err, "0x26c5f766"));
    tbr_records_free(&r);
    free(b);
}

/* (a)..(e) end to end in one buffer. */
static void examples_concat(uint8_t **out, size_t *n, size_t bounds[6])
{
    const char *const ex[] = {EX_A, EX_B, EX_C, EX_D, EX_E};
    uint8_t *all = NULL;
    size_t len = 0;
    bounds[0] = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t *b;
        size_t k;
        bytes_of_hex(ex[i], &b, &k);
        all = realloc(all, len + k);
        assert_non_null(all);
        memcpy(all + len, b, k);
        len += k;
        bounds[i + 1] = len;
        free(b);
    }
    *out = all;
    *n = len;
}

static void test_reader_concat_and_truncation(void **state)
{
    (void)state;
    uint8_t *all;
    size_t len, bounds[6];
    examples_concat(&all, &len, bounds);
    char err[256];
    struct tbr_file f;
    assert_int_equal(tbr_load_bytes(&f, all, len, err, sizeof err), TBR_OK);
    assert_int_equal(f.n, 5);
    assert_false(f.recs.torn);
    assert_true(tbr_bytes_eq(&f.ev[0].file_version, "brain.Event:2"));
    assert_true(tbr_bytes_eq(&f.ev[4].values[0].tag,
                             "_hparams_/session_start_info"));
    for (int i = 0; i < 5; i++)
        assert_int_equal(f.recs.rec[i].offset, bounds[i]);
    tbr_file_free(&f);

    /* every cut: the complete records, and a torn tail when the cut is
     * inside a record */
    for (size_t cut = 0; cut <= len; cut++) {
        size_t whole = 0;
        while (whole < 5 && bounds[whole + 1] <= cut)
            whole++;
        int torn = cut != bounds[whole];
        struct tbr_records r;
        if (tbr_split(all, cut, &r, err, sizeof err) != TBR_OK)
            fail_msg("cut %zu: %s", cut, err);
        if (r.n != whole || r.torn != torn)
            fail_msg("cut %zu: %zu records (torn %d), want %zu (torn %d)", cut,
                     r.n, r.torn, whole, torn);
        if (torn) {
            assert_int_equal(r.torn_offset, bounds[whole]);
            assert_int_equal(r.torn_bytes, cut - bounds[whole]);
        }
        tbr_records_free(&r);
    }
    free(all);
}

static void test_reader_corrupt(void **state)
{
    (void)state;
    uint8_t *all;
    size_t len, bounds[6];
    examples_concat(&all, &len, bounds);
    char err[256];
    struct tbr_records r;
    struct {
        size_t at; /* byte to flip */
        int rc;
        const char *name;
        size_t before;
    } cases[] = {
        {bounds[3] - 1, TBR_EDATACRC, "record 2", 2},  /* data CRC of (c) */
        {bounds[3] + 9, TBR_ELENCRC, "record 3", 3},   /* length CRC of (d) */
        {bounds[1] + 20, TBR_EDATACRC, "record 1", 1}, /* a data byte of (b) */
        {bounds[0] + 1, TBR_ELENCRC, "record 0", 0},   /* the length of (a) */
        {bounds[4] + 12, TBR_EDATACRC, "record 4", 4}, /* first byte of (e) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        all[cases[i].at] ^= 0x10;
        int rc = tbr_split(all, len, &r, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].name))
            fail_msg("flip at %zu: status %d \"%s\", want %d naming %s",
                     cases[i].at, rc, err, cases[i].rc, cases[i].name);
        assert_int_equal(r.n, cases[i].before);
        tbr_records_free(&r);
        /* the file loader fails the same way */
        struct tbr_file f;
        assert_int_equal(tbr_load_bytes(&f, all, len, err, sizeof err),
                         cases[i].rc);
        assert_non_null(strstr(err, cases[i].name));
        tbr_file_free(&f);
        all[cases[i].at] ^= 0x10;
    }
    assert_int_equal(tbr_split(all, len, &r, err, sizeof err), TBR_OK);
    assert_int_equal(r.n, 5);
    tbr_records_free(&r);
    free(all);
}

/* Frame payload bytes as one record with the reader's own CRC. */
static size_t frame(const uint8_t *p, size_t n, uint8_t *out)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)n >> (8 * i));
    uint32_t c = tbr_masked_crc(out, 8);
    for (int i = 0; i < 4; i++)
        out[8 + i] = (uint8_t)(c >> (8 * i));
    memcpy(out + 12, p, n);
    c = tbr_masked_crc(p, n);
    for (int i = 0; i < 4; i++)
        out[12 + n + i] = (uint8_t)(c >> (8 * i));
    return n + 16;
}

static int decode_hex_event(const char *hex, struct tbr_event *ev)
{
    uint8_t *b;
    size_t n;
    char err[128];
    bytes_of_hex(hex, &b, &n);
    int rc = tbr_decode_event(b, n, ev, err, sizeof err);
    free(b);
    return rc;
}

static void test_reader_protobuf(void **state)
{
    (void)state;
    struct tbr_event ev;
    /* a negative int64 is a 10-byte varint */
    assert_int_equal(decode_hex_event("10 ff ff ff ff ff ff ff ff ff 01", &ev),
                     TBR_OK);
    assert_int_equal(ev.step, -1);
    tbr_event_free(&ev);
    /* 2^40, and unknown fields (varint 11, fixed32 12, fixed64 13, bytes
     * 14) skipped and counted */
    assert_int_equal(decode_hex_event("10 80 80 80 80 80 20 58 05 "
                                      "65 01 02 03 04 "
                                      "69 01 02 03 04 05 06 07 08 "
                                      "72 02 aa bb",
                                      &ev),
                     TBR_OK);
    assert_int_equal(ev.step, (int64_t)1 << 40);
    assert_int_equal(ev.unknown, 4);
    tbr_event_free(&ev);
    /* malformed: a cut varint, a length past the end, an 11-byte varint,
     * a group wire type, field number 0 */
    const char *bad[] = {"10 ff", "2a 05 0a", "10 ff ff ff ff ff ff ff ff ff 7f",
                         "0b", "00 01", "09 00 00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (decode_hex_event(bad[i], &ev) != TBR_EPROTO)
            fail_msg("\"%s\" decoded", bad[i]);
        tbr_event_free(&ev);
    }
    /* float_val unpacked (fixed32 each) and packed, in one tensor;
     * string_val with a NUL inside */
    assert_int_equal(decode_hex_event("2a 1a 0a 18 0a 01 \"t\" 42 13 "
                                      "2d 00 00 80 3f "
                                      "2a 08 00 00 00 40 00 00 40 40 "
                                      "42 02 61 00",
                                      &ev),
                     TBR_OK);
    assert_int_equal(ev.nvalues, 1);
    const struct tbr_tensor *t = &ev.values[0].tensor;
    assert_int_equal(t->nfloat, 3);
    assert_true(t->float_val[0] == 1.0f && t->float_val[1] == 2.0f &&
                t->float_val[2] == 3.0f);
    assert_int_equal(t->nstring, 1);
    assert_int_equal(t->string_val[0].len, 2);
    assert_memory_equal(t->string_val[0].p, "a\0", 2);
    assert_false(tbr_bytes_eq(&t->string_val[0], "a"));
    tbr_event_free(&ev);
    /* a packed float_val that is not a multiple of 4 */
    assert_int_equal(decode_hex_event("2a 0b 0a 09 42 07 2a 05 00 00 80 3f 00",
                                      &ev),
                     TBR_EPROTO);
    tbr_event_free(&ev);

    /* a record framed here reads back; a Summary with two values */
    uint8_t payload[64], rec[96];
    uint8_t *b;
    size_t n;
    bytes_of_hex("10 07 2a 14 0a 08 0a 01 \"a\" 15 00 00 80 3f "
                 "0a 08 0a 01 \"b\" 15 00 00 00 c0",
                 &b, &n);
    memcpy(payload, b, n);
    free(b);
    size_t k = frame(payload, n, rec);
    struct tbr_file f;
    char err[128];
    assert_int_equal(tbr_load_bytes(&f, rec, k, err, sizeof err), TBR_OK);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.ev[0].nvalues, 2);
    assert_true(f.ev[0].values[1].simple_value == -2.0f);
    tbr_file_free(&f);
    /* an Event that is not protobuf is an error naming the record */
    k = frame((const uint8_t *)"\x0b\x0b", 2, rec);
    assert_int_equal(tbr_load_bytes(&f, rec, k, err, sizeof err),
                     TBR_EPROTO);
    assert_non_null(strstr(err, "record 0"));
    tbr_file_free(&f);

    /* HParamsPluginData: session_end_info, and every Value kind */
    struct tbr_hparams h;
    bytes_of_hex("22 0b 08 01 11 00 00 00 40 fc 54 d9 41", &b, &n);
    assert_int_equal(tbr_decode_hparams(b, n, &h, err, sizeof err), TBR_OK);
    free(b);
    assert_int_equal(h.which, TBR_HP_END);
    assert_true(h.has_status);
    assert_int_equal(h.status, 1);
    assert_true(h.end_time_secs == 1700000000.0);
    tbr_hparams_free(&h);
    bytes_of_hex("1a 1e 0a 07 0a 01 \"b\" 12 02 20 01 "
                 "0a 07 0a 01 \"n\" 12 02 08 00 "
                 "0a 07 0a 01 \"s\" 12 02 1a 00 "
                 "22 01 \"g\"",
                 &b, &n);
    assert_int_equal(tbr_decode_hparams(b, n, &h, err, sizeof err), TBR_OK);
    free(b);
    assert_int_equal(h.which, TBR_HP_START);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.hp[0].value.kind, TBR_PV_BOOL);
    assert_true(h.hp[0].value.boolean);
    assert_int_equal(h.hp[1].value.kind, TBR_PV_NULL);
    assert_int_equal(h.hp[2].value.kind, TBR_PV_STRING);
    assert_true(tbr_bytes_eq(&h.hp[2].value.str, ""));
    assert_true(tbr_bytes_eq(&h.group_name, "g"));
    assert_false(h.has_start_time);
    tbr_hparams_free(&h);
}

/* ======================================================================
 * Files and folders
 * ====================================================================== */

static int safe_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

struct evname {
    long long time;
    char host[256];
    long long pid;
    long long n;
};

/* Parse events.out.tfevents.<10 digits>.<host>.<pid>.<n>; fails the test
 * when the name does not have that form. */
static struct evname parse_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    struct evname r;
    memset(&r, 0, sizeof r);
    const char *pre = "events.out.tfevents.";
    if (strncmp(base, pre, strlen(pre)) != 0)
        fail_msg("%s: not an events.out.tfevents. name", base);
    const char *p = base + strlen(pre);
    for (int i = 0; i < 10; i++)
        if (p[i] < '0' || p[i] > '9')
            fail_msg("%s: the time is not 10 digits", base);
    if (p[10] != '.')
        fail_msg("%s: the time is not 10 digits", base);
    r.time = strtoll(p, NULL, 10);
    const char *host = p + 11;
    const char *last = strrchr(host, '.');
    if (!last || last == host)
        fail_msg("%s: no <pid>.<n>", base);
    const char *mid = last - 1;
    while (mid > host && *mid != '.')
        mid--;
    if (*mid != '.' || mid == host)
        fail_msg("%s: no <host>.<pid>.<n>", base);
    for (const char *q = mid + 1; q < last; q++)
        if (*q < '0' || *q > '9')
            fail_msg("%s: the pid is not a number", base);
    for (const char *q = last + 1; *q; q++)
        if (*q < '0' || *q > '9')
            fail_msg("%s: <n> is not a number", base);
    if (mid + 1 == last || !last[1])
        fail_msg("%s: empty pid or n", base);
    r.pid = strtoll(mid + 1, NULL, 10);
    r.n = strtoll(last + 1, NULL, 10);
    size_t hl = (size_t)(mid - host);
    assert_true(hl > 0 && hl < sizeof r.host);
    memcpy(r.host, host, hl);
    r.host[hl] = '\0';
    return r;
}

/* The name, the folder <out>/tb/<run_id>, and the first record. */
static void test_file_name_and_first_record(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    int64_t t0 = floor_ns();
    evt_tracker *t = open_tb(out, "run-1", "");
    assert_int_equal(evt_log_scalar(t, "train/loss", 1.5, 7), EVT_OK);
    close_ok(t);
    int64_t t1 = now_ns();

    char *tb = tu_fmt("%s/tb", out);
    assert_int_equal(count_visible(tb), 1); /* only the run's folder */
    char *dir = tu_fmt("%s/tb/run-1", out);
    char *path = only_event_file(dir);
    assert_int_equal(count_visible(dir), 1);

    struct evname nm = parse_name(path);
    assert_true(nm.time >= t0 / 1000000000 - 1 &&
                nm.time <= t1 / 1000000000 + 1);
    assert_int_equal(nm.pid, (long long)getpid());
    assert_true(nm.n >= 0);
    char host[256] = "";
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    int safe = host[0] != '\0' && strcmp(host, ".") && strcmp(host, "..");
    for (const char *q = host; *q; q++)
        safe &= safe_host_char(*q);
    if (safe)
        assert_string_equal(nm.host, host);
    assert_null(strchr(nm.host, '/'));

    struct tbr_file f;
    load(&f, path);
    assert_int_equal(f.n, 2);
    const struct tbr_event *e = &f.ev[0];
    assert_true(tbr_bytes_eq(&e->file_version, "brain.Event:2"));
    assert_true(e->has_source_metadata);
    assert_true(tbr_bytes_eq(&e->writer, "evtrack"));
    assert_false(e->has_summary);
    assert_int_equal(e->unknown, 0);
    assert_true(e->has_wall_time);
    struct span life = {t0, t1};
    expect_time_in(e->wall_time, &life, "file_version wall_time");
    /* the scalar is the second record, and only one file_version */
    expect_scalar(&f, "train/loss", 7, 1.5, SIMPLE);
    assert_null(f.ev[1].file_version.p);
    tbr_file_free(&f);
    free(path);
    free(dir);
    free(tb);
    tu_rmtree(out);
}

/* No "run_id" in the config: the folder is the generated evt_run_id. */
static void test_generated_run_id(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, NULL, "");
    char *rid = strdup(evt_run_id(t));
    assert_int_equal(evt_log_scalar(t, "x", 2.0, 1), EVT_OK);
    close_ok(t);
    char *sub = tu_fmt("tb/%s", rid);
    struct tbr_file f;
    load_run(&f, out, sub);
    expect_scalar(&f, "x", 1, 2.0, SIMPLE);
    tbr_file_free(&f);
    free(sub);
    free(rid);
    tu_rmtree(out);
}

/* logdir relative (under output_dir) and absolute. */
static void test_logdir(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "\"logdir\": \"runs/sub\"");
    assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "runs/sub/r");
    expect_scalar(&f, "x", 1, 1.0, SIMPLE);
    tbr_file_free(&f);
    char *tb = tu_fmt("%s/tb", out);
    assert_false(is_dir(tb));
    free(tb);

    char *abs = tu_tmpdir();
    char *out2 = tu_tmpdir();
    char *cfg = tu_fmt("\"logdir\": \"%s/logs\"", abs);
    t = open_tb(out2, "r", cfg);
    assert_int_equal(evt_log_scalar(t, "y", 3.0, 2), EVT_OK);
    close_ok(t);
    load_run(&f, abs, "logs/r");
    expect_scalar(&f, "y", 2, 3.0, SIMPLE);
    tbr_file_free(&f);
    assert_int_equal(count_visible(out2), 0); /* nothing under output_dir */
    free(cfg);
    tu_rmtree(out2);
    tu_rmtree(abs);
    tu_rmtree(out);
}

/* run_name "" puts the file directly in logdir; a template keeps its
 * text around {run_id}. */
static void test_run_name(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r1", "\"run_name\": \"\"");
    assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
    close_ok(t);
    char *tb = tu_fmt("%s/tb", out);
    struct tbr_file f;
    load_only(&f, tb);
    expect_scalar(&f, "x", 1, 1.0, SIMPLE);
    tbr_file_free(&f);
    assert_int_equal(count_visible(tb), 1); /* the file, no folder */
    free(tb);
    tu_rmtree(out);

    out = tu_tmpdir();
    t = open_tb(out, "r1", "\"run_name\": \"exp-{run_id}-a\"");
    assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
    close_ok(t);
    load_run(&f, out, "tb/exp-r1-a");
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* The folder is created with the run's first record: no event, no
 * folder, not even after a flush. */
static void test_no_events_no_folder(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    close_ok(t);
    assert_int_equal(count_visible(out), 0);
    tu_rmtree(out);
}

/* A hostile run_name stays one component inside logdir. */
static void test_run_name_hostile(void **state)
{
    (void)state;
    const char *names[] = {"../x", "../../x", "../../../x", "..", ".",
                           "a/b",  "/abs",    "x/../../y",  "{run_id}/.."};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *root = tu_tmpdir();
        char *out = tu_fmt("%s/a/b", root);
        char *cfg = tu_fmt("\"run_name\": \"%s\"", names[i]);
        evt_tracker *t = open_tb(out, "r1", cfg);
        assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
        close_ok(t);
        struct paths ps = {0};
        find_event_files(root, &ps);
        if (ps.n != 1)
            fail_msg("run_name \"%s\": %zu event files under %s", names[i],
                     ps.n, root);
        char *logdir = tu_fmt("%s/tb/", out);
        const char *p = ps.v[0];
        if (strncmp(p, logdir, strlen(logdir)) != 0)
            fail_msg("run_name \"%s\": %s is not inside %s", names[i], p,
                     logdir);
        const char *rest = p + strlen(logdir);
        const char *slash = strchr(rest, '/');
        if (slash) {
            /* one component, not "." or "..", then the file */
            assert_null(strchr(slash + 1, '/'));
            size_t cl = (size_t)(slash - rest);
            if (cl == 0 || (cl == 1 && rest[0] == '.') ||
                (cl == 2 && rest[0] == '.' && rest[1] == '.'))
                fail_msg("run_name \"%s\": folder \"%.*s\"", names[i],
                         (int)cl, rest);
        }
        struct tbr_file f;
        load(&f, p);
        expect_scalar(&f, "x", 1, 1.0, SIMPLE);
        tbr_file_free(&f);
        paths_free(&ps);
        free(logdir);
        free(cfg);
        free(out);
        tu_rmtree(root);
    }
}

/* Two trackers with different run ids and one logdir: two folders, each
 * with its own values. */
static void test_two_runs_share_logdir(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *a = open_tb(out, "run-a", "\"logdir\": \"runs\"");
    evt_tracker *b = open_tb(out, "run-b", "\"logdir\": \"runs\"");
    assert_int_equal(evt_log_scalar(a, "x", 1.0, 1), EVT_OK);
    assert_int_equal(evt_log_scalar(b, "x", 2.0, 1), EVT_OK);
    assert_int_equal(evt_log_result(a, "t", "acc", NULL, 0.25, NAN, -1),
                     EVT_OK);
    close_ok(a);
    close_ok(b);
    char *runs = tu_fmt("%s/runs", out);
    assert_int_equal(count_visible(runs), 2);
    struct tbr_file f;
    load_run(&f, out, "runs/run-a");
    expect_scalar(&f, "x", 1, 1.0, SIMPLE);
    expect_scalar(&f, "eval/t/acc", 0, 0.25, SIMPLE);
    tbr_file_free(&f);
    load_run(&f, out, "runs/run-b");
    expect_scalar(&f, "x", 1, 2.0, SIMPLE);
    assert_int_equal(count_tag(&f, "eval/t/acc"), 0);
    tbr_file_free(&f);
    free(runs);
    tu_rmtree(out);
}

/* O_EXCL: a taken name is never written to; <n> moves on. Every name the
 * second file could take at <n> up to the first file's + 3, around now,
 * is taken beforehand. */
static void test_taken_name(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r1", "");
    assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
    close_ok(t);
    char *d1 = tu_fmt("%s/tb/r1", out);
    char *p1 = only_event_file(d1);
    struct evname n1 = parse_name(p1);

    char *d2 = tu_fmt("%s/tb/r2", out);
    assert_int_equal(mkdir(d2, 0700), 0); /* <out>/tb exists already */
    long long now = (long long)(now_ns() / 1000000000);
    size_t taken = 0;
    for (long long s = now - 1; s <= now + 4; s++)
        for (long long n = 0; n <= n1.n + 3; n++) {
            char *p = tu_fmt("%s/events.out.tfevents.%010lld.%s.%lld.%lld", d2,
                             s, n1.host, (long long)getpid(), n);
            tu_write_file(p, "");
            free(p);
            taken++;
        }
    t = open_tb(out, "r2", "");
    assert_int_equal(evt_log_scalar(t, "y", 2.0, 3), EVT_OK);
    close_ok(t);

    DIR *d = opendir(d2);
    assert_non_null(d);
    struct dirent *de;
    size_t empty = 0, full = 0;
    char *written = NULL;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = tu_fmt("%s/%s", d2, de->d_name);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        if (st.st_size == 0) {
            empty++;
            free(p);
        } else {
            full++;
            free(written);
            written = p;
        }
    }
    closedir(d);
    assert_int_equal(empty, taken); /* none rewritten or appended to */
    assert_int_equal(full, 1);
    struct evname n2 = parse_name(written);
    assert_true(n2.n > n1.n);
    struct tbr_file f;
    load(&f, written);
    expect_scalar(&f, "y", 3, 2.0, SIMPLE);
    tbr_file_free(&f);
    free(written);
    free(d2);
    free(p1);
    free(d1);
    tu_rmtree(out);
}

/* ======================================================================
 * Scalars
 * ====================================================================== */

/* The default templates: eval/{task}/{metric} and stderr_eval/..., the
 * filter appended unless it is absent, empty or "none". */
static void test_result_tags_default(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    assert_int_equal(evt_log_result(t, "mmlu", "acc", NULL, 0.5, 0.01, -1),
                     EVT_OK);
    assert_int_equal(evt_log_result(t, "gsm8k", "exact_match",
                                    "flexible-extract", 0.25, 0.02, 5),
                     EVT_OK);
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"t3\", \"metric\": \"m3\", \"filter\": \"\", "
             "\"value\": 0.75}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"t4\", \"metric\": \"m4\", \"value\": 1.5}");
    assert_int_equal(evt_log_result(t, "grp", "acc", "none", 0.125, NAN, -1),
                     EVT_OK);
    /* names are copied as logged, braces included, never re-expanded */
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"a b{task}\", \"metric\": \"x/y\", "
             "\"filter\": \"none\", \"value\": 2}");
    close_ok(t);

    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/mmlu/acc", 0, 0.5, SIMPLE);
    expect_scalar(&f, "stderr_eval/mmlu/acc", 0, 0.01, SIMPLE);
    expect_scalar(&f, "eval/gsm8k/exact_match,flexible-extract", 5, 0.25,
                  SIMPLE);
    expect_scalar(&f, "stderr_eval/gsm8k/exact_match,flexible-extract", 5,
                  0.02, SIMPLE);
    expect_scalar(&f, "eval/t3/m3", 0, 0.75, SIMPLE);
    expect_scalar(&f, "eval/t4/m4", 0, 1.5, SIMPLE);
    expect_scalar(&f, "eval/grp/acc", 0, 0.125, SIMPLE);
    expect_scalar(&f, "eval/a b{task}/x/y", 0, 2.0, SIMPLE);
    assert_int_equal(count_tag(&f, "stderr_eval/grp/acc"), 0);
    assert_int_equal(count_values(&f), 8);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* Custom templates: {metric_name}, {filter}, other text and braces as is;
 * stderr_tag "" leaves stderrs out. */
static void test_result_tags_custom(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r",
                             "\"tag\": \"{task}|{metric_name}|{filter}|"
                             "{metric}|{x}{}{\", "
                             "\"stderr_tag\": \"se:{metric}:{Task}\"");
    assert_int_equal(evt_log_result(t, "t", "m", "f1", 0.5, 0.1, 1), EVT_OK);
    assert_int_equal(evt_log_result(t, "t", "m", NULL, 0.25, 0.2, 2), EVT_OK);
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"u\", \"metric\": \"k\", \"value\": 3}");
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "t|m|f1|m,f1|{x}{}{", 1, 0.5, SIMPLE);
    expect_scalar(&f, "se:m,f1:{Task}", 1, 0.1, SIMPLE);
    expect_scalar(&f, "t|m|none|m|{x}{}{", 2, 0.25, SIMPLE);
    expect_scalar(&f, "se:m:{Task}", 2, 0.2, SIMPLE);
    expect_scalar(&f, "u|k|none|k|{x}{}{", 0, 3.0, SIMPLE);
    assert_int_equal(count_values(&f), 5);
    tbr_file_free(&f);
    tu_rmtree(out);

    out = tu_tmpdir();
    t = open_tb(out, "r", "\"stderr_tag\": \"\"");
    assert_int_equal(evt_log_result(t, "t", "m", "f1", 0.5, 0.1, 1), EVT_OK);
    assert_int_equal(evt_log_result(t, "t", "n", NULL, 0.25, 0.2, 1), EVT_OK);
    close_ok(t);
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/t/m,f1", 1, 0.5, SIMPLE);
    expect_scalar(&f, "eval/t/n", 1, 0.25, SIMPLE);
    assert_int_equal(count_values(&f), 2);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* step: the event's, or 0; wall_time: the event's time_ns (taken at
 * evt_begin: each event is committed 30 ms after it was begun). */
static void test_steps_and_wall_times(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    struct span s1, s2, s3, s4;
    evt_ev *e = begin_at(t, EVT_EV_RESULT, &s1);
    evt_str(e, "task", "t");
    evt_str(e, "metric", "m");
    evt_str(e, "filter", "none");
    evt_double(e, "value", 0.5);
    evt_double(e, "stderr", 0.125);
    evt_step(e, 42);
    sleep_ms(30);
    commit(e);
    e = begin_at(t, EVT_EV_SCALAR, &s2);
    evt_str(e, "tag", "train/loss");
    evt_double(e, "value", 0.75);
    evt_step(e, (int64_t)1 << 40);
    sleep_ms(30);
    commit(e);
    e = begin_at(t, EVT_EV_RESULT, &s3);
    evt_str(e, "task", "t");
    evt_str(e, "metric", "nostep");
    evt_double(e, "value", 1.0);
    sleep_ms(30);
    commit(e);
    e = begin_at(t, EVT_EV_SCALAR, &s4);
    evt_str(e, "tag", "lr");
    evt_double(e, "value", 0.001);
    sleep_ms(30);
    commit(e);
    close_ok(t);

    struct tbr_file f;
    load_run(&f, out, "tb/r");
    struct hit h = expect_scalar(&f, "eval/t/m", 42, 0.5, SIMPLE);
    expect_time_in(h.ev->wall_time, &s1, "result wall_time");
    h = expect_scalar(&f, "stderr_eval/t/m", 42, 0.125, SIMPLE);
    expect_time_in(h.ev->wall_time, &s1, "stderr wall_time");
    h = expect_scalar(&f, "train/loss", (int64_t)1 << 40, 0.75, SIMPLE);
    expect_time_in(h.ev->wall_time, &s2, "scalar wall_time");
    h = expect_scalar(&f, "eval/t/nostep", 0, 1.0, SIMPLE);
    expect_time_in(h.ev->wall_time, &s3, "result wall_time (no step)");
    h = expect_scalar(&f, "lr", 0, 0.001, SIMPLE);
    expect_time_in(h.ev->wall_time, &s4, "scalar wall_time (no step)");
    assert_int_equal(count_values(&f), 5);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* Values are float32, from floats and from integers. */
static void test_float32_values(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        double want;
    } vals[] = {{"0.1", 0.1},
                {"0.3333333333333333", 1.0 / 3.0},
                {"-2.5e-08", -2.5e-8},
                {"123456.789", 123456.789},
                {"3.4e+38", 3.4e38},
                {"1e-45", 1e-45},
                {"16777217", 16777217.0},
                {"-3", -3.0},
                {"0", 0.0},
                {"255", 255.0}};
    const size_t n = sizeof vals / sizeof vals[0];
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    for (size_t i = 0; i < n; i++) {
        char *r = tu_fmt("{\"task\": \"t\", \"metric\": \"m%zu\", "
                         "\"value\": %s}",
                         i, vals[i].json);
        log_json(t, EVT_EV_RESULT, r);
        free(r);
        char *s = tu_fmt("{\"tag\": \"s%zu\", \"value\": %s, \"step\": %zu}",
                         i, vals[i].json, i);
        log_json(t, EVT_EV_SCALAR, s);
        free(s);
    }
    assert_int_equal(evt_log_result(t, "t", "d", NULL, 0.1, 0.7, -1), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    for (size_t i = 0; i < n; i++) {
        char *tag = tu_fmt("eval/t/m%zu", i);
        expect_scalar(&f, tag, 0, vals[i].want, SIMPLE);
        free(tag);
        tag = tu_fmt("s%zu", i);
        expect_scalar(&f, tag, (int64_t)i, vals[i].want, SIMPLE);
        free(tag);
    }
    expect_scalar(&f, "eval/t/d", 0, 0.1, SIMPLE);
    expect_scalar(&f, "stderr_eval/t/d", 0, 0.7, SIMPLE);
    assert_int_equal(count_values(&f), 2 * n + 2);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* scalar_form "tensor": a rank-0 DT_FLOAT tensor, one float_val, plugin
 * "scalars". */
static void test_tensor_form(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "\"scalar_form\": \"tensor\"");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, 0.75, 0.05, 3),
                     EVT_OK);
    assert_int_equal(evt_log_scalar(t, "loss", 1.25, 4), EVT_OK);
    assert_int_equal(evt_log_scalar(t, "nan", NAN, 5), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/t/acc", 3, 0.75, TENSOR);
    expect_scalar(&f, "stderr_eval/t/acc", 3, 0.05, TENSOR);
    expect_scalar(&f, "loss", 4, 1.25, TENSOR);
    expect_scalar(&f, "nan", 5, NAN, TENSOR);
    assert_int_equal(count_values(&f), 4);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* scalar events: their tag (no template), value and step. */
static void test_scalar_events(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    assert_int_equal(evt_log_scalar(t, "train/loss", 1.25, 3000), EVT_OK);
    assert_int_equal(evt_log_scalar(t, "lr", 1e-4, -1), EVT_OK);
    log_json(t, EVT_EV_SCALAR,
             "{\"tag\": \"x/{task}\", \"value\": 3, \"step\": 5}");
    assert_int_equal(evt_log_scalar(t, "train/loss", 1.0, 3001), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "train/loss", 3000, 1.25, SIMPLE);
    expect_scalar(&f, "train/loss", 3001, 1.0, SIMPLE);
    expect_scalar(&f, "lr", 0, 1e-4, SIMPLE);
    expect_scalar(&f, "x/{task}", 5, 3.0, SIMPLE);
    assert_int_equal(count_values(&f), 4);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* A value that is not a number: nothing written, the first one logged as
 * a warning naming the event, the count logged at close. */
static void test_non_numeric_skipped(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    log_start();
    evt_tracker *t = open_tb(out, "r", "");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"m\"}"); /* seq 1 */
    assert_int_equal(evt_log_result(t, "ok", "acc", NULL, 0.5, NAN, -1),
                     EVT_OK); /* seq 2 */
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"mme\", \"metric\": \"score\", \"value\": null}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"mme\", \"metric\": \"score2\", \"value\": \"abc\"}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"mme\", \"metric\": \"score3\", "
             "\"value\": {\"a\": 1}}");
    log_json(t, EVT_EV_SCALAR, "{\"tag\": \"s\", \"value\": \"x\"}"); /* 6 */
    assert_int_equal(evt_log_result(t, "ok", "acc2", NULL, 0.25, NAN, -1),
                     EVT_OK);
    close_ok(t);
    log_stop();

    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/ok/acc", 0, 0.5, SIMPLE);
    expect_scalar(&f, "eval/ok/acc2", 0, 0.25, SIMPLE);
    assert_int_equal(count_tag(&f, "eval/mme/score"), 0);
    assert_int_equal(count_tag(&f, "eval/mme/score2"), 0);
    assert_int_equal(count_tag(&f, "eval/mme/score3"), 0);
    assert_int_equal(count_tag(&f, "s"), 0);
    assert_int_equal(count_values(&f), 2);
    tbr_file_free(&f);

    const char *pre = "sink \"" SINK "\": ";
    if (log_count(-1, "value is not a number", NULL, NULL) != 1 ||
        log_count(EVT_LOG_WARN, pre, "result event seq 3 (task \"mme\", "
                                     "metric \"score\"): value is not a "
                                     "number; skipped",
                  NULL) != 1 ||
        log_count(-1, "seq 4", NULL, NULL) != 0) {
        log_dump();
        fail_msg("want one warning naming result seq 3 (task \"mme\", "
                 "metric \"score\")");
    }
    /* the count, 4, logged by the sink at close */
    size_t counted = 0;
    pthread_mutex_lock(&log_mu);
    for (size_t i = 0; i < nlogs; i++)
        counted += strstr(logs[i].msg, pre) == logs[i].msg &&
                   !strstr(logs[i].msg, "seq 3") &&
                   strstr(logs[i].msg, "skip") &&
                   has_number(logs[i].msg, 4);
    pthread_mutex_unlock(&log_mu);
    if (counted != 1) {
        log_dump();
        fail_msg("want one message of the sink counting 4 skipped values");
    }
    tu_rmtree(out);
}

/* A stderr that is not a number ("N/A", null) is left out silently. */
static void test_stderr_na_silent(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    log_start();
    evt_tracker *t = open_tb(out, "r", "");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"t\", \"metric\": \"m\", \"value\": 0.5, "
             "\"stderr\": \"N/A\"}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"t\", \"metric\": \"n\", \"value\": 0.25, "
             "\"stderr\": null, \"step\": 2}");
    close_ok(t);
    log_stop();
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/t/m", 0, 0.5, SIMPLE);
    expect_scalar(&f, "eval/t/n", 2, 0.25, SIMPLE);
    assert_int_equal(count_tag(&f, "stderr_eval/t/m"), 0);
    assert_int_equal(count_tag(&f, "stderr_eval/t/n"), 0);
    assert_int_equal(count_values(&f), 2);
    tbr_file_free(&f);
    const char *pre = "sink \"" SINK "\": ";
    if (log_count(EVT_LOG_WARN, pre, NULL, NULL) +
            log_count(EVT_LOG_ERROR, pre, NULL, NULL) !=
        0) {
        log_dump();
        fail_msg("the sink warned about a stderr that is not a number");
    }
    tu_rmtree(out);
}

/* NaN and infinities are kept. */
static void test_nonfinite_kept(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    assert_int_equal(evt_log_result(t, "t", "nan", NULL, NAN, NAN, 1),
                     EVT_OK);
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"t\", \"metric\": \"inf\", \"value\": Infinity, "
             "\"stderr\": Infinity}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"t\", \"metric\": \"ninf\", \"value\": -Infinity, "
             "\"stderr\": NaN}");
    assert_int_equal(evt_log_scalar(t, "s", NAN, 2), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/t/nan", 1, NAN, SIMPLE);
    expect_scalar(&f, "eval/t/inf", 0, INFINITY, SIMPLE);
    expect_scalar(&f, "stderr_eval/t/inf", 0, INFINITY, SIMPLE);
    expect_scalar(&f, "eval/t/ninf", 0, -INFINITY, SIMPLE);
    expect_scalar(&f, "stderr_eval/t/ninf", 0, NAN, SIMPLE);
    expect_scalar(&f, "s", 2, NAN, SIMPLE);
    assert_int_equal(count_values(&f), 6);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* ======================================================================
 * run_end: the results table and the hparams session
 * ====================================================================== */

struct hm {
    struct span start, end;
};

/* A hand-made run: 3 tasks (arc: version 1, 5-shot, a stderr and none;
 * gsm8k: version 0.5, no n-shot, two filters, one stderr "N/A"; mme: no
 * task_config, a null and a string value), a result repeated at a later
 * step, a scalar, and run_end. Steps 10, 20, 25, 30. */
static void log_handmade(evt_tracker *t, struct hm *tm)
{
    log_start(); /* its two skipped values warn: keep stderr quiet */
    evt_ev *e = begin_at(t, EVT_EV_RUN_START, &tm->start);
    evt_str(e, "model_source", "hf");
    evt_str(e, "model_name", "org/model");
    evt_str(e, "model_args", "pretrained=org/model");
    evt_json(e, "config",
             "{\"batch_size\": 8, \"device\": \"cpu\", \"limit\": null, "
             "\"log_samples\": false, \"temperature\": 0.5, "
             "\"gen_kwargs\": {\"a\": 1}, \"seeds\": [1, 2]}");
    sleep_ms(30);
    commit(e);
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"arc\", \"version\": 1, \"n-shot\": 5}");
    log_json(t, EVT_EV_TASK_CONFIG, "{\"task\": \"gsm8k\", \"version\": 0.5}");
    assert_int_equal(evt_log_result(t, "arc", "acc", NULL, 0.4, 0.01234, 10),
                     EVT_OK);
    assert_int_equal(
        evt_log_result(t, "arc", "acc_norm", NULL, 0.25, NAN, 10), EVT_OK);
    assert_int_equal(evt_log_result(t, "gsm8k", "exact_match", "strict-match",
                                    0.75, 0.0433, 20),
                     EVT_OK);
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"gsm8k\", \"metric\": \"exact_match\", "
             "\"filter\": \"flexible-extract\", \"value\": 0.8, "
             "\"stderr\": \"N/A\", \"step\": 20}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"mme\", \"metric\": \"score\", \"filter\": "
             "\"none\", \"value\": null}");
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"mme\", \"metric\": \"note\", \"filter\": "
             "\"none\", \"value\": \"abc\"}");
    assert_int_equal(evt_log_result(t, "arc", "acc", NULL, 0.5, 0.01234, 30),
                     EVT_OK);
    assert_int_equal(evt_log_scalar(t, "train/loss", 2.0, 25), EVT_OK);
    e = begin_at(t, EVT_EV_RUN_END, &tm->end);
    evt_int(e, "end_time_ns", tm->end.t1);
    evt_double(e, "total_seconds", 1.5);
    sleep_ms(30);
    commit(e);
}

#define NCOL 7
typedef const char *const row_t[NCOL];

static const char *cell_str(const struct tbr_bytes *b)
{
    return b->p ? b->p : "(null)";
}

/* The value is the text table: DT_STRING [nrows, 7] with these cells,
 * plugin "text". */
static void expect_table(const struct tbr_value *v, const row_t *rows,
                         size_t nrows)
{
    assert_false(v->has_simple);
    if (!tbr_bytes_eq(&v->plugin_name, "text"))
        fail_msg("table: plugin \"%s\", want \"text\"",
                 cell_str(&v->plugin_name));
    const struct tbr_tensor *t = &v->tensor;
    assert_true(t->present);
    assert_int_equal(t->dtype, 7); /* DT_STRING */
    assert_int_equal(t->ndims, 2);
    if (t->dims[0] != (int64_t)nrows || t->dims[1] != NCOL)
        fail_msg("table: shape [%lld, %lld], want [%zu, %d]",
                 (long long)t->dims[0], (long long)t->dims[1], nrows, NCOL);
    assert_int_equal(t->nstring, nrows * NCOL);
    assert_int_equal(t->nfloat, 0);
    assert_false(t->has_content);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < NCOL; c++) {
            const struct tbr_bytes *got = &t->string_val[r * NCOL + c];
            if (!tbr_bytes_eq(got, rows[r][c]))
                fail_msg("table row %zu column %zu (%s): \"%s\", want "
                         "\"%s\"",
                         r, c, rows[0][c], cell_str(got), rows[r][c]);
        }
}

static void test_table_handmade(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"Tasks", "Version", "Filter", "n-shot", "Metric", "Value", "Stderr"},
        {"arc", "1", "none", "5", "acc", "0.5000", "0.0123"},
        {"arc", "1", "none", "5", "acc_norm", "0.2500", "N/A"},
        {"gsm8k", "0.5", "strict-match", "", "exact_match", "0.7500",
         "0.0433"},
        {"gsm8k", "0.5", "flexible-extract", "", "exact_match", "0.8000",
         "N/A"},
        {"mme", "N/A", "none", "", "score", "N/A", "N/A"},
        {"mme", "N/A", "none", "", "note", "abc", "N/A"},
    };
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    struct hm tm;
    log_handmade(t, &tm);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    struct hit h = one_tag(&f, "eval_results");
    assert_int_equal(h.ev->step, 30); /* the largest step of the run */
    expect_time_in(h.ev->wall_time, &tm.end, "table wall_time");
    expect_table(h.v, rows, sizeof rows / sizeof rows[0]);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* Every value of the hand-made run: the scalars, then at run_end the
 * table and the two hparams records. */
static void test_run_inventory(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    struct hm tm;
    log_handmade(t, &tm);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "eval/arc/acc", 10, 0.4, SIMPLE);
    expect_scalar(&f, "eval/arc/acc", 30, 0.5, SIMPLE);
    expect_scalar(&f, "stderr_eval/arc/acc", 10, 0.01234, SIMPLE);
    expect_scalar(&f, "stderr_eval/arc/acc", 30, 0.01234, SIMPLE);
    expect_scalar(&f, "eval/arc/acc_norm", 10, 0.25, SIMPLE);
    expect_scalar(&f, "eval/gsm8k/exact_match,strict-match", 20, 0.75,
                  SIMPLE);
    expect_scalar(&f, "stderr_eval/gsm8k/exact_match,strict-match", 20,
                  0.0433, SIMPLE);
    expect_scalar(&f, "eval/gsm8k/exact_match,flexible-extract", 20, 0.8,
                  SIMPLE);
    expect_scalar(&f, "train/loss", 25, 2.0, SIMPLE);
    assert_int_equal(count_tag(&f, "eval/mme/score"), 0);
    assert_int_equal(count_tag(&f, "eval/mme/note"), 0);
    assert_int_equal(count_values(&f), 9 + 1 + 2);
    /* one file_version record, first */
    for (size_t i = 1; i < f.n; i++)
        assert_null(f.ev[i].file_version.p);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* table_tag: another tag; at step 0 when no event had a step; "" none. */
static void test_table_tag(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"Tasks", "Version", "Filter", "n-shot", "Metric", "Value", "Stderr"},
        /* the results file's numbers, not float32 ones (those would
         * give 0.1235 and 0.9999) */
        {"t", "N/A", "f", "", "m", "0.1234", "1.0000"},
    };
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "\"table_tag\": \"my/table\"");
    assert_int_equal(
        evt_log_result(t, "t", "m", "f", 0.1234499999, 0.99995, -1), EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    struct hit h = one_tag(&f, "my/table");
    assert_int_equal(h.ev->step, 0);
    expect_table(h.v, rows, 2);
    assert_int_equal(count_tag(&f, "eval_results"), 0);
    tbr_file_free(&f);
    tu_rmtree(out);

    out = tu_tmpdir();
    t = open_tb(out, "r", "\"table_tag\": \"\"");
    struct hm tm;
    log_handmade(t, &tm);
    close_ok(t);
    load_run(&f, out, "tb/r");
    assert_int_equal(count_tag(&f, "eval_results"), 0);
    assert_int_equal(count_plugin(&f, "text"), 0);
    for (size_t i = 0; i < f.n; i++)
        for (size_t j = 0; j < f.ev[i].nvalues; j++)
            assert_int_not_equal(f.ev[i].values[j].tensor.dtype, 7);
    assert_int_equal(count_values(&f), 9 + 2);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* A table (and a session) at each run_end, each at the largest step seen
 * so far. */
static void test_two_run_ends(void **state)
{
    (void)state;
    static const row_t first[] = {
        {"Tasks", "Version", "Filter", "n-shot", "Metric", "Value", "Stderr"},
        {"t", "N/A", "none", "", "a", "0.5000", "N/A"},
    };
    static const row_t second[] = {
        {"Tasks", "Version", "Filter", "n-shot", "Metric", "Value", "Stderr"},
        {"t", "N/A", "none", "", "a", "0.5000", "N/A"},
        {"t", "N/A", "none", "", "b", "0.2500", "0.0100"},
    };
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    assert_int_equal(evt_log_result(t, "t", "a", NULL, 0.5, NAN, 5), EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_log_result(t, "t", "b", NULL, 0.25, 0.01, 9), EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    struct hit h[3];
    assert_int_equal(find_tag(&f, "eval_results", h, 3), 2);
    assert_true(h[0].ev < h[1].ev);
    assert_int_equal(h[0].ev->step, 5);
    expect_table(h[0].v, first, 2);
    assert_int_equal(h[1].ev->step, 9);
    expect_table(h[1].v, second, 3);
    assert_int_equal(count_tag(&f, "_hparams_/session_start_info"), 2);
    assert_int_equal(count_tag(&f, "_hparams_/session_end_info"), 2);
    assert_int_equal(count_values(&f), 3 + 2 * 3);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* The session_start_info / session_end_info content of the only value
 * with that tag, decoded. */
static struct hit hparams_of(const struct tbr_file *f, const char *tag,
                             struct tbr_hparams *h)
{
    struct hit v = one_tag(f, tag);
    if (!tbr_bytes_eq(&v.v->plugin_name, "hparams"))
        fail_msg("%s: plugin \"%s\", want \"hparams\"", tag,
                 cell_str(&v.v->plugin_name));
    assert_false(v.v->has_simple);
    char err[256];
    if (tbr_decode_hparams((const uint8_t *)v.v->plugin_content.p,
                           v.v->plugin_content.len, h, err,
                           sizeof err) != TBR_OK)
        fail_msg("%s: %s", tag, err);
    assert_int_equal(h->unknown, 0);
    return v;
}

enum { NUM, STR, BOOL };
struct want_hp {
    const char *key;
    int kind;
    double num;
    const char *str;
};

static void expect_hparam(const struct tbr_hparams *h, const struct want_hp *w)
{
    const struct tbr_hparam *p = tbr_hparam_get(h, w->key);
    if (!p)
        fail_msg("no hparam \"%s\"", w->key);
    switch (w->kind) {
    case NUM:
        if (p->value.kind != TBR_PV_NUMBER || p->value.number != w->num)
            fail_msg("hparam \"%s\": kind %d %.17g, want number %.17g",
                     w->key, p->value.kind, p->value.number, w->num);
        break;
    case STR:
        if (p->value.kind != TBR_PV_STRING ||
            !tbr_bytes_eq(&p->value.str, w->str))
            fail_msg("hparam \"%s\": kind %d \"%s\", want string \"%s\"",
                     w->key, p->value.kind, cell_str(&p->value.str), w->str);
        break;
    default:
        if (p->value.kind != TBR_PV_BOOL ||
            p->value.boolean != (w->num != 0))
            fail_msg("hparam \"%s\": kind %d, want bool %d", w->key,
                     p->value.kind, w->num != 0);
    }
}

/* Keys strictly increasing (sorted, no repeats). */
static void expect_sorted(const struct tbr_hparams *h)
{
    for (size_t i = 1; i < h->n; i++) {
        const struct tbr_bytes *a = &h->hp[i - 1].key, *b = &h->hp[i].key;
        size_t m = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->p, b->p, m);
        if (c > 0 || (c == 0 && a->len >= b->len))
            fail_msg("hparams not sorted: \"%s\" before \"%s\"", a->p, b->p);
    }
}

static void test_hparams(void **state)
{
    (void)state;
    static const struct want_hp want[] = {
        {"batch_size", NUM, 8, NULL},
        {"device", STR, 0, "cpu"},
        {"log_samples", BOOL, 0, NULL},
        {"model", STR, 0, "hf"},
        {"model_args", STR, 0, "pretrained=org/model"},
        {"model_name", STR, 0, "org/model"},
        {"n-shot/arc", NUM, 5, NULL},
        {"temperature", NUM, 0.5, NULL},
        {"version/arc", NUM, 1, NULL},
        {"version/gsm8k", NUM, 0.5, NULL},
    };
    const size_t n = sizeof want / sizeof want[0];
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    struct hm tm;
    log_handmade(t, &tm);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    struct tbr_hparams h;
    struct hit s = hparams_of(&f, "_hparams_/session_start_info", &h);
    assert_int_equal(h.which, TBR_HP_START);
    assert_int_equal(h.version, 0);
    if (h.n != n) {
        for (size_t i = 0; i < h.n; i++)
            print_message("hparam %s\n", h.hp[i].key.p);
        fail_msg("%zu hparams, want %zu", h.n, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!tbr_bytes_eq(&h.hp[i].key, want[i].key))
            fail_msg("hparam %zu is \"%s\", want \"%s\"", i, h.hp[i].key.p,
                     want[i].key);
        expect_hparam(&h, &want[i]);
    }
    expect_sorted(&h);
    assert_true(h.has_start_time);
    expect_time_in(h.start_time_secs, &tm.start, "start_time_secs");
    expect_time_in(s.ev->wall_time, &tm.end, "session_start_info wall_time");
    tbr_hparams_free(&h);

    struct hit e = hparams_of(&f, "_hparams_/session_end_info", &h);
    assert_int_equal(h.which, TBR_HP_END);
    assert_true(h.has_status);
    assert_int_equal(h.status, 1); /* SUCCESS */
    assert_true(h.has_end_time);
    expect_time_in(h.end_time_secs, &tm.end, "end_time_secs");
    expect_time_in(e.ev->wall_time, &tm.end, "session_end_info wall_time");
    assert_true(s.ev < e.ev); /* start before end */
    tbr_hparams_free(&h);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* No run_start: start_time_secs is the run's first event's time. */
static void test_hparams_start_without_run_start(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    struct span first, end;
    evt_ev *e = begin_at(t, EVT_EV_RESULT, &first);
    evt_str(e, "task", "t");
    evt_str(e, "metric", "m");
    evt_double(e, "value", 0.5);
    sleep_ms(30);
    commit(e);
    sleep_ms(30);
    e = begin_at(t, EVT_EV_RUN_END, &end);
    evt_int(e, "end_time_ns", end.t1);
    evt_double(e, "total_seconds", 0.5);
    sleep_ms(30);
    commit(e);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    struct tbr_hparams h;
    hparams_of(&f, "_hparams_/session_start_info", &h);
    assert_true(h.has_start_time);
    expect_time_in(h.start_time_secs, &first, "start_time_secs");
    expect_sorted(&h);
    tbr_hparams_free(&h);
    hparams_of(&f, "_hparams_/session_end_info", &h);
    assert_int_equal(h.status, 1);
    expect_time_in(h.end_time_secs, &end, "end_time_secs");
    tbr_hparams_free(&h);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* "hparams": false writes no session; the table stays. */
static void test_hparams_disabled(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "\"hparams\": false");
    struct hm tm;
    log_handmade(t, &tm);
    close_ok(t);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    assert_int_equal(count_plugin(&f, "hparams"), 0);
    for (size_t i = 0; i < f.n; i++)
        for (size_t j = 0; j < f.ev[i].nvalues; j++)
            assert_null(strstr(cell_str(&f.ev[i].values[j].tag), "_hparams_"));
    one_tag(&f, "eval_results");
    assert_int_equal(count_values(&f), 9 + 1);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* Redaction as local-json's, and environment secrets never in the file. */
static void test_no_secrets(void **state)
{
    (void)state;
    const char *secrets[] = {"tok-SECRET-12345678", "hub-SECRET-87654321",
                             "wandb-SECRET-abcdefgh",
                             "hf_abcdefghijklmnopqrstuvwxyz", "plain-value"};
    setenv("HF_TOKEN", secrets[0], 1);
    setenv("HUGGING_FACE_HUB_TOKEN", secrets[1], 1);
    setenv("WANDB_API_KEY", secrets[2], 1);
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    log_json(t, EVT_EV_RUN_START,
             "{\"model_source\": \"hf\", "
             "\"model_name\": \"org/tok-SECRET-12345678\", "
             "\"model_args\": \"pretrained=x,token=hf_abcdefghijklmnopqrstuvwxyz\","
             " \"config\": {\"note\": \"a tok-SECRET-12345678 b\", "
             "\"hub\": \"hub-SECRET-87654321\", "
             "\"w\": \"x wandb-SECRET-abcdefgh\", "
             "\"hub_token\": \"plain-value\", \"k\": \"api_key=zzz9\"}}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, 0.5, 0.1, -1),
                     EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    close_ok(t);
    unsetenv("HF_TOKEN");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
    unsetenv("WANDB_API_KEY");

    char *dir = tu_fmt("%s/tb/r", out);
    char *path = only_event_file(dir);
    size_t len = 0;
    char *raw = read_raw(path, &len);
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (memmem(raw, len, secrets[i], strlen(secrets[i])))
            fail_msg("\"%s\" is in %s", secrets[i], path);
    for (size_t i = 0; i < 3; i++)
        assert_null(strstr(path, secrets[i]));

    struct tbr_file f;
    load(&f, path);
    struct tbr_hparams h;
    hparams_of(&f, "_hparams_/session_start_info", &h);
    static const struct want_hp want[] = {
        {"model_args", STR, 0, "pretrained=x,token=[REDACTED]"},
        {"model_name", STR, 0, "org/[REDACTED]"},
        {"note", STR, 0, "a [REDACTED] b"},
        {"hub", STR, 0, "[REDACTED]"},
        {"w", STR, 0, "x [REDACTED]"},
        {"hub_token", STR, 0, "[REDACTED]"},
        {"k", STR, 0, "api_key=[REDACTED]"},
        {"model", STR, 0, "hf"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        expect_hparam(&h, &want[i]);
    tbr_hparams_free(&h);
    tbr_file_free(&f);
    free(raw);
    free(path);
    free(dir);
    tu_rmtree(out);
}

/* ---- a real lm-eval results file ----------------------------------- */

/* The results file rel replayed as a harness would have logged it
 * (results_events.h), with the samples of one task; t is closed. */
static void replay(evt_tracker *t, const char *rel, const char *samples_task,
                   const char *samples_rel)
{
    char *text = tu_read_shared(rel);
    struct mp m;
    mp_parse(&m, text);
    const msgpack_object *root = &m.view.root;
    const msgpack_object *results = evt_mp_get(root, "results");
    assert_non_null(results);
    send_run(t, root, 0);
    for (uint32_t i = 0; i < results->via.map.size; i++) {
        char *task = evt_mp_strdup(&results->via.map.ptr[i].key);
        const msgpack_object *entry = &results->via.map.ptr[i].val;
        send_task_config(t, root, task, entry);
        if (samples_task && strcmp(task, samples_task) == 0)
            send_samples(t, task, samples_rel);
        send_results(t, task, entry);
        free(task);
    }
    send_run(t, root, 1);
    close_ok(t);
    mp_free(&m);
    free(text);
}

/* lm-eval 0.4.13dev negotiationtom: 3 tasks and their group, "N/A"
 * stderrs, a string version for the group. */
static void test_real_results_file(void **state)
{
    (void)state;
    static const row_t rows[] = {
        {"Tasks", "Version", "Filter", "n-shot", "Metric", "Value", "Stderr"},
        {"negotiationtom_belief", "0", "none", "0", "acc", "0.4500", "0.1141"},
        {"negotiationtom_desire", "0", "none", "0", "acc", "0.6000", "0.1124"},
        {"negotiationtom_intention", "0", "none", "0", "micro_f1", "0.3019",
         "N/A"},
        {"negotiationtom_intention", "0", "none", "0", "macro_f1", "0.2524",
         "N/A"},
        {"negotiationtom_intention", "0", "none", "0", "exact_match", "0.2000",
         "0.0918"},
        {"negotiationtom", "0", "none", "0", "acc", "0.5250", "0.0801"},
        {"negotiationtom", "0", "none", "0", "micro_f1", "0.3019", "N/A"},
        {"negotiationtom", "0", "none", "0", "macro_f1", "0.2524", "N/A"},
        {"negotiationtom", "0", "none", "0", "exact_match", "0.2000",
         "0.0918"},
    };
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "nego", "");
    replay(t, NEGO_RESULTS, "negotiationtom_intention", NEGO_SAMPLES);
    struct tbr_file f;
    load_run(&f, out, "tb/nego");
    struct hit h = one_tag(&f, "eval_results");
    assert_int_equal(h.ev->step, 0);
    expect_table(h.v, rows, sizeof rows / sizeof rows[0]);

    /* 9 values and 5 numeric stderrs; the samples add nothing */
    expect_scalar(&f, "eval/negotiationtom_belief/acc", 0, 0.45, SIMPLE);
    expect_scalar(&f, "stderr_eval/negotiationtom_belief/acc", 0,
                  0.11413288653790232, SIMPLE);
    expect_scalar(&f, "eval/negotiationtom_intention/micro_f1", 0,
                  0.30188679245283023, SIMPLE);
    assert_int_equal(
        count_tag(&f, "stderr_eval/negotiationtom_intention/micro_f1"), 0);
    expect_scalar(&f, "stderr_eval/negotiationtom/exact_match", 0,
                  0.0917662935482247, SIMPLE);
    assert_int_equal(count_values(&f), 9 + 5 + 1 + 2);

    struct tbr_hparams hp;
    hparams_of(&f, "_hparams_/session_start_info", &hp);
    expect_sorted(&hp);
    static const struct want_hp want[] = {
        {"model", STR, 0, "hf"},
        {"model_name", STR, 0, "Qwen/Qwen3-8B"},
        {"batch_size", STR, 0, "auto"},
        {"limit", NUM, 20.0, NULL},
        {"bootstrap_iters", NUM, 100000, NULL},
        {"model_num_parameters", NUM, 8190735360.0, NULL},
        {"version/negotiationtom", STR, 0, "0"},
        {"version/negotiationtom_belief", NUM, 0, NULL},
        {"n-shot/negotiationtom_intention", NUM, 0, NULL},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        expect_hparam(&hp, &want[i]);
    /* a map, null, an array and a map are not hparams */
    assert_null(tbr_hparam_get(&hp, "model_args"));
    assert_null(tbr_hparam_get(&hp, "use_cache"));
    assert_null(tbr_hparam_get(&hp, "batch_sizes"));
    assert_null(tbr_hparam_get(&hp, "gen_kwargs"));
    /* 13 config members, model_name, 4 n-shot, 4 versions */
    assert_int_equal(hp.n, 13 + 1 + 4 + 4);
    tbr_hparams_free(&hp);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* ======================================================================
 * Durability
 * ====================================================================== */

/* After evt_flush every record is in the file, the tracker still open. */
static void test_flush_durable(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"m\"}");
    for (int i = 0; i < 3; i++)
        assert_int_equal(evt_log_result(t, "t", "acc", NULL, 0.25 * i, NAN, i),
                         EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct tbr_file f;
    load_run(&f, out, "tb/r");
    assert_true(tbr_bytes_eq(&f.ev[0].file_version, "brain.Event:2"));
    for (int i = 0; i < 3; i++)
        expect_scalar(&f, "eval/t/acc", i, 0.25 * i, SIMPLE);
    assert_int_equal(count_values(&f), 3);
    tbr_file_free(&f);

    assert_int_equal(evt_log_scalar(t, "loss", 1.5, 7), EVT_OK);
    assert_int_equal(evt_log_scalar(t, "loss", 1.25, 8), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    load_run(&f, out, "tb/r");
    expect_scalar(&f, "loss", 7, 1.5, SIMPLE);
    expect_scalar(&f, "loss", 8, 1.25, SIMPLE);
    assert_int_equal(count_values(&f), 5);
    tbr_file_free(&f);
    close_ok(t);
    load_run(&f, out, "tb/r");
    assert_int_equal(count_values(&f), 5);
    tbr_file_free(&f);
    tu_rmtree(out);
}

/* A copy of the file cut anywhere in its last records yields every
 * complete record and reports the torn tail. */
static void test_torn_tail(void **state)
{
    (void)state;
    char *out = tu_tmpdir();
    evt_tracker *t = open_tb(out, "r", "");
    for (int i = 0; i < 12; i++)
        assert_int_equal(
            evt_log_result(t, "t", "acc", NULL, 0.05 * i, 0.01, i), EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    close_ok(t);
    char *dir = tu_fmt("%s/tb/r", out);
    char *path = only_event_file(dir);
    size_t len = 0;
    char *raw = read_raw(path, &len);
    struct tbr_file full;
    load(&full, path);
    const size_t R = full.recs.n;
    assert_true(R >= 1 + 12 + 2);
    size_t *ends = calloc(R + 1, sizeof *ends);
    assert_non_null(ends);
    for (size_t i = 0; i < R; i++)
        ends[i + 1] = full.recs.rec[i].offset + TBR_HEADER +
                      full.recs.rec[i].len + TBR_FOOTER;
    assert_int_equal(ends[R], len);

    /* every cut inside the last three records, and every 7th byte before */
    size_t from = ends[R - 3];
    char err[512];
    for (size_t cut = 1; cut <= len; cut += cut < len - from ? 1 : 7) {
        size_t keep = len - cut, whole = 0;
        while (whole < R && ends[whole + 1] <= keep)
            whole++;
        int torn = keep != ends[whole];
        struct tbr_file f;
        if (tbr_load_bytes(&f, (const uint8_t *)raw, keep, err, sizeof err) !=
            TBR_OK)
            fail_msg("cut %zu: %s", cut, err);
        if (f.n != whole || f.recs.torn != torn)
            fail_msg("cut %zu of %zu: %zu records (torn %d), want %zu "
                     "(torn %d)",
                     cut, len, f.n, f.recs.torn, whole, torn);
        for (size_t i = 0; i < whole; i++)
            assert_memory_equal(f.recs.rec[i].data, full.recs.rec[i].data,
                                full.recs.rec[i].len);
        tbr_file_free(&f);
    }

    /* on disk: a truncated copy read by path */
    char *copy = tu_fmt("%s/copy.tfevents", out);
    FILE *fp = fopen(copy, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(raw, 1, len, fp), len);
    fclose(fp);
    assert_int_equal(truncate(copy, (off_t)(len - 5)), 0);
    struct tbr_file f;
    assert_int_equal(tbr_load_path(&f, copy, err, sizeof err), TBR_OK);
    assert_true(f.recs.torn);
    assert_int_equal(f.n, R - 1);
    assert_int_equal(f.recs.torn_offset, ends[R - 1]);
    tbr_file_free(&f);

    tbr_file_free(&full);
    free(copy);
    free(ends);
    free(raw);
    free(path);
    free(dir);
    tu_rmtree(out);
}

/* ======================================================================
 * Config
 * ====================================================================== */

/* A bad value fails create with a line naming the key (never the value):
 * the tracker opens, the sink is disabled, nothing is written. */
static void test_bad_config(void **state)
{
    (void)state;
    static const struct {
        const char *cfg, *key, *value;
    } bad[] = {
        {"\"scalar_form\": \"double\"", "\"scalar_form\"", "double"},
        {"\"scalar_form\": \"\"", "\"scalar_form\"", NULL},
        {"\"flush_secs\": -1", "\"flush_secs\"", NULL},
        {"\"flush_secs\": -0.5", "\"flush_secs\"", "0.5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = tu_tmpdir();
        log_start();
        evt_tracker *t = open_tb(out, "r", bad[i].cfg);
        struct evt_sink_stats st;
        assert_int_equal(evt_stats(t, &st, 1), 1);
        assert_string_equal(st.plugin, SINK);
        if (st.enabled)
            fail_msg("%s: the sink is enabled", bad[i].cfg);
        assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
        close_ok(t);
        log_stop();
        if (log_count(-1, "sink \"" SINK "\"", bad[i].key, NULL) < 1) {
            log_dump();
            fail_msg("%s: no message of the sink naming %s", bad[i].cfg,
                     bad[i].key);
        }
        if (bad[i].value && log_count(-1, bad[i].value, NULL, NULL)) {
            log_dump();
            fail_msg("%s: a message holds the value", bad[i].cfg);
        }
        struct paths ps = {0};
        find_event_files(out, &ps);
        assert_int_equal(ps.n, 0);
        log_clear();
        tu_rmtree(out);
    }

    /* good values of the same keys: enabled */
    static const char *const good[] = {
        "\"scalar_form\": \"tensor\", \"flush_secs\": 0.5",
        "\"scalar_form\": \"simple\", \"flush_secs\": 0",
    };
    for (size_t i = 0; i < 2; i++) {
        char *out = tu_tmpdir();
        evt_tracker *t = open_tb(out, "r", good[i]);
        struct evt_sink_stats st;
        assert_int_equal(evt_stats(t, &st, 1), 1);
        if (!st.enabled)
            fail_msg("%s: the sink is disabled", good[i]);
        assert_int_equal(evt_log_scalar(t, "x", 1.0, 1), EVT_OK);
        close_ok(t);
        struct tbr_file f;
        load_run(&f, out, "tb/r");
        expect_scalar(&f, "x", 1, 1.0, i == 0 ? TENSOR : SIMPLE);
        tbr_file_free(&f);
        tu_rmtree(out);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, reset)
    const struct CMUnitTest tests[] = {
        T(test_reader_crc_vectors),
        T(test_reader_example_a),
        T(test_reader_example_b),
        T(test_reader_example_c),
        T(test_reader_example_d),
        T(test_reader_example_e),
        T(test_reader_official_records),
        T(test_reader_concat_and_truncation),
        T(test_reader_corrupt),
        T(test_reader_protobuf),
        T(test_file_name_and_first_record),
        T(test_generated_run_id),
        T(test_logdir),
        T(test_run_name),
        T(test_no_events_no_folder),
        T(test_run_name_hostile),
        T(test_two_runs_share_logdir),
        T(test_taken_name),
        T(test_result_tags_default),
        T(test_result_tags_custom),
        T(test_steps_and_wall_times),
        T(test_float32_values),
        T(test_tensor_form),
        T(test_scalar_events),
        T(test_non_numeric_skipped),
        T(test_stderr_na_silent),
        T(test_nonfinite_kept),
        T(test_table_handmade),
        T(test_run_inventory),
        T(test_table_tag),
        T(test_two_run_ends),
        T(test_hparams),
        T(test_hparams_start_without_run_start),
        T(test_hparams_disabled),
        T(test_no_secrets),
        T(test_real_results_file),
        T(test_flush_durable),
        T(test_torn_tail),
        T(test_bad_config),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
