/* wb_sync.c -- a run's journal to the server (wb_sync.h). */
#include "wb_sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wb_filestream.h"
#include "evtrack/sdk/results.h"
#include "wb_graphql.h"

#define MAX_REQUEST_BYTES (8u << 20) /* the server splits at ~10 MiB */
#define INIT_ATTEMPTS 1000 /* bounded by init_timeout_secs in practice */

int64_t wb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    int64_t d = t - wb_mono_ns();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)(d / 1000000000), (long)(d % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int rc_of(int outcome)
{
    return outcome == EVT_HTTP_DONE        ? WB_SYNC_OK
           : outcome == EVT_HTTP_TRANSIENT ? WB_SYNC_TRANSIENT
                                           : WB_SYNC_FINAL;
}

/* State saved, or the failure logged in err (the exchange itself worked:
 * a replay then resends the same lines at the same offsets). */
static void save(struct wb_run *r, char *err, size_t errlen)
{
    (void)wb_run_save_state(r, err, errlen);
}

/* ---- UpsertBucket ------------------------------------------------------ */

static void fill_upsert(struct wb_upsert *u, const struct wb_run *r,
                        const struct wb_sync_ctx *c, const char *config)
{
    const struct wb_settings *s = &c->cfg->s;
    memset(u, 0, sizeof *u);
    u->id = r->st.storage_id;
    u->name = r->id;
    u->project = s->project;
    u->entity = s->entity ? s->entity : r->st.entity;
    u->group = s->group;
    u->display_name = s->name;
    u->notes = s->notes;
    u->job_type = s->job_type;
    u->commit = r->commit;
    u->host = c->host;
    u->tags = (const char *const *)s->tags;
    u->ntags = s->ntags;
    u->has_tags = s->has_tags;
    u->config = r->config.n ? config : NULL;
}

static int adopt(struct wb_run *r, const struct wb_bucket *b,
                 const struct wb_upsert *u, char *err, size_t errlen)
{
    const char *entity = b->entity ? b->entity : u->entity;
    const char *project = b->project ? b->project : u->project;
    if (!entity || !project) {
        snprintf(err, errlen, "UpsertBucket: the server named no entity or "
                              "project for run %s",
                 r->id);
        return WB_SYNC_FINAL;
    }
    if (wb_state_set_str(&r->st.storage_id, b->id) != 0 ||
        wb_state_set_str(&r->st.entity, entity) != 0 ||
        wb_state_set_str(&r->st.project, project) != 0)
        goto oom;
    if (!r->st.have_base) {
        r->st.have_base = 1;
        r->st.base_offset = b->history_lines; /* a resumed run goes on */
    }
    free(r->link.fs_path);
    if (!(r->link.fs_path = wb_fs_path(entity, project, r->id)))
        goto oom;
    r->link.connected = 1;
    return WB_SYNC_OK;
oom:
    snprintf(err, errlen, "UpsertBucket: out of memory");
    return WB_SYNC_TRANSIENT;
}

static int upsert(struct wb_run *r, const struct wb_sync_ctx *c,
                  int64_t deadline_ns, char *err, size_t errlen)
{
    char *config = wb_run_config_text(r);
    if (!config) {
        snprintf(err, errlen, "UpsertBucket: out of memory");
        return WB_SYNC_TRANSIENT;
    }
    struct wb_upsert u;
    struct wb_bucket b;
    fill_upsert(&u, r, c, config);
    /* not connected yet: keep trying until the deadline (init) */
    int tries = c->probe ? 1 : r->link.connected ? 0 : INIT_ATTEMPTS;
    int rc = rc_of(wb_gql_upsert(c->conn, &u, tries, deadline_ns, &b, err,
                                 errlen));
    if (rc == WB_SYNC_OK)
        rc = adopt(r, &b, &u, err, errlen);
    wb_bucket_free(&b);
    if (rc == WB_SYNC_OK) {
        /* The run's first request starts the stream interval too: rows
         * logged right after open leave with the first paced file_stream
         * instead of a request of their own, so a run makes at most one
         * request per interval from its start. */
        if (!r->link.last_fs_ns)
            r->link.last_fs_ns = wb_mono_ns();
        free(r->link.config_sent);
        r->link.config_sent = config;
        config = NULL;
        save(r, err, errlen);
    }
    free(config);
    return rc;
}

/* UpsertBucket when not connected in this process or the config moved. */
static int ensure_bucket(struct wb_run *r, const struct wb_sync_ctx *c,
                         int64_t deadline_ns, char *err, size_t errlen)
{
    if (r->link.connected && r->link.config_sent) {
        char *now = wb_run_config_text(r);
        int same = now && strcmp(now, r->link.config_sent) == 0;
        free(now);
        if (same || !r->config.n)
            return WB_SYNC_OK;
    }
    return upsert(r, c, deadline_ns, err, errlen);
}

/* ---- run files --------------------------------------------------------- */

/* Tell the stream that name reached the server, and remember it under
 * key (wb_file_key) in the run's state. */
static int announce(struct wb_run *r, const char *name, const char *key)
{
    char **v = realloc(r->link.announce,
                       (r->link.nannounce + 1) * sizeof *v);
    if (!v)
        return -1;
    r->link.announce = v;
    if (!(v[r->link.nannounce] = strdup(name)))
        return -1;
    r->link.nannounce++;
    return wb_state_add_uploaded(&r->st, key);
}

static int all_uploaded(const struct wb_run *r)
{
    for (size_t i = 0; i < r->files.n; i++)
        if (!r->files.v[i].uploaded)
            return 0;
    return 1;
}

static int upload(struct wb_run *r, const struct wb_sync_ctx *c,
                  int64_t deadline_ns, char *err, size_t errlen)
{
    if (!r->end_built || all_uploaded(r))
        return WB_SYNC_OK;
    int rc = rc_of(wb_files_upload(c->conn, r->st.entity, r->st.project,
                                   r->id, &r->files, deadline_ns, err,
                                   errlen));
    for (size_t i = 0; i < r->files.n; i++) {
        struct wb_file *f = &r->files.v[i];
        char *key = f->uploaded ? wb_file_key(f) : NULL;
        int fail = f->uploaded &&
                   (!key || (!wb_state_has_uploaded(&r->st, key) &&
                             announce(r, f->name, key) != 0));
        free(key);
        if (fail) {
            snprintf(err, errlen, "run files: out of memory");
            return WB_SYNC_TRANSIENT;
        }
    }
    save(r, err, errlen);
    return rc;
}

/* ---- file_stream ------------------------------------------------------- */

struct request {
    struct wb_fs_req q;
    const char **lines;
    char *summary;
};

static void request_free(struct request *rq)
{
    free(rq->lines);
    free(rq->summary);
}

/* The server has this summary line already (in this process, or by the
 * hash an earlier one saved). */
static int summary_known(const struct wb_run *r, const char *line)
{
    if (r->link.summary_sent)
        return strcmp(r->link.summary_sent, line) == 0;
    char sha[65];
    evt_results_sha256_hex(line, strlen(line), sha);
    return strcmp(sha, r->st.summary_sha) == 0;
}

static int completing(const struct wb_run *r, size_t nlines)
{
    if (r->st.finished || nlines != r->nrows || r->has_open)
        return 0;
    return (r->ended && r->end_built && all_uploaded(r)) ||
           r->link.complete_req;
}

/* What the next request carries; 0 or -1 (OOM). */
static int prepare(struct wb_run *r, struct request *rq)
{
    memset(rq, 0, sizeof *rq);
    size_t bytes = 0, k = 0;
    rq->lines = malloc((r->nrows ? r->nrows : 1) * sizeof *rq->lines);
    rq->summary = wb_run_summary_line(r);
    if (!rq->lines || !rq->summary)
        return -1;
    while (k < r->nrows && (k == 0 || bytes + strlen(r->rows[k].line) <=
                                          MAX_REQUEST_BYTES)) {
        bytes += strlen(r->rows[k].line);
        rq->lines[k] = r->rows[k].line;
        k++;
    }
    rq->q.hist_offset = wb_run_first_offset(r);
    rq->q.hist = rq->lines;
    rq->q.nhist = k;
    if (r->summary.n && !summary_known(r, rq->summary))
        rq->q.summary = rq->summary;
    rq->q.uploaded = (const char *const *)r->link.announce;
    rq->q.nuploaded = r->link.nannounce;
    rq->q.complete = completing(r, k);
    rq->q.exitcode = r->ended ? r->exitcode : r->link.complete_code;
    return 0;
}

static int empty(const struct wb_fs_req *q)
{
    return !q->nhist && !q->summary && !q->nuploaded && !q->complete;
}

/* Everything the request carried has arrived. */
static void acknowledged(struct wb_run *r, struct request *rq, char *err,
                         size_t errlen)
{
    wb_run_rows_sent(r, rq->q.nhist);
    if (rq->q.summary) {
        evt_results_sha256_hex(rq->summary, strlen(rq->summary),
                               r->st.summary_sha);
        free(r->link.summary_sent);
        r->link.summary_sent = rq->summary;
        rq->summary = NULL;
    }
    for (size_t i = 0; i < r->link.nannounce; i++)
        free(r->link.announce[i]);
    r->link.nannounce = 0;
    if (rq->q.complete) {
        r->st.finished = 1;
        r->st.exitcode = rq->q.exitcode;
        r->link.complete_req = 0;
    }
    save(r, err, errlen);
}

static int post(struct wb_run *r, const struct wb_sync_ctx *c,
                struct request *rq, int64_t deadline_ns, char *err,
                size_t errlen)
{
    struct evt_buf body;
    struct evt_http_response resp;
    evt_buf_init(&body);
    wb_fs_body(&body, &rq->q);
    if (body.oom) {
        evt_buf_free(&body);
        snprintf(err, errlen, "file_stream: out of memory");
        return WB_SYNC_TRANSIENT;
    }
    r->link.last_fs_ns = wb_mono_ns();
    int rc = rc_of(wb_conn_post(c->conn, r->link.fs_path, body.data,
                                body.len, c->probe ? 1 : 0, deadline_ns,
                                &resp, err, errlen));
    evt_http_response_free(&resp);
    evt_buf_free(&body);
    return rc;
}

/* One request if anything is pending and the interval allows it. */
static int stream_once(struct wb_run *r, const struct wb_sync_ctx *c,
                       int wait, int64_t deadline_ns, char *err,
                       size_t errlen)
{
    struct request rq;
    if (prepare(r, &rq) != 0) {
        request_free(&rq);
        snprintf(err, errlen, "file_stream: out of memory");
        return WB_SYNC_TRANSIENT;
    }
    int rc = WB_SYNC_OK;
    int64_t next = wb_fs_next_allowed(r->link.last_fs_ns,
                                      c->cfg->interval_ms);
    if (empty(&rq.q)) {
        rc = WB_SYNC_OK;
    } else if (wb_mono_ns() < next && !wait) {
        rc = WB_SYNC_DEFERRED;
    } else if (deadline_ns && next > deadline_ns) {
        snprintf(err, errlen, "file_stream: the deadline comes before the "
                              "next request may go");
        rc = WB_SYNC_DEFERRED;
    } else {
        sleep_until(next);
        rc = post(r, c, &rq, deadline_ns, err, errlen);
        if (rc == WB_SYNC_OK)
            acknowledged(r, &rq, err, errlen);
        if (rc == WB_SYNC_OK && wb_sync_pending(r))
            rc = WB_SYNC_DEFERRED; /* more than one request's worth */
    }
    request_free(&rq);
    return rc;
}

int wb_sync_pending(const struct wb_run *r)
{
    if (r->nrows || r->link.nannounce || (r->end_built && !all_uploaded(r)))
        return 1;
    if (!r->st.finished && ((r->ended && r->end_built) ||
                            r->link.complete_req))
        return 1;
    char *s = r->summary.n ? wb_run_summary_line(r) : NULL;
    int changed = s && !summary_known(r, s);
    free(s);
    return changed;
}

int wb_sync_run(struct wb_run *r, const struct wb_sync_ctx *c, int wait,
                int64_t deadline_ns, char *err, size_t errlen)
{
    int rc = ensure_bucket(r, c, deadline_ns, err, errlen);
    if (rc == WB_SYNC_OK)
        rc = upload(r, c, deadline_ns, err, errlen);
    while (rc == WB_SYNC_OK) {
        rc = stream_once(r, c, wait, deadline_ns, err, errlen);
        if (rc != WB_SYNC_DEFERRED || !wait || !wb_sync_pending(r))
            break;
        rc = WB_SYNC_OK; /* wait mode: the next request after the interval */
        if (deadline_ns && wb_mono_ns() >= deadline_ns)
            return WB_SYNC_DEFERRED;
    }
    return rc;
}

void wb_sync_heartbeat(struct wb_run *r, const struct wb_sync_ctx *c)
{
    int64_t now = wb_mono_ns();
    if (!r->link.connected || !r->link.fs_path ||
        !wb_fs_heartbeat_due(now, r->link.last_fs_ns, c->cfg->heartbeat_ms))
        return;
    struct evt_http_response resp;
    char err[256];
    r->link.last_fs_ns = now;
    (void)wb_conn_post(c->conn, r->link.fs_path, "{}", 2, 1,
                       now + c->cfg->heartbeat_ms * 1000000, &resp, err,
                       sizeof err);
    evt_http_response_free(&resp);
}
