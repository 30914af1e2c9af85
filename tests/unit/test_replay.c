/* test_replay.c -- `evtrack replay` and core/replay.c: dead letters are
 * delivered again through their sink only, once, with their original
 * run_id and seq; failures are kept; a killed replay resumes and repeats
 * at most the batch that was in flight; --dry-run sends nothing. */
#include "test_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "evtrack/evtrack.h"
#include "replay.h"
#include "spool.h"

#define BATCH 256 /* EVT__BATCH_MAX: records the worker takes per batch */

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

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- configs ---------------------------------------------------------------*/

/* A test-sink instance recording "<seq> <kind> <step> r=<run_id>" lines to
 * <dir>/<name>.rec; extra: more sink members, cfg: more config keys. */
static char *sink(const char *dir, const char *name, const char *extra,
                  const char *cfg)
{
    return tu_fmt("{\"path\": \"%s/test_sink.so\", \"name\": \"%s\", "
                  "\"retry\": {\"limit\": 0, \"base_ms\": 0, \"cap_ms\": 0}"
                  "%s%s, \"config\": {\"record\": \"%s/%s.rec\", "
                  "\"record_msgpack\": false, \"record_run_id\": true%s%s}}",
                  tu_fixture_dir(), name, extra[0] ? ", " : "", extra, dir,
                  name, cfg[0] ? ", " : "", cfg);
}

/* Config text with the sinks "net" (net_cfg: its extra config keys) and
 * "other"; state_dir is <dir>/.evtrack. */
static char *config_text(const char *dir, const char *run_id,
                         const char *net_extra, const char *net_cfg)
{
    char *net = sink(dir, "net", net_extra, net_cfg);
    char *other = sink(dir, "other", "", "");
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"run_id\": \"%s\", "
                        "\"sinks\": [%s, %s]}", dir, run_id, net, other);
    free(net);
    free(other);
    return json;
}

/* Write a config file <dir>/<file>; returns its path. */
static char *config_file(const char *dir, const char *file,
                         const char *net_extra, const char *net_cfg)
{
    char *path = tu_fmt("%s/%s", dir, file);
    char *json = config_text(dir, "replayer", net_extra, net_cfg);
    tu_write_file(path, json);
    free(json);
    return path;
}

/* One run of n + 1 events (seq 1 .. n + 1): a result every 50th event,
 * scalars otherwise, then run_end. "net" dead-letters every batch (RETRY
 * with retry.limit 0); "other" takes them all. */
static void produce(const char *dir, const char *run_id, int n)
{
    char *json = config_text(dir, run_id, "", "\"retry_forever\": true");
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    if (evt_open_json(json, dir, &t, err, sizeof err) != EVT_OK)
        fail_msg("open failed: %s", err);
    for (int i = 0; i < n; i++) {
        if (i % 50 == 0)
            assert_int_equal(evt_log_result(t, "mme", "acc", NULL, i, -1, i),
                             EVT_OK);
        else
            assert_int_equal(evt_log_scalar(t, "loss", i, i), EVT_OK);
    }
    assert_int_equal(evt_log_run_end(t), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    free(json);
}

static char *state_file(const char *dir, const char *rel)
{
    return tu_fmt("%s/.evtrack/%s", dir, rel);
}

static int file_exists(const char *dir, const char *rel)
{
    char *p = state_file(dir, rel);
    struct stat st;
    int r = stat(p, &st) == 0;
    free(p);
    return r;
}

/* ---- what a sink received, what a spool holds -------------------------------*/

struct ev {
    unsigned long long seq;
    unsigned kind;
    char run[32];
};

/* The complete record lines of <dir>/<name>.rec (a line cut by a kill has
 * no newline and is not counted); count, *out heap array. */
static size_t received(const char *dir, const char *name, struct ev **out)
{
    char *path = tu_fmt("%s/%s.rec", dir, name);
    char *text = tu_read_file(path, NULL);
    free(path);
    size_t n = 0, cap = 64;
    *out = calloc(cap, sizeof **out);
    for (char *l = text, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
        if (*l == '#')
            continue;
        *nl = '\0';
        if (n == cap)
            *out = realloc(*out, (cap *= 2) * sizeof **out);
        char *p, *r = strstr(l, " r=");
        assert_non_null(r);
        (*out)[n].seq = strtoull(l, &p, 10);
        (*out)[n].kind = (unsigned)strtoul(p, NULL, 10);
        snprintf((*out)[n].run, sizeof (*out)[n].run, "%s", r + 3);
        n++;
    }
    free(text);
    return n;
}

/* Records after the cursor of a spool-format file (dead letters). */
static size_t spooled(const char *dir, const char *rel, struct ev **out)
{
    char *path = state_file(dir, rel);
    size_t n = 0, cap = 64;
    *out = calloc(cap, sizeof **out);
    struct evt__spool *s;
    char err[256];
    if (access(path, F_OK) == 0) {
        assert_int_equal(evt__spool_open(path, 0, &s, NULL, err, sizeof err),
                         0);
        const unsigned char *r;
        size_t len;
        while (evt__spool_next(s, (const void **)&r, &len) == 1) {
            if (n == cap)
                *out = realloc(*out, (cap *= 2) * sizeof **out);
            size_t rl = (size_t)r[2] | (size_t)r[3] << 8;
            (*out)[n].kind = r[4];
            (*out)[n].seq = 0;
            for (int i = 7; i >= 0; i--)
                (*out)[n].seq = (*out)[n].seq << 8 | r[8 + i];
            snprintf((*out)[n].run, sizeof (*out)[n].run, "%.*s", (int)rl,
                     (const char *)r + 32);
            n++;
        }
        evt__spool_close(s);
    }
    free(path);
    return n;
}

/* ev[from .. from + count) are seq first, first + 1, ... of run. */
static void expect_seqs(const struct ev *ev, size_t from, size_t count,
                        unsigned long long first, const char *run)
{
    for (size_t i = 0; i < count; i++) {
        if (ev[from + i].seq != first + i || strcmp(ev[from + i].run, run))
            fail_msg("event %zu: got seq %llu of %s, expected %llu of %s",
                     from + i, ev[from + i].seq, ev[from + i].run, first + i,
                     run);
    }
}

/* The kind produce() gave the event of this seq in a run of n + 1. */
static unsigned kind_of(unsigned long long seq, int n)
{
    if (seq == (unsigned long long)n + 1)
        return EVT_EV_RUN_END;
    return (seq - 1) % 50 == 0 ? EVT_EV_RESULT : EVT_EV_SCALAR;
}

/* ---- running the command ----------------------------------------------------*/

/* Run `evtrack <args>` in dir, capturing its output and exit code. */
static struct tu_out run(const char *dir, const char *args)
{
    char *bin = tu_evtrack_bin();
    char *cmd = tu_fmt("cd %s && %s %s", dir, bin, args);
    struct tu_out o = tu_run(dir, cmd);
    free(cmd);
    free(bin);
    return o;
}

static void expect_run(const char *dir, const char *args, int code,
                       const char *needle)
{
    struct tu_out o = run(dir, args);
    if (o.code != code || (needle && !strstr(o.text, needle)))
        fail_msg("evtrack %s: exit %d (expected %d), output:\n%s\n"
                 "(expected to contain: %s)", args, o.code, code, o.text,
                 needle ? needle : "-");
    free(o.text);
}

/* Start `evtrack <args>` in the background; its pid. */
static pid_t start(const char *dir, const char *args)
{
    char *bin = tu_evtrack_bin();
    char *cmd = tu_fmt("cd %s && exec %s %s >%s/bg.out 2>&1", dir, bin, args,
                       dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    free(cmd), free(bin);
    return pid;
}

/* Wait until the sink "net" has received at least n events. */
static void wait_received(const char *dir, size_t n)
{
    for (int i = 0; i < 4000; i++) {
        struct ev *ev;
        size_t got = received(dir, "net", &ev);
        free(ev);
        if (got >= n)
            return;
        sleep_ms(5);
    }
    fail_msg("net never received %zu events", n);
}

/* ---- delivery -------------------------------------------------------------------*/

/* Two runs' dead letters reach "net" once each, in order, with their
 * run_id and seq; "other" is not even created; nothing is left. */
static void test_delivers_once_through_that_sink_only(void **state)
{
    struct fx *f = *state;
    produce(f->dir, "run-a", 299);
    produce(f->dir, "run-b", 299);
    struct ev *ev;
    assert_int_equal(spooled(f->dir, "rejected/net.spool", &ev), 600);
    free(ev);
    assert_int_equal(received(f->dir, "net", &ev), 0);
    free(ev);
    char *other_path = tu_fmt("%s/other.rec", f->dir);
    char *other_before = tu_read_file(other_path, NULL);
    char *cfg = config_file(f->dir, "ok.json", "", "");
    char *args = tu_fmt("replay -c %s", cfg);
    expect_run(f->dir, args, 0, "sink net: delivered 600, failed 0, left 0");
    assert_int_equal(received(f->dir, "net", &ev), 600);
    expect_seqs(ev, 0, 300, 1, "run-a");
    expect_seqs(ev, 300, 300, 1, "run-b");
    for (size_t i = 0; i < 600; i++)
        assert_int_equal(ev[i].kind, kind_of(ev[i].seq, 299));
    free(ev);
    char *other_after = tu_read_file(other_path, NULL);
    assert_string_equal(other_before, other_after); /* not even created */
    assert_false(file_exists(f->dir, "rejected/net.spool"));
    assert_false(file_exists(f->dir, "rejected/net.spool.replaying"));
    assert_false(file_exists(f->dir, "rejected/net.spool.replaying.cur"));
    /* Nothing is left: a second replay sends nothing. */
    expect_run(f->dir, args, 0, "nothing to replay");
    assert_int_equal(received(f->dir, "net", &ev), 600);
    free(ev);
    free(other_before), free(other_after), free(other_path);
    free(cfg), free(args);
}

/* A batch that fails again is kept in order, nothing is duplicated in
 * the dead-letter file, and a later replay delivers it once. */
static void test_failures_are_kept_then_delivered_once(void **state)
{
    struct fx *f = *state;
    produce(f->dir, "run-a", 299); /* 300: batches of 256 and 44 */
    char *first = config_file(f->dir, "first.json", "", "\"retry_first\": 1");
    char *never = config_file(f->dir, "never.json", "",
                              "\"retry_forever\": true");
    char *ok = config_file(f->dir, "ok.json", "", "");
    struct evt_replay_result res;
    char err[EVT_ERRMSG_SIZE];
    /* The first batch fails, the second is delivered. */
    assert_int_equal(evt_replay_run(first, "net", NULL, NULL, &res, err,
                                    sizeof err), EVT_OK);
    assert_int_equal(res.total, 300);
    assert_int_equal(res.delivered, 44);
    assert_int_equal(res.failed, BATCH);
    assert_int_equal(res.left, BATCH);
    assert_int_equal(res.lost, 0);
    assert_false(res.resumed);
    struct ev *ev;
    assert_int_equal(spooled(f->dir, "rejected/net.spool", &ev), BATCH);
    expect_seqs(ev, 0, BATCH, 1, "run-a");
    free(ev);
    assert_false(file_exists(f->dir, "rejected/net.spool.replaying"));
    /* Everything fails: exit 1, the same 256 records, not doubled. */
    char *args = tu_fmt("replay -c %s", never);
    expect_run(f->dir, args, 1, "sink net: delivered 0, failed 256, left 256");
    free(args);
    assert_int_equal(spooled(f->dir, "rejected/net.spool", &ev), BATCH);
    expect_seqs(ev, 0, BATCH, 1, "run-a");
    free(ev);
    /* A write error disables the sink: all of it is kept again. */
    char *bad = config_file(f->dir, "bad.json", "", "\"fail\": \"write\"");
    assert_int_equal(evt_replay_run(bad, "net", NULL, NULL, &res, err,
                                    sizeof err), EVT_OK);
    assert_int_equal(res.failed, BATCH);
    assert_int_equal(res.left, BATCH);
    assert_int_equal(spooled(f->dir, "rejected/net.spool", &ev), BATCH);
    expect_seqs(ev, 0, BATCH, 1, "run-a");
    free(ev);
    /* Now it works: delivered once; each seq reached net exactly once. */
    args = tu_fmt("replay --sink net -c %s", ok);
    expect_run(f->dir, args, 0, "sink net: delivered 256, failed 0, left 0");
    free(args);
    assert_int_equal(received(f->dir, "net", &ev), 300);
    expect_seqs(ev, 0, 44, BATCH + 1, "run-a");
    expect_seqs(ev, 44, BATCH, 1, "run-a");
    free(ev);
    assert_false(file_exists(f->dir, "rejected/net.spool"));
    free(first), free(never), free(ok), free(bad);
}

/* ---- a killed replay ----------------------------------------------------------*/

/* Wait until the cursor of the file being replayed exists: a batch was
 * acknowledged. */
static void wait_cursor(const char *dir)
{
    for (int i = 0; i < 4000; i++) {
        if (file_exists(dir, "rejected/net.spool.replaying.cur"))
            return;
        sleep_ms(5);
    }
    fail_msg("no batch was ever acknowledged");
}

/* SIGKILL a replay of 600 events while net's write() sleeps (net_cfg),
 * once the first batch was recorded (and, with acked, acknowledged); then
 * replay again. Returns the events net received, in order (the killed
 * replay's, then the resumed one's). */
static size_t kill_then_resume(struct fx *f, const char *net_cfg, int acked,
                               struct ev **ev)
{
    produce(f->dir, "run-a", 599);
    char *slow = config_file(f->dir, "slow.json", "", net_cfg);
    char *ok = config_file(f->dir, "ok.json", "", "");
    char *args = tu_fmt("replay -c %s", slow);
    pid_t pid = start(f->dir, args);
    wait_received(f->dir, BATCH);
    if (acked)
        wait_cursor(f->dir);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_true(file_exists(f->dir, "rejected/net.spool.replaying"));
    /* The cursor moves only once write() returned EVT_OK. */
    assert_int_equal(file_exists(f->dir, "rejected/net.spool.replaying.cur"),
                     acked);
    free(args);
    args = tu_fmt("replay -c %s", ok);
    expect_run(f->dir, args, 0, "(an interrupted replay was resumed)");
    assert_false(file_exists(f->dir, "rejected/net.spool.replaying"));
    assert_false(file_exists(f->dir, "rejected/net.spool.replaying.cur"));
    assert_false(file_exists(f->dir, "rejected/net.spool"));
    free(args), free(slow), free(ok);
    return received(f->dir, "net", ev);
}

/* Killed after net recorded batch 1 but before write() returned: that
 * batch was never acknowledged, so it, and only it, comes again. */
static void test_kill_in_write_resends_only_that_batch(void **state)
{
    struct ev *ev;
    size_t n = kill_then_resume(*state, "\"sleep_after_ms\": 5000", 0, &ev);
    assert_int_equal(n, BATCH + 600);
    expect_seqs(ev, 0, BATCH, 1, "run-a");   /* the killed replay */
    expect_seqs(ev, BATCH, 600, 1, "run-a"); /* the resumed one */
    free(ev);
}

/* Killed while batch 2 waits in write(), batch 1 accepted and acked:
 * the resumed replay starts with batch 2; nothing twice, nothing lost. */
static void test_kill_between_batches_repeats_nothing(void **state)
{
    struct ev *ev;
    size_t n = kill_then_resume(*state, "\"sleep_ms\": 1000", 1, &ev);
    assert_int_equal(n, 600);
    expect_seqs(ev, 0, 600, 1, "run-a");
    free(ev);
}

/* ---- resuming, in process -------------------------------------------------------*/

static void on_progress(void *ud, const char *sink, uint64_t done,
                        uint64_t total)
{
    assert_string_equal(sink, "net");
    assert_true(done <= total);
    (*(int *)ud)++;
}

struct seen {
    size_t n;
    struct ev ev[400];
};

static void on_visit(void *ud, const char *run_id, uint32_t kind,
                     uint64_t seq)
{
    struct seen *s = ud;
    assert_true(s->n < 400);
    s->ev[s->n].seq = seq;
    s->ev[s->n].kind = kind;
    snprintf(s->ev[s->n].run, sizeof s->ev[s->n].run, "%s", run_id);
    s->n++;
}

/* Pretend a replay was interrupted after acknowledging 100 records, and
 * a newer run dead-lettered 50 more: the .replaying file goes first, from
 * its cursor, then the new dead letters. */
static void test_resume_goes_first_from_its_cursor(void **state)
{
    struct fx *f = *state;
    produce(f->dir, "run-a", 299);
    char *rej = state_file(f->dir, "rejected/net.spool");
    char *rpl = state_file(f->dir, "rejected/net.spool.replaying");
    assert_int_equal(rename(rej, rpl), 0);
    struct evt__spool *s;
    char err[EVT_ERRMSG_SIZE];
    assert_int_equal(evt__spool_open(rpl, 0, &s, NULL, err, sizeof err), 0);
    const void *p;
    size_t len;
    for (int i = 0; i < 100; i++)
        assert_int_equal(evt__spool_next(s, &p, &len), 1);
    assert_int_equal(evt__spool_ack(s), EVT_OK);
    evt__spool_close(s);
    produce(f->dir, "run-b", 49);
    char *ok = config_file(f->dir, "ok.json", "", "");
    struct evt_replay_sink list[4];
    assert_int_equal(evt_replay_list(ok, list, 4, err, sizeof err), 2);
    assert_string_equal(list[0].name, "net");
    assert_int_equal(list[0].pending, 250);
    assert_int_equal(list[1].pending, 0);
    static struct seen seen;
    seen.n = 0;
    assert_int_equal(evt_replay_scan(ok, "net", on_visit, &seen, err,
                                     sizeof err), EVT_OK);
    assert_int_equal(seen.n, 250);
    expect_seqs(seen.ev, 0, 200, 101, "run-a");
    expect_seqs(seen.ev, 200, 50, 1, "run-b");
    assert_int_equal(seen.ev[249].kind, EVT_EV_RUN_END);
    int calls = 0;
    struct evt_replay_result res;
    assert_int_equal(evt_replay_run(ok, "net", on_progress, &calls, &res,
                                    err, sizeof err), EVT_OK);
    assert_true(res.resumed);
    assert_int_equal(res.total, 250);
    assert_int_equal(res.delivered, 250);
    assert_int_equal(res.failed + res.left + res.lost, 0);
    assert_true(calls >= 2); /* once at the end of each pass */
    struct ev *ev;
    assert_int_equal(received(f->dir, "net", &ev), 250);
    expect_seqs(ev, 0, 200, 101, "run-a");
    expect_seqs(ev, 200, 50, 1, "run-b");
    free(ev);
    assert_int_equal(evt_replay_list(ok, list, 4, err, sizeof err), 2);
    assert_int_equal(list[0].pending, 0);
    assert_int_equal(access(rpl, F_OK), -1);
    assert_int_equal(access(rej, F_OK), -1);
    free(rej), free(rpl), free(ok);
}

/* ---- --dry-run, usage -----------------------------------------------------------*/

static void test_dry_run_sends_nothing(void **state)
{
    struct fx *f = *state;
    produce(f->dir, "run-a", 299);
    produce(f->dir, "run-b", 99);
    char *rej = state_file(f->dir, "rejected/net.spool");
    size_t len_before, len_after;
    char *before = tu_read_file(rej, &len_before);
    char *cfg = config_file(f->dir, "ok.json", "", "");
    char *args = tu_fmt("replay --dry-run -c %s", cfg);
    struct tu_out o = run(f->dir, args);
    assert_int_equal(o.code, 0);
    const char *want[] = {"sink net: 400 events would be sent",
                          "run ids: run-a (300), run-b (100)",
                          "kinds: result 8, scalar 390, run_end 2"};
    for (size_t i = 0; i < 3; i++)
        if (!strstr(o.text, want[i]))
            fail_msg("no \"%s\" in:\n%s", want[i], o.text);
    assert_null(strstr(o.text, "sink other"));
    free(o.text), free(args);
    struct ev *ev;
    assert_int_equal(received(f->dir, "net", &ev), 0);
    free(ev);
    char *after = tu_read_file(rej, &len_after);
    assert_int_equal(len_before, len_after);
    assert_memory_equal(before, after, len_before);
    assert_false(file_exists(f->dir, "rejected/net.spool.replaying"));
    args = tu_fmt("replay --dry-run --sink other -c %s", cfg);
    expect_run(f->dir, args, 0, "sink other: 0 events would be sent");
    free(args), free(before), free(after), free(rej), free(cfg);
}

static void test_usage_and_config_errors(void **state)
{
    struct fx *f = *state;
    expect_run(f->dir, "replay --help", 0, "exit codes: 0 every dead letter");
    expect_run(f->dir, "--help", 0, "replay [-c CONFIG] [--sink NAME]...");
    expect_run(f->dir, "replay --frobnicate", 2, "usage: evtrack replay");
    expect_run(f->dir, "replay --sink", 2, "usage: evtrack replay");
    expect_run(f->dir, "replay -c /nonexistent/evtrack.json", 2,
               "/nonexistent/evtrack.json");
    expect_run(f->dir, "replay", 2, "evtrack.json"); /* the default */
    char *cfg = config_file(f->dir, "ok.json", "", "");
    char *args = tu_fmt("replay --sink net --sink bogus -c %s", cfg);
    expect_run(f->dir, args, 2, "--sink \"bogus\"");
    struct tu_out o = run(f->dir, args);
    assert_non_null(strstr(o.text, "(its sinks: net, other)"));
    free(o.text), free(args);
    args = tu_fmt("replay -c %s", cfg);
    expect_run(f->dir, args, 0, "nothing to replay");
    free(args), free(cfg);
    cfg = config_file(f->dir, "off.json", "\"enabled\": false", "");
    args = tu_fmt("replay --sink net -c %s", cfg);
    expect_run(f->dir, args, 2, "disabled");
    free(args);
    struct evt_replay_result res;
    char err[EVT_ERRMSG_SIZE];
    assert_int_equal(evt_replay_run(cfg, "net", NULL, NULL, &res, err,
                                    sizeof err), EVT_ECONFIG);
    assert_non_null(strstr(err, "sink \"net\" is disabled"));
    assert_int_equal(evt_replay_run(cfg, "nope", NULL, NULL, &res, err,
                                    sizeof err), EVT_ECONFIG);
    assert_non_null(strstr(err, "no sink named \"nope\""));
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_delivers_once_through_that_sink_only, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_failures_are_kept_then_delivered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_kill_in_write_resends_only_that_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_kill_between_batches_repeats_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_resume_goes_first_from_its_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_sends_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_usage_and_config_errors, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
