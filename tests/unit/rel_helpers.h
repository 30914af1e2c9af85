/* rel_helpers.h -- shared by the reliability tests (test_crash.c,
 * test_faults.c, test_secrets.c): scale and seed from the environment, a
 * small PRNG, log capture through evt_set_log_handler, child-process
 * plumbing (status pipe, checks that end the child), directory walks and
 * the parsers the tests judge files with. Header-only; every function is
 * static and marked unused so that each test takes what it needs. */
#ifndef EVT_TEST_REL_HELPERS_H
#define EVT_TEST_REL_HELPERS_H

#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"

#define RH_FN static __attribute__((unused))

/* The build tree (set by ctest): bin/evtrack lives there. */
RH_FN const char *rh_build_dir(void)
{
    const char *d = getenv("EVT_TEST_BUILD_DIR");
    assert_non_null(d);
    return d;
}

/* ---- scale, seed, random ------------------------------------------------*/

/* EVT_TEST_SCALE_DIV (CI's valgrind stage sets 20), at least 1. */
RH_FN long rh_scale_div(void)
{
    const char *s = getenv("EVT_TEST_SCALE_DIV");
    long d = s ? strtol(s, NULL, 10) : 1;
    return d >= 1 ? d : 1;
}

/* n scaled down, but never below min. */
RH_FN long rh_scaled(long n, long min)
{
    long v = n / rh_scale_div();
    return v < min ? min : v;
}

/* EVT_TEST_FULL=1: the long campaign sizes. */
RH_FN int rh_full(void)
{
    const char *s = getenv("EVT_TEST_FULL");
    return s && strcmp(s, "1") == 0;
}

/* A positive integer from the environment, or def. */
RH_FN long rh_env_long(const char *name, long def)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long v = strtol(s, &end, 10);
    return *end == '\0' && v > 0 ? v : def;
}

/* EVT_TEST_SEED, else a fresh one; printed so that a failure can be
 * reproduced. */
RH_FN uint64_t rh_seed(const char *what)
{
    const char *s = getenv("EVT_TEST_SEED");
    uint64_t seed;
    if (s && *s) {
        seed = strtoull(s, NULL, 10);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 20);
        seed %= 1000000000000ull;
    }
    printf("[ %s ] seed %llu (EVT_TEST_SEED=%llu reproduces it)\n", what,
           (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    return seed;
}

struct rh_rng {
    uint64_t s;
};

RH_FN uint64_t rh_next(struct rh_rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0). */
RH_FN uint64_t rh_below(struct rh_rng *r, uint64_t n)
{
    return rh_next(r) % n;
}

RH_FN int64_t rh_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

RH_FN void rh_sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- log capture -------------------------------------------------------*/

#define RH_LOG_CAP 4096

static pthread_mutex_t rh_log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int level;
    char *msg;
} rh_logs[RH_LOG_CAP];
static size_t rh_nlogs, rh_log_overflow;
/* When set, each message is also appended to this fd (a child's log
 * file, read by the parent). */
static int rh_log_fd = -1;

RH_FN void rh_log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    if (rh_log_fd >= 0) {
        char line[1200];
        int n = snprintf(line, sizeof line, "%d %s\n", level, msg);
        if (n > 0) {
            size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
            ssize_t w = write(rh_log_fd, line, len);
            (void)w;
        }
    }
    pthread_mutex_lock(&rh_log_mu);
    if (rh_nlogs < RH_LOG_CAP) {
        rh_logs[rh_nlogs].level = level;
        rh_logs[rh_nlogs].msg = strdup(msg);
        rh_nlogs += rh_logs[rh_nlogs].msg != NULL;
    } else {
        rh_log_overflow++;
    }
    pthread_mutex_unlock(&rh_log_mu);
}

RH_FN void rh_log_clear(void)
{
    pthread_mutex_lock(&rh_log_mu);
    for (size_t i = 0; i < rh_nlogs; i++)
        free(rh_logs[i].msg);
    rh_nlogs = 0;
    rh_log_overflow = 0;
    pthread_mutex_unlock(&rh_log_mu);
}

RH_FN void rh_log_start(void)
{
    rh_log_clear();
    evt_set_log_handler(rh_log_cb, NULL);
}

RH_FN void rh_log_stop(void)
{
    evt_set_log_handler(NULL, NULL);
}

/* Messages holding every non-NULL needle; level < 0: any level. */
RH_FN size_t rh_log_count(int level, const char *a, const char *b,
                          const char *c)
{
    size_t n = 0;
    pthread_mutex_lock(&rh_log_mu);
    for (size_t i = 0; i < rh_nlogs; i++)
        n += (level < 0 || rh_logs[i].level == level) &&
             (!a || strstr(rh_logs[i].msg, a)) &&
             (!b || strstr(rh_logs[i].msg, b)) &&
             (!c || strstr(rh_logs[i].msg, c));
    pthread_mutex_unlock(&rh_log_mu);
    return n;
}

/* Every message, one per line (heap). */
RH_FN char *rh_log_text(void)
{
    pthread_mutex_lock(&rh_log_mu);
    size_t len = 1;
    for (size_t i = 0; i < rh_nlogs; i++)
        len += strlen(rh_logs[i].msg) + 4;
    char *s = malloc(len), *p = s;
    if (s) {
        for (size_t i = 0; i < rh_nlogs; i++) {
            size_t n = strlen(rh_logs[i].msg);
            *p++ = (char)('0' + (rh_logs[i].level & 7));
            *p++ = ' ';
            memcpy(p, rh_logs[i].msg, n);
            p += n;
            *p++ = '\n';
        }
        *p = '\0';
    }
    pthread_mutex_unlock(&rh_log_mu);
    return s;
}

/* Number of messages captured. */
RH_FN size_t rh_log_n(void)
{
    pthread_mutex_lock(&rh_log_mu);
    size_t n = rh_nlogs;
    pthread_mutex_unlock(&rh_log_mu);
    return n;
}

/* ---- child processes ----------------------------------------------------
 * A forked child never returns into cmocka: it checks with RH_CK, which
 * writes the reason to stderr and ends the child with exit code 3, and it
 * leaves with rh_child_exit. */

#define RH_CK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "child %ld, %s:%d: check failed: %s: ",        \
                    (long)getpid(), __FILE__, __LINE__, #cond);            \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            fflush(stderr);                                                \
            _exit(3);                                                      \
        }                                                                  \
    } while (0)

RH_FN void rh_child_exit(int code)
{
    fflush(stdout);
    fflush(stderr);
    _exit(code);
}

/* Wait for pid (blocking); its raw status. */
RH_FN int rh_wait(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

/* Wait for a child that must exit 0 within timeout_ms (killed otherwise). */
RH_FN void rh_wait_ok(pid_t pid, int timeout_ms, const char *what)
{
    int st = 0;
    int64_t until = rh_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (rh_now_us() > until) {
            kill(pid, SIGKILL);
            rh_wait(pid);
            fail_msg("%s: the child did not finish within %d ms", what,
                     timeout_ms);
        }
        rh_sleep_us(2000);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s: the child %s %d (its reason is on stderr above)", what,
                 WIFEXITED(st) ? "exited with" : "was killed by signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* Records a child sends its parent through a pipe: PIPE_BUF-atomic. */
struct rh_msg {
    int32_t type;
    int32_t pad;
    int64_t value;
    int64_t value2;
};

RH_FN void rh_send(int fd, int32_t type, int64_t value, int64_t value2)
{
    struct rh_msg m = {type, 0, value, value2};
    const char *p = (const char *)&m;
    size_t n = sizeof m;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the parent is gone */
        p += w;
        n -= (size_t)w;
    }
}

/* Read one message: 1, 0 at EOF, -1 after timeout_ms without one. */
RH_FN int rh_recv(int fd, struct rh_msg *m, int timeout_ms)
{
    char *p = (char *)m;
    size_t got = 0;
    while (got < sizeof *m) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        ssize_t n = read(fd, p + got, sizeof *m - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return got ? -1 : 0;
        got += (size_t)n;
    }
    return 1;
}

/* ---- files --------------------------------------------------------------*/

struct rh_paths {
    char **p;
    size_t n, cap;
};

RH_FN void rh_paths_free(struct rh_paths *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i]);
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}

RH_FN int rh_paths_has(const struct rh_paths *ps, const char *path)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i], path) == 0)
            return 1;
    return 0;
}

RH_FN void rh_paths_add(struct rh_paths *ps, char *owned)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = realloc(ps->p, ps->cap * sizeof *ps->p);
        assert_non_null(ps->p);
    }
    ps->p[ps->n++] = owned;
}

RH_FN int rh_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir (recursively, symlinks not followed) whose
 * name contains needle (NULL: all), sorted. A missing dir gives none. */
RH_FN void rh_list_files(const char *dir, const char *needle,
                         struct rh_paths *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = tu_fmt("%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rh_list_files(p, needle, out);
            free(p);
        } else if (S_ISREG(st.st_mode) &&
                   (!needle || strstr(de->d_name, needle))) {
            rh_paths_add(out, p);
        } else {
            free(p);
        }
    }
    closedir(d);
    if (out->n > 1)
        qsort(out->p, out->n, sizeof *out->p, rh_cmp_str);
}

RH_FN int rh_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

RH_FN long long rh_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* 1 when needle[0..n) occurs in hay[0..len). */
RH_FN int rh_mem_has(const char *hay, size_t len, const char *needle,
                     size_t n)
{
    if (n == 0 || len < n)
        return n == 0;
    for (size_t i = 0; i + n <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* FNV-1a of a file's bytes (0 when it cannot be read) and its size. */
RH_FN uint64_t rh_file_hash(const char *path, size_t *len)
{
    size_t n = 0;
    char *text = tu_read_file(path, &n);
    if (len)
        *len = n;
    if (!text)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    free(text);
    return h;
}

/* ---- JSONL files ---------------------------------------------------------*/

/* Read a JSONL file: each line ended by '\n' must be one JSON object
 * (each is handed to each(), may be NULL); a last line without '\n' is a
 * torn line, refused unless allow_torn (*torn gets its size). Returns the
 * number of lines, or -1 with err. */
RH_FN long rh_jsonl_scan(const char *path, int allow_torn, size_t *torn,
                         void (*each)(void *ud, const cJSON *obj), void *ud,
                         char *err, size_t errlen)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (torn)
        *torn = 0;
    if (!text) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    long n = 0;
    size_t pos = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl) {
            if (torn)
                *torn = len - pos;
            if (!allow_torn) {
                snprintf(err, errlen, "%s: a torn last line of %zu bytes",
                         path, len - pos);
                free(text);
                return -1;
            }
            break;
        }
        *nl = '\0';
        cJSON *o = cJSON_Parse(text + pos);
        if (!o || !cJSON_IsObject(o)) {
            snprintf(err, errlen, "%s: line %ld is not one JSON object: "
                     "%.100s", path, n + 1, text + pos);
            cJSON_Delete(o);
            free(text);
            return -1;
        }
        if (each)
            each(ud, o);
        cJSON_Delete(o);
        n++;
        pos = (size_t)(nl - text) + 1;
    }
    free(text);
    return n;
}

/* ---- copies ---------------------------------------------------------------*/

/* Copy the regular files and folders under src to dst (created). 0 or
 * -1. For a child whose files live in a mount namespace that ends with
 * it. */
RH_FN int rh_copy_tree(const char *src, const char *dst)
{
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *a = tu_fmt("%s/%s", src, de->d_name);
        char *b = tu_fmt("%s/%s", dst, de->d_name);
        struct stat st;
        if (lstat(a, &st) != 0) {
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = rh_copy_tree(a, b);
        } else if (S_ISREG(st.st_mode)) {
            size_t len;
            char *data = tu_read_file(a, &len);
            FILE *fp = data ? fopen(b, "wb") : NULL;
            if (!fp || fwrite(data, 1, len, fp) != len)
                rc = -1;
            if (fp && fclose(fp) != 0)
                rc = -1;
            free(data);
        }
        free(a), free(b);
    }
    closedir(d);
    return rc;
}

/* ---- the evtrack command -----------------------------------------------------*/

/* Run `evtrack <args>` in dir; exit code (-1: killed), *out its stdout and
 * stderr (heap). */
RH_FN int rh_cli(const char *dir, const char *args, char **out)
{
    char *log = tu_fmt("%s/cli.%ld.out", dir, (long)rh_now_us());
    char *cmd = tu_fmt("cd %s && %s/bin/evtrack %s >%s 2>&1", dir,
                       rh_build_dir(), args, log);
    int st = system(cmd);
    *out = tu_read_file(log, NULL);
    if (!*out)
        *out = strdup("");
    unlink(log);
    free(cmd), free(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- configs -------------------------------------------------------------*/

/* One sink object of a built-in plugin: members (without braces, may be
 * "") and config (the config object's members, may be ""). */
RH_FN char *rh_sink(const char *name, const char *plugin, const char *members,
                    const char *config)
{
    return tu_fmt("{\"name\": \"%s\", \"plugin\": \"%s\"%s%s, "
                  "\"config\": {%s}}",
                  name, plugin, members[0] ? ", " : "", members, config);
}

/* One sink object of the test fixture sink, recording to record (may be
 * NULL: no record file). */
RH_FN char *rh_test_sink(const char *name, const char *record,
                         const char *members, const char *config)
{
    char *rec = record ? tu_fmt("\"record\": \"%s\"%s", record,
                                config[0] ? ", " : "")
                       : strdup("");
    char *s = tu_fmt("{\"name\": \"%s\", \"path\": \"%s/test_sink.so\"%s%s, "
                     "\"config\": {%s%s}}",
                     name, tu_fixture_dir(), members[0] ? ", " : "", members,
                     rec, config);
    free(rec);
    return s;
}


/* ---- counters --------------------------------------------------------------*/

RH_FN int rh_stats_of(evt_tracker *t, const char *name,
                      struct evt_sink_stats *out)
{
    struct evt_sink_stats st[16];
    size_t n = evt_stats(t, st, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        if (strcmp(st[i].name, name) == 0) {
            *out = st[i];
            return 1;
        }
    return 0;
}

#undef RH_FN
#endif
