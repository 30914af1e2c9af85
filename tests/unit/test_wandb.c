/* test_wandb.c -- the wandb sink against a fake W&B server.
 *
 * Spec: docs/sinks/wandb.md, shared/reference/protocols.md section 2,
 * formats.md section 7. The server is tests/fake/wandb_server.py (python3
 * standard library, 127.0.0.1 only), started per test; it logs every
 * request (JSON lines) and its resulting state (history lines by offset,
 * uploads), which the tests read back.
 *
 *  - the plugin's declaration: flags, event mask, config defaults (the
 *    2 s stream interval, the 30 s heartbeat);
 *  - --wandb_args parsing (wb_config.c compiled in);
 *  - a run with 3 tasks, delivered as one batch by a replay of dead
 *    letters: the exact UpsertBucket variables (config JSON string
 *    included), CreateRunFiles, the uploads (results table, samples
 *    tables, results.json, samples files) and the exact file_stream body;
 *  - offsets continuous across a dropped connection and 503s: every
 *    retry repeats the same offset and lines, and the server ends with
 *    each line once;
 *  - 429 (Retry-After) and 5xx on UpsertBucket, file_stream and an upload,
 *    then success; the exit code of run_end in "complete";
 *  - an unreachable server: one warning, the producer not blocked, the
 *    offline .wandb run, dead letters; then evtrack's replay delivers the
 *    whole history exactly once, and a second replay of the same dead
 *    letters adds nothing;
 *  - offline after a failed init, then the server comes back: the sink
 *    reconnects by itself, says so, and sends everything once;
 *  - WANDB_MODE=disabled sends nothing and writes nothing;
 *  - pacing: under load at most one file_stream request per interval;
 *    heartbeats when idle; a close without run_end completes the run;
 *  - the API key is in no request body, file or log line, events carrying
 *    it are scrubbed, and auth is HTTP Basic "api:<key>". */
#define _GNU_SOURCE /* setenv, memmem */
#include "test_util.h"
#include "tracker_util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "../../plugins/wandb/wb_config.h"
#include "evtrack/evtrack.h"
#include "evtrack/sdk/results.h"
#include "replay.h"
#include "../fake/fake_server.h"
#include "../fake/fake_wandb.h"
#include "wandb_reader.h"

#define KEY "wbk-SECRET-1f2e3d4c5b6a79880011"
#define KEY_B64 "YXBpOndiay1TRUNSRVQtMWYyZTNkNGM1YjZhNzk4ODAwMTE="

/* ======================================================================
 * Helpers: time, environment, logs
 * ====================================================================== */

static int scale(int n)
{
    const char *s = getenv("EVT_TEST_SCALE_DIV");
    int d = s ? (int)strtol(s, NULL, 10) : 1;
    return d > 1 ? (n / d > 10 ? n / d : 10) : n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void clear_env(void)
{
    fake_wandb_clear_env();
    setenv("WANDB_API_KEY", KEY, 1);
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *logs[4096];
static int log_levels[4096];
static size_t nlogs;

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    pthread_mutex_lock(&log_mu);
    if (nlogs < 4096) {
        log_levels[nlogs] = level;
        logs[nlogs++] = strdup(msg);
    }
    pthread_mutex_unlock(&log_mu);
}

static void log_start(void)
{
    evt_set_log_handler(log_cb, NULL);
}

static void log_clear(void)
{
    evt_set_log_handler(NULL, NULL);
    for (size_t i = 0; i < nlogs; i++)
        free(logs[i]);
    nlogs = 0;
}

static size_t log_count(int level, const char *a, const char *b)
{
    size_t n = 0;
    for (size_t i = 0; i < nlogs; i++)
        n += log_levels[i] == level && strstr(logs[i], a) &&
             (!b || strstr(logs[i], b));
    return n;
}

static void log_dump(void)
{
    for (size_t i = 0; i < nlogs; i++)
        fprintf(stderr, "log[%d]: %s\n", log_levels[i], logs[i]);
}

/* ======================================================================
 * The fake server
 * ====================================================================== */

/* Started and read by tests/fake/fake_wandb.h; what its requests and
 * state say: */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_op(const cJSON *req, const char *op)
{
    const char *o = jstr(req, "op");
    return o && strcmp(o, op) == 0;
}

static int is_fs(const cJSON *req)
{
    const char *p = jstr(req, "path");
    return p && strstr(p, "/file_stream") != NULL;
}

static int status_of(const cJSON *req)
{
    return cJSON_GetObjectItemCaseSensitive(req, "status")->valueint;
}

/* The requests matching pred, in order. */
static size_t pick(const cJSON *reqs, int (*pred)(const cJSON *),
                   const cJSON **out, size_t cap)
{
    size_t n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs) {
        if (pred(r) && n < cap)
            out[n] = r;
        n += pred(r) != 0;
    }
    return n;
}

static int is_upsert(const cJSON *r) { return is_op(r, "UpsertBucket"); }

static int is_data_fs(const cJSON *r)
{
    return is_fs(r) && strcmp(jstr(r, "body"), "{}") != 0;
}

static int is_heartbeat(const cJSON *r)
{
    return is_fs(r) && strcmp(jstr(r, "body"), "{}") == 0;
}

/* The history lines the server holds for run key "E/P/R". */
static const cJSON *srv_history(const cJSON *state, const char *key)
{
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(state, "runs"), key);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(run, "files");
    return cJSON_GetObjectItemCaseSensitive(files, "wandb-history.jsonl");
}

static const cJSON *srv_run(const cJSON *state, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(state, "runs"), key);
}

/* No history line was ever rewritten with other content. */
static void expect_no_changed_lines(const cJSON *state, const char *key)
{
    const cJSON *rw = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(srv_run(state, key), "rewrites"),
        "wandb-history.jsonl");
    const cJSON *it;
    cJSON_ArrayForEach(it, rw) {
        if (strncmp(it->string, "changed:", 8) == 0)
            fail_msg("history line %s was rewritten with other content",
                     it->string + 8);
    }
}

static int rewrites_of(const cJSON *state, const char *key)
{
    const cJSON *rw = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(srv_run(state, key), "rewrites"),
        "wandb-history.jsonl");
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, rw) n += it->valueint;
    return n;
}

/* ======================================================================
 * Trackers
 * ====================================================================== */

#define FAST                                                                 \
    "\"init_timeout_secs\": 2, "                                             \
    "\"retry_base_ms\": 5, \"retry_cap_ms\": 50, \"attempts\": 4, "          \
    "\"request_timeout_secs\": 5"

static evt_tracker *open_cfg(const char *text)
{
    char err[1024];
    evt_tracker *t = NULL;
    if (evt_open_json(text, NULL, &t, err, sizeof err) != EVT_OK)
        fail_msg("open: %s", err);
    return t;
}

static evt_tracker *open_wandb(const char *dir, const char *run_id,
                               const char *url, const char *extra)
{
    int paced = extra && strstr(extra, "stream_interval_secs");
    char *sink = tu_fmt("\"plugin\": \"wandb\", \"retry\": {\"limit\": 3,"
                        " \"base_ms\": 1, \"cap_ms\": 5}, \"config\":"
                        " {\"base_url\": \"%s\", \"project\": \"evals\", "
                        FAST "%s%s%s}",
                        url, paced ? "" : ", \"stream_interval_secs\": 0",
                        extra && *extra ? ", " : "", extra ? extra : "");
    char *text = fake_wandb_config(dir, run_id, sink);
    evt_tracker *t = open_cfg(text);
    free(sink);
    free(text);
    return t;
}

static void close_ok(evt_tracker *t)
{
    int rc = evt_close(t, 30000);
    if (rc != EVT_OK) {
        log_dump();
        fail_msg("evt_close: %s", evt_status_name(rc));
    }
}

static struct evt_sink_stats stats_of(evt_tracker *t)
{
    struct evt_sink_stats st;
    assert_int_equal(evt_stats(t, &st, 1), 1);
    return st;
}

/* The run of 3 tasks every scenario logs: run_start (with a token in
 * model_args), three task configs, two samples per task, three results,
 * scalars at steps 10, 10 and 20, run_end with exit_code. */
static void log_three_tasks(evt_tracker *t, int exit_code)
{
    log_json(t, EVT_EV_RUN_START,
             "{\"model_source\": \"hf\", \"model_name\": \"org/model-7b\","
             " \"model_args\": \"pretrained=org/model-7b,token=hf_"
             "ABCDEFGHIJKLMNOPQRSTUVWX\", \"config\": {\"model\": \"hf\","
             " \"model_args\": \"pretrained=org/model-7b,token=hf_"
             "ABCDEFGHIJKLMNOPQRSTUVWX\", \"batch_size\": 1, \"limit\": null},"
             " \"git_hash\": \"abc1234\", \"date\": \"20250101_120000\"}");
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"arc_easy\", \"version\": 1, \"n-shot\": 0,"
             " \"config\": {\"task\": \"arc_easy\", \"output_type\":"
             " \"multiple_choice\"}, \"higher_is_better\": {\"acc\": true}}");
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"gsm8k\", \"version\": 3, \"n-shot\": 5,"
             " \"config\": {\"task\": \"gsm8k\", \"output_type\":"
             " \"generate_until\"}}");
    log_json(t, EVT_EV_TASK_CONFIG,
             "{\"task\": \"mme\", \"version\": \"Yaml\", \"n-shot\": 0,"
             " \"config\": {\"task\": \"mme\", \"output_type\":"
             " \"generate_until\"}}");
    static const char *const tasks[] = {"arc_easy", "gsm8k", "mme"};
    for (int k = 0; k < 3; k++)
        for (int d = 0; d < 2; d++) {
            char *s = tu_fmt(
                "{\"task\": \"%s\", \"doc_id\": %d, \"filter\": \"none\","
                " \"target\": \"t%d\", \"arguments\": [[\"Question %d?\","
                " \" A\"]], \"resps\": [[\"r%d\"]], \"filtered_resps\":"
                " [\"f%d\"], \"metrics\": {\"score\": %d.5}}",
                tasks[k], d, d, d, d, d, d);
            log_json(t, EVT_EV_SAMPLE, s);
            free(s);
        }
    assert_int_equal(evt_log_result(t, "arc_easy", "acc", "none", 0.75,
                                    0.0125, -1),
                     EVT_OK);
    assert_int_equal(evt_log_result(t, "gsm8k", "exact_match",
                                    "flexible-extract", 0.5, 0.025, -1),
                     EVT_OK);
    log_json(t, EVT_EV_RESULT,
             "{\"task\": \"mme\", \"metric\": \"mme_cognition_score\","
             " \"filter\": \"none\", \"value\": 312.5, \"alias\": \"mme\"}");
    assert_int_equal(evt_log_scalar(t, "train/loss", 1.5, 10), EVT_OK);
    assert_int_equal(evt_log_scalar(t, "train/lr", 0.001, 10), EVT_OK);
    assert_int_equal(evt_log_scalar(t, "train/loss", 1.25, 20), EVT_OK);
    char *end = tu_fmt("{\"total_seconds\": 1.5, \"exit_code\": %d}",
                       exit_code);
    log_json(t, EVT_EV_RUN_END, end);
    free(end);
}

/* The three history lines of that run, without _runtime and _timestamp
 * (checked separately) and with each table value replaced by its path. */
static const char *const THREE_ROWS[] = {
    "{\"train/loss\":1.5,\"train/lr\":0.001,\"_step\":10}",
    "{\"train/loss\":1.25,\"_step\":20}",
    "{\"arc_easy/acc\":0.75,\"arc_easy/acc_stderr\":0.0125,"
    "\"gsm8k/exact_match,flexible-extract\":0.5,"
    "\"gsm8k/exact_match_stderr,flexible-extract\":0.025,"
    "\"mme/mme_cognition_score\":312.5,"
    "\"evaluation/eval_results\":\"media/table/evaluation/eval_results_21_"
    "<sha>.table.json\","
    "\"arc_easy_eval_results\":\"media/table/arc_easy_eval_results_21_"
    "<sha>.table.json\","
    "\"gsm8k_eval_results\":\"media/table/gsm8k_eval_results_21_<sha>"
    ".table.json\","
    "\"mme_eval_results\":\"media/table/mme_eval_results_21_<sha>"
    ".table.json\",\"_step\":21}"};

/* ======================================================================
 * Checking what the server got
 * ====================================================================== */

static const cJSON *upload_of(const cJSON *state, const char *run_key,
                              const char *name)
{
    char *k = tu_fmt("%s/%s", run_key, name);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(state, "uploads"), k);
    free(k);
    return u;
}

/* A table-file value: consistent with the uploaded file; replaced by its
 * path with the hash part as "<sha>". */
static void normalize_table(cJSON *row, cJSON *v, const cJSON *state,
                            const char *run_key)
{
    const char *path = jstr(v, "path"), *sha = jstr(v, "sha256");
    assert_string_equal(jstr(v, "_type"), "table-file");
    assert_string_equal(jstr(v, "log_mode"), "IMMUTABLE");
    assert_non_null(path);
    assert_non_null(sha);
    const cJSON *up = upload_of(state, run_key, path);
    if (!up)
        fail_msg("table %s was not uploaded", path);
    assert_string_equal(jstr(up, "sha256"), sha);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(v, "size")->valueint,
                     cJSON_GetObjectItemCaseSensitive(up, "size")->valueint);
    cJSON *tab = cJSON_Parse(jstr(up, "text"));
    assert_non_null(tab);
    int cols = cJSON_GetArraySize(cJSON_GetObjectItem(tab, "columns"));
    int rows = cJSON_GetArraySize(cJSON_GetObjectItem(tab, "data"));
    assert_int_equal(cJSON_GetObjectItem(v, "ncols")->valueint, cols);
    assert_int_equal(cJSON_GetObjectItem(v, "nrows")->valueint, rows);
    cJSON_Delete(tab);
    const char *h = memmem(path, strlen(path), sha, 20);
    assert_true(h && strcmp(h + 20, ".table.json") == 0);
    char *p = tu_fmt("%.*s<sha>.table.json", (int)(h - path), path);
    cJSON_ReplaceItemInObjectCaseSensitive(row, v->string,
                                           cJSON_CreateString(p));
    free(p);
}

/* A history (or summary) line: time fields checked and removed, tables
 * normalized; the rest as compact JSON (heap). */
static char *normalize_line(const char *line, double t0, double t1,
                            const cJSON *state, const char *run_key)
{
    cJSON *o = cJSON_Parse(line);
    if (!o)
        fail_msg("not JSON: %s", line);
    const cJSON *ts = cJSON_GetObjectItem(o, "_timestamp");
    const cJSON *rt = cJSON_GetObjectItem(o, "_runtime");
    if (!cJSON_IsNumber(ts) || ts->valuedouble < t0 - 1 ||
        ts->valuedouble > t1 + 1)
        fail_msg("_timestamp not within the test: %s", line);
    if (!cJSON_IsNumber(rt) || rt->valuedouble < 0 ||
        rt->valuedouble > t1 - t0 + 1)
        fail_msg("_runtime not plausible: %s", line);
    cJSON_DeleteItemFromObject(o, "_timestamp");
    cJSON_DeleteItemFromObject(o, "_runtime");
    cJSON *it = o->child;
    while (it) {
        cJSON *next = it->next;
        if (cJSON_IsObject(it) && jstr(it, "_type"))
            normalize_table(o, it, state, run_key);
        it = next;
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The server holds exactly the rows of THREE_ROWS, once each. */
static void expect_three_rows(const cJSON *state, const char *key,
                              double t0, double t1)
{
    const cJSON *h = srv_history(state, key);
    if (cJSON_GetArraySize(h) != 3)
        fail_msg("history has %d lines, expected 3", cJSON_GetArraySize(h));
    for (int i = 0; i < 3; i++) {
        const cJSON *line = cJSON_GetArrayItem(h, i);
        assert_true(cJSON_IsString(line));
        char *n = normalize_line(line->valuestring, t0, t1, state, key);
        if (strcmp(n, THREE_ROWS[i]) != 0)
            fail_msg("history line %d:\n%s\nexpected\n%s", i, n,
                     THREE_ROWS[i]);
        cJSON_free(n);
    }
    expect_no_changed_lines(state, key);
}

/* ======================================================================
 * Dead letters of a run: a test sink named "wandb" that fails
 * ====================================================================== */

/* Log the 3-task run through a failing sink named "wandb": every event
 * lands in <dir>/state/rejected/wandb.spool, ready for a replay. */
static void dead_letter_three_tasks(const char *dir, int exit_code)
{
    char *sink = tu_fmt("\"path\": \"%s/test_sink.so\", \"config\":"
                        " {\"fail\": \"write\"}",
                        tu_fixture_dir());
    char *text = fake_wandb_config(dir, "evt-run-1", sink);
    evt_tracker *t = open_cfg(text);
    log_three_tasks(t, exit_code);
    evt_close(t, 30000);
    char *rej = tu_fmt("%s/state/rejected/wandb.spool", dir);
    struct stat st;
    assert_int_equal(stat(rej, &st), 0);
    free(rej);
    free(sink);
    free(text);
}

/* Write the config file of a wandb sink and replay the dead letters. */
static struct evt_replay_result replay(const char *dir, const char *sink)
{
    char *text = fake_wandb_config(dir, "replayer", sink);
    char *path = tu_fmt("%s/replay.json", dir);
    tu_write_file(path, text);
    struct evt_replay_result res;
    char err[1024];
    memset(&res, 0, sizeof res);
    int rc = evt_replay_run(path, "wandb", NULL, NULL, &res, err, sizeof err);
    if (rc != EVT_OK)
        fail_msg("replay: %s", err);
    free(text);
    free(path);
    return res;
}

static char *wandb_sink(const char *url, const char *extra)
{
    return tu_fmt("\"plugin\": \"wandb\", \"retry\": {\"limit\": 2,"
                  " \"base_ms\": 1, \"cap_ms\": 5}, \"config\": {\"base_url\":"
                  " \"%s\", \"stream_interval_secs\": 0, " FAST "%s%s}",
                  url, extra && *extra ? ", " : "", extra ? extra : "");
}

/* A test's start: the environment cleared, a folder, the server with
 * faults (NULL: none) started in it, the log lines caught. */
static char *case_begin(struct fake_wandb *s, const char *faults)
{
    clear_env();
    char *dir = tu_tmpdir();
    fake_wandb_start(s, dir, faults, 0);
    log_start();
    return dir;
}

/* A test's end: what it read of the server (NULL: nothing), the server,
 * the log lines, the folder. */
static void case_end(struct fake_wandb *s, cJSON *reqs, cJSON *st, char *dir)
{
    cJSON_Delete(reqs);
    cJSON_Delete(st);
    fake_wandb_stop(s);
    log_clear();
    tu_rmtree(dir);
}

/* ======================================================================
 * Tests
 * ====================================================================== */

/* The plugin's declaration: network flag, all kinds, the defaults. */
static void test_declaration(void **state)
{
    (void)state;
    struct evt_plugin_info info[64];
    char err[512];
    int n = evt_list_plugins(NULL, info, 64, err, sizeof err);
    const char *path = NULL;
    for (int i = 0; i < n && i < 64; i++)
        if (strcmp(info[i].name, "wandb") == 0)
            path = info[i].path;
    if (!path)
        fail_msg("plugin wandb not found");
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(so);
    evt_sink_entry_fn entry;
    *(void **)&entry = dlsym(so, EVT_SINK_ENTRY_NAME);
    assert_non_null(entry);
    const struct evt_sink_vtable *vt = entry(NULL);
    assert_string_equal(vt->name, "wandb");
    assert_int_equal(vt->flags & EVT_SINK_F_NETWORK, EVT_SINK_F_NETWORK);
    assert_int_equal(vt->event_mask, EVT_EV_ALL);
    int seen = 0;
    for (const struct evt_config_key *k = vt->config_keys; k->name; k++) {
        if (strcmp(k->name, "stream_interval_secs") == 0) {
            assert_string_equal(k->dflt, "2"); /* one request per 2 s */
            seen++;
        }
        if (strcmp(k->name, "heartbeat_secs") == 0) {
            assert_string_equal(k->dflt, "30");
            seen++;
        }
        assert_null(strstr(k->name, "secret"));
    }
    assert_int_equal(seen, 2);
    dlclose(so);
}

/* lmms-eval's --wandb_args form. */
static void test_wandb_args(void **state)
{
    (void)state;
    struct wb_settings s;
    char err[256];
    memset(&s, 0, sizeof s);
    assert_int_equal(wb_args_parse("project=x,name=y,tags=a;b", &s, err,
                                   sizeof err),
                     0);
    assert_string_equal(s.project, "x");
    assert_string_equal(s.name, "y");
    assert_int_equal(s.ntags, 2);
    assert_string_equal(s.tags[0], "a");
    assert_string_equal(s.tags[1], "b");
    /* later items win; '=' inside a value; empty items; ignored keys */
    assert_int_equal(wb_args_parse(",project=z,,notes=a=b , id=r-1,"
                                   "resume=allow,entity=,job_type=eval",
                                   &s, err, sizeof err),
                     0);
    assert_string_equal(s.project, "z");
    assert_string_equal(s.notes, "a=b");
    assert_string_equal(s.run_id, "r-1");
    assert_string_equal(s.entity, "");
    assert_string_equal(s.job_type, "eval");
    assert_int_equal(s.ntags, 2);
    assert_int_equal(wb_args_parse("tags=", &s, err, sizeof err), 0);
    assert_int_equal(s.ntags, 0);
    assert_true(s.has_tags);
    /* an unknown key is named, its value is not */
    assert_int_equal(wb_args_parse("project=p,bogus=hunter2", &s, err,
                                   sizeof err),
                     -1);
    assert_non_null(strstr(err, "\"bogus\""));
    assert_null(strstr(err, "hunter2"));
    wb_settings_free(&s);
}

/* jstr, or "-" when absent (printf's %s must never get NULL). */
static const char *jstr_or_dash(const cJSON *o, const char *k)
{
    const char *v = jstr(o, k);
    return v ? v : "-";
}

static void print_requests(const cJSON *reqs)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs) {
        fprintf(stderr, "%s %s %s status=%d fault=%s\n  %.3000s\n",
                jstr_or_dash(r, "method"), jstr_or_dash(r, "path"),
                jstr_or_dash(r, "op"), status_of(r),
                jstr_or_dash(r, "fault"), jstr_or_dash(r, "body"));
    }
}

static const char EVAL_TABLE[] =
    "{\"columns\": [\"Tasks\", \"Version\", \"Filter\", \"num_fewshot\", "
    "\"Metric\", \"Value\", \"Stderr\"], \"data\": ["
    "[\"arc_easy\", 1, \"none\", 0, \"acc\", \"0.75\", \"0.0125\"], "
    "[\"arc_easy\", 1, \"none\", 0, \"acc_stderr_clt\", \"N/A\", \"\"], "
    "[\"arc_easy\", 1, \"none\", 0, \"acc_stderr_clustered\", \"N/A\", \"\"], "
    "[\"gsm8k\", 3, \"flexible-extract\", 5, \"exact_match\", \"0.5\", "
    "\"0.0250\"], "
    "[\"gsm8k\", 3, \"flexible-extract\", 5, \"exact_match_stderr_clt\", "
    "\"N/A\", \"\"], "
    "[\"gsm8k\", 3, \"flexible-extract\", 5, "
    "\"exact_match_stderr_clustered\", \"N/A\", \"\"], "
    "[\"mme\", \"Yaml\", \"none\", 0, \"mme_cognition_score\", \"312.5\", "
    "\"N/A\"], "
    "[\"mme\", \"Yaml\", \"none\", 0, \"mme_cognition_score_stderr_clt\", "
    "\"N/A\", \"\"], "
    "[\"mme\", \"Yaml\", \"none\", 0, "
    "\"mme_cognition_score_stderr_clustered\", \"N/A\", \"\"]]}";

static const char ARC_SAMPLES_TABLE[] =
    "{\"columns\": [\"id\", \"data\", \"input_len\", \"labels\", "
    "\"output_type\", \"raw_predictions\", \"filtered_predictions\", "
    "\"filter\", \"score\"], \"data\": ["
    "[0, \"Question 0?\", 11, \"t0\", \"multiple_choice\", \"r0\", \"f0\", "
    "\"none\", 0.5], "
    "[1, \"Question 1?\", 11, \"t1\", \"multiple_choice\", \"r1\", \"f1\", "
    "\"none\", 1.5]]}";

static const char CONFIG_STRING[] =
    "{\"model\": {\"value\": \"hf\"}, \"model_name\": {\"value\": "
    "\"org/model-7b\"}, \"model_args\": {\"value\": "
    "\"pretrained=org/model-7b,token=[REDACTED]\"}, \"cli_configs\": "
    "{\"value\": {\"model\": \"hf\", \"model_args\": "
    "\"pretrained=org/model-7b,token=[REDACTED]\", \"batch_size\": 1, "
    "\"limit\": null}}, \"task_configs\": {\"value\": {\"arc_easy\": "
    "{\"task\": \"arc_easy\", \"output_type\": \"multiple_choice\"}, "
    "\"gsm8k\": {\"task\": \"gsm8k\", \"output_type\": \"generate_until\"}, "
    "\"mme\": {\"task\": \"mme\", \"output_type\": \"generate_until\"}}}, "
    "\"n-shot\": {\"value\": {\"arc_easy\": 0, \"gsm8k\": 5, \"mme\": 0}}, "
    "\"versions\": {\"value\": {\"arc_easy\": 1, \"gsm8k\": 3, \"mme\": "
    "\"Yaml\"}}}";

/* UpsertBucket's variables, the config string aside ("host" is this
 * machine's name). */
static const char UPSERT_VARS[] =
    "{\"id\":null,\"name\":\"wb-run-1\",\"project\":\"evals\","
    "\"entity\":\"team-x\",\"groupName\":\"grp\",\"description\":null,"
    "\"displayName\":\"my eval\",\"notes\":\"from the environment\","
    "\"commit\":\"abc1234\",\"config\":\"<config>\",\"host\":\"<host>\","
    "\"debug\":null,\"program\":null,\"repo\":null,\"jobType\":\"eval\","
    "\"state\":null,\"sweep\":null,\"tags\":[\"a\",\"b\"],"
    "\"summaryMetrics\":null}";

static const char *const FILES[] = {
    "media/table/evaluation/eval_results_21_<sha>.table.json",
    "media/table/arc_easy_eval_results_21_<sha>.table.json",
    "samples/arc_easy_eval_samples.json",
    "media/table/gsm8k_eval_results_21_<sha>.table.json",
    "samples/gsm8k_eval_samples.json",
    "media/table/mme_eval_results_21_<sha>.table.json",
    "samples/mme_eval_samples.json",
    "results.json"};

static const char SUMMARY[] =
    "{\"train/loss\":1.25,\"train/lr\":0.001,\"_step\":21,"
    "\"arc_easy/acc\":0.75,\"arc_easy/acc_stderr\":0.0125,"
    "\"gsm8k/exact_match,flexible-extract\":0.5,"
    "\"gsm8k/exact_match_stderr,flexible-extract\":0.025,"
    "\"mme/mme_cognition_score\":312.5,"
    "\"evaluation/eval_results\":\"media/table/evaluation/eval_results_21_"
    "<sha>.table.json\","
    "\"arc_easy_eval_results\":\"media/table/arc_easy_eval_results_21_"
    "<sha>.table.json\","
    "\"gsm8k_eval_results\":\"media/table/gsm8k_eval_results_21_<sha>"
    ".table.json\","
    "\"mme_eval_results\":\"media/table/mme_eval_results_21_<sha>"
    ".table.json\","
    "\"arc_easy/alias\":\"arc_easy\",\"arc_easy/acc_stderr_clt\":\"N/A\","
    "\"arc_easy/acc_stderr_clustered\":\"N/A\",\"gsm8k/alias\":\"gsm8k\","
    "\"gsm8k/exact_match_stderr_clt,flexible-extract\":\"N/A\","
    "\"gsm8k/exact_match_stderr_clustered,flexible-extract\":\"N/A\","
    "\"mme/alias\":\"mme\",\"mme/mme_cognition_score_stderr\":\"N/A\","
    "\"mme/mme_cognition_score_stderr_clt\":\"N/A\","
    "\"mme/mme_cognition_score_stderr_clustered\":\"N/A\","
    "\"_wandb\":{\"runtime\":0}}";

/* name with its 20 hex digits of hash shown as "<sha>". */
static char *unhash(const char *name)
{
    const char *p = strstr(name, "_21_");
    if (!p || strlen(p + 4) < 20)
        return strdup(name);
    return tu_fmt("%.*s<sha>%s", (int)(p + 4 - name), name, p + 24);
}

static void expect_upsert_exact(const cJSON *req)
{
    const cJSON *body = cJSON_GetObjectItem(req, "json");
    assert_string_equal(jstr(body, "operationName"), "UpsertBucket");
    assert_true(strncmp(jstr(body, "query"), "mutation UpsertBucket(", 22) ==
                0);
    cJSON *vars = cJSON_Duplicate(cJSON_GetObjectItem(body, "variables"), 1);
    const char *cfg = jstr(vars, "config");
    assert_non_null(cfg);
    if (strcmp(cfg, CONFIG_STRING) != 0)
        fail_msg("config:\n%s\nexpected\n%s", cfg, CONFIG_STRING);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(jstr(vars, "host"), host);
    cJSON_ReplaceItemInObject(vars, "config", cJSON_CreateString("<config>"));
    cJSON_ReplaceItemInObject(vars, "host", cJSON_CreateString("<host>"));
    char *got = cJSON_PrintUnformatted(vars);
    if (strcmp(got, UPSERT_VARS) != 0)
        fail_msg("variables:\n%s\nexpected\n%s", got, UPSERT_VARS);
    /* Basic auth, user "api" */
    const cJSON *h = cJSON_GetObjectItem(req, "headers");
    assert_string_equal(jstr(h, "authorization"), "Basic " KEY_B64);
    assert_string_equal(jstr(h, "content-type"), "application/json");
    cJSON_free(got);
    cJSON_Delete(vars);
}

static void expect_file_list(const cJSON *arr)
{
    assert_int_equal(cJSON_GetArraySize(arr), 8);
    for (int i = 0; i < 8; i++) {
        char *n = unhash(cJSON_GetArrayItem(arr, i)->valuestring);
        if (strcmp(n, FILES[i]) != 0)
            fail_msg("file %d: %s, expected %s", i, n, FILES[i]);
        free(n);
    }
}

static void expect_uploads(const cJSON *reqs, const cJSON *state)
{
    const cJSON *r;
    int puts = 0;
    cJSON_ArrayForEach(r, reqs) {
        if (strcmp(jstr(r, "method"), "PUT") != 0)
            continue;
        const cJSON *h = cJSON_GetObjectItem(r, "headers");
        assert_null(jstr(h, "authorization")); /* only the server's */
        assert_string_equal(jstr(h, "x-fake-upload"), "yes");
        puts++;
    }
    assert_int_equal(puts, 8);
    const cJSON *ups = cJSON_GetObjectItem(state, "uploads");
    assert_int_equal(cJSON_GetArraySize(ups), 8);
    cJSON_ArrayForEach(r, ups) {
        const char *text = jstr(r, "text");
        if (strstr(r->string, "/media/table/evaluation/eval_results_"))
            assert_string_equal(text, EVAL_TABLE);
        if (strstr(r->string, "/media/table/arc_easy_eval_results_"))
            assert_string_equal(text, ARC_SAMPLES_TABLE);
        if (strstr(r->string, "/results.json")) {
            cJSON *res = cJSON_Parse(text);
            assert_non_null(res);
            assert_non_null(cJSON_GetObjectItem(
                cJSON_GetObjectItem(res, "results"), "mme"));
            assert_null(strstr(text, "hf_ABCDEFGHIJ")); /* redacted */
            cJSON_Delete(res);
        }
        if (strstr(r->string, "/samples/gsm8k_eval_samples.json")) {
            cJSON *arr = cJSON_Parse(text);
            assert_int_equal(cJSON_GetArraySize(arr), 2);
            assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0),
                                            "seq"));
            cJSON_Delete(arr);
        }
    }
}

static void expect_stream_exact(const cJSON *req, const cJSON *state,
                                const char *key, double t0, double t1)
{
    const cJSON *b = cJSON_GetObjectItem(req, "json");
    const cJSON *files = cJSON_GetObjectItem(b, "files");
    const cJSON *hist = cJSON_GetObjectItem(files, "wandb-history.jsonl");
    const cJSON *sum = cJSON_GetObjectItem(files, "wandb-summary.json");
    assert_int_equal(cJSON_GetArraySize(b), 4); /* files uploaded complete
                                                   exitcode */
    assert_int_equal(cJSON_GetArraySize(files), 2);
    assert_int_equal(cJSON_GetObjectItem(hist, "offset")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(sum, "offset")->valueint, 0);
    const cJSON *lines = cJSON_GetObjectItem(hist, "content");
    assert_int_equal(cJSON_GetArraySize(lines), 3);
    for (int i = 0; i < 3; i++) {
        char *n = normalize_line(cJSON_GetArrayItem(lines, i)->valuestring,
                                 t0, t1, state, key);
        if (strcmp(n, THREE_ROWS[i]) != 0)
            fail_msg("line %d:\n%s\nexpected\n%s", i, n, THREE_ROWS[i]);
        cJSON_free(n);
    }
    const cJSON *sl = cJSON_GetObjectItem(sum, "content");
    assert_int_equal(cJSON_GetArraySize(sl), 1);
    char *n = normalize_line(cJSON_GetArrayItem(sl, 0)->valuestring, t0, t1,
                             state, key);
    if (strcmp(n, SUMMARY) != 0)
        fail_msg("summary:\n%s\nexpected\n%s", n, SUMMARY);
    cJSON_free(n);
    expect_file_list(cJSON_GetObjectItem(b, "uploaded"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "complete")));
    assert_int_equal(cJSON_GetObjectItem(b, "exitcode")->valueint, 0);
    /* and the raw text: the lines are JSON strings inside JSON */
    static const char head[] =
        "{\"files\": {\"wandb-history.jsonl\": {\"offset\": 0, "
        "\"content\": [\"{\\\"train/loss\\\": 1.5, ";
    assert_true(strncmp(jstr(req, "body"), head, strlen(head)) == 0);
}

/* A run with 3 tasks, one batch: exact requests. */
static void test_exact_three_tasks(void **state)
{
    (void)state;
    clear_env();
    setenv("WANDB_ENTITY", "team-x", 1);
    setenv("WANDB_RUN_ID", "wb-run-1", 1);
    setenv("WANDB_PROJECT", "overridden-by-wandb-args", 1);
    setenv("WANDB_NOTES", "from the environment", 1);
    char *dir = tu_tmpdir();
    double t0 = now_s();
    log_start();
    dead_letter_three_tasks(dir, 0);
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    char *sink = wandb_sink(s.url, "\"wandb_args\": \"project=evals,"
                                   "name=my eval,tags=a;b,group=grp,"
                                   "job_type=eval,resume=allow\"");
    struct evt_replay_result res = replay(dir, sink);
    double t1 = now_s();
    assert_int_equal(res.delivered, res.total);
    assert_int_equal(res.failed, 0);
    cJSON *reqs = fake_wandb_requests(&s), *st = fake_wandb_state(&s);
    /* UpsertBucket, CreateRunFiles, 8 uploads, one file_stream */
    assert_int_equal(cJSON_GetArraySize(reqs), 11);
    const cJSON *r0 = cJSON_GetArrayItem(reqs, 0);
    const cJSON *r1 = cJSON_GetArrayItem(reqs, 1);
    const cJSON *r10 = cJSON_GetArrayItem(reqs, 10);
    assert_true(is_op(r0, "UpsertBucket"));
    assert_true(is_op(r1, "CreateRunFiles"));
    assert_true(is_fs(r10));
    assert_string_equal(jstr(r10, "path"),
                        "/files/team-x/evals/wb-run-1/file_stream");
    expect_upsert_exact(r0);
    const cJSON *fv = cJSON_GetObjectItem(
        cJSON_GetObjectItem(r1, "json"), "variables");
    assert_string_equal(jstr(fv, "entity"), "team-x");
    assert_string_equal(jstr(fv, "project"), "evals");
    assert_string_equal(jstr(fv, "run"), "wb-run-1");
    expect_file_list(cJSON_GetObjectItem(fv, "files"));
    expect_uploads(reqs, st);
    expect_stream_exact(r10, st, "team-x/evals/wb-run-1", t0, t1);
    expect_three_rows(st, "team-x/evals/wb-run-1", t0, t1);
    cJSON *run = cJSON_GetObjectItem(cJSON_GetObjectItem(st, "runs"),
                                     "team-x/evals/wb-run-1");
    assert_int_equal(cJSON_GetObjectItem(run, "complete")->valueint, 0);
    free(sink);
    case_end(&s, reqs, st, dir);
}

/* Offsets stay continuous across a dropped connection (the server
 * applied the request, the answer was lost), 503s and a reset: every
 * retry resends the same offset and lines, and each line ends up once. */
static void test_offsets_across_retries(void **state)
{
    (void)state;
    struct fake_wandb s;
    char *dir = case_begin(
        &s, "[{\"match\": \"file_stream\", \"action\": \"drop\","
            " \"at\": [3]},"
            " {\"match\": \"file_stream\", \"action\": \"status\","
            " \"status\": 503, \"at\": [6, 7]},"
            " {\"match\": \"file_stream\", \"action\": \"reset\","
            " \"at\": [10]}]");
    evt_tracker *t = open_wandb(dir, "run-off", s.url, NULL);
    enum { N = 12 };
    for (int i = 0; i < N; i++) {
        assert_int_equal(evt_log_scalar(t, "loss", i * 0.5, i), EVT_OK);
        assert_int_equal(evt_flush(t, 20000), EVT_OK); /* seals row i */
    }
    struct evt_sink_stats st = stats_of(t);
    close_ok(t);
    assert_int_equal(st.dead_lettered, 0);
    cJSON *reqs = fake_wandb_requests(&s), *state_ = fake_wandb_state(&s);
    /* every data request starts where the acknowledged lines end; a
     * failed one is repeated byte for byte */
    int64_t acked = 0;
    const cJSON *r, *prev_failed = NULL;
    int failures = 0, data = 0;
    cJSON_ArrayForEach(r, reqs) {
        if (!is_data_fs(r))
            continue;
        const cJSON *h = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(r, "json"), "files"),
            "wandb-history.jsonl");
        if (prev_failed)
            assert_string_equal(jstr(r, "body"), jstr(prev_failed, "body"));
        if (h) {
            int off = cJSON_GetObjectItem(h, "offset")->valueint;
            if (off != acked)
                fail_msg("request at offset %d, %lld lines acknowledged", off,
                         (long long)acked);
        }
        data++;
        int ok = status_of(r) == 200 && !jstr(r, "fault");
        prev_failed = ok ? NULL : r;
        failures += !ok;
        if (ok && h)
            acked += cJSON_GetArraySize(cJSON_GetObjectItem(h, "content"));
    }
    if (failures != 4 || data < N + 4) {
        print_requests(reqs);
        fail_msg("%d failed and %d data requests", failures, data);
    }
    const cJSON *hist = srv_history(state_, "fake-entity/evals/run-off");
    assert_int_equal(cJSON_GetArraySize(hist), N);
    for (int i = 0; i < N; i++) {
        cJSON *o = cJSON_Parse(cJSON_GetArrayItem(hist, i)->valuestring);
        assert_true(cJSON_GetObjectItem(o, "loss")->valuedouble == i * 0.5);
        assert_int_equal(cJSON_GetObjectItem(o, "_step")->valueint, i);
        cJSON_Delete(o);
    }
    expect_no_changed_lines(state_, "fake-entity/evals/run-off");
    assert_int_equal(rewrites_of(state_, "fake-entity/evals/run-off"), 1);
    case_end(&s, reqs, state_, dir);
}

/* 429 with Retry-After and 5xx answers on every kind of request, then
 * success; run_end's exit code reaches "complete". */
static void test_429_5xx_then_success(void **state)
{
    (void)state;
    struct fake_wandb s;
    char *dir = case_begin(
        &s, "[{\"match\": \"graphql:UpsertBucket\", \"status\": 429,"
            " \"retry_after\": \"0\", \"at\": [1]},"
            " {\"match\": \"graphql:UpsertBucket\", \"status\": 500,"
            " \"at\": [2]},"
            " {\"match\": \"graphql:CreateRunFiles\", \"status\": 503,"
            " \"at\": [1]},"
            " {\"match\": \"upload\", \"status\": 500, \"at\": [2]},"
            " {\"match\": \"file_stream\", \"status\": 502, \"at\": [1]}]");
    double t0 = now_s();
    evt_tracker *t = open_wandb(dir, "run-5xx", s.url, NULL);
    log_three_tasks(t, 3);
    struct evt_sink_stats st = stats_of(t);
    close_ok(t);
    double t1 = now_s();
    assert_int_equal(st.dead_lettered, 0);
    cJSON *reqs = fake_wandb_requests(&s), *state_ = fake_wandb_state(&s);
    const cJSON *ups[16];
    size_t n = pick(reqs, is_upsert, ups, 16);
    assert_true(n >= 3);
    assert_int_equal(status_of(ups[0]), 429);
    assert_int_equal(status_of(ups[1]), 500);
    assert_int_equal(status_of(ups[2]), 200);
    /* the first answer sets the run; later ones carry its id */
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ups[2], "json"), "variables"),
        "id")));
    for (size_t i = 3; i < n && i < 16; i++)
        assert_non_null(jstr(cJSON_GetObjectItem(
                                 cJSON_GetObjectItem(ups[i], "json"),
                                 "variables"),
                             "id"));
    const char *key = "fake-entity/evals/run-5xx";
    expect_three_rows(state_, key, t0, t1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(state_,
                                                            "uploads")),
                     8);
    assert_int_equal(
        cJSON_GetObjectItem(srv_run(state_, key), "complete")->valueint, 3);
    case_end(&s, reqs, state_, dir);
}

/* A port nothing listens on. */
static int closed_port(void)
{
    int port = fake_server_closed_port();
    assert_true(port > 0);
    return port;
}

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *d = tu_read_file(from, &n);
    assert_non_null(d);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
    free(d);
}

/* The .wandb file of the fallback holds the run's history. */
static void expect_offline_run(const char *dir)
{
    char *root = tu_fmt("%s/out/wandb", dir);
    DIR *d = opendir(root);
    assert_non_null(d);
    struct dirent *de;
    char *path = NULL;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "offline-run-", 12) == 0)
            path = tu_fmt("%s/%s/run-evt-run-1.wandb", root, de->d_name);
    closedir(d);
    assert_non_null(path);
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    assert_non_null(buf);
    struct wbr_file f;
    char err[128];
    if (wbr_read((unsigned char *)buf, len, &f, err, sizeof err))
        fail_msg("%s: %s", path, err);
    size_t hist = 0;
    for (size_t i = 0; i < f.n; i++) {
        struct wbr_msg m;
        assert_int_equal(wbr_decode(f.rec[i].data, f.rec[i].len, &m), 0);
        hist += wbr_record_type(&m, NULL) == 2;
    }
    assert_int_equal(hist, 3);
    wbr_free(&f);
    free(buf);
    free(path);
    free(root);
}

/* Unreachable: one warning, no blocking, offline run and dead letters;
 * then the replay sends the whole history once, and a second replay of
 * the same dead letters sends none of it again. */
static void test_unreachable_then_replay(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    char *down = tu_fmt("http://127.0.0.1:%d", closed_port());
    log_start();
    char *sink = tu_fmt("\"plugin\": \"wandb\", \"retry\": {\"limit\": 1,"
                        " \"base_ms\": 1, \"cap_ms\": 2}, \"config\":"
                        " {\"base_url\": \"%s\", \"project\": \"evals\", "
                        "\"init_timeout_secs\": 0.3, \"retry_base_ms\": 5,"
                        " \"retry_cap_ms\": 50, \"request_timeout_secs\": 5,"
                        " \"reconnect_secs\": 0, \"stream_interval_secs\": 0}",
                        down);
    char *text = fake_wandb_config(dir, "evt-run-1", sink);
    evt_tracker *t = open_cfg(text);
    double t0 = now_s();
    log_three_tasks(t, 0);
    double logged = now_s() - t0;
    assert_true(logged < 2.0); /* the producer never waits for W&B */
    close_ok(t);
    if (log_count(EVT_LOG_WARN, "unreachable", "going offline") != 1) {
        log_dump();
        fail_msg("expected one warning about going offline");
    }
    expect_offline_run(dir);
    char *rej = tu_fmt("%s/state/rejected/wandb.spool", dir);
    char *bak = tu_fmt("%s/dead-letters.copy", dir);
    copy_file(rej, bak);

    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    char *live = wandb_sink(s.url, "\"project\": \"evals\"");
    struct evt_replay_result res = replay(dir, live);
    double t1 = now_s();
    assert_int_equal(res.total, 17);
    assert_int_equal(res.delivered, 17);
    const char *key = "fake-entity/evals/evt-run-1";
    cJSON *st = fake_wandb_state(&s), *reqs = fake_wandb_requests(&s);
    expect_three_rows(st, key, t0, t1);
    assert_int_equal(rewrites_of(st, key), 0);
    assert_int_equal(cJSON_GetObjectItem(srv_run(st, key),
                                         "complete")->valueint,
                     0);
    size_t data_before = pick(reqs, is_data_fs, NULL, 0);
    cJSON_Delete(st);
    cJSON_Delete(reqs);

    /* the same dead letters once more: nothing new reaches the server */
    copy_file(bak, rej);
    res = replay(dir, live);
    assert_int_equal(res.delivered, 17);
    st = fake_wandb_state(&s);
    reqs = fake_wandb_requests(&s);
    expect_three_rows(st, key, t0, now_s());
    assert_int_equal(rewrites_of(st, key), 0);
    assert_int_equal(pick(reqs, is_data_fs, NULL, 0), data_before);
    for (size_t i = 0; i < nlogs; i++)
        assert_null(strstr(logs[i], KEY));
    free(live);
    free(rej);
    free(bak);
    free(sink);
    free(text);
    free(down);
    case_end(&s, reqs, st, dir);
}

/* Offline after a failed init, then the server comes back: the sink
 * finds it again (reconnect_secs), sends everything once, and says so. */
static void test_fallback_then_reconnect(void **state)
{
    (void)state;
    clear_env();
    char *dir = tu_tmpdir();
    int port = closed_port();
    char *url = tu_fmt("http://127.0.0.1:%d", port);
    log_start();
    char *sink = tu_fmt("\"plugin\": \"wandb\", \"retry\": {\"limit\": 200,"
                        " \"base_ms\": 20, \"cap_ms\": 40}, \"config\":"
                        " {\"base_url\": \"%s\", \"project\": \"evals\","
                        " \"init_timeout_secs\": 0.2, \"retry_base_ms\": 5,"
                        " \"retry_cap_ms\": 20, \"request_timeout_secs\": 5,"
                        " \"reconnect_secs\": 0.3,"
                        " \"stream_interval_secs\": 0}",
                        url);
    char *text = fake_wandb_config(dir, "evt-run-1", sink);
    double t0 = now_s();
    evt_tracker *t = open_cfg(text);
    log_three_tasks(t, 0);
    sleep_ms(300); /* the first batch fails: offline */
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, port);
    close_ok(t);
    double t1 = now_s();
    if (log_count(EVT_LOG_WARN, "unreachable", "going offline") != 1 ||
        log_count(EVT_LOG_INFO, "reachable again", NULL) != 1) {
        log_dump();
        fail_msg("expected one warning, then one \"reachable again\"");
    }
    char *rej = tu_fmt("%s/state/rejected/wandb.spool", dir);
    struct stat sb;
    assert_true(stat(rej, &sb) != 0 || sb.st_size <= 8); /* no dead letter */
    cJSON *st = fake_wandb_state(&s);
    expect_three_rows(st, "fake-entity/evals/evt-run-1", t0, t1);
    assert_int_equal(rewrites_of(st, "fake-entity/evals/evt-run-1"), 0);
    free(rej);
    free(sink);
    free(text);
    free(url);
    case_end(&s, NULL, st, dir);
}

/* WANDB_MODE=disabled: no request, no file. */
static void test_disabled(void **state)
{
    (void)state;
    clear_env();
    setenv("WANDB_MODE", "disabled", 1);
    char *dir = tu_tmpdir();
    struct fake_wandb s;
    fake_wandb_start(&s, dir, NULL, 0);
    evt_tracker *t = open_wandb(dir, "run-off", s.url, NULL);
    log_three_tasks(t, 0);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct evt_sink_stats st = stats_of(t);
    close_ok(t);
    unsetenv("WANDB_MODE");
    assert_int_equal(st.written, 17);
    cJSON *reqs = fake_wandb_requests(&s);
    assert_int_equal(cJSON_GetArraySize(reqs), 0);
    cJSON_Delete(reqs);
    struct stat sb;
    char *p1 = tu_fmt("%s/state/sinks/wandb", dir);
    char *p2 = tu_fmt("%s/out/wandb", dir);
    assert_int_not_equal(stat(p1, &sb), 0);
    assert_int_not_equal(stat(p2, &sb), 0);
    free(p1);
    free(p2);
    fake_wandb_stop(&s);
    tu_rmtree(dir);
}

/* Under load at most one file_stream request per interval; heartbeats
 * while idle; a close without run_end completes the run (exit code 0). */
static void test_pacing_and_heartbeat(void **state)
{
    (void)state;
    struct fake_wandb s;
    char *dir = case_begin(&s, NULL);
    evt_tracker *t = open_wandb(dir, "run-pace", s.url,
                                "\"stream_interval_secs\": 0.3,"
                                " \"heartbeat_secs\": 0.5");
    int n = scale(200);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        assert_int_equal(evt_log_scalar(t, "loss", 1.0 / (i + 1), i),
                         EVT_OK);
        sleep_ms(4);
    }
    double busy = now_s() - t0;
    sleep_ms(1300); /* idle: heartbeats */
    close_ok(t);
    cJSON *reqs = fake_wandb_requests(&s), *st = fake_wandb_state(&s);
    const cJSON *data[512];
    size_t nd = pick(reqs, is_data_fs, data, 512);
    assert_true(nd >= 2 && nd <= 512);
    for (size_t i = 1; i < nd; i++) {
        double gap = cJSON_GetObjectItem(data[i], "t")->valuedouble -
                     cJSON_GetObjectItem(data[i - 1], "t")->valuedouble;
        /* server-side times: allow for transit jitter (unpaced requests
         * would be ~4 ms apart) */
        if (gap < 0.3 - 0.1) {
            print_requests(reqs);
            fail_msg("file_stream requests %zu and %zu only %.3f s apart",
                     i - 1, i, gap);
        }
    }
    assert_true((double)nd <= busy / 0.3 + 4);
    const cJSON *hb[64];
    size_t nh = pick(reqs, is_heartbeat, hb, 64);
    assert_true(nh >= 1);
    /* a heartbeat comes after heartbeat_secs without a request */
    double prev = -1;
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs) {
        double tr = cJSON_GetObjectItem(r, "t")->valuedouble;
        if (is_heartbeat(r) && prev >= 0 && tr - prev < 0.5 - 0.15)
            fail_msg("heartbeat %.3f s after the previous request", tr - prev);
        if (is_fs(r))
            prev = tr;
    }
    const char *key = "fake-entity/evals/run-pace";
    const cJSON *hist = srv_history(st, key);
    assert_int_equal(cJSON_GetArraySize(hist), n);
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_Parse(cJSON_GetArrayItem(hist, i)->valuestring);
        assert_int_equal(cJSON_GetObjectItem(o, "_step")->valueint, i);
        cJSON_Delete(o);
    }
    expect_no_changed_lines(st, key);
    const cJSON *last = data[nd - 1];
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(last, "json"), "complete")));
    assert_int_equal(cJSON_GetObjectItem(srv_run(st, key),
                                         "complete")->valueint,
                     0);
    case_end(&s, reqs, st, dir);
}

/* The marker must be in no file under dir. */
static int ftw_found;
static int ftw_no_key(const char *path, const struct stat *sb, int flag,
                      struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F || !S_ISREG(sb->st_mode))
        return 0;
    size_t n = 0;
    char *d = tu_read_file(path, &n);
    if (d && memmem(d, n, KEY, strlen(KEY))) {
        fprintf(stderr, "the API key is in %s\n", path);
        ftw_found++;
    }
    free(d);
    return 0;
}

static void expect_key_nowhere(const char *dir)
{
    ftw_found = 0;
    nftw(dir, ftw_no_key, 16, FTW_PHYS);
    assert_int_equal(ftw_found, 0);
    for (size_t i = 0; i < nlogs; i++)
        if (strstr(logs[i], KEY))
            fail_msg("the API key is in a log line: %s", logs[i]);
}

/* The key never leaves: scrubbed from events, absent from every file,
 * request body and log line, on success and on a refusal. */
static void test_secret_never_written(void **state)
{
    (void)state;
    struct fake_wandb s;
    char *dir = case_begin(&s, NULL);
    evt_tracker *t = open_wandb(dir, "run-key", s.url, NULL);
    log_json(t, EVT_EV_RUN_START,
             "{\"model_name\": \"m\", \"model_args\": \"pretrained=m,"
             "api_key=" KEY "\", \"note\": \"" KEY "\"}");
    assert_int_equal(evt_log_scalar(t, "leak/" KEY, 1.0, 1), EVT_OK);
    assert_int_equal(evt_log_result(t, "task", "acc", NULL, 0.5, NAN, -1),
                     EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    close_ok(t);
    cJSON *reqs = fake_wandb_requests(&s);
    assert_true(cJSON_GetArraySize(reqs) >= 3);
    const cJSON *r;
    cJSON_ArrayForEach(r, reqs) {
        const char *auth = jstr(cJSON_GetObjectItem(r, "headers"),
                                "authorization");
        if (strcmp(jstr(r, "method"), "POST") == 0)
            assert_string_equal(auth, "Basic " KEY_B64);
        assert_null(strstr(jstr(r, "body"), KEY));
    }
    cJSON_Delete(reqs);
    fake_wandb_stop(&s);
    expect_key_nowhere(dir);
    tu_rmtree(dir);
    log_clear();

    /* refused (403): logged without the key, events dead-lettered */
    dir = tu_tmpdir();
    fake_wandb_start(&s, dir, "[{\"match\": \"graphql:UpsertBucket\","
                            " \"status\": 403, \"count\": 100}]", 0);
    log_start();
    t = open_wandb(dir, "run-key2", s.url, NULL);
    assert_int_equal(evt_log_scalar(t, "loss", 1.0, 1), EVT_OK);
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    evt_close(t, 30000);
    assert_true(log_count(EVT_LOG_ERROR, "HTTP 403", NULL) >= 1);
    fake_wandb_stop(&s);
    expect_key_nowhere(dir);
    tu_rmtree(dir);
    log_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),
        cmocka_unit_test(test_wandb_args),
        cmocka_unit_test(test_exact_three_tasks),
        cmocka_unit_test(test_offsets_across_retries),
        cmocka_unit_test(test_429_5xx_then_success),
        cmocka_unit_test(test_unreachable_then_replay),
        cmocka_unit_test(test_fallback_then_reconnect),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_pacing_and_heartbeat),
        cmocka_unit_test(test_secret_never_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
