/* evtrack-sink-wandb.so -- Weights & Biases, natively: GraphQL
 * UpsertBucket and CreateRunFiles, file_stream, run-file uploads, and the
 * offline .wandb transaction log, over the sdk's HTTP module.
 *
 * Each W&B run has a journal in the sink's state folder (wb_run.h): a
 * batch is journaled first, then delivered: written to the .wandb file
 * (offline mode), or sent (online; rows are paced to one file_stream
 * request per stream interval, the rest leave with a later batch, the
 * ticker thread, flush or close). When the server stays unreachable the
 * sink goes offline: it writes the .wandb file and hands batches back
 * (EVT_RETRY) so the host keeps them for `evtrack replay`, which brings
 * the journal's rows to the server exactly once.
 * Documentation: docs/sinks/wandb.md. */
#define _GNU_SOURCE /* gethostname */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evtrack/sink.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "evtrack/sdk/http.h"
#include "evtrack/sdk/results.h"
#include "wb_config.h"
#include "wb_proto.h"
#include "wb_run.h"
#include "wb_scrub.h"
#include "wb_sync.h"

#define WB_MAX_RUNS 8
#define ERRLEN 1024

struct wbs {
    evt_host *h;
    const struct evt_host_api *api;
    struct wb_cfg cfg;
    struct wb_conn conn;
    struct wb_sync_ctx sync;
    struct evt_results_opts opts;
    char *secrets[EVT_RESULTS_MAX_SECRETS];
    const char *scrub_list[EVT_RESULTS_MAX_SECRETS];
    size_t nscrub;
    char *state_root; /* <state_dir>/runs */
    char host[256];
    struct wb_run *runs[WB_MAX_RUNS];
    uint64_t used[WB_MAX_RUNS], clock;
    size_t nruns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t ticker;
    int ticker_on, stop;
    int fallback;          /* offline: the server stayed unreachable */
    int64_t next_probe_ns; /* when to try the server again */
    int64_t fail_since_ns; /* first failure of the current outage */
    struct evt_buf scrubbed;
};

/* ---- runs -------------------------------------------------------------- */

static char *run_dir(struct wbs *s, const char *id)
{
    const char *p = s->cfg.s.project;
    char *sp = evt_safe_component(p, strlen(p), 100);
    char *si = evt_safe_component(id, strlen(id), 120);
    char *a = sp ? evt_path_join(s->state_root, sp) : NULL;
    char *dir = a && si ? evt_path_join(a, si) : NULL;
    free(sp);
    free(si);
    free(a);
    return dir;
}

static void drop_run(struct wbs *s, size_t i)
{
    wb_run_close(s->runs[i]);
    free(s->runs[i]);
    s->runs[i] = s->runs[s->nruns - 1];
    s->used[i] = s->used[s->nruns - 1];
    s->nruns--;
}

static struct wb_run *find_run(struct wbs *s, const char *id)
{
    for (size_t i = 0; i < s->nruns; i++)
        if (strcmp(s->runs[i]->id, id) == 0) {
            s->used[i] = ++s->clock;
            return s->runs[i];
        }
    return NULL;
}

/* Close the least recently used run (its queued events journaled
 * first). 0, or -1 when they could not be (logged). */
static int evict_one(struct wbs *s)
{
    char err[ERRLEN];
    size_t lru = 0;
    for (size_t i = 1; i < s->nruns; i++)
        if (s->used[i] < s->used[lru])
            lru = i;
    struct wb_run *r = s->runs[lru];
    int rc = wb_run_commit(r, err, sizeof err);
    if (rc != 0)
        s->api->log(s->h, EVT_LOG_ERROR, "run %s: cannot journal the "
                    "events: %s", r->id, err);
    else
        s->api->log(s->h, EVT_LOG_INFO, "run %s: closed to make room for "
                    "another run; its journal keeps what is not sent yet",
                    r->id);
    drop_run(s, lru);
    return rc;
}

/* The W&B run of an evtrack run id, opened (journal read back) when new.
 * NULL when it cannot be opened (logged). */
static struct wb_run *run_for(struct wbs *s, const char *evt_run_id)
{
    const char *id = s->cfg.s.run_id ? s->cfg.s.run_id : evt_run_id;
    struct wb_run *r = find_run(s, id);
    if (r)
        return r;
    char err[ERRLEN];
    char *dir = run_dir(s, id);
    r = dir ? malloc(sizeof *r) : NULL;
    int rc = r ? wb_run_open(r, id, dir, &s->opts, s->cfg.log_samples, err,
                             sizeof err)
               : -1;
    if (!r)
        snprintf(err, sizeof err, "out of memory");
    free(dir);
    if (rc != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s%s", id, err,
                    rc == 1 ? " (give each process its own state_dir)" : "");
        if (r)
            wb_run_close(r);
        free(r);
        return NULL;
    }
    if (s->nruns == WB_MAX_RUNS && evict_one(s) != 0) {
        wb_run_close(r);
        free(r);
        return NULL;
    }
    s->runs[s->nruns] = r;
    s->used[s->nruns++] = ++s->clock;
    return r;
}

/* ---- taking a batch ---------------------------------------------------- */

/* The event's bytes with secrets scrubbed (s->scrubbed may hold them). */
static int event_bytes(struct wbs *s, const evt_event *e, const void **p,
                       size_t *n)
{
    s->api->ev_msgpack(e, p, n);
    s->scrubbed.len = 0;
    int rc = wb_scrub_msgpack(*p, *n, s->scrub_list, s->nscrub, &s->scrubbed);
    if (rc == 1) {
        *p = s->scrubbed.data;
        *n = s->scrubbed.len;
    }
    s->scrubbed.oom = 0;
    return rc < 0 ? -1 : 0;
}

/* Journal every run the batch touched. EVT_OK or EVT_RETRY (logged). */
static int commit_all(struct wbs *s, int ok)
{
    char err[ERRLEN];
    for (size_t i = s->nruns; i-- > 0;) {
        struct wb_run *r = s->runs[i];
        if (!r->in_batch)
            continue;
        if (ok && wb_run_commit(r, err, sizeof err) == 0)
            continue;
        if (ok)
            s->api->log(s->h, EVT_LOG_ERROR, "run %s: cannot journal the "
                        "events: %s", r->id, err);
        drop_run(s, i); /* read back from the journal on the retry */
        ok = 0;
    }
    for (size_t i = 0; !ok && i < s->nruns; i++)
        s->runs[i]->in_batch = 0;
    return ok ? EVT_OK : EVT_RETRY;
}

static int take_batch(struct wbs *s, const evt_event *const *ev, size_t n)
{
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        const void *p;
        size_t len;
        struct wb_run *r = run_for(s, s->api->ev_run_id(ev[i]));
        if (r)
            r->in_batch = 1;
        ok = r && event_bytes(s, ev[i], &p, &len) == 0 &&
             wb_run_take(r, p, len) >= 0;
        if (!ok && r && r->err[0])
            s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s", r->id, r->err);
    }
    return commit_all(s, ok);
}

/* ---- offline .wandb ---------------------------------------------------- */

static int put_rec(struct wb_run *r, char *err)
{
    int rc = wb_offline_put(&r->off, &r->off.rec, err, ERRLEN);
    r->off.rec.len = 0;
    return rc;
}

static int offline_start(struct wbs *s, struct wb_run *r, char *err)
{
    if (wb_offline_open(&r->off, s->cfg.offline_root, r->id, r->start_ns,
                        err, ERRLEN) != 0)
        return -1;
    const struct wb_settings *st = &s->cfg.s;
    struct wb_run_info ri = {r->id, st->entity, st->project, st->group,
                             st->job_type, st->name, st->notes, s->host,
                             NULL, (const char *const *)st->tags, st->ntags,
                             &r->config, r->start_ns, 0, 0};
    r->off.rec.len = 0;
    wb_rec_run(&r->off.rec, r->off.num, &ri);
    r->off_started = put_rec(r, err) == 0;
    free(r->off_config);
    r->off_config = wb_run_config_text(r);
    return r->off_started ? 0 : -1;
}

/* A config record when the config changed since the last one written
 * (task configs arrive after the run record). */
static int offline_config(struct wb_run *r, char *err)
{
    char *now = wb_run_config_text(r);
    if (!now) {
        snprintf(err, ERRLEN, "out of memory");
        return -1;
    }
    if (!r->config.n || (r->off_config && strcmp(now, r->off_config) == 0)) {
        free(now);
        return 0;
    }
    wb_rec_config(&r->off.rec, r->off.num, &r->config);
    int rc = put_rec(r, err);
    free(r->off_config);
    r->off_config = now;
    return rc;
}

static int offline_files(struct wbs *s, struct wb_run *r, char *err)
{
    const char **names = malloc((r->files.n + 1) * sizeof *names);
    if (!names) {
        snprintf(err, ERRLEN, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < r->files.n && rc == 0; i++) {
        const struct wb_file *f = &r->files.v[i];
        struct wb_bytes b;
        names[i] = f->name;
        rc = wb_bytes_open(&b, f, err, ERRLEN);
        if (rc == 0)
            rc = wb_offline_file(&r->off, f->name, b.p, b.n, err, ERRLEN);
        wb_bytes_close(&b);
    }
    if (rc == 0 && r->files.n) {
        wb_rec_files(&r->off.rec, r->off.num, names, r->files.n, 0);
        rc = put_rec(r, err);
    }
    free(names);
    return rc;
}

/* The end of the run in the .wandb file: files, summary, exit, final. */
static int offline_finish(struct wbs *s, struct wb_run *r, int code,
                          char *err)
{
    if (offline_files(s, r, err) != 0)
        return -1;
    const char *rt = wb_kvs_get(&r->summary, "_runtime");
    wb_rec_summary(&r->off.rec, r->off.num, &r->summary);
    if (put_rec(r, err) != 0)
        return -1;
    wb_rec_exit(&r->off.rec, r->off.num, code,
                rt ? (int32_t)strtod(rt, NULL) : 0);
    if (put_rec(r, err) != 0)
        return -1;
    wb_rec_final(&r->off.rec, r->off.num);
    if (put_rec(r, err) != 0)
        return -1;
    r->off_ended = 1;
    return wb_offline_sync(&r->off, err, ERRLEN);
}

/* The rows not yet in the .wandb file, and the end of the run once
 * built. In offline mode the rows are then done with. */
static int offline_write(struct wbs *s, struct wb_run *r)
{
    char err[ERRLEN];
    int rc = r->off_started ? 0 : offline_start(s, r, err);
    if (rc == 0)
        rc = offline_config(r, err);
    uint64_t first = r->rows_total - r->nrows;
    for (size_t i = 0; rc == 0 && i < r->nrows; i++) {
        if (first + i < r->rows_offline)
            continue;
        const struct wb_row *w = &r->rows[i];
        wb_rec_history(&r->off.rec, r->off.num, &w->kv, w->step);
        rc = put_rec(r, err);
        if (rc == 0)
            r->rows_offline = first + i + 1;
    }
    if (rc == 0 && r->ended && r->end_built && !r->off_ended)
        rc = offline_finish(s, r, r->exitcode, err);
    if (rc != 0)
        s->api->log(s->h, EVT_LOG_ERROR, "run %s: offline run file: %s",
                    r->id, err);
    else if (s->cfg.mode == WB_MODE_OFFLINE)
        wb_run_rows_sent(r, r->nrows);
    return rc;
}

/* ---- online ------------------------------------------------------------ */

static void enter_fallback(struct wbs *s, const char *why)
{
    int64_t now = wb_mono_ns();
    s->next_probe_ns = s->cfg.reconnect_ms
                           ? now + s->cfg.reconnect_ms * 1000000
                           : INT64_MAX;
    if (s->fallback)
        return;
    s->fallback = 1;
    s->api->log(s->h, EVT_LOG_WARN,
                "W&B server %s unreachable (%s): going offline; runs are "
                "written under %s for `wandb sync`, and their events are "
                "handed back to be kept for `evtrack replay`",
                s->cfg.base_url, why, s->cfg.offline_root);
}

static void leave_fallback(struct wbs *s)
{
    s->fail_since_ns = 0;
    if (!s->fallback)
        return;
    s->fallback = 0;
    s->api->log(s->h, EVT_LOG_INFO, "W&B server %s reachable again",
                s->cfg.base_url);
}

/* After a transient failure: EVT_RETRY, going offline when the server
 * has been unreachable for init_timeout (or never answered). */
static int on_transient(struct wbs *s, struct wb_run *r, int64_t t0,
                        const char *err)
{
    if (!s->fail_since_ns)
        s->fail_since_ns = t0;
    int64_t out_ms = (wb_mono_ns() - s->fail_since_ns) / 1000000;
    if (!r->link.connected || out_ms >= s->cfg.init_timeout_ms || s->fallback)
        enter_fallback(s, err);
    else
        s->api->log(s->h, EVT_LOG_WARN, "run %s: %s; the batch will be "
                    "retried", r->id, err);
    if (s->fallback)
        (void)offline_write(s, r);
    return EVT_RETRY;
}

/* Budget of one delivery: the init timeout while not connected (init is
 * retried with backoff within it), else one request's retries. */
static int64_t budget_ns(const struct wbs *s, const struct wb_run *r)
{
    int64_t ms = s->fallback ? s->cfg.request_timeout_ms /* a probe */
                 : r->link.connected
                     ? s->cfg.request_timeout_ms * s->cfg.attempts +
                           s->cfg.retry_cap_ms
                     : s->cfg.init_timeout_ms;
    return wb_mono_ns() + ms * 1000000;
}

/* Bring r's server side up to date. wait: sleep for the stream interval
 * rather than leave rows for later; probe: one try per request. */
static int deliver_run(struct wbs *s, struct wb_run *r, int wait,
                       int64_t deadline_ns, int probe)
{
    if (s->cfg.mode == WB_MODE_OFFLINE)
        return offline_write(s, r) == 0 ? EVT_OK : EVT_RETRY;
    int64_t t0 = wb_mono_ns();
    if (s->fallback && t0 < s->next_probe_ns) {
        (void)offline_write(s, r);
        return EVT_RETRY;
    }
    char err[ERRLEN] = "";
    int64_t dl = budget_ns(s, r);
    if (deadline_ns && deadline_ns < dl)
        dl = deadline_ns;
    s->sync.probe = probe || s->fallback;
    int rc = wb_sync_run(r, &s->sync, wait, dl, err, sizeof err);
    s->sync.probe = 0;
    if (rc == WB_SYNC_OK || rc == WB_SYNC_DEFERRED) {
        leave_fallback(s);
        return EVT_OK;
    }
    if (rc == WB_SYNC_FINAL) {
        s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s", r->id, err);
        return EVT_ERROR;
    }
    return on_transient(s, r, t0, err);
}

/* ---- callbacks --------------------------------------------------------- */

/* Rows accepted but left for a later request (pacing) must survive a
 * crash: the host forgets the batch once write() returns EVT_OK. */
static int keep_deferred(struct wbs *s, struct wb_run *r)
{
    char err[ERRLEN];
    if (s->cfg.mode != WB_MODE_ONLINE || s->fallback || !wb_sync_pending(r) ||
        wb_journal_sync(&r->jnl, err, sizeof err) == 0)
        return EVT_OK;
    s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s", r->id, err);
    return EVT_RETRY;
}

static int wb_write(void *inst, const evt_event *const *ev, size_t n)
{
    struct wbs *s = inst;
    if (s->cfg.mode == WB_MODE_DISABLED)
        return EVT_OK;
    pthread_mutex_lock(&s->mu);
    int rc = take_batch(s, ev, n);
    for (size_t i = 0; i < s->nruns; i++) {
        struct wb_run *r = s->runs[i];
        /* An ended run is sent now, after the stream interval if need be:
         * rows left for the ticker, a flush or the close would be lost to
         * the host if those failed (no retry, no dead letter). */
        if (r->in_batch && rc == EVT_OK)
            rc = deliver_run(s, r, r->ended, 0, 0);
        if (r->in_batch && rc == EVT_OK)
            rc = keep_deferred(s, r);
        r->in_batch = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Seal the open rows, send what is pending (pacing respected), make the
 * journals durable. */
static int flush_all(struct wbs *s, int64_t deadline_ns)
{
    char err[ERRLEN];
    int rc = EVT_OK;
    for (size_t i = s->nruns; i-- > 0;) {
        struct wb_run *r = s->runs[i];
        if (wb_run_seal(r, err, sizeof err) != 0 ||
            wb_journal_sync(&r->jnl, err, sizeof err) != 0) {
            s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s", r->id, err);
            drop_run(s, i); /* read back from its journal when needed */
            rc = EVT_ERROR;
            continue;
        }
        if (s->cfg.mode == WB_MODE_OFFLINE || wb_sync_pending(r))
            (void)deliver_run(s, r, 1, deadline_ns, 0);
    }
    return rc;
}

static int wb_flush(void *inst, int64_t deadline_ns)
{
    struct wbs *s = inst;
    if (s->cfg.mode == WB_MODE_DISABLED)
        return EVT_OK;
    pthread_mutex_lock(&s->mu);
    int rc = flush_all(s, deadline_ns == INT64_MAX ? 0 : deadline_ns);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- the ticker: paced rows and heartbeats while the worker is idle ---- */

static int64_t tick_ms(const struct wb_cfg *c)
{
    int64_t t = c->interval_ms < c->heartbeat_ms ? c->interval_ms
                                                 : c->heartbeat_ms;
    t /= 4;
    return t < 10 ? 10 : t > 250 ? 250 : t;
}

static void tick(struct wbs *s)
{
    char err[ERRLEN];
    if (s->fallback)
        return;
    for (size_t i = 0; i < s->nruns; i++) {
        struct wb_run *r = s->runs[i];
        if (r->link.connected && wb_sync_pending(r)) {
            s->sync.probe = 1; /* one try: a failure waits for write() */
            (void)wb_sync_run(r, &s->sync, 0,
                              wb_mono_ns() +
                                  s->cfg.request_timeout_ms * 1000000,
                              err, sizeof err);
            s->sync.probe = 0;
        }
        else
            wb_sync_heartbeat(r, &s->sync);
    }
}

static void *ticker_main(void *arg)
{
    struct wbs *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + tick_ms(&s->cfg) * 1000000;
        ts.tv_sec += (time_t)(ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        if (!s->stop)
            tick(s);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- close ------------------------------------------------------------- */

/* A run this process wrote to ends here: complete (exit code 0 without a
 * run_end) online, exit record offline. */
static void finish_run(struct wbs *s, struct wb_run *r)
{
    char err[ERRLEN];
    if (wb_run_seal(r, err, sizeof err) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s", r->id, err);
        return;
    }
    if (s->cfg.mode == WB_MODE_OFFLINE || s->fallback) {
        if (r->off_started && !r->off_ended &&
            offline_finish(s, r, r->ended ? r->exitcode : 0, err) != 0)
            s->api->log(s->h, EVT_LOG_ERROR, "run %s: %s", r->id, err);
        return;
    }
    if (!r->st.finished && !r->ended && r->link.connected) {
        r->link.complete_req = 1;
        r->link.complete_code = 0;
    }
    int64_t ms = s->cfg.request_timeout_ms < 5000 ? s->cfg.request_timeout_ms
                                                  : 5000;
    if (wb_sync_pending(r)) /* DEFERRED (deadline) returns EVT_OK too */
        (void)deliver_run(s, r, 1, wb_mono_ns() + ms * 1000000, 1);
    if (wb_sync_pending(r))
        s->api->log(s->h, EVT_LOG_WARN, "run %s: not everything reached "
                    "the server; the journal in %s keeps it for the next "
                    "process with this state_dir (e.g. evtrack replay)",
                    r->id, r->dir);
}

static void wbs_free(struct wbs *s)
{
    while (s->nruns)
        drop_run(s, s->nruns - 1);
    wb_conn_free(&s->conn);
    wb_cfg_free(&s->cfg);
    evt_results_free_secrets(s->secrets);
    evt_buf_free(&s->scrubbed);
    free(s->state_root);
    free(s);
}

static void wb_destroy(void *inst)
{
    struct wbs *s = inst;
    if (s->ticker_on) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->ticker, NULL);
    }
    if (s->cfg.mode != WB_MODE_DISABLED)
        for (size_t i = 0; i < s->nruns; i++)
            finish_run(s, s->runs[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    wbs_free(s);
}

/* ---- create ------------------------------------------------------------ */

/* The secrets scrubbed from events: the environment's tokens and the
 * configured API key. */
static int load_secrets(struct wbs *s)
{
    s->opts.layout = (enum evt_results_layout)s->cfg.layout;
    s->opts.nan = EVT_RESULTS_NAN_BARE;
    s->opts.redact = 1;
    if (evt_results_load_secrets(&s->opts, s->secrets) != 0)
        return -1;
    int have = 0;
    for (int i = 0; i < EVT_RESULTS_MAX_SECRETS; i++)
        have |= s->secrets[i] && s->cfg.api_key &&
                strcmp(s->secrets[i], s->cfg.api_key) == 0;
    for (int i = 0; !have && s->cfg.api_key && i < EVT_RESULTS_MAX_SECRETS;
         i++)
        if (!s->secrets[i]) {
            if (!(s->secrets[i] = strdup(s->cfg.api_key)))
                return -1;
            s->opts.secrets[i] = s->secrets[i];
            break;
        }
    for (int i = 0; i < EVT_RESULTS_MAX_SECRETS; i++)
        if (s->opts.secrets[i] && *s->opts.secrets[i])
            s->scrub_list[s->nscrub++] = s->opts.secrets[i];
    return 0;
}

static int setup_online(struct wbs *s)
{
    /* libcurl is loaded by the first request, on the worker (http.h) */
    const struct wb_cfg *c = &s->cfg;
    if (wb_conn_init(&s->conn, c->base_url, c->api_key, c->ca_bundle,
                     c->request_timeout_ms, c->attempts, c->retry_base_ms,
                     c->retry_cap_ms) != 0)
        return -1;
    s->sync.conn = &s->conn;
    s->sync.cfg = &s->cfg;
    s->sync.host = s->host;
    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0)
        return -1;
    s->ticker_on = 1;
    return 0;
}

static int setup(struct wbs *s)
{
    const char *sd = s->api->state_dir(s->h);
    s->state_root = evt_path_join(sd ? sd : ".", "runs");
    if (gethostname(s->host, sizeof s->host - 1) != 0)
        s->host[0] = '\0';
    if (!s->state_root || load_secrets(s) != 0)
        return -1;
    return s->cfg.mode == WB_MODE_ONLINE ? setup_online(s) : 0;
}

static int wb_create(evt_host *h, const struct evt_host_api *api,
                     const evt_config *cfg, void **instance)
{
    struct wbs *s = calloc(1, sizeof *s);
    char err[ERRLEN];
    struct wb_env env;
    if (!s) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        return EVT_ENOMEM;
    }
    s->h = h;
    s->api = api;
    evt_buf_init(&s->scrubbed);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    wb_env_read(&env);
    if (wb_cfg_read(&s->cfg, api, cfg, &env, api->output_dir(h), err,
                    sizeof err) != 0) {
        api->log(h, EVT_LOG_ERROR, "%s", err);
        wb_destroy(s);
        return EVT_ECONFIG;
    }
    if (s->cfg.mode != WB_MODE_DISABLED && setup(s) != 0) {
        api->log(h, EVT_LOG_ERROR, "cannot start: out of memory or no "
                 "thread");
        wb_destroy(s);
        return EVT_ERROR;
    }
    *instance = s;
    return EVT_OK;
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "wandb",
    .version = "0.1.0",
    .description = "Weights & Biases runs: history, summary, config, "
                   "results and samples tables, run files; online or as "
                   "an offline .wandb run",
    .event_mask = EVT_EV_ALL,
    .flags = EVT_SINK_F_NETWORK,
    .config_keys = wb_config_keys,
    .create = wb_create,
    .write = wb_write,
    .destroy = wb_destroy,
    .flush = wb_flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
