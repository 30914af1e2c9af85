/* jfiles.c -- the jsonl sink's open task files (jfiles.h). */
#include "jfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evtrack/sdk/files.h"

static int fail(char *err, size_t errlen, const char *path, const char *what,
                int e)
{
    snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
    return -1;
}

void jl_files_init(struct jl_files *t, int sync_on_close)
{
    memset(t, 0, sizeof *t);
    t->sync_on_close = sync_on_close;
}

/* The folder part of path (heap), "." when it has none. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* mkdir -p the folder of path; the error names path, then the folder. */
static int mkdirs_for(const char *path, char *err, size_t errlen)
{
    char *dir = dir_of(path);
    if (!dir)
        return fail(err, errlen, path, "create its folder", ENOMEM);
    char sub[512];
    int rc = evt_mkdirs(dir, sub, sizeof sub);
    if (rc != 0)
        snprintf(err, errlen, "%s: create its folder: %s", path, sub);
    free(dir);
    return rc;
}

/* Offset just after the last '\n' in the first size bytes of fd (0 when
 * there is none), or -1 (errno set). */
static off_t after_last_newline(int fd, off_t size)
{
    char buf[8192];
    off_t end = size;
    while (end > 0) {
        size_t n = end > (off_t)sizeof buf ? sizeof buf : (size_t)end;
        off_t at = end - (off_t)n;
        if (evt_pread_exact(fd, buf, n, (uint64_t)at) != 0)
            return -1;
        for (size_t i = n; i-- > 0;)
            if (buf[i] == '\n')
                return at + (off_t)i + 1;
        end = at;
    }
    return 0;
}

/* Cut a torn last line: when the file does not end in '\n', truncate it
 * after its last '\n'. *removed = bytes cut, *size = bytes kept. 0, or -1
 * with err. */
static int repair_tail(int fd, const char *path, long long *removed,
                       long long *size, char *err, size_t errlen)
{
    struct stat st;
    *removed = 0;
    if (fstat(fd, &st) != 0)
        return fail(err, errlen, path, "stat", errno);
    *size = (long long)st.st_size;
    if (st.st_size == 0)
        return 0;
    int rfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (rfd < 0)
        return fail(err, errlen, path, "open for reading", errno);
    char last;
    off_t keep = st.st_size;
    int e = 0;
    if (evt_pread_exact(rfd, &last, 1, (uint64_t)st.st_size - 1) != 0)
        e = errno;
    else if (last != '\n' && (keep = after_last_newline(rfd, st.st_size)) < 0)
        e = errno;
    close(rfd);
    if (e)
        return fail(err, errlen, path, "read", e);
    if (keep == st.st_size)
        return 0;
    if (ftruncate(fd, keep) != 0)
        return fail(err, errlen, path, "truncate a torn last line", errno);
    *removed = (long long)(st.st_size - keep);
    *size = (long long)keep;
    return 0;
}

/* Open path for appending, creating it (and its folder) when missing.
 * O_NONBLOCK keeps a FIFO planted under the name from blocking us; only
 * regular files are accepted. */
static int open_append(const char *path, int *created, char *err,
                       size_t errlen)
{
    const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK;
    *created = 0;
    int fd = open(path, flags);
    if (fd < 0 && errno == ENOENT) {
        if (mkdirs_for(path, err, errlen) != 0)
            return -1;
        fd = open(path, flags | O_CREAT | O_EXCL, 0644);
        if (fd >= 0)
            *created = 1;
        else if (errno == EEXIST)
            fd = open(path, flags);
    }
    if (fd < 0)
        return fail(err, errlen, path, "open", errno);
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (!e && fcntl(fd, F_SETFL, O_WRONLY | O_APPEND) != 0)
        e = errno;
    if (e) {
        close(fd);
        return e == EINVAL ? fail(err, errlen, path, "not a regular file", e)
                           : fail(err, errlen, path, "open", e);
    }
    return fd;
}

static int sync_dir_of(const char *path, char *err, size_t errlen)
{
    char *dir = dir_of(path);
    if (!dir)
        return fail(err, errlen, path, "fsync folder", ENOMEM);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
        rc = fail(err, errlen, dir, "fsync folder", errno);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

static int sync_one(struct jl_file *f, char *err, size_t errlen)
{
    if (f->dirty && fsync(f->fd) != 0)
        return fail(err, errlen, f->path, "fsync", errno);
    f->dirty = 0;
    if (f->created && sync_dir_of(f->path, err, errlen) != 0)
        return -1;
    f->created = 0;
    return 0;
}

static void close_slot(struct jl_files *t, size_t i)
{
    close(t->f[i].fd);
    free(t->f[i].path);
    t->f[i] = t->f[--t->n];
}

/* Close the least recently used file (after fsync when asked). */
static int evict(struct jl_files *t, char *err, size_t errlen)
{
    size_t lru = 0;
    for (size_t i = 1; i < t->n; i++)
        if (t->f[i].used < t->f[lru].used)
            lru = i;
    if (t->sync_on_close && sync_one(&t->f[lru], err, errlen) != 0)
        return -1;
    close_slot(t, lru);
    return 0;
}

static struct jl_file *find(struct jl_files *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->f[i].path, path) == 0)
            return &t->f[i];
    return NULL;
}

int jl_files_get(struct jl_files *t, const char *path, struct jl_file **out,
                 long long *repaired, char *err, size_t errlen)
{
    *repaired = 0;
    struct jl_file *f = find(t, path);
    if (!f) {
        if (t->n == JL_MAX_OPEN && evict(t, err, errlen) != 0)
            return -1;
        char *copy = strdup(path);
        if (!copy)
            return fail(err, errlen, path, "open", ENOMEM);
        int created;
        long long size = 0;
        int fd = open_append(path, &created, err, errlen);
        if (fd >= 0 && !created &&
            repair_tail(fd, path, repaired, &size, err, errlen) != 0) {
            close(fd);
            fd = -1;
        }
        if (fd < 0) {
            free(copy);
            return -1;
        }
        f = &t->f[t->n++];
        *f = (struct jl_file){
            .path = copy, .fd = fd, .created = created, .size = size};
    }
    f->used = ++t->clock;
    *out = f;
    return 0;
}

/* After a write(2) that failed with errno e once done bytes of the call
 * were written: cut the file back to f->size, where the call started, so
 * that no line of it stays. err gets "<path>: write: <reason>", plus why
 * the file could not be cut back when it could not. -1. */
static int undo_append(struct jl_file *f, size_t done, int e, char *err,
                       size_t errlen)
{
    struct stat st;
    const char *why = NULL;
    int e2 = 0;
    if (done == 0)
        return fail(err, errlen, f->path, "write", e);
    if (fstat(f->fd, &st) != 0) {
        why = "stat";
        e2 = errno;
    } else if ((long long)st.st_size != f->size + (long long)done) {
        why = "the file changed size behind the sink";
    } else if (ftruncate(f->fd, (off_t)f->size) != 0) {
        why = "truncate";
        e2 = errno;
    }
    if (!why)
        return fail(err, errlen, f->path, "write", e);
    snprintf(err, errlen,
             "%s: write: %s; cannot remove the %zu bytes it wrote (%s%s%s), "
             "so the lines before the cut one may be written again",
             f->path, strerror(e), done, why, e2 ? ": " : "",
             e2 ? strerror(e2) : "");
    return -1;
}

int jl_file_append(struct jl_file *f, const void *p, size_t n, char *err,
                   size_t errlen)
{
    const char *c = p;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(f->fd, c + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return undo_append(f, done, w < 0 ? errno : EIO, err, errlen);
        done += (size_t)w;
        f->dirty = 1;
    }
    f->size += (long long)n;
    return 0;
}

void jl_files_forget(struct jl_files *t, struct jl_file *f)
{
    close_slot(t, (size_t)(f - t->f));
}

int jl_files_sync(struct jl_files *t, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < t->n; i++) {
        char tmp[512];
        if (sync_one(&t->f[i], rc ? tmp : err, rc ? sizeof tmp : errlen))
            rc = -1;
    }
    return rc;
}

void jl_files_close_all(struct jl_files *t)
{
    while (t->n > 0)
        close_slot(t, t->n - 1);
}
