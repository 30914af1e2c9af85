/* test_wandb_memory.c -- the wandb sink's memory does not grow with the
 * number of samples, and its samples tables and samples files keep their
 * exact bytes (docs/sinks/wandb.md section 8).
 *
 *  - exact bytes of a small run: a metric column first seen late, a
 *    sample without a "metrics" map (its other fields are the metrics),
 *    "input" as the prompt, a container as the label, multi-byte
 *    characters, a sample with a bin value (in the table, not in the
 *    samples file); the text is what the sink wrote before it streamed
 *    its files from the journal;
 *  - many samples (50 000 of ~400 bytes over 2 tasks; EVT_TEST_SCALE_DIV
 *    divides): the process's heap (mallinfo2: uordblks + hblkhd) after
 *    all the samples and after run_end, and its peak from a tenth of
 *    them to the end (tables, samples files and uploads included), exceed
 *    the heap and the peak after a tenth by less than 1 MiB (not checked
 *    where mallinfo2 does not see the allocations: valgrind, ASan); the
 *    uploaded table and samples files are byte-equal to the text rendered
 *    here from the same samples (and, at full size, have the SHA-256 the
 *    sink produced before); no temporary file is left;
 *  - two run_ends, the journal read back by a later process: each end's
 *    table holds the samples before it, the last samples file all of
 *    them, byte for byte; a replaced samples file's temporary file is
 *    removed at once, the others at close; one a crashed process left is
 *    removed when the run is opened;
 *  - a run_end whose files cannot be written: the error names the path
 *    and the step, the batch is dead-lettered;
 *  - wb_journal_each: the records written, then those queued; from within
 *    the journal's opening, those before the record being delivered. */
#define _GNU_SOURCE /* setenv, memmem */
#include "test_util.h"
#include "tracker_util.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"
#include "../../plugins/wandb/wb_journal.h"
#include "../fake/fake_wandb.h"

#define KEY "wbk-MEMORY-1f2e3d4c5b6a79880011"
#define FULL_N 50000

/* ======================================================================
 * Helpers
 * ====================================================================== */

static void clear_env(void)
{
    fake_wandb_clear_env();
    setenv("WANDB_API_KEY", KEY, 1);
}

static evt_tracker *open_sink(const char *dir, const char *run_id,
                              const char *cfg)
{
    char *sink = tu_fmt("\"plugin\": \"wandb\", \"retry\": {\"limit\": 3,"
                        " \"base_ms\": 1, \"cap_ms\": 5}, \"config\": {%s,"
                        " \"project\": \"evals\", \"init_timeout_secs\": 5,"
                        " \"retry_base_ms\": 5, \"retry_cap_ms\": 50,"
                        " \"attempts\": 4, \"request_timeout_secs\": 30,"
                        " \"stream_interval_secs\": 0}",
                        cfg);
    char *text = fake_wandb_config(dir, run_id, sink);
    char err[1024];
    evt_tracker *t = NULL;
    if (evt_open_json(text, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    free(sink);
    free(text);
    return t;
}

static evt_tracker *open_online(const char *dir, const char *run_id,
                                const char *url)
{
    char *cfg = tu_fmt("\"base_url\": \"%s\"", url);
    evt_tracker *t = open_sink(dir, run_id, cfg);
    free(cfg);
    return t;
}

static void flush_ok(evt_tracker *t)
{
    int rc = evt_flush(t, 120000);
    if (rc != EVT_OK)
        fail_msg("evt_flush: %s", evt_status_name(rc));
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    assert_true(st.enabled);
    assert_int_equal(st.dead_lettered, 0);
}

static void close_ok(evt_tracker *t)
{
    int rc = evt_close(t, 120000);
    if (rc != EVT_OK)
        fail_msg("evt_close: %s", evt_status_name(rc));
}

/* The upload of the server whose name ends with suffix (the only one),
 * or whose name starts with prefix after "E/P/R/" when suffix is NULL. */
static const cJSON *upload_named(const cJSON *state, const char *prefix,
                                 const char *suffix)
{
    const cJSON *ups = cJSON_GetObjectItem(state, "uploads"), *u, *hit = NULL;
    cJSON_ArrayForEach(u, ups) {
        const char *k = u->string;
        size_t n = strlen(k), sn = suffix ? strlen(suffix) : 0;
        const char *name = k;
        for (int i = 0; i < 3 && name; i++)
            name = strchr(name, '/') ? strchr(name, '/') + 1 : NULL;
        if (!name || strncmp(name, prefix, strlen(prefix)) != 0 ||
            (suffix && (n < sn || strcmp(k + n - sn, suffix) != 0)))
            continue;
        if (hit)
            fail_msg("two uploads match %s...%s", prefix, suffix);
        hit = u;
    }
    if (!hit)
        fail_msg("no upload %s...%s", prefix, suffix ? suffix : "");
    return hit;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The uploaded text equals want (size, SHA-256 and bytes). */
static void expect_upload_text(const cJSON *up, const char *want,
                               size_t wlen)
{
    char sha[65];
    evt_results_sha256_hex(want, wlen, sha);
    const char *got = jstr(up, "text");
    assert_non_null(got);
    assert_int_equal(cJSON_GetObjectItem(up, "size")->valuedouble,
                     (double)wlen);
    assert_string_equal(jstr(up, "sha256"), sha);
    if (strlen(got) != wlen || memcmp(got, want, wlen) != 0) {
        size_t i = 0;
        while (i < wlen && got[i] == want[i])
            i++;
        fail_msg("%s differs at byte %zu:\n%.200s\nexpected\n%.200s",
                 up->string, i, got + (i > 40 ? i - 40 : 0),
                 want + (i > 40 ? i - 40 : 0));
    }
}

/* No temporary run file is left in the run folders under state/. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ======================================================================
 * A small run: exact bytes
 * ====================================================================== */

static void log_small(evt_tracker *t)
{
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"qa\", \"version\": 1, \"config\": {\"task\":"
             " \"qa\", \"output_type\": \"generate_until\"}}");
    log_json(t, EVT_EV_SAMPLE,
             "{\"task\": \"qa\", \"doc_id\": 0, \"doc\": {\"q\": \"2+2?\"},"
             " \"target\": \"4\", \"arguments\": [[\"Q: 2+2?\", {\"max\":"
             " 8}]], \"resps\": [[\"4\"]], \"filtered_resps\": [\"4\"],"
             " \"filter\": \"none\", \"metrics\": {\"acc\": 1.0}}");
    log_json(t, EVT_EV_SAMPLE,
             "{\"task\": \"qa\", \"doc_id\": 1, \"target\": [\"x\", \"y\"],"
             " \"input\": \"Caf\\u00e9 \\u6f22\\u5b57?\", \"resps\":"
             " [[\"z\"]], \"filtered_resps\": [\"z\"], \"filter\":"
             " \"strict\", \"metrics\": {\"f1\": 0.25, \"acc\": 0.0,"
             " \"detail\": {\"a\": [1, 2]}}}");
    log_json(t, EVT_EV_SAMPLE,
             "{\"task\": \"qa\", \"doc_id\": 2, \"target\": null,"
             " \"arguments\": [], \"exact_match\": 1, \"note\": \"n\\\"q\\\"\"}");
    /* a bin value: in the table (its cell is null), not in the file */
    static const unsigned char bin[] = {0xc4, 0x02, 0x00, 0x01};
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "qa");
    evt_int(e, "doc_id", 3);
    evt_msgpack(e, "blob", bin, sizeof bin);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", 1.0);
    evt_msgpack(e, "raw", bin, sizeof bin);
    evt_map_end(e);
    assert_int_equal(evt_commit(e), EVT_OK);
    log_json(t, EVT_EV_SAMPLE,
             "{\"task\": \"other task/2\", \"doc_id\": \"d-0\", \"target\":"
             " 7, \"arguments\": [[\"only\"]], \"resps\": [], \"metrics\":"
             " {}}");
    assert_int_equal(evt_log_result(t, "qa", "acc", "none", 0.5, 0.1, -1),
                     EVT_OK);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
}

static const char QA_TABLE[] =
    "{\"columns\": [\"id\", \"data\", \"input_len\", \"labels\", \"output_typ"
    "e\", \"raw_predictions\", \"filtered_predictions\", \"filter\", \"acc\","
    " \"f1\", \"detail\", \"exact_match\", \"note\", \"raw\"], \"data\": [[0,"
    " \"Q: 2+2?\", 7, \"4\", \"generate_until\", \"4\", \"4\", \"none\", 1.0,"
    " null, null, null, null, null], [1, \"Caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97"
    "?\", 8, \"[\\\"x\\\", \\\"y\\\"]\", \"generate_until\", \"z\", \"z\", \""
    "strict\", 0.0, 0.25, \"{\\\"a\\\": [1, 2]}\", null, null, null], [2, \"\""
    ", 0, null, \"generate_until\", null, null, \"none\", null, null, null, 1"
    ", \"n\\\"q\\\"\", null], [3, \"\", 0, null, \"generate_until\", null, nu"
    "ll, \"none\", 1.0, null, null, null, null, \"null\"]]}";

static const char QA_SAMPLES[] =
    "[\n"
    "  {\n"
    "    \"doc_id\": 0,\n"
    "    \"doc\": {\n"
    "      \"q\": \"2+2?\"\n"
    "    },\n"
    "    \"target\": \"4\",\n"
    "    \"arguments\": [\n"
    "      [\n"
    "        \"Q: 2+2?\",\n"
    "        {\n"
    "          \"max\": 8\n"
    "        }\n"
    "      ]\n"
    "    ],\n"
    "    \"resps\": [\n"
    "      [\n"
    "        \"4\"\n"
    "      ]\n"
    "    ],\n"
    "    \"filtered_resps\": [\n"
    "      \"4\"\n"
    "    ],\n"
    "    \"filter\": \"none\",\n"
    "    \"metrics\": {\n"
    "      \"acc\": 1.0\n"
    "    }\n"
    "  },\n"
    "  {\n"
    "    \"doc_id\": 1,\n"
    "    \"target\": [\n"
    "      \"x\",\n"
    "      \"y\"\n"
    "    ],\n"
    "    \"input\": \"Caf\xc3\xa9 \xe6\xbc\xa2\xe5\xad\x97?\",\n"
    "    \"resps\": [\n"
    "      [\n"
    "        \"z\"\n"
    "      ]\n"
    "    ],\n"
    "    \"filtered_resps\": [\n"
    "      \"z\"\n"
    "    ],\n"
    "    \"filter\": \"strict\",\n"
    "    \"metrics\": {\n"
    "      \"f1\": 0.25,\n"
    "      \"acc\": 0.0,\n"
    "      \"detail\": {\n"
    "        \"a\": [\n"
    "          1,\n"
    "          2\n"
    "        ]\n"
    "      }\n"
    "    }\n"
    "  },\n"
    "  {\n"
    "    \"doc_id\": 2,\n"
    "    \"target\": null,\n"
    "    \"arguments\": [],\n"
    "    \"exact_match\": 1,\n"
    "    \"note\": \"n\\\"q\\\"\"\n"
    "  }\n"
    "]";

static const char OTHER_TABLE[] =
    "{\"columns\": [\"id\", \"data\", \"input_len\", \"labels\", \"output_typ"
    "e\", \"raw_predictions\", \"filtered_predictions\", \"filter\"], \"data\""
    ": [[\"d-0\", \"only\", 4, 7, \"\", \"[]\", null, \"none\"]]}";

static const char OTHER_SAMPLES[] =
    "[\n"
    "  {\n"
    "    \"doc_id\": \"d-0\",\n"
    "    \"target\": 7,\n"
    "    \"arguments\": [\n"
    "      [\n"
    "        \"only\"\n"
    "      ]\n"
    "    ],\n"
    "    \"resps\": [],\n"
    "    \"metrics\": {}\n"
    "  }\n"
    "]";

static void test_small_run_exact_bytes(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_online(dir, "small-run", s.url);
    log_small(t);
    close_ok(t);
    cJSON *st = fake_wandb_state(&s);
    expect_upload_text(upload_named(st, "media/table/qa_eval_results_0_",
                                    ".table.json"),
                       QA_TABLE, sizeof QA_TABLE - 1);
    expect_upload_text(upload_named(st, "samples/qa_eval_samples.json", NULL),
                       QA_SAMPLES, sizeof QA_SAMPLES - 1);
    expect_upload_text(upload_named(st, "media/table/other task_2_eval_"
                                        "results_0_",
                                    ".table.json"),
                       OTHER_TABLE, sizeof OTHER_TABLE - 1);
    expect_upload_text(upload_named(st, "samples/other task_2_eval_"
                                        "samples.json",
                                    NULL),
                       OTHER_SAMPLES, sizeof OTHER_SAMPLES - 1);
    char *tmp = tu_fmt("%s/state/sinks/wandb/runs/evals/small-run/"
                       "run-files", dir);
    assert_int_equal(count_files(tmp), 0);
    free(tmp);
    cJSON_Delete(st);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* ======================================================================
 * Many samples: the heap stays flat
 * ====================================================================== */

/* A growable string of the expected texts (built after the measures). */
struct text {
    char *p;
    size_t n, cap;
};

static void tx_put(struct text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

static void tx_fmt(struct text *t, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof buf);
    tx_put(t, buf, (size_t)n);
}

/* Sample i of n: its parts, shared by the logging and the expected
 * texts. Every 11th has multi-byte characters in its prompt; every 97th
 * (from 5) has no "metrics" map, so its field "exact" is the metric; the
 * second half has a metric "late" (a column first seen late). */
static const char *mem_task(int i) { return i % 2 ? "mem_b" : "mem_a"; }
static int no_metrics(int i) { return i % 97 == 5; }
static int has_late(int i, int n) { return i >= n / 2; }

static void question(char *b, size_t n, int i)
{
    snprintf(b, n, "Which of the following statements about item %d is "
             "correct? Consider the whole context before answering.", i);
}

static void prompt(char *b, size_t n, int i)
{
    snprintf(b, n, "Question %d: which of the following statements is "
             "correct?%s Answer with the letter only.\nAnswer:", i,
             i % 11 ? "" : " (caf\xc3\xa9 \xe6\xbc\xa2)");
}

static const char *target(int i)
{
    static const char *const t[] = {"alpha", "beta", "gamma"};
    return t[i % 3];
}

static void response(char *b, size_t n, int i)
{
    snprintf(b, n, "The answer is %s, because item %d says so.", target(i),
             i);
}

/* Python's repr of i * 0.25. */
static void quarter(char *b, size_t n, int i)
{
    static const char *const f[] = {"0", "25", "5", "75"};
    snprintf(b, n, "%d.%s", i / 4, f[i % 4]);
}

static void log_mem_sample(evt_tracker *t, int i, int n)
{
    char q[256], p[256], r[256];
    question(q, sizeof q, i);
    prompt(p, sizeof p, i);
    response(r, sizeof r, i);
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", mem_task(i));
    evt_int(e, "doc_id", i);
    evt_map_begin(e, "doc");
    evt_str(e, "question", q);
    evt_array_begin(e, "choices");
    for (int c = 0; c < 3; c++)
        evt_str(e, NULL, target(c));
    evt_array_end(e);
    evt_map_end(e);
    evt_str(e, "target", target(i));
    evt_array_begin(e, "arguments");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, p);
    evt_str(e, NULL, " A");
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, r);
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, target(i));
    evt_array_end(e);
    evt_str(e, "filter", "none");
    if (no_metrics(i)) {
        evt_int(e, "exact", i % 2);
    } else {
        evt_map_begin(e, "metrics");
        evt_double(e, "acc", i % 3 == 0 ? 1.0 : 0.0);
        evt_double(e, "score", i * 0.25);
        if (has_late(i, n))
            evt_int(e, "late", i);
        evt_map_end(e);
    }
    int rc = evt_commit(e);
    if (rc != EVT_OK)
        fail_msg("evt_commit: %s", evt_status_name(rc));
}

/* A JSON string of s (no character of s needs more than \" \\ \n). */
static void tx_jstr(struct text *t, const char *s)
{
    tx_put(t, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            tx_put(t, "\\", 1);
        if (*s == '\n')
            tx_put(t, "\\n", 2);
        else
            tx_put(t, s, 1);
    }
    tx_put(t, "\"", 1);
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* One row of the samples table; cols: the metric columns, in order. */
static void tx_row(struct text *t, int i, int n, const char *type,
                   const char *const *cols, int ncols)
{
    char p[256], r[256], v[64];
    prompt(p, sizeof p, i);
    response(r, sizeof r, i);
    tx_fmt(t, "[%d, ", i);
    tx_jstr(t, p);
    tx_fmt(t, ", %zu, \"%s\", \"%s\", ", utf8_len(p), target(i), type);
    tx_jstr(t, r);
    tx_fmt(t, ", \"%s\", \"none\"", target(i));
    for (int c = 0; c < ncols; c++) {
        const char *k = cols[c];
        if (no_metrics(i))
            snprintf(v, sizeof v, strcmp(k, "exact") ? "null" : "%d", i % 2);
        else if (strcmp(k, "acc") == 0)
            snprintf(v, sizeof v, i % 3 == 0 ? "1.0" : "0.0");
        else if (strcmp(k, "score") == 0)
            quarter(v, sizeof v, i);
        else if (strcmp(k, "late") == 0 && has_late(i, n))
            snprintf(v, sizeof v, "%d", i);
        else
            snprintf(v, sizeof v, "null");
        tx_fmt(t, ", %s", v);
    }
    tx_put(t, "]", 1);
}

/* One element of the samples file (indent 2, inside the array). */
static void tx_element(struct text *t, int i, int n)
{
    char q[256], p[256], r[256], v[64];
    question(q, sizeof q, i);
    prompt(p, sizeof p, i);
    response(r, sizeof r, i);
    tx_fmt(t, "  {\n    \"doc_id\": %d,\n    \"doc\": {\n      "
              "\"question\": ", i);
    tx_jstr(t, q);
    tx_fmt(t, ",\n      \"choices\": [\n        \"alpha\",\n        "
              "\"beta\",\n        \"gamma\"\n      ]\n    },\n    "
              "\"target\": \"%s\",\n    \"arguments\": [\n      [\n        ",
           target(i));
    tx_jstr(t, p);
    tx_fmt(t, ",\n        \" A\"\n      ]\n    ],\n    \"resps\": [\n"
              "      [\n        ");
    tx_jstr(t, r);
    tx_fmt(t, "\n      ]\n    ],\n    \"filtered_resps\": [\n      "
              "\"%s\"\n    ],\n    \"filter\": \"none\",\n", target(i));
    if (no_metrics(i)) {
        tx_fmt(t, "    \"exact\": %d\n  }", i % 2);
        return;
    }
    quarter(v, sizeof v, i);
    tx_fmt(t, "    \"metrics\": {\n      \"acc\": %s,\n      \"score\": %s",
           i % 3 == 0 ? "1.0" : "0.0", v);
    if (has_late(i, n))
        tx_fmt(t, ",\n      \"late\": %d", i);
    tx_put(t, "\n    }\n  }", 10);
}

/* The expected table and samples file of task k (0: mem_a) of n
 * samples. */
static void expected_texts(int k, int n, struct text *tab,
                           struct text *file)
{
    const char *cols[4];
    int ncols = 0, first = 1;
    for (int i = k; i < n; i += 2) {
        const char *seen[3] = {"acc", "score", "late"};
        int m = no_metrics(i) ? 0 : has_late(i, n) ? 3 : 2;
        if (no_metrics(i)) {
            seen[0] = "exact";
            m = 1;
        }
        for (int a = 0; a < m; a++) {
            int have = 0;
            for (int c = 0; c < ncols; c++)
                have |= strcmp(cols[c], seen[a]) == 0;
            if (!have)
                cols[ncols++] = seen[a];
        }
    }
    tx_fmt(tab, "{\"columns\": [\"id\", \"data\", \"input_len\", \"labels\", "
                "\"output_type\", \"raw_predictions\", "
                "\"filtered_predictions\", \"filter\"");
    for (int c = 0; c < ncols; c++)
        tx_fmt(tab, ", \"%s\"", cols[c]);
    tx_fmt(tab, "], \"data\": [");
    tx_put(file, "[\n", 2);
    for (int i = k; i < n; i += 2) {
        if (!first) {
            tx_put(tab, ", ", 2);
            tx_put(file, ",\n", 2);
        }
        first = 0;
        tx_row(tab, i, n, k == 0 ? "multiple_choice" : "", cols, ncols);
        tx_element(file, i, n);
    }
    tx_put(tab, "]}", 2);
    tx_put(file, "\n]", 2);
}

/* Bytes in use on the heap, all arenas: small chunks and mmapped ones. */
static size_t heap_used(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* mallinfo2 sees this process's allocations (not under valgrind or a
 * sanitizer's allocator). */
static int heap_measurable(void)
{
    size_t a = heap_used();
    char *volatile p = malloc(4 << 20);
    assert_non_null(p);
    memset(p, 1, 4 << 20);
    size_t b = heap_used();
    free(p);
    return b >= a + (4 << 20);
}

/* The heap's peak, sampled by a thread of its own every 0.5 ms (a buffer
 * that grows with the samples would live for milliseconds at least). */
struct peak {
    pthread_t th;
    atomic_int stop;
    atomic_size_t max;
};

static void *peak_run(void *arg)
{
    struct peak *p = arg;
    while (!atomic_load(&p->stop)) {
        size_t h = heap_used(), m = atomic_load(&p->max);
        while (h > m && !atomic_compare_exchange_weak(&p->max, &m, h))
            ;
        nanosleep(&(struct timespec){0, 500000L}, NULL);
    }
    return NULL;
}

static void peak_start(struct peak *p)
{
    atomic_init(&p->stop, 0);
    atomic_init(&p->max, heap_used());
    assert_int_equal(pthread_create(&p->th, NULL, peak_run, p), 0);
}

/* The peak since the start or the last call; the next one starts now. */
static size_t peak_take(struct peak *p)
{
    size_t h = heap_used(), m = atomic_exchange(&p->max, h);
    return m > h ? m : h;
}

static void peak_stop(struct peak *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
}

/* SHA-256 and size of the uploads at FULL_N, as the sink wrote them
 * before it streamed them from its journal. */
static const struct {
    const char *sha256;
    double size;
} GOLDEN[2][2] = {
    {{"5ab5e8dd2aba036f3b2bef9cadae62f1296fb78143ace936fcb4bcde9474b6a0",
      5952136},
     {"ca39c0af4fccb5268cb69a17570b97d5e406f80b10c2f0218cd17cfc8489978f",
      17005217}},
    {{"ba2065f9cbc17dd91dd07f416874f827f65ce7b742a64a74f62e3d5a4dc60ad3",
      5601878},
     {"91f4cb1d115157938c4b9c12c81a716de291f2ab022c4c433e1667626a4c478e",
      17029959}}};

static void expect_golden(const cJSON *up, int k, int f)
{
    assert_string_equal(jstr(up, "sha256"), GOLDEN[k][f].sha256);
    assert_true(cJSON_GetObjectItem(up, "size")->valuedouble ==
                GOLDEN[k][f].size);
}

static void expect_mem_uploads(const cJSON *st, int n)
{
    for (int k = 0; k < 2; k++) {
        struct text tab = {0}, file = {0};
        expected_texts(k, n, &tab, &file);
        char *tp = tu_fmt("media/table/%s_eval_results_0_", mem_task(k));
        char *fp = tu_fmt("samples/%s_eval_samples.json", mem_task(k));
        const cJSON *tu = upload_named(st, tp, ".table.json");
        const cJSON *fu = upload_named(st, fp, NULL);
        if (n == FULL_N) {
            expect_golden(tu, k, 0);
            expect_golden(fu, k, 1);
        }
        expect_upload_text(tu, tab.p, tab.n);
        expect_upload_text(fu, file.p, file.n);
        free(tab.p);
        free(file.p);
        free(tp);
        free(fp);
    }
}

/* Log n samples of mem_a and mem_b, a result and run_end. *early: the
 * heap after a tenth of the samples and its peak until then; *late: the
 * heap after the samples, after run_end, and its peak from a tenth to
 * the end (tables, samples files and uploads included). */
struct heap_figs {
    size_t early[2], late[3];
};

static void log_mem_run(evt_tracker *t, int n, struct peak *pk,
                        struct heap_figs *h)
{
    int every = n / 50 ? n / 50 : 1;
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"mem_a\", \"version\": 1, \"config\": {\"task\":"
             " \"mem_a\", \"output_type\": \"multiple_choice\"}}");
    for (int i = 0; i < n; i++) {
        log_mem_sample(t, i, n);
        if ((i + 1) % every == 0)
            flush_ok(t); /* the queue holds at most `every` events */
        if (i + 1 == n / 10) {
            h->early[0] = heap_used();
            h->early[1] = pk ? peak_take(pk) : 0;
        }
    }
    flush_ok(t);
    h->late[0] = heap_used();
    assert_int_equal(evt_log_result(t, "mem_a", "acc", "none", 0.5, 0.01,
                                    -1),
                     EVT_OK);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    flush_ok(t); /* the end row, the tables, the uploads */
    h->late[1] = heap_used();
    h->late[2] = pk ? peak_take(pk) : 0;
}

/* At most bound more than after a tenth of the samples: the heap after
 * them all and after run_end, the peak from then on. */
static void expect_flat(const struct heap_figs *h, int n)
{
    size_t bound = 1u << 20;
    fprintf(stderr, "heap after %d samples: %zu (peak %zu); after %d: %zu; "
            "after run_end: %zu (peak since %d: %zu)\n", n / 10, h->early[0],
            h->early[1], n, h->late[0], h->late[1], n / 10, h->late[2]);
    if (h->late[0] > h->early[0] + bound || h->late[1] > h->early[0] + bound ||
        h->late[2] > h->early[1] + bound)
        fail_msg("the heap grew with the samples (figures above)");
}

static void test_many_samples_flat_heap(void **state)
{
    (void)state;
    clear_env();
    int n = FULL_N / tu_scale_div();
    int measure = heap_measurable();
    struct peak pk;
    struct heap_figs h = {0}; /* early[] is set once n / 10 samples are in */
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_online(dir, "mem-run", s.url);
    if (measure)
        peak_start(&pk);
    log_mem_run(t, n, measure ? &pk : NULL, &h);
    if (measure)
        peak_stop(&pk);
    close_ok(t);
    if (measure)
        expect_flat(&h, n);
    else
        fprintf(stderr, "heap not measurable here (valgrind or a "
                        "sanitizer): bytes checked only\n");
    cJSON *st = fake_wandb_state(&s);
    expect_mem_uploads(st, n);
    char *tmp = tu_fmt("%s/state/sinks/wandb/runs/evals/mem-run/run-files",
                       dir);
    assert_int_equal(count_files(tmp), 0);
    free(tmp);
    cJSON_Delete(st);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* ======================================================================
 * Two run_ends, read back from the journal by a later process
 * ====================================================================== */

/* Samples from..to-1 of task "t"; from 3 on they have a metric "m2". */
static void log_t_samples(evt_tracker *t, int from, int to)
{
    for (int i = from; i < to; i++) {
        char *j = tu_fmt("{\"task\": \"t\", \"doc_id\": %d, \"target\":"
                         " \"x\", \"arguments\": [[\"p%d\"]], \"resps\":"
                         " [[\"r\"]], \"filtered_resps\": [\"r\"],"
                         " \"metrics\": {\"acc\": %d%s}}",
                         i, i, i, i >= 3 ? ", \"m2\": 0.5" : "");
        log_json(t, EVT_EV_SAMPLE, j);
        free(j);
    }
}

/* The table of the first n of those samples. */
static char *t_table(int n)
{
    struct text tx = {0};
    tx_fmt(&tx, "{\"columns\": [\"id\", \"data\", \"input_len\", \"labels\","
                " \"output_type\", \"raw_predictions\", "
                "\"filtered_predictions\", \"filter\", \"acc\"%s], "
                "\"data\": [",
           n > 3 ? ", \"m2\"" : "");
    for (int i = 0; i < n; i++)
        tx_fmt(&tx, "%s[%d, \"p%d\", 2, \"x\", \"\", \"r\", \"r\", \"none\","
                    " %d%s]",
               i ? ", " : "", i, i, i,
               n <= 3 ? "" : i >= 3 ? ", 0.5" : ", null");
    tx_put(&tx, "]}", 2);
    return tx.p;
}

/* The samples file of the first n of those samples. */
static char *t_samples(int n)
{
    struct text tx = {0};
    tx_put(&tx, "[\n", 2);
    for (int i = 0; i < n; i++)
        tx_fmt(&tx, "%s  {\n    \"doc_id\": %d,\n    \"target\": \"x\",\n"
                    "    \"arguments\": [\n      [\n        \"p%d\"\n"
                    "      ]\n    ],\n    \"resps\": [\n      [\n"
                    "        \"r\"\n      ]\n    ],\n"
                    "    \"filtered_resps\": [\n      \"r\"\n    ],\n"
                    "    \"metrics\": {\n      \"acc\": %d%s\n    }\n  }",
               i ? ",\n" : "", i, i, i,
               i >= 3 ? ",\n      \"m2\": 0.5" : "");
    tx_put(&tx, "\n]", 2);
    return tx.p;
}

/* The file of dir whose name starts with prefix, or NULL. */
static char *find_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *found = NULL;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            assert_null(found);
            found = tu_fmt("%s/%s", dir, de->d_name);
        }
    closedir(d);
    return found;
}

/* A temporary file left by a process that crashed. */
static char *plant_stale(const char *tmp)
{
    char *stale = tu_fmt("%s/1-0.part", tmp), err[512];
    if (evt_mkdirs(tmp, err, sizeof err) != 0)
        fail_msg("%s", err);
    tu_write_file(stale, "left by a crash");
    return stale;
}

/* Process 1, offline: 3 samples (the run's opening removed a stale
 * file), run_end, 2 samples, run_end, each flushed: its temporary files
 * are the tables of both ends and one samples file (the first end's was
 * replaced and removed); at close none is left. */
static void two_ends_offline(const char *dir, const char *tmp)
{
    char *stale = plant_stale(tmp);
    evt_tracker *t = open_sink(dir, "two-ends", "\"mode\": \"offline\"");
    log_t_samples(t, 0, 3);
    flush_ok(t);
    assert_int_equal(access(stale, F_OK), -1);
    free(stale);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    flush_ok(t);
    assert_int_equal(count_files(tmp), 2);
    log_t_samples(t, 3, 5);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    flush_ok(t);
    assert_int_equal(count_files(tmp), 3);
    close_ok(t);
    assert_int_equal(count_files(tmp), 0);
    /* the offline run holds the files of the first end */
    char *root = tu_fmt("%s/out/wandb", dir);
    char *run = tu_find_one(root, "-two-ends");
    char *tabdir = tu_fmt("%s/files/media/table", run);
    char *tab = find_prefixed(tabdir, "t_eval_results_0_");
    assert_non_null(tab);
    char *want = t_table(3), *got = tu_read_file(tab, NULL);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(tab);
    free(root);
    free(run);
    free(tabdir);
}

/* Then process 2, online, finds a temporary file a crashed process left
 * and sends one more event of the run: the journal read back builds both
 * ends again, and the server gets the table of each (3 rows at step 0, 5
 * at step 1) and the samples file of the last, byte for byte; the stale
 * file is gone. */
static void test_two_ends_read_back(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    char *tmp = tu_fmt("%s/state/sinks/wandb/runs/evals/two-ends/run-files",
                       dir);
    two_ends_offline(dir, tmp);
    char *stale = plant_stale(tmp);

    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_online(dir, "two-ends", s.url);
    assert_int_equal(evt_log_scalar(t, "after", 1.0, 7), EVT_OK);
    flush_ok(t);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(count_files(tmp), 3);
    close_ok(t);
    assert_int_equal(count_files(tmp), 0);
    cJSON *st = fake_wandb_state(&s);
    for (int end = 0; end < 2; end++) {
        char *want = t_table(end ? 5 : 3);
        char *name = tu_fmt("media/table/t_eval_results_%d_", end);
        expect_upload_text(upload_named(st, name, ".table.json"), want,
                           strlen(want));
        free(want);
        free(name);
    }
    char *want = t_samples(5);
    expect_upload_text(upload_named(st, "samples/t_eval_samples.json", NULL),
                       want, strlen(want));
    free(want);
    cJSON_Delete(st);
    fake_wandb_stop(&s);
    free(stale);
    free(tmp);
    tu_rmtree(dir);
}

/* ======================================================================
 * A samples file that cannot be written
 * ====================================================================== */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_hit[1024]; /* the first error naming run-files */

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    if (level == EVT_LOG_ERROR && !log_hit[0] && strstr(msg, "run-files"))
        snprintf(log_hit, sizeof log_hit, "%s", msg);
    pthread_mutex_unlock(&log_mu);
}

/* The run's folder for temporary files is taken by a regular file: the
 * run_end fails, its error names the folder and the step, and the batch
 * ends as a dead letter after its retries. */
static void test_unwritable_run_files(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir(), err[512];
    char *run = tu_fmt("%s/state/sinks/wandb/runs/evals/bad-files", dir);
    char *tmp = tu_fmt("%s/run-files", run);
    if (evt_mkdirs(run, err, sizeof err) != 0)
        fail_msg("%s", err);
    tu_write_file(tmp, "not a folder");
    log_hit[0] = '\0';
    evt_set_log_handler(log_cb, NULL);
    evt_tracker *t = open_sink(dir, "bad-files", "\"mode\": \"offline\"");
    log_t_samples(t, 0, 2);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    (void)evt_flush(t, 120000);
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    assert_true(st.dead_lettered > 0);
    (void)evt_close(t, 120000);
    evt_set_log_handler(NULL, NULL);
    char *want = tu_fmt("sink \"wandb\": run bad-files: %s: mkdir: Not a "
                        "directory",
                        tmp);
    assert_string_equal(log_hit, want);
    free(want);
    free(tmp);
    free(run);
    tu_rmtree(dir);
}

/* ======================================================================
 * wb_journal_each: what the run_end reads back
 * ====================================================================== */

struct seen {
    struct wb_journal *j;
    char text[64];     /* "{type}{payload} " per record */
    const char *const *prefix; /* open: the each of record i gives [i] */
    int i;
};

static int collect(void *ctx, int type, const void *p, size_t n)
{
    struct seen *sn = ctx;
    size_t len = strlen(sn->text);
    snprintf(sn->text + len, sizeof sn->text - len, "%d%.*s ", type, (int)n,
             n ? (const char *)p : "");
    return 0;
}

/* At open: each record's each gives the records before it, and leaves
 * the record delivered intact. */
static int nested_each(void *ctx, int type, const void *p, size_t n)
{
    struct seen *sn = ctx, in = {0};
    char copy[16], err[256];
    assert_true(n < sizeof copy);
    if (n)
        memcpy(copy, p, n);
    if (wb_journal_each(sn->j, collect, &in, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(in.text, sn->prefix[sn->i++]);
    if (n)
        assert_memory_equal(copy, p, n);
    return collect(sn, type, p, n);
}

static void test_journal_each(void **state)
{
    (void)state;
    static const char *const prefix[] = {"", "1a ", "1a 1bb ", "1a 1bb 2 "};
    char *dir = tu_tmpdir(), err[256];
    char *path = tu_fmt("%s/events.jnl", dir);
    struct wb_journal j;
    struct seen sn = {&j, "", prefix, 0};
    assert_int_equal(wb_journal_open(&j, path, NULL, NULL, err, sizeof err),
                     0);
    wb_journal_add(&j, WB_J_EVENT, "a", 1);
    wb_journal_add(&j, WB_J_EVENT, "bb", 2);
    assert_int_equal(wb_journal_commit(&j, err, sizeof err), 0);
    wb_journal_add(&j, WB_J_SEAL, NULL, 0);
    wb_journal_add(&j, WB_J_EVENT, "c", 1); /* queued, not yet written */
    assert_int_equal(wb_journal_each(&j, collect, &sn, err, sizeof err), 0);
    assert_string_equal(sn.text, "1a 1bb 2 1c ");
    assert_int_equal(wb_journal_commit(&j, err, sizeof err), 0);
    wb_journal_close(&j);

    sn.text[0] = '\0';
    assert_int_equal(wb_journal_open(&j, path, nested_each, &sn, err,
                                     sizeof err),
                     0);
    assert_int_equal(sn.i, 4);
    assert_string_equal(sn.text, "1a 1bb 2 1c ");
    wb_journal_close(&j);
    free(path);
    tu_rmtree(dir);
}


static int count_puts(const struct fake_wandb *s)
{
    cJSON *reqs = fake_wandb_requests(s);
    const cJSON *r;
    int n = 0;
    cJSON_ArrayForEach(r, reqs) n += strcmp(jstr(r, "method"), "PUT") == 0;
    cJSON_Delete(reqs);
    return n;
}

/* Online, two run_ends in one process, each flushed: the second end's
 * samples file and results.json have the names of the first's but other
 * bytes, and the server gets them again (it kept the first's before: the
 * name alone was remembered as uploaded). 3 + 3 uploads: the second end's
 * table is new. A later process that reopens the run (one more event)
 * uploads nothing again: the state remembers name and SHA-256. */
static void test_two_ends_online_upload_both(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_online(dir, "two-ends-online", s.url);
    log_t_samples(t, 0, 3);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    flush_ok(t);
    log_t_samples(t, 3, 5);
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    close_ok(t);
    assert_int_equal(count_puts(&s), 6);
    cJSON *st = fake_wandb_state(&s);
    char *want = t_samples(5);
    expect_upload_text(upload_named(st, "samples/t_eval_samples.json", NULL),
                       want, strlen(want));
    free(want);
    cJSON_Delete(st);

    t = open_online(dir, "two-ends-online", s.url);
    assert_int_equal(evt_log_scalar(t, "after", 1.0, 9), EVT_OK);
    close_ok(t);
    assert_int_equal(count_puts(&s), 6);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* ======================================================================
 * More tasks than one pass over the journal writes, samples interleaved
 * ====================================================================== */

#define MANY_TASKS 40 /* > GROUP of wb_samples.c: three passes */

/* The doc ids of an array of rows (table "data": id first) or of
 * samples-file elements ("doc_id"), as "a,b,c". */
static char *ids_of(const cJSON *arr, int table)
{
    struct text tx = {0};
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *id = table ? cJSON_GetArrayItem(e, 0)
                                : cJSON_GetObjectItem(e, "doc_id");
        assert_true(cJSON_IsNumber(id));
        tx_fmt(&tx, "%s%d", tx.p ? "," : "", id->valueint);
    }
    return tx.p ? tx.p : strdup("");
}

/* Sample i goes to task i % 40, three rounds: every task's table and
 * samples file holds its own three samples, in order, whichever pass
 * wrote it. */
static void test_many_tasks_interleaved(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_online(dir, "many-tasks", s.url);
    for (int i = 0; i < 3 * MANY_TASKS; i++) {
        char *j = tu_fmt("{\"task\": \"task_%02d\", \"doc_id\": %d, "
                         "\"target\": \"x\", \"metrics\": {\"acc\": 1}}",
                         i % MANY_TASKS, i);
        log_json(t, EVT_EV_SAMPLE, j);
        free(j);
    }
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    close_ok(t);
    cJSON *st = fake_wandb_state(&s);
    for (int k = 0; k < MANY_TASKS; k++) {
        char *want = tu_fmt("%d,%d,%d", k, k + MANY_TASKS, k + 2 * MANY_TASKS);
        char *tname = tu_fmt("media/table/task_%02d_eval_results_0_", k);
        char *fname = tu_fmt("samples/task_%02d_eval_samples.json", k);
        cJSON *tab = cJSON_Parse(jstr(upload_named(st, tname, ".table.json"),
                                      "text"));
        cJSON *file = cJSON_Parse(jstr(upload_named(st, fname, NULL), "text"));
        assert_non_null(tab);
        assert_non_null(file);
        char *got_t = ids_of(cJSON_GetObjectItem(tab, "data"), 1);
        char *got_f = ids_of(file, 0);
        assert_string_equal(got_t, want);
        assert_string_equal(got_f, want);
        free(got_t);
        free(got_f);
        cJSON_Delete(tab);
        cJSON_Delete(file);
        free(want);
        free(tname);
        free(fname);
    }
    cJSON_Delete(st);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* ======================================================================
 * Names holding a NUL byte (conformance: "nul\0inside", "k\0ey")
 * ====================================================================== */

/* The task's three samples are one task: its table has 3 rows and its
 * samples file 3 elements (the sink kept them in memory before); a metric
 * key holding a NUL byte is one column, not one per sample. */
static void test_task_name_with_nul(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_online(dir, "nul-task", s.url);
    for (int i = 0; i < 3; i++) {
        evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
        evt_strn(e, "task", "nul\0inside", 10);
        evt_int(e, "doc_id", i);
        evt_map_begin(e, "metrics");
        evt_double(e, "acc", 1.0);
        evt_double_k(e, "k\0ey", 4, 0.5); /* one column "k", not three */
        evt_map_end(e);
        assert_int_equal(evt_commit(e), EVT_OK);
    }
    log_json(t, EVT_EV_RUN_END, "{\"exit_code\": 0}");
    close_ok(t);
    cJSON *st = fake_wandb_state(&s);
    const cJSON *up =
        upload_named(st, "media/table/nul_eval_results_0_", ".table.json");
    cJSON *tab = cJSON_Parse(jstr(up, "text"));
    assert_non_null(tab);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(tab, "data")), 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(tab, "columns")),
                     8 + 2);
    cJSON_Delete(tab);
    cJSON *file = cJSON_Parse(
        jstr(upload_named(st, "samples/nul_eval_samples.json", NULL), "text"));
    assert_non_null(file);
    assert_int_equal(cJSON_GetArraySize(file), 3);
    cJSON_Delete(file);
    cJSON_Delete(st);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_run_exact_bytes),
        cmocka_unit_test(test_many_samples_flat_heap),
        cmocka_unit_test(test_two_ends_read_back),
        cmocka_unit_test(test_two_ends_online_upload_both),
        cmocka_unit_test(test_many_tasks_interleaved),
        cmocka_unit_test(test_unwritable_run_files),
        cmocka_unit_test(test_journal_each),
        cmocka_unit_test(test_task_name_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
