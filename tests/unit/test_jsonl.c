/* test_jsonl.c -- the jsonl sink (plugins/jsonl): byte-exact re-emission
 * of real lmms-eval and lm-eval sample lines, the record transformations,
 * file names, hostile task names, torn-tail repair, field filters and
 * caps, retries into dead letters, many tasks and many samples, and the
 * lighteval details layout (exact lines and paths, pass-through of
 * lighteval-native samples, containment, torn tail, options), and tokens
 * scrubbed from lines and file names. */
#include "test_util.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/json_write.h"
#include "spool.h"

#define DATE "20250101_120000"

struct fx {
    char *dir;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- log capture ---------------------------------------------------------*/

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 16];
static size_t log_len;

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    pthread_mutex_lock(&log_mu);
    size_t n = strlen(msg);
    if (log_len + n + 2 < sizeof log_text) {
        memcpy(log_text + log_len, msg, n);
        log_len += n;
        log_text[log_len++] = '\n';
        log_text[log_len] = '\0';
    }
    pthread_mutex_unlock(&log_mu);
}

static void log_start(void)
{
    pthread_mutex_lock(&log_mu);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_mu);
    evt_set_log_handler(log_cb, NULL);
}

static int log_has(const char *s)
{
    pthread_mutex_lock(&log_mu);
    int r = strstr(log_text, s) != NULL;
    pthread_mutex_unlock(&log_mu);
    return r;
}

static void log_stop(void) { evt_set_log_handler(NULL, NULL); }

/* ---- trackers ------------------------------------------------------------*/

/* A tracker over dir with the sinks given as JSON array members. */
static evt_tracker *open_sinks(const char *dir, const char *sinks)
{
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"run_id\": \"run-1\", "
                        "\"sinks\": [%s]}", dir, sinks);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    if (evt_open_json(json, dir, &t, err, sizeof err) != EVT_OK)
        fail_msg("open failed: %s", err);
    free(json);
    return t;
}

/* A tracker with one jsonl sink; config is the inside of its object. */
static evt_tracker *open_jsonl(const char *dir, const char *config)
{
    char *s = tu_fmt("{\"plugin\": \"jsonl\", \"name\": \"jsonl\", "
                     "\"config\": {%s}}", config);
    evt_tracker *t = open_sinks(dir, s);
    free(s);
    return t;
}

/* A run_start with model_name and date when not NULL. */
static void run_start(evt_tracker *t, const char *model, const char *date)
{
    char *m = model ? tu_fmt(", \"model_name\": \"%s\"", model) : strdup("");
    char *d = date ? tu_fmt(", \"date\": \"%s\"", date) : strdup("");
    char *json = tu_fmt("{\"model_source\": \"x\"%s%s}", m, d);
    assert_int_equal(evt_log_json(t, EVT_EV_RUN_START, json), EVT_OK);
    free(m), free(d), free(json);
}

static void sample(evt_tracker *t, const char *json)
{
    if (evt_log_json(t, EVT_EV_SAMPLE, json) != EVT_OK) {
        char err[512];
        evt_last_error(t, err, sizeof err);
        fail_msg("evt_log_json: %s (%s)", err, json);
    }
}

static void close_ok(evt_tracker *t)
{
    assert_int_equal(evt_close(t, 30000), EVT_OK);
}

/* File dir/name as a heap string; fails when it is missing. */
static char *read_in(const char *dir, const char *name)
{
    char *p = tu_fmt("%s/%s", dir, name);
    char *text = tu_read_file(p, NULL);
    if (!text)
        fail_msg("missing file %s", p);
    free(p);
    return text;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A file of shared/fixtures/real (heap path), or NULL when the shared
 * folder is not there. */
static char *real_fixture(const char *name)
{
    const char *src = getenv("EVT_TEST_SOURCE_DIR");
    assert_non_null(src);
    char *p = tu_fmt("%s/../shared/fixtures/real/%s", src, name);
    if (!exists(p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* Lines of text without their '\n' (heap array of heap strings). */
static char **split_lines(const char *text, size_t *n)
{
    size_t cap = tu_count_lines(text) + 1, k = 0;
    char **out = calloc(cap, sizeof *out);
    assert_non_null(out);
    for (const char *l = text; *l && k < cap; k++) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        out[k] = strndup(l, len);
        l += len + (nl != NULL);
    }
    *n = k;
    return out;
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* ---- members of json.dumps lines -----------------------------------------*/

struct member {
    const char *k, *v; /* key without its quotes; value as written */
    size_t kn, vn;
};

/* Index just after the JSON string that starts at s[i] == '"'. */
static size_t str_end(const char *s, size_t i)
{
    for (i++; s[i] != '"'; i++)
        if (s[i] == '\\')
            i++;
    return i + 1;
}

/* The top-level members of one compact JSON object line. */
static size_t members(const char *s, struct member *m, size_t cap)
{
    size_t i = 1, n = 0;
    while (s[i] && s[i] != '}' && n < cap) {
        while (s[i] == ' ' || s[i] == ',')
            i++;
        size_t ke = str_end(s, i);
        m[n].k = s + i + 1;
        m[n].kn = ke - i - 2;
        i = ke + 2; /* ": " */
        size_t vs = i;
        for (int depth = 0; s[i];) {
            char ch = s[i];
            if (ch == '"') {
                i = str_end(s, i);
                continue;
            }
            if ((ch == '}' || ch == ']') && depth == 0)
                break;
            if (ch == ',' && depth == 0)
                break;
            depth += (ch == '{' || ch == '[') - (ch == '}' || ch == ']');
            i++;
        }
        m[n].v = s + vs;
        m[n].vn = i - vs;
        n++;
    }
    return n;
}

static int key_is(const struct member *m, const char *k)
{
    return m->kn == strlen(k) && memcmp(m->k, k, m->kn) == 0;
}

/* ", " unless b ends with '{' or '['. */
static void sep(struct evt_buf *b)
{
    if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
        evt_buf_puts(b, ", ");
}

static void put_member(struct evt_buf *b, const struct member *m)
{
    sep(b);
    evt_buf_puts(b, "\"");
    evt_buf_put(b, m->k, m->kn);
    evt_buf_puts(b, "\": ");
    evt_buf_put(b, m->v, m->vn);
}

/* Log the event text in b as a sample; empty b. */
static void log_built(evt_tracker *t, struct evt_buf *b)
{
    assert_false(b->oom);
    sample(t, b->data);
    b->len = 0;
}

/* ---- 1. real lines -------------------------------------------------------*/

static int is_lmms_field(const struct member *m)
{
    static const char *const k[] = {"doc_id", "target", "filtered_resps",
                                    "token_counts", "doc_hash",
                                    "input_media", "input"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (key_is(m, k[i]))
            return 1;
    return 0;
}

static void put_metrics_map(struct evt_buf *b, const struct member *m,
                            size_t n)
{
    sep(b);
    evt_buf_puts(b, "\"metrics\": {");
    for (size_t i = 0; i < n; i++)
        if (!is_lmms_field(&m[i]))
            put_member(b, &m[i]);
    evt_buf_puts(b, "}}");
}

/* The sample as lmms-eval held it before its transformation: a doc,
 * arguments = [input, gen_kwargs], resps = [[r]], filtered_resps = [r],
 * a filter, the metrics in "metrics". */
static void lmms_event_before(struct evt_buf *b, const struct member *m,
                              size_t n)
{
    evt_buf_puts(b, "{\"task\": \"mme_a\", \"filter\": \"none\", "
                    "\"doc\": {\"question_id\": \"q\", \"image\": null}");
    for (size_t i = 0; i < n; i++) {
        if (key_is(&m[i], "input")) {
            evt_buf_puts(b, ", \"arguments\": [");
            evt_buf_put(b, m[i].v, m[i].vn);
            evt_buf_puts(b, ", {\"max_new_tokens\": 16}]");
        } else if (key_is(&m[i], "filtered_resps")) {
            evt_buf_puts(b, ", \"resps\": [[");
            evt_buf_put(b, m[i].v, m[i].vn);
            evt_buf_puts(b, "]], \"filtered_resps\": [");
            evt_buf_put(b, m[i].v, m[i].vn);
            evt_buf_puts(b, "]");
        } else if (is_lmms_field(&m[i])) {
            put_member(b, &m[i]);
        }
    }
    put_metrics_map(b, m, n);
}

/* The line's own fields ("input" passes through), metrics in "metrics". */
static void lmms_event_same(struct evt_buf *b, const struct member *m,
                            size_t n)
{
    evt_buf_puts(b, "{\"task\": \"mme\", \"filter\": \"none\"");
    for (size_t i = 0; i < n; i++)
        if (is_lmms_field(&m[i]))
            put_member(b, &m[i]);
    put_metrics_map(b, m, n);
}

static void test_real_lmms_lines(void **state)
{
    struct fx *f = *state;
    char *path = real_fixture("lmmseval_v0.6_mme_limit8_samples_mme.jsonl");
    if (!path)
        skip();
    char *want = tu_read_file(path, NULL);
    size_t n;
    char **lines = split_lines(want, &n);
    assert_int_equal(n, 8);
    char *cfg = tu_fmt("\"filter_key\": false, \"dir\": \"%s/out\"", f->dir);
    evt_tracker *t = open_jsonl(f->dir, cfg);
    run_start(t, "lmms-lab/x", DATE);
    struct evt_buf b;
    evt_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        struct member m[32];
        size_t k = members(lines[i], m, 32);
        assert_int_equal(k, 8);
        lmms_event_same(&b, m, k);
        log_built(t, &b);
        lmms_event_before(&b, m, k);
        log_built(t, &b);
    }
    close_ok(t);
    char *out = tu_fmt("%s/out", f->dir);
    char *got = read_in(out, DATE "_samples_mme.jsonl");
    char *got_a = read_in(out, DATE "_samples_mme_a.jsonl");
    assert_string_equal(got, want);
    assert_string_equal(got_a, want);
    free(got), free(got_a), free(out), free(cfg), free(path), free(want);
    evt_buf_free(&b);
    free_lines(lines, n);
}

/* lm-eval: the line's fields 1:1 as the event ("ntom_raw"), and with the
 * metric values in a "metrics" map as EVENTS.md recommends ("ntom"). */
static void lmeval_events(evt_tracker *t, const char *line)
{
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, "{\"task\": \"ntom_raw\", ");
    evt_buf_puts(&b, line + 1);
    log_built(t, &b);

    struct member m[32];
    size_t k = members(line, m, 32), i;
    evt_buf_puts(&b, "{\"task\": \"ntom\"");
    for (i = 0; i < k && !key_is(&m[i], "target_hash"); i++)
        if (!key_is(&m[i], "metrics"))
            put_member(&b, &m[i]);
    assert_true(i < k);
    put_member(&b, &m[i]);
    evt_buf_puts(&b, ", \"metrics\": {");
    for (i++; i < k; i++)
        put_member(&b, &m[i]);
    evt_buf_puts(&b, "}}");
    log_built(t, &b);
    evt_buf_free(&b);
}

static void test_real_lmeval_lines(void **state)
{
    struct fx *f = *state;
    char *path =
        real_fixture("lmeval_0.4.13dev_samples_negotiationtom_intention.jsonl");
    if (!path)
        skip();
    char *want = tu_read_file(path, NULL);
    size_t n;
    char **lines = split_lines(want, &n);
    assert_int_equal(n, 20);
    evt_tracker *t = open_jsonl(f->dir, "\"layout\": \"lm-eval\"");
    /* lm-eval's date_id; ':' would become '-' as upstream does. */
    run_start(t, "Qwen/Qwen3-8B", "2026-07-08T16:04:34.219874");
    for (size_t i = 0; i < n; i++)
        lmeval_events(t, lines[i]);
    close_ok(t);
    const char *date = "2026-07-08T16-04-34.219874";
    /* lm-eval: the results folder, output_path/<sanitized model> */
    char *raw = tu_fmt("Qwen__Qwen3-8B/samples_ntom_raw_%s.jsonl", date);
    char *made = tu_fmt("Qwen__Qwen3-8B/samples_ntom_%s.jsonl", date);
    char *got_raw = read_in(f->dir, raw), *got = read_in(f->dir, made);
    assert_string_equal(got_raw, want);
    assert_string_equal(got, want);
    free(raw), free(made), free(got_raw), free(got), free(path), free(want);
    free_lines(lines, n);
}

/* ---- 2. transformations --------------------------------------------------*/

/* Inputs and the lines upstream's code gives for them (computed with the
 * Python steps of formats.md §3.1/§3.2 and json.dumps). */
static const char *const lmms_in[] = {
    "{\"task\": \"t\", \"doc_id\": 0, \"doc\": {\"q\": 1}, "
        "\"target\": [\"a\", \"b\"], \"arguments\": [\"ctx\", "
        "{\"until\": [\"\\n\"]}], \"resps\": [[0.5, true, null, {\"a\": 1, "
        "\"b\": [1.5, \"x'y\"]}]], \"filtered_resps\": [[0.5, true, null, "
        "{\"a\": 1, \"b\": [1.5, \"x'y\"]}]], \"filter\": \"none\", "
        "\"token_counts\": [null], \"doc_hash\": \"h\", "
        "\"metrics\": {\"acc\": 1.0}}",
    "{\"task\": \"t\", \"doc_id\": 1, \"doc\": {}, \"target\": \"A\", "
        "\"arguments\": [\"c\"], \"resps\": [[\"A\", \"B\"]], "
        "\"filtered_resps\": [\"A\"], \"token_counts\": [null], "
        "\"doc_hash\": \"h\"}",
    "{\"task\": \"t\", \"doc_id\": 2, \"doc\": {}, "
        "\"target\": \"Yes\", \"arguments\": [\"c\"], "
        "\"resps\": [[\"Yes\"]], \"filtered_resps\": [\"Yes\"], "
        "\"token_counts\": [null], \"doc_hash\": \"h\"}",
    "{\"task\": \"t\", \"doc_id\": 3, \"target\": null, "
        "\"arguments\": [\"c\"], "
        "\"resps\": [[{\"k\": \"\\u00e9\\u00a0\\u0001\\u200b\\ud83d\\ude00\", "
        "\"q\": \"a\\\"b\", \"z\": \"a'b\\\"c\\\\\"}, 1e-05, 1e+16, NaN, "
        "-0.0, 18446744073709551615, -5]], \"filtered_resps\": [[\"x\"]], "
        "\"token_counts\": [null], \"doc_hash\": \"h\"}",
    "{\"task\": \"t\", \"doc_id\": 4, \"resps\": [[\"r\"]], "
        "\"filtered_resps\": [\"r\"]}",
    "{\"task\": \"t\", \"doc_id\": 5, \"target\": \"x\", "
        "\"arguments\": [], \"input\": \"in\", \"filtered_resps\": [\"x\"]}",
    "{\"task\": \"t\", \"doc_id\": 6, \"target\": \"x\", "
        "\"filtered_resps\": [\"x\"], \"step\": 3, \"custom\": {\"k\": [1, "
        "2]}, \"prompt_hash\": \"p\", \"metrics\": {\"acc\": 0.0, "
        "\"target\": 1}}",
};
static const char *const lmms_out[] = {
    "{\"doc_id\": 0, \"target\": \"['a', 'b']\", "
        "\"filtered_resps\": [\"0.5\", \"True\", \"None\", \"{'a': 1, "
        "'b': [1.5, \\\"x'y\\\"]}\"], \"token_counts\": [null], "
        "\"doc_hash\": \"h\", \"acc\": 1.0, \"input\": \"ctx\"}\n",
    "{\"doc_id\": 1, \"target\": \"A\", \"resps\": [\"A\", \"B\"], "
        "\"filtered_resps\": \"A\", \"token_counts\": [null], "
        "\"doc_hash\": \"h\", \"input\": \"c\"}\n",
    "{\"doc_id\": 2, \"target\": \"Yes\", \"filtered_resps\": \"Yes\", "
        "\"token_counts\": [null], \"doc_hash\": \"h\", \"input\": \"c\"}\n",
    "{\"doc_id\": 3, \"target\": \"None\", "
        "\"resps\": [\"{'k': 'é\\\\xa0\\\\x01\\\\u200b😀', 'q': 'a\\\"b', "
        "'z': 'a\\\\'b\\\"c\\\\\\\\'}\", \"1e-05\", \"1e+16\", \"nan\", "
        "\"-0.0\", \"18446744073709551615\", \"-5\"], "
        "\"filtered_resps\": [\"x\"], \"token_counts\": [null], "
        "\"doc_hash\": \"h\", \"input\": \"c\"}\n",
    "{\"doc_id\": 4, \"filtered_resps\": \"r\"}\n",
    "{\"doc_id\": 5, \"target\": \"x\", \"filtered_resps\": \"x\", "
        "\"input\": \"in\"}\n",
    "{\"doc_id\": 6, \"target\": \"x\", \"filtered_resps\": \"x\", "
        "\"step\": 3, \"custom\": {\"k\": [1, 2]}, \"prompt_hash\": \"p\", "
        "\"acc\": 0.0}\n",
};
static const char lmeval_in[] =
    "{\"task\": \"le\", \"doc_id\": 0, \"doc\": {\"q\": \"x\"}, "
        "\"target\": 3, \"arguments\": [[\"ctx\", {\"until\": [\"\\n\"]}], "
        "[\"ctx2\", \" cont\"]], \"resps\": [[[-27.375, false]], [[-1.5, "
        "true]]], \"filtered_resps\": [[-27.375, false], [-1.5, true]], "
        "\"filter\": \"none\", \"metrics\": {\"acc\": 1.0, "
        "\"f1\": [[\"a\"], [\"b\"]]}, \"doc_hash\": \"dh\", "
        "\"prompt_hash\": \"ph\", \"target_hash\": \"th\", \"extra\": 1}";
static const char lmeval_out[] =
    "{\"doc_id\": 0, \"doc\": {\"q\": \"x\"}, \"target\": \"3\", "
        "\"arguments\": {\"gen_args_0\": {\"arg_0\": \"ctx\", "
        "\"arg_1\": {\"until\": [\"\\n\"]}}, "
        "\"gen_args_1\": {\"arg_0\": \"ctx2\", \"arg_1\": \" cont\"}}, "
        "\"resps\": [[[\"-27.375\", \"False\"]], [[\"-1.5\", \"True\"]]], "
        "\"filtered_resps\": [[\"-27.375\", \"False\"], [\"-1.5\", "
        "\"True\"]], \"filter\": \"none\", \"metrics\": [\"acc\", \"f1\"], "
        "\"doc_hash\": \"dh\", \"prompt_hash\": \"ph\", "
        "\"target_hash\": \"th\", \"extra\": 1, \"acc\": 1.0, "
        "\"f1\": [[\"a\"], [\"b\"]]}\n";

static void test_lmms_transformations(void **state)
{
    struct fx *f = *state;
    size_t n = sizeof lmms_in / sizeof lmms_in[0];
    char *cfg = tu_fmt("\"filter_key\": false, \"dir\": \"%s/o\"", f->dir);
    log_start();
    evt_tracker *t = open_jsonl(f->dir, cfg);
    run_start(t, "m", DATE);
    for (size_t i = 0; i < n; i++)
        sample(t, lmms_in[i]);
    close_ok(t);
    char *dir = tu_fmt("%s/o", f->dir);
    char *got = read_in(dir, DATE "_samples_t.jsonl");
    size_t k;
    char **lines = split_lines(got, &k);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++) {
        char *line = tu_fmt("%s\n", lines[i]);
        assert_string_equal(line, lmms_out[i]);
        free(line);
    }
    /* The metric named "target" was left out, with a warning. */
    assert_true(log_has("metric \"target\" left out"));
    log_stop();
    free_lines(lines, k);
    free(got), free(dir), free(cfg);
}

/* filter_key true (the default) keeps "filter" after filtered_resps. */
static void test_lmms_filter_key(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "org/model", DATE);
    sample(t, "{\"task\": \"f\", \"doc_id\": 0, \"filter\": \"strict-match\", "
              "\"target\": \"x\", \"resps\": [[\"x\"]], "
              "\"filtered_resps\": [\"x\"], \"doc_hash\": \"h\", "
              "\"metrics\": {\"em\": 1}}");
    close_ok(t);
    char *dir = tu_fmt("%s/org__model", f->dir);
    char *got = read_in(dir, DATE "_samples_f.jsonl");
    assert_string_equal(got, "{\"doc_id\": 0, \"target\": \"x\", "
                             "\"filtered_resps\": \"x\", \"filter\": "
                             "\"strict-match\", \"doc_hash\": \"h\", "
                             "\"em\": 1}\n");
    free(got), free(dir);
}

/* bin, ext and container map keys become their Python str(), as the
 * harnesses' json hook writes unknown objects. */
static void test_opaque_values(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "\"filter_key\": false");
    run_start(t, "m", DATE);
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "b");
    evt_int(e, "doc_id", 7);
    evt_msgpack(e, "resps", "\x91\x91\xc4\x04\x00" "ab'", 8);
    evt_str(e, "filtered_resps", "z");
    evt_msgpack(e, "blob", "\xc4\x04\x00" "ab'", 6);
    evt_msgpack(e, "ext", "\xd4\x05\x01", 3);
    evt_msgpack(e, "odd", "\x82\x91\x01\x02\x01\xa1" "a", 7);
    assert_int_equal(evt_commit(e), EVT_OK);
    close_ok(t);
    char *dir = tu_fmt("%s/m", f->dir);
    char *got = read_in(dir, DATE "_samples_b.jsonl");
    assert_string_equal(got,
        "{\"doc_id\": 7, \"resps\": [\"b\\\"\\\\x00ab'\\\"\"], "
        "\"filtered_resps\": \"z\", \"blob\": \"b\\\"\\\\x00ab'\\\"\", "
        "\"ext\": \"ExtType(code=5, data=b'\\\\x01')\", "
        "\"odd\": {\"[1]\": 2, \"1\": \"a\"}}\n");
    free(got), free(dir);
}

static void test_lmeval_transformations(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "\"layout\": \"lm-eval\"");
    run_start(t, "m", DATE);
    sample(t, lmeval_in);
    close_ok(t);
    char *got = read_in(f->dir, "m/samples_le_" DATE ".jsonl");
    assert_string_equal(got, lmeval_out);
    free(got);
}

/* Deep arrays, a dict target, non-finite floats: no crash, Python's
 * forms. */
static void test_odd_values(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "\"filter_key\": false");
    run_start(t, "m", DATE);
    sample(t, "{\"task\": \"h\", \"doc_id\": 0, \"target\": {\"a\": [1, "
              "{\"b\": null}]}, \"resps\": [[[[[[[[[[[[[\"x\"]]]]]]]]]]]]], "
              "\"filtered_resps\": NaN, \"metrics\": {\"m\": Infinity}}");
    close_ok(t);
    char *dir = tu_fmt("%s/m", f->dir);
    char *got = read_in(dir, DATE "_samples_h.jsonl");
    assert_string_equal(got,
        "{\"doc_id\": 0, \"target\": \"{'a': [1, {'b': None}]}\", "
        "\"resps\": [[[[[[[[[[[[\"x\"]]]]]]]]]]]], \"filtered_resps\": "
        "\"nan\", \"m\": Infinity}\n");
    free(got), free(dir);
}

/* A sample without a string "task" is skipped with a warning; the next
 * one is written. */
static void test_malformed_sample_skipped(void **state)
{
    struct fx *f = *state;
    log_start();
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "m", DATE);
    sample(t, "{\"task\": 5, \"doc_id\": 0}");
    sample(t, "{\"task\": \"ok\", \"doc_id\": 1}");
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    assert_int_equal(st.written, 3);
    assert_int_equal(st.dead_lettered, 0);
    close_ok(t);
    assert_true(log_has("skipped: no \"task\" string"));
    log_stop();
    char *dir = tu_fmt("%s/m", f->dir);
    char *got = read_in(dir, DATE "_samples_ok.jsonl");
    assert_string_equal(got, "{\"doc_id\": 1}\n");
    free(got), free(dir);
}

/* ---- 3. file names -------------------------------------------------------*/

static void test_file_names(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "lmms-lab/llava-onevision-qwen2-0.5b-ov", DATE);
    sample(t, "{\"task\": \"mme\", \"doc_id\": 0}");
    close_ok(t);
    char *p = tu_fmt("%s/lmms-lab__llava-onevision-qwen2-0.5b-ov/"
                     DATE "_samples_mme.jsonl", f->dir);
    char *got = tu_read_file(p, NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"doc_id\": 0}\n");
    free(got), free(p);

    t = open_jsonl(f->dir, "\"layout\": \"lm-eval\"");
    run_start(t, "lmms-lab/llava-onevision-qwen2-0.5b-ov", DATE);
    sample(t, "{\"task\": \"mme\", \"doc_id\": 0}");
    close_ok(t);
    p = tu_fmt("%s/lmms-lab__llava-onevision-qwen2-0.5b-ov/samples_mme_" DATE
               ".jsonl", f->dir);
    got = tu_read_file(p, NULL);
    assert_non_null(got);
    assert_string_equal(got, "{\"doc_id\": 0}\n");
    free(got), free(p);
}

/* The run stamp, from a test sink that records it. */
static char *stamp_of(const char *dir)
{
    char *text = read_in(dir, "rec.rec");
    char *s = strstr(text, "# stamp ");
    assert_non_null(s);
    s += 8;
    char *stamp = strndup(s, strcspn(s, "\n"));
    free(text);
    return stamp;
}

static evt_tracker *open_with_recorder(const char *dir, const char *cfg)
{
    char *sinks = tu_fmt(
        "{\"plugin\": \"jsonl\", \"name\": \"jsonl\", \"config\": {%s}}, "
        "{\"path\": \"%s/test_sink.so\", \"name\": \"rec\", \"events\": "
        "[\"run_end\"], \"config\": {\"record\": \"%s/rec.rec\"}}",
        cfg, tu_fixture_dir(), dir);
    evt_tracker *t = open_sinks(dir, sinks);
    free(sinks);
    return t;
}

/* Without a run_start date the run stamp names the files; without any
 * run_start the files go in output_dir itself, where local-json puts the
 * results of a run with no model name. */
static void test_file_names_default_stamp(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_with_recorder(f->dir, "");
    sample(t, "{\"task\": \"mme\", \"doc_id\": 0}");
    close_ok(t);
    char *stamp = stamp_of(f->dir);
    assert_int_equal(strlen(stamp), 15);
    char *p = tu_fmt("%s/%s_samples_mme.jsonl", f->dir, stamp);
    assert_true(exists(p));
    free(p), free(stamp);

    char *d2 = tu_fmt("%s/two", f->dir);
    assert_int_equal(mkdir(d2, 0755), 0);
    t = open_with_recorder(d2, "\"layout\": \"lm-eval\"");
    run_start(t, "m", NULL);
    sample(t, "{\"task\": \"arc\", \"doc_id\": 0}");
    close_ok(t);
    stamp = stamp_of(d2);
    p = tu_fmt("%s/m/samples_arc_%s.jsonl", d2, stamp);
    assert_true(exists(p));
    free(p), free(stamp), free(d2);
}

/* "dir" is relative to output_dir; an empty model name puts lmms-eval
 * files in output_dir itself, as upstream does. */
static void test_dir_option_and_empty_model(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "\"dir\": \"sub/deeper\"");
    run_start(t, "a/b", DATE);
    sample(t, "{\"task\": \"x\", \"doc_id\": 0}");
    close_ok(t);
    char *p = tu_fmt("%s/sub/deeper/" DATE "_samples_x.jsonl", f->dir);
    assert_true(exists(p));
    free(p);
    t = open_jsonl(f->dir, "");
    run_start(t, "", DATE);
    sample(t, "{\"task\": \"y\", \"doc_id\": 0}");
    close_ok(t);
    p = tu_fmt("%s/" DATE "_samples_y.jsonl", f->dir);
    assert_true(exists(p));
    free(p);
}

/* ---- 4. hostile task names -----------------------------------------------*/

static void task_sample(evt_tracker *t, const char *task, size_t len,
                        int doc_id)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_strn(e, "task", task, len);
    evt_int(e, "doc_id", doc_id);
    assert_int_equal(evt_commit(e), EVT_OK);
}

/* 1 when path resolves to a direct child of the folder root. */
static int inside(const char *root, const char *path)
{
    char real[PATH_MAX];
    size_t n = strlen(root);
    return realpath(path, real) && strncmp(real, root, n) == 0 &&
           real[n] == '/' && !strchr(real + n + 1, '/');
}

static void test_hostile_task_names(void **state)
{
    struct fx *f = *state;
    static char long_name[1001];
    memset(long_name, 'a', 1000);
    const struct {
        const char *task;
        size_t len;
        const char *file;
    } c[] = {
        {"../x", 4, "_._x"}, {"a/b", 3, "a_b"}, {"x\x01y", 3, "x_y"},
        {"n\0ul", 4, "n_ul"}, {"..", 2, "_."},   {"", 0, "_"},
        {long_name, 1000, NULL},
    };
    size_t n = sizeof c / sizeof c[0];
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "m", DATE);
    for (size_t i = 0; i < n; i++)
        task_sample(t, c[i].task, c[i].len, (int)i);
    close_ok(t);
    char *dir = tu_fmt("%s/m", f->dir), root[PATH_MAX];
    assert_non_null(realpath(dir, root));
    for (size_t i = 0; i < n; i++) {
        char *p = c[i].file
                      ? tu_fmt("%s/" DATE "_samples_%s.jsonl", dir, c[i].file)
                      : tu_fmt("%s/" DATE "_samples_%.200s.jsonl", dir,
                               long_name);
        assert_true(inside(root, p));
        char *text = tu_read_file(p, NULL);
        char *want = tu_fmt("{\"doc_id\": %zu}\n", i);
        assert_string_equal(text, want);
        free(text), free(want), free(p);
    }
    /* Nothing else was made, in the folder or next to it. */
    size_t files = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; (de = readdir(d));)
        files += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    assert_int_equal(files, n);
    char *outside = tu_fmt("%s/x", f->dir);
    assert_false(exists(outside));
    free(outside), free(dir);
}

/* ---- 5. torn tail --------------------------------------------------------*/

static void test_torn_tail_repair(void **state)
{
    struct fx *f = *state;
    char *dir = tu_fmt("%s/m", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    const char *torn1 = "{\"doc_id\": 1, \"tar", *torn2 = "{\"doc_id\": 0, \"x";
    char *p1 = tu_fmt("%s/" DATE "_samples_mme.jsonl", dir);
    char *text = tu_fmt("{\"doc_id\": 0}\n%s", torn1);
    tu_write_file(p1, text);
    char *p2 = tu_fmt("%s/" DATE "_samples_none.jsonl", dir);
    tu_write_file(p2, torn2); /* no complete line at all */
    log_start();
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "m", DATE);
    sample(t, "{\"task\": \"mme\", \"doc_id\": 2}");
    sample(t, "{\"task\": \"none\", \"doc_id\": 5}");
    close_ok(t);
    char *got = tu_read_file(p1, NULL);
    assert_string_equal(got, "{\"doc_id\": 0}\n{\"doc_id\": 2}\n");
    free(got);
    got = tu_read_file(p2, NULL);
    assert_string_equal(got, "{\"doc_id\": 5}\n");
    free(got);
    char *m1 = tu_fmt("%s: removed %zu bytes of a torn last line", p1,
                      strlen(torn1));
    char *m2 = tu_fmt("%s: removed %zu bytes of a torn last line", p2,
                      strlen(torn2));
    assert_true(log_has(m1));
    assert_true(log_has(m2));
    log_stop();
    free(m1), free(m2), free(p1), free(p2), free(text), free(dir);
}

/* A file that ends in '\n' is appended to as it is. */
static void test_append_to_whole_file(void **state)
{
    struct fx *f = *state;
    char *dir = tu_fmt("%s/m", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *p = tu_fmt("%s/" DATE "_samples_mme.jsonl", dir);
    tu_write_file(p, "{\"doc_id\": 0}\n");
    log_start();
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "m", DATE);
    sample(t, "{\"task\": \"mme\", \"doc_id\": 1}");
    close_ok(t);
    assert_false(log_has("torn"));
    log_stop();
    char *got = tu_read_file(p, NULL);
    assert_string_equal(got, "{\"doc_id\": 0}\n{\"doc_id\": 1}\n");
    free(got), free(p), free(dir);
}

/* ---- 6. drop_fields and max_field_bytes ----------------------------------*/

static void test_drop_fields_and_cap(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir,
        "\"drop_fields\": [\"doc_hash\", \"input\", \"acc\"], "
        "\"max_field_bytes\": 9, \"filter_key\": false");
    run_start(t, "m", DATE);
    /* "h\u00e9llo w\u00f6rld" is 13 bytes; byte 9 is inside the o-umlaut,
     * so the cut falls back to 8 bytes. */
    sample(t, "{\"task\": \"c\", \"doc_id\": 0, \"target\": \"h\\u00e9llo "
              "w\\u00f6rld\", \"filtered_resps\": [\"short\"], "
              "\"doc_hash\": \"h\", \"metrics\": {\"acc\": 1, \"f1\": "
              "{\"text\": \"0123456789\"}}, \"arguments\": [\"in\"]}");
    close_ok(t);
    char *dir = tu_fmt("%s/m", f->dir);
    char *got = read_in(dir, DATE "_samples_c.jsonl");
    assert_string_equal(got,
        "{\"doc_id\": 0, \"target\": \"h\xc3\xa9llo w...[truncated 5 bytes]\", "
        "\"filtered_resps\": \"short\", "
        "\"f1\": {\"text\": \"012345678...[truncated 1 bytes]\"}}\n");
    free(got), free(dir);
}

/* Tokens (the values of HF_TOKEN, HUGGING_FACE_HUB_TOKEN, WANDB_API_KEY
 * of 8 bytes or more, read at create) are replaced by [REDACTED] in every
 * string of a line (values, keys, str() texts) before the cap, and in the
 * file and folder names made from the task, model name and date; a
 * shorter value is left alone (§3.7). */
#define SEC_A "hf_SecretToken123456"
#define SEC_B "wbkey-abcdefgh"
static void test_secrets_scrubbed(void **state)
{
    struct fx *f = *state;
    setenv("HF_TOKEN", SEC_A, 1);
    setenv("WANDB_API_KEY", SEC_B, 1);
    setenv("HUGGING_FACE_HUB_TOKEN", "short", 1);
    const char *ev =
        "{\"task\": \"t_" SEC_A "\", \"doc_id\": 0, \"target\": \"say " SEC_A
        " now\", \"filtered_resps\": [\"" SEC_B "\"], \"note\": {\"" SEC_B
        "\": \"short\", \"q\": [1, \"x" SEC_A SEC_B "\"]}, \"resps\": "
        "[[{\"k\": \"" SEC_A "\"}]], \"" SEC_A "\": 7, \"arguments\": [\""
        SEC_A SEC_A "\"]}";
    evt_tracker *t = open_jsonl(f->dir, "");
    run_start(t, "org/" SEC_A, "2026-01-01T00:00:00" SEC_B);
    sample(t, ev);
    close_ok(t);
    char *dir = tu_fmt("%s/org__[REDACTED]", f->dir);
    char *got = read_in(dir, "2026-01-01T00-00-00[REDACTED]_samples_t_"
                             "[REDACTED].jsonl");
    assert_string_equal(got,
        "{\"doc_id\": 0, \"target\": \"say [REDACTED] now\", "
        "\"resps\": [\"{'k': '[REDACTED]'}\"], "
        "\"filtered_resps\": \"[REDACTED]\", \"note\": {\"[REDACTED]\": "
        "\"short\", \"q\": [1, \"x[REDACTED][REDACTED]\"]}, "
        "\"[REDACTED]\": 7, "
        "\"input\": \"[REDACTED][REDACTED]\"}\n");
    free(got), free(dir);
    /* the cap applies to the scrubbed text: no part of a token stays */
    t = open_jsonl(f->dir, "\"layout\": \"lm-eval\", \"max_field_bytes\": 6");
    run_start(t, "org/m", DATE);
    sample(t, "{\"task\": \"c\", \"doc_id\": 1, \"target\": \"ab" SEC_A
              "\"}");
    close_ok(t);
    dir = tu_fmt("%s/org__m", f->dir);
    got = read_in(dir, "samples_c_" DATE ".jsonl");
    assert_string_equal(got, "{\"doc_id\": 1, \"target\": \"ab[RED"
                             "...[truncated 6 bytes]\"}\n");
    free(got), free(dir);
    /* lighteval: the model path, the date and the task */
    t = open_jsonl(f->dir, "\"layout\": \"lighteval\"");
    run_start(t, SEC_B "/" SEC_A, "d" SEC_A);
    sample(t, "{\"task\": \"x|" SEC_A ":1\", \"doc_id\": 2}");
    close_ok(t);
    char *p = tu_fmt("%s/details/[REDACTED]/[REDACTED]/d[REDACTED]/"
                     "details_x|[REDACTED]:1_d[REDACTED].jsonl", f->dir);
    got = tu_read_file(p, NULL);
    if (!got)
        fail_msg("missing %s", p);
    assert_string_equal(got, "{\"doc\": {\"id\": \"2\", \"task_name\": "
                             "\"x|[REDACTED]:1\"}}\n");
    free(got), free(p);
    /* a token at every offset of a longer string (the filter of §3.7
     * looks at 4-byte pieces at a stride) */
    t = open_jsonl(f->dir, "\"dir\": \"at\"");
    run_start(t, NULL, DATE);
    for (int at = 0; at < 48; at++) {
        char *ev2 = tu_fmt("{\"task\": \"o\", \"doc_id\": %d, \"target\": "
                           "\"%.*s" SEC_B "%.*s\"}", at, at,
                           "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL",
                           47 - at, "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFE");
        sample(t, ev2);
        free(ev2);
    }
    close_ok(t);
    dir = tu_fmt("%s/at", f->dir);
    got = read_in(dir, DATE "_samples_o.jsonl");
    size_t n = 0;
    char **lines = split_lines(got, &n);
    assert_int_equal(n, 48);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(lines[i], SEC_B));
        const char *r = strstr(lines[i], "[REDACTED]");
        assert_non_null(r);
        assert_int_equal(strlen(lines[i]), strlen("{\"doc_id\": , \"target\": "
                                                  "\"[REDACTED]\"}") +
                                               (i < 10 ? 1 : 2) + 47);
    }
    free_lines(lines, n);
    free(got), free(dir);
    unsetenv("HF_TOKEN");
    unsetenv("WANDB_API_KEY");
    unsetenv("HUGGING_FACE_HUB_TOKEN");
}

/* Bad config values: the host refuses the type, create() the value (the
 * tracker still opens, with the sink disabled). */
static void test_bad_config(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {"\"layout\": \"csv\"", "\"fsync\": \"sometimes\"",
                         "\"drop_fields\": [1]", "\"drop_fields\": {}",
                         "\"max_field_bytes\": -1", "\"dir\": \"\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        log_start();
        evt_tracker *t = open_jsonl(f->dir, bad[i]);
        assert_true(log_has("config: "));
        assert_true(log_has("create failed"));
        log_stop();
        close_ok(t);
    }
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"sinks\": [{\"plugin\": "
                        "\"jsonl\", \"config\": {\"max_field_bytes\": "
                        "\"8\"}}]}", f->dir);
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t = NULL;
    assert_int_equal(evt_open_json(json, f->dir, &t, err, sizeof err),
                     EVT_ECONFIG);
    assert_non_null(strstr(err, "max_field_bytes"));
    free(json);
}

/* ---- 7. write failures: retries, then dead letters -----------------------*/

static size_t count_spool(const char *path)
{
    struct evt__spool *s;
    char err[256];
    if (access(path, F_OK) != 0)
        return 0;
    assert_int_equal(evt__spool_open(path, 0, &s, NULL, err, sizeof err), 0);
    const void *p;
    size_t len, n = 0;
    while (evt__spool_next(s, &p, &len) == 1)
        n++;
    evt__spool_close(s);
    return n;
}

static void test_unwritable_dir_dead_letters(void **state)
{
    struct fx *f = *state;
    /* A regular file where a folder should be: mkdir fails even as root. */
    char *blocker = tu_fmt("%s/blocker", f->dir);
    tu_write_file(blocker, "x");
    char *s = tu_fmt("{\"plugin\": \"jsonl\", \"name\": \"jsonl\", \"retry\": "
                     "{\"limit\": 1, \"base_ms\": 1, \"cap_ms\": 1}, "
                     "\"config\": {\"dir\": \"%s/sub\"}}", blocker);
    log_start();
    evt_tracker *t = open_sinks(f->dir, s);
    for (int i = 0; i < 3; i++) {
        char *js = tu_fmt("{\"task\": \"mme\", \"doc_id\": %d}", i);
        sample(t, js);
        free(js);
    }
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    assert_int_equal(st.dead_lettered, 3);
    assert_true(st.retried >= 1);
    assert_int_equal(st.enabled, 1);
    char err[1024];
    assert_true(evt_last_error(t, err, sizeof err) > 0);
    char *file = tu_fmt("%s/sub/", blocker);
    assert_non_null(strstr(err, file));
    assert_non_null(strstr(err, "_samples_mme.jsonl: open: "));
    log_stop();
    close_ok(t);
    char *dlq = tu_fmt("%s/.evtrack/rejected/jsonl.spool", f->dir);
    assert_int_equal(count_spool(dlq), 3);
    free(dlq), free(file), free(s), free(blocker);
}

/* A batch that fails half-way is retried without writing its first part
 * twice: written events are remembered by (run_id, seq). */
static void test_retry_does_not_duplicate(void **state)
{
    struct fx *f = *state;
    char *dir = tu_fmt("%s/m", f->dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *blocked = tu_fmt("%s/" DATE "_samples_bad.jsonl", dir);
    assert_int_equal(mkdir(blocked, 0755), 0); /* a folder: open fails */
    char *s = strdup("{\"plugin\": \"jsonl\", \"name\": \"jsonl\", \"retry\": "
                     "{\"limit\": 2, \"base_ms\": 1, \"cap_ms\": 1}}");
    log_start();
    evt_tracker *t = open_sinks(f->dir, s);
    run_start(t, "m", DATE);
    const int N = 400;
    for (int i = 0; i < N; i++) {
        char *js = tu_fmt("{\"task\": \"%s\", \"doc_id\": %d}",
                          i == N / 2 ? "bad" : "good", i);
        sample(t, js);
        free(js);
    }
    close_ok(t);
    assert_true(log_has("_samples_bad.jsonl: open: "));
    log_stop();
    char *got = read_in(dir, DATE "_samples_good.jsonl");
    size_t n;
    char **lines = split_lines(got, &n);
    /* Each doc at most once, in order; the failed batch is missing. */
    long last = -1;
    for (size_t i = 0; i < n; i++) {
        long id = strtol(lines[i] + strlen("{\"doc_id\": "), NULL, 10);
        assert_true(id > last);
        last = id;
    }
    assert_true(n < (size_t)N);
    free_lines(lines, n);
    free(got), free(s), free(blocked), free(dir);
}

/* ---- 8. volume, and more tasks than open files ---------------------------*/

static void test_ten_thousand_samples(void **state)
{
    struct fx *f = *state;
    const char *tasks[] = {"alpha", "beta", "gamma"};
    const int N = 10000;
    evt_tracker *t = open_jsonl(f->dir, "\"fsync\": \"none\"");
    run_start(t, "m", DATE);
    for (int i = 0; i < N; i++) {
        char *js = tu_fmt("{\"task\": \"%s\", \"doc_id\": %d, \"target\": "
                          "\"t%d\", \"resps\": [[\"r%d\"]], \"filtered_resps\""
                          ": [\"r%d\"], \"metrics\": {\"acc\": %d.0}, "
                          "\"arguments\": [\"q\\n%d\", {}]}",
                          tasks[i % 3], i / 3, i, i, i, i % 2, i);
        sample(t, js);
        free(js);
    }
    close_ok(t);
    char *dir = tu_fmt("%s/m", f->dir);
    for (int k = 0; k < 3; k++) {
        char *name = tu_fmt(DATE "_samples_%s.jsonl", tasks[k]);
        char *text = read_in(dir, name);
        size_t n;
        char **lines = split_lines(text, &n);
        assert_int_equal(n, (size_t)(N / 3 + (k < N % 3)));
        for (size_t i = 0; i < n; i++) {
            cJSON *j = cJSON_Parse(lines[i]);
            assert_non_null(j);
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "doc_id");
            assert_true(cJSON_IsNumber(id));
            assert_int_equal(id->valueint, (int)i);
            assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "acc"));
            assert_null(cJSON_GetObjectItemCaseSensitive(j, "resps"));
            cJSON_Delete(j);
        }
        free_lines(lines, n);
        free(text), free(name);
    }
    free(dir);
}

/* More tasks than the sink keeps open (64), revisited: files are closed
 * and reopened without losing or repeating lines; fsync "always". */
static void test_many_tasks_lru(void **state)
{
    struct fx *f = *state;
    const int T = 70, R = 3;
    evt_tracker *t = open_jsonl(f->dir, "\"fsync\": \"always\"");
    run_start(t, "m", DATE);
    for (int r = 0; r < R; r++)
        for (int k = 0; k < T; k++) {
            char *js = tu_fmt("{\"task\": \"t%d\", \"doc_id\": %d}", k, r);
            sample(t, js);
            free(js);
        }
    close_ok(t);
    char *dir = tu_fmt("%s/m", f->dir);
    for (int k = 0; k < T; k++) {
        char *name = tu_fmt(DATE "_samples_t%d.jsonl", k);
        char *text = read_in(dir, name);
        assert_string_equal(text, "{\"doc_id\": 0}\n{\"doc_id\": 1}\n"
                                  "{\"doc_id\": 2}\n");
        free(text), free(name);
    }
    free(dir);
}

/* ---- 9. lighteval layout --------------------------------------------------*/

#define LE_DATE_IN "2025-11-05T14:43:47.148527"
#define LE_DATE "2025-11-05T14-43-47.148527"
#define LE_TASK "mmlu:anatomy|5"

/* output_dir/details/<org>/<model>/<date>/details_<task>_<date>.jsonl */
static char *le_path(const char *out, const char *model, const char *task)
{
    return tu_fmt("%s/details/%s/" LE_DATE "/details_%s_" LE_DATE ".jsonl",
                  out, model, task);
}

/* evtrack samples: a generative one, a loglikelihood one, and one with
 * "input", a metrics list and an "id" lighteval drops. */
static const char *const le_in[] = {
    "{\"task\": \"" LE_TASK "\", \"doc_id\": 7, \"filter\": \"none\", "
        "\"doc\": {\"question\": \"Q?\", \"answer\": 2}, \"target\": \"B\", "
        "\"arguments\": [\"Question: Q?\\nAnswer:\", {\"until\": "
        "[\"\\n\"]}], \"resps\": [[\"B\"]], \"filtered_resps\": [\"B\"], "
        "\"metrics\": {\"acc\": 1.0, \"em\": 1}, \"doc_hash\": \"h\", "
        "\"step\": 3}",
    "{\"task\": \"" LE_TASK "\", \"doc_id\": 8, \"target\": [\"A\", 2], "
        "\"resps\": [[[-1.5, true]], [[-2.25, false]], [-0.5]], "
        "\"filtered_resps\": [[-1.5, true], [-2.25, false]], "
        "\"metrics\": {\"acc\": 0.0}}",
    "{\"task\": \"" LE_TASK "\", \"doc_id\": 9, \"target\": null, "
        "\"input\": \"in\", \"arguments\": [\"not used\"], "
        "\"metrics\": [\"acc\"], \"id\": \"dropped\", "
        "\"filtered_resps\": \"x\"}",
};
static const char le_out[] =
    "{\"doc\": {\"choices\": [\"B\"], \"gold_index\": [0], \"id\": \"7\", "
        "\"specific\": {\"question\": \"Q?\", \"answer\": 2}, "
        "\"task_name\": \"" LE_TASK "\"}, \"doc_hash\": \"h\", "
        "\"filter\": \"none\", \"metric\": {\"acc\": 1.0, \"em\": 1}, "
        "\"model_response\": {\"input\": \"Question: Q?\\nAnswer:\", "
        "\"text\": [\"B\"], \"text_post_processed\": [\"B\"], "
        "\"logprobs\": [], \"argmax_logits_eq_gold\": []}, \"step\": 3}\n"
    "{\"doc\": {\"choices\": [\"A\", \"2\"], \"gold_index\": [0, 1], "
        "\"id\": \"8\", \"task_name\": \"" LE_TASK "\"}, "
        "\"metric\": {\"acc\": 0.0}, \"model_response\": {\"text\": [], "
        "\"text_post_processed\": [], \"logprobs\": [-1.5, -2.25, -0.5], "
        "\"argmax_logits_eq_gold\": [true, false]}}\n"
    "{\"doc\": {\"id\": \"9\", \"task_name\": \"" LE_TASK "\"}, "
        "\"metrics\": [\"acc\"], \"model_response\": {\"input\": \"in\", "
        "\"text_post_processed\": [\"x\"]}}\n";

/* The exact lines and the exact path, with '|' and ':' in the task name
 * and the model name nested as org/model. */
static void test_lighteval_lines_and_path(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir, "\"layout\": \"lighteval\"");
    run_start(t, "org/model", LE_DATE_IN);
    for (size_t i = 0; i < sizeof le_in / sizeof le_in[0]; i++)
        sample(t, le_in[i]);
    close_ok(t);
    char *p = le_path(f->dir, "org/model", LE_TASK);
    char *got = tu_read_file(p, NULL);
    if (!got)
        fail_msg("missing file %s", p);
    assert_string_equal(got, le_out);
    free(got), free(p);
}

/* A sample that already carries lighteval's doc / metric /
 * model_response passes through unchanged; its other fields are extra
 * columns, sorted in. A lone "metric" keeps "doc" as it is and still
 * builds model_response from resps. */
static void test_lighteval_native(void **state)
{
    struct fx *f = *state;
    const char *doc = "{\"query\": \"2+2?\", \"choices\": [\"4\"], "
                      "\"gold_index\": 0, \"id\": \"0\", \"specific\": "
                      "null, \"task_name\": \"gsm8k|5\", "
                      "\"fewshot_samples\": []}";
    const char *resp = "{\"input\": \"2+2?\", \"input_tokens\": [1, 2], "
                       "\"text\": [\"4\"], \"output_tokens\": [[3]], "
                       "\"text_post_processed\": null, \"reasonings\": [], "
                       "\"logprobs\": [], \"argmax_logits_eq_gold\": [], "
                       "\"logits\": null, \"unconditioned_logprobs\": null, "
                       "\"truncated_tokens_count\": 0, "
                       "\"padded_tokens_count\": 0}";
    evt_tracker *t = open_jsonl(f->dir, "\"layout\": \"lighteval\"");
    run_start(t, "HuggingFaceTB/SmolLM2-135M", LE_DATE_IN);
    char *js = tu_fmt("{\"task\": \"gsm8k|5\", \"doc_id\": 0, \"filter\": "
                      "\"none\", \"metric\": {\"em\": 1.0}, \"doc\": %s, "
                      "\"model_response\": %s, \"target\": \"4\"}",
                      doc, resp);
    sample(t, js);
    free(js);
    sample(t, "{\"task\": \"gsm8k|5\", \"doc_id\": 1, \"doc\": {\"query\": "
              "\"q\"}, \"metric\": {\"em\": 0.0}, \"resps\": [[\"5\"]]}");
    close_ok(t);
    char *p = le_path(f->dir, "HuggingFaceTB/SmolLM2-135M", "gsm8k|5");
    char *got = tu_read_file(p, NULL);
    if (!got)
        fail_msg("missing file %s", p);
    char *want = tu_fmt(
        "{\"doc\": %s, \"filter\": \"none\", \"metric\": {\"em\": 1.0}, "
        "\"model_response\": %s, \"target\": \"4\"}\n"
        "{\"doc\": {\"query\": \"q\"}, \"metric\": {\"em\": 0.0}, "
        "\"model_response\": {\"text\": [\"5\"], \"logprobs\": [], "
        "\"argmax_logits_eq_gold\": []}}\n",
        doc, resp);
    assert_string_equal(got, want);
    free(want), free(got), free(p);
}

/* Hostile task and model names stay inside the details folder; '|' and
 * ':' survive, everything else follows evt_safe_component. */
static void test_lighteval_hostile_names(void **state)
{
    struct fx *f = *state;
    static char long_name[1001];
    for (size_t i = 0; i < 1000; i++)
        long_name[i] = "ab|"[i % 3];
    const struct {
        const char *task;
        size_t len;
        const char *file;
    } c[] = {
        {"../x", 4, "_._x"},          {"a/b", 3, "a_b"},
        {"x\x01y", 3, "x_y"},         {"n\0ul", 4, "n_ul"},
        {"..", 2, "_."},              {"", 0, "_"},
        {"a|../b:c", 8, "a|_._b:c"},  {"|:", 2, "|:"},
        {"s|\\x/..\n", 8, "s|_x_.._"}, {long_name, 1000, NULL},
    };
    size_t n = sizeof c / sizeof c[0];
    evt_tracker *t = open_jsonl(f->dir, "\"layout\": \"lighteval\"");
    run_start(t, "/../org/../m", LE_DATE_IN);
    for (size_t i = 0; i < n; i++)
        task_sample(t, c[i].task, c[i].len, (int)i);
    close_ok(t);
    /* "/../org/../m": the empty part is skipped; org "..", model
     * "org/../m", each one safe component */
    char *dir = tu_fmt("%s/details/_./org_.._m/" LE_DATE, f->dir);
    char root[PATH_MAX];
    assert_non_null(realpath(dir, root));
    for (size_t i = 0; i < n; i++) {
        char *p = c[i].file ? tu_fmt("%s/details_%s_" LE_DATE ".jsonl", dir,
                                     c[i].file)
                            : tu_fmt("%s/details_%.200s_" LE_DATE ".jsonl",
                                     dir, long_name);
        assert_true(inside(root, p));
        char *text = tu_read_file(p, NULL);
        if (!text)
            fail_msg("missing file %s", p);
        assert_non_null(strstr(text, "\"task_name\": "));
        free(text), free(p);
    }
    size_t files = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; (de = readdir(d));)
        files += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    assert_int_equal(files, n);
    char *outside = tu_fmt("%s/x", f->dir);
    assert_false(exists(outside));
    free(outside), free(dir);
}

/* A torn last line is cut off in this layout too, with the warning. */
static void test_lighteval_torn_tail(void **state)
{
    struct fx *f = *state;
    char *dir = tu_fmt("%s/details/m/" LE_DATE, f->dir);
    char err[256];
    assert_int_equal(evt_mkdirs(dir, err, sizeof err), 0);
    char *p = le_path(f->dir, "m", "t|0");
    const char *whole = "{\"doc\": {\"id\": \"0\"}}\n";
    const char *torn = "{\"doc\": {\"id\": \"1\", \"ta";
    char *text = tu_fmt("%s%s", whole, torn);
    tu_write_file(p, text);
    log_start();
    evt_tracker *t = open_jsonl(f->dir, "\"layout\": \"lighteval\"");
    run_start(t, "m", LE_DATE_IN);
    sample(t, "{\"task\": \"t|0\", \"doc_id\": 2}");
    close_ok(t);
    char *got = tu_read_file(p, NULL);
    char *want = tu_fmt("%s{\"doc\": {\"id\": \"2\", \"task_name\": "
                        "\"t|0\"}}\n", whole);
    assert_string_equal(got, want);
    char *m = tu_fmt("%s: removed %zu bytes of a torn last line", p,
                     strlen(torn));
    assert_true(log_has(m));
    log_stop();
    free(m), free(want), free(got), free(text), free(p), free(dir);
}

/* drop_fields (top-level columns), max_field_bytes (nested strings),
 * "dir", and the run stamp when run_start has no date. */
static void test_lighteval_options(void **state)
{
    struct fx *f = *state;
    evt_tracker *t = open_jsonl(f->dir,
        "\"layout\": \"lighteval\", \"drop_fields\": [\"filter\", "
        "\"metric\"], \"max_field_bytes\": 4, \"dir\": \"flat\", "
        "\"fsync\": \"always\"");
    run_start(t, "org/m", DATE);
    sample(t, "{\"task\": \"c|0\", \"doc_id\": 0, \"filter\": \"none\", "
              "\"target\": \"abcdefg\", \"metrics\": {\"acc\": 1}, "
              "\"resps\": [[\"0123456\"]]}");
    close_ok(t);
    char *got = read_in(f->dir, "flat/details_c|0_" DATE ".jsonl");
    assert_string_equal(got,
        "{\"doc\": {\"choices\": [\"abcd...[truncated 3 bytes]\"], "
        "\"gold_index\": [0], \"id\": \"0\", \"task_name\": \"c|0\"}, "
        "\"model_response\": {\"text\": [\"0123...[truncated 3 bytes]\"], "
        "\"logprobs\": [], \"argmax_logits_eq_gold\": []}}\n");
    free(got);

    char *d2 = tu_fmt("%s/two", f->dir);
    assert_int_equal(mkdir(d2, 0755), 0);
    t = open_with_recorder(d2, "\"layout\": \"lighteval\"");
    run_start(t, "org/m", NULL);
    sample(t, "{\"task\": \"x\", \"doc_id\": 0}");
    close_ok(t);
    char *stamp = stamp_of(d2);
    char *p = tu_fmt("%s/details/org/m/%s/details_x_%s.jsonl", d2, stamp,
                     stamp);
    assert_true(exists(p));
    free(p), free(stamp), free(d2);
}

/* The sink exports exactly one symbol and describes itself. */
static void test_plugin_listing(void **state)
{
    (void)state;
    struct evt_plugin_info info[64];
    char err[256];
    int n = evt_list_plugins(NULL, info, 64, err, sizeof err);
    assert_true(n >= 1);
    size_t found = 0;
    for (size_t i = 0; i < (size_t)n && i < 64; i++)
        if (strcmp(info[i].name, "jsonl") == 0) {
            found++;
            assert_string_equal(info[i].version, "0.1.0");
            assert_string_equal(info[i].error, "");
        }
    assert_int_equal(found, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_real_lmms_lines),
        T(test_real_lmeval_lines),
        T(test_lmms_transformations),
        T(test_lmms_filter_key),
        T(test_opaque_values),
        T(test_lmeval_transformations),
        T(test_odd_values),
        T(test_malformed_sample_skipped),
        T(test_file_names),
        T(test_file_names_default_stamp),
        T(test_dir_option_and_empty_model),
        T(test_hostile_task_names),
        T(test_torn_tail_repair),
        T(test_append_to_whole_file),
        T(test_drop_fields_and_cap),
        T(test_secrets_scrubbed),
        T(test_bad_config),
        T(test_unwritable_dir_dead_letters),
        T(test_retry_does_not_duplicate),
        T(test_ten_thousand_samples),
        T(test_many_tasks_lru),
        T(test_lighteval_lines_and_path),
        T(test_lighteval_native),
        T(test_lighteval_hostile_names),
        T(test_lighteval_torn_tail),
        T(test_lighteval_options),
        T(test_plugin_listing),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
