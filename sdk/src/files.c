/* files.c -- file helpers for sinks (files.h). */
#define _GNU_SOURCE
#include "evtrack/sdk/files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *path, const char *step,
                int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s: %s", path, step, strerror(e));
    return -1;
}

int evt_mkdirs(const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p)
        return fail(err, errlen, path, "mkdir", ENOMEM);
    memcpy(p, path, n + 1);
    for (char *s = p + 1; ; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return fail(err, errlen, path, "mkdir", e);
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(err, errlen, path, "mkdir", ENOTDIR);
    return 0;
}

char *evt_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, *a && *b ? "/" : "", b);
    return p;
}

int evt_write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t evt_pread_full(int fd, void *p, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int evt_pread_exact(int fd, void *p, size_t n, uint64_t off)
{
    ssize_t r = evt_pread_full(fd, p, n, off);
    if (r >= 0 && (size_t)r != n)
        errno = EIO;
    return r >= 0 && (size_t)r == n ? 0 : -1;
}

static void sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* "<path>.tmp.<pid>.<n>": unique per call, also between the threads of
 * several sinks in one process. */
static int temp_name(char *tmp, size_t size, const char *path)
{
    static atomic_ulong counter;
    unsigned long n = atomic_fetch_add(&counter, 1);
    return (size_t)snprintf(tmp, size, "%s.tmp.%ld.%lu", path,
                            (long)getpid(), n) < size ? 0 : -1;
}

/* Write and fsync data to the new file tmp. 0, or -1 with err. */
static int write_new(const char *tmp, const char *path, const void *data,
                     size_t len, char *err, size_t errlen)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(err, errlen, path, "create temp file", errno);
    const char *step = NULL;
    if (evt_write_all(fd, data, len) != 0)
        step = "write";
    else if (fsync(fd) != 0)
        step = "fsync";
    int e = errno;
    if (close(fd) != 0 && !step) {
        step = "close";
        e = errno;
    }
    if (!step)
        return 0;
    unlink(tmp);
    return fail(err, errlen, path, step, e ? e : EIO);
}

static int no_hard_links(int e)
{
    return e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS ||
           e == EMLINK || e == EXDEV;
}

int evt_create_file_new(const char *path, const void *data, size_t len,
                        char *err, size_t errlen)
{
    char tmp[4096];
    if (temp_name(tmp, sizeof tmp, path) != 0)
        return fail(err, errlen, path, "create", ENAMETOOLONG);
    if (write_new(tmp, path, data, len, err, errlen) != 0)
        return -1;
    int rc = link(tmp, path), e = errno;
    if (rc != 0 && no_hard_links(e)) {
        struct stat st;
        if (stat(path, &st) == 0)
            e = EEXIST;
        else
            rc = rename(tmp, path), e = errno;
    }
    unlink(tmp);
    if (rc == 0) {
        sync_dir_of(path);
        return 0;
    }
    return e == EEXIST ? 1 : fail(err, errlen, path, "link", e);
}

int evt_write_file_atomic(const char *path, const void *data, size_t len,
                          char *err, size_t errlen)
{
    char tmp[4096];
    if (temp_name(tmp, sizeof tmp, path) != 0)
        return fail(err, errlen, path, "write", ENAMETOOLONG);
    if (write_new(tmp, path, data, len, err, errlen) != 0)
        return -1;
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fail(err, errlen, path, "rename", e);
    }
    sync_dir_of(path);
    return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
               : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
        (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

char *evt_safe_component(const char *name, size_t len, size_t max_bytes)
{
    if (max_bytes < 1)
        max_bytes = 1;
    char *out = malloc((len < max_bytes ? len : max_bytes) + 2);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)name;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(p + i, len - i);
        if (o + (n ? n : 1) > max_bytes)
            break;
        if (n <= 1) {
            unsigned char c = p[i];
            int bad = n == 0 || c < 0x20 || c == 0x7f ||
                      (c && strchr("/\\:*?\"<>|", c)) || (o == 0 && c == '.');
            out[o++] = bad ? '_' : (char)c;
            i++;
            continue;
        }
        memcpy(out + o, p + i, n);
        o += n;
        i += n;
    }
    if (o == 0)
        out[o++] = '_';
    out[o] = '\0';
    return out;
}

static int lmms_bad(char c)
{
    return c && strchr("\"<>:/|\\?*[]", c) != NULL;
}

char *evt_lmms_model_name_sanitized(const char *model_name)
{
    /* Keep the last two '/'-parts: start after the second-to-last '/'. */
    const char *start = model_name;
    const char *last = strrchr(model_name, '/');
    if (last) {
        size_t i = (size_t)(last - model_name);
        while (i > 0 && model_name[i - 1] != '/')
            i--;
        start = model_name + i;
    }
    size_t n = strlen(start);
    char *out = malloc(2 * n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (lmms_bad(start[i])) {
            while (i < n && lmms_bad(start[i]))
                i++;
            out[o++] = '_';
            out[o++] = '_';
        } else {
            out[o++] = start[i++];
        }
    }
    out[o] = '\0';
    return out;
}
