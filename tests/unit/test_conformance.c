/* test_conformance.c -- `evtrack conformance` (docs/CONFORMANCE.md).
 *
 * - All six built-in sinks pass it: local-json, jsonl, markdown-table and
 *   tensorboard-events with no config; hf-hub pushing to the fake Hub
 *   (tests/fake/hf_hub_server.py on 127.0.0.1); wandb offline, and online
 *   against the fake W&B server (tests/fake/wandb_server.py). Every check
 *   passes except the exact SKIPs their event masks and keys call for,
 *   and the fake servers did receive the pushes.
 * - Each deliberately broken fixture (tests/fixtures/bad_*.c) fails
 *   exactly its checks, with the exact lines, and exit code 1; loader
 *   refusals fail their abi.* line and skip the rest.
 * - Usage errors exit 2; --help exits 0 and the top-level help lists the
 *   command.
 * - The engine run in this process (evt_conformance_run), so that
 *   valgrind (ctest -T memcheck) sees the kit and the sinks it forks. */
#define _GNU_SOURCE /* setenv */
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "../fake/fake_server.h"
#include "conformance.h"

#define TOKEN "hf_conformanceTOKEN0123456789abcd"
#define WB_KEY "wbk-conformance-0123456789"
#define NCHECKS 40

static struct fake_server hub;
static char *hub_log, *wb_log, *work;
static pid_t wb_pid; /* tests/fake/wandb_server.py */
static int wb_port;

/* ---- running the command -------------------------------------------------*/

struct out {
    int code;
    char *text; /* stdout */
    char *err;  /* stderr */
};

static struct out run(const char *args)
{
    char *so = tu_fmt("%s/conf.out", work), *se = tu_fmt("%s/conf.err", work);
    char *cmd = tu_fmt("%s/bin/evtrack conformance %s >%s 2>%s",
                       getenv("EVT_TEST_BUILD_DIR"), args, so, se);
    int st = system(cmd);
    struct out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                    tu_read_file(so, NULL), tu_read_file(se, NULL)};
    assert_non_null(o.text);
    assert_non_null(o.err);
    free(cmd);
    free(so);
    free(se);
    return o;
}

static void out_free(struct out *o)
{
    free(o->text);
    free(o->err);
}

/* The lines of text that start with word ("FAIL "), joined by '\n'. */
static char *lines_of(const char *text, const char *word)
{
    size_t cap = strlen(text) + 1, n = 0;
    char *r = malloc(cap);
    assert_non_null(r);
    r[0] = '\0';
    for (const char *l = text; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (strncmp(l, word, strlen(word)) == 0) {
            memcpy(r + n, l, len);
            n += len;
            r[n++] = '\n';
            r[n] = '\0';
        }
        l = nl ? nl + 1 : NULL;
    }
    return r;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void show_on_failure(const struct out *o)
{
    if (strstr(o->text, "\nFAIL ") || o->code != 0)
        fprintf(stderr, "---- stdout\n%s---- stderr\n%s", o->text, o->err);
}

static char *write_config(const char *name, const char *json)
{
    char *path = tu_fmt("%s/%s", work, name);
    tu_write_file(path, json);
    return path;
}

static char *plugin(const char *name)
{
    return tu_fmt("%s/lib/evtrack/plugins/evtrack-sink-%s.so",
                  getenv("EVT_TEST_BUILD_DIR"), name);
}

/* Run the kit on a built-in sink: exit 0, every check reported, no FAIL,
 * exactly the SKIP lines named in skips (in order). */
static void expect_pass(const char *sink, const char *config_json,
                        const char *skips)
{
    char *so = plugin(sink), *cfg = NULL, *args;
    if (config_json) {
        cfg = write_config("sink.json", config_json);
        args = tu_fmt("%s --config %s", so, cfg);
    } else {
        args = tu_fmt("%s", so);
    }
    struct out o = run(args);
    show_on_failure(&o);
    char *fails = lines_of(o.text, "FAIL "), *skipped = lines_of(o.text,
                                                                 "SKIP ");
    char *passed = lines_of(o.text, "PASS ");
    assert_string_equal(fails, "");
    assert_int_equal(o.code, 0);
    assert_int_equal(count_lines(passed) + count_lines(skipped), NCHECKS);
    /* the SKIP names, without their reasons */
    char names[1024];
    size_t n = 0;
    for (const char *l = skipped; *l; l = strchr(l, '\n') + 1) {
        const char *dash = strstr(l, " \xe2\x80\x94 ");
        assert_non_null(dash);
        size_t len = (size_t)(dash - l - 5);
        assert_true(n + len + 2 < sizeof names);
        memcpy(names + n, l + 5, len);
        n += len;
        names[n++] = ' ';
    }
    names[n] = '\0';
    assert_string_equal(names, skips);
    /* the contract points that matter most are there, passed */
    const char *must[] = {"PASS abi.version \xe2\x80\x94 ABI 1.1 (host 1.1)",
                          "PASS config.hostile_values \xe2\x80\x94 ",
                          "PASS lifecycle.flush_before_write \xe2\x80\x94 ",
                          "PASS hostile.path_names \xe2\x80\x94 ",
                          "PASS retry.same_batch \xe2\x80\x94 ",
                          "PASS host.close_once \xe2\x80\x94 ",
                          "PASS host.close_abandoned \xe2\x80\x94 ",
                          "PASS threads.no_leak \xe2\x80\x94 "};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_non_null(strstr(passed, must[i]));
    free(fails);
    free(skipped);
    free(passed);
    out_free(&o);
    free(args);
    free(cfg);
    free(so);
}

/* ---- the built-in sinks pass -------------------------------------------*/

static void test_local_sinks_pass(void **state)
{
    (void)state;
    expect_pass("local-json", NULL, "config.missing_required events.scalar ");
    expect_pass("jsonl", NULL,
                "config.missing_required events.task_config events.result "
                "events.scalar ");
    expect_pass("markdown-table", NULL,
                "config.missing_required events.scalar ");
    expect_pass("tensorboard-events", NULL,
                "config.missing_required events.sample ");
}

static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void test_hf_hub_passes_against_fake_hub(void **state)
{
    (void)state;
    char *cfg = tu_fmt("{\"endpoint\": \"%s\", \"org\": \"conf-org\", "
                       "\"token_env\": \"CONF_HF_TOKEN\", \"http_attempts\": "
                       "2, \"http_backoff_ms\": 1, \"http_backoff_cap_ms\": "
                       "4, \"timeout_secs\": 20}", hub.url);
    expect_pass("hf-hub", cfg, "config.missing_required events.scalar ");
    free(cfg);
    /* the runs with a run_end were pushed: commits reached the fake Hub */
    char *log = tu_read_file(hub_log, NULL);
    assert_non_null(log);
    assert_true(occurrences(log, "\"/api/datasets/conf-org/lmms-eval-results-"
                                 "private/commit/main\"") >= 10);
    free(log);
}

static void test_wandb_offline_passes(void **state)
{
    (void)state;
    expect_pass("wandb", "{\"mode\": \"offline\", \"project\": \"conf\"}",
                "config.missing_required ");
}

/* tests/fake/wandb_server.py on 127.0.0.1; it writes its port to a file. */
static pid_t wandb_server(const char *dir, const char *log, int *port)
{
    char *script = tu_fmt("%s/tests/fake/wandb_server.py",
                          getenv("EVT_TEST_SOURCE_DIR"));
    char *portf = tu_fmt("%s/wb.port", dir), *state = tu_fmt("%s/wb.state",
                                                             dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* gone when the test dies */
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("python3", "python3", script, "--port-file", portf, "--log",
               log, "--state", state, (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 1500 && !*port; i++) {
        char *p = tu_read_file(portf, NULL);
        if (p)
            *port = (int)strtol(p, NULL, 10);
        free(p);
        if (!*port) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    free(script);
    free(portf);
    free(state);
    return pid;
}

static void test_wandb_online_passes_against_fake_server(void **state)
{
    (void)state;
    assert_true(wb_port > 0);
    setenv("CONF_WANDB_KEY", WB_KEY, 1);
    char *cfg = tu_fmt("{\"mode\": \"online\", \"api_key\": "
                       "\"${CONF_WANDB_KEY}\", \"base_url\": "
                       "\"http://127.0.0.1:%d\", \"project\": \"conf\", "
                       "\"init_timeout_secs\": 2, \"retry_base_ms\": 5, "
                       "\"retry_cap_ms\": 50, \"attempts\": 4, "
                       "\"request_timeout_secs\": 5, "
                       "\"stream_interval_secs\": 0}", wb_port);
    expect_pass("wandb", cfg, "config.missing_required ");
    char *text = tu_read_file(wb_log, NULL);
    assert_non_null(text);
    assert_true(occurrences(text, "UpsertBucket") >= 10);
    assert_true(occurrences(text, "file_stream") >= 10);
    free(text);
    free(cfg);
}

/* ---- broken fixtures fail exactly their checks ------------------------------*/

/* expected may hold "{CRASH}": how a crash shows differs with the build
 * (SIGSEGV plainly, SIGABRT or an exit status under sanitizers). */
static int line_matches(const char *expected, const char *got, size_t len)
{
    const char *hole = strstr(expected, "{CRASH}");
    if (!hole)
        return strlen(expected) == len && strncmp(expected, got, len) == 0;
    size_t pre = (size_t)(hole - expected), suf = strlen(hole + 7);
    if (len < pre + suf || strncmp(got, expected, pre) != 0 ||
        strncmp(got + len - suf, hole + 7, suf) != 0)
        return 0;
    const char *mid = got + pre;
    return strncmp(mid, "crashed (SIG", 12) == 0 ||
           strncmp(mid, "its process exited with status ", 31) == 0;
}

static void expect_fails(const char *fixture, const char *const *want,
                         size_t nwant)
{
    char *args = tu_fmt("%s/%s.so", tu_fixture_dir(), fixture);
    struct out o = run(args);
    char *fails = lines_of(o.text, "FAIL ");
    if (count_lines(fails) != nwant)
        fprintf(stderr, "---- %s\n%s---- stderr\n%s", fixture, o.text, o.err);
    assert_int_equal(o.code, 1);
    assert_int_equal(count_lines(fails), nwant);
    const char *l = fails;
    for (size_t i = 0; i < nwant; i++) {
        const char *nl = strchr(l, '\n');
        if (!line_matches(want[i], l, (size_t)(nl - l)))
            fail_msg("%s: got\n  %.*s\nwant\n  %s", fixture, (int)(nl - l), l,
                     want[i]);
        l = nl + 1;
    }
    assert_non_null(strstr(o.text, "40 checks: "));
    free(fails);
    out_free(&o);
    free(args);
}

#define DASH " \xe2\x80\x94 "

static void test_broken_fixtures_fail_their_checks(void **state)
{
    (void)state;
    const char *flush_first[] = {
        "FAIL lifecycle.create_close" DASH
        "{CRASH} at: evt_close, inside flush()",
        "FAIL lifecycle.flush_before_write" DASH
        "{CRASH} at: evt_flush, inside flush()"};
    expect_fails("bad_flush_first", flush_first, 2);
    const char *thread_leak[] = {
        "FAIL threads.no_leak" DASH "+1 thread(s) still running 2 s after "
        "evt_close returned: a thread the sink started outlived destroy()"};
    expect_fails("bad_thread_leak", thread_leak, 1);
    const char *retry_dup[] = {
        "FAIL retry.same_batch" DASH "write() of a batch written again after "
        "EVT_RETRY returned -1 (EVT_ERROR): the host disabled the sink: event "
        "seq 1 seen twice"};
    expect_fails("bad_retry_dup", retry_dup, 1);
    const char *event_refs[] = {
        "FAIL events.immutable" DASH "write() changed the bytes of 324 "
        "event(s) (first: seq 1); events are read-only",
        "FAIL events.retain_release" DASH "after destroy() returned, 324 "
        "event(s) were still retained and 0 released more often than "
        "retained"};
    expect_fails("bad_event_refs", event_refs, 2);
    const char *big[] = {
        "FAIL hostile.long_strings" DASH "write() returned -1 (EVT_ERROR): the "
        "host disabled the sink: an event over 64 KiB",
        "FAIL hostile.deep_nesting" DASH "write() returned -1 (EVT_ERROR): the "
        "host disabled the sink: an event over 64 KiB"};
    expect_fails("bad_big_events", big, 2);
}

static void test_loader_refusals(void **state)
{
    (void)state;
    const char *major[] = {"FAIL abi.version" DASH "refused: built for ABI "
                           "major 2, this host speaks major 1"};
    expect_fails("bad_major", major, 1);
    const char *entry[] = {"FAIL abi.entry" DASH "refused: not an evtrack "
                           "sink (no evt_sink_entry_v1 symbol)"};
    expect_fails("bad_no_entry", entry, 1);
    const char *write_cb[] = {"FAIL abi.callbacks" DASH "refused: required "
                              "callback 'write' is NULL"};
    expect_fails("bad_missing_write", write_cb, 1);
    /* what comes before the refusal passed, the rest was not run */
    char *args = tu_fmt("%s/bad_major.so", tu_fixture_dir());
    struct out o = run(args);
    assert_non_null(strstr(o.text, "\nPASS abi.entry" DASH));
    assert_non_null(strstr(o.text, "\nSKIP abi.struct_size" DASH "not "
                                   "checked: the loader stopped at "
                                   "abi.version\n"));
    assert_non_null(strstr(o.text, "\nSKIP threads.no_leak" DASH "the "
                                   "loader refused the plugin (see abi.*)\n"));
    assert_non_null(strstr(o.text, "\n40 checks: 2 passed, 1 failed, 37 "
                                   "skipped\n"));
    out_free(&o);
    free(args);
}

/* ---- usage ---------------------------------------------------------------*/

static void test_usage(void **state)
{
    (void)state;
    struct out o = run("");
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.err, "usage: evtrack conformance PATH.so"));
    out_free(&o);
    o = run("--help");
    assert_int_equal(o.code, 0);
    assert_non_null(strstr(o.text, "usage: evtrack conformance PATH.so"));
    out_free(&o);
    o = run("/nonexistent/evtrack-sink-x.so");
    assert_int_equal(o.code, 2);
    assert_string_equal(o.err, "evtrack: /nonexistent/evtrack-sink-x.so: No "
                               "such file or directory\n");
    out_free(&o);
    char *so = plugin("jsonl"), *bad = write_config("bad.json", "[1, 2]");
    char *args = tu_fmt("%s --config %s", so, bad);
    o = run(args);
    assert_int_equal(o.code, 2);
    char *want = tu_fmt("evtrack: %s: the sink config is not a JSON object\n",
                        bad);
    assert_string_equal(o.err, want);
    out_free(&o);
    free(want);
    free(args);
    args = tu_fmt("%s --config %s/missing.json", so, work);
    o = run(args);
    assert_int_equal(o.code, 2);
    assert_non_null(strstr(o.err, "missing.json: cannot read: No such file"));
    out_free(&o);
    free(args);
    args = tu_fmt("%s --timeout 0", so);
    o = run(args);
    assert_int_equal(o.code, 2);
    out_free(&o);
    free(args);
    /* --keep: the sandboxes stay, and the report says where */
    args = tu_fmt("%s/bad_major.so --keep", tu_fixture_dir());
    o = run(args);
    const char *kept = strstr(o.text, "\nkept: ");
    assert_non_null(kept);
    char *dir = strndup(kept + 7, strcspn(kept + 7, "\n"));
    char *abi = tu_fmt("%s/abi.load/jail", dir);
    assert_int_equal(access(abi, F_OK), 0);
    free(abi);
    tu_rmtree(dir);
    out_free(&o);
    free(args);
    /* the top-level help lists the command */
    char *cmd = tu_fmt("%s/bin/evtrack --help >%s/help.out 2>&1",
                       getenv("EVT_TEST_BUILD_DIR"), work);
    assert_int_equal(system(cmd), 0);
    char *path = tu_fmt("%s/help.out", work), *help = tu_read_file(path, NULL);
    assert_non_null(strstr(help, "  conformance PATH.so [--config FILE]\n"));
    free(help);
    free(path);
    free(cmd);
    free(bad);
    free(so);
}

/* ---- in this process (what valgrind sees) ----------------------------------*/

struct collected {
    size_t n;
    char fails[2048];
};

static void collect(void *ud, enum evt_conf_verdict v, const char *name,
                    const char *reason)
{
    struct collected *c = ud;
    c->n++;
    if (v != EVT_CONF_FAIL)
        return;
    size_t used = strlen(c->fails);
    snprintf(c->fails + used, sizeof c->fails - used, "%s: %s\n", name,
             reason);
}

static void test_engine_in_process(void **state)
{
    (void)state;
    char err[EVT_ERRMSG_SIZE], *so = plugin("jsonl");
    struct evt_conf_opts o = {NULL, 120, 0};
    struct collected c = {0, ""};
    int rc = evt_conformance_run(so, &o, collect, &c, NULL, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "%s", c.fails);
    assert_int_equal(rc, 0);
    assert_int_equal(c.n, NCHECKS);
    free(so);
    so = tu_fmt("%s/bad_retry_dup.so", tu_fixture_dir());
    memset(&c, 0, sizeof c);
    rc = evt_conformance_run(so, &o, collect, &c, NULL, err, sizeof err);
    assert_int_equal(rc, 1);
    assert_string_equal(c.fails, "retry.same_batch: write() of a batch "
                                 "written again after EVT_RETRY returned -1 "
                                 "(EVT_ERROR): the host disabled the sink: "
                                 "event seq 1 seen twice\n");
    o.config_json = "\"not an object\"";
    assert_int_equal(evt_conformance_run(so, &o, collect, &c, NULL, err,
                                         sizeof err), EVT_EINVAL);
    assert_string_equal(err, "the sink config is not a JSON object");
    free(so);
}

/* ---- setup -------------------------------------------------------------------*/

static int setup(void **state)
{
    (void)state;
    static const char *const clear[] = {
        "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "WANDB_API_KEY",
        "WANDB_BASE_URL", "WANDB_MODE", "WANDB_PROJECT", "WANDB_ENTITY",
        "WANDB_RUN_ID", "WANDB_DIR", "WANDB_NAME", "WANDB_TAGS"};
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++)
        unsetenv(clear[i]);
    setenv("CONF_HF_TOKEN", TOKEN, 1);
    work = tu_tmpdir();
    hub_log = tu_fmt("%s/hub.log", work);
    wb_log = tu_fmt("%s/wb.log", work);
    wb_pid = wandb_server(work, wb_log, &wb_port);
    const char *args[] = {"--log", hub_log, "--token", TOKEN, NULL};
    return fake_server_start(&hub, "hf_hub_server.py", args);
}

/* Stopped here, not in the test, so that a failed test stops it too. */
static int teardown(void **state)
{
    (void)state;
    fake_server_stop(&hub);
    if (wb_pid > 0) {
        kill(wb_pid, SIGTERM);
        waitpid(wb_pid, NULL, 0);
    }
    free(hub_log);
    free(wb_log);
    tu_rmtree(work);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: its forked checks inherit this process's heap, and leak
         * checkers in them would count what a failed test left behind */
        cmocka_unit_test(test_engine_in_process),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_loader_refusals),
        cmocka_unit_test(test_broken_fixtures_fail_their_checks),
        cmocka_unit_test(test_local_sinks_pass),
        cmocka_unit_test(test_hf_hub_passes_against_fake_hub),
        cmocka_unit_test(test_wandb_offline_passes),
        cmocka_unit_test(test_wandb_online_passes_against_fake_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
