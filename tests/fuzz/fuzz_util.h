/* fuzz_util.h -- shared by the fuzz targets (header-only): the libFuzzer
 * entry points, a private temporary folder, whole-file writes, and a
 * check that aborts (so that libFuzzer reports a broken invariant as a
 * crash, with the input saved). */
#ifndef EVT_FUZZ_UTIL_H
#define EVT_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, mkdtemp, memmem; include this header first */
#endif

#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The sanitizers' report file descriptor stays open under libFuzzer's
 * -close_fd_mask, unlike stderr (absent without a sanitizer). */
void __sanitizer_report_error_summary(const char *summary)
    __attribute__((weak));

static inline void fz_fail(const char *file, int line, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s:%d: check failed: %s", file, line, what);
    fprintf(stderr, "%s\n", msg);
    if (__sanitizer_report_error_summary)
        __sanitizer_report_error_summary(msg);
    abort();
}

/* An invariant of the code under test: abort with a message when false. */
#define FZ_CHECK(cond)                                                       \
    do {                                                                     \
        if (!(cond))                                                         \
            fz_fail(__FILE__, __LINE__, #cond);                              \
    } while (0)

static char fz_tmp[64];

static inline int fz_rm_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove everything under dir (dir itself too when self). */
static inline void fz_rmtree(const char *dir)
{
    nftw(dir, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fz_tmp_cleanup(void)
{
    if (fz_tmp[0])
        fz_rmtree(fz_tmp);
}

/* This process's own folder under /tmp, removed at exit. */
static inline const char *fz_tmpdir(void)
{
    if (!fz_tmp[0]) {
        snprintf(fz_tmp, sizeof fz_tmp, "/tmp/evt-fuzz-XXXXXX");
        if (!mkdtemp(fz_tmp)) {
            perror("mkdtemp");
            abort();
        }
        atexit(fz_tmp_cleanup);
    }
    return fz_tmp;
}

/* Write p[0..n) to path (created or truncated); aborts on failure. */
static inline void fz_write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FZ_CHECK(fd >= 0);
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        FZ_CHECK(w > 0);
        c += w;
        n -= (size_t)w;
    }
    close(fd);
}

/* A heap copy of data with a NUL after it. */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    FZ_CHECK(s != NULL);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
