/* test_local_json.c -- the sdk results aggregator (evtrack/sdk/results.h)
 * and the local-json sink.
 *
 *  - round trips of real results files: each file is turned into events
 *    (run_start, task_config, sample, result, run_end), logged through a
 *    tracker into local-json, and the written file is compared with the
 *    original, section by section;
 *  - atomic rewrites: children logging and flushing in a loop are killed
 *    with SIGKILL at random moments; every file left must parse and be a
 *    complete version;
 *  - NaN policies, redaction, file names, two runs in one second, and the
 *    aggregator's own rules (groups, defaults, repeats, cJSON/make_table);
 *  - the lighteval layout: the three real lighteval files replayed (path,
 *    config_general, results, versions, config_tasks; the token hashes of
 *    the smoke run), xxh64 vectors, sample hashes, suite averages and
 *    "all", config_general defaults, hostile model names, NaN.
 *
 * The shared folder is $EVT_TEST_SOURCE_DIR/../shared (CI has it). */
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "json_msgpack.h"
#include "evtrack/evtrack.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/make_table.h"
#include "evtrack/sdk/results.h"
#include "results_events.h"

/* ---- helpers ---------------------------------------------------------- */

static int feed(struct evt_results *r, const char *json)
{
    struct mp m;
    char err[256];
    mp_parse(&m, json);
    int rc = evt_results_add(r, &m.view.root, err, sizeof err);
    mp_free(&m);
    return rc;
}

static char *render(const struct evt_results *r,
                    const struct evt_results_opts *o)
{
    struct evt_buf b;
    char err[256];
    evt_buf_init(&b);
    if (evt_results_render_json(r, o, &b, err, sizeof err) != 0)
        fail_msg("render: %s", err);
    return b.data;
}

/* The tracker with one local-json sink configured by cfg (a JSON object). */
static evt_tracker *open_sink(const char *dir, const char *cfg)
{
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t = NULL;
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"sinks\": [{\"plugin\": "
                        "\"local-json\", \"config\": %s}]}", dir, cfg);
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    free(json);
    return t;
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t count = 0, n = strlen(suffix);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t m = strlen(de->d_name);
        count += m >= n && strcmp(de->d_name + m - n, suffix) == 0 &&
                 !strstr(de->d_name, ".tmp.");
    }
    if (d)
        closedir(d);
    return count;
}

/* ---- sha256, redaction ------------------------------------------------- */

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    evt_results_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b9"
                             "34ca495991b7852b855");
    evt_results_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177"
                             "a9cb410ff61f20015ad");
    /* lmms-eval's constant doc_hash: sha256("null") (formats.md 2.5) */
    evt_results_sha256_hex("null", 4, hex);
    assert_string_equal(hex, "74234e98afe7498fb5daf1f36ac2d78acc339464f9507"
                             "03b8c019892f982b90b");
    char big[1000];
    memset(big, 'a', sizeof big); /* several blocks, odd tail */
    evt_results_sha256_hex(big, sizeof big, hex);
    assert_string_equal(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d13"
                             "4645adb5db1b9737ea3");
}

static void check_redact(const char *in, const char *want)
{
    char *got = evt_results_redact_text(in, strlen(in));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_redact_text(void **state)
{
    (void)state;
    check_redact("pretrained=x,hf_token=hf_abcdefghijklmnopqrstuvwxyz",
                 "pretrained=x,hf_token=[REDACTED]");
    check_redact("pretrained=m,token=hf_abcdef123",
                 "pretrained=m,token=[REDACTED]");
    check_redact("API_KEY=sk-1 MY_Password=p,q", "API_KEY=[REDACTED] "
                                                 "MY_Password=[REDACTED],q");
    check_redact("max_new_tokens=5,tokens=3", "max_new_tokens=5,tokens=3");
    check_redact("x=1,token=", "x=1,token=");       /* no value */
    check_redact("a-token=v", "a-token=v");         /* '-' is no separator */
    check_redact("use hf_ABCDEFGHIJKLMNOPQRST12 now",
                 "use [REDACTED] now");
    check_redact("hf_ABCDEFGHIJKLMNOPQRS", "hf_ABCDEFGHIJKLMNOPQRS"); /* 19 */
    check_redact("hf_ABCDEFGHIJKLMNOPQRST_x", "hf_ABCDEFGHIJKLMNOPQRST_x");
    check_redact("xhf_ABCDEFGHIJKLMNOPQRST", "xhf_ABCDEFGHIJKLMNOPQRST");
    check_redact("", "");
}

/* ---- round trips of real results files ---------------------------------- */

/* Log the whole results file rel through a local-json sink (cfg) in dir;
 * samples_rel (may be NULL) are the samples of task samples_task. */
static void replay(const char *dir, const char *cfg, const char *rel,
                   const char *samples_task, const char *samples_rel)
{
    char *text = tu_read_shared(rel);
    struct mp m;
    mp_parse(&m, text);
    const msgpack_object *root = &m.view.root;
    const msgpack_object *results = evt_mp_get(root, "results");
    evt_tracker *t = open_sink(dir, cfg);
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
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    mp_free(&m);
    free(text);
}

/* The text of top-level member key in an indent=2 dump, without the ','
 * that separates it from the next one; NULL when absent. */
static char *section(const char *text, const char *key)
{
    char *pat = tu_fmt("\n  \"%s\": ", key);
    const char *s = strstr(text, pat);
    free(pat);
    if (!s)
        return NULL;
    s += 3; /* "\n  " */
    const char *e = strstr(s, "\n  \"");
    if (!e)
        e = strstr(s, "\n}");
    size_t n = (size_t)(e - s);
    if (n && s[n - 1] == ',')
        n--;
    char *out = malloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* "results" of both: same tasks and keys in the same order, equal values. */
static void same_results(const cJSON *want, const cJSON *got)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(want, "results");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(got, "results");
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    for (a = a->child, b = b->child; a; a = a->next, b = b->next) {
        assert_string_equal(a->string, b->string);
        assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
        for (const cJSON *x = a->child, *y = b->child; x;
             x = x->next, y = y->next) {
            assert_string_equal(x->string, y->string);
            if (!cJSON_Compare(x, y, 1))
                fail_msg("results.%s['%s'] differs", a->string, x->string);
        }
    }
}

/* Compare the written file with the original: the same top-level keys in
 * the same order, "results" by value, and every section byte for byte
 * except those named in differ (NULL-terminated), which must differ. */
static void compare_files(const char *want, const char *got,
                          const char *const *differ)
{
    cJSON *a = cJSON_Parse(want), *b = cJSON_Parse(got);
    assert_non_null(a);
    if (!b)
        fail_msg("the written file is not valid JSON:\n%s", got);
    same_results(a, b);
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next) {
        assert_string_equal(x->string, y->string);
        char *sa = section(want, x->string), *sb = section(got, y->string);
        int expect_diff = 0;
        for (int i = 0; differ[i]; i++)
            expect_diff |= strcmp(differ[i], x->string) == 0;
        if (expect_diff && strcmp(sa, sb) == 0)
            fail_msg("section %s was expected to differ", x->string);
        if (!expect_diff && strcmp(sa, sb) != 0)
            fail_msg("section %s differs:\n--- want\n%s\n--- got\n%s",
                     x->string, sa, sb);
        free(sa);
        free(sb);
    }
    assert_null(x);
    assert_null(y);
    if (!differ[0] && strcmp(want, got) != 0)
        fail_msg("the files differ outside the sections");
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* lmms-eval v0.6 MME (limit 8) with its 8 samples: every section is
 * rebuilt byte for byte, task_hashes included (computed from the samples'
 * doc_hash), so the whole file is byte-equal to the original. Values that
 * evtrack cannot know (start_time/end_time perf_counter floats, throughput,
 * efficiency, the lmms_eval_version) come with run_start / run_end as a
 * harness would send them. */
static void test_roundtrip_lmms_mme(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    replay(dir, "{}", "fixtures/real/lmmseval_v0.6_mme_limit8_results.json",
           "mme", "fixtures/real/lmmseval_v0.6_mme_limit8_samples_mme.jsonl");
    char *want = tu_read_shared("fixtures/real/lmmseval_v0.6_mme_limit8_results.json");
    char *path = tu_fmt("%s/snapshots__66285546d2b821cf421d4f5eb2576359d3770"
                        "cd3/20260923_172512_results.json", dir);
    char *got = tu_read_file(path, NULL);
    if (!got)
        fail_msg("%s was not written", path);
    static const char *const differ[] = {NULL};
    compare_files(want, got, differ);
    assert_string_equal(want, got);
    /* make_table renders the same table from both */
    cJSON *a = cJSON_Parse(want), *b = cJSON_Parse(got);
    char *ta = evt_make_table(a, EVT_TABLE_LMMS_EVAL, "results", NULL, 0);
    char *tb = evt_make_table(b, EVT_TABLE_LMMS_EVAL, "results", NULL, 0);
    assert_non_null(ta);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(got);
    free(path);
    free(want);
    tu_rmtree(dir);
}

/* lm-eval 0.4.9.2 (two tasks). Every section is byte-equal except
 * task_hashes: the fixture's hashes cover 5000 samples per task, of which
 * only 10 are public, so none are logged and task_hashes is {}. */
static void test_roundtrip_lmeval_math(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    const char *rel = "fixtures/real/lmeval_0.4.9.2_math_perturbed_results.json";
    replay(dir, "{\"layout\": \"lm-eval\"}", rel, NULL, NULL);
    char *want = tu_read_shared(rel);
    char *sub = tu_fmt("%s/RylanSchaeffer__mem_Qwen3-93M_minerva_math_rep_0_"
                       "sbst_1.0000_epch_1_ot_1", dir);
    char *path = tu_find_one(sub, ".json");
    assert_non_null(strstr(path, "/results_"));
    char *got = tu_read_file(path, NULL);
    static const char *const differ[] = {"task_hashes", NULL};
    compare_files(want, got, differ);
    char *th = section(got, "task_hashes");
    assert_string_equal(th, "\"task_hashes\": {}");
    free(th);
    free(got);
    free(path);
    free(sub);
    free(want);
    tu_rmtree(dir);
}

/* lm-eval's task hash rule, checked against the 20 logged samples of two
 * negotiationtom tasks (0.4.13.dev0): once with the samples' doc_hash, once
 * with doc_hash removed so that evtrack hashes the doc itself. */
static void send_nego_samples(evt_tracker *t, const char *task,
                              const char *rel, int drop_doc_hash)
{
    char *text = tu_read_shared(rel);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *dh = drop_doc_hash ? strstr(line, "\"doc_hash\": ") : NULL;
        if (dh)
            memcpy(dh + 1, "x", 1); /* "doc_hash" -> "xoc_hash" */
        if (*line == '{') {
            char *ev = tu_fmt("{\"task\": \"%s\", %s", task, line + 1);
            log_json(t, EVT_EV_SAMPLE, ev);
            free(ev);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

static void test_task_hashes_lmeval(void **state)
{
    (void)state;
    for (int drop = 0; drop < 2; drop++) {
        char *dir = tu_tmpdir();
        evt_tracker *t = open_sink(dir, "{\"layout\": \"lm-eval\"}");
        log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"Qwen/Qwen3-8B\"}");
        send_nego_samples(t, "negotiationtom_belief",
                          "fixtures/real/lmeval_0.4.13dev_samples_"
                          "negotiationtom_belief_loglik.jsonl", drop);
        send_nego_samples(t, "negotiationtom_intention",
                          "fixtures/real/lmeval_0.4.13dev_samples_"
                          "negotiationtom_intention.jsonl", drop);
        assert_int_equal(evt_close(t, 10000), EVT_OK);
        char *sub = tu_fmt("%s/Qwen__Qwen3-8B", dir);
        char *path = tu_find_one(sub, ".json");
        char *got = tu_read_file(path, NULL);
        char *th = section(got, "task_hashes");
        assert_string_equal(
            th, "\"task_hashes\": {\n"
                "    \"negotiationtom_belief\": \"c39025f3a090ab57d9914278941c5"
                "4ab264f588f4047b4dbdf089b26f2b6dbd5\",\n"
                "    \"negotiationtom_intention\": \"52cfbd295b9d569ee4e910967c"
                "ff043a7bd4e7c7d81dd507408996aeabfce0c9\"\n  }");
        char *ns = section(got, "n-samples"); /* counted: no task_config */
        assert_non_null(strstr(ns, "\"original\": 20,\n      \"effective\": 20"));
        free(ns);
        free(th);
        free(got);
        free(path);
        free(sub);
        tu_rmtree(dir);
    }
}

/* ---- atomic rewrites under SIGKILL ------------------------------------- */

#define KILL_ROUNDS 20

/* The child: log one task and its result, flush, tell the parent; again,
 * until killed. Never returns; no cmocka calls (this is a fork). */
static void kill_child(const char *dir, int fd)
{
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t = NULL;
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"sinks\": [{\"plugin\": "
                        "\"local-json\"}]}", dir);
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK)
        _exit(2);
    if (evt_log_json(t, EVT_EV_RUN_START,
                     "{\"model_name\": \"org/kill-model\"}") != EVT_OK)
        _exit(3);
    for (int i = 0; i < 100000; i++) {
        char ev[256];
        snprintf(ev, sizeof ev, "{\"task\": \"t%04d\", \"version\": %d, "
                 "\"n-shot\": 0, \"n-samples\": {\"original\": %d, "
                 "\"effective\": %d}}", i, i, i + 1, i + 1);
        char task[16];
        snprintf(task, sizeof task, "t%04d", i);
        if (evt_log_json(t, EVT_EV_TASK_CONFIG, ev) != EVT_OK ||
            evt_log_result(t, task, "acc", NULL, i * 0.5, 0.25, -1) != EVT_OK ||
            evt_flush(t, -1) != EVT_OK || write(fd, "x", 1) != 1)
            _exit(4);
    }
    _exit(0);
}

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* One complete version: k tasks t0000..t(k-1), each in results, versions
 * and n-samples with matching values, in the lmms-eval layout. */
static int check_complete(const char *path)
{
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    assert_true(len > 2 && text[0] == '{' && text[len - 1] == '}');
    cJSON *root = cJSON_Parse(text);
    if (!root)
        fail_msg("%s does not parse:\n%s", path, text);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "versions");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(root, "n-samples");
    int k = cJSON_GetArraySize(res);
    assert_true(k >= 1);
    assert_int_equal(cJSON_GetArraySize(ver), k);
    assert_int_equal(cJSON_GetArraySize(ns), k);
    const cJSON *e = res->child;
    for (int i = 0; i < k; i++, e = e->next) {
        char name[16];
        snprintf(name, sizeof name, "t%04d", i);
        assert_string_equal(e->string, name);
        assert_true(cJSON_GetObjectItemCaseSensitive(e, "acc,none")->valuedouble
                    == i * 0.5);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(ver, name)->valueint, i);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(ns, name);
        assert_int_equal(
            cJSON_GetObjectItemCaseSensitive(n, "original")->valueint, i + 1);
    }
    assert_non_null(cJSON_GetObjectItemCaseSensitive(
        root, "total_evaluation_time_seconds"));
    cJSON_Delete(root);
    free(text);
    return k;
}

static void test_atomic_kill(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    unsigned seed = 20240917u;
    for (int round = 0; round < KILL_ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            kill_child(dir, p[1]);
        }
        close(p[1]);
        char c;
        assert_int_equal(read(p[0], &c, 1), 1); /* one version is on disk */
        long us = (long)(lcg(&seed) % 20000);
        struct timespec ts = {0, us * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        close(p[0]);
    }
    char *sub = tu_fmt("%s/org__kill-model", dir);
    assert_int_equal(count_files(sub, "_results.json"), KILL_ROUNDS);
    DIR *d = opendir(sub);
    struct dirent *de;
    int kmin = 1 << 30, kmax = 0, temps = 0;
    while ((de = readdir(d))) {
        size_t m = strlen(de->d_name);
        temps += strstr(de->d_name, ".tmp.") != NULL;
        if (m < 13 || strcmp(de->d_name + m - 13, "_results.json") != 0)
            continue; /* ".", "..", temp files of killed writers */
        char *path = tu_fmt("%s/%s", sub, de->d_name);
        int k = check_complete(path);
        kmin = k < kmin ? k : kmin;
        kmax = k > kmax ? k : kmax;
        free(path);
    }
    closedir(d);
    print_message("kill -9 x%d: every file complete, %d to %d versions "
                  "written; %d writes cut short (temp files left)\n",
                  KILL_ROUNDS, kmin, kmax, temps);
    free(sub);
    tu_rmtree(dir);
}

/* ---- NaN, redaction, names ------------------------------------------------ */

static char *run_nan(const char *dir, const char *cfg)
{
    evt_tracker *t = open_sink(dir, cfg);
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"m\", \"date\": "
                                  "\"20250101_120000\", \"config\": "
                                  "{\"temperature\": -Infinity}}");
    log_json(t, EVT_EV_TASK_CONFIG, "{\"task\": \"t\", \"version\": 1}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, NAN, INFINITY, -1),
                     EVT_OK);
    log_json(t, EVT_EV_RESULT, "{\"task\": \"t\", \"metric\": \"f1\", "
                               "\"value\": 0.5, \"stderr\": NaN}");
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *path = tu_fmt("%s/m/20250101_120000_results.json", dir);
    char *text = tu_read_file(path, NULL);
    if (!text)
        fail_msg("%s was not written", path);
    free(path);
    return text;
}

static void test_nan_strict_and_bare(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *strict = run_nan(dir, "{}");
    cJSON *root = cJSON_Parse(strict); /* strict JSON parses */
    if (!root)
        fail_msg("strict output is not JSON:\n%s", strict);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "results"), "t");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "acc,none")));
    assert_true(cJSON_IsNull(
        cJSON_GetObjectItemCaseSensitive(t, "acc_stderr,none")));
    assert_non_null(strstr(
        strict, "  \"nonfinite_values\": {\n"
                "    \"$.results.t['acc,none']\": \"NaN\",\n"
                "    \"$.results.t['acc_stderr,none']\": \"Infinity\",\n"
                "    \"$.results.t['f1_stderr,none']\": \"NaN\",\n"
                "    \"$.config.temperature\": \"-Infinity\"\n  }\n}"));
    cJSON_Delete(root);
    tu_rmtree(dir);
    dir = tu_tmpdir();
    char *bare = run_nan(dir, "{\"nan\": \"bare\"}");
    assert_non_null(strstr(bare, "\"acc,none\": NaN,\n"));
    assert_non_null(strstr(bare, "\"acc_stderr,none\": Infinity,\n"));
    assert_non_null(strstr(bare, "\"f1_stderr,none\": NaN,\n"));
    assert_non_null(strstr(bare, "\"temperature\": -Infinity\n"));
    assert_null(strstr(bare, "nonfinite_values"));
    assert_null(cJSON_Parse(bare)); /* as upstream: not JSON */
    free(strict);
    free(bare);
    tu_rmtree(dir);
}

#define MARKER "evtMARKERsecretvalue42"

static void test_redaction(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    assert_int_equal(setenv("HF_TOKEN", MARKER, 1), 0);
    evt_tracker *t = open_sink(dir, "{}");
    log_json(t, EVT_EV_RUN_START,
             "{\"model_source\": \"hf\", \"model_args\": \"pretrained=org/m,"
             "token=hf_abcdef123,auth=" MARKER "\", \"config\": {\"device\": "
             "\"cuda\", \"api_key\": \"sk-plain\", \"hub\": {\"hf_token\": "
             "null, \"note\": \"x " MARKER " y\"}}, \"date\": \"20250101_1\"}");
    log_json(t, EVT_EV_TASK_CONFIG, "{\"task\": \"t\", \"config\": {\"token\": "
                                    "true, \"key\": \"" MARKER "\"}}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, 0.5, NAN, -1), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    assert_int_equal(unsetenv("HF_TOKEN"), 0);
    char *path = tu_fmt("%s/org__m/20250101_1_results.json", dir);
    char *text = tu_read_file(path, NULL);
    if (!text)
        fail_msg("%s was not written", path);
    assert_null(strstr(text, MARKER));
    assert_null(strstr(text, "hf_abcdef123"));
    assert_null(strstr(text, "sk-plain"));
    assert_non_null(strstr(text, "\"model_args\": \"pretrained=org/m,"
                                 "token=[REDACTED],auth=[REDACTED]\""));
    assert_non_null(strstr(text, "\"api_key\": \"[REDACTED]\""));
    assert_non_null(strstr(text, "\"hf_token\": \"[REDACTED]\""));
    assert_non_null(strstr(text, "\"note\": \"x [REDACTED] y\""));
    /* task configs are not redacted (as upstream), secrets still are */
    assert_non_null(strstr(text, "\"token\": true"));
    assert_non_null(strstr(text, "\"key\": \"[REDACTED]\""));
    assert_non_null(strstr(text, "\"acc_stderr,none\": \"N/A\""));
    free(text);
    free(path);
    tu_rmtree(dir);
}

static void test_redaction_off_keeps_tokens(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    evt_tracker *t = open_sink(dir, "{\"redact\": false}");
    log_json(t, EVT_EV_RUN_START, "{\"model_args\": \"pretrained=m,"
                                  "token=hf_abcdef123\", \"date\": \"d1\"}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, 1.0, 0.0, -1), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *path = tu_fmt("%s/m/d1_results.json", dir);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "token=hf_abcdef123"));
    free(text);
    free(path);
    tu_rmtree(dir);
}

static void run_two(const char *dir, const char *run_start)
{
    evt_tracker *a = open_sink(dir, "{}");
    evt_tracker *b = open_sink(dir, "{}");
    log_json(a, EVT_EV_RUN_START, run_start);
    log_json(b, EVT_EV_RUN_START, run_start);
    assert_int_equal(evt_log_result(a, "t", "acc", NULL, 0.25, NAN, -1), EVT_OK);
    assert_int_equal(evt_log_result(b, "t", "acc", NULL, 0.75, NAN, -1), EVT_OK);
    assert_int_equal(evt_close(a, 10000), EVT_OK);
    assert_int_equal(evt_close(b, 10000), EVT_OK);
}

/* Two trackers opened in the same second in one output_dir: two files,
 * whether the date comes from the run stamp or from run_start. */
static void test_two_runs_same_second(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    run_two(dir, "{\"model_name\": \"org/two\"}");
    char *sub = tu_fmt("%s/org__two", dir);
    assert_int_equal(count_files(sub, "_results.json"), 2);
    free(sub);
    run_two(dir, "{\"model_name\": \"org/same\", \"date\": \"20250101_120000\"}");
    sub = tu_fmt("%s/org__same", dir);
    assert_int_equal(count_files(sub, "_results.json"), 2);
    char *p1 = tu_fmt("%s/20250101_120000_results.json", sub);
    char *p2 = tu_fmt("%s/20250101_120000_2_results.json", sub);
    char *t1 = tu_read_file(p1, NULL), *t2 = tu_read_file(p2, NULL);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_true(strstr(t1, "0.25") || strstr(t1, "0.75"));
    assert_true(strcmp(t1, t2) != 0);
    free(t1);
    free(t2);
    free(p1);
    free(p2);
    free(sub);
    tu_rmtree(dir);
}

/* Each flush rewrites the same file with everything so far; "dir" is
 * taken inside output_dir. */
static void test_flush_rewrites(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    evt_tracker *t = open_sink(dir, "{\"dir\": \"sub/x\"}");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"m\", \"date\": \"D\"}");
    assert_int_equal(evt_log_result(t, "a", "acc", NULL, 0.5, 0.1, -1), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    char *path = tu_fmt("%s/sub/x/m/D_results.json", dir);
    char *v1 = tu_read_file(path, NULL);
    assert_non_null(v1);
    assert_null(strstr(v1, "\"b\""));
    assert_int_equal(evt_log_result(t, "b", "acc", NULL, 0.5, 0.1, -1), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    char *v2 = tu_read_file(path, NULL);
    assert_non_null(strstr(v2, "\"b\": {"));
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *sub = tu_fmt("%s/sub/x/m", dir);
    assert_int_equal(count_files(sub, ".json"), 1);
    free(sub);
    free(v1);
    free(v2);
    free(path);
    tu_rmtree(dir);
}

static void test_bad_config_disables(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    evt_tracker *t = open_sink(dir, "{\"layout\": \"lighteval-0.4\"}");
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    assert_int_equal(st.enabled, 0);
    assert_int_equal(evt_close(t, 1000), EVT_OK);
    tu_rmtree(dir);
}

/* ---- the aggregator itself ---------------------------------------------- */

static const char *const lmms_keys[] = {
    "results", "group_subtasks", "configs", "versions", "n-shot",
    "higher_is_better", "n-samples", "config", "git_hash", "git_branch",
    "lmms_eval_version", "date", "usage", "task_hashes", "model_source",
    "model_name", "model_name_sanitized", "system_instruction",
    "system_instruction_sha", "fewshot_as_multiturn", "chat_template",
    "chat_template_sha", "start_time", "end_time",
    "total_evaluation_time_seconds", NULL};

/* With no run fields: every member has its default, in order. */
static void test_defaults(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    assert_int_equal(feed(r, "{\"kind\": \"run_start\", \"run_id\": \"r\", "
                             "\"seq\": 1, \"time_ns\": 1735732800000000000, "
                             "\"model_args\": \"pretrained=a/b/c,x=1\"}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"run_id\": \"r\", "
                             "\"seq\": 2, \"time_ns\": 1735732801000000000, "
                             "\"task\": \"t\", \"metric\": \"acc\", "
                             "\"value\": 1}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"run_end\", \"run_id\": \"r\", "
                             "\"seq\": 3, \"time_ns\": 1735732802500000000}"),
                     1);
    struct evt_results_opts o = {0};
    char *text = render(r, &o);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *c = root->child;
    for (int i = 0; lmms_keys[i]; i++, c = c->next) {
        assert_non_null(c);
        assert_string_equal(c->string, lmms_keys[i]);
    }
    assert_null(c);
    assert_non_null(strstr(text, "\"acc,none\": 1,\n")); /* int stays int */
    assert_non_null(strstr(text, "\"acc_stderr_clt,none\": \"N/A\""));
    assert_non_null(strstr(text, "\"config\": {\n    \"model\": null,\n"
                                 "    \"model_args\": \"pretrained=a/b/c,x=1\"\n"
                                 "  },"));
    assert_non_null(strstr(text, "\"date\": \"20250101_120000\""));
    assert_non_null(strstr(text, "\"model_name\": \"a/b/c\""));
    assert_non_null(strstr(text, "\"model_name_sanitized\": \"b__c\""));
    assert_non_null(strstr(text, "\"start_time\": 1735732800.0,"));
    assert_non_null(strstr(text, "\"end_time\": 1735732802.5,"));
    assert_non_null(strstr(text, "\"total_evaluation_time_seconds\": \"2.5\"\n}"));
    assert_non_null(strstr(text, "\"usage\": {},"));
    assert_non_null(strstr(text, "\"task_hashes\": {},"));
    assert_non_null(strstr(text, "\"fewshot_as_multiturn\": false,"));
    char *sub, *name;
    o.run_stamp = "20990101_000000_2";
    assert_int_equal(evt_results_file_path(r, &o, &sub, &name), 0);
    assert_string_equal(sub, "b__c");
    assert_string_equal(name, "20990101_000000_2_results.json");
    free(sub);
    free(name);
    o.layout = EVT_RESULTS_LM_EVAL;
    assert_int_equal(evt_results_file_path(r, &o, &sub, &name), 0);
    assert_string_equal(sub, "a__b__c");
    assert_string_equal(name, "results_20990101_000000_2.json");
    free(sub);
    free(name);
    assert_int_equal(feed(r, "{\"kind\": \"run_start\", \"run_id\": \"r\", "
                             "\"seq\": 4, \"date\": \"2026-07-08T16:04:34.2\", "
                             "\"model_name\": \"../x\"}"), 1);
    assert_int_equal(evt_results_file_path(r, &o, &sub, &name), 0);
    assert_string_equal(sub, "_.__x"); /* never a "." or ".." folder */
    assert_string_equal(name, "results_2026-07-08T16-04-34.2.json");
    free(sub);
    free(name);
    o.layout = EVT_RESULTS_LMMS_EVAL;
    assert_int_equal(evt_results_file_path(r, &o, &sub, &name), 0);
    assert_string_equal(sub, "_.__x");
    assert_string_equal(name, "2026-07-08T16-04-34.2_results.json");
    free(sub);
    free(name);
    cJSON_Delete(root);
    free(text);
    evt_results_free(r);
}

/* Repeats (same run id, seq not above the last) are ignored; a later
 * result for the same (task, metric, filter) replaces the value in place. */
static void test_repeats_and_replacement(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    const char *a = "{\"kind\": \"result\", \"run_id\": \"r\", \"seq\": 5, "
                    "\"task\": \"t\", \"metric\": \"acc\", \"value\": 0.5}";
    assert_int_equal(feed(r, a), 1);
    assert_int_equal(feed(r, a), 0);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"run_id\": \"r\", "
                             "\"seq\": 6, \"task\": \"t\", \"metric\": \"f1\", "
                             "\"value\": 0.1}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"run_id\": \"r\", "
                             "\"seq\": 7, \"task\": \"t\", \"metric\": \"acc\", "
                             "\"value\": 0.75, \"stderr\": 0.01}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"run_id\": \"other\", "
                             "\"seq\": 1, \"task\": \"u\", \"metric\": \"acc\", "
                             "\"value\": 1.0}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"scalar\", \"tag\": \"x\", "
                             "\"value\": 1.0}"), 0);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"task\": \"t\", "
                             "\"value\": 1.0}"), -1);
    assert_int_equal(feed(r, "{\"kind\": \"sample\", \"doc_id\": 1}"), -1);
    assert_int_equal(feed(r, "{\"task\": \"t\"}"), -1);
    assert_int_equal(evt_results_count(r), 4);
    struct evt_results_opts o = {.layout = EVT_RESULTS_LM_EVAL};
    char *text = render(r, &o);
    assert_non_null(strstr(text, "  \"results\": {\n    \"t\": {\n"
                                 "      \"alias\": \"t\",\n"
                                 "      \"acc,none\": 0.75,\n"
                                 "      \"acc_stderr,none\": 0.01,\n"
                                 "      \"f1,none\": 0.1,\n"
                                 "      \"f1_stderr,none\": \"N/A\"\n    },\n"));
    free(text);
    evt_results_free(r);
}

/* Groups: "groups", group_subtasks (groups and free tasks, newest first),
 * a group's higher_is_better merged from its subtasks (null on conflict),
 * sorted configs/versions, aliases from results. */
static void test_groups(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    const char *ev[] = {
        "{\"kind\": \"task_config\", \"task\": \"g\", \"version\": \"0\", "
        "\"subtasks\": [\"g_b\", \"g_a\"]}",
        "{\"kind\": \"task_config\", \"task\": \"g_b\", \"version\": 1.0, "
        "\"n-shot\": 5, \"higher_is_better\": {\"acc\": true, \"f1\": true}, "
        "\"groups\": [\"g\"], \"config\": {\"task\": \"g_b\"}}",
        "{\"kind\": \"task_config\", \"task\": \"g_a\", \"version\": 2, "
        "\"n-shot\": 5, \"higher_is_better\": {\"acc\": true, \"f1\": false}, "
        "\"config\": {\"task\": \"g_a\"}}",
        "{\"kind\": \"task_config\", \"task\": \"solo\", \"version\": 1}",
        "{\"kind\": \"result\", \"task\": \"g\", \"metric\": \"acc\", "
        "\"value\": 0.5, \"stderr\": 0.1}",
        "{\"kind\": \"result\", \"task\": \"g_b\", \"metric\": \"acc\", "
        "\"value\": 0.4, \"alias\": \" - g_b\"}",
        "{\"kind\": \"result\", \"task\": \"g_a\", \"metric\": \"acc\", "
        "\"value\": 0.6}",
        "{\"kind\": \"result\", \"task\": \"solo\", \"metric\": \"em\", "
        "\"filter\": \"strict\", \"value\": 0.6, \"stderr_clt\": 0.5, "
        "\"expected_accuracy\": 0.25}",
        NULL};
    for (int i = 0; ev[i]; i++)
        assert_int_equal(feed(r, ev[i]), 1);
    char *text = render(r, NULL);
    char *g = section(text, "groups");
    assert_string_equal(g, "\"groups\": {\n    \"g\": {\n      \"alias\": \"g\",\n"
                           "      \"acc,none\": 0.5,\n"
                           "      \"acc_stderr,none\": 0.1,\n"
                           "      \"acc_stderr_clt,none\": \"N/A\",\n"
                           "      \"acc_stderr_clustered,none\": \"N/A\"\n    }\n  }");
    char *gs = section(text, "group_subtasks");
    assert_string_equal(gs, "\"group_subtasks\": {\n    \"solo\": [],\n"
                            "    \"g\": [\n      \"g_b\",\n      \"g_a\"\n    ]\n  }");
    char *hib = section(text, "higher_is_better");
    assert_string_equal(hib, "\"higher_is_better\": {\n"
                             "    \"g\": {\n      \"acc\": true,\n"
                             "      \"f1\": null\n    },\n"
                             "    \"g_a\": {\n      \"acc\": true,\n"
                             "      \"f1\": false\n    },\n"
                             "    \"g_b\": {\n      \"acc\": true,\n"
                             "      \"f1\": true\n    }\n  }");
    char *ver = section(text, "versions");
    assert_string_equal(ver, "\"versions\": {\n    \"g\": \"0\",\n"
                             "    \"g_a\": 2,\n    \"g_b\": 1.0,\n"
                             "    \"solo\": 1\n  }");
    assert_non_null(strstr(text, "\"alias\": \" - g_b\""));
    assert_non_null(strstr(text, "\"em,strict\": 0.6,\n"
                                 "      \"em_stderr,strict\": \"N/A\",\n"
                                 "      \"em_stderr_clt,strict\": 0.5,\n"
                                 "      \"em_stderr_clustered,strict\": \"N/A\",\n"
                                 "      \"em_expected_accuracy,strict\": 0.25\n"));
    assert_null(strstr(text, "\"n-samples\": {\n    \""));
    free(g);
    free(gs);
    free(hib);
    free(ver);
    free(text);
    evt_results_free(r);
}

/* The cJSON form, the msgpack form and the JSON text agree, and the cJSON
 * form renders through make_table like the parsed file. */
static void test_cjson_msgpack_forms(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    assert_int_equal(feed(r, "{\"kind\": \"task_config\", \"task\": \"mme\", "
                             "\"version\": \"Yaml\", \"n-shot\": 0, "
                             "\"higher_is_better\": {\"mme_cognition_score\": "
                             "true}}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"task\": \"mme\", "
                             "\"metric\": \"mme_cognition_score\", "
                             "\"value\": 162.5, \"stderr_clt\": 0.125}"), 1);
    struct evt_results_opts o = {0};
    char *text = render(r, &o);
    cJSON *parsed = cJSON_Parse(text);
    char err[256];
    cJSON *direct = evt_results_to_cjson(r, &o, err, sizeof err);
    assert_non_null(direct);
    assert_true(cJSON_Compare(parsed, direct, 1));
    char *ta = evt_make_table(parsed, EVT_TABLE_LMMS_EVAL, "results", NULL, 0);
    char *tb = evt_make_table(direct, EVT_TABLE_LMMS_EVAL, "results", NULL, 0);
    assert_non_null(ta);
    assert_string_equal(ta, tb);
    assert_non_null(strstr(ta, "162.5"));
    struct evt_buf mp;
    evt_buf_init(&mp);
    assert_int_equal(evt_results_render_msgpack(r, &o, &mp, err, sizeof err), 0);
    struct evt_view v;
    assert_int_equal(evt_view_open_bytes(&v, mp.data, mp.len), 0);
    struct evt_buf again;
    evt_buf_init(&again);
    struct evt_json_style st = {2, EVT_NAN_BARE, 0};
    assert_int_equal(evt_json_write(&again, &v.root, &st, err, sizeof err), 0);
    assert_string_equal(again.data, text);
    evt_view_close(&v);
    evt_buf_free(&again);
    evt_buf_free(&mp);
    free(ta);
    free(tb);
    cJSON_Delete(parsed);
    cJSON_Delete(direct);
    free(text);
    evt_results_free(r);
}

/* n-samples counts docs: one sample event arrives per (doc, filter), and
 * only those of the first filter seen are counted. Every sample is
 * hashed: lmms-eval hashes "sample_<i>" + doc_hash over all of them. */
static void test_sample_counting(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    for (int i = 0; i < 6; i++) {
        char *ev = tu_fmt("{\"kind\": \"sample\", \"task\": \"s\", "
                          "\"doc_id\": %d, \"filter\": \"%s\", "
                          "\"doc_hash\": \"74234e98afe7498fb5daf1f36ac2d78acc3"
                          "39464f950703b8c019892f982b90b\"}", i / 2,
                          i % 2 ? "flexible" : "strict");
        assert_int_equal(feed(r, ev), 1);
        free(ev);
        if (i == 1) { /* two samples with lmms-eval's constant doc_hash */
            char *text = render(r, NULL);
            assert_non_null(strstr(text, "\"s\": \"1ca323938aa3bf0b41a62b0d9"
                                         "29e38e3bb551f577a56e99a13955f393c0af0d5"
                                         "\""));
            free(text);
        }
    }
    char *text = render(r, NULL);
    char *ns = section(text, "n-samples");
    assert_string_equal(ns, "\"n-samples\": {\n    \"s\": {\n"
                            "      \"original\": 3,\n"
                            "      \"effective\": 3\n    }\n  }");
    free(ns);
    free(text);
    evt_results_free(r);
}

/* A msgpack bin (possible through evt_msgpack) does not stop the file: it
 * is written as a descriptive string. */
static void test_bin_value(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "kind", 4);
    msgpack_pack_str_with_body(&pk, "task_config", 11);
    msgpack_pack_str_with_body(&pk, "task", 4);
    msgpack_pack_str_with_body(&pk, "t", 1);
    msgpack_pack_str_with_body(&pk, "config", 6);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "blob", 4);
    msgpack_pack_bin_with_body(&pk, "\x01\x02\x03", 3);
    struct evt_results *r = evt_results_new();
    char err[128];
    assert_int_equal(evt_results_add_bytes(r, sb.data, sb.size, err,
                                           sizeof err), 1);
    char *text = render(r, NULL);
    assert_non_null(strstr(text, "\"blob\": \"<msgpack bin, 3 bytes>\""));
    free(text);
    evt_results_free(r);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- the lighteval layout ------------------------------------------------ */

/* Files of fixtures/real/ (MANIFEST.md E) with the date of their original
 * name, as lighteval's isoformat() gives it (':' still in). */
#define LIGHT_SMOKE "fixtures/real/lighteval_0.13.0_dummy_smoke_results.json"
#define LIGHT_QWEN "fixtures/real/lighteval_vllm_qwen2.5-1.5b_math500_results.json"
#define LIGHT_R1 "fixtures/real/lighteval_vllm_openr1grpo_math500_results.json"

static void send_light_run_start(evt_tracker *t, const msgpack_object *root,
                                 const char *date)
{
    const msgpack_object *cg = evt_mp_get(root, "config_general");
    evt_ev *e = evt_begin(t, EVT_EV_RUN_START);
    ev_put(e, "model_name", evt_mp_get(cg, "model_name"));
    ev_put(e, "config", cg);
    evt_str(e, "date", date);
    commit(e);
}

/* "<m>" and its "<m>_stderr" of one results entry as result events. */
static void send_light_results(evt_tracker *t, const char *task,
                               const msgpack_object *entry)
{
    for (uint32_t i = 0; i < entry->via.map.size; i++) {
        char *m = evt_mp_strdup(&entry->via.map.ptr[i].key);
        size_t n = strlen(m);
        char *base = tu_fmt("%.*s", (int)(n > 7 ? n - 7 : 0), m);
        int is_se = n > 7 && strcmp(m + n - 7, "_stderr") == 0 &&
                    evt_mp_get(entry, base);
        if (!is_se) {
            char *se = tu_fmt("%s_stderr", m);
            evt_ev *e = evt_begin(t, EVT_EV_RESULT);
            evt_str(e, "task", task);
            evt_str(e, "metric", m);
            ev_put(e, "value", &entry->via.map.ptr[i].val);
            if (evt_mp_get(entry, se))
                ev_put(e, "stderr", evt_mp_get(entry, se));
            commit(e);
            free(se);
        }
        free(base);
        free(m);
    }
}

/* nsamples samples of task, each with the empty token lists that
 * lighteval's DummyModel returns (and no query). */
static void send_token_samples(evt_tracker *t, const char *task, int n)
{
    for (int i = 0; i < n; i++) {
        evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
        evt_str(e, "task", task);
        evt_int(e, "doc_id", i);
        evt_array_begin(e, "input_tokens");
        evt_array_end(e);
        evt_array_begin(e, "output_tokens");
        evt_array_end(e);
        commit(e);
    }
}

/* A lighteval results file as a harness would log it: run_start (model
 * name, date, config_general as "config"), then per results key a
 * task_config (config_tasks entry, n-shot) and its results. The derived
 * "all" row is sent too, as evtrack ingest does: evtrack recomputes it.
 * bare: task names without "|k" (the key comes from n-shot). samples:
 * that many token samples per task. */
static void send_lighteval(evt_tracker *t, const msgpack_object *root,
                           const char *date, int bare, int samples)
{
    const msgpack_object *res = evt_mp_get(root, "results");
    send_light_run_start(t, root, date);
    for (uint32_t i = 0; i < res->via.map.size; i++) {
        char *key = evt_mp_strdup(&res->via.map.ptr[i].key);
        char *bar = strrchr(key, '|');
        const msgpack_object *cfg =
            evt_mp_get(evt_mp_get(root, "config_tasks"), key);
        if (bar && bare)
            *bar = '\0';
        evt_ev *e = evt_begin(t, EVT_EV_TASK_CONFIG);
        evt_str(e, "task", key);
        if (bar)
            evt_int(e, "n-shot", strtol(bar + 1, NULL, 10));
        if (cfg)
            ev_put(e, "config", cfg);
        commit(e);
        if (bar && samples)
            send_token_samples(t, key, samples);
        send_light_results(t, key, &res->via.map.ptr[i].val);
        free(key);
    }
    evt_ev *e = evt_begin(t, EVT_EV_RUN_END);
    commit(e);
}

/* Replay rel through local-json's lighteval layout; the file must be at
 * <dir>/<want_rel>. Returns its text. */
static char *light_roundtrip(const char *dir, const char *rel,
                             const char *date, int bare, int samples,
                             const char *want_rel)
{
    char *text = tu_read_shared(rel);
    struct mp m;
    mp_parse(&m, text);
    evt_tracker *t = open_sink(dir, "{\"layout\": \"lighteval\"}");
    send_lighteval(t, &m.view.root, date, bare, samples);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    mp_free(&m);
    free(text);
    char *path = tu_fmt("%s/%s", dir, want_rel);
    char *got = tu_read_file(path, NULL);
    if (!got)
        fail_msg("%s was not written", path);
    free(path);
    return got;
}

static const char *const light_summaries[] = {"summary_tasks",
                                              "summary_general", NULL};

/* lighteval 0.13.0 smoke run (2 tasks, max_samples 2, DummyModel): the
 * path is lighteval's, and config_general, results (with the "all" row
 * recomputed), versions and config_tasks are byte-equal, in the same key
 * order. The summaries differ only in hash_examples: the fixture's hashes
 * the doc queries, which are not public; the token hashes (DummyModel
 * returns empty token lists) and the full-prompt hashes match. */
static void test_roundtrip_lighteval_smoke(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *got = light_roundtrip(
        dir, LIGHT_SMOKE, "2026-08-10T17:22:11.385681", 0, 2,
        "results/eee-smoke/dummy-model/"
        "results_2026-08-10T17-22-11.385681.json");
    char *want = tu_read_shared(LIGHT_SMOKE);
    compare_files(want, got, light_summaries);
    /* per task and general: all but hash_examples as in the fixture */
    static const char *const same[] = {
        "\"hash_full_prompts\": \"ef46db3751d8e999\",\n"
        "        \"hash_input_tokens\": \"dcd4184164a682cb\",\n"
        "        \"hash_cont_tokens\": \"dcd4184164a682cb\"",
        "\"hash_full_prompts\": \"86aad2f7ee3a0869\",\n"
        "      \"hash_input_tokens\": \"185dedf5ca00043c\",\n"
        "      \"hash_cont_tokens\": \"185dedf5ca00043c\"", NULL};
    for (int i = 0; same[i]; i++) {
        assert_non_null(strstr(want, same[i]));
        assert_non_null(strstr(got, same[i]));
    }
    assert_non_null(strstr(got, "\"summary_tasks\": {\n"
                                "    \"squad_v2|0\": {\n"
                                "      \"hashes\": {\n"
                                "        \"hash_examples\": "
                                "\"ef46db3751d8e999\",\n"));
    assert_non_null(strstr(got, "\"anli:r1|0\": {\n      \"hashes\""));
    /* lighteval's make_table gives the same table from both */
    cJSON *a = cJSON_Parse(want), *b = cJSON_Parse(got);
    char *ta = evt_make_table(a, EVT_TABLE_LIGHTEVAL, NULL, NULL, 0);
    char *tb = evt_make_table(b, EVT_TABLE_LIGHTEVAL, NULL, NULL, 0);
    assert_non_null(ta);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(want);
    free(got);
    tu_rmtree(dir);
}

/* The two vLLM MATH-500 runs: a long multi-line system_prompt, the
 * vLLM model_config, metric names with ':', '&' and '='. The Qwen run is
 * logged with bare task names ("math_500_pass1_det" + n-shot 0). No
 * samples: summary_tasks is {} and summary_general has no hashes. */
static void test_roundtrip_lighteval_math500(void **state)
{
    (void)state;
    struct {
        const char *rel, *date, *path;
        int bare;
    } runs[] = {
        {LIGHT_QWEN, "2025-12-13T16:16:24.085006",
         "results/Qwen/Qwen2.5-1.5B-Instruct/"
         "results_2025-12-13T16-16-24.085006.json", 1},
        {LIGHT_R1, "2025-12-13T14:35:52.046173",
         "results/od2961/Qwen2.5-1.5B-Open-R1-GRPO-math-2k/"
         "results_2025-12-13T14-35-52.046173.json", 0}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char *dir = tu_tmpdir();
        char *got = light_roundtrip(dir, runs[i].rel, runs[i].date,
                                    runs[i].bare, 0, runs[i].path);
        char *want = tu_read_shared(runs[i].rel);
        compare_files(want, got, light_summaries);
        char *st = section(got, "summary_tasks");
        assert_string_equal(st, "\"summary_tasks\": {}");
        char *sg = section(got, "summary_general");
        assert_string_equal(sg, "\"summary_general\": {\n"
                                "    \"hashes\": {},\n"
                                "    \"truncated\": 0,\n"
                                "    \"non_truncated\": 0,\n"
                                "    \"padded\": 0,\n"
                                "    \"non_padded\": 0\n  }");
        free(st);
        free(sg);
        free(want);
        free(got);
        tu_rmtree(dir);
    }
}

static void check_compile(const char *const *hex, size_t n, const char *want)
{
    char out[17];
    assert_int_equal(evt_results_xxh64_compile(hex, n, out), 0);
    assert_string_equal(out, want);
}

/* xxh64 and lighteval's compiled hash (formats.md 4 and the fixture). */
static void test_xxh64_vectors(void **state)
{
    (void)state;
    char out[17];
    evt_results_xxh64_hex("", 0, out);
    assert_string_equal(out, "ef46db3751d8e999");
    evt_results_xxh64_hex("[]", 2, out); /* str([]): DummyModel tokens */
    assert_string_equal(out, "ccab0b28617f1f56");
    static const char *const two[] = {"59e69564209a91fb", "3351f56a8a456915"};
    check_compile(two, 2, "03b164c76f6f3dc5");
    static const char *const swapped[] = {"3351f56a8a456915",
                                          "59e69564209a91fb"};
    check_compile(swapped, 2, "03b164c76f6f3dc5"); /* sorted first */
    check_compile(NULL, 0, "ef46db3751d8e999");
    static const char *const dummy[] = {"ccab0b28617f1f56",
                                        "ccab0b28617f1f56"};
    check_compile(dummy, 2, "dcd4184164a682cb"); /* the smoke fixture */
    static const char *const bad[] = {"59E69564209A91FB"};
    assert_int_equal(evt_results_xxh64_compile(bad, 1, out), -1);
    static const char *const short1[] = {"59e6"};
    assert_int_equal(evt_results_xxh64_compile(short1, 1, out), -1);
}

/* Sample fields: query (or doc.query), input_tokens and output_tokens as
 * Python's str() of the list; per task the sorted hashes, over the run the
 * tasks in sorted key order. A sample with none of them hashes nothing. */
static void test_lighteval_sample_hashes(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    const char *ev[] = {
        "{\"kind\": \"task_config\", \"task\": \"zeta\", \"n-shot\": 5}",
        "{\"kind\": \"sample\", \"task\": \"zeta\", \"doc_id\": 0, "
        "\"query\": \"Q1\", \"input_tokens\": [1, 2], "
        "\"output_tokens\": [[3, -4]]}",
        "{\"kind\": \"sample\", \"task\": \"zeta\", \"doc_id\": 1, "
        "\"doc\": {\"query\": \"Q2\"}, \"input_tokens\": [], "
        "\"output_tokens\": [[0.5]]}",
        "{\"kind\": \"sample\", \"task\": \"alpha|0\", \"doc_id\": 0, "
        "\"query\": \"A\"}",
        "{\"kind\": \"sample\", \"task\": \"none\", \"doc_id\": 0, "
        "\"input_tokens\": \"not a list\", \"doc\": \"x\"}",
        NULL};
    for (int i = 0; ev[i]; i++)
        assert_int_equal(feed(r, ev[i]), 1);
    struct evt_results_opts o = {.layout = EVT_RESULTS_LIGHTEVAL};
    char *text = render(r, &o);
    char q1[17], q2[17], i1[17], i2[17], c1[17], c2[17], a[17], e[17];
    evt_results_xxh64_hex("Q1", 2, q1);
    evt_results_xxh64_hex("Q2", 2, q2);
    evt_results_xxh64_hex("[1, 2]", 6, i1);
    evt_results_xxh64_hex("[]", 2, i2);
    evt_results_xxh64_hex("[[3, -4]]", 9, c1);
    evt_results_xxh64_hex("[[0.5]]", 7, c2);
    evt_results_xxh64_hex("A", 1, a);
    evt_results_xxh64_hex("", 0, e);
    /* per task: each kind compiled; full prompts are never set: "" */
    char zeta[4][17], alpha[4][17];
    const char *zq[] = {q1, q2}, *zi[] = {i1, i2}, *zc[] = {c1, c2};
    const char *aq[] = {a};
    assert_int_equal(evt_results_xxh64_compile(zq, 2, zeta[0]), 0);
    assert_int_equal(evt_results_xxh64_compile(zi, 2, zeta[2]), 0);
    assert_int_equal(evt_results_xxh64_compile(zc, 2, zeta[3]), 0);
    assert_int_equal(evt_results_xxh64_compile(aq, 1, alpha[0]), 0);
    memcpy(zeta[1], e, 17);
    memcpy(alpha[1], e, 17);
    memcpy(alpha[2], e, 17); /* no tokens: the hash of "" */
    memcpy(alpha[3], e, 17);
    char *want = tu_fmt(
        "\"summary_tasks\": {\n"
        "    \"zeta|5\": {\n      \"hashes\": {\n"
        "        \"hash_examples\": \"%s\",\n"
        "        \"hash_full_prompts\": \"%s\",\n"
        "        \"hash_input_tokens\": \"%s\",\n"
        "        \"hash_cont_tokens\": \"%s\"\n      },\n"
        "      \"truncated\": 0,\n      \"non_truncated\": 0,\n"
        "      \"padded\": 0,\n      \"non_padded\": 0\n    },\n"
        "    \"alpha|0\": {\n      \"hashes\": {\n"
        "        \"hash_examples\": \"%s\",\n"
        "        \"hash_full_prompts\": \"%s\",\n"
        "        \"hash_input_tokens\": \"%s\",\n"
        "        \"hash_cont_tokens\": \"%s\"\n      },\n"
        "      \"truncated\": 0,\n      \"non_truncated\": 0,\n"
        "      \"padded\": 0,\n      \"non_padded\": 0\n    }\n  }",
        zeta[0], zeta[1], zeta[2], zeta[3], alpha[0], alpha[1], alpha[2],
        alpha[3]);
    char *st = section(text, "summary_tasks");
    assert_string_equal(st, want);
    /* general: "alpha|0" sorts before "zeta|5" */
    char *sg = section(text, "summary_general");
    for (int k = 0; k < 4; k++) {
        char *cat = tu_fmt("%s%s", alpha[k], zeta[k]), g[17];
        evt_results_xxh64_hex(cat, 32, g);
        assert_non_null(strstr(sg, g));
        free(cat);
    }
    free(sg);
    free(st);
    free(want);
    free(text);
    evt_results_free(r);
}

/* Task keys, metric names with filters, the suite averages and "all"
 * (lighteval's MetricsLogger.aggregate), and derived rows sent as events
 * being ignored. */
static void test_lighteval_means(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    const char *ev[] = {
        "{\"kind\": \"task_config\", \"task\": \"mmlu:anatomy\", "
        "\"n-shot\": 5, \"version\": 1, \"config\": {\"name\": \"a\"}}",
        "{\"kind\": \"result\", \"task\": \"mmlu:anatomy\", \"metric\": "
        "\"acc\", \"value\": 0.25, \"stderr\": 0.5}",
        "{\"kind\": \"result\", \"task\": \"gsm8k|5\", \"metric\": \"em\", "
        "\"filter\": \"strict\", \"value\": 1, \"stderr\": 0.125, "
        "\"stderr_clt\": 0.1}",
        "{\"kind\": \"result\", \"task\": \"mmlu:astronomy|5\", \"metric\": "
        "\"acc\", \"value\": 0.75, \"stderr\": 0.25}",
        "{\"kind\": \"result\", \"task\": \"mmlu:astronomy|5\", \"metric\": "
        "\"f1\", \"value\": null}",
        "{\"kind\": \"result\", \"task\": \"mmlu:college|5\", \"metric\": "
        "\"f1\", \"value\": 0.5}",
        "{\"kind\": \"result\", \"task\": \"all\", \"metric\": \"acc\", "
        "\"value\": 9.0}",
        "{\"kind\": \"result\", \"task\": \"mmlu:_average|5\", "
        "\"metric\": \"acc\", \"value\": 9.0}",
        "{\"kind\": \"result\", \"task\": \"lighteval|arc:easy|25\", "
        "\"metric\": \"acc\", \"value\": 0.5}",
        "{\"kind\": \"result\", \"task\": \"lighteval|arc:challenge|25\", "
        "\"metric\": \"acc\", \"value\": 1.0}",
        "{\"kind\": \"task_config\", \"task\": \"x\", \"version\": 2}",
        "{\"kind\": \"result\", \"task\": \"x\", \"metric\": \"acc\", "
        "\"filter\": \"none\", \"value\": 0.0}",
        "{\"kind\": \"result\", \"task\": \"x|0\", \"metric\": \"acc\", "
        "\"value\": 7.0}",
        NULL};
    for (int i = 0; ev[i]; i++)
        assert_int_equal(feed(r, ev[i]), 1);
    struct evt_results_opts o = {.layout = EVT_RESULTS_LIGHTEVAL};
    char *text = render(r, &o);
    char *res = section(text, "results");
    assert_string_equal(res,
        "\"results\": {\n"
        "    \"mmlu:anatomy|5\": {\n      \"acc\": 0.25,\n"
        "      \"acc_stderr\": 0.5\n    },\n"
        "    \"gsm8k|5\": {\n      \"em,strict\": 1,\n"
        "      \"em,strict_stderr\": 0.125\n    },\n"
        "    \"mmlu:astronomy|5\": {\n      \"acc\": 0.75,\n"
        "      \"acc_stderr\": 0.25,\n      \"f1\": null\n    },\n"
        "    \"mmlu:college|5\": {\n      \"f1\": 0.5\n    },\n"
        "    \"lighteval|arc:easy|25\": {\n      \"acc\": 0.5\n    },\n"
        "    \"lighteval|arc:challenge|25\": {\n      \"acc\": 1.0\n    },\n"
        "    \"x|0\": {\n      \"acc\": 0.0\n    },\n"
        "    \"mmlu:_average|5\": {\n      \"acc\": 0.5,\n"
        "      \"acc_stderr\": 0.375\n    },\n"
        "    \"lighteval|arc:_average|25\": {\n      \"acc\": 0.75\n    },\n"
        "    \"all\": {\n      \"acc\": 0.5,\n      \"acc_stderr\": 0.375,\n"
        "      \"em,strict\": 1.0,\n      \"em,strict_stderr\": 0.125,\n"
        "      \"f1\": 0.5\n    }\n  }");
    char *ver = section(text, "versions");
    assert_string_equal(ver, "\"versions\": {\n    \"mmlu:anatomy|5\": 1,\n"
                             "    \"x|0\": 2\n  }");
    char *ct = section(text, "config_tasks");
    assert_string_equal(ct, "\"config_tasks\": {\n    \"mmlu:anatomy|5\": {\n"
                            "      \"name\": \"a\"\n    }\n  }");
    free(ct);
    free(ver);
    free(res);
    free(text);
    evt_results_free(r);
}

static const char *const light_keys[] = {
    "config_general", "results", "versions", "config_tasks",
    "summary_tasks", "summary_general", NULL};

/* A harness that is not lighteval: config_general from run_start's
 * fields and config (redacted), defaults for the rest; top-level order. */
static void test_lighteval_config_general(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    assert_int_equal(feed(r, "{\"kind\": \"run_start\", \"run_id\": \"r\", "
                             "\"seq\": 1, \"time_ns\": 1735732800000000000, "
                             "\"model_args\": \"pretrained=org/m,token=hf_x\","
                             " \"git_hash\": \"abc1234\", \"config\": "
                             "{\"batch_size\": 1, \"limit\": 8, "
                             "\"api_key\": \"sk-1\"}}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"result\", \"run_id\": \"r\", "
                             "\"seq\": 2, \"task\": \"t\", \"metric\": "
                             "\"acc\", \"value\": 0.5}"), 1);
    assert_int_equal(feed(r, "{\"kind\": \"run_end\", \"run_id\": \"r\", "
                             "\"seq\": 3, \"time_ns\": 1735732802500000000}"),
                     1);
    struct evt_results_opts o = {.layout = EVT_RESULTS_LIGHTEVAL,
                                 .redact = 1};
    char *text = render(r, &o);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *c = root->child;
    for (int i = 0; light_keys[i]; i++, c = c->next)
        assert_string_equal(c->string, light_keys[i]);
    assert_null(c);
    char *cg = section(text, "config_general");
    assert_string_equal(cg,
        "\"config_general\": {\n"
        "    \"lighteval_sha\": \"abc1234\",\n"
        "    \"num_fewshot_seeds\": 1,\n"
        "    \"max_samples\": 8,\n"
        "    \"job_id\": \"0\",\n"
        "    \"start_time\": 1735732800.0,\n"
        "    \"end_time\": 1735732802.5,\n"
        "    \"total_evaluation_time_secondes\": \"2.5\",\n"
        "    \"model_config\": {\n"
        "      \"model_name\": \"org/m\",\n"
        "      \"model_args\": \"pretrained=org/m,token=[REDACTED]\",\n"
        "      \"batch_size\": 1,\n"
        "      \"limit\": 8,\n"
        "      \"api_key\": \"[REDACTED]\"\n"
        "    },\n"
        "    \"model_name\": \"org/m\"\n  }");
    assert_non_null(strstr(text, "\"results\": {\n    \"t|0\": {\n"
                                 "      \"acc\": 0.5\n    },\n"
                                 "    \"all\": {\n      \"acc\": 0.5\n"));
    assert_non_null(strstr(text, "\"summary_tasks\": {},\n"));
    assert_non_null(strstr(text, "\"summary_general\": {\n"
                                 "    \"hashes\": {},"));
    free(cg);
    cJSON_Delete(root);
    free(text);
    evt_results_free(r);
}

static void check_light_path(struct evt_results *r, const char *model,
                             const char *want_sub)
{
    char *ev = tu_fmt("{\"kind\": \"run_start\", \"model_name\": \"%s\", "
                      "\"date\": \"2025-01-01T12:00:00.5\"}", model);
    assert_int_equal(feed(r, ev), 1);
    struct evt_results_opts o = {.layout = EVT_RESULTS_LIGHTEVAL,
                                 .redact = 1, .secrets = {MARKER}};
    char *sub, *name;
    assert_int_equal(evt_results_file_path(r, &o, &sub, &name), 0);
    assert_string_equal(sub, want_sub);
    assert_string_equal(name, "results_2025-01-01T12-00-00.5.json");
    free(sub);
    free(name);
    free(ev);
}

/* {dir}/results/{org}/{model}/: whatever the model name, the file stays
 * inside "results" two levels down at most, secrets removed. */
static void test_lighteval_paths(void **state)
{
    (void)state;
    struct evt_results *r = evt_results_new();
    check_light_path(r, "org/model", "results/org/model");
    check_light_path(r, "model", "results/model");
    check_light_path(r, "", "results");
    check_light_path(r, "a/b/c", "results/a/b_c");
    check_light_path(r, "/ckpt//run1/step100/", "results/ckpt/run1_step100");
    check_light_path(r, "../../etc/passwd", "results/_./_._etc_passwd");
    check_light_path(r, "..", "results/_.");
    check_light_path(r, "org/.hidden", "results/org/_hidden");
    check_light_path(r, "c:\\\\x|y", "results/c__x_y");
    check_light_path(r, "me/" MARKER, "results/me/[REDACTED]");
    evt_results_free(r);
    /* through the sink: only results/org/x_y under dir */
    char *dir = tu_tmpdir();
    evt_tracker *t = open_sink(dir, "{\"layout\": \"lighteval\"}");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"/org/../../x/y\", "
                                  "\"date\": \"D\"}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, 1.0, NAN, -1),
                     EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *q = tu_fmt("%s/results/org/_._.._x_y/results_D.json", dir);
    char *text = tu_read_file(q, NULL);
    if (!text)
        fail_msg("%s was not written", q);
    free(text);
    free(q);
    tu_rmtree(dir);
}

/* Two lighteval runs with the same date: results_<date>.json and
 * results_<date>_2.json; with the run stamp, two files too. */
static void test_lighteval_two_runs_same_second(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    for (int dated = 0; dated < 2; dated++) {
        evt_tracker *a = open_sink(dir, "{\"layout\": \"lighteval\"}");
        evt_tracker *b = open_sink(dir, "{\"layout\": \"lighteval\"}");
        const char *rs = dated ? "{\"model_name\": \"org/same\", \"date\": "
                                 "\"2025-01-01T12:00:00\"}"
                               : "{\"model_name\": \"org/two\"}";
        log_json(a, EVT_EV_RUN_START, rs);
        log_json(b, EVT_EV_RUN_START, rs);
        assert_int_equal(evt_log_result(a, "t", "acc", NULL, 0.25, NAN, -1),
                         EVT_OK);
        assert_int_equal(evt_log_result(b, "t", "acc", NULL, 0.75, NAN, -1),
                         EVT_OK);
        assert_int_equal(evt_close(a, 10000), EVT_OK);
        assert_int_equal(evt_close(b, 10000), EVT_OK);
    }
    char *sub = tu_fmt("%s/results/org/two", dir);
    assert_int_equal(count_files(sub, ".json"), 2);
    free(sub);
    char *p1 = tu_fmt("%s/results/org/same/results_2025-01-01T12-00-00.json",
                      dir);
    char *p2 = tu_fmt("%s/results/org/same/results_2025-01-01T12-00-00_2"
                      ".json", dir);
    char *t1 = tu_read_file(p1, NULL), *t2 = tu_read_file(p2, NULL);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_true(strcmp(t1, t2) != 0);
    free(t1);
    free(t2);
    free(p1);
    free(p2);
    tu_rmtree(dir);
}

/* NaN policy in the lighteval layout: strict writes null and lists the
 * paths (the "all" mean of a NaN is NaN too); bare writes the tokens. */
static void test_lighteval_nan(void **state)
{
    (void)state;
    for (int bare = 0; bare < 2; bare++) {
        char *dir = tu_tmpdir();
        evt_tracker *t = open_sink(dir, bare ? "{\"layout\": \"lighteval\", "
                                               "\"nan\": \"bare\"}"
                                             : "{\"layout\": \"lighteval\"}");
        log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"m\", \"date\": "
                                      "\"D\"}");
        assert_int_equal(evt_log_result(t, "t|0", "acc", NULL, NAN, INFINITY,
                                        -1), EVT_OK);
        assert_int_equal(evt_close(t, 10000), EVT_OK);
        char *path = tu_fmt("%s/results/m/results_D.json", dir);
        char *text = tu_read_file(path, NULL);
        assert_non_null(text);
        if (bare) {
            assert_non_null(strstr(text, "\"t|0\": {\n      \"acc\": NaN,\n"
                                         "      \"acc_stderr\": Infinity\n"));
            assert_null(strstr(text, "nonfinite_values"));
        } else {
            cJSON *root = cJSON_Parse(text);
            assert_non_null(root);
            cJSON_Delete(root);
            assert_non_null(strstr(
                text, "  \"nonfinite_values\": {\n"
                      "    \"$.results['t|0'].acc\": \"NaN\",\n"
                      "    \"$.results['t|0'].acc_stderr\": \"Infinity\",\n"
                      "    \"$.results.all.acc\": \"NaN\",\n"
                      "    \"$.results.all.acc_stderr\": \"Infinity\"\n"
                      "  }\n}"));
        }
        free(text);
        free(path);
        tu_rmtree(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_redact_text),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_repeats_and_replacement),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_cjson_msgpack_forms),
        cmocka_unit_test(test_bin_value),
        cmocka_unit_test(test_sample_counting),
        cmocka_unit_test(test_roundtrip_lmms_mme),
        cmocka_unit_test(test_roundtrip_lmeval_math),
        cmocka_unit_test(test_task_hashes_lmeval),
        cmocka_unit_test(test_nan_strict_and_bare),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_redaction_off_keeps_tokens),
        cmocka_unit_test(test_two_runs_same_second),
        cmocka_unit_test(test_flush_rewrites),
        cmocka_unit_test(test_bad_config_disables),
        cmocka_unit_test(test_atomic_kill),
        cmocka_unit_test(test_xxh64_vectors),
        cmocka_unit_test(test_lighteval_sample_hashes),
        cmocka_unit_test(test_lighteval_means),
        cmocka_unit_test(test_lighteval_config_general),
        cmocka_unit_test(test_lighteval_paths),
        cmocka_unit_test(test_lighteval_two_runs_same_second),
        cmocka_unit_test(test_lighteval_nan),
        cmocka_unit_test(test_roundtrip_lighteval_smoke),
        cmocka_unit_test(test_roundtrip_lighteval_math500),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
