/* log.c -- messages of the core and of sinks: one handler per process,
 * rate-limited per sink so a failing sink cannot flood the terminal. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrub.h"
#include "strbuf.h"
#include "tracker.h"

#define LOG_BURST 20 /* messages per sink per second */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static evt_log_fn log_fn;
static void *log_ud;

static int env_level(void)
{
    const char *v = getenv("EVTRACK_LOG");
    if (!v)
        return EVT_LOG_WARN;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return strcmp(v, "quiet") == 0 ? -1 : EVT_LOG_WARN;
}

void evt_set_log_handler(evt_log_fn fn, void *ud)
{
    pthread_mutex_lock(&log_mu);
    log_fn = fn;
    log_ud = ud;
    pthread_mutex_unlock(&log_mu);
}

static void emit(int level, const char *msg)
{
    pthread_mutex_lock(&log_mu);
    evt_log_fn fn = log_fn;
    void *ud = log_ud;
    pthread_mutex_unlock(&log_mu);
    if (fn) {
        fn(ud, level, msg);
        return;
    }
    if (level <= env_level()) {
        static const char *const tag[] = {"error", "warning", "info", "debug"};
        fprintf(stderr, "evtrack: %s: %s\n",
                tag[level < 0 ? 0 : level > 3 ? 3 : level], msg);
    }
}

/* 1 when this message may go out under the per-sink budget; then
 * *skipped is how many were held back since the last one. */
static int within_budget(struct evt_host *h, unsigned *skipped)
{
    int64_t now = evt__mono_ns();
    pthread_mutex_lock(&log_mu);
    int ok;
    if (now - h->last_log_ns >= 1000000000LL) {
        h->last_log_ns = now;
        h->logs_in_window = 1;
        ok = 1;
    } else {
        ok = ++h->logs_in_window <= LOG_BURST;
        if (!ok)
            h->logs_suppressed++;
    }
    *skipped = 0;
    if (ok) {
        *skipped = h->logs_suppressed;
        h->logs_suppressed = 0;
    }
    pthread_mutex_unlock(&log_mu);
    return ok;
}

static void set_sink_error(struct evt__errbox *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_sink_error(struct evt__errbox *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    evt__errbox_vset(b, fmt, ap);
    va_end(ap);
}

void evt__host_vlog(struct evt_host *h, int level, const char *fmt,
                    va_list ap)
{
    /* h->err stays valid even for a sink abandoned at close: it holds a
     * reference. (Messages of abandoned sinks still reach the handler.) */
    char body[768], msg[1024];
    vsnprintf(body, sizeof body, fmt, ap);
    evt__scrub_text(body, sizeof body); /* a path can hold a task name */
    if (!h) {
        emit(level, body);
        return;
    }
    if (level == EVT_LOG_ERROR)
        set_sink_error(h->err, "sink \"%s\": %s", h->name, body);
    unsigned skipped;
    if (!within_budget(h, &skipped))
        return;
    if (skipped)
        snprintf(msg, sizeof msg, "sink \"%s\": %s (%u similar messages "
                 "suppressed)", h->name, body, skipped);
    else
        snprintf(msg, sizeof msg, "sink \"%s\": %s", h->name, body);
    emit(level, msg);
}

void evt__host_log(struct evt_host *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    evt__host_vlog(h, level, fmt, ap);
    va_end(ap);
}
