/* replay.c -- deliver a sink's dead letters again (replay.h,
 * docs/REPLAY.md).
 *
 * No delivery path of its own: a replay opens a tracker that runs only
 * the chosen sink and hands its worker the rotated dead-letter file as the
 * sink's spool, exactly as a spill spool left by an earlier process is
 * delivered at open (records first, original run_id and seq, cursor acked
 * after each batch that write() accepted). Batches that fail again are
 * dead-lettered by the same worker code into a fresh rejected file. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "spool.h"
#include "strbuf.h"
#include "tracker.h"

#define REC_HDR 32 /* worker.c: u8 ver, u8 has_step, u16 run_id len,
                      u32 kind, u64 seq, i64 time_ns, i64 step */
#define SPOOL_EMPTY 8u /* a spool holding no record: its header only */
#define PROGRESS_MS 200
#define CLOSE_TIMEOUT_MS 60000

/* The files of one sink's dead letters. */
struct dl_paths {
    char *dir; /* <state_dir>/rejected */
    char *rej; /* <dir>/<name>.spool: dead letters */
    char *rpl; /* <rej>.replaying: being replayed */
};

/* ---- small helpers -------------------------------------------------------*/

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return evt__strdup(".");
    if (slash == path)
        return evt__strdup("/");
    char *d = evt__strdup(path);
    if (d)
        d[slash - path] = '\0';
    return d;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* fsync a folder so that renames and unlinks in it are durable. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fsync(fd) != 0) {
        /* best effort: the change is made, only its durability is left
         * to the file system */
    }
    close(fd);
}

/* Remove a spool file and its cursor. */
static void remove_spool(const char *path)
{
    char *cur = evt__asprintf("%s.cur", path);
    unlink(path);
    if (cur)
        unlink(cur);
    free(cur);
}

static uint64_t get_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- the config ----------------------------------------------------------*/

static int load_config(const char *path, struct evt__config_file *cf,
                       char *err, size_t errlen)
{
    memset(cf, 0, sizeof *cf);
    if (!path)
        return evt__err(err, errlen, EVT_EINVAL, "no config file given");
    char *text = NULL, *dir = dir_of(path);
    size_t len;
    int rc = dir ? evt__read_file(path, &text, &len, err, errlen)
                 : evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    if (rc == EVT_OK)
        rc = evt__config_parse(text, len, path, dir, cf, err, errlen);
    free(text);
    free(dir);
    return rc;
}

static void paths_free(struct dl_paths *p)
{
    free(p->dir);
    free(p->rej);
    free(p->rpl);
    memset(p, 0, sizeof *p);
}

static int paths_of(const char *state_dir, const char *name,
                    struct dl_paths *p, char *err, size_t errlen)
{
    p->dir = evt__path_join(state_dir, "rejected");
    p->rej = p->dir ? evt__asprintf("%s/%s.spool", p->dir, name) : NULL;
    p->rpl = p->rej ? evt__asprintf("%s.replaying", p->rej) : NULL;
    if (p->rpl)
        return EVT_OK;
    paths_free(p);
    return evt__err(err, errlen, EVT_ENOMEM, "out of memory");
}

/* The dead-letter paths of the sink called name in the config file; the
 * sink must exist, and be enabled when must_be_enabled. */
static int sink_paths(const char *config, const char *name,
                      int must_be_enabled, struct dl_paths *p, char *err,
                      size_t errlen)
{
    struct evt__config_file cf;
    int rc = load_config(config, &cf, err, errlen);
    const struct evt__sink_spec *sp = NULL;
    for (size_t i = 0; rc == EVT_OK && i < cf.nsinks && !sp; i++)
        if (cf.sinks[i].name && strcmp(cf.sinks[i].name, name) == 0)
            sp = &cf.sinks[i];
    if (rc == EVT_OK && !sp)
        rc = evt__err(err, errlen, EVT_ECONFIG, "%s: no sink named \"%s\"",
                      config, name);
    else if (rc == EVT_OK && must_be_enabled && !sp->enabled)
        rc = evt__err(err, errlen, EVT_ECONFIG, "%s: %s: sink \"%s\" is "
                      "disabled (\"enabled\": false)", config, sp->where,
                      name);
    if (rc == EVT_OK)
        rc = paths_of(cf.state_dir, name, p, err, errlen);
    evt__config_free(&cf);
    return rc;
}

/* ---- counting and listing ------------------------------------------------*/

/* Records after the cursor of the spool file at path; 0 when there is no
 * such file. With drop_empty, a file holding none is removed. */
static int count_pending(const char *path, int drop_empty, uint64_t *n,
                         char *err, size_t errlen)
{
    *n = 0;
    if (!exists(path))
        return EVT_OK;
    struct evt__spool *s;
    struct evt__spool_recovery rec;
    int rc = evt__spool_open(path, EVT_SPOOL_SYNC_BATCH, &s, &rec, err,
                             errlen);
    if (rc)
        return rc;
    *n = rec.pending;
    if (drop_empty && rec.pending == 0)
        remove_spool(path); /* still locked: nobody else has it open */
    evt__spool_close(s);
    return EVT_OK;
}

static int pending_of(const struct dl_paths *p, uint64_t *n, char *err,
                      size_t errlen)
{
    uint64_t a = 0, b = 0;
    int rc = count_pending(p->rpl, 0, &a, err, errlen);
    if (rc == EVT_OK)
        rc = count_pending(p->rej, 0, &b, err, errlen);
    *n = a + b;
    return rc;
}

int evt_replay_list(const char *config, struct evt_replay_sink *out,
                    size_t cap, char *err, size_t errlen)
{
    struct evt__config_file cf;
    int rc = load_config(config, &cf, err, errlen);
    for (size_t i = 0; rc == EVT_OK && i < cf.nsinks && i < cap; i++) {
        struct dl_paths p;
        memset(&out[i], 0, sizeof out[i]);
        evt__strlcpy(out[i].name, cf.sinks[i].name, sizeof out[i].name);
        out[i].enabled = cf.sinks[i].enabled;
        rc = paths_of(cf.state_dir, cf.sinks[i].name, &p, err, errlen);
        if (rc == EVT_OK)
            rc = pending_of(&p, &out[i].pending, err, errlen);
        paths_free(&p);
    }
    size_t n = cf.nsinks;
    evt__config_free(&cf);
    return rc != EVT_OK ? rc : (int)n;
}

/* ---- dry run -------------------------------------------------------------*/

/* Call fn for one record; -1 when it is malformed. */
static int visit_record(const unsigned char *r, size_t n, char **id,
                        size_t *idcap, evt_replay_visit_fn fn, void *ud)
{
    if (n < REC_HDR || r[0] != 1)
        return -1;
    size_t rl = (size_t)get_le(r + 2, 2);
    if (REC_HDR + rl > n)
        return -1;
    if (rl + 1 > *idcap) {
        char *p = realloc(*id, rl + 1);
        if (!p)
            return -1;
        *id = p;
        *idcap = rl + 1;
    }
    memcpy(*id, r + REC_HDR, rl);
    (*id)[rl] = '\0';
    fn(ud, *id, (uint32_t)get_le(r + 4, 4), get_le(r + 8, 8));
    return 0;
}

static int visit_file(const char *path, evt_replay_visit_fn fn, void *ud,
                      char *err, size_t errlen)
{
    if (!exists(path))
        return EVT_OK;
    struct evt__spool *s;
    int rc = evt__spool_open(path, EVT_SPOOL_SYNC_BATCH, &s, NULL, err,
                             errlen);
    const void *rec;
    size_t len, idcap = 0;
    char *id = NULL;
    int r;
    uint64_t i = 0;
    while (rc == EVT_OK && (r = evt__spool_next(s, &rec, &len)) != 0) {
        if (r < 0 || visit_record(rec, len, &id, &idcap, fn, ud) != 0)
            rc = evt__err(err, errlen, EVT_EIO, "%s: record %llu after the "
                          "cursor cannot be read", path,
                          (unsigned long long)i + 1);
        i++;
    }
    free(id);
    evt__spool_close(s);
    return rc;
}

int evt_replay_scan(const char *config, const char *sink,
                    evt_replay_visit_fn fn, void *ud, char *err,
                    size_t errlen)
{
    if (!sink || !fn)
        return evt__err(err, errlen, EVT_EINVAL, "no sink or callback");
    struct dl_paths p;
    int rc = sink_paths(config, sink, 0, &p, err, errlen);
    if (rc != EVT_OK)
        return rc;
    rc = visit_file(p.rpl, fn, ud, err, errlen);
    if (rc == EVT_OK)
        rc = visit_file(p.rej, fn, ud, err, errlen);
    paths_free(&p);
    return rc;
}

/* ---- one pass: a tracker that delivers the .replaying file ---------------*/

struct pass {
    const struct dl_paths *dl;
    uint64_t total; /* records pending in it at open */
    /* counters of the sink at the end of the pass */
    uint64_t written, dead_lettered, dropped;
    int incomplete;
};

/* evt__only.setup: the .replaying file becomes the sink's spool, and the
 * dead-letter file is opened now, so that a file in use stops the replay
 * before anything is sent and no failure can be lost later. */
static int setup_replay(struct evt_host *h, void *ud, char *err,
                        size_t errlen)
{
    struct pass *p = ud;
    struct evt__spool_recovery rec;
    char *path = evt__strdup(p->dl->rpl);
    if (!path)
        return evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    free(h->spool_path); /* set_spool_aside() must name this file */
    h->spool_path = path;
    int rc = evt__spool_open(path, EVT_SPOOL_SYNC_BATCH, &h->spool, &rec,
                             err, errlen);
    if (rc == EVT_OK)
        rc = evt__spool_open(h->dlq_path, EVT_SPOOL_SYNC_BATCH, &h->dlq,
                             NULL, err, errlen);
    if (rc != EVT_OK)
        return rc;
    sync_dir(p->dl->dir); /* the dead-letter file may be new */
    if (rec.truncated_bytes)
        evt__host_log(h, EVT_LOG_WARN, "%s: dropped a torn tail of %llu "
                      "bytes", path, (unsigned long long)rec.truncated_bytes);
    h->spilling = rec.pending > 0; /* the worker reads the spool first */
    h->dlq_sync = 1; /* failures durable before the spool is acked */
    p->total = rec.pending;
    return EVT_OK;
}

static uint64_t settled(struct evt_host *h)
{
    pthread_mutex_lock(&h->mu);
    uint64_t n = h->written + h->dead_lettered + h->dropped;
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* Wait until the worker has drained the spool and flushed the sink. */
static int wait_drained(evt_tracker *t, const char *sink, struct pass *p,
                        evt_replay_progress_fn fn, void *ud)
{
    struct evt_host *h = t->sinks[0];
    int rc;
    while ((rc = evt_flush(t, PROGRESS_MS)) == EVT_ETIMEDOUT)
        if (fn)
            fn(ud, sink, settled(h), p->total);
    if (fn)
        fn(ud, sink, settled(h), p->total);
    return rc;
}

/* After the drain, with the files still locked: remove the .replaying
 * file once every record is settled, and a dead-letter file that stayed
 * empty (it was created by setup_replay). */
static void end_pass(struct evt_host *h, const struct dl_paths *dl,
                     struct pass *p)
{
    pthread_mutex_lock(&h->mu);
    p->written = h->written;
    p->dead_lettered = h->dead_lettered;
    p->dropped = h->dropped;
    p->incomplete |= h->spool_failed;
    if (h->spool && evt__spool_pending(h->spool) == 0)
        remove_spool(dl->rpl);
    if (h->dlq && evt__spool_size(h->dlq) <= SPOOL_EMPTY)
        remove_spool(dl->rej);
    pthread_mutex_unlock(&h->mu);
    sync_dir(dl->dir);
}

static int run_pass(const char *config, const char *sink,
                    const struct dl_paths *dl, evt_replay_progress_fn fn,
                    void *ud, struct pass *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->dl = dl;
    struct evt__only only = {sink, setup_replay, p};
    evt_tracker *t = NULL;
    int rc = evt__open_file_only(config, &only, &t, err, errlen);
    if (rc != EVT_OK)
        return rc;
    p->incomplete = wait_drained(t, sink, p, fn, ud) != EVT_OK;
    end_pass(t->sinks[0], dl, p);
    if (evt_close(t, CLOSE_TIMEOUT_MS) != EVT_OK)
        p->incomplete = 1;
    return EVT_OK;
}

/* rejected/<name>.spool becomes <name>.spool.replaying (with its cursor,
 * if it has one), so that failures of the replay go to a fresh file. */
static int rotate(const struct dl_paths *dl, char *err, size_t errlen)
{
    if (exists(dl->rpl))
        return evt__err(err, errlen, EVT_EIO, "%s: still holds records "
                        "after its replay", dl->rpl);
    char *rej_cur = evt__asprintf("%s.cur", dl->rej);
    char *rpl_cur = evt__asprintf("%s.cur", dl->rpl);
    int rc = EVT_OK;
    if (!rej_cur || !rpl_cur)
        rc = evt__err(err, errlen, EVT_ENOMEM, "out of memory");
    else if (unlink(rpl_cur) != 0 && errno != ENOENT) /* a stale one */
        rc = evt__err(err, errlen, EVT_EIO, "%s: unlink: %s", rpl_cur,
                      strerror(errno));
    else if (rename(rej_cur, rpl_cur) != 0 && errno != ENOENT)
        rc = evt__err(err, errlen, EVT_EIO, "%s: rename: %s", rej_cur,
                      strerror(errno));
    else if (rename(dl->rej, dl->rpl) != 0)
        rc = evt__err(err, errlen, EVT_EIO, "%s: rename to %s: %s", dl->rej,
                      dl->rpl, strerror(errno));
    if (rc == EVT_OK)
        sync_dir(dl->dir);
    free(rej_cur);
    free(rpl_cur);
    return rc;
}

/* ---- the replay ----------------------------------------------------------*/

static void add_pass(struct evt_replay_result *res, const struct pass *p)
{
    res->delivered += p->written;
    res->failed = p->dead_lettered; /* the last pass saw every failure */
    res->lost += p->dropped;
    res->incomplete |= p->incomplete;
}

/* Resume an interrupted replay, then replay what rejected/ held. */
static int replay_files(const char *config, const char *sink,
                        const struct dl_paths *dl, evt_replay_progress_fn fn,
                        void *ud, struct evt_replay_result *res, char *err,
                        size_t errlen)
{
    uint64_t n_rpl = 0, n_rej = 0;
    int rc = count_pending(dl->rpl, 1, &n_rpl, err, errlen);
    if (rc == EVT_OK)
        rc = count_pending(dl->rej, 0, &n_rej, err, errlen);
    res->total = n_rpl + n_rej;
    struct pass p;
    if (rc == EVT_OK && n_rpl > 0) {
        res->resumed = 1;
        rc = run_pass(config, sink, dl, fn, ud, &p, err, errlen);
        if (rc == EVT_OK)
            add_pass(res, &p);
    }
    if (rc == EVT_OK && n_rej > 0 && (rc = rotate(dl, err, errlen)) == 0) {
        rc = run_pass(config, sink, dl, fn, ud, &p, err, errlen);
        if (rc == EVT_OK)
            add_pass(res, &p);
    }
    return rc;
}

int evt_replay_run(const char *config, const char *sink,
                   evt_replay_progress_fn fn, void *ud,
                   struct evt_replay_result *res, char *err, size_t errlen)
{
    if (!sink || !res)
        return evt__err(err, errlen, EVT_EINVAL, "no sink or result");
    memset(res, 0, sizeof *res);
    struct dl_paths dl;
    int rc = sink_paths(config, sink, 1, &dl, err, errlen);
    if (rc != EVT_OK)
        return rc;
    rc = replay_files(config, sink, &dl, fn, ud, res, err, errlen);
    char ignored[EVT_ERRMSG_SIZE];
    if (pending_of(&dl, &res->left, ignored, sizeof ignored) != EVT_OK)
        res->incomplete = 1;
    paths_free(&dl);
    return rc;
}
