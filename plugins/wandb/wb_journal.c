/* wb_journal.c -- a run's local event journal (wb_journal.h). */
#define _GNU_SOURCE /* flock, O_CLOEXEC, fdatasync */
#include "wb_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "evtrack/sdk/crc32c.h"
#include "evtrack/sdk/files.h"

#define MAGIC "EVTWBJ1\n"
#define MAGIC_LEN 8
#define REC_HEADER 9
#define REC_MAX (1u << 30) /* larger lengths mean a corrupt file */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t rec_crc(unsigned char type, const void *p, size_t n)
{
    return evt_crc32c_mask(evt_crc32c(evt_crc32c(0, &type, 1), p, n));
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, c, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        c += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Read-ahead per call of pread: records are read through a window of
 * the file, not with two preads each (a pass over a run's journal at
 * run_end reads every sample). */
#define WINDOW (256u * 1024)

/* Bytes of a journal file read ahead: start .. start + len. */
struct wb_jwin {
    unsigned char *buf;
    size_t cap, len;
    uint64_t start;
};

/* Bytes off .. off + n of fd, from w (refilled from off when they are
 * not all in it). NULL at end of file or on a read error; *oom 1 when
 * the window could not grow. */
static const unsigned char *window_at(int fd, struct wb_jwin *w,
                                      uint64_t off, size_t n, int *oom)
{
    if (off >= w->start && off - w->start + n <= w->len)
        return w->buf + (off - w->start);
    size_t want = n > WINDOW ? n : WINDOW;
    if (want > w->cap) {
        unsigned char *b = realloc(w->buf, want);
        if (!b) {
            *oom = 1;
            return NULL;
        }
        w->buf = b;
        w->cap = want;
    }
    ssize_t k = evt_pread_full(fd, w->buf, want, off);
    w->start = off;
    w->len = k < 0 ? 0 : (size_t)k;
    return w->len >= n ? w->buf : NULL;
}

static void window_free(struct wb_jwin *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

/* The record at off of fd, read through w: its payload in *p (valid
 * until the next read through w) and its total size, or 0 when there is
 * no whole valid record there (*type -1: out of memory). */
static uint64_t read_rec_at(int fd, struct wb_jwin *w, uint64_t off,
                            const unsigned char **p, int *type)
{
    int oom = 0;
    const unsigned char *h = window_at(fd, w, off, REC_HEADER, &oom);
    if (!h)
        goto none;
    uint32_t n = le32(h);
    unsigned char t = h[8];
    uint32_t crc = le32(h + 4);
    if (n > REC_MAX || (t != WB_J_EVENT && t != WB_J_SEAL))
        return 0;
    const unsigned char *rec = window_at(fd, w, off, REC_HEADER + (size_t)n,
                                         &oom);
    if (!rec)
        goto none;
    if (rec_crc(t, rec + REC_HEADER, n) != crc)
        return 0;
    *p = rec + REC_HEADER;
    *type = t;
    return REC_HEADER + (uint64_t)n;
none:
    if (oom)
        *type = -1; /* out of memory: not a torn record */
    return 0;
}

/* Walk the records, calling cb; cut the file after the last valid one. */
static int scan(struct wb_journal *j, uint64_t end, wb_journal_cb cb,
                void *ctx, char *err, size_t errlen)
{
    struct wb_jwin w = {0};
    uint64_t off = MAGIC_LEN;
    int type = 0, rc = 0;
    while (off < end && rc == 0) {
        const unsigned char *p = NULL;
        uint64_t n = read_rec_at(j->fd, &w, off, &p, &type);
        if (n == 0 && type == -1) {
            window_free(&w);
            snprintf(err, errlen, "%s: out of memory", j->path);
            return -1;
        }
        if (n == 0)
            break;
        j->size = off; /* the records before this one (wb_journal_each) */
        if (cb)
            rc = cb(ctx, type, p, n - REC_HEADER);
        off += n;
    }
    window_free(&w);
    if (rc == 0 && off < end && ftruncate(j->fd, (off_t)off) != 0) {
        snprintf(err, errlen, "%s: ftruncate: %s", j->path, strerror(errno));
        return -1;
    }
    j->size = off;
    return rc;
}

static int fail(struct wb_journal *j, const char *step, char *err,
                size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", j->path, step, strerror(errno));
    wb_journal_close(j);
    return -1;
}

/* The header of a new or interrupted file; 0, or -1 (not a journal). */
static int check_header(struct wb_journal *j, uint64_t size)
{
    char h[MAGIC_LEN];
    if (size >= MAGIC_LEN)
        return evt_pread_exact(j->fd, h, MAGIC_LEN, 0) == 0 &&
                       memcmp(h, MAGIC, MAGIC_LEN) == 0
                   ? 0
                   : -1;
    if (size > 0 && (evt_pread_exact(j->fd, h, (size_t)size, 0) != 0 ||
                     memcmp(h, MAGIC, (size_t)size) != 0))
        return -1;
    return pwrite_all(j->fd, MAGIC, MAGIC_LEN, 0);
}

int wb_journal_open(struct wb_journal *j, const char *path, wb_journal_cb cb,
                    void *ctx, char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    evt_buf_init(&j->pend);
    j->fd = -1;
    if (!(j->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0)
        return fail(j, "open", err, errlen);
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        if (busy) {
            snprintf(err, errlen, "%s: in use by another process", path);
            wb_journal_close(j);
            return 1;
        }
        return fail(j, "flock", err, errlen);
    }
    off_t end = lseek(j->fd, 0, SEEK_END);
    if (end < 0)
        return fail(j, "lseek", err, errlen);
    if (check_header(j, (uint64_t)end) != 0) {
        snprintf(err, errlen, "%s: not a wandb journal (bad header)", path);
        wb_journal_close(j);
        return -1;
    }
    int rc = scan(j, end < MAGIC_LEN ? MAGIC_LEN : (uint64_t)end, cb, ctx,
                  err, errlen);
    if (rc != 0)
        wb_journal_close(j);
    return rc;
}

void wb_journal_add(struct wb_journal *j, int type, const void *p, size_t n)
{
    unsigned char h[REC_HEADER];
    put32(h, (uint32_t)n);
    put32(h + 4, rec_crc((unsigned char)type, p, n));
    h[8] = (unsigned char)type;
    evt_buf_put(&j->pend, h, sizeof h);
    evt_buf_put(&j->pend, p, n);
}

int wb_journal_commit(struct wb_journal *j, char *err, size_t errlen)
{
    int rc = 0;
    if (j->pend.oom) {
        snprintf(err, errlen, "%s: out of memory", j->path);
        rc = -1;
    } else if (j->pend.len &&
               pwrite_all(j->fd, j->pend.data, j->pend.len, j->size) != 0) {
        snprintf(err, errlen, "%s: write: %s", j->path, strerror(errno));
        if (ftruncate(j->fd, (off_t)j->size) != 0) {
            /* the next commit writes at j->size again, over the torn
             * bytes; a reader stops at them until then */
        }
        rc = -1;
    } else {
        j->size += j->pend.len;
    }
    j->pend.len = 0;
    j->pend.oom = 0;
    return rc;
}

/* The records queued for the next commit. */
static int each_queued(const struct wb_journal *j, wb_journal_cb cb,
                       void *ctx)
{
    int rc = 0;
    const unsigned char *p = (const unsigned char *)j->pend.data;
    for (size_t off = 0; rc == 0 && off + REC_HEADER <= j->pend.len;) {
        size_t n = le32(p + off);
        rc = cb(ctx, p[off + 8], p + off + REC_HEADER, n);
        off += REC_HEADER + n;
    }
    return rc;
}

int wb_journal_each(struct wb_journal *j, wb_journal_cb cb, void *ctx,
                    char *err, size_t errlen)
{
    struct wb_jwin w = {0};
    int type = 0, rc = 0;
    uint64_t off = MAGIC_LEN;
    if (j->fd < 0 || j->pend.oom) {
        snprintf(err, errlen, "%s: %s", j->path ? j->path : "journal",
                 j->fd < 0 ? "not open" : "out of memory");
        return -1;
    }
    while (rc == 0 && off < j->size) {
        const unsigned char *p = NULL;
        uint64_t n = read_rec_at(j->fd, &w, off, &p, &type);
        if (n == 0) {
            snprintf(err, errlen, "%s: %s at offset %llu", j->path,
                     type == -1 ? "out of memory" : "unreadable record",
                     (unsigned long long)off);
            rc = -1;
            break;
        }
        rc = cb(ctx, type, p, n - REC_HEADER);
        off += n;
    }
    window_free(&w);
    return rc == 0 ? each_queued(j, cb, ctx) : rc;
}

int wb_journal_sync(struct wb_journal *j, char *err, size_t errlen)
{
    if (j->fd >= 0 && fdatasync(j->fd) != 0) {
        snprintf(err, errlen, "%s: fdatasync: %s", j->path, strerror(errno));
        return -1;
    }
    return 0;
}

void wb_journal_close(struct wb_journal *j)
{
    if (j->fd >= 0)
        close(j->fd); /* releases the lock */
    j->fd = -1;
    free(j->path);
    j->path = NULL;
    evt_buf_free(&j->pend);
    j->size = 0;
}
