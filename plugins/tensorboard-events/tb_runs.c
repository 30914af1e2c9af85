/* tb_runs.c -- one TensorBoard event file and one aggregator per run id
 * (see tb_runs.h). */
#define _GNU_SOURCE /* O_CLOEXEC, fdatasync */
#include "tb_runs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"
#include "tb_encode.h"

/* Files this process opened: the <n> of the name, as TensorBoard's writer
 * counts them (a process-wide counter from 0). The plugin is loaded once
 * per process, so every instance shares it. */
static atomic_ulong files_opened;

#define HOST_MAX 64 /* bytes of the host name kept in file names */

static char *expand_run_name(const char *tmpl, const char *run_id)
{
    struct evt_buf b;
    evt_buf_init(&b);
    static const char key[] = "{run_id}";
    for (const char *p = tmpl; *p;) {
        const char *hit = strstr(p, key);
        size_t lit = hit ? (size_t)(hit - p) : strlen(p);
        evt_buf_put(&b, p, lit);
        p += lit;
        if (hit) {
            evt_buf_puts(&b, run_id);
            p += sizeof key - 1;
        }
    }
    evt_buf_put(&b, "", 1);
    if (b.oom) {
        evt_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* <logdir>/<safe(run_name)>, or logdir itself for an empty template. */
static char *run_dir(const struct tb_runs *rs, const char *run_id)
{
    if (!rs->run_name[0])
        return strdup(rs->logdir);
    char *name = expand_run_name(rs->run_name, run_id);
    char *safe = name ? evt_safe_component(name, strlen(name), 200) : NULL;
    char *dir = safe ? evt_path_join(rs->logdir, safe) : NULL;
    free(name);
    free(safe);
    return dir;
}

int tb_runs_init(struct tb_runs *rs, const char *logdir, const char *run_name)
{
    memset(rs, 0, sizeof *rs);
    rs->logdir = strdup(logdir);
    rs->run_name = strdup(run_name);
    if (rs->logdir && rs->run_name)
        return 0;
    free(rs->logdir);
    free(rs->run_name);
    return -1;
}

/* pwrite(2) all of p[0..n) at off, through EINTR and short writes. */
static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, c, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int sync_run(struct tb_run *r, char *err, size_t errlen)
{
    if (r->fd < 0 || !r->dirty)
        return 0;
    if (fdatasync(r->fd) != 0) {
        snprintf(err, errlen, "%s: fdatasync: %s", r->path, strerror(errno));
        return -1;
    }
    r->dirty = 0;
    return 0;
}

static void close_file(struct tb_run *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    free(r->path);
    r->path = NULL;
    r->size = 0;
    r->dirty = 0;
}

static void free_run(struct tb_run *r)
{
    char err[256];
    (void)sync_run(r, err, sizeof err); /* best effort: closing anyway */
    close_file(r);
    free(r->run_id);
    free(r->dir);
    evt_buf_free(&r->pending);
    evt_results_free(r->agg);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

void tb_runs_free(struct tb_runs *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free_run(&rs->r[i]);
    free(rs->logdir);
    free(rs->run_name);
    memset(rs, 0, sizeof *rs);
}

static struct tb_run *least_recent(struct tb_runs *rs)
{
    struct tb_run *lru = &rs->r[0];
    for (size_t i = 1; i < rs->n; i++)
        if (rs->r[i].used < lru->used)
            lru = &rs->r[i];
    return lru;
}

struct tb_run *tb_runs_get(struct tb_runs *rs, const char *run_id, char *err,
                           size_t errlen)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].run_id, run_id) == 0) {
            rs->r[i].used = ++rs->clock;
            return &rs->r[i];
        }
    struct tb_run *r = rs->n < TB_MAX_RUNS ? &rs->r[rs->n] : least_recent(rs);
    struct tb_run fresh = {.fd = -1, .used = ++rs->clock};
    fresh.run_id = strdup(run_id);
    fresh.dir = run_dir(rs, run_id);
    fresh.agg = evt_results_new();
    evt_buf_init(&fresh.pending);
    if (!fresh.run_id || !fresh.dir || !fresh.agg) {
        free_run(&fresh);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (rs->n == TB_MAX_RUNS)
        free_run(r);
    else
        rs->n++;
    *r = fresh;
    return r;
}

char *tb_event_file_name(int64_t secs, const char *host, long pid,
                         unsigned long n)
{
    int len = snprintf(NULL, 0, "events.out.tfevents.%010lld.%s.%ld.%lu",
                       (long long)secs, host, pid, n);
    char *s = len < 0 ? NULL : malloc((size_t)len + 1);
    if (s)
        snprintf(s, (size_t)len + 1, "events.out.tfevents.%010lld.%s.%ld.%lu",
                 (long long)secs, host, pid, n);
    return s;
}

static char *host_component(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "%s", "localhost");
    return evt_safe_component(host, strlen(host), HOST_MAX);
}

/* Create a file no one has used in r->dir (O_EXCL; a taken name moves the
 * counter on), fd and path set. 0, or -1 with err. */
static int create_file(struct tb_run *r, char *err, size_t errlen)
{
    char *host = host_component();
    if (!host) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    for (int tries = 0; tries < 1000 && rc != 0; tries++) {
        char *name = tb_event_file_name((int64_t)time(NULL), host,
                                        (long)getpid(),
                                        atomic_fetch_add(&files_opened, 1));
        char *path = name ? evt_path_join(r->dir, name) : NULL;
        free(name);
        if (!path) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            r->fd = fd;
            r->path = path;
            rc = 0;
        } else {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(path);
            if (errno != EEXIST)
                break;
        }
    }
    free(host);
    return rc;
}

/* fsync the folder so the new file's name survives a power loss. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the records are synced anyway */
        close(fd);
    }
}

/* Open r's file: folder, a new name, the file_version record. */
static int open_file(struct tb_run *r, char *err, size_t errlen)
{
    if (evt_mkdirs(r->dir, err, errlen) != 0 ||
        create_file(r, err, errlen) != 0)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct evt_buf ev, rec;
    evt_buf_init(&ev);
    evt_buf_init(&rec);
    tb_event_file_version(&ev, (double)now.tv_sec + now.tv_nsec / 1e9,
                          "evtrack");
    tb_record_frame(&rec, ev.data, ev.len);
    int rc = -1;
    if (ev.oom || rec.oom)
        snprintf(err, errlen, "out of memory");
    else if (pwrite_all(r->fd, rec.data, rec.len, 0) != 0)
        snprintf(err, errlen, "%s: write: %s", r->path, strerror(errno));
    else
        rc = 0;
    if (rc == 0) {
        r->size = (off_t)rec.len;
        r->dirty = 1;
        sync_dir(r->dir);
    } else {
        (void)unlink(r->path);
        close_file(r);
    }
    evt_buf_free(&ev);
    evt_buf_free(&rec);
    return rc;
}

/* Every run with pending records has its file open. 0, or -1 with err. */
static int open_pending(struct tb_runs *rs, char *err, size_t errlen)
{
    for (size_t i = 0; i < rs->n; i++) {
        struct tb_run *r = &rs->r[i];
        if (r->pending.oom) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (r->pending.len > 0 && r->fd < 0 && open_file(r, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int write_pending(struct tb_run *r, char *err, size_t errlen)
{
    if (pwrite_all(r->fd, r->pending.data, r->pending.len, r->size) != 0) {
        snprintf(err, errlen, "%s: write: %s", r->path, strerror(errno));
        return -1;
    }
    r->size += (off_t)r->pending.len;
    r->dirty = 1;
    return 0;
}

/* Cut r's file back to before; a file that cannot be cut is closed, so
 * the next records go to a new file and never follow a torn one. The
 * file is cut even when r->size did not move: a write that failed part
 * way (EFBIG, ENOSPC) left bytes past r->size, and a shorter batch
 * written there later would leave them after its records. */
static void roll_back(struct tb_run *r, off_t before)
{
    if (r->fd < 0)
        return;
    if (ftruncate(r->fd, before) == 0)
        r->size = before;
    else
        close_file(r);
}

int tb_runs_commit(struct tb_runs *rs, char *err, size_t errlen)
{
    off_t before[TB_MAX_RUNS];
    int rc = open_pending(rs, err, errlen);
    for (size_t i = 0; i < rs->n; i++)
        before[i] = rs->r[i].size;
    for (size_t i = 0; i < rs->n && rc == 0; i++)
        if (rs->r[i].pending.len > 0)
            rc = write_pending(&rs->r[i], err, errlen);
    for (size_t i = 0; i < rs->n; i++) {
        if (rc != 0 && rs->r[i].pending.len > 0)
            roll_back(&rs->r[i], before[i]);
        rs->r[i].pending.len = 0;
        rs->r[i].pending.oom = 0;
    }
    return rc;
}

void tb_runs_drop(struct tb_runs *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        rs->r[i].pending.len = 0;
        rs->r[i].pending.oom = 0;
    }
}

int tb_runs_sync(struct tb_runs *rs, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (sync_run(&rs->r[i], err, errlen) != 0)
            rc = -1;
    return rc;
}
