/* test_util.h -- small helpers shared by the cmocka tests (header-only). */
#ifndef EVT_TEST_UTIL_H
#define EVT_TEST_UTIL_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A fresh folder under /tmp (heap string); remove with tu_rmtree. */
static inline char *tu_tmpdir(void)
{
    char *p = strdup("/tmp/evt-test-XXXXXX");
    assert_non_null(p);
    assert_non_null(mkdtemp(p));
    return p;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tu_rmtree(char *dir)
{
    nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

/* The folder of the test fixture sinks (set by ctest). */
static inline const char *tu_fixture_dir(void)
{
    const char *d = getenv("EVT_TEST_FIXTURE_DIR");
    assert_non_null(d);
    return d;
}

/* Heap printf. */
static inline char *tu_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static inline void tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Whole file as a heap string (NULL if it does not exist). */
static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Lines of s, not counting those that start with '#' (the test sink's
 * "# destroyed" marker). */
static inline size_t tu_count_lines(const char *s)
{
    size_t n = 0;
    for (const char *l = s; l && *l;) {
        const char *nl = strchr(l, '\n');
        n += *l != '#';
        l = nl ? nl + 1 : NULL;
    }
    return n;
}

/* EVT_TEST_SCALE_DIV (CI's valgrind stage sets 20), at least 1: heavy
 * loops run n / tu_scale_div() times. */
static inline int tu_scale_div(void)
{
    const char *s = getenv("EVT_TEST_SCALE_DIV");
    int d = s ? (int)strtol(s, NULL, 10) : 1;
    return d > 1 ? d : 1;
}

/* A file of the shared fixtures folder, $EVT_TEST_SOURCE_DIR/../shared
 * (CI has it next to the repository); fails the test when it is missing. */
static inline char *tu_shared_path(const char *rel)
{
    const char *src = getenv("EVT_TEST_SOURCE_DIR");
    if (!src)
        fail_msg("EVT_TEST_SOURCE_DIR is not set (run the test with ctest)");
    char *dir = tu_fmt("%s/../shared", src);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("the shared folder %s is missing: it holds the real "
                 "fixtures (CI has it next to the repository)", dir);
    closedir(d);
    char *p = tu_fmt("%s/%s", dir, rel);
    free(dir);
    return p;
}

static inline char *tu_read_shared(const char *rel)
{
    char *p = tu_shared_path(rel);
    char *text = tu_read_file(p, NULL);
    if (!text)
        fail_msg("cannot read %s", p);
    free(p);
    return text;
}

/* The only file in dir whose name ends with suffix (not a temp file). */
static inline char *tu_find_one(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("no folder %s", dir);
    char *found = NULL;
    struct dirent *de;
    size_t n = strlen(suffix);
    while ((de = readdir(d))) {
        size_t m = strlen(de->d_name);
        if (m < n || strcmp(de->d_name + m - n, suffix) != 0 ||
            strstr(de->d_name, ".tmp."))
            continue;
        if (found)
            fail_msg("two files end with %s in %s", suffix, dir);
        found = tu_fmt("%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (!found)
        fail_msg("no file ending with %s in %s", suffix, dir);
    return found;
}

/* The evtrack command of the build under test (heap string). */
static inline char *tu_evtrack_bin(void)
{
    return tu_fmt("%s/bin/evtrack", getenv("EVT_TEST_BUILD_DIR"));
}

/* A command's exit code and its output, stdout and stderr together. */
struct tu_out {
    int code;
    char *text; /* heap */
};

/* Run a shell command line, its output captured through dir/cli.out. */
static inline struct tu_out tu_run(const char *dir, const char *cmdline)
{
    char *log = tu_fmt("%s/cli.out", dir);
    char *cmd = tu_fmt("%s >%s 2>&1", cmdline, log);
    int st = system(cmd);
    struct tu_out o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                       tu_read_file(log, NULL)};
    assert_non_null(o.text);
    free(cmd);
    free(log);
    return o;
}

#endif
