/* conformance.c -- the conformance kit's check list and its runner: each
 * check runs in a forked child process, in a folder of its own, and
 * reports its verdicts through a pipe. A child that crashes, exits early
 * or outlives its deadline fails the check it was running, naming the
 * step it had reached; the next checks still run. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance_int.h"
#include "event.h"
#include "strbuf.h"

#define DEFAULT_TIMEOUT_S 60
#define MAX_NAMES 8

/* ---- the check list -------------------------------------------------------*/

struct check_def {
    const char *names; /* space-separated verdict names the child gives */
    void (*fn)(struct conf_ctx *c);
    void (*fn_kind)(struct conf_ctx *c, uint32_t kind);
    void (*fn_hostile)(struct conf_ctx *c, enum conf_hostile which);
    int arg;
};

#define CHECK(n, f) {n, f, NULL, NULL, 0}
#define KIND(n, k) {n, NULL, conf_check_kind, NULL, (int)(k)}
#define HOSTILE(n, h) {n, NULL, NULL, conf_check_hostile, (int)(h)}

static const struct check_def checks[] = {
    CHECK("abi.load abi.entry abi.version abi.struct_size abi.callbacks "
          "abi.identity", conf_check_abi),
    CHECK("config.given config.schema", conf_check_schema),
    CHECK("config.defaults", conf_check_defaults),
    CHECK("config.unknown_key", conf_check_unknown_key),
    CHECK("config.wrong_type", conf_check_wrong_type),
    CHECK("config.missing_required", conf_check_missing_required),
    CHECK("config.hostile_values", conf_check_hostile_values),
    CHECK("lifecycle.create_close", conf_check_create_close),
    CHECK("lifecycle.create_destroy", conf_check_create_destroy),
    CHECK("lifecycle.flush_before_write", conf_check_flush_before_write),
    CHECK("lifecycle.flush_twice", conf_check_flush_twice),
    CHECK("lifecycle.write_after_flush", conf_check_write_after_flush),
    CHECK("lifecycle.close_drains", conf_check_close_drains),
    KIND("events.run_start", EVT_EV_RUN_START),
    KIND("events.task_config", EVT_EV_TASK_CONFIG),
    KIND("events.sample", EVT_EV_SAMPLE),
    KIND("events.result", EVT_EV_RESULT),
    KIND("events.scalar", EVT_EV_SCALAR),
    KIND("events.run_end", EVT_EV_RUN_END),
    CHECK("events.full_run", conf_check_full_run),
    CHECK("events.immutable events.retain_release", conf_check_immutable),
    HOSTILE("hostile.nonfinite", CONF_H_NONFINITE),
    HOSTILE("hostile.long_strings", CONF_H_LONG_STRINGS),
    HOSTILE("hostile.control_chars", CONF_H_CONTROL_CHARS),
    HOSTILE("hostile.path_names", CONF_H_PATH_NAMES),
    HOSTILE("hostile.deep_nesting", CONF_H_DEEP_NESTING),
    HOSTILE("hostile.empty", CONF_H_EMPTY),
    HOSTILE("hostile.types", CONF_H_TYPES),
    HOSTILE("hostile.msgpack_types", CONF_H_MSGPACK_TYPES),
    CHECK("retry.same_batch", conf_check_retry),
    CHECK("host.close_once", conf_check_close_once),
    CHECK("host.close_abandoned", conf_check_close_abandoned),
    CHECK("threads.no_leak", conf_check_threads),
};

/* ---- the child's side ------------------------------------------------------*/

static int child_fd = -1;
static char child_step[256];

static void send_all(const char *s, size_t n)
{
    while (n > 0 && child_fd >= 0) {
        ssize_t w = write(child_fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* One protocol line: tag, then text with control characters made '?'. */
static void send_line(const char *tag, const char *text)
{
    char line[1024];
    size_t n = strlen(tag);
    memcpy(line, tag, n);
    for (const char *p = text; *p && n + 2 < sizeof line; p++)
        line[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    line[n++] = '\n';
    send_all(line, n);
}

void conf_verdict(enum evt_conf_verdict v, const char *name, const char *fmt,
                  ...)
{
    char reason[768], tag[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(tag, sizeof tag, "V %c %s ",
             v == EVT_CONF_PASS ? 'P' : v == EVT_CONF_FAIL ? 'F' : 'S', name);
    send_line(tag, reason);
}

void conf_step(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(child_step, sizeof child_step, fmt, ap);
    va_end(ap);
    send_line("> ", child_step);
}

void conf_in_callback(const char *what)
{
    char text[320];
    if (what)
        snprintf(text, sizeof text, "%s, inside %s", child_step, what);
    else
        snprintf(text, sizeof text, "%s", child_step);
    send_line("> ", text);
}

static void child_main(const struct check_def *d, struct conf_ctx *c, int fd)
{
    child_fd = fd;
    setpgid(0, 0); /* the parent kills the group on a timeout */
    int out = open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) { /* sinks that print (markdown-table) stay out of the
                       report */
        dup2(out, STDOUT_FILENO);
        close(out);
    }
    if (chdir(c->jail) != 0) {
        conf_step("entering the sandbox");
        exit(3);
    }
    setenv("EVTRACK_CONFORMANCE_DIR", c->jail, 1);
    conf_step("starting");
    if (d->fn)
        d->fn(c);
    else if (d->fn_kind)
        d->fn_kind(c, (uint32_t)d->arg);
    else
        d->fn_hostile(c, (enum conf_hostile)d->arg);
    fflush(stdout);
    close(fd);
    exit(0); /* atexit handlers and leak checkers run, and count */
}

/* ---- the parent's side ----------------------------------------------------*/

struct verdict {
    char name[48];
    int given;
    enum evt_conf_verdict v;
    char reason[768];
};

struct child_result {
    struct verdict vs[MAX_NAMES];
    size_t n;
    char step[320];  /* the last step the child reported */
    int timed_out;
    int status;      /* waitpid status */
};

static void split_names(const char *names, struct child_result *r)
{
    const char *p = names;
    while (*p && r->n < MAX_NAMES) {
        size_t len = strcspn(p, " ");
        struct verdict *v = &r->vs[r->n++];
        memset(v, 0, sizeof *v);
        memcpy(v->name, p, len < sizeof v->name - 1 ? len : sizeof v->name - 1);
        p += len;
        p += strspn(p, " ");
    }
}

static void take_line(struct child_result *r, char *line)
{
    if (line[0] == '>' && line[1] == ' ') {
        evt__strlcpy(r->step, line + 2, sizeof r->step);
        return;
    }
    if (line[0] != 'V' || line[1] != ' ' || !line[2] || line[3] != ' ')
        return;
    char kind = line[2];
    char *name = line + 4, *sp = strchr(name, ' ');
    if (!sp)
        return;
    *sp = '\0';
    for (size_t i = 0; i < r->n; i++) {
        struct verdict *v = &r->vs[i];
        if (strcmp(v->name, name) != 0 || v->given)
            continue;
        v->given = 1;
        v->v = kind == 'P' ? EVT_CONF_PASS
               : kind == 'F' ? EVT_CONF_FAIL : EVT_CONF_SKIP;
        evt__strlcpy(v->reason, sp + 1, sizeof v->reason);
    }
}

static int64_t mono_ms(void) { return evt__mono_ns() / 1000000; }

/* Read the child's lines until EOF, its exit, or the deadline. */
static void collect(int fd, pid_t pid, int timeout_s, struct child_result *r)
{
    char buf[8192];
    size_t have = 0;
    int64_t deadline = mono_ms() + (int64_t)timeout_s * 1000;
    int exited = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, 100);
        if (pr > 0) {
            ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
            if (got == 0 || (got < 0 && errno != EINTR))
                break;
            if (got > 0)
                have += (size_t)got;
            buf[have] = '\0';
            char *nl, *start = buf;
            while ((nl = strchr(start, '\n'))) {
                *nl = '\0';
                take_line(r, start);
                start = nl + 1;
            }
            have -= (size_t)(start - buf);
            memmove(buf, start, have);
            if (have == sizeof buf - 1)
                have = 0; /* an overlong line: dropped */
        } else if (exited) { /* gone and nothing more came: a grandchild
                                may hold the pipe */
            break;
        } else if (waitpid(pid, &r->status, WNOHANG) == pid) {
            exited = 1;
        }
        if (!exited && mono_ms() > deadline) {
            r->timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
    }
    if (!exited)
        waitpid(pid, &r->status, 0);
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGPIPE: return "SIGPIPE";
    default: return "a signal";
    }
}

/* How the child ended, when not by a clean exit(0). */
static void describe_end(const struct child_result *r, int timeout_s,
                         char *buf, size_t len)
{
    if (r->timed_out)
        snprintf(buf, len, "timed out after %d s", timeout_s);
    else if (WIFSIGNALED(r->status))
        snprintf(buf, len, "crashed (%s)", signal_name(WTERMSIG(r->status)));
    else
        snprintf(buf, len, "its process exited with status %d",
                 WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1);
}

/* Verdicts for what the child did not report, or reported before it
 * ended badly. */
static void settle(struct child_result *r, int timeout_s)
{
    int clean = !r->timed_out && WIFEXITED(r->status) &&
                WEXITSTATUS(r->status) == 0;
    if (clean) {
        for (size_t i = 0; i < r->n; i++)
            if (!r->vs[i].given) {
                r->vs[i].given = 1;
                r->vs[i].v = EVT_CONF_FAIL;
                snprintf(r->vs[i].reason, sizeof r->vs[i].reason,
                         "the check gave no verdict (at: %s)", r->step);
            }
        return;
    }
    char how[96];
    describe_end(r, timeout_s, how, sizeof how);
    const char *failed = NULL; /* the check that was running */
    for (size_t i = 0; i < r->n; i++) {
        struct verdict *v = &r->vs[i];
        if (v->given && v->v == EVT_CONF_PASS) {
            v->v = EVT_CONF_FAIL;
            snprintf(v->reason, sizeof v->reason, "passed, but then %s (a "
                     "leak or memory error? see the messages above)", how);
        }
        if (v->given)
            continue;
        v->given = 1;
        if (failed) {
            v->v = EVT_CONF_SKIP;
            snprintf(v->reason, sizeof v->reason, "not reached: %s failed",
                     failed);
            continue;
        }
        failed = v->name;
        v->v = EVT_CONF_FAIL;
        snprintf(v->reason, sizeof v->reason, "%s at: %s", how, r->step);
    }
}

static int mkdir_p(const char *path)
{
    return evt__mkdirs(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void conf_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct runner {
    const char *so_path;
    const cJSON *config;
    const char *root;
    int timeout_s;
    int keep;
    int abi_failed;
    int failures;
    evt_conf_report_fn fn;
    void *ud;
};

static void report(struct runner *rn, const struct verdict *v)
{
    if (v->v == EVT_CONF_FAIL)
        rn->failures++;
    if (strncmp(v->name, "abi.", 4) == 0 && v->v == EVT_CONF_FAIL)
        rn->abi_failed = 1;
    rn->fn(rn->ud, v->v, v->name, v->reason);
}

/* The sandbox of one check: <root>/<name>/jail. */
static int prepare_ctx(struct runner *rn, const char *name, char *dir,
                       size_t dirlen, struct conf_ctx *c)
{
    memset(c, 0, sizeof *c);
    snprintf(dir, dirlen, "%s/%s", rn->root, name);
    c->so_path = rn->so_path;
    c->user_config = rn->config;
    c->dir = dir;
    snprintf(c->jail, sizeof c->jail, "%s/jail", dir);
    snprintf(c->out, sizeof c->out, "%s/out", c->jail);
    snprintf(c->state, sizeof c->state, "%s/state", c->jail);
    snprintf(c->marker, sizeof c->marker, "evtconf-escape-%ld",
             (long)getpid());
    return mkdir_p(c->jail);
}

static void run_check(struct runner *rn, const struct check_def *d)
{
    struct child_result r;
    memset(&r, 0, sizeof r);
    split_names(d->names, &r);
    if (rn->abi_failed) {
        for (size_t i = 0; i < r.n; i++) {
            r.vs[i].v = EVT_CONF_SKIP;
            snprintf(r.vs[i].reason, sizeof r.vs[i].reason,
                     "the loader refused the plugin (see abi.*)");
            report(rn, &r.vs[i]);
        }
        return;
    }
    char dir[900];
    struct conf_ctx c;
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    if (prepare_ctx(rn, r.vs[0].name, dir, sizeof dir, &c) == 0 &&
        pipe(fds) == 0) {
        fflush(stdout);
        fflush(stderr);
        pid = fork();
    }
    if (pid == 0) {
        close(fds[0]);
        if (chdir(dir) == 0)
            child_main(d, &c, fds[1]);
        exit(3);
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid < 0) {
        snprintf(r.step, sizeof r.step, "starting the check: %s",
                 strerror(errno));
        r.status = 3 << 8; /* as exit(3) */
    } else {
        collect(fds[0], pid, rn->timeout_s, &r);
    }
    if (fds[0] >= 0)
        close(fds[0]);
    settle(&r, rn->timeout_s);
    if (!rn->keep)
        conf_rmtree(dir);
    for (size_t i = 0; i < r.n; i++)
        report(rn, &r.vs[i]);
}

static int parse_config(const char *json, cJSON **out, char *err,
                        size_t errlen)
{
    *out = cJSON_Parse(json ? json : "{}");
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return evt__err(err, errlen, EVT_EINVAL,
                        "the sink config is not a JSON object");
    }
    return EVT_OK;
}

static char *make_root(char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char *root = evt__asprintf("%s/evtrack-conformance-XXXXXX",
                               tmp && tmp[0] ? tmp : "/tmp");
    if (!root || !mkdtemp(root)) {
        evt__err(err, errlen, EVT_EIO, "cannot make a temporary folder: %s",
                 strerror(errno));
        free(root);
        return NULL;
    }
    return root;
}

int evt_conformance_run(const char *path, const struct evt_conf_opts *opts,
                        evt_conf_report_fn fn, void *ud, char **kept_dir,
                        char *err, size_t errlen)
{
    if (kept_dir)
        *kept_dir = NULL;
    if (!path || !fn)
        return evt__err(err, errlen, EVT_EINVAL, "no plugin path given");
    struct runner rn = {0};
    cJSON *config = NULL;
    int rc = parse_config(opts ? opts->config_json : NULL, &config, err,
                          errlen);
    if (rc)
        return rc;
    char *abs = realpath(path, NULL);
    char *root = make_root(err, errlen);
    if (!root) {
        free(abs);
        cJSON_Delete(config);
        return EVT_EIO;
    }
    rn.so_path = abs ? abs : path;
    rn.config = config;
    rn.root = root;
    rn.timeout_s = opts && opts->timeout_s > 0 ? opts->timeout_s
                                               : DEFAULT_TIMEOUT_S;
    rn.keep = opts && opts->keep;
    rn.fn = fn;
    rn.ud = ud;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        run_check(&rn, &checks[i]);
    if (rn.keep && kept_dir)
        *kept_dir = root;
    else {
        if (!rn.keep)
            conf_rmtree(root);
        free(root);
    }
    free(abs);
    cJSON_Delete(config);
    return rn.failures;
}
