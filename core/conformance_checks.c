/* conformance_checks.c -- the checks that run the sink through the real
 * host: every allowed order of create/write/flush/destroy, every event
 * kind, hostile events, a batch written again after EVT_RETRY, destroy()
 * once (also when close abandons a hung write()), and threads. Each one
 * opens a tracker in its sandbox (conformance_run.c) and is judged on what
 * the sink answered, whether it took every event, and what it left. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conformance_int.h"
#include "event.h"

#define ABANDON_CLOSE_MS 100
#define ABANDON_DELAY_MS 1500
#define DESTROY_WAIT_MS 10000
#define THREAD_WAIT_MS 2000

static const struct conf_spy_opts plain = {0};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void send(struct conf_run *r, int rc) { conf_commit_failed(r, rc); }

static uint32_t lowest_kind(uint32_t mask)
{
    return mask & (uint32_t)-(int32_t)mask;
}

/* "N event(s) taken in M write() call(s), F flush() call(s)" */
static const char *counts(const char *before, char *buf, size_t len)
{
    struct conf_spy_report s;
    conf_spy_get(&s);
    snprintf(buf, len, "%s%s%llu event(s) taken in %llu write() call(s), "
             "%llu flush() call(s), destroy() once", before,
             before[0] ? ": " : "", (unsigned long long)s.accepted,
             (unsigned long long)s.writes, (unsigned long long)s.flushes);
    return buf;
}

static void finish_counted(struct conf_run *r, const char *name,
                           const char *before)
{
    char note[256];
    conf_close(r, 20000);
    conf_finish(r, name, counts(before, note, sizeof note));
}

/* ---- lifecycle ------------------------------------------------------------*/

void conf_check_create_close(struct conf_ctx *c)
{
    struct conf_run r;
    conf_open(&r, c, NULL, &plain);
    finish_counted(&r, "lifecycle.create_close",
                   "open and close with no event");
}

void conf_check_create_destroy(struct conf_ctx *c)
{
    struct conf_run r;
    struct conf_spy_opts o = {.no_flush = 1};
    conf_open(&r, c, NULL, &o);
    conf_finish(&r, "lifecycle.create_destroy",
                "create() then destroy() with no call between (flush() "
                "hidden from the host)");
}

void conf_check_flush_before_write(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0)
        conf_flush(&r);
    finish_counted(&r, "lifecycle.flush_before_write",
                   "evt_flush before any event");
}

void conf_check_flush_twice(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0) {
        send(&r, conf_send_run(r.t, 2));
        conf_flush(&r);
        conf_step("evt_flush a second time");
        conf_flush(&r);
    }
    finish_counted(&r, "lifecycle.flush_twice", "a run, evt_flush twice");
}

void conf_check_write_after_flush(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0) {
        send(&r, conf_send_kind(r.t, EVT_EV_RUN_START, 1));
        send(&r, conf_send_kind(r.t, EVT_EV_TASK_CONFIG, 1));
        send(&r, conf_send_kind(r.t, EVT_EV_SAMPLE, 5));
        conf_flush(&r);
        conf_step("events after evt_flush");
        send(&r, conf_send_kind(r.t, EVT_EV_SAMPLE, 5));
        send(&r, conf_send_kind(r.t, EVT_EV_RESULT, 1));
        send(&r, conf_send_kind(r.t, EVT_EV_SCALAR, 3));
        send(&r, conf_send_kind(r.t, EVT_EV_RUN_END, 1));
        conf_flush(&r);
    }
    finish_counted(&r, "lifecycle.write_after_flush",
                   "events, evt_flush, events, evt_flush");
}

void conf_check_close_drains(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0)
        send(&r, conf_send_run(r.t, 50));
    finish_counted(&r, "lifecycle.close_drains",
                   "a run closed without evt_flush");
}

/* ---- events ------------------------------------------------------------------*/

void conf_check_kind(struct conf_ctx *c, uint32_t kind)
{
    char name[48], before[64];
    snprintf(name, sizeof name, "events.%s", evt__kind_name(kind));
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0 && !(r.mask & kind)) {
        conf_close(&r, 20000);
        conf_verdict(EVT_CONF_SKIP, name, "the sink does not take %s events "
                     "(event_mask 0x%02x)", evt__kind_name(kind), r.mask);
        return;
    }
    if (!r.closed) {
        send(&r, conf_send_kind(r.t, kind, 1));
        conf_flush(&r);
    }
    snprintf(before, sizeof before, "one %s event alone",
             evt__kind_name(kind));
    finish_counted(&r, name, before);
}

void conf_check_full_run(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0) {
        send(&r, conf_send_run(r.t, 100));
        conf_flush(&r);
    }
    finish_counted(&r, "events.full_run",
                   "a run of every kind, 300 samples");
}

void conf_check_immutable(struct conf_ctx *c)
{
    struct conf_run r;
    struct conf_spy_opts o = {.track_events = 1};
    if (conf_open(&r, c, NULL, &o) == 0) {
        send(&r, conf_send_run(r.t, 100));
        conf_flush(&r);
        send(&r, conf_send_hostile(r.t, CONF_H_MSGPACK_TYPES, c->marker));
    }
    conf_close(&r, 20000);
    char why[768];
    struct conf_spy_report s;
    conf_spy_get(&s);
    if (conf_judge(&r, why, sizeof why)) {
        conf_verdict(EVT_CONF_FAIL, "events.immutable", "%s", why);
        conf_verdict(EVT_CONF_FAIL, "events.retain_release", "%s", why);
        return;
    }
    if (s.modified)
        conf_verdict(EVT_CONF_FAIL, "events.immutable",
                     "write() changed the bytes of %llu event(s) (first: "
                     "seq %llu); events are read-only",
                     (unsigned long long)s.modified,
                     (unsigned long long)s.modified_seq);
    else
        conf_verdict(EVT_CONF_PASS, "events.immutable",
                     "the bytes of all %llu events were the same after "
                     "write()", (unsigned long long)s.tracked);
    if (s.still_held || s.over_released)
        conf_verdict(EVT_CONF_FAIL, "events.retain_release",
                     "after destroy() returned, %llu event(s) were still "
                     "retained and %llu released more often than retained",
                     (unsigned long long)s.still_held,
                     (unsigned long long)s.over_released);
    else
        conf_verdict(EVT_CONF_PASS, "events.retain_release",
                     "no reference to any of %llu events was kept past "
                     "destroy()", (unsigned long long)s.tracked);
}

void conf_check_hostile(struct conf_ctx *c, enum conf_hostile which)
{
    static const char *const names[] = {
        "hostile.nonfinite",    "hostile.long_strings",
        "hostile.control_chars", "hostile.path_names",
        "hostile.deep_nesting", "hostile.empty",
        "hostile.types",        "hostile.msgpack_types"};
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0) {
        conf_step("sending the hostile events");
        send(&r, conf_send_hostile(r.t, which, c->marker));
        conf_flush(&r);
    }
    finish_counted(&r, names[which], "");
}

/* ---- retry, close, threads ----------------------------------------------------*/

void conf_check_retry(struct conf_ctx *c)
{
    struct conf_run r;
    struct conf_spy_opts o = {.retry_once = 1};
    if (conf_open(&r, c, NULL, &o) == 0) {
        /* one event alone first: a batch of one, the same in every run */
        send(&r, conf_send_kind(r.t, lowest_kind(r.mask), 1));
        conf_flush(&r);
        send(&r, conf_send_run(r.t, 20));
        conf_flush(&r);
    }
    conf_close(&r, 20000);
    struct conf_spy_report s;
    conf_spy_get(&s);
    char why[768];
    if (conf_judge(&r, why, sizeof why))
        conf_verdict(EVT_CONF_FAIL, "retry.same_batch", "%s", why);
    else if (r.queued && !s.replays)
        conf_verdict(EVT_CONF_FAIL, "retry.same_batch", "the host did not "
                     "write a batch again after EVT_RETRY");
    else
        conf_verdict(EVT_CONF_PASS, "retry.same_batch",
                     "each of %llu batch(es) was answered EVT_RETRY once "
                     "after the sink took it; the sink took it again",
                     (unsigned long long)s.replays);
}

void conf_check_close_once(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0) {
        send(&r, conf_send_run(r.t, 5));
        conf_flush(&r);
    }
    conf_close(&r, 20000);
    sleep_ms(200); /* a late second destroy() would show now */
    conf_finish(&r, "host.close_once",
                "evt_close consumed the tracker: destroy() ran exactly once, "
                "after the last write() and flush(), and nothing after it");
}

/* Wait until the worker is inside the (held) first write(). */
static void wait_write_entered(void)
{
    struct conf_spy_report s;
    for (int waited = 0; waited < DESTROY_WAIT_MS; waited += 5) {
        conf_spy_get(&s);
        if (s.entered)
            return;
        sleep_ms(5);
    }
}

/* Wait until destroy() ran (it runs on the abandoned worker). */
static unsigned wait_destroyed(void)
{
    struct conf_spy_report s;
    for (int waited = 0; waited < DESTROY_WAIT_MS; waited += 10) {
        conf_spy_get(&s);
        if (s.destroys)
            break;
        sleep_ms(10);
    }
    sleep_ms(300); /* a second destroy() would show now */
    conf_spy_get(&s);
    return s.destroys;
}

void conf_check_close_abandoned(struct conf_ctx *c)
{
    const char *name = "host.close_abandoned";
    struct conf_run r;
    struct conf_spy_opts o = {.delay_first_write_ms = ABANDON_DELAY_MS};
    if (conf_open(&r, c, NULL, &o) != 0) {
        conf_finish(&r, name, "");
        return;
    }
    send(&r, conf_send_kind(r.t, lowest_kind(r.mask), 1));
    conf_step("waiting for the worker to call write()");
    wait_write_entered(); /* then the close deadline surely cuts it */
    int rc = conf_close(&r, ABANDON_CLOSE_MS);
    conf_step("waiting for the abandoned worker to destroy the instance");
    unsigned destroys = wait_destroyed();
    struct conf_spy_report s;
    conf_spy_get(&s);
    if (r.problem[0])
        conf_verdict(EVT_CONF_FAIL, name, "%s", r.problem);
    else if (rc != EVT_ETIMEDOUT)
        conf_verdict(EVT_CONF_FAIL, name, "evt_close returned %s while "
                     "write() was held %d ms past its %d ms deadline",
                     evt_status_name(rc), ABANDON_DELAY_MS,
                     ABANDON_CLOSE_MS);
    else if (destroys != 1 || s.after_destroy)
        conf_verdict(EVT_CONF_FAIL, name, "destroy() ran %u time(s), %u "
                     "call(s) after it", destroys, s.after_destroy);
    else
        conf_verdict(EVT_CONF_PASS, name, "evt_close gave up on a held "
                     "write() (EVT_ETIMEDOUT); the instance was destroyed "
                     "once, by its worker, when write() returned");
}

void conf_check_threads(struct conf_ctx *c)
{
    struct conf_run r;
    if (conf_open(&r, c, NULL, &plain) == 0) {
        send(&r, conf_send_run(r.t, 20));
        conf_flush(&r);
    }
    conf_close(&r, 20000);
    conf_step("counting threads after evt_close");
    int after = conf_threads();
    for (int waited = 0; after > r.threads_before && waited < THREAD_WAIT_MS;
         waited += 10) {
        sleep_ms(10);
        after = conf_threads();
    }
    char why[768];
    if (conf_judge(&r, why, sizeof why))
        conf_verdict(EVT_CONF_FAIL, "threads.no_leak", "%s", why);
    else if (after > r.threads_before)
        conf_verdict(EVT_CONF_FAIL, "threads.no_leak",
                     "+%d thread(s) still running %d s after evt_close "
                     "returned: a thread the sink started outlived "
                     "destroy()", after - r.threads_before,
                     THREAD_WAIT_MS / 1000);
    else
        conf_verdict(EVT_CONF_PASS, "threads.no_leak",
                     "%d thread(s) before the open, %d after the close",
                     r.threads_before, after);
}
