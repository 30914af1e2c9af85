/* conformance_run.c -- one run of the sink under test through the real
 * host: a tracker config that puts output_dir and state_dir inside the
 * check's sandbox, the spy around the instance, the sink's own log
 * messages, and the judgement once the tracker is closed: what write()
 * and flush() answered, whether every event was taken, whether close met
 * its deadline, and whether anything appeared outside the sandbox. */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance_int.h"
#include "strbuf.h"

#define FLUSH_MS 20000
#define CLOSE_MS 20000

/* ---- the sink's log messages -------------------------------------------*/

static struct {
    pthread_mutex_t mu;
    char first[512]; /* the sink's first error or warning */
} logcap = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Messages the host writes about the sink (not the sink's own words). */
static int host_message(const char *body)
{
    static const char *const host[] = {
        "create failed (status", "write failed (status", "gave up after",
        "still inside write()", "spool ", "cannot spill", "queue full",
        "dead letter"};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
        if (strncmp(body, host[i], strlen(host[i])) == 0)
            return 1;
    return 0;
}

static void on_log(void *ud, int level, const char *msg)
{
    (void)ud;
    static const char prefix[] = "sink \"" CONF_SINK_NAME "\": ";
    if (level > EVT_LOG_WARN || strncmp(msg, prefix, sizeof prefix - 1) != 0)
        return;
    const char *body = msg + sizeof prefix - 1;
    if (host_message(body))
        return;
    pthread_mutex_lock(&logcap.mu);
    if (!logcap.first[0])
        evt__strlcpy(logcap.first, body, sizeof logcap.first);
    pthread_mutex_unlock(&logcap.mu);
}

const char *conf_sink_error(void)
{
    return logcap.first; /* read once the sink is quiet */
}

static void log_reset(void)
{
    pthread_mutex_lock(&logcap.mu);
    logcap.first[0] = '\0';
    pthread_mutex_unlock(&logcap.mu);
    evt_set_log_handler(on_log, NULL);
}

/* ---- the tracker config ---------------------------------------------------*/

char *conf_tracker_json(const struct conf_ctx *c, const cJSON *config)
{
    cJSON *root = cJSON_CreateObject(), *sinks = cJSON_CreateArray();
    cJSON *sink = cJSON_CreateObject(), *retry = cJSON_CreateObject();
    cJSON *cfg = cJSON_Duplicate(config ? config : c->user_config, 1);
    char *text = NULL;
    if (root && sinks && sink && retry && cfg) {
        cJSON_AddStringToObject(root, "output_dir", c->out);
        cJSON_AddStringToObject(root, "state_dir", c->state);
        cJSON_AddStringToObject(root, "run_id", "conformance-run");
        cJSON_AddStringToObject(sink, "name", CONF_SINK_NAME);
        cJSON_AddStringToObject(sink, "path", c->so_path);
        cJSON_AddNumberToObject(retry, "limit", 3);
        cJSON_AddNumberToObject(retry, "base_ms", 1);
        cJSON_AddNumberToObject(retry, "cap_ms", 10);
        cJSON_AddItemToObject(sink, "retry", retry);
        cJSON_AddItemToObject(sink, "config", cfg);
        cJSON_AddItemToArray(sinks, sink);
        cJSON_AddItemToObject(root, "sinks", sinks);
        text = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        return text;
    }
    cJSON_Delete(root);
    cJSON_Delete(sinks);
    cJSON_Delete(sink);
    cJSON_Delete(retry);
    cJSON_Delete(cfg);
    return NULL;
}

/* ---- open, flush, close ----------------------------------------------------*/

int conf_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* "<config>: " starts every message of evt_open_json: not worth a line */
static const char *strip_source(const char *err)
{
    static const char src[] = "<config>: ";
    return strncmp(err, src, sizeof src - 1) == 0 ? err + sizeof src - 1
                                                  : err;
}

int conf_open(struct conf_run *r, struct conf_ctx *c, const cJSON *config,
              const struct conf_spy_opts *spy)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    log_reset();
    char *json = conf_tracker_json(c, config);
    if (!json) {
        snprintf(r->problem, sizeof r->problem, "out of memory");
        r->closed = 1;
        return -1;
    }
    r->threads_before = conf_threads();
    conf_step("evt_open_json, which calls create()");
    char err[EVT_ERRMSG_SIZE];
    int rc = evt_open_json(json, NULL, &r->t, err, sizeof err);
    free(json);
    if (rc != EVT_OK) {
        snprintf(r->problem, sizeof r->problem,
                 "the host refused the config: %.440s", strip_source(err));
        r->closed = 1;
        return -1;
    }
    r->h = r->t->nsinks ? r->t->sinks[0] : NULL;
    if (!r->h || !r->h->instance) {
        const char *why = conf_sink_error();
        snprintf(r->problem, sizeof r->problem, "create() failed: %.480s",
                 why[0] ? why : "(the sink logged no reason)");
        conf_close(r, CLOSE_MS);
        return -1;
    }
    r->mask = r->h->mask;
    conf_spy_install(r->h, spy);
    return 0;
}

int conf_flush(struct conf_run *r)
{
    conf_step("evt_flush");
    int rc = evt_flush(r->t, FLUSH_MS);
    if (rc != EVT_OK && r->flush_rc == EVT_OK)
        r->flush_rc = rc;
    return rc;
}

int conf_close(struct conf_run *r, int64_t timeout_ms)
{
    if (r->closed)
        return r->close_rc;
    struct evt_sink_stats st;
    if (evt_stats(r->t, &st, 1) == 1)
        r->queued = st.queued;
    conf_step("evt_close");
    r->close_rc = evt_close(r->t, timeout_ms);
    r->t = NULL;
    r->h = NULL; /* freed by the close */
    r->closed = 1;
    return r->close_rc;
}

void conf_commit_failed(struct conf_run *r, int rc)
{
    if (!r->problem[0] && rc != EVT_OK)
        snprintf(r->problem, sizeof r->problem, "the core refused an event "
                 "of the kit (%s): a bug of the kit", evt_status_name(rc));
}

/* ---- judgement ---------------------------------------------------------------*/

struct line {
    char *buf;
    size_t len, used;
    int count;
};

static void add(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
    if (l->used + 3 >= l->len)
        return;
    if (l->count++) {
        memcpy(l->buf + l->used, "; ", 3);
        l->used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->used, l->len - l->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->used += (size_t)n < l->len - l->used ? (size_t)n
                                                : l->len - l->used - 1;
}

/* Batch sizes and retry counts depend on the worker's timing: the
 * lines name neither, so that a report can be compared from run to run. */
static void judge_answers(struct line *l, const struct conf_spy_report *s,
                          uint64_t queued)
{
    if (s->error_rc) {
        const char *why = conf_sink_error();
        add(l, "write() %sreturned %d (%s)%s: the host disabled the sink%s%s",
            s->replay_error_rc ? "of a batch written again after EVT_RETRY "
                               : "",
            s->error_rc, evt_status_name(s->error_rc),
            why[0] ? "" : " and the sink logged no reason", why[0] ? ": " : "",
            why);
    } else if (s->accepted < queued) {
        add(l, "only %llu of %llu events were taken: write() answered "
            "EVT_RETRY until the host gave up (retry.limit 3)",
            (unsigned long long)s->accepted, (unsigned long long)queued);
    }
    if (s->flush_rc)
        add(l, "flush() returned %d (%s)", s->flush_rc,
            evt_status_name(s->flush_rc));
}

/* closed: evt_close returned EVT_OK (else an abandoned worker destroys
 * the instance later). */
static void judge_host(struct line *l, const struct conf_spy_report *s,
                       int closed)
{
    if (closed && s->destroys != 1)
        add(l, "the host called destroy() %u times", s->destroys);
    if (s->after_destroy)
        add(l, "the host called the sink %u time(s) after destroy()",
            s->after_destroy);
    if (s->overlapping)
        add(l, "%u call(s) overlapped another call", s->overlapping);
    if (s->bad_batch)
        add(l, "%u write() call(s) with a bad batch or instance",
            s->bad_batch);
}

int conf_judge(struct conf_run *r, char *buf, size_t len)
{
    struct line l = {buf, len, 0, 0};
    buf[0] = '\0';
    if (r->problem[0]) {
        add(&l, "%s", r->problem);
        return 1;
    }
    struct conf_spy_report s;
    conf_spy_get(&s);
    judge_answers(&l, &s, r->queued);
    if (r->flush_rc != EVT_OK && !s.flush_rc)
        add(&l, "evt_flush returned %s", evt_status_name(r->flush_rc));
    if (r->close_rc != EVT_OK)
        add(&l, "evt_close returned %s: the sink was still inside write() "
            "or flush() at the %d s deadline", evt_status_name(r->close_rc),
            CLOSE_MS / 1000);
    judge_host(&l, &s, r->close_rc == EVT_OK);
    char esc[512];
    if (conf_escaped(r->c, esc, sizeof esc))
        add(&l, "%s", esc);
    return l.count > 0;
}

void conf_finish(struct conf_run *r, const char *name, const char *pass_note)
{
    conf_close(r, CLOSE_MS);
    char why[768];
    if (conf_judge(r, why, sizeof why))
        conf_verdict(EVT_CONF_FAIL, name, "%s", why);
    else
        conf_verdict(EVT_CONF_PASS, name, "%s", pass_note);
}

/* ---- the sandbox -------------------------------------------------------------*/

static int entry_ok(const char *name, const char *const *allowed,
                    const char *marker)
{
    if (marker)
        return !strstr(name, marker);
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(name, allowed[i]) == 0)
            return 1;
    return 0;
}

/* The first entry of dir that is not in allowed (or, with marker, whose
 * name holds it); 1 when found. */
static int odd_entry(const char *dir, const char *const *allowed,
                     const char *marker, char *buf, size_t len)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int found = 0;
    while (!found && (de = readdir(d))) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
            entry_ok(n, allowed, marker))
            continue;
        snprintf(buf, len, "the sink made \"%s%s%s\", outside its sandbox",
                 dir, strcmp(dir, "/") == 0 ? "" : "/", n);
        found = 1;
        if (marker) { /* ours by its name: gone, so later checks see it
                         no more */
            char *path = evt__path_join(dir, n);
            if (path)
                conf_rmtree(path);
            free(path);
        }
    }
    closedir(d);
    return found;
}

int conf_escaped(const struct conf_ctx *c, char *buf, size_t len)
{
    static const char *const next_to_jail[] = {"jail", "stdout.txt", NULL};
    int found = odd_entry(c->dir, next_to_jail, NULL, buf, len);
    char parent[1100], other[512];
    snprintf(parent, sizeof parent, "%s/..", c->dir);
    const char *const roots[] = {parent, "/tmp", "/"};
    /* every root is looked at: what escaped is removed even when an
     * earlier one is the one reported */
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
        for (int tries = 0; tries < 64 &&
                            odd_entry(roots[i], NULL, c->marker,
                                      found ? other : buf,
                                      found ? sizeof other : len);
             tries++)
            found = 1;
    return found;
}
