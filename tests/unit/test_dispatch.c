/* test_dispatch.c -- fan-out, ordering, isolation of slow sinks, retries,
 * dead letters, spill and recovery, concurrency, close deadlines, fork. */
#include "test_util.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "evtrack/evtrack.h"
#include "spool.h"

struct fx {
    char *dir;
    evt_tracker *t;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One sink object of the test plugin; extra is more JSON members. */
static char *sink(const char *dir, const char *name, const char *extra,
                  const char *config_extra)
{
    return tu_fmt("{\"path\": \"%s/test_sink.so\", \"name\": \"%s\"%s%s, "
                  "\"config\": {\"record\": \"%s/%s.rec\"%s%s}}",
                  tu_fixture_dir(), name, extra[0] ? ", " : "", extra, dir,
                  name, config_extra[0] ? ", " : "", config_extra);
}

static evt_tracker *open_with(const char *dir, const char *sinks)
{
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"run_id\": \"run-1\", "
                        "\"sinks\": [%s]}", dir, sinks);
    char err[EVT_ERRMSG_SIZE] = "";
    evt_tracker *t = NULL;
    int rc = evt_open_json(json, dir, &t, err, sizeof err);
    if (rc != EVT_OK)
        fail_msg("open failed: %s", err);
    free(json);
    return t;
}

struct rec {
    unsigned long long seq;
    unsigned kind;
    long long step; /* -1: none */
};

/* Records a test sink wrote; returns the count, *out heap array. */
static size_t read_records(const char *dir, const char *name,
                           struct rec **out)
{
    char *path = tu_fmt("%s/%s.rec", dir, name);
    char *text = tu_read_file(path, NULL);
    free(path);
    size_t n = tu_count_lines(text), i = 0;
    *out = calloc(n + 1, sizeof **out);
    /* strtoull, not sscanf: glibc's sscanf measures the whole rest of
     * the buffer on every call, which is quadratic here. */
    for (char *line = text; line && *line && i < n; i++) {
        char *p;
        while (*line == '#')
            line = strchr(line, '\n') + 1;
        (*out)[i].seq = strtoull(line, &p, 10);
        (*out)[i].kind = (unsigned)strtoul(p, &p, 10);
        while (*p == ' ')
            p++;
        (*out)[i].step = *p == '-' ? -1 : strtoll(p, NULL, 10);
        line = strchr(line, '\n') + 1;
    }
    free(text);
    return n;
}

static struct evt_sink_stats stats_of(evt_tracker *t, const char *name)
{
    struct evt_sink_stats st[8];
    size_t n = evt_stats(t, st, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        if (strcmp(st[i].name, name) == 0)
            return st[i];
    fail_msg("no sink %s", name);
    return st[0];
}

/* Records in a spool-format file (dead letters or spill). */
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

/* ---- fan-out ---------------------------------------------------------------*/

static void test_fanout_three_sinks_exact_order(void **state)
{
    struct fx *f = *state;
    char *a = sink(f->dir, "a", "", ""), *b = sink(f->dir, "b", "", ""),
         *c = sink(f->dir, "c", "\"events\": [\"result\"]", "");
    char *sinks = tu_fmt("%s, %s, %s", a, b, c);
    evt_tracker *t = open_with(f->dir, sinks);
    const int N = 1000;
    for (int i = 0; i < N; i++) {
        if (i % 10 == 0)
            assert_int_equal(evt_log_result(t, "mme", "acc", NULL, i, NAN, i),
                             EVT_OK);
        else
            assert_int_equal(evt_log_scalar(t, "loss", i, i), EVT_OK);
    }
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    assert_int_equal(stats_of(t, "a").written, N);
    assert_int_equal(stats_of(t, "c").written, N / 10);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    struct rec *r;
    const char *names[] = {"a", "b"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(read_records(f->dir, names[k], &r), N);
        for (int i = 0; i < N; i++) {
            assert_int_equal(r[i].seq, (unsigned long long)i + 1);
            assert_int_equal(r[i].kind,
                             i % 10 == 0 ? EVT_EV_RESULT : EVT_EV_SCALAR);
            assert_int_equal(r[i].step, i);
        }
        free(r);
    }
    assert_int_equal(read_records(f->dir, "c", &r), N / 10);
    for (int i = 0; i < N / 10; i++)
        assert_int_equal(r[i].seq, (unsigned long long)i * 10 + 1);
    free(r);
    free(a), free(b), free(c), free(sinks);
}

/* ---- isolation: a slow sink does not delay the others ---------------------*/

static void test_slow_sink_does_not_delay_others(void **state)
{
    struct fx *f = *state;
    char *slow = sink(f->dir, "slow", "", "\"sleep_ms\": 1500");
    char *b = sink(f->dir, "b", "", ""), *c = sink(f->dir, "c", "", "");
    char *sinks = tu_fmt("%s, %s, %s", slow, b, c);
    evt_tracker *t = open_with(f->dir, sinks);
    const int N = 500;
    for (int i = 0; i < N; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    int64_t t0 = now_ms();
    while ((stats_of(t, "b").written < (uint64_t)N ||
            stats_of(t, "c").written < (uint64_t)N) && now_ms() - t0 < 5000)
        sleep_ms(2);
    /* The fast sinks are done before the slow one's first write() ends. */
    assert_int_equal(stats_of(t, "b").written, N);
    assert_int_equal(stats_of(t, "c").written, N);
    assert_int_equal(stats_of(t, "slow").written, 0);
    assert_int_equal(evt_close(t, 30000), EVT_OK);
    struct rec *r;
    assert_int_equal(read_records(f->dir, "slow", &r), N);
    free(r);
    free(slow), free(b), free(c), free(sinks);
}

/* ---- retries and dead letters -----------------------------------------------*/

static void test_retry_then_success(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "r",
                   "\"retry\": {\"limit\": 5, \"base_ms\": 1, \"cap_ms\": 4}",
                   "\"retry_first\": 3");
    evt_tracker *t = open_with(f->dir, s);
    for (int i = 0; i < 10; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct evt_sink_stats st = stats_of(t, "r");
    assert_int_equal(st.retried, 3);
    assert_int_equal(st.written, 10);
    assert_int_equal(st.dead_lettered, 0);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    struct rec *r;
    assert_int_equal(read_records(f->dir, "r", &r), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(r[i].seq, (unsigned long long)i + 1);
    free(r);
    free(s);
}

static void test_retry_exhausted_goes_to_dead_letters(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "r",
                   "\"retry\": {\"limit\": 2, \"base_ms\": 1, \"cap_ms\": 2}",
                   "\"retry_forever\": true");
    evt_tracker *t = open_with(f->dir, s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct evt_sink_stats st = stats_of(t, "r");
    assert_int_equal(st.written, 0);
    assert_int_equal(st.dead_lettered, 5);
    assert_true(st.retried >= 3);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    char *dlq = tu_fmt("%s/.evtrack/rejected/r.spool", f->dir);
    assert_int_equal(count_spool(dlq), 5);
    free(dlq);
    free(s);
}

/* A sink that handled the first events of a batch says so (batch_done):
 * the host retries only the rest and, when it gives up, dead-letters
 * only the rest, so no event is both written and a dead letter. This
 * sink takes one event per write() and asks for a retry while any is
 * left; a host that retried the whole batch would hand it the same first
 * event again. */
static void test_batch_progress_retries_only_the_rest(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "p",
                   "\"retry\": {\"limit\": 2, \"base_ms\": 1, \"cap_ms\": 2}",
                   "\"handle_one\": true, \"sleep_ms\": 50");
    evt_tracker *t = open_with(f->dir, s);
    for (int i = 0; i < 40; i++) /* the first write sleeps: a big batch */
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    assert_int_equal(evt_flush(t, 30000), EVT_OK);
    struct evt_sink_stats st = stats_of(t, "p");
    assert_int_equal(st.written + st.dead_lettered, 40);
    assert_true(st.dead_lettered > 0); /* a batch gave up ... */
    assert_true(st.retried >= 3);      /* ... after progress on retries */
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    struct rec *r;
    size_t n = read_records(f->dir, "p", &r);
    assert_int_equal(n, st.written);
    for (size_t i = 1; i < n; i++) /* each once, in seq order */
        assert_true(r[i].seq > r[i - 1].seq);
    char *dlq = tu_fmt("%s/.evtrack/rejected/p.spool", f->dir);
    assert_int_equal(count_spool(dlq), st.dead_lettered);
    free(dlq);
    free(r);
    free(s);
}

static void test_write_error_disables_sink_others_go_on(void **state)
{
    struct fx *f = *state;
    char *bad = sink(f->dir, "bad", "", "\"fail\": \"write\"");
    char *good = sink(f->dir, "good", "", "");
    char *sinks = tu_fmt("%s, %s", bad, good);
    evt_tracker *t = open_with(f->dir, sinks);
    for (int i = 0; i < 20; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    struct evt_sink_stats st = stats_of(t, "bad");
    assert_int_equal(st.enabled, 0);
    assert_int_equal(st.dead_lettered, 20);
    assert_int_equal(stats_of(t, "good").written, 20);
    char err[EVT_ERRMSG_SIZE];
    assert_true(evt_last_error(t, err, sizeof err) > 0);
    assert_non_null(strstr(err, "sink \"bad\""));
    assert_non_null(strstr(err, "disabled"));
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    free(bad), free(good), free(sinks);
}

static void test_create_failure_disables_only_that_sink(void **state)
{
    struct fx *f = *state;
    char *bad = sink(f->dir, "bad", "", "\"fail\": \"create\"");
    char *good = sink(f->dir, "good", "", "");
    char *sinks = tu_fmt("%s, %s", bad, good);
    evt_tracker *t = open_with(f->dir, sinks);
    assert_int_equal(stats_of(t, "bad").enabled, 0);
    char err[EVT_ERRMSG_SIZE];
    evt_last_error(t, err, sizeof err);
    assert_non_null(strstr(err, "create failed"));
    for (int i = 0; i < 7; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    assert_int_equal(stats_of(t, "good").written, 7);
    assert_int_equal(stats_of(t, "bad").dead_lettered, 7);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    free(bad), free(good), free(sinks);
}

/* ---- overflow policies ----------------------------------------------------*/

static void test_drop_newest_never_drops_results(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "d",
                   "\"queue\": {\"max_events\": 2, \"overflow\": "
                   "\"drop_newest\"}",
                   "\"sleep_ms\": 20");
    evt_tracker *t = open_with(f->dir, s);
    int dropped = 0;
    for (int i = 0; i < 50; i++) {
        int rc = evt_log_scalar(t, "x", i, i);
        assert_true(rc == EVT_OK || rc == EVT_EDROPPED);
        dropped += rc == EVT_EDROPPED;
        assert_int_equal(evt_log_result(t, "t", "m", NULL, i, NAN, -1),
                         EVT_OK);
    }
    assert_int_equal(evt_flush(t, 20000), EVT_OK);
    struct evt_sink_stats st = stats_of(t, "d");
    assert_true(dropped > 0);
    assert_int_equal(st.dropped, (uint64_t)dropped);
    assert_int_equal(st.written + st.dropped, 100);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    struct rec *r;
    size_t n = read_records(f->dir, "d", &r);
    size_t results = 0;
    for (size_t i = 0; i < n; i++) {
        results += r[i].kind == EVT_EV_RESULT;
        if (i)
            assert_true(r[i].seq > r[i - 1].seq);
    }
    assert_int_equal(results, 50);
    free(r);
    free(s);
}

/* A process spills to the spool and dies without closing; the spool's
 * tail is torn; the next open delivers every spooled event exactly once,
 * in order, before anything new. */
static void test_spill_then_recover_after_torn_write(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "sp",
                   "\"queue\": {\"max_events\": 1, \"overflow\": \"spill\"}",
                   "\"sleep_ms\": 5000");
    const int N = 40;
    pid_t pid = fork();
    if (pid == 0) {
        evt_tracker *t = open_with(f->dir, s);
        int ok = 1;
        for (int i = 0; i < N; i++)
            ok &= evt_log_scalar(t, "x", i, i) == EVT_OK;
        ok &= stats_of(t, "sp").spilled >= (uint64_t)N - 2;
        _exit(ok ? 0 : 1); /* a crash: no flush, no close */
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *spool = tu_fmt("%s/.evtrack/spool/sp.spool", f->dir);
    size_t left = count_spool(spool);
    assert_true(left >= (size_t)N - 2);
    FILE *fp = fopen(spool, "ab"); /* a torn record at the tail */
    assert_non_null(fp);
    fwrite("\x45\x56\x52\x31\x10\x00\x00\x00garbage", 1, 15, fp);
    fclose(fp);
    free(s);
    s = sink(f->dir, "sp", "\"queue\": {\"overflow\": \"spill\"}", "");
    evt_tracker *t = open_with(f->dir, s);
    assert_int_equal(evt_log_scalar(t, "after", 1, 1), EVT_OK);
    assert_int_equal(evt_flush(t, 10000), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    assert_int_equal(count_spool(spool), 0);
    struct rec *r;
    assert_int_equal(read_records(f->dir, "sp", &r), left + 1);
    for (size_t i = 0; i < left; i++) /* the spooled tail of run 1 */
        assert_int_equal(r[i].seq, (unsigned long long)(N - left + i + 1));
    assert_int_equal(r[left].seq, 1); /* then run 2's own event */
    free(r);
    free(spool);
    free(s);
}

/* Spilling keeps seq order: the queue moves to the spool at the onset and
 * the spool drains before the queue takes over again. */
static void test_spill_keeps_order(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "so",
                   "\"queue\": {\"max_events\": 4, \"overflow\": \"spill\"}",
                   "\"sleep_ms\": 20");
    evt_tracker *t = open_with(f->dir, s);
    const int N = 300;
    for (int i = 0; i < N; i++) {
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
        if (i % 50 == 0)
            sleep_ms(60); /* let it catch up, so spilling starts again */
    }
    assert_int_equal(evt_flush(t, 20000), EVT_OK);
    assert_true(stats_of(t, "so").spilled > 0);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    struct rec *r;
    assert_int_equal(read_records(f->dir, "so", &r), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].seq, (unsigned long long)i + 1);
    free(r);
    free(s);
}

/* Close at a deadline with events still spilled and queued; the next open
 * delivers the rest: every event exactly once, in seq order overall. */
static void test_close_deadline_then_reopen_keeps_order(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "cd",
                   "\"queue\": {\"max_events\": 4, \"overflow\": \"spill\"}",
                   "\"sleep_ms\": 40");
    evt_tracker *t = open_with(f->dir, s);
    const int N = 60;
    assert_int_equal(evt_log_scalar(t, "x", 0, 0), EVT_OK);
    sleep_ms(15); /* the worker is inside write() with the first event */
    for (int i = 1; i < N; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    assert_int_equal(evt_close(t, 10), EVT_ETIMEDOUT);
    struct rec *r;
    size_t first = read_records(f->dir, "cd", &r);
    free(r);
    assert_true(first < (size_t)N);
    t = open_with(f->dir, s);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    assert_int_equal(read_records(f->dir, "cd", &r), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].seq, (unsigned long long)i + 1);
    free(r);
    free(s);
}

struct bg {
    evt_tracker *t;
    int n;
};

static void *log_scalars(void *arg)
{
    struct bg *b = arg;
    for (int i = 0; i < b->n; i++)
        evt_log_scalar(b->t, "bg", i, i);
    return NULL;
}

/* A producer blocked on one full "block" queue holds up neither other
 * producers nor the other sinks. */
static void test_blocked_sink_does_not_stall_others(void **state)
{
    struct fx *f = *state;
    char *slow = sink(f->dir, "slow",
                      "\"events\": [\"scalar\"], \"queue\": "
                      "{\"max_events\": 1, \"overflow\": \"block\"}",
                      "\"sleep_ms\": 700");
    char *fast = sink(f->dir, "fast", "", "");
    char *sinks = tu_fmt("%s, %s", slow, fast);
    evt_tracker *t = open_with(f->dir, sinks);
    struct bg b = {t, 4};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, log_scalars, &b), 0);
    sleep_ms(100); /* the background producer now waits for "slow" */
    int64_t t0 = now_ms();
    assert_int_equal(evt_log_result(t, "task", "acc", NULL, 1, NAN, -1),
                     EVT_OK);
    assert_true(now_ms() - t0 < 300);
    while (stats_of(t, "fast").written < 4 && now_ms() - t0 < 300)
        sleep_ms(2);
    assert_true(stats_of(t, "fast").written >= 4); /* 3 scalars + result */
    pthread_join(th, NULL);
    assert_int_equal(evt_close(t, 20000), EVT_OK);
    struct rec *r;
    assert_int_equal(read_records(f->dir, "slow", &r), 4);
    for (int i = 1; i < 4; i++)
        assert_true(r[i].seq > r[i - 1].seq);
    free(r);
    assert_int_equal(read_records(f->dir, "fast", &r), 5);
    free(r);
    free(slow), free(fast), free(sinks);
}

/* ---- concurrency -------------------------------------------------------------*/

struct producer {
    evt_tracker *t;
    int id, n;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    char tag[16];
    snprintf(tag, sizeof tag, "t%d", p->id);
    for (int i = 0; i < p->n; i++)
        if (evt_log_scalar(p->t, tag, i, i) != EVT_OK)
            return (void *)1;
    return NULL;
}

static int scale(int n)
{
    const char *s = getenv("EVT_TEST_SCALE_DIV");
    return s ? n / (int)strtol(s, NULL, 10) : n;
}

static void test_eight_producers_exactly_once(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "m", "", "\"record_msgpack\": false");
    evt_tracker *t = open_with(f->dir, s);
    enum { THREADS = 8 };
    int per = scale(100000);
    pthread_t th[THREADS];
    struct producer p[THREADS];
    for (int i = 0; i < THREADS; i++) {
        p[i] = (struct producer){t, i, per};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(evt_close(t, 60000), EVT_OK);
    struct rec *r;
    size_t n = read_records(f->dir, "m", &r);
    assert_int_equal(n, (size_t)THREADS * per);
    for (size_t i = 0; i < n; i++) /* 1..N in order: each exactly once */
        assert_int_equal(r[i].seq, i + 1);
    free(r);
    free(s);
}

/* ---- close deadline ----------------------------------------------------------*/

static void test_close_with_deadline_keeps_events_on_disk(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "hang", "", "\"sleep_ms\": 1500");
    evt_tracker *t = open_with(f->dir, s);
    for (int i = 0; i < 10; i++)
        assert_int_equal(evt_log_scalar(t, "x", i, i), EVT_OK);
    sleep_ms(50); /* the worker is inside write() now */
    int64_t t0 = now_ms();
    assert_int_equal(evt_close(t, 100), EVT_ETIMEDOUT);
    int64_t took = now_ms() - t0;
    assert_true(took < 1000); /* 100 ms deadline + 100 ms grace */
    /* Everything not written is in the dead-letter file. */
    char *dlq = tu_fmt("%s/.evtrack/rejected/hang.spool", f->dir);
    assert_int_equal(count_spool(dlq), 10);
    sleep_ms(2000); /* let the abandoned worker finish and free itself */
    free(dlq);
    free(s);
}

/* A sink hung in flush() at the close deadline is abandoned like one hung
 * in write(): close returns in time, and destroy() still runs later. */
static void test_close_deadline_with_flush_hung(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "fh", "", "\"flush_sleep_ms\": 1200");
    evt_tracker *t = open_with(f->dir, s);
    assert_int_equal(evt_log_scalar(t, "x", 1, 1), EVT_OK);
    int64_t t0 = now_ms();
    assert_int_equal(evt_close(t, 100), EVT_ETIMEDOUT);
    assert_true(now_ms() - t0 < 1000);
    char *rec = tu_fmt("%s/fh.rec", f->dir);
    for (int i = 0; i < 300; i++) { /* destroy() runs when flush returns */
        char *text = tu_read_file(rec, NULL);
        int done = text && strstr(text, "# destroyed\n") != NULL;
        free(text);
        if (done)
            break;
        sleep_ms(10);
    }
    char *text = tu_read_file(rec, NULL);
    assert_non_null(strstr(text, "# destroyed\n"));
    free(text);
    free(rec);
    free(s);
}

/* Two trackers on one state_dir would corrupt a shared spool: the second
 * is refused with a message that says why. */
static void test_spool_in_use_is_refused(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "sl", "\"queue\": {\"overflow\": \"spill\"}", "");
    evt_tracker *t = open_with(f->dir, s);
    char *json = tu_fmt("{\"output_dir\": \"%s\", \"sinks\": [%s]}", f->dir,
                        s);
    char err[EVT_ERRMSG_SIZE];
    evt_tracker *t2 = NULL;
    assert_int_equal(evt_open_json(json, f->dir, &t2, err, sizeof err),
                     EVT_EIO);
    assert_null(t2);
    assert_non_null(strstr(err, "sl.spool: in use by another tracker"));
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    assert_int_equal(evt_open_json(json, f->dir, &t2, err, sizeof err),
                     EVT_OK); /* free again once the first one closed */
    assert_int_equal(evt_close(t2, 10000), EVT_OK);
    free(json);
    free(s);
}

static void stamp_of(const char *dir, const char *name, char *out, size_t n)
{
    char *path = tu_fmt("%s/%s.rec", dir, name);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    const char *p = strstr(text, "# stamp ");
    assert_non_null(p);
    p += 8;
    size_t len = strcspn(p, "\n");
    assert_true(len < n);
    memcpy(out, p, len);
    out[len] = '\0';
    free(text);
    free(path);
}

/* Runs opened in the same second in one output_dir get distinct stamps,
 * shared by all the sinks of a run. */
static void test_run_stamps_are_unique(void **state)
{
    struct fx *f = *state;
    char *a = sink(f->dir, "a", "", ""), *b = sink(f->dir, "b", "", "");
    char *c = sink(f->dir, "c", "", "");
    char *ab = tu_fmt("%s, %s", a, b);
    evt_tracker *t1 = open_with(f->dir, ab);
    evt_tracker *t2 = open_with(f->dir, c);
    assert_int_equal(evt_close(t1, 5000), EVT_OK);
    assert_int_equal(evt_close(t2, 5000), EVT_OK);
    char sa[32], sb[32], sc[32];
    stamp_of(f->dir, "a", sa, sizeof sa);
    stamp_of(f->dir, "b", sb, sizeof sb);
    stamp_of(f->dir, "c", sc, sizeof sc);
    assert_string_equal(sa, sb);
    assert_true(strcmp(sa, sc) != 0);
    assert_int_equal(strlen(sa), 15); /* YYYYMMDD_HHMMSS */
    assert_int_equal(sa[8], '_');
    if (strncmp(sa, sc, 15) == 0) /* the same second */
        assert_string_equal(sc + 15, "_2");
    free(a), free(b), free(c), free(ab);
}

/* ---- fork --------------------------------------------------------------------*/

static void test_forked_child_cannot_log(void **state)
{
    struct fx *f = *state;
    char *s = sink(f->dir, "fk", "", "");
    evt_tracker *t = open_with(f->dir, s);
    assert_int_equal(evt_log_scalar(t, "x", 1, 1), EVT_OK);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = evt_log_scalar(t, "child", 2, 2) == EVT_ECLOSED &&
                 evt_log_json(t, EVT_EV_SCALAR,
                              "{\"tag\":\"c\",\"value\":1}") == EVT_ECLOSED &&
                 evt_flush(t, 100) == EVT_ECLOSED;
        evt_ev *e = evt_begin(t, EVT_EV_SCALAR);
        evt_str(e, "tag", "c");
        evt_double(e, "value", 1);
        ok = ok && evt_commit(e) == EVT_ECLOSED;
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(evt_log_scalar(t, "x", 3, 3), EVT_OK);
    assert_int_equal(evt_close(t, 10000), EVT_OK);
    struct rec *r;
    assert_int_equal(read_records(f->dir, "fk", &r), 2);
    free(r);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fanout_three_sinks_exact_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_sink_does_not_delay_others,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_success, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_retry_exhausted_goes_to_dead_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_batch_progress_retries_only_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_write_error_disables_sink_others_go_on, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_create_failure_disables_only_that_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_newest_never_drops_results,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_spill_then_recover_after_torn_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spill_keeps_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_close_deadline_then_reopen_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_blocked_sink_does_not_stall_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eight_producers_exactly_once,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_close_with_deadline_keeps_events_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_close_deadline_with_flush_hung, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_in_use_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_stamps_are_unique, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_forked_child_cannot_log, setup,
                                        teardown),
    };
    evt_set_log_handler(NULL, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
