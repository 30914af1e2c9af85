/* test_markdown_table.c -- the markdown-table sink.
 *
 * Real results files are turned into events (run_start, task_config,
 * sample, result, run_end) as tests/unit/test_local_json.c does, logged
 * through a tracker into the sink, and what it prints on stdout (fd 1 is
 * redirected to a temp file around the tracker's life) and writes to its
 * .md file is compared with the tool's table:
 *  - lmms-eval v0.6 MME: the table part of the real console capture
 *    (with its Throughput Summary), byte for byte;
 *  - lm-eval PR 1991: the table part of the real console capture;
 *  - lm-eval negotiationtom (a group): results table, blank line, groups
 *    table, as the CLIs print them; "groups": false leaves the second out;
 *  - lighteval 0.13.0 smoke file: the make_table vector of that file;
 * and stdout/file switches, a run without results, flush rewrites that do
 * not print, file names next to local-json's results file, numbering when
 * a name is taken, a bad style.
 *
 * The shared folder is $EVT_TEST_SOURCE_DIR/../shared (CI has it). */
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "json_msgpack.h"
#include "evtrack/evtrack.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/make_table.h"
#include "results_events.h"

#define MME_RESULTS "fixtures/real/lmmseval_v0.6_mme_limit8_results.json"
#define MME_SAMPLES "fixtures/real/lmmseval_v0.6_mme_limit8_samples_mme.jsonl"
#define MME_TABLE "fixtures/real/lmmseval_v0.6_mme_limit8_table.txt"
#define MME_SUB "snapshots__66285546d2b821cf421d4f5eb2576359d3770cd3"
#define P1_RESULTS "fixtures/real/lmeval_pr1991_gemma7b_halftruth_results.json"
#define P1_TABLE "fixtures/real/lmeval_pr1991_gemma7b_halftruth_table.txt"
#define NEGO_RESULTS \
    "fixtures/real/lmeval_0.4.13dev_negotiationtom_group_NA_results.json"
#define LIGHT_RESULTS "fixtures/real/lighteval_0.13.0_dummy_smoke_results.json"

/* ---- shared files -------------------------------------------------------- */

/* The table part of a console excerpt: from the first line that starts
 * with '|' to the end, less the one "\n" that print() added (as
 * test_make_table.c reads it). */
static char *table_part(const char *rel)
{
    char *log = tu_read_shared(rel);
    const char *start = log[0] == '|' ? log : strstr(log, "\n|");
    if (!start)
        fail_msg("%s: no table line", rel);
    start += start[0] == '\n';
    size_t n = strlen(start);
    if (n < 2 || start[n - 1] != '\n' || start[n - 2] != '\n')
        fail_msg("%s: the excerpt does not end with print()'s blank line",
                 rel);
    char *part = tu_fmt("%.*s", (int)(n - 1), start);
    free(log);
    return part;
}

/* make_table(file, style, column) of a shared results file. */
static char *table_of(const char *rel, enum evt_table_style style,
                      const char *column)
{
    char *text = tu_read_shared(rel);
    cJSON *v = cJSON_Parse(text);
    assert_non_null(v);
    char *t = evt_make_table(v, style, column, NULL, 0);
    assert_non_null(t);
    cJSON_Delete(v);
    free(text);
    return t;
}

/* ---- stdout capture ------------------------------------------------------ */

struct cap {
    char path[32];
    int fd, saved;
};

/* A copy of the capture in progress (the test's own may be gone after a
 * failure), so that the teardown gives stdout back. */
static struct cap g_cap;
static int g_capturing;

static void cap_begin(struct cap *c)
{
    snprintf(c->path, sizeof c->path, "/tmp/evt-mt-out-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stdout);
    c->saved = dup(1);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(c->fd, 1), 1);
    g_cap = *c;
    g_capturing = 1;
}

/* Everything written on fd 1 since cap_begin (heap). */
static char *cap_end(struct cap *c)
{
    fflush(stdout);
    g_capturing = 0;
    assert_int_equal(dup2(c->saved, 1), 1);
    close(c->saved);
    close(c->fd);
    char *out = tu_read_file(c->path, NULL);
    assert_non_null(out);
    unlink(c->path);
    return out;
}

/* Teardown of every test: end a capture a failure left open. */
static int cap_reset(void **state)
{
    (void)state;
    if (g_capturing) {
        fflush(stdout);
        dup2(g_cap.saved, 1);
        close(g_cap.saved);
        close(g_cap.fd);
        unlink(g_cap.path);
        g_capturing = 0;
    }
    return 0;
}

/* ---- trackers ------------------------------------------------------------ */

/* A tracker writing to dir with the given "sinks" array members. */
static evt_tracker *open_sinks(const char *dir, const char *sinks)
{
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t = NULL;
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"sinks\": [%s]}", dir,
                        sinks);
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    free(json);
    return t;
}

/* One markdown-table sink with config cfg. */
static evt_tracker *open_mt(const char *dir, const char *cfg)
{
    char *sinks = tu_fmt("{\"plugin\": \"markdown-table\", \"config\": %s}",
                         cfg);
    evt_tracker *t = open_sinks(dir, sinks);
    free(sinks);
    return t;
}

/* ---- a results file as events (results_events.h) ------------------------ */

/* Log the whole results file rel into t and close t; samples_rel (may be
 * NULL) are the samples of task samples_task. */
static void replay(evt_tracker *t, const char *rel, const char *samples_task,
                   const char *samples_rel)
{
    char *text = tu_read_shared(rel);
    struct mp m;
    mp_parse(&m, text);
    const msgpack_object *root = &m.view.root;
    const msgpack_object *results = evt_mp_get(root, "results");
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

/* lighteval keys have no filter: "<metric>" with "<metric>_stderr", sent as
 * result events of filter "none". */
static void send_light_task(evt_tracker *t, const cJSON *task)
{
    for (const cJSON *m = task->child; m; m = m->next) {
        size_t n = strlen(m->string);
        if (n > 7 && strcmp(m->string + n - 7, "_stderr") == 0)
            continue;
        char *se_key = tu_fmt("%s_stderr", m->string);
        const cJSON *se = cJSON_GetObjectItemCaseSensitive(task, se_key);
        evt_ev *e = evt_begin(t, EVT_EV_RESULT);
        evt_str(e, "task", task->string);
        evt_str(e, "metric", m->string);
        evt_double(e, "value", m->valuedouble);
        if (cJSON_IsNumber(se))
            evt_double(e, "stderr", se->valuedouble);
        commit(e);
        free(se_key);
    }
}

/* ---- file helpers -------------------------------------------------------- */

/* Entries of dir whose names do not start with '.' (so not the state
 * folder .evtrack); 0 when dir does not exist. */
static size_t count_entries(const char *dir)
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

static void expect_file(const char *path, const char *want)
{
    char *got = tu_read_file(path, NULL);
    if (!got)
        fail_msg("%s was not written", path);
    assert_string_equal(got, want);
    free(got);
}

/* results file path -> the table file path local-json's name implies. */
static char *table_path_of(const char *results_path)
{
    size_t n = strlen(results_path);
    assert_true(n > 5 && strcmp(results_path + n - 5, ".json") == 0);
    return tu_fmt("%.*s_table.md", (int)(n - 5), results_path);
}

/* ---- real tables --------------------------------------------------------- */

/* lmms-eval v0.6 MME with its samples: stdout is the real console table
 * (Throughput Summary included) byte for byte, the .md file holds the
 * same text, and it sits next to local-json's results file. */
static void test_lmms_mme(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_sinks(dir, "{\"plugin\": \"markdown-table\"}, "
                                     "{\"plugin\": \"local-json\"}");
    replay(t, MME_RESULTS, "mme", MME_SAMPLES);
    char *out = cap_end(&c);
    char *want = table_part(MME_TABLE);
    assert_string_equal(out, want);
    char *results = tu_fmt("%s/" MME_SUB "/20260923_172512_results.json", dir);
    char *path = table_path_of(results);
    char *named = tu_fmt("%s/" MME_SUB "/20260923_172512_results_table.md",
                         dir);
    assert_string_equal(path, named);
    free(named);
    struct stat st;
    assert_int_equal(stat(results, &st), 0);
    expect_file(path, want);
    char *sub = tu_fmt("%s/" MME_SUB, dir);
    assert_int_equal(count_entries(sub), 2); /* results + table, no temp */
    free(sub);
    free(path);
    free(results);
    free(want);
    free(out);
    tu_rmtree(dir);
}

/* lm-eval PR 1991 (1 task, 3 metrics): style lm-eval prints the real
 * console table; the file is results_<date>_table.md next to local-json's
 * results_<date>.json. */
static void test_lmeval_halftruth(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_sinks(
        dir, "{\"plugin\": \"markdown-table\", \"config\": {\"style\": "
             "\"lm-eval\"}}, {\"plugin\": \"local-json\", \"config\": "
             "{\"layout\": \"lm-eval\"}}");
    replay(t, P1_RESULTS, NULL, NULL);
    char *out = cap_end(&c);
    char *want = table_part(P1_TABLE);
    assert_string_equal(out, want);
    char *sub = tu_fmt("%s/google__gemma-7b", dir);
    char *results = tu_find_one(sub, ".json");
    assert_non_null(strstr(results, "/results_"));
    char *path = table_path_of(results);
    expect_file(path, want);
    char *found = tu_find_one(sub, "_table.md");
    assert_string_equal(found, path);
    free(found);
    free(path);
    free(results);
    free(sub);
    free(want);
    free(out);
    tu_rmtree(dir);
}

/* negotiationtom (3 tasks and their group): the results table, one blank
 * line, the groups table; "groups": false prints the first only. */
static void run_nego(const char *cfg, int with_groups)
{
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    replay(open_mt(dir, cfg), NEGO_RESULTS, NULL, NULL);
    char *out = cap_end(&c);
    char *a = table_of(NEGO_RESULTS, EVT_TABLE_LM_EVAL, "results");
    char *b = table_of(NEGO_RESULTS, EVT_TABLE_LM_EVAL, "groups");
    char *want = with_groups ? tu_fmt("%s\n%s", a, b) : tu_fmt("%s", a);
    assert_string_equal(out, want);
    char *sub = tu_fmt("%s/Qwen__Qwen3-8B", dir);
    char *path = tu_find_one(sub, "_table.md");
    expect_file(path, want);
    free(path);
    free(sub);
    free(want);
    free(a);
    free(b);
    free(out);
    tu_rmtree(dir);
}

static void test_groups(void **state)
{
    (void)state;
    run_nego("{\"style\": \"lm-eval\"}", 1);
    run_nego("{\"style\": \"lm-eval\", \"groups\": false}", 0);
}

/* The lighteval 0.13.0 smoke file (task keys with '|', an "all" entry):
 * the table of the make_table vector made from that file. */
static void test_lighteval(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *text = tu_read_shared(LIGHT_RESULTS);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_mt(dir, "{\"style\": \"lighteval\"}");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"dummy\", \"date\": "
                                  "\"2026-08-10T17:22:11.385681\"}");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "results");
    for (const cJSON *task = res->child; task; task = task->next)
        send_light_task(t, task);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *out = cap_end(&c);
    char *vec = tu_read_shared("vectors/make_table/lighteval_smoke.json");
    cJSON *v = cJSON_Parse(vec);
    const char *want = cJSON_GetObjectItem(v, "expected")->valuestring;
    assert_string_equal(out, want);
    char *path = tu_fmt("%s/dummy/results_2026-08-10T17-22-11.385681_"
                        "table.md", dir);
    expect_file(path, want);
    free(path);
    cJSON_Delete(v);
    free(vec);
    free(out);
    cJSON_Delete(root);
    free(text);
    tu_rmtree(dir);
}

/* A metric with a filter other than "none" keeps it in lighteval's metric
 * name; companions and "N/A" stderrs give no rows. */
static void test_lighteval_filters(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_mt(dir, "{\"style\": \"lighteval\", "
                                  "\"file\": false}");
    log_json(t, EVT_EV_TASK_CONFIG, "{\"task\": \"gsm8k|5\", \"version\": 1}");
    log_json(t, EVT_EV_RESULT, "{\"task\": \"gsm8k|5\", \"metric\": \"em\", "
                               "\"filter\": \"strict\", \"value\": 0.5, "
                               "\"stderr\": 0.25, \"stderr_clt\": 0.125}");
    assert_int_equal(evt_log_result(t, "gsm8k|5", "f1", NULL, 0.75, NAN, -1),
                     EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *out = cap_end(&c);
    cJSON *want_in = cJSON_Parse(
        "{\"results\": {\"gsm8k|5\": {\"em,strict\": 0.5, "
        "\"em,strict_stderr\": 0.25, \"f1\": 0.75}}, "
        "\"versions\": {\"gsm8k|5\": 1}}");
    char *want = evt_make_table(want_in, EVT_TABLE_LIGHTEVAL, NULL, NULL, 0);
    assert_string_equal(out, want);
    assert_non_null(strstr(out, "|gsm8k:5|      1|em,strict|"));
    assert_int_equal(count_entries(dir), 0);
    free(want);
    cJSON_Delete(want_in);
    free(out);
    tu_rmtree(dir);
}

/* ---- switches, empty runs, flush ----------------------------------------- */

/* "stdout": false prints nothing; the file is still written. */
static void test_stdout_false(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    replay(open_mt(dir, "{\"stdout\": false}"), MME_RESULTS, "mme",
           MME_SAMPLES);
    char *out = cap_end(&c);
    assert_string_equal(out, "");
    char *want = table_part(MME_TABLE);
    char *path = tu_fmt("%s/" MME_SUB "/20260923_172512_results_table.md",
                        dir);
    expect_file(path, want);
    free(path);
    free(want);
    free(out);
    tu_rmtree(dir);
}

/* "file": false prints and writes nothing. */
static void test_file_false(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_mt(dir, "{\"file\": false}");
    replay(t, MME_RESULTS, NULL, NULL);
    char *out = cap_end(&c);
    char *want = table_part(MME_TABLE);
    assert_string_equal(out, want);
    char *sub = tu_fmt("%s/" MME_SUB, dir);
    assert_int_equal(count_entries(sub), 0);
    free(sub);
    free(want);
    free(out);
    tu_rmtree(dir);
}

/* A run of run_start and run_end only, in style: the header-only table
 * of that style is printed and written. */
static void run_empty(const char *style, int lm_names)
{
    char *dir = tu_tmpdir();
    char *cfg = tu_fmt("{\"style\": \"%s\"}", style);
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_mt(dir, cfg);
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"m\", \"date\": \"D\"}");
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *out = cap_end(&c);
    cJSON *empty = cJSON_CreateObject();
    enum evt_table_style st;
    assert_int_equal(evt_table_style_from_name(style, &st), 0);
    char *want = evt_make_table(empty, st, NULL, NULL, 0);
    assert_string_equal(out, want);
    assert_int_equal(tu_count_lines(out), 2);
    char *path = tu_fmt(lm_names ? "%s/m/results_D_table.md"
                                 : "%s/m/D_results_table.md", dir);
    expect_file(path, want);
    free(path);
    free(want);
    cJSON_Delete(empty);
    free(out);
    free(cfg);
    tu_rmtree(dir);
}

static void test_no_results(void **state)
{
    (void)state;
    run_empty("lmms-eval", 0);
    run_empty("lm-eval", 1);
    run_empty("lighteval", 1);
    cJSON *empty = cJSON_CreateObject();
    char *lmms = evt_make_table(empty, EVT_TABLE_LMMS_EVAL, NULL, NULL, 0);
    assert_string_equal(lmms,
                        "|Tasks|Filter|n-shot|Metric|   |Value|   |Stderr|\n"
                        "|-----|------|------|------|---|-----|---|------|\n");
    free(lmms);
    cJSON_Delete(empty);
}

/* A tracker closed without events prints and writes nothing. */
static void test_no_events(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    assert_int_equal(evt_close(open_mt(dir, "{}"), 10000), EVT_OK);
    char *out = cap_end(&c);
    assert_string_equal(out, "");
    assert_int_equal(count_entries(dir), 0);
    free(out);
    tu_rmtree(dir);
}

/* Each flush rewrites the file with everything so far and prints
 * nothing; run_end prints once, the same text as the file. */
static void test_flush_rewrites(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    struct cap c;
    cap_begin(&c);
    evt_tracker *t = open_mt(dir, "{}");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"org/m\", \"date\": "
                                  "\"D\"}");
    assert_int_equal(evt_log_result(t, "a", "acc", NULL, 0.5, 0.1, -1), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    char *path = tu_fmt("%s/org__m/D_results_table.md", dir);
    char *v1 = tu_read_file(path, NULL);
    assert_non_null(v1);
    assert_non_null(strstr(v1, "|a    |none  |"));
    assert_null(strstr(v1, "|b "));
    assert_int_equal(evt_log_result(t, "b", "acc", NULL, 0.25, 0.1, -1),
                     EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    char *v2 = tu_read_file(path, NULL);
    assert_non_null(strstr(v2, "|b    |none  |"));
    struct stat st;
    assert_int_equal(stat(c.path, &st), 0);
    assert_int_equal(st.st_size, 0); /* flush never prints */
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *out = cap_end(&c);
    expect_file(path, out);
    assert_string_equal(out, v2); /* run_end added no row */
    char *sub = tu_fmt("%s/org__m", dir);
    assert_int_equal(count_entries(sub), 1);
    free(sub);
    free(out);
    free(v1);
    free(v2);
    free(path);
    tu_rmtree(dir);
}

/* ---- names, config ------------------------------------------------------- */

static void run_same_date(const char *dir, double value)
{
    evt_tracker *t = open_mt(dir, "{\"stdout\": false}");
    log_json(t, EVT_EV_RUN_START, "{\"model_name\": \"org/same\", \"date\": "
                                  "\"20250101_120000\"}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, value, NAN, -1),
                     EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
}

/* A second run with the same date does not overwrite the first table:
 * it takes "_2" as local-json does for the results file. The run stamp
 * names the file when run_start has no date. */
static void test_names(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    run_same_date(dir, 0.25);
    run_same_date(dir, 0.75);
    char *p1 = tu_fmt("%s/org__same/20250101_120000_results_table.md", dir);
    char *p2 = tu_fmt("%s/org__same/20250101_120000_2_results_table.md", dir);
    char *t1 = tu_read_file(p1, NULL), *t2 = tu_read_file(p2, NULL);
    assert_non_null(t1);
    assert_non_null(t2);
    assert_non_null(strstr(t1, "0.25"));
    assert_non_null(strstr(t2, "0.75"));
    free(t1);
    free(t2);
    free(p1);
    free(p2);
    evt_tracker *t = open_sinks(dir, "{\"plugin\": \"markdown-table\", "
                                     "\"config\": {\"stdout\": false}}, "
                                     "{\"plugin\": \"local-json\"}");
    log_json(t, EVT_EV_RUN_START, "{\"model_args\": \"pretrained=a/b/c\"}");
    assert_int_equal(evt_log_result(t, "t", "acc", NULL, 0.5, NAN, -1), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *sub = tu_fmt("%s/b__c", dir);
    char *results = tu_find_one(sub, "_results.json");
    char *path = table_path_of(results);
    char *found = tu_find_one(sub, "_table.md");
    assert_string_equal(found, path);
    free(found);
    free(path);
    free(results);
    free(sub);
    tu_rmtree(dir);
}

static void test_bad_style_disables(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    evt_tracker *t = open_mt(dir, "{\"style\": \"html\"}");
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    assert_string_equal(st.plugin, "markdown-table");
    assert_int_equal(st.enabled, 0);
    assert_int_equal(evt_close(t, 1000), EVT_OK);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lmms_mme, cap_reset),
        cmocka_unit_test_teardown(test_lmeval_halftruth, cap_reset),
        cmocka_unit_test_teardown(test_groups, cap_reset),
        cmocka_unit_test_teardown(test_lighteval, cap_reset),
        cmocka_unit_test_teardown(test_lighteval_filters, cap_reset),
        cmocka_unit_test_teardown(test_stdout_false, cap_reset),
        cmocka_unit_test_teardown(test_file_false, cap_reset),
        cmocka_unit_test_teardown(test_no_results, cap_reset),
        cmocka_unit_test_teardown(test_no_events, cap_reset),
        cmocka_unit_test_teardown(test_flush_rewrites, cap_reset),
        cmocka_unit_test_teardown(test_names, cap_reset),
        cmocka_unit_test_teardown(test_bad_style_disables, cap_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
