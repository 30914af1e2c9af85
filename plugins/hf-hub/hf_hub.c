/* hf_hub.c -- evtrack-sink-hf-hub.so: push a run's results JSON, its
 * per-task samples JSONL (the files local-json and jsonl write, made by
 * the same sdk code) and a dataset card to Hugging Face Hub dataset repos,
 * in ONE commit per repo per push. Documentation: docs/sinks/hf-hub.md.
 *
 * Contract with the host (docs/ABI.md):
 *  - write() stages every event on disk under state_dir (hub_stage.c)
 *    before anything goes on the network, so memory stays bounded and a
 *    crash or a failed push loses nothing. Events already staged (a
 *    retried batch, a replay) are recognised by (run_id, seq).
 *  - At run_end (and every push_interval_secs while a run goes on) the
 *    run is pushed (hub_push.c). A transient failure, after the HTTP
 *    module's own retries, returns EVT_RETRY: the host retries the batch,
 *    then dead-letters it; `evtrack replay` delivers the run_end again and
 *    the staged run is pushed then. A run pushed already is not pushed
 *    twice (the "pushed" marker, and the Hub's no-op rule for a commit
 *    whose answer was lost). A final error (401, 403, 404, 400…) returns
 *    EVT_ERROR with the repo and the server's message, never the token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evtrack/sdk/event_view.h"
#include "hub.h"
#include "jwrite.h"

#define RUNS_MAX 8

struct hub {
    evt_host *h;
    const struct evt_host_api *api;
    struct hub_cfg cfg;
    struct hub_pusher push;
    char *base; /* api->state_dir */
    struct jl_rec *rec; /* sample lines, as the jsonl sink makes them */
    struct jl_secrets jsec; /* scrubbed from them: cfg.ropts.secrets */
    struct hub_run *runs[RUNS_MAX];
    int64_t used[RUNS_MAX]; /* last use, for eviction */
    size_t nruns;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- open runs ------------------------------------------------------ */

/* Close open run i: its buffered records are written first. 0, or -1
 * (logged; the run stays open) when they cannot be. */
static int drop_run(struct hub *s, size_t i)
{
    char err[HUB_ERRLEN];
    if (hub_stage_commit(s->runs[i], err, sizeof err) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
        return -1;
    }
    if (hub_stage_sync(s->runs[i], err, sizeof err) != 0)
        s->api->log(s->h, EVT_LOG_WARN, "%s", err);
    hub_stage_close(s->runs[i]);
    s->runs[i] = s->runs[s->nruns - 1];
    s->used[i] = s->used[s->nruns - 1];
    s->nruns--;
    return 0;
}

/* The staging of run_id, opened when needed. NULL (logged) on failure. */
static struct hub_run *get_run(struct hub *s, const char *run_id)
{
    for (size_t i = 0; i < s->nruns; i++)
        if (strcmp(s->runs[i]->run_id, run_id) == 0) {
            s->used[i] = mono_ns();
            return s->runs[i];
        }
    if (s->nruns == RUNS_MAX) { /* close the least recently used */
        size_t old = 0;
        for (size_t i = 1; i < s->nruns; i++)
            old = s->used[i] < s->used[old] ? i : old;
        if (drop_run(s, old) != 0)
            return NULL;
    }
    char err[HUB_ERRLEN];
    struct hub_run *r;
    if (hub_stage_open(&r, s->base, run_id, s->api->run_stamp(s->h), err,
                       sizeof err) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "cannot stage run %s: %s", run_id,
                    err);
        return NULL;
    }
    r->last_push_ns = mono_ns();
    r->sec = &s->jsec;
    s->runs[s->nruns] = r;
    s->used[s->nruns++] = r->last_push_ns;
    return r;
}

/* ---- pushing -------------------------------------------------------- */

/* Push r when something staged is not pushed yet. EVT_OK, EVT_RETRY or
 * EVT_ERROR (logged). */
static int push(struct hub *s, struct hub_run *r, int final)
{
    char err[HUB_ERRLEN];
    if (!hub_stage_dirty(r))
        return EVT_OK;
    if (!r->started) {
        s->api->log(s->h, EVT_LOG_WARN, "run %s: nothing staged but a "
                    "run_end (no run_start): not pushed", r->run_id);
        return EVT_OK;
    }
    if (hub_stage_sync(r, err, sizeof err) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
        return EVT_RETRY;
    }
    r->last_push_ns = mono_ns();
    int rc = hub_push_run(&s->push, r, err, sizeof err);
    if (rc == EVT_OK)
        s->api->log(s->h, EVT_LOG_INFO, "run %s pushed%s", r->run_id,
                    final ? "" : " (incremental)");
    else
        s->api->log(s->h, rc == EVT_RETRY ? EVT_LOG_WARN : EVT_LOG_ERROR,
                    "push of run %s failed%s: %s", r->run_id,
                    rc == EVT_RETRY ? " (transient, will be retried)" : "",
                    err);
    return rc;
}

/* Incremental pushes of runs still going on; only final errors count. */
static int push_due(struct hub *s)
{
    if (s->cfg.push_interval_s <= 0)
        return EVT_OK;
    int64_t now = mono_ns();
    for (size_t i = 0; i < s->nruns; i++) {
        struct hub_run *r = s->runs[i];
        if (r->ended ||
            now - r->last_push_ns < s->cfg.push_interval_s * 1000000000)
            continue;
        if (push(s, r, 0) == EVT_ERROR)
            return EVT_ERROR;
    }
    return EVT_OK;
}

/* ---- write ---------------------------------------------------------- */

/* Stage e into r unless it is there already. EVT_OK or EVT_RETRY. */
static int stage(struct hub *s, struct hub_run *r, const evt_event *e)
{
    const struct evt_host_api *api = s->api;
    uint64_t seq = api->ev_seq(e);
    struct evt_view v;
    char err[HUB_ERRLEN], warn[256];
    if (hub_stage_has(r, seq))
        return EVT_OK;
    if (evt_view_open(&v, api, e) != 0) {
        api->log(s->h, EVT_LOG_WARN, "event seq %llu skipped: its bytes are "
                 "not one msgpack map", (unsigned long long)seq);
        return EVT_OK;
    }
    const void *raw;
    size_t len;
    api->ev_msgpack(e, &raw, &len);
    int rc = hub_stage_event(r, s->rec, api->ev_kind(e), seq, &v.root, raw,
                             len, err, sizeof err, warn, sizeof warn);
    evt_view_close(&v);
    if (rc < 0) {
        api->log(s->h, EVT_LOG_ERROR, "cannot stage event seq %llu: %s",
                 (unsigned long long)seq, err);
        return EVT_RETRY;
    }
    if (rc == 1)
        api->log(s->h, EVT_LOG_WARN, "sample event seq %llu: no line "
                 "written: %s", (unsigned long long)seq, err);
    else if (warn[0])
        api->log(s->h, EVT_LOG_WARN, "sample event seq %llu: %s",
                 (unsigned long long)seq, warn);
    return EVT_OK;
}

/* Write the staged records of every open run (end of a batch). */
static int commit_all(struct hub *s)
{
    char err[HUB_ERRLEN];
    int rc = EVT_OK;
    for (size_t i = 0; i < s->nruns; i++)
        if (hub_stage_commit(s->runs[i], err, sizeof err) != 0) {
            s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
            rc = EVT_RETRY;
        }
    return rc;
}

/* Push each run that ended in this batch, then forget it. */
static int push_ended(struct hub *s, char **ended, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        struct hub_run *r = get_run(s, ended[k]);
        int rc = r ? push(s, r, 1) : EVT_RETRY;
        if (rc != EVT_OK)
            return rc;
        for (size_t i = 0; i < s->nruns; i++)
            if (s->runs[i] == r) {
                drop_run(s, i);
                break;
            }
    }
    return EVT_OK;
}

/* Remember run_id as ended in this batch (once). 0, or -1 on OOM. */
static int note_end(char **ended, size_t *n, const char *run_id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(ended[i], run_id) == 0)
            return 0;
    if (*n == RUNS_MAX || !(ended[*n] = strdup(run_id)))
        return -1;
    (*n)++;
    return 0;
}

static int hub_write(void *inst, const evt_event *const *ev, size_t n)
{
    struct hub *s = inst;
    char *ended[RUNS_MAX];
    size_t nended = 0;
    int rc = EVT_OK;
    for (size_t i = 0; i < n && rc == EVT_OK; i++) {
        const char *run_id = s->api->ev_run_id(ev[i]);
        struct hub_run *r = get_run(s, run_id);
        rc = r ? stage(s, r, ev[i]) : EVT_RETRY;
        if (rc == EVT_OK && s->api->ev_kind(ev[i]) == EVT_EV_RUN_END &&
            note_end(ended, &nended, run_id) != 0)
            rc = EVT_RETRY;
    }
    int crc = commit_all(s); /* keep what was staged, even on failure */
    if (rc == EVT_OK)
        rc = crc;
    if (rc == EVT_OK)
        rc = push_ended(s, ended, nended);
    if (rc == EVT_OK)
        rc = push_due(s);
    for (size_t i = 0; i < nended; i++)
        free(ended[i]);
    return rc;
}

/* ---- instance ------------------------------------------------------- */

static int hub_flush(void *inst, int64_t deadline_ns)
{
    struct hub *s = inst;
    char err[HUB_ERRLEN];
    int rc = EVT_OK;
    (void)deadline_ns;
    for (size_t i = 0; i < s->nruns; i++)
        if (hub_stage_sync(s->runs[i], err, sizeof err) != 0) {
            s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
            rc = EVT_ERROR;
        }
    return rc;
}

static void hub_free(struct hub *s)
{
    while (s->nruns) /* at destroy nothing is pending: write() commits */
        if (drop_run(s, s->nruns - 1) != 0) {
            hub_stage_close(s->runs[s->nruns - 1]);
            s->nruns--;
        }
    jl_rec_free(s->rec);
    hub_pusher_free(&s->push);
    hub_config_free(&s->cfg);
    free(s->base);
    free(s);
}

static void hub_destroy(void *inst)
{
    hub_free(inst);
}

/* A warning when the token would cross the network in clear text. */
static void check_plain_http(struct hub *s)
{
    const char *e = s->cfg.endpoint;
    if (strncmp(e, "http://", 7) != 0 || !s->cfg.token)
        return;
    e += 7;
    if (strncmp(e, "127.0.0.1", 9) == 0 || strncmp(e, "localhost", 9) == 0 ||
        strncmp(e, "[::1]", 5) == 0)
        return;
    s->api->log(s->h, EVT_LOG_WARN, "the endpoint uses plain http: the "
                "token is sent unencrypted");
}

static int hub_create(evt_host *h, const struct evt_host_api *api,
                      const evt_config *cfg, void **out)
{
    struct hub *s = calloc(1, sizeof *s);
    char err[HUB_ERRLEN];
    if (!s)
        return EVT_ENOMEM;
    s->h = h;
    s->api = api;
    if (hub_config_read(&s->cfg, api, cfg, err, sizeof err) != 0) {
        api->log(h, EVT_LOG_ERROR, "%s", err);
        hub_free(s);
        return EVT_ECONFIG;
    }
    /* libcurl is loaded by the first request, on the worker (http.h) */
    if (hub_pusher_init(&s->push, &s->cfg) != 0 ||
        !(s->rec = jl_rec_new(&s->cfg.jopts)) ||
        !(s->base = strdup(api->state_dir(h)))) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        hub_free(s);
        return EVT_ERROR;
    }
    jl_secrets_init(&s->jsec, s->cfg.ropts.secrets, EVT_RESULTS_MAX_SECRETS);
    jl_rec_set_secrets(s->rec, &s->jsec);
    check_plain_http(s);
    *out = s;
    return EVT_OK;
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "hf-hub",
    .version = "0.1.0",
    .description = "push results, per-sample files and a dataset card to "
                   "Hugging Face Hub dataset repos (one commit per push)",
    .event_mask = EVT_EV_RUN_START | EVT_EV_TASK_CONFIG | EVT_EV_SAMPLE |
                  EVT_EV_RESULT | EVT_EV_RUN_END,
    .flags = EVT_SINK_F_NETWORK,
    .config_keys = hub_config_keys,
    .create = hub_create,
    .write = hub_write,
    .destroy = hub_destroy,
    .flush = hub_flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
